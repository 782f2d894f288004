//! A document as stored (its keys and index entries) and as guardians and staff read it.

use crate::{AppState, UPLOAD_WINDOW_HOURS};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use domain::config::Town;
use domain::documents::{Absence, DocumentKind, DocumentSettings, FileType, Status};
use domain::family::Family;
use domain::{ChildId, DocKindId, FamilyRef, TownId};
use edge::files::files_unavailable;
use edge::http::auth::Caller;
use edge::http::{self, Path, Problem};
use serde::{Deserialize, Serialize};
use store::repo;
use store::{Cond, Item, Key, Query as StoreQuery, SkRange, Store, StoreError, WriteOp, keys};

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

/// The stored item: listed for staff while pending, for the retention purge once decided; an
/// upload never confirmed expires with its time to live.
pub fn item(town: &TownId, d: &Document) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::document(town, &d.family, &d.id), d)?;
    Ok(match d.status {
        Status::Uploading => item.with_ttl((d.created_at + chrono::TimeDelta::hours(UPLOAD_WINDOW_HOURS)).timestamp()),
        Status::Pending => item.with_gsi1(Key::new(
            keys::documents_pending(town),
            format!("{}#{}#{}", d.sent_at.unwrap_or(d.created_at).to_rfc3339(), d.family, d.id),
        )),
        Status::Accepted | Status::Refused => item.with_gsi1(Key::new(
            keys::DOCUMENTS_PURGE,
            format!("{}#{town}#{}#{}", d.delete_on.unwrap_or(NaiveDate::MAX), d.family, d.id),
        )),
    })
}

pub(crate) fn versioned(d: &Document) -> Cond {
    Cond::version(d.version)
}

pub(crate) fn unknown_document() -> Problem {
    Problem::not_found("unknown_document", "Ce document est introuvable.")
}

pub(crate) fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Problem {
    Problem::unprocessable(code, message).field(field)
}

pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(crate) fn today(state: &AppState, town: &Town) -> NaiveDate {
    town.today(state.auth.clock.now())
}

pub(crate) async fn load(store: &Store, town: &TownId, family: &FamilyRef, id: &str) -> Result<Document, Problem> {
    if !valid_id(id) {
        return Err(unknown_document());
    }
    store.get(&keys::document(town, family, id)).await?.map(|i| i.to_value()).transpose()?.ok_or_else(unknown_document)
}

pub(crate) async fn family_documents(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
) -> Result<Vec<Document>, StoreError> {
    store
        .query_all(&StoreQuery::table(
            keys::family_partition(town, family),
            SkRange::Prefix(keys::DOCUMENT_PREFIX.into()),
        ))
        .await
        .map(|items| Item::decode_listed(&items))
}

/// The family (a 404 when it is gone) and its children's names, as views show them.
pub(crate) async fn family_with_names(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
) -> Result<(Family, Vec<(ChildId, String)>), Problem> {
    let f = repo::get_family(store, town, family).await?.ok_or_else(edge::http::auth::unknown_family)?;
    let names = child_names(store, town, &f).await?;
    Ok((f, names))
}

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

pub(crate) async fn child_names(
    store: &Store,
    town: &TownId,
    family: &Family,
) -> Result<Vec<(ChildId, String)>, StoreError> {
    let mut out = Vec::new();
    for c in &family.children {
        if let Some(child) = repo::get_child(store, town, c).await? {
            out.push((child.id.clone(), format!("{} {}", child.first_name, child.last_name)));
        }
    }
    Ok(out)
}

pub(crate) fn view(town: &Town, d: Document, names: &[(ChildId, String)], today: NaiveDate) -> View {
    let kind_name = town.config().documents.kind_name(&d.kind);
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
pub(crate) struct SettingsView<'a> {
    kinds: &'a [DocumentKind],
    max_bytes: u64,
    content_types: Vec<&'static str>,
}

/// The kinds of documents the town asks for, the size limit and the accepted types.
pub(crate) async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AxumJson<serde_json::Value>, Problem> {
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
pub(crate) async fn list(
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

pub(crate) async fn one(
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

/// Deletes a document's file, then its record (a retry after a failure finishes the job).
pub(crate) async fn delete_document(
    state: &AppState,
    town: &TownId,
    doc: &Document,
    ops: Vec<WriteOp>,
) -> Result<(), Problem> {
    state.files.delete(&doc.object).await.map_err(files_unavailable)?;
    let mut all = vec![WriteOp::Delete { key: keys::document(town, &doc.family, &doc.id), cond: Some(versioned(doc)) }];
    all.extend(ops);
    match state.auth.store.transact(all).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Err(changed()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn changed() -> Problem {
    Problem::new(StatusCode::CONFLICT, "document_changed", "Ce document vient d'être modifié : rechargez la page.")
}
