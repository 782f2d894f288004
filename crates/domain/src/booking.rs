//! Bookings: one child, one unit, one date, with its status, price and attendance.

use super::{ActivityId, Cents, ChildId, FamilyRef, SiteId, UnitId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waits for staff (manual units, waiting lists): « demande en cours ».
    Pending,
    /// « demande validée ».
    Confirmed,
    /// A confirmed booking of a manual unit the parent asked to cancel: « demande d'annulation ».
    CancelRequested,
    /// Staff refused the request: « demande refusée ».
    Refused,
    /// Cancelled (kept for the history; the cell is free again).
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Present,
    Absent,
    /// Absent with a medical certificate accepted: not billed.
    AbsentJustified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub child: ChildId,
    pub family: FamilyRef,
    pub activity: ActivityId,
    pub site: SiteId,
    pub unit: UnitId,
    pub date: NaiveDate,
    pub status: BookingStatus,
    /// The price of the booking, fixed when it was made.
    pub price: Cents,
    /// Booked after the add deadline (by staff), at the late price.
    #[serde(default)]
    pub late: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendance: Option<Attendance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    /// Waits for a place: joined a full unit's waiting list (holds no place).
    #[serde(default)]
    pub waiting_list: bool,
    /// Cancelled by staff after the cancel deadline: still billed at `price`.
    #[serde(default)]
    pub late_cancel: bool,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; writes are conditioned on the version they read.
    #[serde(default)]
    pub version: u64,
    /// Every change, oldest first (the last [`MAX_HISTORY`]).
    #[serde(default)]
    pub history: Vec<Change>,
    /// Cancelled by the town (a closure): never billed; the reason its cell shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by_town: Option<String>,
    /// When the request joined the waiting list: its place in the order of arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<DateTime<Utc>>,
    /// A place freed on a manual unit, offered from the waiting list: staff decide until then,
    /// after which it passes to the next request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_until: Option<DateTime<Utc>>,
    /// An absence a guardian reported (« Mon enfant est malade »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absence_report: Option<AbsenceReport>,
    /// A medical certificate justified this day: a fact of its own, kept whatever the register
    /// marks afterwards; only staff refusing the certificate undo it ([`Booking::unjustify`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<Justification>,
    /// The rule that priced it when it was made, with its figures (the invoice prints it).
    /// `None` on bookings made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priced_by: Option<super::pricing::Rule>,
}

/// When a certificate justified a booking's absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Justification {
    pub at: DateTime<Utc>,
}

/// An absence reported by a guardian past the deadline: the booking stays billed unless a
/// medical certificate follows within the town's delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsenceReport {
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The guardian's email.
    pub by: String,
}

/// How many changes a booking keeps.
pub const MAX_HISTORY: usize = 30;

/// Who changed a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    Guardian,
    Staff,
    /// The portal itself: a waiting-list promotion, an offer that lapsed.
    System,
}

/// One change of a booking: who, when, from which state to which, at what price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// The account's email.
    pub by: String,
    pub role: ChangedBy,
    /// None: the booking was created.
    pub from: Option<BookingStatus>,
    pub to: BookingStatus,
    pub price: Cents,
    /// Made past the deadline (by staff), priced with the late rules.
    #[serde(default)]
    pub late: bool,
}

impl Booking {
    /// Whether the booking holds a place (counts against the capacity).
    pub fn holds_place(&self) -> bool {
        match self.status {
            BookingStatus::Pending => !self.waiting_list,
            BookingStatus::Confirmed | BookingStatus::CancelRequested => true,
            BookingStatus::Refused | BookingStatus::Cancelled => false,
        }
    }

    /// Whether the booking counts for the calendar (not cancelled nor refused).
    pub fn is_live(&self) -> bool {
        !matches!(self.status, BookingStatus::Cancelled | BookingStatus::Refused)
    }
}

/// Who makes a change, and when.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The account's email.
    pub by: &'a str,
    pub role: ChangedBy,
    pub at: DateTime<Utc>,
}

