//! A family's answer to a campaign, what a child's file lacks for the year, each child's status
//! on the staff dashboard, and whether a booking of the year is open to a child.

use super::{Campaign, Requirement, SchoolYear};
use crate::config::Town;
use crate::documents::Status as DocStatus;
use crate::family::{Child, Email, Family};
use crate::{ActivityId, ChildId, DocKindId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest reason staff give when they ask for corrections.
pub const MAX_REASON_CHARS: usize = 500;

/// A guardian's answer for one child: confirmed (the file's data still right) and the
/// activities the child is enrolled in for the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildAnswer {
    pub child: ChildId,
    #[serde(default)]
    pub confirmed: bool,
    #[serde(default)]
    pub activities: Vec<ActivityId>,
}

/// The town's rules (« règlement intérieur ») accepted for the year: the version, who, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesAccepted {
    pub version: String,
    pub by: Email,
    pub at: DateTime<Utc>,
}

/// Staff's word on a submitted enrolment: corrections asked, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A family's enrolment for a school year, kept as the guardian goes (resumable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyEnrolment {
    pub year: SchoolYear,
    pub children: Vec<ChildAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulesAccepted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrections: Option<Review>,
    pub version: u64,
}

/// What a guardian sends at each step: the answers so far, the rules' version accepted, and
/// whether to submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInput {
    pub children: Vec<ChildAnswer>,
    #[serde(default)]
    pub accept_rules: Option<String>,
    #[serde(default)]
    pub submit: bool,
}

/// Why an enrolment is refused; the field names where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentRefused {
    #[error("les inscriptions {0} ne sont pas ouvertes")]
    Closed(SchoolYear),
    #[error("cet enfant n'est pas de la famille")]
    UnknownChild(usize),
    #[error("chaque enfant de la famille est nommé une fois")]
    Children,
    #[error("l'activité « {1} » n'est pas proposée cette année")]
    NotOffered(usize, usize, String),
    #[error("le règlement à accepter est la version « {0} »")]
    RulesVersion(String),
    #[error("confirmez chaque enfant et acceptez le règlement avant d'envoyer")]
    Incomplete,
    #[error("le motif compte de 1 à {MAX_REASON_CHARS} caractères")]
    Reason,
    #[error("cette inscription n'a pas été envoyée")]
    NotSubmitted,
}

impl crate::Refusal for EnrolmentRefused {
    fn code(&self) -> &'static str {
        match self {
            EnrolmentRefused::Closed(_) => "campaign_closed",
            EnrolmentRefused::UnknownChild(_) => "unknown_child",
            EnrolmentRefused::Children => "invalid_children",
            EnrolmentRefused::NotOffered(..) => "activity_not_offered",
            EnrolmentRefused::RulesVersion(_) => "invalid_rules_version",
            EnrolmentRefused::Incomplete => "enrolment_incomplete",
            EnrolmentRefused::Reason => "invalid_reason",
            EnrolmentRefused::NotSubmitted => "enrolment_not_submitted",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            EnrolmentRefused::UnknownChild(i) => Some(format!("children[{i}].child")),
            EnrolmentRefused::Children => Some("children".into()),
            EnrolmentRefused::NotOffered(i, j, _) => Some(format!("children[{i}].activities[{j}]")),
            EnrolmentRefused::RulesVersion(_) => Some("accept_rules".into()),
            EnrolmentRefused::Incomplete => Some("submit".into()),
            EnrolmentRefused::Reason => Some("reason".into()),
            EnrolmentRefused::Closed(_) | EnrolmentRefused::NotSubmitted => None,
        }
    }
    fn kind(&self) -> crate::Kind {
        match self {
            EnrolmentRefused::Closed(_) | EnrolmentRefused::NotSubmitted => crate::Kind::Conflict,
            _ => crate::Kind::Invalid,
        }
    }
}

