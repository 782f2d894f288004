//! « Créer mon espace famille »: a family the town does not know asks for an account (public,
//! throttled, the same answer whoever asks); staff list the pending requests, accept one (the
//! family, its children and its guardians' accounts are written as the import writes them, so
//! the activation email goes out the same way) or refuse it with a reason (emailed).
//!
//! The proof of address goes straight to S3 as a document does: the request's answer carries a
//! presigned PUT to `uploads/…/-requests/{id}` (for a request that is not stored too, so the
//! answer reveals nothing), the page then asks for the check, which moves the announced file to
//! `requests/{town}/{id}`; staff open it from the request; a decision deletes it.

use super::{AppState, import, load_town, signin};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::delivery::MailKind;
use domain::documents::FileType;
use domain::family::{Child, Email, Family};
use domain::import::Summary;
use domain::school_year::{AccountRequest, RequestInput, RequestStatus};
use domain::{ChildId, FamilyRef};
use edge::auth::accounts::{self, Account};
use edge::files::{Files, Presigned, Received, content_mismatch, files_unavailable, not_received};
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
/// Checks of a proof of address from one client address in an hour (a family may retry).
pub const PROOF_CHECKS_PER_ADDRESS_PER_HOUR: i64 = 30;

/// What the page says once the proof of address is checked.
pub const PROOF_RECEIVED: &str = "Votre justificatif de domicile est bien reçu.";

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
    let request = input.check(store::secret::id(), now, town.today(now), town.config().documents.max_bytes)?;
    let subject = format!("ACCREQ#ADDR#{address}");
    if !accounts::count_in_hour(store, town.id(), &subject, now, Some(REQUESTS_PER_ADDRESS_PER_HOUR)).await? {
        return Ok(too_many());
    }
    let outcome = store_or_notify(&state, &town, &request).await;
    // The upload is offered whether or not the request was stored: the answer is the same.
    let upload = match (&outcome, &request.proof) {
        (Ok(()), Some(proof)) => Some(
            state
                .files
                .presign_put(&Files::request_proof_upload_key(town.id(), &request.id), proof.file_type, proof.size)
                .await
                .map_err(files_unavailable),
        ),
        _ => None,
    };
    tokio::time::sleep_until(started + state.equal_answer_time).await;
    outcome?;
    let upload = upload.transpose()?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "message": ACKNOWLEDGEMENT, "id": request.id, "upload": upload })),
    )
        .into_response())
}

fn too_many() -> Response {
    let mut res = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "Trop de demandes envoyées depuis cette connexion. Réessayez dans une heure.",
    )
    .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(3600));
    res
}

/// POST (public): after the browser's PUT, checks the proof of address (the announced size and
/// type, the bytes of that type from first to last) and keeps it with the request. A request
/// that is not stored (an address already known, an unknown id) gets the same checks and the
/// same answers, in the same time, and nothing is kept. Nothing received: 409; not the file
/// announced: 422 and deleted.
pub async fn confirm_proof(
    State(state): State<AppState>,
    Path((town, id)): Path<(String, String)>,
    ClientAddr(address): ClientAddr,
) -> Result<Response, Problem> {
    let started = Instant::now();
    let town = load_town(&state, &town).await?;
    let now = state.auth.clock.now();
    let subject = format!("ACCREQ#PROOF#{address}");
    if !accounts::count_in_hour(&state.auth.store, town.id(), &subject, now, Some(PROOF_CHECKS_PER_ADDRESS_PER_HOUR))
        .await?
    {
        return Ok(too_many());
    }
    let outcome = receive_proof(&state, town.id(), &id, now).await;
    tokio::time::sleep_until(started + state.equal_answer_time).await;
    outcome?;
    Ok(axum::Json(serde_json::json!({ "message": PROOF_RECEIVED })).into_response())
}

