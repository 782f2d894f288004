//! « Créer mon espace famille »: a family the town does not know asks for an account (public,
//! throttled, the same answer whoever asks); staff list the pending requests, accept one (the
//! family, its children and its guardians' accounts are written as the import writes them, so
//! the activation email goes out the same way) or refuse it with a reason (emailed).

use super::{AppState, import, load_town, signin};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::delivery::MailKind;
use domain::family::{Child, Email, Family};
use domain::import::Summary;
use domain::school_year::{AccountRequest, RequestInput, RequestStatus};
use domain::{ChildId, FamilyRef};
use edge::auth::accounts::{self, Account};
use edge::http::auth::{ClientAddr, Staff};
use edge::http::{Json, Path, Problem};
use serde::Deserialize;
use services::mail::outbox::Mail;
use services::mail::templates::account_request::RequestRefusedMail;
use std::collections::HashMap;
use store::{Cond, Item, Key, Query as StoreQuery, SkRange, StoreError, WriteOp, keys};
use tokio::time::Instant;

/// Requests accepted from one client address in an hour.
pub const REQUESTS_PER_ADDRESS_PER_HOUR: i64 = 10;

/// The one answer to a request, whether or not an email it gives is known to the town.
pub const ACKNOWLEDGEMENT: &str = "Votre demande a bien été envoyée. Le service enfance va l’examiner\u{202f}; vous recevrez sa réponse par e-mail. Pensez à regarder dans les indésirables.";

fn item(town: &domain::TownId, r: &AccountRequest) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::account_request(town, &r.id), r)?;
    Ok(match r.delete_at() {
        None => item.with_gsi1(Key::new(
            keys::account_requests_pending(town),
            format!("{}#{}", r.created_at.to_rfc3339(), r.id),
        )),
        Some(at) => item.with_ttl(at.timestamp()),
    })
}

fn unknown_request() -> Problem {
    Problem::not_found("unknown_account_request", "Cette demande est introuvable.")
}

/// POST (public): checks the request, then stores it, or, when an email it gives already has an
/// account, emails that account its sign-in link instead; answers 202 the same, in the same time.
pub async fn submit(
    State(state): State<AppState>,
    Path(town): Path<String>,
    ClientAddr(address): ClientAddr,
    body: Result<Json<RequestInput>, Problem>,
) -> Result<Response, Problem> {
    let started = Instant::now();
    let town = load_town(&state, &town).await?;
    let Json(input) = body?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let request = input.check(store::secret::id(), now, town.today(now))?;
    let subject = format!("ACCREQ#ADDR#{address}");
    if !accounts::count_in_hour(store, town.id(), &subject, now, Some(REQUESTS_PER_ADDRESS_PER_HOUR)).await? {
        let mut res = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Trop de demandes envoyées depuis cette connexion. Réessayez dans une heure.",
        )
        .into_response();
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(3600));
        return Ok(res);
    }
    let outcome = store_or_notify(&state, &town, &request).await;
    tokio::time::sleep_until(started + state.equal_answer_time).await;
    outcome?;
    Ok((StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "message": ACKNOWLEDGEMENT }))).into_response())
}

/// A request naming an email that has an account is not stored: that account gets its link
/// (activation or password reset) by email, as « Mot de passe oublié » sends it.
async fn store_or_notify(state: &AppState, town: &domain::config::Town, r: &AccountRequest) -> Result<(), Problem> {
    let store = &state.auth.store;
    let mut known = Vec::new();
    for g in &r.guardians {
        if accounts::get_account(store, town.id(), &g.email).await?.is_some() {
            known.push(g.email.clone());
        }
    }
    if known.is_empty() {
        store.put(item(town.id(), r)?, Some(Cond::NotExists)).await?;
        tracing::info!(town = %town.id(), "account request stored");
        return Ok(());
    }
    for email in known {
        signin::send_link(state, town, email.as_str(), None).await?;
    }
    Ok(())
}

/// GET (staff): the requests waiting for a decision, oldest first.
pub async fn pending(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<axum::Json<Vec<AccountRequest>>, Problem> {
    let store = &state.auth.store;
    let items = store.query_all(&StoreQuery::gsi1(keys::account_requests_pending(&caller.town), SkRange::All)).await?;
    Ok(axum::Json(Item::decode_listed(&items)))
}

async fn load(state: &AppState, town: &domain::TownId, id: &str) -> Result<AccountRequest, Problem> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown_request());
    }
    let item = state.auth.store.get(&keys::account_request(town, id)).await?.ok_or_else(unknown_request)?;
    Ok(item.to_value()?)
}

