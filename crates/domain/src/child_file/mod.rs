//! The child's file (« fiche enfant », « fiche sanitaire »): health, the people around the
//! child, the guardians' consents and the insurance, filled by a guardian and checked by staff.
//! [`ChildFile::checked`] is the only way a guardian's input becomes a file (every field bounded
//! and checked, the field named when refused); [`record`] keeps its versions and staff's review,
//! [`diff`] says what changed since staff last validated, [`missing`] what a town's requirements
//! still lack, [`marks`] what staff see at work. The file is stored apart from the child's record
//! (which stays small); the validated file feeds the record's diet, PAI flag and health notes
//! ([`marks::feed`]). [`retention`] says when a file is deleted.

mod check;
pub mod diff;
pub mod marks;
pub mod missing;
mod phone;
pub mod record;
pub mod retention;

use crate::FamilyRef;
use crate::family::Diet;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use check::{Context, FileRefused};
pub use diff::{Change, diff};
pub use missing::{MissingPart, Requirements, missing};
pub use phone::{InvalidPhone, Phone};
pub use record::{FileRecord, FileVersion, ReviewRefused, Status};

/// The most allergies a file lists.
pub const MAX_ALLERGIES: usize = 10;
/// The most authorised pick-up persons (« personnes autorisées à récupérer l'enfant »).
pub const MAX_PICKUP: usize = 6;
/// The most emergency contacts.
pub const MAX_EMERGENCY: usize = 4;
/// The most persons forbidden to pick the child up.
pub const MAX_FORBIDDEN: usize = 4;
/// A name, a relationship, an insurer, a policy number.
pub const MAX_SHORT: usize = 100;
/// What to do, a treatment, notes, a court decision.
pub const MAX_LONG: usize = 1000;

/// The whole file of one child.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildFile {
    #[serde(default)]
    pub health: Health,
    #[serde(default)]
    pub people: People,
    #[serde(default)]
    pub consents: Vec<Consent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance: Option<Insurance>,
}

/// The health part: read only by the staff roles the town names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[serde(default)]
    pub allergies: Vec<Allergy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pai: Option<Pai>,
    #[serde(default)]
    pub diet: Diet,
    /// A regular treatment (« traitement régulier »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor: Option<Doctor>,
    /// The last DTP booster (diphtérie, tétanos, poliomyélite): the legal minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtp_booster: Option<NaiveDate>,
    /// Anything else staff must know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllergyKind {
    Food,
    Medicine,
    Other,
}

impl AllergyKind {
    pub fn label(self) -> &'static str {
        match self {
            AllergyKind::Food => "alimentaire",
            AllergyKind::Medicine => "médicamenteuse",
            AllergyKind::Other => "autre",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allergy {
    pub kind: AllergyKind,
    /// What the child is allergic to: « arachide ».
    pub name: String,
    /// What staff do: « pas d'arachide ; en cas de réaction, stylo d'adrénaline dans le sac ».
    pub what_to_do: String,
}

/// A PAI (projet d'accueil individualisé) and the document that holds it (« Mes demandes »).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pai {
    pub reason: String,
    pub ends: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doctor {
    pub name: String,
    pub phone: String,
}

/// The people part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct People {
    /// Authorised to pick the child up (an identity document is asked at the gate).
    #[serde(default)]
    pub pickup: Vec<Person>,
    #[serde(default)]
    pub emergency: Vec<Person>,
    /// Who must never pick the child up: staff, and the family that declared it, see them.
    #[serde(default)]
    pub forbidden: Vec<Forbidden>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    /// « grand-mère », « voisin »…
    pub relationship: String,
    /// A French number, stored as « 06 12 34 56 78 ».
    pub phone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forbidden {
    pub name: String,
    /// The court decision: its court, date and reference.
    pub court_decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The family whose guardian declared it (set by the server, never by the input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_by: Option<FamilyRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    PhotosInternal,
    PhotosPublication,
    Outings,
    Transport,
    EmergencyCare,
    GoHomeAlone,
}

impl ConsentKind {
    pub const ALL: [ConsentKind; 6] = [
        ConsentKind::PhotosInternal,
        ConsentKind::PhotosPublication,
        ConsentKind::Outings,
        ConsentKind::Transport,
        ConsentKind::EmergencyCare,
        ConsentKind::GoHomeAlone,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ConsentKind::PhotosInternal => "photos (usage interne)",
            ConsentKind::PhotosPublication => "photos (publication)",
            ConsentKind::Outings => "sorties",
            ConsentKind::Transport => "transport en véhicule municipal",
            ConsentKind::EmergencyCare => "soins d’urgence et hospitalisation",
            ConsentKind::GoHomeAlone => "rentrer seul",
        }
    }
}

/// A consent as answered: yes or no, the day and the guardian (both set by the server when the
/// answer changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub kind: ConsentKind,
    pub given: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insurance {
    pub insurer: String,
    pub policy: String,
    pub valid_until: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

impl ChildFile {
    /// The consent of `kind`, if answered.
    pub fn consent(&self, kind: ConsentKind) -> Option<&Consent> {
        self.consents.iter().find(|c| c.kind == kind)
    }

    /// The PAI in force on `day`.
    pub fn pai_on(&self, day: NaiveDate) -> Option<&Pai> {
        self.health.pai.as_ref().filter(|p| p.ends >= day)
    }

    /// The file as a guardian of `family` sees it: the persons forbidden that another family
    /// declared are not shown (a child of separated parents has one file).
    pub fn seen_by_family(&self, family: &FamilyRef) -> ChildFile {
        let mut file = self.clone();
        file.people.forbidden.retain(|f| f.declared_by.as_ref() == Some(family));
        file
    }
}