async fn receive_proof(
    state: &AppState,
    town: &domain::TownId,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Problem> {
    if !well_formed(id) {
        return Err(not_received());
    }
    let files = &state.files;
    let upload = Files::request_proof_upload_key(town, id);
    let waiting = stored(state, town, id).await?.filter(|r| r.status == RequestStatus::Pending && r.proof.is_some());
    let Some(before) = waiting else {
        // Not a stored request waiting for its proof: the same checks on what was sent, then
        // it is deleted.
        let Some(head) = files.head(&upload).await.map_err(files_unavailable)? else { return Err(not_received()) };
        let file_type = head.content_type.as_deref().and_then(FileType::parse).unwrap_or(FileType::Pdf);
        let bytes = files.get_bytes(&upload).await.map_err(files_unavailable)?;
        files.delete(&upload).await.map_err(files_unavailable)?;
        return if file_type.verify(&bytes) { Ok(()) } else { Err(content_mismatch(file_type)) };
    };
    let mut after = before.clone();
    let proof = after.receive_proof(now)?.clone();
    match files.received(&upload, proof.size, proof.file_type).await.map_err(files_unavailable)? {
        Received::Nothing => return Err(not_received()),
        Received::Mismatch => {
            files.delete(&upload).await.map_err(files_unavailable)?;
            return Err(content_mismatch(proof.file_type));
        }
        Received::Ok => {}
    }
    files.copy(&upload, &Files::request_proof_key(town, id), proof.file_type).await.map_err(files_unavailable)?;
    files.delete(&upload).await.map_err(files_unavailable)?;
    match state.auth.store.transact(vec![save(town, &before, &mut after)?]).await {
        Ok(()) => Ok(()),
        // Changed meanwhile: by another check of the same request (which noted the file kept),
        // or by a decision, which did not know of this copy and so did not delete it.
        Err(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }) => {
            if !stored(state, town, id).await?.is_some_and(|r| r.status == RequestStatus::Pending) {
                files.delete(&Files::request_proof_key(town, id)).await.map_err(files_unavailable)?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// GET (staff): a short-lived link to the request's proof of address.
pub async fn proof(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<axum::Json<Presigned>, Problem> {
    let request = load(&state, &caller.town, &id).await?;
    let Some(proof) = request.proof.filter(|p| p.received_at.is_some() && request.status == RequestStatus::Pending)
    else {
        return Err(Problem::not_found(
            "proof_not_received",
            "Aucun justificatif de domicile n’est disponible pour cette demande.",
        ));
    };
    let link = state
        .files
        .presign_get(&Files::request_proof_key(&caller.town, &id), &proof.file_name, proof.file_type)
        .await
        .map_err(files_unavailable)?;
    Ok(axum::Json(link))
}

/// After a decision the proof of address is deleted (the bucket's lifecycle rule is the
/// backstop when S3 does not answer).
async fn forget_proof(state: &AppState, town: &domain::TownId, r: &AccountRequest) {
    if r.proof.as_ref().is_some_and(|p| p.received_at.is_some())
        && let Err(e) = state.files.delete(&Files::request_proof_key(town, &r.id)).await
    {
        tracing::warn!(error = %e, "a decided request's proof of address was not deleted (the lifecycle rule will)");
    }
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

fn well_formed(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The stored request `id` (a well-formed id), if any.
async fn stored(state: &AppState, town: &domain::TownId, id: &str) -> Result<Option<AccountRequest>, Problem> {
    Ok(state.auth.store.get(&keys::account_request(town, id)).await?.map(|i| i.to_value()).transpose()?)
}

async fn load(state: &AppState, town: &domain::TownId, id: &str) -> Result<AccountRequest, Problem> {
    if !well_formed(id) {
        return Err(unknown_request());
    }
    stored(state, town, id).await?.ok_or_else(unknown_request)
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
    forget_proof(&state, town.id(), &after).await;
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
    forget_proof(&state, town.id(), &after).await;
    Ok(axum::Json(after))
}
