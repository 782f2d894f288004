//! Sending a file: the presigned upload, the confirmation that checks the stored bytes, the
//! download, and the guardian's withdrawal.

use crate::record::{
    delete_document, family_documents, family_with_names, invalid, load, today, unknown_document, versioned, view,
};
use crate::{AppState, Document, View, item};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use domain::DocKindId;
use domain::documents::{self as rules, Absence, Status};
use edge::files::{Files, Kept, Presigned, check_file, content_mismatch, files_unavailable};
use edge::http::auth::Caller;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Cond, StoreError, keys};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadRequest {
    kind: String,
    #[serde(default)]
    child: Option<String>,
    file_name: String,
    content_type: String,
    size: u64,
    /// For a certificate justifying an absence: the dates it covers.
    #[serde(default)]
    absence: Option<Absence>,
}

#[derive(Serialize)]
pub(crate) struct UploadStarted {
    document: View,
    /// The request the browser sends with the file.
    upload: Presigned,
}

/// Asks to send a file: everything is checked before a URL is given.
pub(crate) async fn start_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<UploadRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<UploadStarted>), Problem> {
    let family = caller.own_family(&family)?;
    let Json(req) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let settings = &town.config().documents;
    let store = &state.auth.store;
    let kind = DocKindId::parse(&req.kind)
        .ok()
        .and_then(|k| settings.kind(&k))
        .ok_or_else(|| invalid("unknown_kind", "kind", "Ce type de document n'est pas demandé par la commune."))?;
    let (file_name, file_type) = check_file(&req.file_name, &req.content_type, req.size, settings.max_bytes)?;
    let (f, names) = family_with_names(store, town.id(), &family).await?;
    let (child, absence) = rules::request(kind, &f.children, req.child.as_deref(), req.absence)?;
    let existing = family_documents(store, town.id(), &family).await?;
    if !rules::room_for_another(existing.len()) {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_documents",
            "Trop de documents sont en attente pour cette famille : contactez le service enfance.",
        ));
    }
    let now = state.auth.clock.now();
    let id = format!("{}-{}", now.format("%Y%m%d%H%M%S"), &edge::auth::secret::id()[..12]);
    let doc = Document {
        object: Files::upload_key(town.id(), &family, &id),
        id,
        family: family.clone(),
        child,
        kind: kind.id.clone(),
        file_name,
        content_type: file_type,
        size: req.size,
        status: Status::Uploading,
        absence,
        sent_by: caller.session.email.as_str().to_owned(),
        created_at: now,
        sent_at: None,
        decided_at: None,
        decided_by: None,
        reason: None,
        valid_until: None,
        delete_on: None,
        justified_bookings: None,
        version: 1,
    };
    let upload = state.files.presign_put(&doc.object, file_type, doc.size).await.map_err(files_unavailable)?;
    store.put(item(town.id(), &doc)?, Some(Cond::NotExists)).await?;
    let document = view(&town, doc, &names, today(&state, &town));
    Ok((StatusCode::CREATED, AxumJson(UploadStarted { document, upload })))
}

/// Confirms a sent file: it must be in the bucket, of the announced size, and begin like the
/// announced type; then it is kept and waits for staff. Confirming twice is harmless.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let family = caller.own_family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let doc = load(store, town.id(), &family, &id).await?;
    let (_, names) = family_with_names(store, town.id(), &family).await?;
    let today = today(&state, &town);
    if doc.status != Status::Uploading {
        return Ok(AxumJson(view(&town, doc, &names, today)));
    }
    let kept = Files::document_key(town.id(), &family, &doc.id);
    if state.files.keep(&doc.object, &kept, doc.size, doc.content_type).await? == Kept::Mismatch {
        // Not what was announced: the file went, the request goes.
        store.delete(&keys::document(town.id(), &family, &doc.id), Some(versioned(&doc))).await?;
        return Err(content_mismatch(doc.content_type));
    }
    let now = state.auth.clock.now();
    let mut sent = doc.clone();
    sent.object = kept;
    sent.status = Status::Pending;
    sent.sent_at = Some(now);
    sent.version += 1;
    // A certificate for an absence the family reported, sent within the town's delay: the
    // reported days are justified now (staff still review it; a refusal undoes this).
    let justifies = town.config().documents.kind(&doc.kind).is_some_and(|k| k.justifies_absence);
    if let (true, Some(absence), Some(child)) = (justifies, doc.absence, doc.child.as_ref()) {
        let delay = town.config().operations.certificate_delay();
        let tz = town.tz();
        let by = (caller.session.email.as_str(), "attendance.justify_reported");
        let n = crate::marks::remark(&state, &town, child, absence, by, |b| b.justify_report(now, delay, tz)).await?;
        sent.justified_bookings = (n > 0).then_some(n);
    }
    match store.put(item(town.id(), &sent)?, Some(versioned(&doc))).await {
        Ok(()) => {}
        // Confirmed meanwhile by another request: answer what is stored.
        Err(StoreError::ConditionFailed) => {
            let d = load(store, town.id(), &family, &id).await?;
            return Ok(AxumJson(view(&town, d, &names, today)));
        }
        Err(e) => return Err(e.into()),
    }
    // The lifecycle rule would delete it after a day anyway.
    if let Err(e) = state.files.delete(&doc.object).await {
        tracing::warn!(error = %e, key = %doc.object, "confirmed upload not deleted");
    }
    Ok(AxumJson(view(&town, sent, &names, today)))
}

/// A short-lived URL to download one of the family's documents.
pub(crate) async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<AxumJson<Presigned>, Problem> {
    let family = caller.family(&family)?;
    let store = &state.auth.store;
    let doc = load(store, &caller.town, &family, &id).await?;
    if doc.status == Status::Uploading {
        return Err(unknown_document());
    }
    let url =
        state.files.presign_get(&doc.object, &doc.file_name, doc.content_type).await.map_err(files_unavailable)?;
    Ok(AxumJson(url))
}

/// A guardian withdraws a document staff have not decided on yet.
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let family = caller.own_family(&family)?;
    let doc = load(&state.auth.store, &caller.town, &family, &id).await?;
    if !matches!(doc.status, Status::Pending | Status::Uploading) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "document_decided",
            "Ce document a déjà été examiné : il ne peut plus être retiré.",
        ));
    }
    delete_document(&state, &caller.town, &doc, Vec::new()).await?;
    Ok(StatusCode::NO_CONTENT)
}
