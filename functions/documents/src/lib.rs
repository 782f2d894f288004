//! The `documents` function: « Mes demandes ». A guardian asks to send a file (kind, child,
//! name, type, size); the server checks it, chooses where it goes and answers with a presigned
//! PUT that signs the type and the exact length; the browser sends the file straight to S3; the
//! guardian confirms and the server checks the stored object (there, that size, first bytes of
//! the declared type) before recording « demande en cours ». Staff list what waits, open it,
//! accept or refuse it with a reason; the guardians are emailed. Accepting a medical
//! certificate for an absence marks the child's bookings of those dates « absence justifiée ».
//! Decided documents are deleted after the town's retention period.

pub mod files;

use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as AxumJson, Router};
use chrono::{DateTime, Days, NaiveDate, Utc};
use files::{Files, FilesError, Presigned, Received};
use serde::{Deserialize, Serialize};
use shared::audit;
use shared::domain::account::Role;
use shared::domain::booking::{Attendance, BookingStatus};
use shared::domain::config::Town;
use shared::domain::documents::{
    self as rules, Absence, Concerns, DocumentKind, DocumentSettings, FileType, Status, check_file_name,
};
use shared::domain::family::Family;
use shared::domain::{ChildId, DocKindId, FamilyRef, TownId};
use shared::http::auth::{AuthState, Caller, Staff, forbidden};
use shared::http::{self, Json, Path, Problem};
use shared::mail::outbox::Mail;
use shared::mail::templates::{self, Section};
use shared::store::repo::{self, Towns};
use shared::store::{Cond, Item, Key, Query as StoreQuery, SkRange, Store, StoreError, WriteOp};

/// A family's documents, every status (older ones are deleted by the retention rules).
pub const MAX_PER_FAMILY: usize = 200;
/// How long an upload may wait for its confirmation before its record goes (the bucket's
/// lifecycle rule deletes the file itself after a day too).
pub const UPLOAD_WINDOW_HOURS: i64 = 24;
/// The longest refusal reason.
pub const MAX_REASON_CHARS: usize = 500;
/// Bookings marked per transaction when a certificate is accepted.
const MARKS_PER_TRANSACTION: usize = 90;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    pub files: Files,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(s: &AppState) -> AuthState {
        s.auth.clone()
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/documents/settings", get(settings))
        .route("/api/towns/{town}/families/{family}/documents", get(list).post(start_upload))
        .route("/api/towns/{town}/families/{family}/documents/{id}", get(one).delete(withdraw))
        .route("/api/towns/{town}/families/{family}/documents/{id}/confirm", post(confirm))
        .route("/api/towns/{town}/families/{family}/documents/{id}/download", get(download))
        .route("/api/towns/{town}/staff/documents", get(staff_list))
        .route("/api/towns/{town}/staff/documents/purge", post(purge_now))
        .route("/api/towns/{town}/staff/documents/{family}/{id}", axum::routing::delete(staff_delete))
        .route("/api/towns/{town}/staff/documents/{family}/{id}/decision", post(decide))
        .with_state(state)
}

/// A document as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub family: FamilyRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<ChildId>,
    pub kind: DocKindId,
    pub file_name: String,
    pub content_type: FileType,
    pub size: u64,
    /// The object's key in the bucket (chosen by the server).
    pub object: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absence: Option<Absence>,
    pub sent_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// The day the retention rules delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_on: Option<NaiveDate>,
    /// Bookings marked « absence justifiée » when it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justified_bookings: Option<usize>,
    pub version: u64,
}

impl Document {
    /// What guardians and staff read: `expired` once an accepted document's validity ended.
    pub fn shown_status(&self, today: NaiveDate) -> &'static str {
        match self.status {
            Status::Uploading => "uploading",
            Status::Pending => "pending",
            Status::Refused => "refused",
            Status::Accepted if self.valid_until.is_some_and(|v| v < today) => "expired",
            Status::Accepted => "accepted",
        }
    }
}

