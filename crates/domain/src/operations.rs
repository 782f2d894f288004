//! Town operations: what a closure cancels and reopens, the waiting list's order, the window in
//! which a guardian may report an absence, the holiday booking reminders. Pure: the store and the
//! emails are in `services::operations`.

use super::booking::Booking;
use super::calendar::Closure;
use super::config::Town;
use super::{ActivityId, ChildId, FamilyRef, UnitId};
pub use crate::config::OperationsSettings;
use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether closure `c` closes booking `b`'s day.
pub fn closes(c: &Closure, b: &Booking) -> bool {
    c.date == b.date && (c.activities.is_empty() || c.activities.contains(&b.activity))
}

/// The closures of `after` that `before` did not have: the days newly closed.
pub fn added(before: &[Closure], after: &[Closure]) -> Vec<Closure> {
    after.iter().filter(|c| !before.contains(c)).cloned().collect()
}

/// The closures of `before` that `after` dropped: the days reopened (unless another closure
/// still closes them, which [`still_closed`] says).
pub fn removed(before: &[Closure], after: &[Closure]) -> Vec<Closure> {
    added(after, before)
}

/// Whether any of `closures` still closes `b`'s day.
pub fn still_closed(closures: &[Closure], b: &Booking) -> bool {
    closures.iter().any(|c| closes(c, b))
}

/// The reason a closure's cancellations carry: the closure's own words.
pub fn reason(c: &Closure) -> String {
    c.reason.clone()
}

/// What a closure does to one family: the bookings it cancels.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyCancellation {
    pub family: FamilyRef,
    /// Each booking as read, and as cancelled.
    pub bookings: Vec<(Booking, Booking)>,
}

/// The bookings `closures` cancel among `bookings` (read on their days), per family: the ones
/// holding a place whose attendance was not taken. Waiting requests stay on their list (they
/// hold no place and cost nothing): if the days reopen, they get the places first. `actor` is
/// who closed.
pub fn cancellations(
    closures: &[Closure],
    bookings: &[Booking],
    actor: super::booking::Actor,
) -> Vec<FamilyCancellation> {
    let mut by_family: BTreeMap<FamilyRef, Vec<(Booking, Booking)>> = BTreeMap::new();
    for b in bookings {
        let Some(c) = closures.iter().find(|c| closes(c, b)) else { continue };
        if b.is_waiting() {
            continue;
        }
        if let Some(after) = b.cancel_by_town(&reason(c), actor) {
            by_family.entry(b.family.clone()).or_default().push((b.clone(), after));
        }
    }
    by_family
        .into_iter()
        .map(|(family, mut bookings)| {
            bookings.sort_by(|a, b| (a.0.date, &a.0.child, &a.0.unit).cmp(&(b.0.date, &b.0.child, &b.0.unit)));
            FamilyCancellation { family, bookings }
        })
        .collect()
}

/// The bookings a closure cancelled that a reopening gives back their day (the town does not
/// rebook them: the families are told), per family.
pub fn reopened(removed: &[Closure], still: &[Closure], bookings: &[Booking]) -> BTreeMap<FamilyRef, Vec<Booking>> {
    let mut out: BTreeMap<FamilyRef, Vec<Booking>> = BTreeMap::new();
    for b in bookings {
        let cancelled_by = |c: &Closure| closes(c, b) && b.cancelled_by_town.as_deref() == Some(c.reason.as_str());
        if b.status == super::booking::BookingStatus::Cancelled
            && removed.iter().any(cancelled_by)
            && !still_closed(still, b)
        {
            out.entry(b.family.clone()).or_default().push(b.clone());
        }
    }
    out
}

/// The waiting requests of one unit's day in order of arrival (the first gets the next place):
/// when they joined the list, then the child, for a stable order between equal times.
pub fn waiting_order(bookings: &[Booking]) -> Vec<&Booking> {
    let mut w: Vec<&Booking> = bookings.iter().filter(|b| b.is_waiting()).collect();
    w.sort_by_key(|b| (b.queued_at.unwrap_or(b.updated_at), b.child.clone()));
    w
}

