//! A small town for the domain's unit tests: two schools, an automatic canteen with two places
//! and no waiting list, a manual Wednesday centre with one place and a waiting list, evening care
//! with a fixed late price; one family with one child who changes school on 1 February 2027.
#![allow(clippy::expect_used, reason = "test builders: a wrong fixture fails the test that uses it")]

use super::booking::{Actor, Booking, BookingStatus, ChangedBy, Slot, Terms};
use super::config::Town;
use super::family::{Child, Family};
use super::{ChildId, FamilyRef, SiteId, UnitId};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;

pub fn town() -> Town {
    let deadline = json!({"n": 2, "unit": "working_days", "cutoff": "23:59"});
    let config = json!({
        "id": "ville-test", "name": "Ville test", "school_holiday_zone": "B",
        "sites": [{"id": "ecole-a", "name": "École A"}, {"id": "ecole-b", "name": "École B"}],
        "activities": [
            {
                "id": "restauration", "name": "Restauration scolaire", "sites": ["ecole-a", "ecole-b"],
                "units": [{
                    "id": "cantine", "name": "Cantine", "runs_on": ["school_day"],
                    "add_deadline": deadline, "cancel_deadline": deadline, "capacity": 2,
                    "validation": "automatic",
                    "price": {"base": 400, "non_resident": 600,
                              "qf_brackets": [{"up_to_qf": 600, "price": 150}, {"up_to_qf": 900, "price": 250}]},
                    "late_addition": {"add": 300}
                }, {
                    "id": "peri-soir", "name": "Périscolaire soir", "runs_on": ["school_day"],
                    "add_deadline": deadline, "cancel_deadline": deadline,
                    "validation": "automatic", "price": {"base": 250}, "late_addition": {"replace_with": 1000}
                }]
            },
            {
                "id": "alsh", "name": "ALSH", "sites": ["ecole-a"],
                "units": [{
                    "id": "alsh-mercredi", "name": "ALSH mercredi", "runs_on": ["wednesday"],
                    "add_deadline": {"n": 5, "unit": "working_days", "cutoff": "23:59"},
                    "cancel_deadline": {"n": 5, "unit": "working_days", "cutoff": "23:59"},
                    "capacity": 1, "waiting_list": true, "validation": "manual",
                    "price": {"base": 1200}, "late_addition": {"percent": 150}
                }]
            }
        ]
    });
    Town::parse(config.to_string().as_bytes()).expect("the test town loads")
}

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

/// An instant, in Paris time.
pub fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris.with_ymd_and_hms(y, m, day, h, min, 0).single().expect("instant").to_utc()
}

pub fn id<T: TryFrom<String>>(raw: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(raw.to_owned()).expect("id")
}

/// Léa: at school A until 31 January 2027, at school B from 1 February, and at the centre.
pub fn child() -> Child {
    serde_json::from_value(json!({
        "id": "lea", "first_name": "Léa", "last_name": "Martin", "birth_date": "2018-03-14",
        "enrolments": [
            {"activity": "restauration", "site": "ecole-a", "from": "2026-09-01", "to": "2027-01-31"},
            {"activity": "restauration", "site": "ecole-b", "from": "2027-02-01", "to": "2027-07-03"},
            {"activity": "alsh", "site": "ecole-a", "from": "2026-09-01", "to": "2027-07-03"}
        ]
    }))
    .expect("child")
}

/// The Martins: residents, quotient familial 750.
pub fn family() -> Family {
    serde_json::from_value(json!({
        "reference": "martin", "name": "MARTIN", "quotient_familial": 750,
        "guardians": [{"first_name": "Sophie", "last_name": "Martin", "email": "sophie@exemple.fr"}],
        "children": ["lea"]
    }))
    .expect("family")
}

pub fn guardian(at: DateTime<Utc>) -> Actor<'static> {
    Actor { by: "sophie@exemple.fr", role: ChangedBy::Guardian, at }
}

pub fn staff(at: DateTime<Utc>) -> Actor<'static> {
    Actor { by: "agent@mairie.fr", role: ChangedBy::Staff, at }
}

/// Léa's booking of `unit` on `date` at school A, made by her guardian.
pub fn booking(unit: &str, date: NaiveDate, status: BookingStatus, price: u32) -> Booking {
    let slot = Slot {
        child: id::<ChildId>("lea"),
        family: id::<FamilyRef>("martin"),
        activity: id(if unit == "alsh-mercredi" { "alsh" } else { "restauration" }),
        site: id::<SiteId>("ecole-a"),
        unit: id::<UnitId>(unit),
        date,
    };
    let terms = Terms {
        status,
        price: super::Cents::new(i64::from(price)).expect("cents"),
        late: false,
        waiting_list: false,
        rule: None,
    };
    Booking::book(None, slot, terms, guardian(at(2026, 11, 20, 9, 0)))
}

/// The Martins' invoice of November 2026 with these lines, issued on 1 December.
pub fn november_invoice(lines: Vec<super::billing::Line>, number: &str) -> super::billing::Invoice {
    let total = lines.iter().fold(super::Cents::ZERO, |t, l| t + l.amount);
    let bill = super::billing::Bill { family: id("martin"), lines, aids: Vec::new(), total, as_billed: None };
    super::billing::Invoice::issue(bill, crate::Month::of(d(2026, 11, 1)), number.into(), d(2026, 12, 1), "a")
}