/// The cell a booking is for: one child, one unit, one date, at a site, for a family.
#[derive(Debug, Clone)]
pub struct Slot {
    pub child: ChildId,
    pub family: FamilyRef,
    pub activity: ActivityId,
    pub site: SiteId,
    pub unit: UnitId,
    pub date: NaiveDate,
}

/// What a booking is made at: its status, price, and whether it is late or waits for a place.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub status: BookingStatus,
    pub price: Cents,
    /// Past the add deadline (staff), at the late price.
    pub late: bool,
    /// Joins the waiting list (holds no place).
    pub waiting_list: bool,
    /// The rule that gave `price` (kept on the booking).
    pub rule: Option<super::pricing::Rule>,
}

/// Why a staff decision cannot apply to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionError {
    /// The booking waits for no decision (already decided, or never asked).
    AlreadyDecided,
}

impl Booking {
    /// Books a cell: renews `existing` (a cancelled or refused booking of the same cell keeps
    /// its history) or starts a new one. Attendance, refusal and late cancellation are reset.
    pub fn book(existing: Option<&Booking>, slot: Slot, terms: Terms, actor: Actor) -> Booking {
        let mut b = existing.cloned().unwrap_or_else(|| Booking {
            child: slot.child.clone(),
            family: slot.family.clone(),
            activity: slot.activity.clone(),
            site: slot.site.clone(),
            unit: slot.unit.clone(),
            date: slot.date,
            status: BookingStatus::Cancelled,
            price: terms.price,
            late: terms.late,
            attendance: None,
            refusal_reason: None,
            waiting_list: terms.waiting_list,
            late_cancel: false,
            updated_at: actor.at,
            version: 0,
            history: Vec::new(),
            cancelled_by_town: None,
            queued_at: None,
            offer_until: None,
            absence_report: None,
            justification: None,
            priced_by: terms.rule,
        });
        b.family = slot.family;
        b.site = slot.site;
        b.price = terms.price;
        b.priced_by = terms.rule;
        b.late = terms.late;
        b.attendance = None;
        b.refusal_reason = None;
        b.waiting_list = terms.waiting_list;
        b.late_cancel = false;
        b.cancelled_by_town = None;
        b.offer_until = None;
        b.absence_report = None;
        b.justification = None;
        b.queued_at = terms.waiting_list.then_some(actor.at);
        b.change(terms.status, actor, terms.late);
        b
    }

    /// A child present without a booking: booked now at the late price, and marked present.
    pub fn present_unbooked(
        existing: Option<&Booking>,
        slot: Slot,
        (late_price, rule): (Cents, super::pricing::Rule),
        actor: Actor,
    ) -> Booking {
        let terms = Terms {
            status: BookingStatus::Confirmed,
            price: late_price,
            late: true,
            waiting_list: false,
            rule: Some(rule),
        };
        let mut b = Booking::book(existing, slot, terms, actor);
        b.attendance = Some(Attendance::Present);
        b
    }

    /// Cancels the booking, or asks to (`to` is [`BookingStatus::CancelRequested`] for a
    /// guardian's cancellation of a confirmed booking of a manual unit). `late`: past the
    /// cancel deadline (staff), and still billed at its price.
    pub fn cancel(&self, to: BookingStatus, late: bool, actor: Actor) -> Booking {
        let mut b = self.clone();
        b.late_cancel = late;
        b.change(to, actor, late);
        b
    }

    /// Cancelled by the town (a closure, with its reason): frees the place, never billed, and
    /// leaves the waiting list. `None` when there is nothing to cancel: already cancelled or
    /// refused, or attendance already taken (the day happened).
    pub fn cancel_by_town(&self, reason: &str, actor: Actor) -> Option<Booking> {
        if !self.is_live() || self.attendance.is_some() {
            return None;
        }
        let mut b = self.clone();
        b.late_cancel = false;
        b.waiting_list = false;
        b.offer_until = None;
        b.cancelled_by_town = Some(reason.to_owned());
        b.change(BookingStatus::Cancelled, actor, false);
        Some(b)
    }

