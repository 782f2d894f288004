//! The jobs: the work a change calls for, recorded in the change's transaction and listed by
//! when it is due; the jobs a configuration change calls for.

use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::Closure;
use domain::config::Town;
use domain::operations as rules;
use domain::{ChildId, SiteId, TownId, UnitId};
use serde::{Deserialize, Serialize};
use store::{Item, Key, StoreError, WriteOp, keys};

/// What is left to do after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Cancel the bookings these closures close (those still in the town's configuration).
    Close { closures: Vec<Closure>, by: String },
    /// Tell the families whose bookings these closures had cancelled that the days reopened.
    Reopen { closures: Vec<Closure>, by: String },
    /// Give a unit's freed places of a day to its waiting list.
    Promote { unit: UnitId, site: SiteId, date: NaiveDate },
    /// A unit's capacity was raised: its waiting lists from `from` on may move.
    Raise { unit: UnitId, from: NaiveDate },
    /// An offered place staff may not have decided on by `due`.
    Offer { child: ChildId, unit: UnitId, date: NaiveDate },
}

impl Job {
    /// The job's id in its town: the same work has the same id (written twice, it is one job).
    pub(super) fn id(&self) -> String {
        match self {
            Job::Close { closures, .. } | Job::Reopen { closures, .. } => {
                let kind = if matches!(self, Job::Close { .. }) { "CLOSE" } else { "REOPEN" };
                let digest = store::secret::digest(&serde_json::to_string(closures).unwrap_or_default());
                format!("{kind}#{}", &digest[..24])
            }
            Job::Promote { unit, site, date } => format!("PROMOTE#{unit}#{site}#{date}"),
            Job::Raise { unit, from } => format!("RAISE#{unit}#{from}"),
            Job::Offer { child, unit, date } => format!("OFFER#{child}#{unit}#{date}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredJob {
    pub(super) town: TownId,
    pub(super) job: Job,
    pub(super) due: DateTime<Utc>,
    /// Changes at every write, so that the run that finishes deletes only what it read.
    pub(super) nonce: String,
    /// Runs done already (a closure runs twice: see [`SETTLE_MINUTES`]).
    #[serde(default)]
    pub(super) passes: u32,
}

/// A closure's cancellation pass reads the days' bookings from the index, which DynamoDB updates
/// a moment after the table: its job stays due once more, this many minutes later, so that a
/// booking that landed just before the closure's mark and was not listed yet is cancelled too.
pub const SETTLE_MINUTES: i64 = 5;

/// The write that records `job`, due at `due` (now, or an offer's end).
pub fn job_op(town: &TownId, job: &Job, due: DateTime<Utc>) -> Result<WriteOp, StoreError> {
    let stored = StoredJob { town: town.clone(), job: job.clone(), due, nonce: store::secret::id(), passes: 0 };
    Ok(WriteOp::put(job_item(&stored)?))
}

/// A job's item, listed by when it is due.
pub(super) fn job_item(stored: &StoredJob) -> Result<Item, StoreError> {
    let (town, id) = (&stored.town, stored.job.id());
    let sk = format!("{}#{town}#{id}", stored.due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    Ok(Item::from_value(keys::job(town, &id), stored)?.with_gsi1(Key::new(keys::JOBS_DUE, sk)))
}

/// The promotion job for a place freed on a unit with a waiting list (`None` otherwise).
pub fn promote_op(town: &Town, unit: &UnitId, site: &SiteId, date: NaiveDate, now: DateTime<Utc>) -> Option<WriteOp> {
    // A place freed on a day gone by (a decision after billing) is offered to nobody.
    if date < town.today(now) {
        return None;
    }
    let (_, u) = town.unit(unit)?;
    (u.waiting_list && u.capacity.is_some())
        .then(|| job_op(town.id(), &Job::Promote { unit: unit.clone(), site: site.clone(), date }, now).ok())
        .flatten()
}

/// The jobs a configuration change calls for: closures added and removed, capacities raised.
pub fn config_jobs(before: &Town, after: &Town, by: &str, today: NaiveDate) -> Vec<Job> {
    let (old, new) = (&before.config().closures, &after.config().closures);
    let mut jobs = Vec::new();
    let added = rules::added(old, new);
    if !added.is_empty() {
        jobs.push(Job::Close { closures: added, by: by.to_owned() });
    }
    let removed = rules::removed(old, new);
    if !removed.is_empty() {
        jobs.push(Job::Reopen { closures: removed, by: by.to_owned() });
    }
    for a in &after.config().activities {
        for u in &a.units {
            let was = before.unit(&u.id).and_then(|(_, x)| x.capacity);
            let raised = match (was, u.capacity) {
                (Some(w), Some(n)) => n > w,
                _ => false,
            };
            if raised && before.unit(&u.id).is_some_and(|(_, x)| x.waiting_list) {
                jobs.push(Job::Raise { unit: u.id.clone(), from: today });
            }
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::testkit::{at, d, id, town};

    #[test]
    fn a_place_freed_on_a_day_gone_by_is_offered_to_nobody() {
        let town = town();
        let now = at(2026, 12, 9, 10, 0);
        let (unit, site) = (id("alsh-mercredi"), id("ecole-a"));
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 16), now).is_some(), "a day to come");
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 9), now).is_some(), "today still");
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 2), now).is_none(), "a day gone by");
    }
}
