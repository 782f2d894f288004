//! Children's files by staff: the queue of files a guardian changed, a file without its health
//! part (any staff), its health part and its review (the staff roles the town names, each read
//! in the audit trail), validating the version read (which feeds the child's record: diet, PAI
//! flag, health notes) or asking the guardians for a correction (emailed). Every decision is
//! audited in the transaction that records it. And the allergy / PAI marks next to the children
//! of a register (from the version staff validated; for the health readers, each list's read
//! in the audit trail).

use crate::families::{CHILD_FIELDS, unchanged};
use crate::{AppState, today};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use domain::child_file::marks::HealthMark;
use domain::child_file::{Change, FileRecord, Health, Status, marks};
use domain::config::Town;
use domain::family::Child;
use domain::{ChildId, TownId};
use edge::http::auth::{Caller, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use services::mail::outbox::Mail;
use services::mail::templates::child_file::FileCorrection;
use std::collections::HashMap;
use store::{Store, StoreError, WriteOp, audit, child_files, repo};

/// The most files the queue lists at once (the oldest changes first).
pub const MAX_QUEUE: usize = 100;

fn unknown_child() -> Problem {
    Problem::not_found("unknown_child", "Cet enfant est introuvable.")
}

fn no_file() -> Problem {
    Problem::not_found("no_child_file", "Aucune fiche n’a encore été remplie pour cet enfant.")
}

/// 403 for staff whose role the town did not name for health data.
pub(crate) fn health_reserved() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "health_reserved",
        "La partie santé des fiches est réservée aux rôles que la commune a désignés.",
    )
}

pub(crate) fn may_read_health(town: &Town, caller: &Caller) -> bool {
    town.config().child_file.may_read_health(caller.session.role)
}

/// The audit entry of a staff read of health data (`what`: the children and versions read).
pub(crate) fn health_read(caller: &Caller, at: DateTime<Utc>, target: String, what: serde_json::Value) -> audit::Entry {
    let by = caller.session.email.to_string();
    audit::Entry { at, by, action: "child_file.read_health".into(), target, before: None, after: Some(what) }
}

async fn record_read(store: &Store, town: &TownId, entry: audit::Entry) -> Result<(), Problem> {
    store.transact(vec![entry.record(town)?]).await?;
    Ok(())
}

#[derive(Serialize)]
pub(crate) struct Queued {
    child: ChildId,
    first_name: String,
    last_name: String,
    version: u32,
    updated_at: DateTime<Utc>,
    updated_by: String,
}

/// GET: the files waiting for staff, oldest change first (no health data).
pub(crate) async fn queue(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<Vec<Queued>>, Problem> {
    let store = &state.auth.store;
    let mut out = Vec::new();
    for r in child_files::to_check(store, &caller.town, MAX_QUEUE).await? {
        let child = repo::get_child(store, &caller.town, &r.child).await?;
        out.push(Queued {
            first_name: child.as_ref().map(|c| c.first_name.clone()).unwrap_or_default(),
            last_name: child.map(|c| c.last_name).unwrap_or_default(),
            child: r.child,
            version: r.version,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        });
    }
    Ok(AxumJson(out))
}

/// The child and its file named by the path, in the caller's town.
async fn child_and_file(state: &AppState, town: &TownId, raw: &str) -> Result<(Child, FileRecord), Problem> {
    let id = ChildId::parse(raw).map_err(|_| unknown_child())?;
    let store = &state.auth.store;
    let child = repo::get_child(store, town, &id).await?.ok_or_else(unknown_child)?;
    let record = child_files::get(store, town, &id).await?.ok_or_else(no_file)?;
    Ok((child, record))
}

#[derive(Serialize)]
pub(crate) struct StaffView {
    child: ChildId,
    first_name: String,
    last_name: String,
    version: u32,
    #[serde(flatten)]
    status: Status,
    updated_at: DateTime<Utc>,
    updated_by: String,
    /// The version staff last validated, if any.
    validated_version: Option<u32>,
    /// The file; its `health` is left out unless the caller may read it.
    file: serde_json::Value,
    /// Whether the health part is in `file`.
    health_included: bool,
}

fn staff_view(child: &Child, r: &FileRecord, with_health: bool) -> Result<StaffView, Problem> {
    let mut file = serde_json::to_value(&r.file).map_err(|e| Problem::internal(&e))?;
    if !with_health && let Some(m) = file.as_object_mut() {
        m.remove("health");
    }
    Ok(StaffView {
        child: child.id.clone(),
        first_name: child.first_name.clone(),
        last_name: child.last_name.clone(),
        version: r.version,
        status: r.status.clone(),
        updated_at: r.updated_at,
        updated_by: r.updated_by.clone(),
        validated_version: r.validated.as_ref().map(|v| v.version),
        file,
        health_included: with_health,
    })
}

/// GET: a child's file without its health part: people, consents, insurance (any staff).
pub(crate) async fn file(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
) -> Result<AxumJson<StaffView>, Problem> {
    let (child, record) = child_and_file(&state, &caller.town, &child).await?;
    Ok(AxumJson(staff_view(&child, &record, false)?))
}

/// GET: the health part of a child's file (the roles the town names; audited).
pub(crate) async fn health(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
) -> Result<AxumJson<Health>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    if !may_read_health(&town, &caller) {
        return Err(health_reserved());
    }
    let (child, record) = child_and_file(&state, town.id(), &child).await?;
    let entry = health_read(
        &caller,
        state.auth.clock.now(),
        format!("child/{}/file", child.id),
        json!({"version": record.version}),
    );
    record_read(&state.auth.store, town.id(), entry).await?;
    Ok(AxumJson(record.file.health))
}