    /// Whether the request waits on the waiting list (holds no place yet).
    pub fn is_waiting(&self) -> bool {
        self.status == BookingStatus::Pending && self.waiting_list
    }

    /// A freed place given to this waiting request: confirmed on an automatic unit, or, on a
    /// manual one, held for staff to decide until `offer_until`. `None` if it no longer waits.
    pub fn promote(&self, offer_until: Option<DateTime<Utc>>, actor: Actor) -> Option<Booking> {
        if !self.is_waiting() {
            return None;
        }
        let mut b = self.clone();
        b.waiting_list = false;
        b.offer_until = offer_until;
        let to = if offer_until.is_some() { BookingStatus::Pending } else { BookingStatus::Confirmed };
        b.change(to, actor, false);
        Some(b)
    }

    /// An offered place staff did not decide on in time: the request is refused (with the
    /// reason the guardian reads) and the place passes to the next. `None` if it was decided.
    pub fn lapse_offer(&self, now: DateTime<Utc>, actor: Actor) -> Option<Booking> {
        let due = self.offer_until.is_some_and(|t| t <= now);
        if !(due && self.status == BookingStatus::Pending && !self.waiting_list) {
            return None;
        }
        let mut b = self.clone();
        b.offer_until = None;
        b.refusal_reason = Some("La place proposée depuis la liste d'attente n'a pas été confirmée à temps.".into());
        b.change(BookingStatus::Refused, actor, false);
        Some(b)
    }

    /// A guardian reports the child absent (« Mon enfant est malade ») on a confirmed day not
    /// yet registered. The booking and its price do not change: only a certificate within the
    /// town's delay makes it unbilled ([`Booking::justify_report`]).
    pub fn report_absence(&self, reason: &str, by: &str, at: DateTime<Utc>) -> Option<Booking> {
        if self.status != BookingStatus::Confirmed || self.attendance.is_some() || self.absence_report.is_some() {
            return None;
        }
        let mut b = self.clone();
        b.absence_report = Some(AbsenceReport { reason: reason.to_owned(), at, by: by.to_owned() });
        b.updated_at = at;
        b.version += 1;
        Some(b)
    }

    /// A certificate received at `at` for a reported absence: « absence justifiée » if it came
    /// within `delay` after the day ended in `tz`, or after the report when that was later
    /// ([`certificate_deadline`]), and the day was not registered present.
    pub fn justify_report(&self, at: DateTime<Utc>, delay: chrono::Duration, tz: chrono_tz::Tz) -> Option<Booking> {
        let report = self.absence_report.as_ref()?;
        if at > certificate_deadline(report.at, self.date, delay, tz) {
            return None;
        }
        self.justify(at)
    }

    /// A staff decision on a request: a pending booking is confirmed or refused (with the
    /// reason the guardian reads), a cancellation request is accepted or refused (the booking
    /// stays confirmed). A decided booking leaves the waiting list.
    pub fn decide(&self, accept: bool, reason: Option<&str>, actor: Actor) -> Result<Booking, DecisionError> {
        let to = match (self.status, accept) {
            (BookingStatus::Pending, true) => BookingStatus::Confirmed,
            (BookingStatus::Pending, false) => BookingStatus::Refused,
            (BookingStatus::CancelRequested, true) => BookingStatus::Cancelled,
            (BookingStatus::CancelRequested, false) => BookingStatus::Confirmed,
            _ => return Err(DecisionError::AlreadyDecided),
        };
        let mut b = self.clone();
        if to == BookingStatus::Refused {
            b.refusal_reason = reason.map(str::to_owned);
        }
        b.waiting_list = false;
        b.offer_until = None;
        b.change(to, actor, false);
        Ok(b)
    }