fn family_partition(town: &TownId, family: &FamilyRef) -> String {
    format!("T#{town}#F#{family}")
}

/// A document's key: in its family's partition.
pub fn document_key(town: &TownId, family: &FamilyRef, id: &str) -> Key {
    Key::new(family_partition(town, family), format!("DOC#{id}"))
}

/// The index partition of the documents waiting for staff, oldest first.
fn pending_partition(town: &TownId) -> String {
    format!("T#{town}#DOCS#PENDING")
}

/// The index partition of decided documents of every town, by the day they are deleted.
pub const PURGE_PARTITION: &str = "DOCS#PURGE";

/// The stored item: listed for staff while pending, for the retention purge once decided; an
/// upload never confirmed expires with its time to live.
pub fn item(town: &TownId, d: &Document) -> Result<Item, StoreError> {
    let item = Item::from_value(document_key(town, &d.family, &d.id), d)?;
    Ok(match d.status {
        Status::Uploading => item.with_ttl((d.created_at + chrono::TimeDelta::hours(UPLOAD_WINDOW_HOURS)).timestamp()),
        Status::Pending => item.with_gsi1(Key::new(
            pending_partition(town),
            format!("{}#{}#{}", d.sent_at.unwrap_or(d.created_at).to_rfc3339(), d.family, d.id),
        )),
        Status::Accepted | Status::Refused => item.with_gsi1(Key::new(
            PURGE_PARTITION,
            format!("{}#{town}#{}#{}", d.delete_on.unwrap_or(NaiveDate::MAX), d.family, d.id),
        )),
    })
}

fn versioned(d: &Document) -> Cond {
    Cond::AttrEquals { name: "version".into(), value: serde_json::Value::from(d.version) }
}

fn unknown_document() -> Problem {
    Problem::not_found("unknown_document", "Ce document est introuvable.")
}

pub fn files_unavailable(e: FilesError) -> Problem {
    tracing::warn!(error = %e, "document storage unavailable");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "files_unavailable",
        "Le stockage des documents ne répond pas : réessayez dans quelques instants.",
    )
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Problem {
    Problem::unprocessable(code, message).field(field)
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn today(state: &AppState, town: &Town) -> NaiveDate {
    state.auth.clock.now().with_timezone(&town.tz()).date_naive()
}

async fn load(store: &Store, town: &TownId, family: &FamilyRef, id: &str) -> Result<Document, Problem> {
    if !valid_id(id) {
        return Err(unknown_document());
    }
    store.get(&document_key(town, family, id)).await?.map(|i| i.to_value()).transpose()?.ok_or_else(unknown_document)
}

async fn family_documents(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Vec<Document>, StoreError> {
    store
        .query_all(&StoreQuery::table(family_partition(town, family), SkRange::Prefix("DOC#".into())))
        .await?
        .iter()
        .map(Item::to_value)
        .collect()
}

/// The family (a 404 when it is gone) and its children's names, as views show them.
async fn family_with_names(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
) -> Result<(Family, Vec<(ChildId, String)>), Problem> {
    let f = repo::get_family(store, town, family).await?.ok_or_else(shared::http::auth::unknown_family)?;
    let names = child_names(store, town, &f).await?;
    Ok((f, names))
}

// ----- What a guardian reads -----

/// A document as shown, with the names guardians and staff read.
#[derive(Debug, Serialize)]
pub struct View {
    pub id: String,
    pub family: FamilyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<ChildId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_name: Option<String>,
    pub kind: DocKindId,
    pub kind_name: String,
    pub file_name: String,
    pub content_type: FileType,
    pub size: u64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absence: Option<Absence>,
    pub sent_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justified_bookings: Option<usize>,
    pub version: u64,
}

async fn child_names(store: &Store, town: &TownId, family: &Family) -> Result<Vec<(ChildId, String)>, StoreError> {
    let mut out = Vec::new();
    for c in &family.children {
        if let Some(child) = repo::get_child(store, town, c).await? {
            out.push((child.id.clone(), format!("{} {}", child.first_name, child.last_name)));
        }
    }
    Ok(out)
}

fn view(town: &Town, d: Document, names: &[(ChildId, String)], today: NaiveDate) -> View {
    let kind_name = town.config().documents.kind(&d.kind).map_or_else(|| d.kind.to_string(), |k| k.name.clone());
    let child_name = d.child.as_ref().and_then(|c| names.iter().find(|(id, _)| id == c)).map(|(_, n)| n.clone());
    View {
        status: d.shown_status(today),
        id: d.id,
        family: d.family,
        child: d.child,
        child_name,
        kind: d.kind,
        kind_name,
        file_name: d.file_name,
        content_type: d.content_type,
        size: d.size,
        reason: d.reason,
        absence: d.absence,
        sent_by: d.sent_by,
        sent_at: d.sent_at,
        decided_at: d.decided_at,
        valid_until: d.valid_until,
        delete_on: d.delete_on,
        justified_bookings: d.justified_bookings,
        version: d.version,
    }
}

#[derive(Serialize)]
struct SettingsView<'a> {
    kinds: &'a [DocumentKind],
    max_bytes: u64,
    content_types: Vec<&'static str>,
}

/// The kinds of documents the town asks for, the size limit and the accepted types.
async fn settings(State(state): State<AppState>, caller: Caller) -> Result<AxumJson<serde_json::Value>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let s: &DocumentSettings = &town.config().documents;
    let v = SettingsView {
        kinds: &s.kinds,
        max_bytes: s.max_bytes,
        content_types: FileType::ALL.iter().map(|t| t.mime()).collect(),
    };
    Ok(AxumJson(serde_json::to_value(v).map_err(|e| Problem::internal(&e))?))
}

