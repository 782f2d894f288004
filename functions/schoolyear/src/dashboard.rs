//! The campaign's dashboard for staff: per family and child, the status (not started, in
//! progress, corrections asked, waiting for a document, to check, complete) and what the file
//! lacks, filtered by status, as JSON or as a CSV, a page of [`FAMILIES_PER_PAGE`] families
//! per call (5,000 children are 50 calls, each well inside a Lambda's time); and corrections
//! asked of a family, with the reason, audited.

use super::{AppState, FAMILIES_PER_PAGE, audit_entry, get_campaign, get_enrolment, no_campaign, year};
use axum::Json as AxumJson;
use axum::extract::{Query as AxumQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use domain::FamilyRef;
use domain::family::Family;
use domain::school_year::{FamilyEnrolment, Status, status};
use edge::http::auth::{Staff, unknown_family};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Cond, Cursor, Item, Query, SkRange, WriteOp, keys, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DashboardQuery {
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Row {
    family: FamilyRef,
    family_name: String,
    child: domain::ChildId,
    first_name: String,
    last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<domain::school_year::Level>,
    status: Status,
    status_label: &'static str,
    missing: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    submitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize)]
pub(crate) struct Dashboard {
    rows: Vec<Row>,
    /// The families of this page (a page may hold no row that passes the filter).
    families: usize,
    /// Where the next page starts; none after the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// One page of the dashboard: `?status=` filters, `?cursor=` goes on, `?format=csv` answers a
/// CSV (its next page's cursor in the `X-Next-Cursor` header).
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, y)): Path<(String, String)>,
    query: Result<AxumQuery<DashboardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let AxumQuery(q) = query.map_err(|_| edge::http::bad_query())?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(edge::http::bad_query().field("format")),
    };
    let y = year(&y)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let campaign = get_campaign(store, town.id(), y).await?.ok_or_else(|| no_campaign(y))?;
    let page = store
        .query(
            &Query::gsi1(keys::families_of_town(town.id()), SkRange::All)
                .limit(FAMILIES_PER_PAGE)
                .after(q.cursor.as_deref().map(Cursor::from_client)),
        )
        .await
        .map_err(super::bad_cursor)?;
    let families: Vec<Family> = Item::decode_listed(&page.items);
    let mut rows = Vec::new();
    for family in &families {
        let enrolment = get_enrolment(store, town.id(), &family.reference, y).await?;
        let docs = services::school_year::documents(store, town.id(), &family.reference).await?;
        for id in &family.children {
            let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
            let gaps = services::school_year::gaps_of_child(store, &town, &campaign, enrolment.as_ref(), &child, &docs)
                .await?;
            let s = status(enrolment.as_ref(), &gaps);
            if q.status.is_some_and(|wanted| wanted != s) {
                continue;
            }
            rows.push(Row {
                family: family.reference.clone(),
                family_name: family.name.clone(),
                child: child.id.clone(),
                first_name: child.first_name.clone(),
                last_name: child.last_name.clone(),
                level: child.level.map(|l| l.level),
                status: s,
                status_label: s.french(),
                missing: gaps.iter().map(|g| g.label.clone()).collect(),
                submitted_at: enrolment.as_ref().and_then(|e| e.submitted_at),
            });
        }
    }
    let next = page.next.map(|c| c.as_str().to_owned());
    if csv {
        return csv_page(y, &rows, next);
    }
    Ok(AxumJson(Dashboard { rows, families: families.len(), next }).into_response())
}

fn csv_page(y: domain::school_year::SchoolYear, rows: &[Row], next: Option<String>) -> Result<Response, Problem> {
    let mut out = edge::http::csv::Export::new(&[
        "Famille",
        "Nom de la famille",
        "Enfant",
        "Prénom",
        "Nom",
        "Niveau",
        "Statut",
        "Pièces manquantes",
        "Envoyé le",
    ])?;
    for r in rows {
        out.row(&[
            r.family.as_str(),
            &r.family_name,
            r.child.as_str(),
            &r.first_name,
            &r.last_name,
            r.level.map(|l| l.label()).unwrap_or_default(),
            r.status_label,
            &r.missing.join(", "),
            &r.submitted_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        ])?;
    }
    let mut res = out.into_response(&format!("inscriptions-{y}.csv"))?;
    if let Some(v) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert("x-next-cursor", v);
    }
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Corrections {
    reason: String,
}

/// Staff ask a family to correct its enrolment: the family sees the reason and sends again.
pub(crate) async fn ask_corrections(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, y, family)): Path<(String, String, String)>,
    body: Result<Json<Corrections>, Problem>,
) -> Result<AxumJson<FamilyEnrolment>, Problem> {
    let y = year(&y)?;
    let reference = FamilyRef::parse(&family).map_err(|_| unknown_family())?;
    let Json(body) = body?;
    let store = &state.auth.store;
    let before = get_enrolment(store, &caller.town, &reference, y).await?.ok_or_else(unknown_family)?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let after = before.clone().ask_corrections(&body.reason, by, now)?;
    let entry = audit_entry(
        by,
        "enrolment.corrections",
        format!("enrolment/{y}/{reference}"),
        None,
        Some(serde_json::json!({ "reason": after.corrections.as_ref().map(|c| c.reason.clone()) })),
        now,
    );
    let item = Item::from_value(keys::enrolment(&caller.town, &reference, y), &after)?;
    store
        .transact(vec![WriteOp::Put { item, cond: Some(Cond::version(before.version)) }, entry.record(&caller.town)?])
        .await?;
    Ok(AxumJson(after))
}
