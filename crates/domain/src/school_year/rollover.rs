//! The rollover: when the town says (after the last day of school), the school year closes.
//! Each child's level moves on (CM2 leaves the school units: the activities with a unit run on
//! school days), the closing year's enrolments end on its last day, the new year's enrolments
//! (the campaign's answers sent) begin on its first day, and documents valid for the closing
//! year lapse. [`plan`] says what will change for a child (the dry run lists it per family);
//! [`apply`] makes the change. Both are idempotent: a child whose level is not of the closing
//! year is not moved again, an enrolment already ended or begun is left as is.

use super::{Campaign, ChildLevel, DocFact, FamilyEnrolment, Level, SchoolYear};
use crate::calendar::DayKind;
use crate::config::Town;
use crate::documents::Status as DocStatus;
use crate::family::{Child, Enrollment};
use crate::{ActivityId, ChildId};
use serde::Serialize;

/// What happens to a child's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum LevelChange {
    Moves {
        from: Level,
        to: Level,
    },
    /// After CM2: leaves the school units.
    Leaves {
        from: Level,
    },
    /// No level, or a level of another year (moved already).
    Unchanged,
}

/// What the rollover changes for one child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildChange {
    pub child: ChildId,
    pub first_name: String,
    pub level: LevelChange,
    /// Enrolments that run past the closing year, ended on its last day.
    pub ended: Vec<ActivityId>,
    /// The new year's enrolments that begin.
    pub started: Vec<ActivityId>,
    /// Documents of the child (or family) whose validity ends with the closing year.
    pub lapsing: Vec<String>,
}

impl ChildChange {
    pub fn is_empty(&self) -> bool {
        self.level == LevelChange::Unchanged && self.ended.is_empty() && self.started.is_empty()
    }
}

/// Whether an activity is a school unit (one of its units runs on school days).
fn school_unit(town: &Town, activity: &ActivityId) -> bool {
    town.config()
        .activities
        .iter()
        .find(|a| &a.id == activity)
        .is_some_and(|a| a.units.iter().any(|u| u.runs_on.contains(&DayKind::SchoolDay)))
}

/// The new enrolments for the year: the activities sent in the campaign, at the site the child
/// had for it (else the activity's first site); none in a school unit for a leaver.
fn new_enrolments(
    town: &Town,
    new: SchoolYear,
    child: &Child,
    answer: Option<&FamilyEnrolment>,
    leaves: bool,
) -> Vec<Enrollment> {
    let Some(activities) = answer.filter(|e| e.submitted_at.is_some()).and_then(|e| e.answer(&child.id)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for activity in &activities.activities {
        if leaves && school_unit(town, activity) {
            continue;
        }
        let Some(config) = town.config().activities.iter().find(|a| &a.id == activity) else { continue };
        let had = child.enrolments.iter().rev().find(|e| &e.activity == activity && config.sites.contains(&e.site));
        let Some(site) = had.map(|e| e.site.clone()).or_else(|| config.sites.first().cloned()) else { continue };
        let units = had.map(|e| e.units.clone()).unwrap_or_default();
        out.push(Enrollment {
            activity: activity.clone(),
            site,
            units,
            from: new.first_day(),
            to: new.last_day(),
            hold: None,
        });
    }
    out
}

/// What the rollover from `closing` changes for the child. `campaign` is the new year's (its
/// answers only count when it is for `closing.next()`).
pub fn plan(
    town: &Town,
    closing: SchoolYear,
    child: &Child,
    campaign: Option<(&Campaign, Option<&FamilyEnrolment>)>,
    docs: &[DocFact],
) -> ChildChange {
    let level = match child.level.map(|l| (l, l.roll(closing))) {
        Some((from, Ok(Some(to)))) => LevelChange::Moves { from: from.level, to: to.level },
        Some((from, Ok(None))) => LevelChange::Leaves { from: from.level },
        _ => LevelChange::Unchanged,
    };
    let last = closing.last_day();
    let ended = child.enrolments.iter().filter(|e| e.from <= last && e.to > last).map(|e| e.activity.clone()).collect();
    let answer = campaign.filter(|(c, _)| c.year == closing.next()).and_then(|(_, e)| e);
    let started = new_enrolments(town, closing.next(), child, answer, matches!(level, LevelChange::Leaves { .. }))
        .into_iter()
        .filter(|n| !child.enrolments.iter().any(|e| e.activity == n.activity && e.from == n.from))
        .map(|e| e.activity)
        .collect();
    let lapsing = docs
        .iter()
        .filter(|d| d.child.as_ref().is_none_or(|c| c == &child.id) && d.status == DocStatus::Accepted)
        .filter(|d| d.valid_until.is_some_and(|v| closing.contains(v)))
        .map(|d| town.config().documents.kind(&d.kind).map_or_else(|| d.kind.to_string(), |k| k.name.clone()))
        .collect();
    ChildChange { child: child.id.clone(), first_name: child.first_name.clone(), level, ended, started, lapsing }
}

/// The child after the rollover from `closing`; `None` when nothing changes (run already). The
/// new enrolments are held while the file lacks `gaps` where the town requires it complete.
pub fn apply(
    town: &Town,
    closing: SchoolYear,
    child: &Child,
    campaign: Option<(&Campaign, Option<&FamilyEnrolment>)>,
    gaps: &[super::Gap],
) -> Option<Child> {
    let change = plan(town, closing, child, campaign, &[]);
    if change.is_empty() {
        return None;
    }
    let mut after = child.clone();
    after.level = match change.level {
        LevelChange::Moves { to, .. } => Some(ChildLevel { level: to, year: closing.next() }),
        LevelChange::Leaves { .. } => None,
        LevelChange::Unchanged => child.level,
    };
    let last = closing.last_day();
    for e in after.enrolments.iter_mut().filter(|e| e.from <= last && e.to > last) {
        e.to = last;
    }
    let answer = campaign.filter(|(c, _)| c.year == closing.next()).and_then(|(_, e)| e);
    let leaves = matches!(change.level, LevelChange::Leaves { .. });
    for n in new_enrolments(town, closing.next(), child, answer, leaves) {
        if change.started.contains(&n.activity) {
            after.enrolments.push(n);
        }
    }
    match campaign.filter(|(c, _)| c.year == closing.next()) {
        Some((c, e)) => Some(super::with_holds(c, e, &after, gaps).unwrap_or(after)),
        None => Some(after),
    }
}

#[cfg(test)]
#[path = "rollover_tests.rs"]
mod tests;