impl EnrolmentInput {
    /// The family's enrolment after this step. The rules stay accepted once accepted (by whom
    /// and when the first time); a submission clears corrections asked.
    pub fn apply(
        self,
        before: Option<FamilyEnrolment>,
        campaign: &Campaign,
        family: &Family,
        (by, now, today): (&Email, DateTime<Utc>, NaiveDate),
    ) -> Result<FamilyEnrolment, EnrolmentRefused> {
        if !campaign.is_open(today) {
            return Err(EnrolmentRefused::Closed(campaign.year));
        }
        if self.children.len() > family.children.len() {
            return Err(EnrolmentRefused::Children);
        }
        for (i, answer) in self.children.iter().enumerate() {
            if !family.children.contains(&answer.child) {
                return Err(EnrolmentRefused::UnknownChild(i));
            }
            if self.children[..i].iter().any(|a| a.child == answer.child) {
                return Err(EnrolmentRefused::Children);
            }
            for (j, activity) in answer.activities.iter().enumerate() {
                if campaign.offer(activity).is_none() || answer.activities[..j].contains(activity) {
                    return Err(EnrolmentRefused::NotOffered(i, j, activity.to_string()));
                }
            }
        }
        let previous_rules = before.as_ref().and_then(|b| b.rules.clone());
        let rules = match self.accept_rules {
            Some(v) if v.trim() != campaign.input.rules_version => {
                return Err(EnrolmentRefused::RulesVersion(campaign.input.rules_version.clone()));
            }
            Some(version) => previous_rules.filter(|r| r.version == version.trim()).or(Some(RulesAccepted {
                version: version.trim().to_owned(),
                by: by.clone(),
                at: now,
            })),
            None => previous_rules.filter(|r| r.version == campaign.input.rules_version),
        };
        let mut after = FamilyEnrolment {
            year: campaign.year,
            children: self.children,
            rules,
            submitted_at: before.as_ref().and_then(|b| b.submitted_at),
            corrections: before.as_ref().and_then(|b| b.corrections.clone()),
            version: before.as_ref().map_or(1, |b| b.version + 1),
        };
        if self.submit {
            let all = family.children.iter().all(|c| after.children.iter().any(|a| &a.child == c && a.confirmed));
            if !all || after.rules.is_none() {
                return Err(EnrolmentRefused::Incomplete);
            }
            after.submitted_at = Some(now);
            after.corrections = None;
        }
        Ok(after)
    }
}

impl FamilyEnrolment {
    pub fn answer(&self, child: &ChildId) -> Option<&ChildAnswer> {
        self.children.iter().find(|a| &a.child == child)
    }

    /// Whether the child is enrolled in `activity` for the year (the enrolment sent).
    pub fn enrols(&self, child: &ChildId, activity: &ActivityId) -> bool {
        self.submitted_at.is_some() && self.answer(child).is_some_and(|a| a.activities.contains(activity))
    }

    /// Staff ask for corrections: the family sees the reason and submits again.
    pub fn ask_corrections(mut self, reason: &str, by: &str, now: DateTime<Utc>) -> Result<Self, EnrolmentRefused> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS || crate::text::check(reason).is_err() {
            return Err(EnrolmentRefused::Reason);
        }
        if self.submitted_at.is_none() {
            return Err(EnrolmentRefused::NotSubmitted);
        }
        self.corrections = Some(Review { reason: reason.to_owned(), by: by.to_owned(), at: now });
        self.version += 1;
        Ok(self)
    }

    /// The step a guardian resumes at: the first child not confirmed, then the rules, then
    /// sending; `done` once sent (and no correction asked).
    pub fn next_step(&self, family: &Family) -> &'static str {
        if family.children.iter().any(|c| !self.answer(c).is_some_and(|a| a.confirmed)) {
            "children"
        } else if self.rules.is_none() {
            "rules"
        } else if self.submitted_at.is_none() || self.corrections.is_some() {
            "submit"
        } else {
            "done"
        }
    }
}

/// A document as the campaign sees it: whose, which kind, its state and validity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocFact {
    #[serde(default)]
    pub child: Option<ChildId>,
    pub kind: DocKindId,
    pub status: DocStatus,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// Something a child's file lacks for the year: `pending` when it is there, waiting for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// « attestation d’assurance manquante », « règlement intérieur non accepté ».
    pub label: String,
    pub pending: bool,
}

