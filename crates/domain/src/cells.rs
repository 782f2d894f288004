//! Calendar cells: for one child, unit and date, exactly one state, the reason behind it, the
//! deadlines that apply, and what the parent's action would cost now.

use super::booking::{Attendance, Booking, BookingStatus};
use super::config::{Activity, NotOffered, Town, Unit};
use super::family::{Child, Family};
use super::{Cents, SiteId};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

/// Why an offered day cannot be changed online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Locked {
    /// Past the add (or cancel) deadline: the parent contacts the service.
    DeadlinePassed,
    /// Bookings for this date open later.
    NotOpenYet { opens_at: DateTime<Utc> },
    /// Every place is taken and the unit has no waiting list.
    Full,
}

/// The seed's legend, one state per cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CellState {
    /// No checkbox: weekend, holiday, closure, not run that day, child not enrolled.
    NotOffered {
        #[serde(flatten)]
        why: NotOffered,
    },
    /// « Prestation réservable ».
    Bookable {
        /// Full: a booking joins the waiting list (« demande en cours »).
        waiting_list: bool,
    },
    /// « Prestation non réservable ou non modifiable ».
    Locked {
        #[serde(flatten)]
        why: Locked,
    },
    /// « Demande en cours ».
    Pending,
    /// « Demande validée ».
    Confirmed,
    /// « Demande d'annulation ».
    CancelRequested,
    /// « Demande refusée ».
    Refused { reason: Option<String> },
    /// « Enfant présent ».
    Present,
    /// « Enfant absent », justified or not.
    Absent { justified: bool },
    /// « Absence signalée »: a guardian reported the child absent; billed unless a certificate
    /// follows in time.
    AbsenceReported { reason: String },
    /// « Annulé par la commune »: a closure cancelled the booking (not billed).
    CancelledByTown { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Add,
    Cancel,
}

/// What ticking or unticking the cell does now, and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    /// An addition costs the booking's price; a cancellation within the deadline costs nothing.
    pub price: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub state: CellState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_deadline: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_deadline: Option<DateTime<Utc>>,
    /// What the parent can do online now; none past the deadlines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The family's normal price for this unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Cents>,
    /// What an addition past the deadline costs (made by staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_add_price: Option<Cents>,
    /// What a cancellation past the deadline costs: the booking stays billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_cancel_price: Option<Cents>,
    /// The family's booking of this day was cancelled (by a guardian or staff, not by a
    /// closure): the cell says « Annulée » rather than looking never booked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

/// Everything one cell depends on.
pub struct CellFacts<'a> {
    pub town: &'a Town,
    pub activity: &'a Activity,
    pub unit: &'a Unit,
    pub site: &'a SiteId,
    pub child: &'a Child,
    pub family: &'a Family,
    pub date: NaiveDate,
    /// The child's booking of this unit that day, in any status.
    pub booking: Option<&'a Booking>,
    /// Places taken that day at the site.
    pub taken: i64,
    pub now: DateTime<Utc>,
}

/// The state a live booking gives its cell.
fn booked_state(b: &Booking) -> CellState {
    match (b.attendance, b.status) {
        (Some(Attendance::Present), _) => CellState::Present,
        (Some(Attendance::Absent), _) => CellState::Absent { justified: false },
        (Some(Attendance::AbsentJustified), _) => CellState::Absent { justified: true },
        (None, BookingStatus::Pending) => CellState::Pending,
        (None, BookingStatus::Confirmed) => match &b.absence_report {
            Some(r) => CellState::AbsenceReported { reason: r.reason.clone() },
            None => CellState::Confirmed,
        },
        (None, BookingStatus::CancelRequested) => CellState::CancelRequested,
        (None, BookingStatus::Refused) => CellState::Refused { reason: b.refusal_reason.clone() },
        (None, BookingStatus::Cancelled) => CellState::Bookable { waiting_list: false },
    }
}

/// The state of one cell.
pub fn cell(f: &CellFacts) -> Cell {
    let mut out = state_of(f);
    out.cancelled = f.booking.is_some_and(|b| {
        b.status == BookingStatus::Cancelled && b.family == f.family.reference && b.cancelled_by_town.is_none()
    }) && !matches!(out.state, CellState::CancelledByTown { .. });
    out
}