/// The family's documents, newest first (uploads never confirmed are not shown).
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Vec<View>>, Problem> {
    let family = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let (_, names) = family_with_names(store, town.id(), &family).await?;
    let today = today(&state, &town);
    let mut docs: Vec<Document> = family_documents(store, town.id(), &family)
        .await?
        .into_iter()
        .filter(|d| d.status != Status::Uploading)
        .collect();
    docs.sort_by(|a, b| (b.sent_at, &b.id).cmp(&(a.sent_at, &a.id)));
    Ok(AxumJson(docs.into_iter().map(|d| view(&town, d, &names, today)).collect()))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let family = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let d = load(store, town.id(), &family, &id).await?;
    if d.status == Status::Uploading {
        return Err(unknown_document());
    }
    let (_, names) = family_with_names(store, town.id(), &family).await?;
    Ok(AxumJson(view(&town, d, &names, today(&state, &town))))
}

// ----- Sending a file -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadRequest {
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
struct UploadStarted {
    document: View,
    /// The request the browser sends with the file.
    upload: Presigned,
}

/// Asks to send a file: everything is checked before a URL is given.
async fn start_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<UploadRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<UploadStarted>), Problem> {
    let family = caller.family(&family)?;
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
    let child = match (kind.concerns, req.child.as_deref()) {
        (Concerns::Child, None) => {
            return Err(invalid("child_required", "child", "Indiquez l'enfant que ce document concerne."));
        }
        (Concerns::Child, Some(raw)) => {
            let c = ChildId::parse(raw).ok().filter(|c| f.children.contains(c));
            Some(c.ok_or_else(|| invalid("unknown_child", "child", "Cet enfant ne fait pas partie de la famille."))?)
        }
        (Concerns::Family, Some(_)) => {
            return Err(invalid(
                "child_not_expected",
                "child",
                "Ce document concerne toute la famille, pas un enfant.",
            ));
        }
        (Concerns::Family, None) => None,
    };
    let absence = match (kind.justifies_absence, req.absence) {
        (true, None) => {
            return Err(invalid(
                "absence_required",
                "absence",
                "Indiquez les dates d'absence que le certificat couvre.",
            ));
        }
        (true, Some(a)) => {
            a.check().map_err(|m| invalid("invalid_absence", "absence", m))?;
            Some(a)
        }
        (false, Some(_)) => {
            return Err(invalid("absence_not_expected", "absence", "Ce type de document ne justifie pas une absence."));
        }
        (false, None) => None,
    };
    let existing = family_documents(store, town.id(), &family).await?;
    if existing.len() >= MAX_PER_FAMILY {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_documents",
            "Trop de documents sont en attente pour cette famille : contactez le service enfance.",
        ));
    }
    let now = state.auth.clock.now();
    let id = format!("{}-{}", now.format("%Y%m%d%H%M%S"), &shared::auth::secret::id()[..12]);
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