    /// An attendance mark. The status does not change, so no history line: the audit trail
    /// records who took the register.
    /// On a day a certificate justified, « absent » is the justified absence it already is, and
    /// « présent » is recorded as the register says while the justification stays (the day is
    /// still not billed; the register shows it to staff).
    pub fn mark(&self, attendance: Attendance, at: DateTime<Utc>) -> Booking {
        let mut b = self.clone();
        b.attendance = Some(match attendance {
            Attendance::Absent if self.justification.is_some() => Attendance::AbsentJustified,
            other => other,
        });
        b.updated_at = at;
        b.version += 1;
        b
    }

    /// Whether an accepted medical certificate makes this booking « absence justifiée »: a
    /// confirmed booking not marked present.
    pub fn can_be_justified(&self) -> bool {
        self.status == BookingStatus::Confirmed && matches!(self.attendance, None | Some(Attendance::Absent))
    }

    /// The booking marked « absence justifiée » (not billed); `None` when it cannot be
    /// (see [`Booking::can_be_justified`]).
    pub fn justify(&self, at: DateTime<Utc>) -> Option<Booking> {
        self.can_be_justified().then(|| {
            let mut b = self.mark(Attendance::AbsentJustified, at);
            b.justification = Some(Justification { at });
            b
        })
    }

    /// Whether the day is « absence justifiée » on the invoice: a certificate justified it, or
    /// staff marked it so in the register.
    pub fn is_justified(&self) -> bool {
        self.justification.is_some() || self.attendance == Some(Attendance::AbsentJustified)
    }

    /// Staff refused the certificate that justified this day: the justification goes, a justified
    /// absence becomes a plain (billed) one, a « présent » mark stays. `None`: nothing to undo.
    pub fn unjustify(&self, at: DateTime<Utc>) -> Option<Booking> {
        if !self.is_justified() {
            return None;
        }
        let mut b = self.clone();
        b.justification = None;
        if b.attendance == Some(Attendance::AbsentJustified) {
            b.attendance = Some(Attendance::Absent);
        }
        b.updated_at = at;
        b.version += 1;
        Some(b)
    }

    /// The places a change from `before` to `self` takes (+1) or frees (-1) on a unit with a
    /// capacity.
    pub fn places_from(&self, before: Option<&Booking>) -> i64 {
        match (before.is_some_and(Booking::holds_place), self.holds_place()) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        }
    }

    /// The places a change from `before` to `self` takes in the unit-day's queue: +1 when it
    /// joins the waiting list, -1 when it leaves it (promoted, decided, cancelled).
    pub fn waiting_from(&self, before: Option<&Booking>) -> i64 {
        match (before.is_some_and(Booking::is_waiting), self.is_waiting()) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        }
    }

    /// Records a change: the new status, the history line, the version.
    fn change(&mut self, to: BookingStatus, actor: Actor, late: bool) {
        let from = (self.version > 0 || !self.history.is_empty()).then_some(self.status);
        self.history.push(Change {
            at: actor.at,
            by: actor.by.to_owned(),
            role: actor.role,
            from,
            to,
            price: self.price,
            late,
        });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
        self.status = to;
        self.updated_at = actor.at;
        self.version += 1;
    }
}