/// Why a guardian cannot report an absence on a day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportRefused {
    /// Before today, or further ahead than the town allows.
    #[error("Une absence se signale pour aujourd'hui et jusqu'au {} au plus.", crate::fr::date(*.last))]
    OutOfWindow { last: NaiveDate },
    /// No confirmed booking of that day whose register is not taken yet.
    #[error("Aucune réservation validée de ces jours n'attend l'appel : il n'y a rien à signaler.")]
    NothingBooked,
}

impl crate::Refusal for ReportRefused {
    fn code(&self) -> &'static str {
        match self {
            ReportRefused::OutOfWindow { .. } => "outside_report_window",
            ReportRefused::NothingBooked => "nothing_to_report",
        }
    }
    fn field(&self) -> Option<String> {
        Some("from".into())
    }
}

/// The days a guardian may report an absence for, from `today`: today and the next
/// `absence_report_days - 1` days.
pub fn report_window(settings: &OperationsSettings, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let last = today.checked_add_days(Days::new(u64::from(settings.absence_report_days.max(1) - 1))).unwrap_or(today);
    (today, last)
}

/// The days of a report (`from..=to`) fitted to the window: a range that runs past the window's
/// last day is shortened to it (the parent reports the rest later); one that starts before
/// today or after the window, or ends before it starts, is refused.
pub fn report_range(
    settings: &OperationsSettings,
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ReportRefused> {
    let (first, last) = report_window(settings, today);
    if from < first || from > last || to < from {
        return Err(ReportRefused::OutOfWindow { last });
    }
    Ok((from, to.min(last)))
}

pub use crate::booking::certificate_deadline;

/// A holiday period a reminder is about: its units' first day's deadline and when bookings open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayBooking {
    /// « Vacances de Noël »
    pub name: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub activity: ActivityId,
    pub units: Vec<UnitId>,
    /// When bookings of the period's first day open (none: always open).
    pub opens_at: Option<DateTime<Utc>>,
    /// The add deadline of its first day.
    pub deadline: DateTime<Utc>,
}

/// Which reminder is due for a period at `now`: the opening one from the day bookings open
/// until the deadline reminder's day, then the deadline one until the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reminder {
    Opening,
    Deadline,
}

impl Reminder {
    pub fn as_str(self) -> &'static str {
        match self {
            Reminder::Opening => "ouverture",
            Reminder::Deadline => "date-limite",
        }
    }
}

/// The reminder due for `p` at `now`, if any. An opening reminder needs an opening date (a
/// period always open has no opening to announce).
pub fn due_reminder(p: &HolidayBooking, settings: &OperationsSettings, now: DateTime<Utc>) -> Option<Reminder> {
    if now >= p.deadline {
        return None;
    }
    let deadline_reminder = p.deadline - Duration::days(i64::from(settings.reminder_days_before_deadline));
    if now >= deadline_reminder {
        return Some(Reminder::Deadline);
    }
    p.opens_at.filter(|o| now >= *o).map(|_| Reminder::Opening)
}

/// The holiday periods (school holidays, and their units that run on holidays) whose first day
/// is after `today` and within `horizon_days`.
pub fn holiday_bookings(town: &Town, today: NaiveDate, horizon_days: u64) -> Vec<HolidayBooking> {
    let cal = town.calendar();
    let tz = town.tz();
    let horizon = today.checked_add_days(Days::new(horizon_days)).unwrap_or(today);
    let mut out = Vec::new();
    for period in cal.holiday_periods() {
        let (period_first, period_last) = (period.first_day_off, period.last_day());
        if period_first <= today || period_first > horizon {
            continue;
        }
        for a in &town.config().activities {
            let units: Vec<&super::config::Unit> =
                a.units.iter().filter(|u| u.runs_on.contains(&super::calendar::DayKind::Holiday)).collect();
            // The first day a unit of the activity runs in the period.
            let Some(first_unit) = units.first() else { continue };
            let first = period_first.iter_days().take_while(|d| *d <= period_last).find(|d| {
                cal.kind(*d) == Some(super::calendar::DayKind::Holiday)
                    && first_unit.weekdays.contains(&chrono::Datelike::weekday(d))
            });
            let Some(first) = first else { continue };
            let deadline = first_unit.add_deadline.instant_for(first, cal, tz);
            let opens_at = first_unit.booking_opens_days_before.map(|days| {
                let day = first.checked_sub_days(Days::new(u64::from(days))).unwrap_or(first);
                super::deadline::local_instant(day, chrono::NaiveTime::MIN, tz)
            });
            out.push(HolidayBooking {
                name: period.name.clone(),
                first,
                last: period_last,
                activity: a.id.clone(),
                units: units.iter().map(|u| u.id.clone()).collect(),
                opens_at,
                deadline,
            });
        }
    }
    out
}

