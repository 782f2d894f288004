//! What staff see at work: the allergy / PAI mark next to a child on the register and the
//! kitchen's list, with what to do; and how a validated file feeds the child's record (the
//! diet the kitchen counts, the PAI flag, the health notes the register shows).

use super::{AllergyKind, ChildFile};
use crate::family::Diet;
use chrono::NaiveDate;
use serde::Serialize;

/// The mark next to a child: the allergies and the PAI in force, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthMark {
    /// « arachide (alimentaire) ».
    pub allergies: Vec<String>,
    /// The PAI's end date, when one is in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pai_until: Option<NaiveDate>,
    /// What to do, one line per allergy and the PAI.
    pub what_to_do: Vec<String>,
}

/// The mark of a validated file on `day`; `None` when there is nothing to flag.
pub fn mark(file: &ChildFile, day: NaiveDate) -> Option<HealthMark> {
    let h = &file.health;
    let pai = file.pai_on(day);
    if h.allergies.is_empty() && pai.is_none() {
        return None;
    }
    let mut what_to_do: Vec<String> =
        h.allergies.iter().map(|a| format!("{}\u{202f}: {}", a.name, a.what_to_do)).collect();
    if let Some(p) = pai {
        what_to_do.push(format!("PAI\u{202f}: {}", p.reason));
    }
    Some(HealthMark {
        allergies: h.allergies.iter().map(|a| format!("{} ({})", a.name, a.kind.label())).collect(),
        pai_until: pai.map(|p| p.ends),
        what_to_do,
    })
}

/// What a validated file sets on the child's record on `day`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fed {
    pub diet: Diet,
    pub pai: bool,
    pub health_notes: Option<String>,
}

/// The child's record's health facts from a validated file: its diet, whether a PAI is in
/// force, and notes (« Allergie alimentaire : arachide. PAI jusqu’au 06/07/2027. »), cut to the
/// record's 1,000 characters.
pub fn feed(file: &ChildFile, day: NaiveDate) -> Fed {
    let mut notes: Vec<String> = file
        .health
        .allergies
        .iter()
        .map(|a| match a.kind {
            AllergyKind::Other => format!("Allergie\u{202f}: {}.", a.name),
            k => format!("Allergie {}\u{202f}: {}.", k.label(), a.name),
        })
        .collect();
    let pai = file.pai_on(day);
    if let Some(p) = pai {
        notes.push(format!("PAI jusqu’au {}.", crate::fr::date(p.ends)));
    }
    let text: String = notes.join(" ").chars().take(1000).collect();
    Fed { diet: file.health.diet, pai: pai.is_some(), health_notes: Some(text).filter(|t| !t.is_empty()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_file::{Allergy, Pai};
    use crate::testkit::d;

    fn lea() -> ChildFile {
        let mut f = ChildFile::default();
        f.health.allergies.push(Allergy {
            kind: AllergyKind::Food,
            name: "arachide".into(),
            what_to_do: "aucun aliment à l’arachide ; stylo d’adrénaline dans son sac".into(),
        });
        f.health.pai = Some(Pai { reason: "allergie sévère".into(), ends: d(2027, 7, 6), document: None });
        f.health.diet = Diet::SansPorc;
        f
    }

    #[test]
    fn an_allergy_and_a_pai_make_a_mark_with_what_to_do() {
        let m = mark(&lea(), d(2027, 1, 4)).unwrap();
        assert_eq!(m.allergies, ["arachide (alimentaire)"]);
        assert_eq!(m.pai_until, Some(d(2027, 7, 6)));
        assert_eq!(m.what_to_do[0], "arachide\u{202f}: aucun aliment à l’arachide ; stylo d’adrénaline dans son sac");
        assert_eq!(m.what_to_do[1], "PAI\u{202f}: allergie sévère");
        assert_eq!(mark(&ChildFile::default(), d(2027, 1, 4)), None, "nothing to flag");
    }

    #[test]
    fn the_validated_file_feeds_diet_pai_and_notes_and_a_lapsed_pai_is_no_flag() {
        let fed = feed(&lea(), d(2027, 1, 4));
        assert_eq!((fed.diet, fed.pai), (Diet::SansPorc, true));
        assert_eq!(
            fed.health_notes.as_deref(),
            Some("Allergie alimentaire\u{202f}: arachide. PAI jusqu’au 06/07/2027.")
        );
        let after = feed(&lea(), d(2027, 7, 7));
        assert!(!after.pai);
        assert_eq!(after.health_notes.as_deref(), Some("Allergie alimentaire\u{202f}: arachide."));
        assert_eq!(feed(&ChildFile::default(), d(2027, 1, 4)).health_notes, None);
    }
}
