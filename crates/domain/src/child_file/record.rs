//! A child's file over time: each change by a guardian is a new version (the last
//! [`KEPT_VERSIONS`] are kept), and staff's review of it: validated, or a correction asked with a
//! reason. What staff check is the difference since the version they last validated.

use super::{ChildFile, Consent, diff::Change};
use crate::{ChildId, FamilyRef};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How many versions of a file are kept: older ones are deleted as new ones come (the version
/// staff last validated is kept whole in the record, whatever its age).
pub const KEPT_VERSIONS: u32 = 20;
/// The longest reason for a correction.
pub const MAX_REASON: usize = 1000;

/// Where staff's review stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Changed by a guardian since staff last looked.
    ToCheck,
    Validated,
    CorrectionAsked {
        reason: String,
    },
}

/// The version staff validated, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validated {
    pub version: u32,
    pub at: DateTime<Utc>,
    pub by: String,
    pub file: ChildFile,
}

/// The file of one child as it stands, with its review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub child: ChildId,
    /// 1 for the first file; each guardian change adds one.
    pub version: u32,
    pub file: ChildFile,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    #[serde(flatten)]
    pub status: Status,
    /// When and by whom the last review was made (validation or correction asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<(DateTime<Utc>, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated: Option<Validated>,
}

/// One version, as kept in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    pub child: ChildId,
    pub version: u32,
    pub file: ChildFile,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// Why staff's review is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefused {
    #[error("La fiche a changé depuis votre lecture (version {current})\u{202f}: relisez-la.")]
    ChangedMeanwhile { current: u32 },
    #[error("Cette version est déjà validée.")]
    AlreadyValidated,
    #[error("Le motif est obligatoire ({MAX_REASON} caractères au plus).")]
    Reason,
}

impl crate::Refusal for ReviewRefused {
    fn code(&self) -> &'static str {
        match self {
            ReviewRefused::ChangedMeanwhile { .. } => "file_changed_meanwhile",
            ReviewRefused::AlreadyValidated => "file_already_validated",
            ReviewRefused::Reason => "invalid_reason",
        }
    }
    fn field(&self) -> Option<String> {
        Some(if matches!(self, ReviewRefused::Reason) { "reason" } else { "version" }.into())
    }
    fn kind(&self) -> crate::Kind {
        match self {
            ReviewRefused::Reason => crate::Kind::Invalid,
            _ => crate::Kind::Conflict,
        }
    }
}

/// Who changes a file, when.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub family: &'a FamilyRef,
    pub by: &'a str,
    pub at: DateTime<Utc>,
    pub today: NaiveDate,
}

impl FileRecord {
    /// A guardian's file (checked) as the next version of `before`. The consents keep their day
    /// and guardian while unchanged, and take today and `author` when answered anew; the persons
    /// forbidden declared by another family stay, the author's family's are replaced. `None`
    /// when nothing changes.
    pub fn update(
        before: Option<&FileRecord>,
        child: &ChildId,
        mut file: ChildFile,
        author: Author<'_>,
    ) -> Option<(FileRecord, FileVersion)> {
        let old = before.map(|r| &r.file);
        for c in &mut file.consents {
            match old.and_then(|o| o.consent(c.kind)).filter(|o| o.given == c.given) {
                Some(kept) => *c = kept.clone(),
                None => *c = Consent { on: Some(author.today), by: Some(author.by.to_owned()), ..c.clone() },
            }
        }
        for f in &mut file.people.forbidden {
            f.declared_by = Some(author.family.clone());
        }
        let others = old.into_iter().flat_map(|o| &o.people.forbidden);
        let others: Vec<_> = others.filter(|f| f.declared_by.as_ref() != Some(author.family)).cloned().collect();
        file.people.forbidden.splice(0..0, others);
        if old == Some(&file) {
            return None;
        }
        let version = before.map_or(1, |r| r.version + 1);
        let record = FileRecord {
            child: child.clone(),
            version,
            file: file.clone(),
            updated_at: author.at,
            updated_by: author.by.to_owned(),
            status: Status::ToCheck,
            reviewed: before.and_then(|r| r.reviewed.clone()),
            validated: before.and_then(|r| r.validated.clone()),
        };
        let kept = FileVersion { child: child.clone(), version, file, at: author.at, by: author.by.to_owned() };
        Some((record, kept))
    }

    /// The version that falls out of the history when `self` is stored.
    pub fn dropped_version(&self) -> Option<u32> {
        self.version.checked_sub(KEPT_VERSIONS).filter(|v| *v > 0)
    }

    /// What changed since staff last validated (everything, before a first validation).
    pub fn changes(&self) -> Vec<Change> {
        let empty = ChildFile::default();
        super::diff(self.validated.as_ref().map_or(&empty, |v| &v.file), &self.file)
    }

    fn seen(&self, version: u32) -> Result<(), ReviewRefused> {
        if version != self.version {
            return Err(ReviewRefused::ChangedMeanwhile { current: self.version });
        }
        Ok(())
    }

    /// Staff validate the version they read.
    pub fn validate(&self, version: u32, by: &str, at: DateTime<Utc>) -> Result<FileRecord, ReviewRefused> {
        self.seen(version)?;
        if self.status == Status::Validated {
            return Err(ReviewRefused::AlreadyValidated);
        }
        let validated = Validated { version, at, by: by.to_owned(), file: self.file.clone() };
        Ok(FileRecord {
            status: Status::Validated,
            reviewed: Some((at, by.to_owned())),
            validated: Some(validated),
            ..self.clone()
        })
    }

    /// Staff ask the guardians to correct the version they read, saying why.
    pub fn ask_correction(
        &self,
        version: u32,
        reason: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<FileRecord, ReviewRefused> {
        self.seen(version)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON || crate::text::check(reason).is_err() {
            return Err(ReviewRefused::Reason);
        }
        Ok(FileRecord {
            status: Status::CorrectionAsked { reason: reason.to_owned() },
            reviewed: Some((at, by.to_owned())),
            ..self.clone()
        })
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