/// Until when a medical certificate justifies a reported day: the town's delay counted from the
/// end of that day in the town's time zone, or from the report when it came later. A
/// certificate is never due before the day it covers.
pub fn certificate_deadline(
    reported_at: DateTime<Utc>,
    day: NaiveDate,
    delay: chrono::Duration,
    tz: chrono_tz::Tz,
) -> DateTime<Utc> {
    let end = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|midnight| chrono::TimeZone::from_local_datetime(&tz, &midnight).earliest())
        .map_or(reported_at, |t| t.with_timezone(&Utc));
    end.max(reported_at) + delay
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at, booking, d, guardian, staff};

    #[test]
    fn a_new_booking_starts_its_history_with_its_creation() {
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        assert_eq!((b.version, b.status, b.history.len()), (1, BookingStatus::Confirmed, 1));
        assert_eq!(b.history[0].from, None);
        assert_eq!(b.history[0].role, ChangedBy::Guardian);
    }

    #[test]
    fn rebooking_a_cancelled_day_keeps_its_history_and_starts_afresh() {
        let now = at(2026, 12, 1, 10, 0);
        let cancelled = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250)
            .mark(Attendance::Absent, now)
            .cancel(BookingStatus::Cancelled, true, staff(now));
        assert!(cancelled.late_cancel && !cancelled.holds_place());
        let slot = Slot {
            child: cancelled.child.clone(),
            family: cancelled.family.clone(),
            activity: cancelled.activity.clone(),
            site: cancelled.site.clone(),
            unit: cancelled.unit.clone(),
            date: cancelled.date,
        };
        let price = Cents::new(700).unwrap();
        let terms = Terms { status: BookingStatus::Confirmed, price, late: true, waiting_list: false, rule: None };
        let again = Booking::book(Some(&cancelled), slot, terms, staff(now));
        assert_eq!(again.version, cancelled.version + 1);
        assert_eq!(again.history.len(), 3);
        assert_eq!(again.history[2].from, Some(BookingStatus::Cancelled));
        assert!(again.history[2].late);
        assert_eq!((again.attendance, again.late_cancel, again.price), (None, false, price));
    }

    #[test]
    fn staff_decide_requests_and_cancellation_requests() {
        let now = at(2026, 12, 1, 10, 0);
        let pending = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200);
        let accepted = pending.decide(true, None, staff(now)).unwrap();
        assert_eq!(accepted.status, BookingStatus::Confirmed);
        let refused = pending.decide(false, Some("Complet"), staff(now)).unwrap();
        assert_eq!((refused.status, refused.refusal_reason.as_deref()), (BookingStatus::Refused, Some("Complet")));
        assert_eq!(accepted.decide(true, None, staff(now)), Err(DecisionError::AlreadyDecided));

        let asked = accepted.cancel(BookingStatus::CancelRequested, false, guardian(now));
        assert!(asked.holds_place(), "a cancellation request keeps the place until staff decide");
        assert_eq!(asked.decide(true, None, staff(now)).unwrap().status, BookingStatus::Cancelled);
        assert_eq!(asked.decide(false, Some("Hors délai"), staff(now)).unwrap().status, BookingStatus::Confirmed);
    }

    #[test]
    fn a_decision_takes_a_waiting_request_off_the_list() {
        let mut waiting = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200);
        waiting.waiting_list = true;
        assert!(!waiting.holds_place());
        let accepted = waiting.decide(true, None, staff(at(2026, 12, 1, 10, 0))).unwrap();
        assert!(!accepted.waiting_list);
        assert_eq!(accepted.places_from(Some(&waiting)), 1);
        assert_eq!(waiting.places_from(Some(&accepted)), -1);
        assert_eq!(accepted.places_from(Some(&accepted)), 0);
        assert_eq!((waiting.waiting_from(None), accepted.waiting_from(Some(&waiting))), (1, -1));
        assert_eq!(accepted.waiting_from(Some(&accepted)), 0);
    }

    #[test]
    fn a_mark_bumps_the_version_without_a_history_line() {
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let marked = b.mark(Attendance::Present, at(2026, 12, 7, 12, 0));
        assert_eq!((marked.version, marked.history.len()), (b.version + 1, b.history.len()));
        assert_eq!(marked.attendance, Some(Attendance::Present));
    }

    #[test]
    fn a_certificate_justifies_a_confirmed_booking_not_marked_present() {
        let now = at(2026, 12, 8, 9, 0);
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        assert_eq!(b.justify(now).unwrap().attendance, Some(Attendance::AbsentJustified));
        assert_eq!(b.mark(Attendance::Absent, now).justify(now).unwrap().attendance, Some(Attendance::AbsentJustified));
        assert!(b.mark(Attendance::Present, now).justify(now).is_none());
        assert!(booking("cantine", d(2026, 12, 7), BookingStatus::Pending, 250).justify(now).is_none());
        assert!(b.cancel(BookingStatus::Cancelled, false, guardian(now)).justify(now).is_none());
    }

    #[test]
    fn the_history_keeps_the_last_changes_only() {
        let now = at(2026, 12, 1, 10, 0);
        let mut b = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200);
        for _ in 0..40 {
            b = b
                .cancel(BookingStatus::CancelRequested, false, guardian(now))
                .decide(false, Some("non"), staff(now))
                .unwrap();
        }
        assert_eq!(b.history.len(), MAX_HISTORY);
        assert_eq!(b.version, 81);
    }

    fn waiting(date: NaiveDate, at_: DateTime<Utc>) -> Booking {
        let b = booking("alsh-mercredi", date, BookingStatus::Pending, 1200);
        let slot = Slot {
            child: b.child.clone(),
            family: b.family.clone(),
            activity: b.activity.clone(),
            site: b.site.clone(),
            unit: b.unit.clone(),
            date,
        };
        let terms =
            Terms { status: BookingStatus::Pending, price: b.price, late: false, waiting_list: true, rule: None };
        Booking::book(None, slot, terms, guardian(at_))
    }

    #[test]
    fn a_closure_cancels_live_bookings_unbilled_with_its_reason() {
        let now = at(2026, 12, 1, 10, 0);
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let c = b.cancel_by_town("Grève du 07/12", staff(now)).unwrap();
        assert_eq!(
            (c.status, c.late_cancel, c.cancelled_by_town.as_deref()),
            (BookingStatus::Cancelled, false, Some("Grève du 07/12"))
        );
        assert_eq!(c.places_from(Some(&b)), -1);
        assert!(c.cancel_by_town("encore", staff(now)).is_none(), "nothing left to cancel");
        assert!(
            b.mark(Attendance::Present, now).cancel_by_town("x", staff(now)).is_none(),
            "a day that happened stays"
        );
        let w = waiting(d(2026, 12, 16), now).cancel_by_town("Grève", staff(now)).unwrap();
        assert!(!w.waiting_list && w.queued_at.is_some());
        // Rebooked later: the town's cancellation is forgotten.
        let slot = Slot {
            child: c.child.clone(),
            family: c.family.clone(),
            activity: c.activity.clone(),
            site: c.site.clone(),
            unit: c.unit.clone(),
            date: c.date,
        };
        let terms =
            Terms { status: BookingStatus::Confirmed, price: c.price, late: false, waiting_list: false, rule: None };
        assert_eq!(Booking::book(Some(&c), slot, terms, guardian(now)).cancelled_by_town, None);
    }

    #[test]
    fn a_waiting_request_is_promoted_confirmed_or_offered_and_an_offer_lapses() {
        let queued = at(2026, 11, 20, 9, 0);
        let w = waiting(d(2026, 12, 16), queued);
        assert_eq!(w.queued_at, Some(queued));
        assert!(w.is_waiting() && !w.holds_place());
        let system = Actor { by: "liste d'attente", role: ChangedBy::System, at: at(2026, 12, 1, 10, 0) };
        let auto = w.promote(None, system).unwrap();
        assert_eq!((auto.status, auto.waiting_list), (BookingStatus::Confirmed, false));
        assert_eq!(auto.places_from(Some(&w)), 1);
        assert!(auto.promote(None, system).is_none(), "promoted once");
        let until = at(2026, 12, 3, 10, 0);
        let offered = w.promote(Some(until), system).unwrap();
        assert_eq!(
            (offered.status, offered.holds_place(), offered.offer_until),
            (BookingStatus::Pending, true, Some(until))
        );
        assert!(offered.lapse_offer(at(2026, 12, 3, 9, 59), system).is_none(), "not yet due");
        let lapsed = offered.lapse_offer(until, system).unwrap();
        assert_eq!(lapsed.status, BookingStatus::Refused);
        assert_eq!(lapsed.places_from(Some(&offered)), -1);
        let decided = offered.decide(true, None, staff(until)).unwrap();
        assert!(decided.offer_until.is_none() && decided.lapse_offer(until, system).is_none());
    }

    #[test]
    fn a_certificate_for_days_ahead_is_due_after_those_days_not_before() {
        // Reported on Friday 11 December at 17:00 for Monday 14: the certificate is due within
        // 48 hours of the end of the 14th (Thursday 17, 0:00 in Paris), not of the report
        // (Sunday 13 at 17:00, before the child was even absent).
        let b = booking("cantine", d(2026, 12, 14), BookingStatus::Confirmed, 250);
        let r = b.report_absence("Fièvre", "sophie@exemple.fr", at(2026, 12, 11, 17, 0)).unwrap();
        let delay = chrono::Duration::hours(48);
        let paris = chrono_tz::Europe::Paris;
        assert!(
            r.justify_report(at(2026, 12, 16, 12, 0), delay, paris).is_some(),
            "the day after the absence is in time"
        );
        assert!(
            r.justify_report(at(2026, 12, 17, 0, 0), delay, paris).is_some(),
            "until midnight, 48 hours after the day"
        );
        assert!(r.justify_report(at(2026, 12, 17, 0, 1), delay, paris).is_none(), "too late");
    }

    #[test]
    fn a_reported_absence_is_justified_only_by_a_certificate_in_time() {
        let reported_at = at(2026, 12, 7, 6, 30);
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let r = b.report_absence("Fièvre", "sophie@exemple.fr", reported_at).unwrap();
        assert_eq!((r.status, r.attendance, r.price), (b.status, None, b.price), "still billed as booked");
        assert!(r.report_absence("encore", "sophie@exemple.fr", reported_at).is_none(), "reported once");
        let delay = chrono::Duration::hours(48);
        let paris = chrono_tz::Europe::Paris;
        // Reported on the day: due 48 hours after the day ends (Wednesday 9 at midnight).
        assert!(r.justify_report(at(2026, 12, 10, 0, 1), delay, paris).is_none(), "too late");
        let j = r.justify_report(at(2026, 12, 10, 0, 0), delay, paris).unwrap();
        assert_eq!(j.attendance, Some(Attendance::AbsentJustified));
        assert!(b.justify_report(reported_at, delay, paris).is_none(), "nothing was reported");
        assert!(r.mark(Attendance::Present, reported_at).justify_report(reported_at, delay, paris).is_none());
        let pending = booking("alsh-mercredi", d(2026, 12, 16), BookingStatus::Pending, 1200);
        assert!(pending.report_absence("x", "sophie@exemple.fr", reported_at).is_none());
    }

    #[test]
    fn a_justified_absence_survives_any_later_mark_until_the_certificate_is_refused() {
        let now = at(2026, 12, 7, 12, 0);
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let j = b.justify(now).unwrap();
        assert!(j.justification.is_some() && j.is_justified());
        let absent = j.mark(Attendance::Absent, now);
        assert_eq!((absent.attendance, absent.is_justified()), (Some(Attendance::AbsentJustified), true));
        let present = absent.mark(Attendance::Present, now);
        assert_eq!((present.attendance, present.is_justified()), (Some(Attendance::Present), true), "flagged, kept");
        let refused = absent.unjustify(now).unwrap();
        assert_eq!((refused.attendance, refused.is_justified()), (Some(Attendance::Absent), false));
        assert_eq!(present.unjustify(now).unwrap().attendance, Some(Attendance::Present));
        assert!(refused.unjustify(now).is_none(), "nothing left to undo");
        // A staff mark alone is no certificate: the register can change it.
        let marked = b.mark(Attendance::AbsentJustified, now);
        assert!(marked.is_justified() && !marked.mark(Attendance::Absent, now).is_justified());
    }
}
