//! The family import: every row checked first, a report per row, and nothing written when a
//! row is wrong unless the caller asks to import the valid rows.

use super::{AppState, link_email, load_town};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use domain::config::Town;
use domain::family::{Child, Email, Family};
use domain::import::{self, FileRefused, Row, RowReport, RowStatus, Summary};
use domain::{ChildId, FamilyRef};
use edge::auth::accounts::{self, Account, AccountStatus, Purpose};
use edge::http::Problem;
use edge::http::auth::Staff;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use store::{MAX_TRANSACTION_ACTIONS, WriteOp, repo};

pub use domain::import::MAX_ROWS;
/// Transactions written at once.
const WRITERS: usize = 4;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// `all` (default): write only if every row is valid. `valid_rows`: write the valid rows.
    mode: Option<String>,
    /// Check and report, write nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize)]
pub struct Report {
    /// Whether anything was written (`created`/`updated` say what applying does or did).
    applied: bool,
    summary: Summary,
    rows: Vec<RowReport>,
}

fn json_rows(body: &[u8]) -> Result<Vec<Row>, FileRefused> {
    let rows: Vec<BTreeMap<String, Value>> = domain::json::parse(body)
        .map_err(|e| FileRefused::Json(format!("{} {}", e.path, e.message).trim().to_owned()))?;
    if rows.is_empty() {
        return Err(FileRefused::Empty);
    }
    let mut headers: Vec<String> = rows.iter().flat_map(|r| r.keys().cloned()).collect();
    headers.sort();
    headers.dedup();
    import::check_columns(&headers)?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let cells = r
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.trim().to_owned(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect();
            (i + 1, cells)
        })
        .collect())
}

/// Checks a family file (CSV or JSON), reports each row, and writes the valid ones: every row
/// must be valid unless `mode=valid_rows`; `dry_run=true` writes nothing.
pub async fn import(
    State(state): State<AppState>,
    Staff(caller): Staff,
    options: Result<Query<Options>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, axum::Json<Report>), Problem> {
    let town = load_town(&state, caller.town.as_str()).await?;
    let (valid_rows_only, dry_run) = mode(options)?;
    let rows = read_rows(&headers, body)?;
    let now = state.auth.clock.now();
    let plan = import::plan(&town, &rows, town.today(now));
    let store = &state.auth.store;
    let families: HashMap<FamilyRef, Family> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let children: HashMap<ChildId, Child> =
        repo::all_children(store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let (rows, mut summary) = plan.outcome(&families, &children);
    if dry_run || (summary.rejected > 0 && !valid_rows_only) {
        let report = Report { applied: false, summary, rows };
        if report.summary.rejected > 0 && !dry_run {
            let problem = Problem::unprocessable(
                "invalid_rows",
                "Certaines lignes sont incorrectes : rien n'a été importé. Corrigez-les, ou importez seulement les lignes valides.",
            );
            let report = serde_json::to_value(&report).map_err(|e| Problem::internal(&e))?;
            return Err(problem.with("report", report));
        }
        return Ok((StatusCode::OK, axum::Json(report)));
    }
    let accounts: HashMap<Email, Account> =
        accounts::all_accounts(store, town.id()).await?.into_iter().map(|a| (a.email.clone(), a)).collect();
    let mut groups = record_writes(&town, &plan, &families, &children)?;
    groups.extend(account_writes(&state, &town, &plan, &accounts, &mut summary, now)?);
    // The audit entry travels with the import's writes (in its last transaction), so an import
    // that changed something is never missing from the trail; a retry adds its own entry.
    if !groups.is_empty() {
        let changed: Vec<&str> = rows
            .iter()
            .filter(|r| matches!(r.status, RowStatus::Created | RowStatus::Updated))
            .filter_map(|r| r.child.as_deref())
            .collect();
        let entry = store::audit::Entry {
            at: now,
            by: caller.session.email.as_str().to_owned(),
            action: "families.import".into(),
            target: format!("import/{}-lines", summary.rows),
            before: None,
            after: Some(serde_json::json!({ "summary": &summary, "children": changed })),
        };
        groups.push(vec![entry.record(town.id())?]);
    }
    let batches = pack(groups);
    summary.transactions = batches.len();
    // The transactions are independent (what must be atomic shares one), so a few run at
    // once: on DynamoDB each is a round trip. An import stopped halfway is completed by
    // importing the same file again.
    futures::stream::iter(batches.into_iter().map(|b| store.transact(b)))
        .buffer_unordered(WRITERS)
        .try_collect::<Vec<()>>()
        .await?;
    tracing::info!(town = %town.id(), created = summary.created, updated = summary.updated, rejected = summary.rejected, "families imported");
    Ok((StatusCode::OK, axum::Json(Report { applied: true, summary, rows })))
}

/// `(valid_rows_only, dry_run)` from the query.
fn mode(options: Result<Query<Options>, axum::extract::rejection::QueryRejection>) -> Result<(bool, bool), Problem> {
    let Ok(Query(options)) = options else {
        return Err(Problem::bad_request(
            "invalid_query",
            "Les options sont : mode=all|valid_rows et dry_run=true|false.",
        ));
    };
    match options.mode.as_deref() {
        None | Some("all") => Ok((false, options.dry_run)),
        Some("valid_rows") => Ok((true, options.dry_run)),
        Some(_) => {
            Err(Problem::bad_request("invalid_query", "mode doit valoir « all » ou « valid_rows ».").field("mode"))
        }
    }
}

/// The rows of the file, CSV or JSON by its content type.
fn read_rows(
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Vec<Row>, Problem> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "Le fichier dépasse 10 Mio : découpez-le en plusieurs fichiers.",
            )
        } else {
            Problem::bad_request("unreadable_body", "Le fichier n'a pas pu être lu.")
        }
    })?;
    let media =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let rows = if media.starts_with("text/csv") {
        import::read_csv(&body)
    } else if media.starts_with("application/json") {
        json_rows(&body)
    } else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Envoyez le fichier en CSV (text/csv) ou en JSON (application/json).",
        ));
    }?;
    if rows.len() > MAX_ROWS {
        return Err(FileRefused::TooManyRows(rows.len()).into());
    }
    Ok(rows)
}

