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
    pub updated_at: DateTime<Utc>,
}

impl Booking {
    /// Whether the booking holds a place (counts against the capacity).
    pub fn holds_place(&self) -> bool {
        matches!(self.status, BookingStatus::Pending | BookingStatus::Confirmed | BookingStatus::CancelRequested)
    }
}