/// Checks what a browser announces of a file it is about to send (documents and news
/// attachments): its name as kept, and its type.
pub fn check_file(
    file_name: &str,
    content_type: &str,
    size: u64,
    max_bytes: u64,
) -> Result<(String, FileType), Problem> {
    let file_name = check_file_name(file_name).map_err(|m| invalid("invalid_file_name", "file_name", m))?;
    let file_type = FileType::parse(content_type).ok_or_else(|| {
        invalid("unsupported_file_type", "content_type", "Seuls les fichiers PDF, JPEG et PNG sont acceptés.")
    })?;
    if size == 0 {
        return Err(invalid("empty_file", "size", "Le fichier est vide."));
    }
    if size > max_bytes {
        return Err(invalid(
            "file_too_large",
            "size",
            format!("Le fichier dépasse la taille maximale de {} Mo.", max_bytes.div_ceil(1024 * 1024)),
        ));
    }
    Ok((file_name, file_type))
}

pub fn not_received() -> Problem {
    Problem::new(StatusCode::CONFLICT, "file_not_received", "Le fichier n'a pas été reçu : envoyez-le à nouveau.")
}

pub fn content_mismatch(t: FileType) -> Problem {
    Problem::unprocessable(
        "file_content_mismatch",
        format!("Ce fichier n'est pas {} valide : il a été supprimé. Envoyez le document au bon format.", type_name(t)),
    )
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Pdf => "un PDF",
        FileType::Jpeg => "une image JPEG",
        FileType::Png => "une image PNG",
    }
}

/// Confirms a sent file: it must be in the bucket, of the announced size, and begin like the
/// announced type; then it is kept and waits for staff. Confirming twice is harmless.
async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let family = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let doc = load(store, town.id(), &family, &id).await?;
    let (_, names) = family_with_names(store, town.id(), &family).await?;
    let today = today(&state, &town);
    if doc.status != Status::Uploading {
        return Ok(AxumJson(view(&town, doc, &names, today)));
    }
    let files = &state.files;
    let upload = doc.object.clone();
    match files.received(&upload, doc.size, doc.content_type).await.map_err(files_unavailable)? {
        Received::Ok => {}
        Received::Nothing => return Err(not_received()),
        Received::Mismatch => {
            // Not what was announced: the file and the request go.
            files.delete(&upload).await.map_err(files_unavailable)?;
            store.delete(&document_key(town.id(), &family, &doc.id), Some(versioned(&doc))).await?;
            return Err(content_mismatch(doc.content_type));
        }
    }
    let kept = Files::document_key(town.id(), &family, &doc.id);
    files.copy(&upload, &kept, doc.content_type).await.map_err(files_unavailable)?;
    let now = state.auth.clock.now();
    let mut sent = doc.clone();
    sent.object = kept;
    sent.status = Status::Pending;
    sent.sent_at = Some(now);
    sent.version += 1;
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
    if let Err(e) = files.delete(&upload).await {
        tracing::warn!(error = %e, key = %upload, "confirmed upload not deleted");
    }
    Ok(AxumJson(view(&town, sent, &names, today)))
}

