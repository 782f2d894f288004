//! Worked cases of the CAF hours: the test town's evening care lasts 1 h 30 and its Wednesday
//! centre 10 h; its canteen declares no duration.

use super::*;
use crate::booking::BookingStatus;
use crate::testkit::{at, booking, child, d, family, id, staff, town};
use serde_json::json;

fn caf_town() -> Town {
    let mut v = serde_json::to_value(town().config()).unwrap();
    v["activities"][0]["units"][1]["duration_minutes"] = json!(90);
    v["activities"][1]["units"][0]["duration_minutes"] = json!(600);
    Town::parse(v.to_string().as_bytes()).unwrap()
}

/// Léa (born 14 March 2018, a Martin, resident) and Tom (born 18 November 2020, a Petit,
/// non-resident).
fn people() -> (HashMap<ChildId, Child>, HashMap<FamilyRef, Family>) {
    let lea = child();
    let mut tom = child();
    tom.id = id("tom");
    tom.first_name = "Tom".into();
    tom.birth_date = d(2020, 11, 18);
    let martin = family();
    let mut petit = family();
    petit.reference = id("petit");
    petit.resident = false;
    petit.children = vec![id("tom")];
    (
        HashMap::from([(lea.id.clone(), lea), (tom.id.clone(), tom)]),
        HashMap::from([(martin.reference.clone(), martin), (petit.reference.clone(), petit)]),
    )
}

fn present(unit: &str, date: NaiveDate) -> Booking {
    booking(unit, date, BookingStatus::Confirmed, 250).mark(Attendance::Present, at(2026, 11, 30, 18, 0))
}

fn toms(mut b: Booking) -> Booking {
    b.child = id("tom");
    b.family = id("petit");
    b
}

fn report(bookings: &[Booking], from: NaiveDate, to: NaiveDate) -> Report {
    let town = caf_town();
    let (children, families) = people();
    let mut tally = Tally::new(&town, from, to, d(2026, 12, 6));
    tally.add(bookings, &children, &families);
    tally.report()
}

fn november(bookings: &[Booking]) -> Report {
    report(bookings, d(2026, 11, 1), d(2026, 11, 30))
}

fn unit<'r>(r: &'r Report, unit: &str) -> &'r UnitHours {
    r.units.iter().find(|u| u.unit.as_str() == unit).unwrap()
}

fn figures(sessions: u32, minutes: u64, children: u32) -> Figures {
    Figures { sessions, minutes, children }
}

#[test]
fn the_age_band_is_the_age_on_the_sessions_day() {
    assert_eq!(age_band(d(2020, 11, 18), d(2026, 11, 17)), AgeBand::Under6);
    assert_eq!(age_band(d(2020, 11, 18), d(2026, 11, 18)), AgeBand::SixAndOver, "6 on the birthday");
    assert_eq!(age_band(d(2020, 2, 29), d(2026, 2, 27)), AgeBand::Under6);
    assert_eq!(age_band(d(2020, 2, 29), d(2026, 2, 28)), AgeBand::SixAndOver, "29 February: on the 28th");
    assert_eq!(age_band(d(2026, 1, 5), d(2026, 11, 2)), AgeBand::Under6);
}

#[test]
fn an_attended_session_counts_whole_at_the_units_duration() {
    let r = november(&[present("peri-soir", d(2026, 11, 2)), present("peri-soir", d(2026, 11, 3))]);
    let soir = unit(&r, "peri-soir");
    assert_eq!(soir.duration_minutes, 90);
    assert_eq!(soir.months.len(), 1);
    let nov = &soir.months[0];
    assert_eq!(nov.split.six_and_over_resident, figures(2, 180, 1), "Léa is 8: two sessions of 1 h 30");
    assert_eq!(nov.split.under_6_resident, Figures::default());
    assert_eq!(nov.split.all, figures(2, 180, 1));
    assert_eq!(soir.total, nov.split);
    assert_eq!(hours_text(nov.split.all.minutes), "3,00");
}