#[derive(Serialize)]
pub(crate) struct Review {
    #[serde(flatten)]
    view: StaffView,
    /// What changed since the version staff last validated (everything before a first one).
    changes: Vec<Change>,
    /// The versions kept, newest first: number, when, by whom.
    versions: Vec<serde_json::Value>,
}

/// GET: what staff review: the whole file and what changed since they last validated (the
/// roles the town names for health; audited).
pub(crate) async fn review(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
) -> Result<AxumJson<Review>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    if !may_read_health(&town, &caller) {
        return Err(health_reserved());
    }
    let (child, record) = child_and_file(&state, town.id(), &child).await?;
    let store = &state.auth.store;
    let versions = child_files::versions(store, town.id(), &child.id)
        .await?
        .into_iter()
        .map(|v| json!({"version": v.version, "at": v.at, "by": v.by}))
        .collect();
    let entry = health_read(
        &caller,
        state.auth.clock.now(),
        format!("child/{}/file", child.id),
        json!({"version": record.version}),
    );
    record_read(store, town.id(), entry).await?;
    Ok(AxumJson(Review { view: staff_view(&child, &record, true)?, changes: record.changes(), versions }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    /// The version read.
    version: u32,
    /// Why a correction is asked.
    #[serde(default)]
    reason: Option<String>,
}

/// A staff decision's start: the caller's town, and the child with its file, for the health
/// readers only.
async fn under_review(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<(std::sync::Arc<Town>, Child, FileRecord), Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    if !may_read_health(&town, caller) {
        return Err(health_reserved());
    }
    let (child, file) = child_and_file(state, town.id(), raw).await?;
    Ok((town, child, file))
}

/// POST …/validate: the version read is the town's; the child's record takes its diet, PAI
/// flag and health notes, in the same transaction as the file and the audit entry.
pub(crate) async fn validate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
    body: Result<Json<Decision>, Problem>,
) -> Result<AxumJson<StaffView>, Problem> {
    let Json(d) = body?;
    let (town, child, before) = under_review(&state, &caller, &child).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.to_string();
    let after = before.validate(d.version, &by, now)?;
    let fed = marks::feed(&after.file, today(&state, &town));
    let fed_child = Child { diet: fed.diet, pai: fed.pai, health_notes: fed.health_notes, ..child.clone() };
    let mut ops = child_files::writes(town.id(), Some(&before), &after, None)?;
    if fed_child != child {
        ops.push(WriteOp::Put {
            item: repo::child_item(town.id(), &fed_child)?,
            cond: Some(unchanged(&child, &CHILD_FIELDS)?),
        });
    }
    let target = format!("child/{}/file", child.id);
    let change = json!({"version": after.version, "status": "validated"});
    let entry =
        audit::Entry { at: now, by, action: "child_file.validate".into(), target, before: None, after: Some(change) };
    ops.push(entry.record(town.id())?);
    commit(&state, ops).await?;
    // The year's enrolments a file waiting for staff held open at once (the validation stands
    // whatever happens here: the family's next step and the rollover recompute them too).
    let store = &state.auth.store;
    for family in repo::families_of_child(store, town.id(), &child.id).await? {
        if let Err(e) = services::school_year::refresh_family_holds(store, &town, &family.reference, now).await {
            tracing::warn!(error = %e, "enrolment holds not refreshed after a file's validation");
        }
    }
    Ok(AxumJson(staff_view(&fed_child, &after, true)?))
}