/// Whether a child has booked anything (live) of the period.
pub fn has_booked(p: &HolidayBooking, child: &ChildId, bookings: &[Booking]) -> bool {
    bookings
        .iter()
        .any(|b| &b.child == child && b.is_live() && p.units.contains(&b.unit) && p.first <= b.date && b.date <= p.last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::BookingStatus;
    use crate::testkit::{at, booking, d, id, staff};

    fn closure(date: NaiveDate, reason: &str, activities: &[&str]) -> Closure {
        Closure { date, reason: reason.into(), activities: activities.iter().map(|a| id(a)).collect() }
    }

    #[test]
    fn a_closure_cancels_the_live_bookings_of_its_days_and_activities_per_family() {
        let now = at(2026, 12, 1, 10, 0);
        let strike = closure(d(2026, 12, 7), "Grève", &["restauration"]);
        let canteen = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let other_day = booking("cantine", d(2026, 12, 8), BookingStatus::Confirmed, 250);
        let other_activity = booking("alsh-mercredi", d(2026, 12, 7), BookingStatus::Pending, 1200);
        let mut waiting = booking("cantine", d(2026, 12, 7), BookingStatus::Pending, 250);
        waiting.waiting_list = true;
        waiting.child = id("zoe");
        let cancelled = canteen.cancel(BookingStatus::Cancelled, false, staff(now));
        let plan = cancellations(
            std::slice::from_ref(&strike),
            &[canteen.clone(), other_day, other_activity, cancelled],
            staff(now),
        );
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].bookings.len(), 1);
        let (before, after) = &plan[0].bookings[0];
        assert_eq!(before, &canteen);
        assert_eq!(after.cancelled_by_town.as_deref(), Some("Grève"));

        // Reopened: the cancelled day is listed for the family, unless another closure holds it.
        let all = vec![after.clone()];
        assert_eq!(reopened(std::slice::from_ref(&strike), &[], &all).len(), 1);
        let all_day = closure(d(2026, 12, 7), "Travaux", &[]);
        assert!(reopened(std::slice::from_ref(&strike), &[all_day], &all).is_empty());
        assert!(reopened(&[closure(d(2026, 12, 7), "Autre", &[])], &[], &all).is_empty(), "another closure's");
    }

    #[test]
    fn closures_added_and_removed_are_told_apart() {
        let a = closure(d(2026, 12, 7), "Grève", &[]);
        let b = closure(d(2026, 12, 8), "Grève", &[]);
        assert_eq!(added(std::slice::from_ref(&a), &[a.clone(), b.clone()]), vec![b.clone()]);
        assert_eq!(removed(&[a.clone(), b.clone()], std::slice::from_ref(&b)), vec![a.clone()]);
        assert!(added(std::slice::from_ref(&a), std::slice::from_ref(&a)).is_empty());
    }

    #[test]
    fn the_waiting_list_is_served_in_order_of_arrival() {
        let mut bs = Vec::new();
        for (i, child) in ["zoe", "adam", "lea"].iter().enumerate() {
            let mut b = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200);
            b.child = id(child);
            b.waiting_list = true;
            b.queued_at = Some(at(2026, 11, 20, 9, 0) + Duration::minutes(i as i64));
            bs.push(b);
        }
        bs[2].queued_at = bs[1].queued_at; // the same minute: by child
        let order: Vec<&str> = waiting_order(&bs).iter().map(|b| b.child.as_str()).collect();
        assert_eq!(order, ["zoe", "adam", "lea"]);
        bs[0].waiting_list = false;
        assert_eq!(waiting_order(&bs).len(), 2, "only waiting requests");
    }

    #[test]
    fn an_absence_is_reported_from_today_within_the_towns_window() {
        let s = OperationsSettings::default();
        let today = d(2026, 12, 7);
        assert_eq!(report_range(&s, today, today, d(2026, 12, 13)), Ok((today, d(2026, 12, 13))));
        assert_eq!(
            report_range(&s, today, d(2026, 12, 6), today),
            Err(ReportRefused::OutOfWindow { last: d(2026, 12, 13) })
        );
        assert!(report_range(&s, today, d(2026, 12, 14), d(2026, 12, 14)).is_err(), "starts past the window");
        assert!(report_range(&s, today, d(2026, 12, 9), d(2026, 12, 8)).is_err());
    }

    #[test]
    fn a_range_past_the_window_is_shortened_to_its_last_day() {
        let s = OperationsSettings::default();
        let today = d(2026, 12, 7);
        assert_eq!(report_range(&s, today, d(2026, 12, 10), d(2026, 12, 20)), Ok((d(2026, 12, 10), d(2026, 12, 13))));
    }

    #[test]
    fn a_certificate_is_due_after_the_day_it_covers() {
        let paris = chrono_tz::Europe::Paris;
        let delay = Duration::hours(48);
        // Reported on Friday 11 December at 17:00 for Monday 14: due 48 hours after the 14th
        // ends (Thursday 17 at 0:00 in Paris), not on Sunday 13 at 17:00.
        assert_eq!(
            certificate_deadline(at(2026, 12, 11, 17, 0), d(2026, 12, 14), delay, paris),
            at(2026, 12, 17, 0, 0)
        );
        // Reported at 8:30 for that very day: 48 hours after the day ends.
        assert_eq!(
            certificate_deadline(at(2026, 12, 14, 8, 30), d(2026, 12, 14), delay, paris),
            at(2026, 12, 17, 0, 0)
        );
        // Reported after the day ended (on Wednesday for Monday): 48 hours after the report.
        assert_eq!(certificate_deadline(at(2026, 12, 16, 9, 0), d(2026, 12, 14), delay, paris), at(2026, 12, 18, 9, 0));
    }

    #[test]
    fn a_reminder_is_due_from_the_opening_then_before_the_deadline() {
        let s = OperationsSettings::default();
        let p = HolidayBooking {
            name: "Vacances d'hiver".into(),
            first: d(2027, 2, 8),
            last: d(2027, 2, 19),
            activity: id("alsh"),
            units: vec![id("alsh-vacances")],
            opens_at: Some(at(2027, 1, 4, 23, 0)),
            deadline: at(2027, 2, 1, 11, 0),
        };
        assert_eq!(due_reminder(&p, &s, at(2027, 1, 3, 10, 0)), None);
        assert_eq!(due_reminder(&p, &s, at(2027, 1, 5, 8, 0)), Some(Reminder::Opening));
        assert_eq!(due_reminder(&p, &s, at(2027, 1, 29, 11, 0)), Some(Reminder::Deadline));
        assert_eq!(due_reminder(&p, &s, at(2027, 2, 1, 11, 0)), None);
        let always_open = HolidayBooking { opens_at: None, ..p };
        assert_eq!(due_reminder(&always_open, &s, at(2027, 1, 5, 8, 0)), None);
    }

    #[test]
    fn settings_are_checked() {
        assert!(OperationsSettings::default().check().is_ok());
        assert!(OperationsSettings { offer_hours: 0, ..Default::default() }.check().is_err());
        assert!(OperationsSettings { absence_report_days: 40, ..Default::default() }.check().is_err());
    }
}