#[test]
fn a_child_turning_6_mid_month_is_in_both_bands_and_counted_once() {
    let r = november(&[
        toms(present("peri-soir", d(2026, 11, 16))),
        toms(present("peri-soir", d(2026, 11, 17))),
        toms(present("peri-soir", d(2026, 11, 18))),
        toms(present("peri-soir", d(2026, 11, 19))),
        present("peri-soir", d(2026, 11, 19)),
    ]);
    let nov = unit(&r, "peri-soir").months[0].split;
    assert_eq!(nov.under_6_non_resident, figures(2, 180, 1), "16 and 17 November: Tom is 5");
    assert_eq!(nov.six_and_over_non_resident, figures(2, 180, 1), "18 (his birthday) and 19: 6");
    assert_eq!(nov.six_and_over_resident, figures(1, 90, 1), "Léa, resident");
    assert_eq!(nov.all, figures(5, 450, 2), "Tom once, Léa once");
}

#[test]
fn missed_justified_unmarked_and_closed_sessions_give_no_hours() {
    let booked = |date| booking("peri-soir", date, BookingStatus::Confirmed, 250);
    let now = at(2026, 11, 30, 18, 0);
    let absent = booked(d(2026, 11, 2)).mark(Attendance::Absent, now);
    let justified = booked(d(2026, 11, 3)).justify(now).unwrap();
    let unmarked = booked(d(2026, 11, 5));
    let closed = booked(d(2026, 11, 6)).cancel_by_town("Grève", staff(now)).unwrap();
    let cancelled = booked(d(2026, 11, 9)).cancel(BookingStatus::Cancelled, false, staff(now));
    let r = november(&[absent, justified, unmarked, closed, cancelled, present("peri-soir", d(2026, 11, 10))]);
    let nov = &unit(&r, "peri-soir").months[0];
    assert_eq!(nov.split.all, figures(1, 90, 1), "only the 10th was attended");
    assert_eq!(nov.unmarked, 1, "the 5th: booked, no register");
}

#[test]
fn a_present_mark_on_a_justified_day_is_the_registers_fact_and_counts() {
    let now = at(2026, 11, 30, 18, 0);
    let b = booking("peri-soir", d(2026, 11, 3), BookingStatus::Confirmed, 250).justify(now).unwrap();
    let r = november(&[b.mark(Attendance::Present, now)]);
    assert_eq!(unit(&r, "peri-soir").months[0].split.all, figures(1, 90, 1));
}

#[test]
fn a_year_lists_every_month_and_counts_distinct_children_over_it() {
    let r = report(
        &[
            present("alsh-mercredi", d(2026, 1, 7)),
            present("alsh-mercredi", d(2026, 3, 4)),
            toms(present("alsh-mercredi", d(2026, 3, 11))),
            present("alsh-mercredi", d(2025, 12, 17)),
        ],
        d(2026, 1, 1),
        d(2026, 12, 31),
    );
    let centre = unit(&r, "alsh-mercredi");
    assert_eq!(centre.months.len(), 12);
    assert_eq!(centre.months[1].split.all, Figures::default(), "February: nothing");
    assert_eq!(centre.months[2].split.all, figures(2, 1200, 2));
    assert_eq!(centre.total.six_and_over_resident, figures(2, 1200, 1), "Léa twice, one child");
    assert_eq!(centre.total.under_6_non_resident, figures(1, 600, 1), "Tom, 5 in March");
    assert_eq!(centre.total.all, figures(3, 1800, 2), "December 2025 is not in 2026");
}

#[test]
fn a_unit_without_duration_is_named_and_not_counted() {
    let r = november(&[present("cantine", d(2026, 11, 2))]);
    assert_eq!(r.without_duration, vec!["Cantine".to_owned()]);
    assert!(r.units.iter().all(|u| u.unit.as_str() != "cantine"));
    assert_eq!(r.units.iter().map(|u| u.total.all.sessions).sum::<u32>(), 0);
}

#[test]
fn a_session_of_an_unknown_child_is_set_aside() {
    let mut b = present("peri-soir", d(2026, 11, 2));
    b.child = id("inconnu");
    let r = november(&[b]);
    assert_eq!((r.unclassified, unit(&r, "peri-soir").total.all.sessions), (1, 0));
}

#[test]
fn hours_are_written_with_a_decimal_comma() {
    assert_eq!(hours_text(0), "0,00");
    assert_eq!(hours_text(90), "1,50");
    assert_eq!(hours_text(20), "0,33");
    assert_eq!(hours_text(74_070), "1234,50");
}