fn state_of(f: &CellFacts) -> Cell {
    let cal = f.town.calendar();
    let tz = f.town.tz();
    let normal = f.unit.price.for_family(f.family.resident, f.family.quotient_familial);
    let add_deadline = f.unit.add_deadline.instant_for(f.date, cal, tz);
    let cancel_deadline = f.unit.cancel_deadline.instant_for(f.date, cal, tz);
    let mut out = Cell {
        date: f.date,
        state: CellState::Bookable { waiting_list: false },
        add_deadline: Some(add_deadline),
        cancel_deadline: Some(cancel_deadline),
        action: None,
        price: Some(normal),
        late_add_price: Some(f.unit.late_addition.apply(normal)),
        late_cancel_price: Some(normal),
        cancelled: false,
    };
    let live = f.booking.filter(|b| b.status != BookingStatus::Cancelled);
    if let Some(b) = live.filter(|b| b.family != f.family.reference) {
        // A shared child's day booked by the other household: shown (nobody books twice), but
        // neither its price nor a way to change it.
        return Cell {
            state: booked_state(b),
            action: None,
            price: None,
            late_add_price: None,
            late_cancel_price: None,
            ..out
        };
    }
    if let Some(b) = live {
        out.price = Some(b.price);
        out.late_cancel_price = Some(b.price);
        let can_cancel = f.now < cancel_deadline;
        out.state = booked_state(b);
        if b.attendance.is_none() && matches!(b.status, BookingStatus::Pending | BookingStatus::Confirmed) && can_cancel
        {
            out.action = Some(Action { kind: ActionKind::Cancel, price: Cents::ZERO });
        }
        return out;
    }
    let not_offered = |why| Cell {
        state: CellState::NotOffered { why },
        add_deadline: None,
        cancel_deadline: None,
        action: None,
        price: None,
        late_add_price: None,
        late_cancel_price: None,
        cancelled: false,
        date: f.date,
    };
    if let Err(why) = f.town.offering_at(f.activity, f.unit, f.site, f.date) {
        // A day the town closed after it was booked says so, with the reason.
        if let (NotOffered::Closure { .. }, Some(reason)) = (&why, f.booking.and_then(|b| b.cancelled_by_town.as_ref()))
        {
            return Cell { state: CellState::CancelledByTown { reason: reason.clone() }, ..not_offered(why) };
        }
        return not_offered(why);
    }
    let covering: Vec<_> =
        f.child.enrolments.iter().filter(|e| e.covers(&f.activity.id, f.site, &f.unit.id, f.date)).collect();
    if covering.is_empty() {
        return not_offered(NotOffered::NotEnrolled);
    }
    if let Some(detail) =
        covering.iter().map(|e| e.hold.as_ref()).collect::<Option<Vec<_>>>().and_then(|h| h.first().cloned())
    {
        // Every enrolment covering the day is held: the school year's file is not complete.
        return not_offered(NotOffered::FileIncomplete { detail: detail.clone() });
    }
    if let Some(days) = f.unit.booking_opens_days_before {
        let opens_day = f.date.checked_sub_days(Days::new(u64::from(days))).unwrap_or(NaiveDate::MIN);
        let opens_at = super::deadline::local_instant(opens_day, chrono::NaiveTime::MIN, tz);
        if f.now < opens_at {
            out.state = CellState::Locked { why: Locked::NotOpenYet { opens_at } };
            return out;
        }
    }
    if f.now >= add_deadline {
        out.state = CellState::Locked { why: Locked::DeadlinePassed };
        return out;
    }
    let full = f.unit.capacity.is_some_and(|c| f.taken >= i64::from(c));
    if full && !f.unit.waiting_list {
        out.state = CellState::Locked { why: Locked::Full };
        return out;
    }
    out.state = CellState::Bookable { waiting_list: full };
    out.action = Some(Action { kind: ActionKind::Add, price: normal });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at, booking, child, d, family, id, town};

    fn state_at(unit: &str, date: NaiveDate, b: Option<&Booking>, taken: i64, now: DateTime<Utc>) -> Cell {
        let town = town();
        let (activity, unit) = town.unit(&id(unit)).unwrap();
        let (child, family) = (child(), family());
        let site = id("ecole-a");
        cell(&CellFacts {
            town: &town,
            activity,
            unit,
            site: &site,
            child: &child,
            family: &family,
            date,
            booking: b,
            taken,
            now,
        })
    }

    #[test]
    fn an_open_day_says_until_when_and_how_much() {
        let c = state_at("cantine", d(2026, 12, 7), None, 0, at(2026, 12, 1, 10, 0));
        assert_eq!(c.state, CellState::Bookable { waiting_list: false });
        assert_eq!(c.add_deadline, Some(at(2026, 12, 3, 23, 59)));
        assert_eq!(c.action, Some(Action { kind: ActionKind::Add, price: Cents::new(250).unwrap() }));
        assert_eq!(c.late_add_price, Some(Cents::new(550).unwrap()));
    }

    #[test]
    fn past_the_deadline_a_booked_day_can_no_longer_be_cancelled_online() {
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let before = state_at("cantine", d(2026, 12, 7), Some(&b), 1, at(2026, 12, 3, 23, 58));
        assert_eq!(before.state, CellState::Confirmed);
        assert_eq!(before.action.map(|a| a.kind), Some(ActionKind::Cancel));
        let after = state_at("cantine", d(2026, 12, 7), Some(&b), 1, at(2026, 12, 3, 23, 59));
        assert_eq!((after.state, after.action), (CellState::Confirmed, None));
        assert_eq!(after.late_cancel_price, Some(Cents::new(250).unwrap()));
    }

    #[test]
    fn a_cancelled_day_says_so_and_can_be_booked_again() {
        let now = at(2026, 12, 1, 10, 0);
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Cancelled, 250);
        let c = state_at("cantine", d(2026, 12, 7), Some(&b), 0, now);
        assert_eq!((c.state, c.cancelled), (CellState::Bookable { waiting_list: false }, true));
        assert_eq!(c.action.map(|a| a.kind), Some(ActionKind::Add));
        let late = state_at("cantine", d(2026, 12, 7), Some(&b), 0, at(2026, 12, 4, 10, 0));
        assert_eq!((late.state, late.cancelled), (CellState::Locked { why: Locked::DeadlinePassed }, true));
        let never = state_at("cantine", d(2026, 12, 7), None, 0, now);
        assert!(!never.cancelled, "a day never booked is not « annulée »");
        let mut by_town = b.clone();
        by_town.cancelled_by_town = Some("Grève".into());
        assert!(!state_at("cantine", d(2026, 12, 7), Some(&by_town), 0, now).cancelled, "a closure says its own words");
    }

    #[test]
    fn a_full_day_locks_or_offers_the_waiting_list() {
        let now = at(2026, 12, 1, 10, 0);
        assert_eq!(state_at("cantine", d(2026, 12, 7), None, 2, now).state, CellState::Locked { why: Locked::Full });
        let wednesday = state_at("alsh-mercredi", d(2026, 12, 16), None, 1, now);
        assert_eq!(wednesday.state, CellState::Bookable { waiting_list: true });
    }

    #[test]
    fn attendance_and_refusals_show_as_such() {
        let now = at(2026, 12, 8, 10, 0);
        let b =
            booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250).mark(Attendance::AbsentJustified, now);
        assert_eq!(state_at("cantine", d(2026, 12, 7), Some(&b), 1, now).state, CellState::Absent { justified: true });
        let refused = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200)
            .decide(false, Some("Complet"), crate::testkit::staff(now))
            .unwrap();
        let c = state_at("alsh-mercredi", d(2026, 12, 16), Some(&refused), 0, now);
        assert_eq!(c.state, CellState::Refused { reason: Some("Complet".into()) });
    }

    #[test]
    fn days_not_offered_have_no_checkbox_and_no_price() {
        let now = at(2026, 12, 1, 10, 0);
        let christmas = state_at("cantine", d(2026, 12, 21), None, 0, now);
        assert!(
            matches!(christmas.state, CellState::NotOffered { why: NotOffered::SchoolHoliday { .. } }),
            "{christmas:?}"
        );
        assert_eq!((christmas.price, christmas.action), (None, None));
        let wednesday = state_at("cantine", d(2026, 12, 9), None, 0, now);
        assert!(matches!(wednesday.state, CellState::NotOffered { .. }));
    }
}
