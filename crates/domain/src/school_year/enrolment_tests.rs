use super::*;
use crate::Refusal;
use crate::school_year::campaign::tests::{input, y2027};
use crate::testkit::{at, child, d, family, id, town};

fn campaign() -> Campaign {
    input().check(y2027(), &town(), d(2027, 5, 1)).unwrap()
}

fn sophie() -> Email {
    Email::parse("sophie@exemple.fr").unwrap()
}

fn answer(activities: &[&str]) -> Vec<ChildAnswer> {
    vec![ChildAnswer { child: id("lea"), confirmed: true, activities: activities.iter().map(|a| id(a)).collect() }]
}

fn step(before: Option<FamilyEnrolment>, i: EnrolmentInput) -> Result<FamilyEnrolment, EnrolmentRefused> {
    i.apply(before, &campaign(), &family(), (&sophie(), at(2027, 6, 2, 10, 0), d(2027, 6, 2)))
}

fn submitted(activities: &[&str]) -> FamilyEnrolment {
    step(None, EnrolmentInput { children: answer(activities), accept_rules: Some("2027-v1".into()), submit: true })
        .unwrap()
}

fn doc(kind: &str, status: DocStatus, valid_until: Option<NaiveDate>) -> DocFact {
    DocFact { child: Some(id("lea")), kind: id(kind), status, valid_until }
}

#[test]
fn progress_is_kept_step_by_step_and_sending_needs_every_child_and_the_rules() {
    let first = step(None, EnrolmentInput { children: vec![], accept_rules: None, submit: false }).unwrap();
    assert_eq!((first.version, first.next_step(&family())), (1, "children"));
    let second =
        step(Some(first), EnrolmentInput { children: answer(&["alsh"]), accept_rules: None, submit: false }).unwrap();
    assert_eq!(second.next_step(&family()), "rules");
    let early =
        step(Some(second.clone()), EnrolmentInput { children: answer(&["alsh"]), accept_rules: None, submit: true });
    assert_eq!(early.unwrap_err().field().as_deref(), Some("submit"));
    let wrong = EnrolmentInput { children: answer(&["alsh"]), accept_rules: Some("2026".into()), submit: false };
    assert_eq!(step(Some(second.clone()), wrong).unwrap_err().field().as_deref(), Some("accept_rules"));
    let rules = EnrolmentInput { children: answer(&["alsh"]), accept_rules: Some("2027-v1".into()), submit: false };
    let third = step(Some(second), rules).unwrap();
    assert_eq!(third.next_step(&family()), "submit");
    let sent =
        step(Some(third), EnrolmentInput { children: answer(&["alsh"]), accept_rules: None, submit: true }).unwrap();
    assert_eq!((sent.version, sent.next_step(&family())), (4, "done"));
    assert_eq!(sent.rules.as_ref().map(|r| r.version.as_str()), Some("2027-v1"));
}

#[test]
fn answers_name_the_familys_children_and_offered_activities_only() {
    let mut other = answer(&[]);
    other[0].child = id("paul");
    let e = step(None, EnrolmentInput { children: other, accept_rules: None, submit: false }).unwrap_err();
    assert_eq!(e.field().as_deref(), Some("children[0].child"));
    let e = step(None, EnrolmentInput { children: answer(&["alsh", "piscine"]), accept_rules: None, submit: false })
        .unwrap_err();
    assert_eq!(e.field().as_deref(), Some("children[0].activities[1]"));
    let late = EnrolmentInput { children: answer(&[]), accept_rules: None, submit: false }.apply(
        None,
        &campaign(),
        &family(),
        (&sophie(), at(2027, 7, 11, 10, 0), d(2027, 7, 11)),
    );
    assert_eq!(late.unwrap_err().code(), "campaign_closed");
}

#[test]
fn the_status_follows_the_file_and_staff() {
    let c = campaign();
    let t = town();
    let lea = child();
    assert_eq!(status(None, &file_gaps(&c, None, &lea, &[], &t)), Status::NotStarted);
    let sent = submitted(&["restauration"]);
    let gaps = file_gaps(&c, Some(&sent), &lea, &[], &t);
    assert_eq!(gaps, vec![Gap { label: "attestation d’assurance manquante".into(), pending: false }]);
    assert_eq!(status(Some(&sent), &gaps), Status::WaitingForDocument);
    let expired = [doc("assurance", DocStatus::Accepted, Some(d(2027, 8, 31)))];
    assert_eq!(file_gaps(&c, Some(&sent), &lea, &expired, &t).len(), 1, "a document ending before the year lapses");
    let pending = [doc("assurance", DocStatus::Pending, None)];
    assert_eq!(status(Some(&sent), &file_gaps(&c, Some(&sent), &lea, &pending, &t)), Status::ToCheck);
    let ok = [doc("assurance", DocStatus::Accepted, Some(d(2028, 6, 30)))];
    let none = file_gaps(&c, Some(&sent), &lea, &ok, &t);
    assert_eq!(status(Some(&sent), &none), Status::Complete);
    let asked = sent.ask_corrections("La photo est illisible.", "agent@ville.fr", at(2027, 6, 3, 9, 0)).unwrap();
    assert_eq!(status(Some(&asked), &none), Status::CorrectionsAsked);
    assert!(Status::CorrectionsAsked.needs_action() && !Status::ToCheck.needs_action());
    let again =
        step(Some(asked), EnrolmentInput { children: answer(&["restauration"]), accept_rules: None, submit: true });
    assert_eq!(again.unwrap().corrections, None, "sending again clears the corrections asked");
}

#[test]
fn a_booking_of_the_new_year_needs_the_enrolment_and_where_required_a_complete_file() {
    let c = campaign();
    let t = town();
    let lea = child();
    let sent = submitted(&["restauration"]);
    let (canteen, centre) = (id("restauration"), id("alsh"));
    let day = d(2027, 9, 6);
    assert_eq!(booking_gate(&c, None, &lea.id, &canteen, day, &[]), Err("Non inscrit pour 2027-2028".into()));
    assert_eq!(booking_gate(&c, Some(&sent), &lea.id, &centre, day, &[]), Err("Non inscrit pour 2027-2028".into()));
    let gaps = file_gaps(&c, Some(&sent), &lea, &[], &t);
    assert_eq!(
        booking_gate(&c, Some(&sent), &lea.id, &canteen, day, &gaps),
        Err("Dossier 2027-2028 incomplet\u{202f}: attestation d’assurance manquante".into())
    );
    assert_eq!(
        booking_gate(&c, Some(&sent), &lea.id, &canteen, d(2027, 6, 7), &gaps),
        Ok(()),
        "this year: not its business"
    );
    let mut lax = c.clone();
    lax.input.file_required = false;
    assert_eq!(booking_gate(&lax, Some(&sent), &lea.id, &canteen, day, &gaps), Ok(()));
}
