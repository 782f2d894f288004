use super::*;
use crate::school_year::campaign::tests::input;
use crate::school_year::{ChildAnswer, EnrolmentInput};
use crate::testkit::{at, child, d, family, id, town};

fn y2026() -> SchoolYear {
    SchoolYear::parse("2026-2027").unwrap()
}

fn campaign() -> Campaign {
    input().check(y2026().next(), &town(), d(2027, 5, 1)).unwrap()
}

fn sent(activities: &[&str]) -> FamilyEnrolment {
    let children =
        vec![ChildAnswer { child: id("lea"), confirmed: true, activities: activities.iter().map(|a| id(a)).collect() }];
    let sophie = crate::family::Email::parse("sophie@exemple.fr").unwrap();
    EnrolmentInput { children, accept_rules: Some("2027-v1".into()), submit: true }
        .apply(None, &campaign(), &family(), (&sophie, at(2027, 6, 2, 10, 0), d(2027, 6, 2)))
        .unwrap()
}

fn lea(level: Level) -> Child {
    let mut c = child();
    c.level = Some(ChildLevel { level, year: y2026() });
    c.enrolments[2].to = d(2027, 12, 31); // the centre's enrolment runs past the year
    c
}

#[test]
fn the_plan_says_the_level_the_enrolments_and_the_lapsing_documents() {
    let (t, c) = (town(), campaign());
    let e = sent(&["restauration", "alsh"]);
    let docs = [DocFact {
        child: Some(id("lea")),
        kind: id("assurance"),
        status: DocStatus::Accepted,
        valid_until: Some(d(2027, 8, 31)),
    }];
    let p = plan(&t, y2026(), &lea(Level::CE2), Some((&c, Some(&e))), &docs);
    assert_eq!(p.level, LevelChange::Moves { from: Level::CE2, to: Level::CM1 });
    assert_eq!(p.ended, vec![id::<ActivityId>("alsh")]);
    assert_eq!(p.started, vec![id::<ActivityId>("restauration"), id("alsh")]);
    assert_eq!(p.lapsing, vec!["Attestation d'assurance".to_owned()]);
}

#[test]
fn a_cm2_leaves_the_school_units_but_keeps_the_centre() {
    let (t, c) = (town(), campaign());
    let e = sent(&["restauration", "alsh"]);
    let after = apply(&t, y2026(), &lea(Level::CM2), Some((&c, Some(&e))), &[]).unwrap();
    assert_eq!(after.level, None);
    let new: Vec<&str> =
        after.enrolments.iter().filter(|e| e.from == d(2027, 9, 1)).map(|e| e.activity.as_str()).collect();
    assert_eq!(new, vec!["alsh"]);
    assert!(after.enrolments.iter().all(|e| e.to <= d(2027, 8, 31) || e.from == d(2027, 9, 1)));
}

#[test]
fn running_the_rollover_twice_is_running_it_once() {
    let (t, c) = (town(), campaign());
    let e = sent(&["restauration"]);
    let once = apply(&t, y2026(), &lea(Level::PS), Some((&c, Some(&e))), &[]).unwrap();
    assert_eq!(once.level, Some(ChildLevel { level: Level::MS, year: y2026().next() }));
    let site = &once.enrolments.last().unwrap().site;
    assert_eq!(site.as_str(), "ecole-b", "the site the child had last");
    assert_eq!(apply(&t, y2026(), &once, Some((&c, Some(&e))), &[]), None);
    assert!(plan(&t, y2026(), &once, Some((&c, Some(&e))), &[]).is_empty());
}

#[test]
fn without_an_answer_sent_nothing_begins() {
    let (t, c) = (town(), campaign());
    let mut draft = sent(&["restauration"]);
    draft.submitted_at = None;
    let p = plan(&t, y2026(), &lea(Level::CP), Some((&c, Some(&draft))), &[]);
    assert!(p.started.is_empty());
    let none = plan(&t, y2026(), &child(), None, &[]);
    assert_eq!(none.level, LevelChange::Unchanged);
}

#[test]
fn a_new_enrolment_is_held_while_the_required_file_lacks_something_and_the_cell_says_why() {
    let (t, c) = (town(), campaign());
    let e = sent(&["restauration"]);
    let lea = lea(Level::CP);
    let gaps = crate::school_year::file_gaps(&c, Some(&e), &lea, &[], &t);
    let after = apply(&t, y2026(), &lea, Some((&c, Some(&e))), &gaps).unwrap();
    let held = after.enrolments.last().unwrap();
    assert_eq!(held.hold.as_deref(), Some("Dossier 2027-2028 incomplet\u{202f}: attestation d’assurance manquante"));
    let fam = family();
    let (activity, unit) = t.unit(&id("cantine")).unwrap();
    let site = held.site.clone();
    let facts = crate::cells::CellFacts {
        town: &t,
        activity,
        unit,
        site: &site,
        child: &after,
        family: &fam,
        date: d(2027, 9, 6),
        booking: None,
        taken: 0,
        now: at(2027, 8, 20, 10, 0),
    };
    let cell = crate::cells::cell(&facts);
    assert_eq!(
        cell.state,
        crate::cells::CellState::NotOffered {
            why: crate::config::NotOffered::FileIncomplete {
                detail: "Dossier 2027-2028 incomplet\u{202f}: attestation d’assurance manquante".into()
            }
        }
    );
    let docs =
        [DocFact { child: Some(id("lea")), kind: id("assurance"), status: DocStatus::Accepted, valid_until: None }];
    let complete = crate::school_year::file_gaps(&c, Some(&e), &after, &docs, &t);
    let freed = crate::school_year::with_holds(&c, Some(&e), &after, &complete).unwrap();
    assert!(freed.enrolments.iter().all(|e| e.hold.is_none()));
    assert_eq!(
        crate::cells::cell(&crate::cells::CellFacts { child: &freed, ..facts }).state,
        crate::cells::CellState::Bookable { waiting_list: false }
    );
}