/// What a child's enrolment lacks for the campaign's year apart from its structured file: the
/// rules not accepted, and each document an activity the child is enrolled in requires, missing
/// (or expired before the year's first day) or waiting for staff. The structured file's gaps
/// (health, people, consents, insurance) are [`super::child_file_gaps`]; the `schoolyear`
/// function asks both in one place (`services::school_year::gaps_of_child`).
pub fn file_gaps(
    campaign: &Campaign,
    enrolment: Option<&FamilyEnrolment>,
    child: &Child,
    docs: &[DocFact],
    town: &Town,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    if enrolment.and_then(|e| e.rules.as_ref()).is_none_or(|r| r.version != campaign.input.rules_version) {
        gaps.push(Gap { label: "règlement intérieur non accepté".into(), pending: false });
    }
    let first = campaign.year.first_day();
    let activities = enrolment.and_then(|e| e.answer(&child.id)).map(|a| a.activities.as_slice()).unwrap_or_default();
    let mut kinds: Vec<&DocKindId> = Vec::new();
    for offer in activities.iter().filter_map(|a| campaign.offer(a)) {
        for Requirement::Document { kind } in &offer.requires {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    for kind in kinds {
        let name = town.config().documents.kind(kind).map_or_else(|| kind.to_string(), |k| k.name.replace('\'', "’"));
        let name = lower_first(&name);
        let usable = |d: &&DocFact| {
            &d.kind == kind
                && d.child.as_ref().is_none_or(|c| c == &child.id)
                && d.valid_until.is_none_or(|v| v >= first)
        };
        let mine: Vec<&DocFact> = docs.iter().filter(usable).collect();
        if mine.iter().any(|d| d.status == DocStatus::Accepted) {
            continue;
        }
        if mine.iter().any(|d| d.status == DocStatus::Pending) {
            gaps.push(Gap { label: format!("{name} à vérifier"), pending: true });
        } else {
            gaps.push(Gap { label: format!("{name} manquante"), pending: false });
        }
    }
    gaps
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_lowercase().chain(c).collect())
}

/// A child's place on the campaign's dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The family has not started.
    NotStarted,
    /// Started, not sent.
    InProgress,
    /// Staff asked for corrections.
    CorrectionsAsked,
    /// Sent, a document (or the rules) missing.
    WaitingForDocument,
    /// Sent, a document waiting for staff.
    ToCheck,
    Complete,
}

impl Status {
    pub fn french(self) -> &'static str {
        match self {
            Status::NotStarted => "non commencé",
            Status::InProgress => "en cours",
            Status::CorrectionsAsked => "corrections demandées",
            Status::WaitingForDocument => "en attente d’un document",
            Status::ToCheck => "à vérifier",
            Status::Complete => "complet",
        }
    }

    /// Whether the family still has something to do (reminders go to these).
    pub fn needs_action(self) -> bool {
        matches!(self, Status::NotStarted | Status::InProgress | Status::CorrectionsAsked | Status::WaitingForDocument)
    }
}

/// A child's status from the family's enrolment and the child's gaps.
pub fn status(enrolment: Option<&FamilyEnrolment>, gaps: &[Gap]) -> Status {
    match enrolment {
        None => Status::NotStarted,
        Some(e) if e.submitted_at.is_none() => Status::InProgress,
        Some(e) if e.corrections.is_some() => Status::CorrectionsAsked,
        Some(_) if gaps.iter().any(|g| !g.pending) => Status::WaitingForDocument,
        Some(_) if !gaps.is_empty() => Status::ToCheck,
        Some(_) => Status::Complete,
    }
}

/// Whether a booking of `activity` on `date` is open to the child as far as the campaign goes:
/// `Err` holds what the cell says. Dates outside the campaign's year, and activities it does
/// not offer, are not its business.
pub fn booking_gate(
    campaign: &Campaign,
    enrolment: Option<&FamilyEnrolment>,
    child: &ChildId,
    activity: &ActivityId,
    date: NaiveDate,
    gaps: &[Gap],
) -> Result<(), String> {
    if !campaign.year.contains(date) || campaign.offer(activity).is_none() {
        return Ok(());
    }
    if !enrolment.is_some_and(|e| e.enrols(child, activity)) {
        return Err(format!("Non inscrit pour {}", campaign.year));
    }
    if campaign.input.file_required && !gaps.is_empty() {
        let what: Vec<&str> = gaps.iter().map(|g| g.label.as_str()).collect();
        return Err(format!("Dossier {} incomplet\u{202f}: {}", campaign.year, what.join(", ")));
    }
    Ok(())
}

/// The child with the holds of its enrolments of the campaign's year as the gate says
/// (« Dossier 2027-2028 incomplet : … », or none); `None` when they are already so.
pub fn with_holds(
    campaign: &Campaign,
    enrolment: Option<&FamilyEnrolment>,
    child: &Child,
    gaps: &[Gap],
) -> Option<Child> {
    let mut after = child.clone();
    for e in after.enrolments.iter_mut().filter(|e| campaign.year.contains(e.from)) {
        e.hold = booking_gate(campaign, enrolment, &child.id, &e.activity, e.from, gaps).err();
    }
    (after != *child).then_some(after)
}

#[cfg(test)]
#[path = "enrolment_tests.rs"]
mod tests;