/// POST …/correction: the guardians of every family of the child are emailed the reason.
pub(crate) async fn correction(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, child)): Path<(String, String)>,
    body: Result<Json<Decision>, Problem>,
) -> Result<AxumJson<StaffView>, Problem> {
    let Json(d) = body?;
    let (town, child, before) = under_review(&state, &caller, &child).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.to_string();
    let reason = d.reason.unwrap_or_default();
    let after = before.ask_correction(d.version, &reason, &by, now)?;
    let mut ops = child_files::writes(town.id(), Some(&before), &after, None)?;
    let store = &state.auth.store;
    for family in repo::families_of_child(store, town.id(), &child.id).await? {
        for g in &family.guardians {
            let mail = FileCorrection {
                town: town.config().name.clone(),
                first_name: g.first_name.clone(),
                public_url: state.public_url.clone(),
                child: child.first_name.clone(),
                child_id: child.id.to_string(),
                reason: reason.trim().to_owned(),
            };
            ops.push(Mail::new(town.id(), &g.email, mail.render(), now).enqueue()?);
        }
    }
    let target = format!("child/{}/file", child.id);
    let change = json!({"version": after.version, "status": "correction_asked", "reason": reason.trim()});
    let entry =
        audit::Entry { at: now, by, action: "child_file.correction".into(), target, before: None, after: Some(change) };
    ops.push(entry.record(town.id())?);
    commit(&state, ops).await?;
    Ok(AxumJson(staff_view(&child, &after, true)?))
}

async fn commit(state: &AppState, ops: Vec<WriteOp>) -> Result<(), Problem> {
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }) => Err(Problem::new(
            StatusCode::CONFLICT,
            "file_changed_meanwhile",
            "La fiche a changé depuis votre lecture\u{202f}: relisez-la.",
        )
        .field("version")),
        Err(e) => Err(e.into()),
    }
}

/// The validated files of `children`, when the caller may read health data (none otherwise;
/// children without a validated file are left out). Not audited: the caller audits what it shows.
pub(crate) async fn validated_files(
    state: &AppState,
    town: &Town,
    caller: &Caller,
    children: impl Iterator<Item = &ChildId>,
) -> Result<HashMap<ChildId, domain::child_file::ChildFile>, Problem> {
    let mut out = HashMap::new();
    if !may_read_health(town, caller) {
        return Ok(out);
    }
    for c in children {
        if let Some(v) = child_files::get(&state.auth.store, town.id(), c).await?.and_then(|r| r.validated) {
            out.insert(c.clone(), v.file);
        }
    }
    Ok(out)
}

/// The marks of `children` on `date`, when the caller may read health data (none otherwise);
/// the read is audited when any mark is shown.
pub(crate) async fn health_marks(
    state: &AppState,
    town: &Town,
    caller: &Caller,
    date: NaiveDate,
    children: impl Iterator<Item = &ChildId>,
) -> Result<HashMap<ChildId, HealthMark>, Problem> {
    let out: HashMap<ChildId, HealthMark> = validated_files(state, town, caller, children)
        .await?
        .into_iter()
        .filter_map(|(c, file)| marks::mark(&file, date).map(|m| (c, m)))
        .collect();
    if !out.is_empty() {
        let mut shown: Vec<&str> = out.keys().map(ChildId::as_str).collect();
        shown.sort_unstable();
        let entry = health_read(caller, state.auth.clock.now(), format!("register/{date}"), json!({"marks": shown}));
        state.auth.store.transact(vec![entry.record(town.id())?]).await?;
    }
    Ok(out)
}
