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
}

/// How many changes a booking keeps.
pub const MAX_HISTORY: usize = 30;

/// Who changed a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    Guardian,
    Staff,
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
        });
        b.family = slot.family;
        b.site = slot.site;
        b.price = terms.price;
        b.late = terms.late;
        b.attendance = None;
        b.refusal_reason = None;
        b.waiting_list = terms.waiting_list;
        b.late_cancel = false;
        b.change(terms.status, actor, terms.late);
        b
    }

    /// A child present without a booking: booked now at the late price, and marked present.
    pub fn present_unbooked(existing: Option<&Booking>, slot: Slot, late_price: Cents, actor: Actor) -> Booking {
        let terms = Terms { status: BookingStatus::Confirmed, price: late_price, late: true, waiting_list: false };
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
        b.change(to, actor, false);
        Ok(b)
    }

    /// An attendance mark. The status does not change, so no history line: the audit trail
    /// records who took the register.
    pub fn mark(&self, attendance: Attendance, at: DateTime<Utc>) -> Booking {
        let mut b = self.clone();
        b.attendance = Some(attendance);
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
        self.can_be_justified().then(|| self.mark(Attendance::AbsentJustified, at))
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
