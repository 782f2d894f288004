use super::*;
use crate::Refusal;
use crate::child_file::{Allergy, AllergyKind, Consent, Doctor, Forbidden, Insurance, Pai, Person};
use crate::testkit::d;
use serde_json::json;

fn settings() -> ChildFileSettings {
    ChildFileSettings::default()
}

fn ctx(s: &ChildFileSettings) -> Context<'_> {
    Context { today: d(2027, 6, 1), birth_date: d(2016, 3, 14), settings: s }
}

fn person(name: &str, phone: &str) -> Person {
    Person { name: name.into(), relationship: "grand-mère".into(), phone: phone.into() }
}

/// Léa's file as Sophie types it: spaces around, phones written three ways.
fn typed() -> ChildFile {
    let mut f = ChildFile::default();
    f.health.allergies.push(Allergy {
        kind: AllergyKind::Food,
        name: " arachide ".into(),
        what_to_do: "éviction".into(),
    });
    f.health.pai = Some(Pai { reason: "allergie".into(), ends: d(2027, 7, 6), document: Some("doc-12".into()) });
    f.health.doctor = Some(Doctor { name: "Dr Morel".into(), phone: "+33 1 23 45 67 89".into() });
    f.health.dtp_booster = Some(d(2022, 3, 1));
    f.health.treatment = Some("  ".into());
    f.people.pickup.push(person("Jeanne Martin", "06.12.34.56.78"));
    f.people.emergency.push(person("Paul Martin", "0712345678"));
    f.consents.push(Consent { kind: ConsentKind::Outings, given: true, on: None, by: None });
    f.insurance =
        Some(Insurance { insurer: "MAE".into(), policy: "A-123".into(), valid_until: d(2027, 8, 31), document: None });
    f
}

fn refused(f: ChildFile) -> (String, String, &'static str) {
    let s = settings();
    let e = f.checked(ctx(&s)).expect_err("refused");
    (e.field().unwrap_or_default(), e.french(), e.code())
}

#[test]
fn a_good_file_is_trimmed_and_its_phones_written_one_way() {
    let s = settings();
    let f = typed().checked(ctx(&s)).unwrap();
    assert_eq!(f.health.allergies[0].name, "arachide");
    assert_eq!(f.health.doctor.unwrap().phone, "01 23 45 67 89");
    assert_eq!(f.people.pickup[0].phone, "06 12 34 56 78");
    assert_eq!(f.people.emergency[0].phone, "07 12 34 56 78");
    assert_eq!(f.health.treatment, None, "blank is none");
}

#[test]
fn a_pickup_person_without_a_name_or_a_phone_is_refused_naming_the_field() {
    let mut f = typed();
    f.people.pickup.push(person("  ", "06 12 34 56 78"));
    assert_eq!(refused(f).0, "people.pickup[1].name");
    let mut f = typed();
    f.people.pickup[0].phone = "12".into();
    let (field, text, code) = refused(f);
    assert_eq!((field.as_str(), code), ("people.pickup[0].phone", "invalid_phone"));
    assert!(text.contains("06 12 34 56 78"), "{text}");
}

#[test]
fn lists_are_bounded() {
    let mut f = typed();
    f.people.pickup = vec![person("A", "0612345678"); MAX_PICKUP + 1];
    assert_eq!(refused(f), ("people.pickup".into(), "6 au plus dans cette liste.".into(), "too_many_entries"));
    let mut f = typed();
    let a = f.health.allergies[0].clone();
    f.health.allergies = vec![a; MAX_ALLERGIES + 1];
    assert_eq!(refused(f).0, "health.allergies");
}

#[test]
fn texts_are_bounded_and_clean() {
    let mut f = typed();
    f.health.allergies[0].what_to_do = "x".repeat(MAX_LONG + 1);
    assert_eq!(refused(f).2, "field_too_long");
    let mut f = typed();
    f.insurance.as_mut().unwrap().insurer = "MAE\u{202E}".into();
    assert_eq!(refused(f).0, "insurance.insurer");
    let mut f = typed();
    f.people.forbidden.push(Forbidden {
        name: "X".into(),
        court_decision: "".into(),
        document: None,
        declared_by: None,
    });
    assert_eq!(
        refused(f),
        ("people.forbidden[0].court_decision".into(), "Ce champ est obligatoire.".into(), "field_required")
    );
    let mut f = typed();
    f.health.pai.as_mut().unwrap().document = Some("../etc".into());
    assert_eq!(refused(f).0, "health.pai.document");
}

#[test]
fn dates_are_held_to_their_range() {
    let mut f = typed();
    f.health.dtp_booster = Some(d(2015, 1, 1));
    let (field, text, code) = refused(f);
    assert_eq!((field.as_str(), code), ("health.dtp_booster", "date_out_of_range"));
    assert_eq!(text, "Cette date doit être entre le 14/03/2016 et le 01/06/2027.", "from birth to today");
    let mut f = typed();
    f.health.dtp_booster = Some(d(2027, 6, 2));
    assert_eq!(refused(f).0, "health.dtp_booster", "not in the future");
    let mut f = typed();
    f.insurance.as_mut().unwrap().valid_until = d(2033, 1, 1);
    assert_eq!(refused(f).0, "insurance.valid_until");
    let mut f = typed();
    f.health.pai.as_mut().unwrap().ends = d(2020, 1, 1);
    assert_eq!(refused(f).0, "health.pai.ends");
}

#[test]
fn a_consent_is_answered_once_and_going_home_alone_waits_for_the_towns_age() {
    let mut f = typed();
    f.consents.push(Consent { kind: ConsentKind::Outings, given: false, on: None, by: None });
    assert_eq!(refused(f).0, "consents[1]");
    let young = Consent { kind: ConsentKind::GoHomeAlone, given: true, on: None, by: None };
    let mut f = typed();
    f.consents.push(young.clone());
    let s = ChildFileSettings { home_alone_from_age: 12, ..settings() };
    let e = f.clone().checked(ctx(&s)).unwrap_err();
    assert_eq!(
        (e.field().unwrap(), e.french()),
        ("consents[1]".into(), "L’enfant ne peut rentrer seul qu’à partir de 12 ans.".into())
    );
    assert!(f.checked(ctx(&settings())).is_ok(), "11 years old, the default age is 8");
    let mut f = typed();
    f.consents.push(Consent { given: false, ..young });
    assert!(f.checked(ctx(&s)).is_ok(), "a « no » needs no age");
}

#[test]
fn ages_count_whole_years() {
    assert_eq!(age_on(d(2016, 3, 14), d(2024, 3, 13)), 7);
    assert_eq!(age_on(d(2016, 3, 14), d(2024, 3, 14)), 8);
    assert_eq!(age_on(d(2016, 3, 14), d(2010, 1, 1)), 0);
}

#[test]
fn unknown_fields_are_refused_when_read() {
    let bad = json!({"health": {"allergies": [], "blood": "A+"}});
    assert!(serde_json::from_value::<ChildFile>(bad).is_err());
}
