//! Files attached to an article (a menu, the rules, a form), stored like documents: staff ask
//! for an upload and get a presigned PUT signing the type and exact length, the browser sends the
//! file straight to S3, staff confirm and the file (checked like a document: size, type, first
//! bytes) joins the article. Readers who are logged in download them through short-lived
//! presigned GETs.

use crate::{AppState, Article, audit_entry, conflict, item, load, unknown_article, valid_id};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::TownId;
use domain::documents::FileType;
use edge::files::{Files, Kept, Presigned, check_file, content_mismatch, files_unavailable};
use edge::http::auth::{Caller, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Cond, Item, Key, StoreError, WriteOp, keys};

/// Files per article.
pub const MAX_PER_ARTICLE: usize = 5;
/// How long an upload may wait for its confirmation.
const UPLOAD_WINDOW_HOURS: i64 = 24;

/// A file attached to an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub file_name: String,
    pub content_type: FileType,
    pub size: u64,
    /// The object's key in the bucket.
    pub object: String,
}

/// What readers see of an attachment.
#[derive(Debug, Serialize)]
pub struct Shown {
    id: String,
    file_name: String,
    content_type: FileType,
    size: u64,
}

impl From<&Attachment> for Shown {
    fn from(a: &Attachment) -> Shown {
        Shown { id: a.id.clone(), file_name: a.file_name.clone(), content_type: a.content_type, size: a.size }
    }
}

/// An upload asked for and not confirmed yet (gone with its time to live).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    attachment: Attachment,
    created_at: DateTime<Utc>,
}

fn pending_key(town: &TownId, article: &str, id: &str) -> Key {
    keys::attachment(town, article, id)
}

fn unknown_attachment() -> Problem {
    Problem::not_found("unknown_attachment", "Cette pièce jointe est introuvable.")
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Problem {
    Problem::unprocessable(code, message).field(field)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    file_name: String,
    content_type: String,
    size: u64,
}

#[derive(Serialize)]
pub struct UploadStarted {
    id: String,
    upload: Presigned,
}

/// Asks to attach a file to an article: checked, then a presigned PUT.
pub async fn start(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<UploadRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<UploadStarted>), Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let article = load(&state, town.id(), &id).await?;
    let Json(req) = body?;
    let (file_name, file_type) =
        check_file(&req.file_name, &req.content_type, req.size, town.config().documents.max_bytes)?;
    if article.attachments.len() >= MAX_PER_ARTICLE {
        return Err(invalid(
            "too_many_attachments",
            "file_name",
            format!("Une actualité compte {MAX_PER_ARTICLE} pièces jointes au plus."),
        ));
    }
    let now = state.auth.clock.now();
    let file = edge::auth::secret::id()[..16].to_owned();
    let attachment = Attachment {
        object: Files::news_upload_key(town.id(), &article.id, &file),
        id: file.clone(),
        file_name,
        content_type: file_type,
        size: req.size,
    };
    let upload =
        state.files.presign_put(&attachment.object, file_type, attachment.size).await.map_err(files_unavailable)?;
    let pending = Pending { attachment, created_at: now };
    let ttl = (now + chrono::TimeDelta::hours(UPLOAD_WINDOW_HOURS)).timestamp();
    state
        .auth
        .store
        .put(
            Item::from_value(pending_key(town.id(), &article.id, &file), &pending)?.with_ttl(ttl),
            Some(Cond::NotExists),
        )
        .await?;
    Ok((StatusCode::CREATED, AxumJson(UploadStarted { id: file, upload })))
}

/// Confirms a sent file: checked like a document, then part of the article (audited).
pub async fn confirm(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id, file)): Path<(String, String, String)>,
) -> Result<AxumJson<Article>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let article = load(&state, town.id(), &id).await?;
    // Confirming twice is harmless.
    if article.attachments.iter().any(|a| a.id == file) {
        return Ok(AxumJson(article));
    }
    if !valid_id(&file) {
        return Err(unknown_attachment());
    }
    let store = &state.auth.store;
    let key = pending_key(town.id(), &article.id, &file);
    let pending: Pending = store.get(&key).await?.map(|i| i.to_value()).transpose()?.ok_or_else(unknown_attachment)?;
    let a = &pending.attachment;
    let kept = Files::news_key(town.id(), &article.id, &file);
    if state.files.keep(&a.object, &kept, a.size, a.content_type).await? == Kept::Mismatch {
        store.delete(&key, None).await?;
        return Err(content_mismatch(a.content_type));
    }
    let by = caller.session.email.as_str();
    let after =
        changed(&article, by, state.auth.clock.now(), |list| list.push(Attachment { object: kept, ..a.clone() }));
    write(&state, town.id(), &article, &after, "news.attach", by, vec![WriteOp::Delete { key, cond: None }]).await?;
    if let Err(e) = state.files.delete(&a.object).await {
        tracing::warn!(error = %e, "confirmed attachment upload not deleted");
    }
    Ok(AxumJson(after))
}

/// The article with its attachments changed by `by` at `now` (a new version).
fn changed(article: &Article, by: &str, now: DateTime<Utc>, change: impl FnOnce(&mut Vec<Attachment>)) -> Article {
    let mut after = article.clone();
    change(&mut after.attachments);
    after.version += 1;
    after.updated_at = now;
    after.updated_by = by.to_owned();
    after
}

async fn write(
    state: &AppState,
    town: &TownId,
    before: &Article,
    after: &Article,
    action: &str,
    by: &str,
    extra: Vec<WriteOp>,
) -> Result<(), Problem> {
    let cond = Cond::version(before.version);
    let entry = audit_entry(by, action, &after.id, Some(before), Some(after), after.updated_at);
    let mut ops = vec![WriteOp::Put { item: item(town, after)?, cond: Some(cond) }, entry.record(town)?];
    ops.extend(extra);
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Err(conflict()),
        Err(e) => Err(e.into()),
    }
}

/// Removes an attachment from its article (audited), then its file.
pub async fn remove(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id, file)): Path<(String, String, String)>,
) -> Result<AxumJson<Article>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let article = load(&state, town.id(), &id).await?;
    let gone = article.attachments.iter().find(|a| a.id == file).cloned().ok_or_else(unknown_attachment)?;
    let by = caller.session.email.as_str();
    let after = changed(&article, by, state.auth.clock.now(), |list| list.retain(|a| a.id != file));
    write(&state, town.id(), &article, &after, "news.detach", by, Vec::new()).await?;
    if let Err(e) = state.files.delete(&gone.object).await {
        tracing::warn!(error = %e, key = %gone.object, "detached file not deleted");
    }
    Ok(AxumJson(after))
}

/// A short-lived URL to download an attachment of a published article (any logged-in reader;
/// staff also reach scheduled and expired ones).
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, id, file)): Path<(String, String, String)>,
) -> Result<AxumJson<Presigned>, Problem> {
    let article = load(&state, &caller.town, &id).await?;
    if !caller.session.role.is_staff() && !article.visible(state.auth.clock.now()) {
        return Err(unknown_article());
    }
    let a = article.attachments.iter().find(|a| a.id == file).ok_or_else(unknown_attachment)?;
    let url = state.files.presign_get(&a.object, &a.file_name, a.content_type).await.map_err(files_unavailable)?;
    Ok(AxumJson(url))
}

/// Deletes the files of a deleted article (logged when S3 fails: the records are gone already).
pub async fn delete_files(state: &AppState, article: &Article) {
    for a in &article.attachments {
        if let Err(e) = state.files.delete(&a.object).await {
            tracing::warn!(error = %e, key = %a.object, "attachment of a deleted article not deleted");
        }
    }
}
