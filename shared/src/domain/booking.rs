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

    /// Records a change: the new status, the history line, the version.
    pub fn change(&mut self, to: BookingStatus, at: DateTime<Utc>, by: &str, role: ChangedBy, late: bool) {
        let from = (self.version > 0 || !self.history.is_empty()).then_some(self.status);
        self.history.push(Change { at, by: by.to_owned(), role, from, to, price: self.price, late });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
        self.status = to;
        self.updated_at = at;
        self.version += 1;
    }
}
