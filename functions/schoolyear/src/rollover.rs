//! The rollover from a school year to the next, by the administrator: a dry run that lists, a
//! page of families at a time, what will change for each child; then the run. The run goes
//! through the town's families in order, [`PER_CALL`] per call, writing a few dozen children
//! per transaction together with the run's progress (its cursor, conditioned on the one read)
//! and an audit entry: a call interrupted anywhere leaves the progress where its last
//! transaction did, the next call goes on from there, and a child already moved is not moved
//! again (the level carries its year). A finished run answers its totals and writes nothing.

use super::{AppState, FAMILIES_PER_PAGE, audit_entry, bad_cursor, get_campaign, get_enrolment, no_campaign, year};
use axum::Json as AxumJson;
use axum::extract::{Query as AxumQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::config::Town;
use domain::family::{Child, Family};
use domain::school_year::rollover::{ChildChange, apply, plan};
use domain::school_year::{Campaign, SchoolYear};
use domain::{FamilyRef, TownId};
use edge::http::auth::Admin;
use edge::http::{self, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Cond, Cursor, Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Families per call of the run.
pub const PER_CALL: usize = 500;
/// Children written per transaction (with the progress and the audit entry: under 100 actions).
pub const CHILDREN_PER_TRANSACTION: usize = 40;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct FamilyPlan {
    family: FamilyRef,
    name: String,
    children: Vec<ChildChange>,
}

#[derive(Serialize)]
pub(crate) struct DryRun {
    closing: SchoolYear,
    families: Vec<FamilyPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The rollover's progress, stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub closing: SchoolYear,
    /// The last family done, in the families' order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<FamilyRef>,
    pub families: u64,
    pub children_changed: u64,
    pub started_at: DateTime<Utc>,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub version: u64,
}

/// The campaign of the year that opens, and the check that its rollover day has come.
async fn opening_campaign(state: &AppState, town: &Town, closing: SchoolYear) -> Result<Campaign, Problem> {
    let campaign =
        get_campaign(&state.auth.store, town.id(), closing.next()).await?.ok_or_else(|| no_campaign(closing.next()))?;
    let today = town.today(state.auth.clock.now());
    if today < campaign.input.rollover_on {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "rollover_too_early",
            format!("Le passage à {} est prévu le {}.", closing.next(), domain::fr::date(campaign.input.rollover_on)),
        ));
    }
    Ok(campaign)
}

/// What the rollover does for one family: each child's change and, when it changes, the child
/// after it.
async fn family_changes(
    store: &Store,
    town: &Town,
    closing: SchoolYear,
    campaign: &Campaign,
    family: &Family,
) -> Result<Vec<(ChildChange, Child, Option<Child>)>, StoreError> {
    let enrolment = get_enrolment(store, town.id(), &family.reference, campaign.year).await?;
    let docs = services::school_year::documents(store, town.id(), &family.reference).await?;
    let mut out = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
        let with = Some((campaign, enrolment.as_ref()));
        let change = plan(town, closing, &child, with, &docs);
        let gaps =
            services::school_year::gaps_of_child(store, town, campaign, enrolment.as_ref(), &child, &docs).await?;
        let after = apply(town, closing, &child, with, &gaps);
        out.push((change, child, after));
    }
    Ok(out)
}

/// The dry run: a page of families, with what changes for each child (children with nothing
/// to change left out).
pub(crate) async fn dry_run(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, y)): Path<(String, String)>,
    query: Result<AxumQuery<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<DryRun>, Problem> {
    let AxumQuery(q) = query.map_err(|_| edge::http::bad_query())?;
    let closing = year(&y)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let campaign = get_campaign(store, town.id(), closing.next()).await?.ok_or_else(|| no_campaign(closing.next()))?;
    let page = store
        .query(
            &Query::gsi1(keys::families_of_town(town.id()), SkRange::All)
                .limit(FAMILIES_PER_PAGE)
                .after(q.cursor.as_deref().map(Cursor::from_client)),
        )
        .await
        .map_err(bad_cursor)?;
    let mut families = Vec::new();
    for family in Item::decode_listed::<Family>(&page.items) {
        let children: Vec<ChildChange> = family_changes(store, &town, closing, &campaign, &family)
            .await?
            .into_iter()
            .map(|(c, _, _)| c)
            .filter(|c| !c.is_empty() || !c.lapsing.is_empty())
            .collect();
        if !children.is_empty() {
            families.push(FamilyPlan { family: family.reference.clone(), name: family.name.clone(), children });
        }
    }
    Ok(AxumJson(DryRun { closing, families, next: page.next.map(|c| c.as_str().to_owned()) }))
}

fn run_item(town: &TownId, run: &Run) -> Result<Item, StoreError> {
    Item::from_value(keys::rollover(town, run.closing), run)
}