/// The families and children that differ from what is stored, one write each.
pub(crate) fn record_writes(
    town: &Town,
    plan: &import::Plan,
    families: &HashMap<FamilyRef, Family>,
    children: &HashMap<ChildId, Child>,
) -> Result<Vec<Vec<WriteOp>>, Problem> {
    let mut groups = Vec::new();
    for (reference, family) in &plan.families {
        if families.get(reference) != Some(family) {
            groups.push(vec![WriteOp::put(repo::family_item(town.id(), family)?)]);
        }
    }
    for (id, child) in &plan.children {
        if children.get(id) != Some(child) {
            groups.push(vec![WriteOp::put(repo::child_item(town.id(), child)?)]);
        }
    }
    Ok(groups)
}

/// A new guardian's account, its activation token and its email (one group: one transaction);
/// a known guardian gains the families the file lists them in.
pub(crate) fn account_writes(
    state: &AppState,
    town: &Town,
    plan: &import::Plan,
    accounts: &HashMap<Email, Account>,
    summary: &mut Summary,
    now: DateTime<Utc>,
) -> Result<Vec<Vec<WriteOp>>, Problem> {
    let mut groups = Vec::new();
    for (email, g) in &plan.guardians {
        match accounts.get(email) {
            None => {
                let account = Account {
                    email: email.clone(),
                    first_name: g.first_name.clone(),
                    last_name: g.last_name.clone(),
                    role: domain::account::Role::Guardian,
                    families: g.families.iter().cloned().collect(),
                    status: AccountStatus::Pending,
                    password_hash: None,
                    created_at: now,
                    credentials: 0,
                    version: 0,
                    no_reminders: false,
                };
                let mut group = vec![account.clone().save(town.id())?];
                group.extend(link_email(state, town, &account, Purpose::Activation)?);
                summary.accounts_created += 1;
                summary.emails_queued += 1;
                groups.push(group);
            }
            Some(existing) => {
                let mut account = existing.clone();
                for f in &g.families {
                    if !account.families.contains(f) {
                        account.families.push(f.clone());
                    }
                }
                if account.families != existing.families {
                    groups.push(vec![account.save(town.id())?]);
                }
            }
        }
    }
    Ok(groups)
}

/// Groups of writes (each must stay in one transaction) packed into transactions of at most
/// 100 actions.
fn pack(groups: Vec<Vec<WriteOp>>) -> Vec<Vec<WriteOp>> {
    let mut batches: Vec<Vec<WriteOp>> = Vec::new();
    let mut batch: Vec<WriteOp> = Vec::new();
    for group in groups {
        if batch.len() + group.len() > MAX_TRANSACTION_ACTIONS {
            batches.push(std::mem::take(&mut batch));
        }
        batch.extend(group);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}
