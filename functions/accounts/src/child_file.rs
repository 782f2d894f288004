//! A child's file as its guardians read and change it (« Fiche enfant »). Each change is a
//! new version waiting for staff; the persons forbidden another family declared are neither
//! shown nor changed. Staff use their own routes (`staff` function), where health reads are
//! audited: here they are refused.

use super::AppState;
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::child_file::record::Author;
use domain::child_file::{self, ChildFile, Context, FileRecord, MissingPart, ReviewRefused, Status};
use domain::family::Child;
use domain::{ChildId, FamilyRef};
use edge::http::auth::{Caller, unknown_family};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{StoreError, child_files, repo};

/// The file as a guardian sees it.
#[derive(Serialize)]
pub struct FileView {
    child: ChildId,
    first_name: String,
    /// 0 before the first save.
    version: u32,
    #[serde(flatten)]
    status: Option<Status>,
    updated_at: Option<DateTime<Utc>>,
    file: ChildFile,
    /// What the town's usual requirements still lack (health, vaccination, emergency contact,
    /// insurance), for the guardian to see at once.
    missing: Vec<MissingView>,
}

#[derive(Serialize)]
struct MissingView {
    #[serde(flatten)]
    part: MissingPart,
    label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpdate {
    /// The version read (0: none yet).
    version: u32,
    file: ChildFile,
}

fn unknown_child() -> Problem {
    Problem::not_found("unknown_child", "Cet enfant est introuvable.")
}

/// The family and child of the path, when the caller is a guardian of that family and the
/// child is one of its children; 404 otherwise (staff: 403, their routes are elsewhere).
async fn own_child(
    state: &AppState,
    caller: &Caller,
    family: &str,
    child: &str,
) -> Result<(FamilyRef, Child), Problem> {
    let reference = caller.own_family(family)?;
    let id = ChildId::parse(child).map_err(|_| unknown_child())?;
    let store = &state.auth.store;
    let family = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown_family)?;
    if !family.children.contains(&id) {
        return Err(unknown_child());
    }
    let child = repo::get_child(store, &caller.town, &id).await?.ok_or_else(unknown_child)?;
    Ok((reference, child))
}

fn view(child: &Child, family: &FamilyRef, record: Option<&FileRecord>, today: chrono::NaiveDate) -> FileView {
    let file = record.map(|r| r.file.seen_by_family(family)).unwrap_or_default();
    let usual =
        child_file::Requirements { health: true, vaccination: true, people: true, insurance: true, consents: vec![] };
    let missing = child_file::missing(&file, &usual, today)
        .into_iter()
        .map(|part| MissingView { part, label: part.label() })
        .collect();
    FileView {
        child: child.id.clone(),
        first_name: child.first_name.clone(),
        version: record.map_or(0, |r| r.version),
        status: record.map(|r| r.status.clone()),
        updated_at: record.map(|r| r.updated_at),
        file,
        missing,
    }
}

/// GET: the child's file, as this family sees it.
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, child)): Path<(String, String, String)>,
) -> Result<axum::Json<FileView>, Problem> {
    let (family, child) = own_child(&state, &caller, &family, &child).await?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let record = child_files::get(&state.auth.store, town.id(), &child.id).await?;
    let today = town.today(state.auth.clock.now());
    Ok(axum::Json(view(&child, &family, record.as_ref(), today)))
}

/// PUT: a new version of the file, from the version read; every field checked first.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, child)): Path<(String, String, String)>,
    body: Result<Json<FileUpdate>, Problem>,
) -> Result<axum::Json<FileView>, Problem> {
    let (family, child) = own_child(&state, &caller, &family, &child).await?;
    let Json(update) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let ctx = Context { today, birth_date: child.birth_date, settings: &town.config().child_file };
    let file = update.file.checked(ctx)?;
    let store = &state.auth.store;
    let before = child_files::get(store, town.id(), &child.id).await?;
    let current = before.as_ref().map_or(0, |r| r.version);
    if update.version != current {
        return Err(ReviewRefused::ChangedMeanwhile { current }.into());
    }
    let by = caller.session.email.to_string();
    let author = Author { family: &family, by: &by, at: now, today };
    let Some((after, version)) = FileRecord::update(before.as_ref(), &child.id, file, author) else {
        return Ok(axum::Json(view(&child, &family, before.as_ref(), today)));
    };
    let ops = child_files::writes(town.id(), before.as_ref(), &after, Some(&version))?;
    match store.transact(ops).await {
        Ok(()) => Ok(axum::Json(view(&child, &family, Some(&after), today))),
        Err(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }) => {
            Err(ReviewRefused::ChangedMeanwhile { current }.into())
        }
        Err(e) => Err(e.into()),
    }
}