/// The families after `after`, in order, at most `n`.
async fn families_after(
    store: &Store,
    town: &TownId,
    after: Option<&FamilyRef>,
    n: usize,
) -> Result<Vec<Family>, StoreError> {
    let range = match after {
        // Family references are `[a-z0-9_-]`: `F#<ref>!` sorts right after `F#<ref>`.
        Some(f) => SkRange::Between(format!("F#{f}!"), "F#~".into()),
        None => SkRange::All,
    };
    let page = store.query(&Query::gsi1(keys::families_of_town(town), range).limit(n)).await?;
    Ok(Item::decode_listed(&page.items))
}

/// One call of the run: up to [`PER_CALL`] families more; `finished_at` once every family is
/// done. Call again while it is not.
pub(crate) async fn run(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, y)): Path<(String, String)>,
) -> Result<AxumJson<Run>, Problem> {
    let closing = year(&y)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let campaign = opening_campaign(&state, &town, closing).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    Ok(AxumJson(run_call(&state.auth.store, &town, closing, &campaign, by, now).await?))
}

/// The run's work for one call (the benchmark drives it directly).
pub async fn run_call(
    store: &Store,
    town: &Town,
    closing: SchoolYear,
    campaign: &Campaign,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Run, Problem> {
    let key = keys::rollover(town.id(), closing);
    let stored: Option<Run> = store.get(&key).await?.map(|i| i.to_value()).transpose()?;
    let mut run = match stored {
        Some(r) if r.finished_at.is_some() => return Ok(r),
        Some(r) => r,
        None => {
            let r = Run {
                closing,
                after: None,
                families: 0,
                children_changed: 0,
                started_at: now,
                by: by.to_owned(),
                finished_at: None,
                version: 0,
            };
            store.put(run_item(town.id(), &r)?, Some(Cond::NotExists)).await?;
            r
        }
    };
    let families = families_after(store, town.id(), run.after.as_ref(), PER_CALL).await?;
    let mut pending: Vec<(Child, Child)> = Vec::new();
    let mut done_families = 0u64;
    for (i, family) in families.iter().enumerate() {
        for (_, before, after) in family_changes(store, town, closing, campaign, family).await? {
            // A child shared by two households is moved once (with the first family read).
            if let Some(after) = after.filter(|a| !pending.iter().any(|(b, _)| b.id == a.id)) {
                pending.push((before, after));
            }
        }
        done_families += 1;
        let last = i + 1 == families.len();
        if pending.len() >= CHILDREN_PER_TRANSACTION || last {
            let chunk = std::mem::take(&mut pending);
            run = commit(store, town.id(), run, (&family.reference, done_families), chunk, (by, now)).await?;
            done_families = 0;
        }
    }
    if families.len() < PER_CALL {
        let mut finished = run.clone();
        finished.finished_at = Some(now);
        finished.version += 1;
        let entry = audit_entry(
            by,
            "rollover.finish",
            format!("rollover/{closing}"),
            None,
            Some(serde_json::json!({"families": run.families, "children_changed": run.children_changed})),
            now,
        );
        store
            .transact(vec![
                WriteOp::Put { item: run_item(town.id(), &finished)?, cond: Some(Cond::version(run.version)) },
                entry.record(town.id())?,
            ])
            .await?;
        run = finished;
    }
    Ok(run)
}

/// The children of a chunk, the progress past `last`, and the audit entry, in one transaction.
async fn commit(
    store: &Store,
    town: &TownId,
    run: Run,
    (last, families): (&FamilyRef, u64),
    children: Vec<(Child, Child)>,
    (by, now): (&str, DateTime<Utc>),
) -> Result<Run, Problem> {
    let mut next = run.clone();
    next.after = Some(last.clone());
    next.families += families;
    next.children_changed += children.len() as u64;
    next.version += 1;
    let mut ops = vec![WriteOp::Put { item: run_item(town, &next)?, cond: Some(Cond::version(run.version)) }];
    let mut moved = Vec::new();
    for (before, after) in &children {
        let mut read = serde_json::Map::new();
        read.insert("enrolments".into(), serde_json::to_value(&before.enrolments).map_err(|e| Problem::internal(&e))?);
        read.insert("level".into(), serde_json::to_value(before.level).map_err(|e| Problem::internal(&e))?);
        ops.push(WriteOp::Put { item: repo::child_item(town, after)?, cond: Some(Cond::AttrsEqual(read)) });
        moved.push(serde_json::json!({"child": after.id, "level": after.level.map(|l| l.level)}));
    }
    let entry = audit_entry(
        by,
        "rollover.chunk",
        format!("rollover/{}", run.closing),
        None,
        Some(serde_json::json!({"after": last, "children": moved})),
        now,
    );
    ops.push(entry.record(town)?);
    store.transact(ops).await?;
    Ok(next)
}
