//! What a file still lacks for a town's requirements on a day: the campaign says it
//! (« Dossier 2027-2028 incomplet : assurance manquante ») and may hold bookings back until
//! nothing is missing.

use super::{ChildFile, ConsentKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The parts of the file a town requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// The family doctor, and a PAI (if any) still in force.
    #[serde(default)]
    pub health: bool,
    /// The DTP booster's date.
    #[serde(default)]
    pub vaccination: bool,
    /// At least one emergency contact.
    #[serde(default)]
    pub people: bool,
    /// An insurance valid on the day.
    #[serde(default)]
    pub insurance: bool,
    /// The consents that must be answered (yes or no).
    #[serde(default)]
    pub consents: Vec<ConsentKind>,
}

/// A part the file lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "part", content = "consent", rename_all = "snake_case")]
pub enum MissingPart {
    Doctor,
    PaiExpired,
    DtpBooster,
    EmergencyContact,
    Insurance,
    InsuranceExpired,
    Consent(ConsentKind),
}

impl MissingPart {
    /// For the guardian, after « incomplet : »: « assurance manquante ».
    pub fn label(self) -> String {
        match self {
            MissingPart::Doctor => "médecin traitant manquant".into(),
            MissingPart::PaiExpired => "PAI expiré".into(),
            MissingPart::DtpBooster => "rappel DTP manquant".into(),
            MissingPart::EmergencyContact => "contact d’urgence manquant".into(),
            MissingPart::Insurance => "assurance manquante".into(),
            MissingPart::InsuranceExpired => "assurance expirée".into(),
            MissingPart::Consent(kind) => format!("autorisation manquante ({})", kind.label()),
        }
    }
}

/// What `file` lacks for `req` on `on`, in the file's order (none: complete).
pub fn missing(file: &ChildFile, req: &Requirements, on: NaiveDate) -> Vec<MissingPart> {
    let mut out = Vec::new();
    if req.health {
        if file.health.doctor.is_none() {
            out.push(MissingPart::Doctor);
        }
        if file.health.pai.as_ref().is_some_and(|p| p.ends < on) {
            out.push(MissingPart::PaiExpired);
        }
    }
    if req.vaccination && file.health.dtp_booster.is_none() {
        out.push(MissingPart::DtpBooster);
    }
    if req.people && file.people.emergency.is_empty() {
        out.push(MissingPart::EmergencyContact);
    }
    for kind in &req.consents {
        if file.consent(*kind).is_none() && !out.contains(&MissingPart::Consent(*kind)) {
            out.push(MissingPart::Consent(*kind));
        }
    }
    if req.insurance {
        match &file.insurance {
            None => out.push(MissingPart::Insurance),
            Some(i) if i.valid_until < on => out.push(MissingPart::InsuranceExpired),
            Some(_) => {}
        }
    }
    out
}

/// « assurance manquante, rappel DTP manquant »: the labels joined, for one line.
pub fn labels(parts: &[MissingPart]) -> String {
    parts.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_file::{Consent, Doctor, Insurance, Pai, Person};
    use crate::testkit::d;

    fn everything() -> Requirements {
        Requirements {
            health: true,
            vaccination: true,
            people: true,
            insurance: true,
            consents: vec![ConsentKind::EmergencyCare, ConsentKind::Outings],
        }
    }

    #[test]
    fn an_empty_file_lacks_every_required_part_in_order() {
        let got = missing(&ChildFile::default(), &everything(), d(2027, 9, 1));
        assert_eq!(
            labels(&got),
            "médecin traitant manquant, rappel DTP manquant, contact d’urgence manquant, autorisation manquante (soins d’urgence et hospitalisation), autorisation manquante (sorties), assurance manquante"
        );
        assert!(missing(&ChildFile::default(), &Requirements::default(), d(2027, 9, 1)).is_empty(), "nothing required");
    }

    /// Worked case: Léa's file on 1 September 2027 with an insurance that ended on 31 August
    /// and a PAI that ended in July; a « no » to outings is an answer, not a gap.
    #[test]
    fn lapsed_insurance_and_pai_are_missing_but_a_refused_consent_is_not() {
        let mut f = ChildFile::default();
        f.health.doctor = Some(Doctor { name: "Dr Morel".into(), phone: "01 23 45 67 89".into() });
        f.health.dtp_booster = Some(d(2022, 3, 1));
        f.health.pai = Some(Pai { reason: "arachide".into(), ends: d(2027, 7, 6), document: None });
        f.people.emergency.push(Person {
            name: "Jeanne".into(),
            relationship: "grand-mère".into(),
            phone: "06 12 34 56 78".into(),
        });
        for (kind, given) in [(ConsentKind::EmergencyCare, true), (ConsentKind::Outings, false)] {
            f.consents.push(Consent { kind, given, on: Some(d(2027, 6, 1)), by: Some("sophie".into()) });
        }
        f.insurance = Some(Insurance {
            insurer: "MAE".into(),
            policy: "123".into(),
            valid_until: d(2027, 8, 31),
            document: None,
        });
        assert_eq!(missing(&f, &everything(), d(2027, 9, 1)), [MissingPart::PaiExpired, MissingPart::InsuranceExpired]);
        assert_eq!(missing(&f, &everything(), d(2027, 7, 6)), []);
        assert_eq!(MissingPart::Insurance.label(), "assurance manquante");
    }
}
