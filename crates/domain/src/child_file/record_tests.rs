use super::*;
use crate::child_file::{ConsentKind, Forbidden, Person};
use crate::testkit::{at, d, id};

fn author<'a>(family: &'a FamilyRef, by: &'a str, day: u32) -> Author<'a> {
    Author { family, by, at: at(2027, 6, day, 10, 0), today: d(2027, 6, day) }
}

fn consent(kind: ConsentKind, given: bool) -> Consent {
    Consent { kind, given, on: None, by: None }
}

fn forbidden(name: &str) -> Forbidden {
    Forbidden { name: name.into(), court_decision: "JAF Lyon, 3 mai 2026".into(), document: None, declared_by: None }
}

#[test]
fn each_change_is_a_version_and_an_unchanged_file_is_none() {
    let (martin, lea) = (id::<FamilyRef>("martin"), id::<ChildId>("lea-martin"));
    let (r1, v1) = FileRecord::update(None, &lea, ChildFile::default(), author(&martin, "sophie", 1)).unwrap();
    assert_eq!((r1.version, v1.version, r1.status.clone()), (1, 1, Status::ToCheck));
    assert!(FileRecord::update(Some(&r1), &lea, ChildFile::default(), author(&martin, "sophie", 2)).is_none());
    let mut f = ChildFile::default();
    f.people.pickup.push(Person {
        name: "Jeanne".into(),
        relationship: "grand-mère".into(),
        phone: "06 12 34 56 78".into(),
    });
    let (r2, _) = FileRecord::update(Some(&r1), &lea, f, author(&martin, "sophie", 2)).unwrap();
    assert_eq!(r2.version, 2);
    assert_eq!(r2.dropped_version(), None);
    let r22 = FileRecord { version: KEPT_VERSIONS + 2, ..r2 };
    assert_eq!(r22.dropped_version(), Some(2), "the 22nd version drops the 2nd: 20 kept");
}

#[test]
fn a_consent_keeps_its_day_and_guardian_until_its_answer_changes() {
    let (martin, lea) = (id::<FamilyRef>("martin"), id::<ChildId>("lea-martin"));
    let mut f = ChildFile {
        consents: vec![consent(ConsentKind::Outings, true), consent(ConsentKind::PhotosPublication, false)],
        ..ChildFile::default()
    };
    let (r1, _) = FileRecord::update(None, &lea, f.clone(), author(&martin, "sophie", 1)).unwrap();
    assert_eq!(r1.file.consents[0].on, Some(d(2027, 6, 1)));
    assert_eq!(r1.file.consents[0].by.as_deref(), Some("sophie"));
    f.consents[1].given = true;
    let (r2, _) = FileRecord::update(Some(&r1), &lea, f, author(&martin, "marc", 5)).unwrap();
    assert_eq!((r2.file.consents[0].on, r2.file.consents[0].by.as_deref()), (Some(d(2027, 6, 1)), Some("sophie")));
    assert_eq!((r2.file.consents[1].on, r2.file.consents[1].by.as_deref()), (Some(d(2027, 6, 5)), Some("marc")));
}

/// Worked case: Noé's parents are separated (two families, one file). His mother declares a
/// person forbidden; his father's family neither sees it nor can remove it by saving his own.
#[test]
fn a_person_forbidden_by_one_family_is_hidden_from_and_kept_against_the_other() {
    let (bernard, petit, noe) = (id::<FamilyRef>("bernard"), id::<FamilyRef>("petit"), id::<ChildId>("noe"));
    let mut f = ChildFile::default();
    f.people.forbidden.push(forbidden("M. X"));
    let (r1, _) = FileRecord::update(None, &noe, f, author(&bernard, "mere", 1)).unwrap();
    assert_eq!(r1.file.people.forbidden[0].declared_by.as_ref(), Some(&bernard));
    let seen = r1.file.seen_by_family(&petit);
    assert!(seen.people.forbidden.is_empty(), "the other family does not see it");
    let mut theirs = seen;
    theirs.health.notes = Some("lunettes".into());
    let (r2, _) = FileRecord::update(Some(&r1), &noe, theirs, author(&petit, "pere", 2)).unwrap();
    assert_eq!(r2.file.people.forbidden.len(), 1, "still there");
    assert_eq!(r2.file.seen_by_family(&bernard).people.forbidden[0].name, "M. X");
    let (r3, _) = FileRecord::update(
        Some(&r2),
        &noe,
        {
            let mut mine = r2.file.seen_by_family(&bernard);
            mine.people.forbidden.clear();
            mine
        },
        author(&bernard, "mere", 3),
    )
    .unwrap();
    assert!(r3.file.people.forbidden.is_empty(), "its own family may remove it");
}

#[test]
fn staff_validate_the_version_they_read_and_then_see_only_what_changed_since() {
    let (martin, lea) = (id::<FamilyRef>("martin"), id::<ChildId>("lea-martin"));
    let mut f = ChildFile::default();
    f.health.notes = Some("lunettes".into());
    let (r1, _) = FileRecord::update(None, &lea, f.clone(), author(&martin, "sophie", 1)).unwrap();
    assert_eq!(r1.changes().len(), 1, "before any validation, everything is new");
    assert_eq!(r1.validate(0, "agent", at(2027, 6, 2, 9, 0)), Err(ReviewRefused::ChangedMeanwhile { current: 1 }));
    let r1v = r1.validate(1, "agent", at(2027, 6, 2, 9, 0)).unwrap();
    assert_eq!(r1v.status, Status::Validated);
    assert!(r1v.changes().is_empty());
    assert_eq!(r1v.validate(1, "agent", at(2027, 6, 2, 9, 0)), Err(ReviewRefused::AlreadyValidated));
    f.health.notes = Some("lunettes, asthme".into());
    let (r2, _) = FileRecord::update(Some(&r1v), &lea, f, author(&martin, "sophie", 3)).unwrap();
    assert_eq!(r2.status, Status::ToCheck);
    let changes = r2.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, "health.notes");
    assert_eq!(changes[0].before, Some(serde_json::json!("lunettes")));
}

#[test]
fn a_correction_needs_a_reason_and_the_version_read() {
    let (martin, lea) = (id::<FamilyRef>("martin"), id::<ChildId>("lea-martin"));
    let (r1, _) = FileRecord::update(None, &lea, ChildFile::default(), author(&martin, "sophie", 1)).unwrap();
    assert_eq!(r1.ask_correction(1, "  ", "agent", at(2027, 6, 2, 9, 0)), Err(ReviewRefused::Reason));
    assert_eq!(
        r1.ask_correction(1, &"x".repeat(MAX_REASON + 1), "agent", at(2027, 6, 2, 9, 0)),
        Err(ReviewRefused::Reason)
    );
    let asked = r1.ask_correction(1, " Le numéro du médecin manque. ", "agent", at(2027, 6, 2, 9, 0)).unwrap();
    assert_eq!(asked.status, Status::CorrectionAsked { reason: "Le numéro du médecin manque.".into() });
    assert!(asked.validated.is_none());
}