/// The request's new state, written only if no one decided it meanwhile.
fn save(town: &domain::TownId, before: &AccountRequest, after: &mut AccountRequest) -> Result<WriteOp, Problem> {
    after.version = before.version + 1;
    Ok(WriteOp::Put { item: item(town, after)?, cond: Some(Cond::version(before.version)) })
}

fn audit(
    caller: &edge::http::auth::Caller,
    action: &str,
    r: &AccountRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> store::audit::Entry {
    store::audit::Entry {
        at: now,
        by: caller.session.email.as_str().to_owned(),
        action: action.into(),
        target: format!("account-request/{}", r.id),
        before: None,
        after: serde_json::to_value(&r.status).ok(),
    }
}

async fn commit(state: &AppState, ops: Vec<WriteOp>) -> Result<(), Problem> {
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "request_changed",
            "Cette demande vient d’être traitée par quelqu’un d’autre\u{202f}: rechargez la liste.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// POST (staff): accepts the request: the family, its children and the guardians' accounts are
/// written as the import writes them (each new account gets its activation email), with the
/// request's new state and the audit entry, in one transaction. Accepting twice creates once.
pub async fn accept(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<axum::Json<AccountRequest>, Problem> {
    let town = load_town(&state, caller.town.as_str()).await?;
    let before = load(&state, town.id(), &id).await?;
    let now = state.auth.clock.now();
    let mut after = before.clone();
    if !after.accept(now, caller.session.email.as_str())? {
        return Ok(axum::Json(before));
    }
    let plan = after.plan(&town, town.today(now))?;
    let store = &state.auth.store;
    let mut families: HashMap<FamilyRef, Family> = HashMap::new();
    for reference in plan.families.keys() {
        if let Some(f) = store::repo::get_family(store, town.id(), reference).await? {
            families.insert(reference.clone(), f);
        }
    }
    let mut children: HashMap<ChildId, Child> = HashMap::new();
    for id in plan.children.keys() {
        if let Some(c) = store::repo::get_child(store, town.id(), id).await? {
            children.insert(id.clone(), c);
        }
    }
    let mut known: HashMap<Email, Account> = HashMap::new();
    for email in plan.guardians.keys() {
        if let Some(a) = accounts::get_account(store, town.id(), email).await? {
            known.insert(email.clone(), a);
        }
    }
    let mut ops: Vec<WriteOp> =
        import::record_writes(&town, &plan, &families, &children)?.into_iter().flatten().collect();
    let mut summary = Summary::default();
    ops.extend(import::account_writes(&state, &town, &plan, &known, &mut summary, now)?.into_iter().flatten());
    ops.push(save(town.id(), &before, &mut after)?);
    ops.push(audit(&caller, "account_request.accept", &after, now).record(town.id())?);
    commit(&state, ops).await?;
    tracing::info!(town = %town.id(), accounts = summary.accounts_created, "account request accepted");
    Ok(axum::Json(after))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    #[serde(default)]
    reason: String,
}

/// POST (staff): refuses the request with a reason, emailed to each guardian it names.
pub async fn refuse(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<Refusal>, Problem>,
) -> Result<axum::Json<AccountRequest>, Problem> {
    let Json(body) = body?;
    let town = load_town(&state, caller.town.as_str()).await?;
    let before = load(&state, town.id(), &id).await?;
    let now = state.auth.clock.now();
    let mut after = before.clone();
    if !after.refuse(now, caller.session.email.as_str(), &body.reason)? {
        return Ok(axum::Json(before));
    }
    let RequestStatus::Refused { reason, .. } = &after.status else {
        return Err(Problem::internal(&"a refused request without its reason"));
    };
    let mut ops = Vec::new();
    for g in &after.guardians {
        let content = RequestRefusedMail {
            town: town.config().name.clone(),
            town_id: town.id().to_string(),
            first_name: g.first_name.clone(),
            public_url: state.public_url.clone(),
            reason: reason.clone(),
        }
        .render();
        ops.push(Mail::new(town.id(), &g.email, content, now).of_kind(MailKind::Account).enqueue()?);
    }
    ops.push(save(town.id(), &before, &mut after)?);
    ops.push(audit(&caller, "account_request.refuse", &after, now).record(town.id())?);
    commit(&state, ops).await?;
    Ok(axum::Json(after))
}