/// A short-lived URL to download one of the family's documents.
async fn download(
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

/// Deletes a document's file, then its record (a retry after a failure finishes the job).
async fn delete_document(state: &AppState, town: &TownId, doc: &Document, ops: Vec<WriteOp>) -> Result<(), Problem> {
    state.files.delete(&doc.object).await.map_err(files_unavailable)?;
    let mut all = vec![WriteOp::Delete { key: document_key(town, &doc.family, &doc.id), cond: Some(versioned(doc)) }];
    all.extend(ops);
    match state.auth.store.transact(all).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Err(changed()),
        Err(e) => Err(e.into()),
    }
}

fn changed() -> Problem {
    Problem::new(StatusCode::CONFLICT, "document_changed", "Ce document vient d'être modifié : rechargez la page.")
}

/// A guardian withdraws a document staff have not decided on yet.
async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let family = caller.family(&family)?;
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

// ----- Staff -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffQuery {
    status: Option<String>,
}

#[derive(Serialize)]
struct StaffView {
    family_name: String,
    #[serde(flatten)]
    document: View,
}

/// The documents waiting for a decision, oldest first.
async fn staff_list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<StaffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<StaffView>>, Problem> {
    let Query(q) = query.map_err(|_| Problem::bad_request("invalid_query", "Les paramètres sont incorrects."))?;
    if q.status.as_deref().is_some_and(|s| s != "pending") {
        return Err(Problem::bad_request("invalid_status", "Seuls les documents en attente (pending) se listent ici.")
            .field("status"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let docs: Vec<Document> = store
        .query_all(&StoreQuery::gsi1(pending_partition(town.id()), SkRange::All))
        .await?
        .iter()
        .map(Item::to_value)
        .collect::<Result<_, _>>()?;
    let families = repo::all_families(store, town.id()).await?;
    let children: Vec<(ChildId, String)> = repo::all_children(store, town.id())
        .await?
        .into_iter()
        .map(|c| (c.id, format!("{} {}", c.first_name, c.last_name)))
        .collect();
    let today = today(&state, &town);
    Ok(AxumJson(
        docs.into_iter()
            .map(|d| StaffView {
                family_name: families
                    .iter()
                    .find(|f| f.reference == d.family)
                    .map_or_else(|| d.family.to_string(), |f| f.name.clone()),
                document: view(&town, d, &children, today),
            })
            .collect(),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Accept,
    Refuse,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    decision: Verdict,
    #[serde(default)]
    reason: Option<String>,
    /// Overrides the kind's validity (accepting only).
    #[serde(default)]
    valid_until: Option<NaiveDate>,
    /// The version that was read (the decision fails if it changed since).
    #[serde(default)]
    version: Option<u64>,
}

/// Accepts or refuses a document; the family's guardians are emailed. Accepting a medical
/// certificate marks the child's bookings of its dates « absence justifiée ».
async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, id)): Path<(String, String, String)>,
    body: Result<Json<Decision>, Problem>,
) -> Result<AxumJson<View>, Problem> {
    let family = caller.family(&family)?;
    let Json(input) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let doc = load(store, town.id(), &family, &id).await?;
    if doc.status != Status::Pending {
        return Err(if doc.status == Status::Uploading {
            unknown_document()
        } else {
            Problem::new(StatusCode::CONFLICT, "document_decided", "Ce document a déjà été examiné.")
        });
    }
    if input.version.is_some_and(|v| v != doc.version) {
        return Err(changed());
    }
    let today = today(&state, &town);
    let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS || r.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(invalid(
            "invalid_reason",
            "reason",
            format!("Le motif compte {MAX_REASON_CHARS} caractères au plus."),
        ));
    }
    let kind = town.config().documents.kind(&doc.kind).cloned();
    let mut after = doc.clone();
    match input.decision {
        Verdict::Refuse => {
            if reason.is_none() {
                return Err(invalid("reason_required", "reason", "Indiquez le motif du refus : la famille le lira."));
            }
            if input.valid_until.is_some() {
                return Err(invalid(
                    "valid_until_not_expected",
                    "valid_until",
                    "Un document refusé n'a pas de validité.",
                ));
            }
            after.status = Status::Refused;
            after.reason = reason;
        }
        Verdict::Accept => {
            let default_end =
                kind.as_ref().and_then(|k| k.valid_days).and_then(|n| today.checked_add_days(Days::new(u64::from(n))));
            let valid_until = input.valid_until.or(default_end);
            if valid_until.is_some_and(|v| v < today) {
                return Err(invalid(
                    "invalid_valid_until",
                    "valid_until",
                    "La validité ne peut pas finir dans le passé.",
                ));
            }
            after.status = Status::Accepted;
            after.valid_until = valid_until;
            after.reason = reason;
        }
    }
    let now = state.auth.clock.now();
    after.decided_at = Some(now);
    after.decided_by = Some(caller.session.email.as_str().to_owned());
    after.delete_on =
        Some(rules::purge_day(after.status, today, after.valid_until, town.config().documents.retention_days));
    after.version += 1;
    // A certificate's absence: its bookings first (each mark sets a value, so a retry after a
    // failure changes nothing twice), the decision last.
    if after.status == Status::Accepted
        && let (Some(absence), Some(child)) = (after.absence, after.child.as_ref())
        && kind.as_ref().is_some_and(|k| k.justifies_absence)
    {
        after.justified_bookings = Some(justify(&state, &town, child, absence, caller.session.email.as_str()).await?);
    }
    let (f, names) = family_with_names(store, town.id(), &family).await?;
    let mut ops = vec![WriteOp::Put { item: item(town.id(), &after)?, cond: Some(versioned(&doc)) }];
    ops.push(
        audit::Entry {
            at: now,
            by: caller.session.email.as_str().to_owned(),
            action: "documents.decide".into(),
            target: format!("documents/{family}/{id}"),
            before: serde_json::to_value(&doc).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(town.id())?,
    );
    let kind_name = kind.as_ref().map_or_else(|| after.kind.to_string(), |k| k.name.clone());
    for g in &f.guardians {
        let content = decision_email(&state, &town, &g.first_name, &after, &kind_name, &names);
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    match store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(changed()),
        Err(e) => return Err(e.into()),
    }
    Ok(AxumJson(view(&town, after, &names, today)))
}

/// Marks the child's bookings of the absence « absence justifiée » (those that hold a place
/// and were not marked present); how many it marked.
async fn justify(state: &AppState, town: &Town, child: &ChildId, absence: Absence, by: &str) -> Result<usize, Problem> {
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let bookings = repo::bookings(store, town.id(), child, absence.from, absence.to).await?;
    let marked: Vec<_> = bookings
        .into_iter()
        .filter(|b| b.status == BookingStatus::Confirmed && matches!(b.attendance, None | Some(Attendance::Absent)))
        .collect();
    let mut done = 0;
    for chunk in marked.chunks(MARKS_PER_TRANSACTION) {
        let mut ops = Vec::new();
        for b in chunk {
            let mut after = b.clone();
            after.attendance = Some(Attendance::AbsentJustified);
            after.updated_at = now;
            after.version += 1;
            ops.push(WriteOp::Put {
                item: repo::booking_item(town.id(), &after)?,
                cond: Some(Cond::AttrEquals { name: "version".into(), value: serde_json::Value::from(b.version) }),
            });
        }
        ops.push(
            audit::Entry {
                at: now,
                by: by.to_owned(),
                action: "attendance.justify".into(),
                target: format!("child/{child}"),
                before: None,
                after: serde_json::to_value(chunk.iter().map(|b| (b.date, &b.unit)).collect::<Vec<_>>()).ok(),
            }
            .record(town.id())?,
        );
        match store.transact(ops).await {
            Ok(()) => done += chunk.len(),
            Err(StoreError::TransactionCanceled { .. }) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "bookings_changed",
                    "Des réservations de l'enfant viennent d'être modifiées : recommencez.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

fn french_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn decision_email(
    state: &AppState,
    town: &Town,
    first_name: &str,
    d: &Document,
    kind_name: &str,
    names: &[(ChildId, String)],
) -> shared::mail::outbox::Content {
    let child = d.child.as_ref().and_then(|c| names.iter().find(|(id, _)| id == c)).map(|(_, n)| format!(" – {n}"));
    let line = format!("{kind_name}{} – {}", child.unwrap_or_default(), d.file_name);
    let (title, mut remarks) = match d.status {
        Status::Accepted => ("Document accepté".to_owned(), Vec::new()),
        _ => ("Document refusé".to_owned(), vec![format!("Motif : {}", d.reason.as_deref().unwrap_or_default())]),
    };
    if let Some(v) = d.valid_until.filter(|_| d.status == Status::Accepted) {
        remarks.push(format!("Il est valable jusqu'au {}.", french_date(v)));
    }
    if let Some(n) = d.justified_bookings.filter(|n| *n > 0) {
        remarks.push(format!("{n} réservation(s) de la période d'absence sont justifiées et ne seront pas facturées."));
    }
    if d.status == Status::Refused {
        remarks.push("Vous pouvez envoyer un nouveau document depuis « Mes demandes ».".to_owned());
    }
    templates::summary_to(
        &town.config().name,
        &title,
        first_name,
        "Le service enfance a examiné le document que vous avez envoyé :",
        &[Section { title: title.clone(), lines: vec![line] }],
        &remarks,
        (&format!("{}/demandes.html", state.public_url), "Voir mes demandes"),
    )
}

/// Staff delete a document, whatever its status (audited).
async fn staff_delete(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let family = caller.family(&family)?;
    let doc = load(&state.auth.store, &caller.town, &family, &id).await?;
    let entry = audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.as_str().to_owned(),
        action: "documents.delete".into(),
        target: format!("documents/{family}/{id}"),
        before: serde_json::to_value(&doc).ok(),
        after: None,
    };
    delete_document(&state, &caller.town, &doc, vec![entry.record(&caller.town)?]).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- Retention -----

/// Deletes the decided documents whose retention ended by `today` (in each town's own time
/// zone, within a day), `town` only when given; how many.
pub async fn purge(store: &Store, files: &Files, today: NaiveDate, town: Option<&TownId>) -> Result<usize, String> {
    let due = store
        .query_all(&StoreQuery::gsi1(PURGE_PARTITION, SkRange::UpTo(format!("{today}~"))))
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for i in due {
        let d: Document = i.to_value().map_err(|e| e.to_string())?;
        let Some(sk) = i.gsi1.as_ref().map(|k| k.sk.clone()) else { continue };
        let Some(doc_town) = sk.split('#').nth(1).and_then(|t| TownId::parse(t).ok()) else { continue };
        if town.is_some_and(|t| t != &doc_town) {
            continue;
        }
        files.delete(&d.object).await.map_err(|e| e.to_string())?;
        match store.delete(&document_key(&doc_town, &d.family, &d.id), Some(versioned(&d))).await {
            Ok(()) => n += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}

/// Runs the retention purge of the caller's town now (town administrators; it also runs every
/// day by itself).
async fn purge_now(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<serde_json::Value>, Problem> {
    if caller.session.role != Role::TownAdmin {
        return Err(forbidden().detail("La purge des documents est réservée à l'administrateur de la commune."));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let deleted = purge(&state.auth.store, &state.files, today(&state, &town), Some(town.id())).await.map_err(|e| {
        tracing::warn!(error = %e, "purge failed");
        files_unavailable(FilesError(e))
    })?;
    Ok(AxumJson(serde_json::json!({ "deleted": deleted })))
}
