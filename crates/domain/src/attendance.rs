//! Taking the register: each child of a day, unit and site marked present, absent, absent with
//! a justification, or present without a booking (booked then, at the late price). Every mark
//! of a register is checked before any is written.

use super::booking::{Actor, Attendance, Booking, Slot};
use super::config::{Activity, NotOffered, Town, Unit};
use super::family::{Child, Family};
use super::{ChildId, SiteId, pricing};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Present,
    Absent,
    AbsentJustified,
    /// Came without a booking: booked now, at the late price.
    PresentUnbooked,
}

/// The register of one day, unit and site, as read.
pub struct Register<'a> {
    pub town: &'a Town,
    pub activity: &'a Activity,
    pub unit: &'a Unit,
    pub site: &'a SiteId,
    pub date: NaiveDate,
    /// The children's bookings of that unit, site and day, in any status.
    pub bookings: &'a HashMap<ChildId, Booking>,
    pub children: &'a HashMap<ChildId, Child>,
    pub families: &'a [Family],
}

/// What one mark writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Marked {
    /// The version the booking had; `None`: there was none.
    pub expected_version: Option<u64>,
    /// Its attendance before the mark (the audit entry records it).
    pub before: Option<Attendance>,
    pub booking: Booking,
    /// 1 when the mark takes a place of a unit with a capacity (present without booking).
    pub places: i64,
}

/// A mark refused: its index in the register, the child, the French reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub index: usize,
    pub child: ChildId,
    pub reason: String,
}

impl Register<'_> {
    /// The writes of every mark, or every mark that cannot apply (then nothing applies).
    pub fn mark(&self, marks: &[(ChildId, MarkKind)], actor: Actor) -> Result<Vec<Marked>, Vec<Refused>> {
        let mut seen = HashSet::new();
        let mut refused = Vec::new();
        let mut out = Vec::new();
        for (index, (child, kind)) in marks.iter().enumerate() {
            let verdict = if seen.insert(child) { self.one(child, *kind, actor) } else { Err(MarkRefused::Twice) };
            match verdict {
                Ok(m) => out.push(m),
                Err(why) => refused.push(Refused { index, child: child.clone(), reason: why.to_string() }),
            }
        }
        if refused.is_empty() { Ok(out) } else { Err(refused) }
    }

    fn one(&self, child: &ChildId, kind: MarkKind, actor: Actor) -> Result<Marked, MarkRefused> {
        let existing = self.bookings.get(child);
        let live = existing.filter(|b| b.holds_place() || b.attendance.is_some());
        let attendance = match (kind, live) {
            (MarkKind::PresentUnbooked, Some(_)) => {
                return Err(MarkRefused::AlreadyBooked);
            }
            (MarkKind::PresentUnbooked, None) => return self.unbooked(child, existing, actor),
            (_, None) => {
                return Err(MarkRefused::NotBooked);
            }
            (MarkKind::Present, Some(_)) => Attendance::Present,
            (MarkKind::Absent, Some(_)) => Attendance::Absent,
            (MarkKind::AbsentJustified, Some(_)) => Attendance::AbsentJustified,
        };
        let b = live.ok_or(MarkRefused::NotEnrolled)?;
        Ok(Marked {
            expected_version: Some(b.version),
            before: b.attendance,
            booking: b.mark(attendance, actor.at),
            places: 0,
        })
    }

    /// A child present without a booking is booked to (and billed to, at its late price) the
    /// household of the cell's earlier booking (cancelled or refused) when there is one, else to
    /// the first of the child's families (`docs/billing.md`, a shared child).
    fn unbooked(&self, child: &ChildId, existing: Option<&Booking>, actor: Actor) -> Result<Marked, MarkRefused> {
        let of_child = || self.families.iter().filter(|f| f.children.contains(child));
        let family = existing.and_then(|b| of_child().find(|f| f.reference == b.family)).or_else(|| of_child().next());
        let (Some(child), Some(family)) = (self.children.get(child), family) else {
            return Err(MarkRefused::UnknownChild);
        };
        self.town.offering_at(self.activity, self.unit, self.site, self.date).map_err(MarkRefused::NotOffered)?;
        let slot = Slot {
            child: child.id.clone(),
            family: family.reference.clone(),
            activity: self.activity.id.clone(),
            site: self.site.clone(),
            unit: self.unit.id.clone(),
            date: self.date,
        };
        let booking = Booking::present_unbooked(existing, slot, pricing::priced(self.unit, family, true), actor);
        Ok(Marked {
            expected_version: existing.map(|b| b.version),
            before: existing.and_then(|b| b.attendance),
            booking,
            places: i64::from(self.unit.capacity.is_some()),
        })
    }
}

/// Why one child's mark is refused (the others of the register are taken).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkRefused {
    #[error("Cet enfant figure deux fois dans le pointage.")]
    Twice,
    #[error("Cet enfant est déjà inscrit ce jour-là : pointez-le présent.")]
    AlreadyBooked,
    #[error("Cet enfant n'est pas inscrit ce jour-là : pointez-le « présent sans réservation ».")]
    NotBooked,
    #[error("Cet enfant n'est pas inscrit ce jour-là.")]
    NotEnrolled,
    #[error("Cet enfant est introuvable.")]
    UnknownChild,
    #[error("{}", .0.french())]
    NotOffered(NotOffered),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::BookingStatus;
    use crate::testkit::{at, booking, child, d, family, id, staff, town};

    fn register_marks(bookings: Vec<Booking>, marks: &[(&str, MarkKind)]) -> Result<Vec<Marked>, Vec<Refused>> {
        let town = town();
        let (activity, unit) = town.unit(&id("cantine")).unwrap();
        let bookings = bookings.into_iter().map(|b| (b.child.clone(), b)).collect();
        let c = child();
        let children = HashMap::from([(c.id.clone(), c)]);
        let families = [family()];
        let register = Register {
            town: &town,
            activity,
            unit,
            site: &id("ecole-a"),
            date: d(2026, 12, 7),
            bookings: &bookings,
            children: &children,
            families: &families,
        };
        let marks: Vec<(ChildId, MarkKind)> = marks.iter().map(|(c, k)| (id(c), *k)).collect();
        register.mark(&marks, staff(at(2026, 12, 7, 12, 0)))
    }

    #[test]
    fn a_booked_child_is_marked_present_or_absent() {
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let m = register_marks(vec![b.clone()], &[("lea", MarkKind::Absent)]).unwrap();
        assert_eq!((m[0].expected_version, m[0].places), (Some(b.version), 0));
        assert_eq!((m[0].before, m[0].booking.attendance), (None, Some(Attendance::Absent)));
    }

    #[test]
    fn the_register_keeps_a_certificates_justification() {
        let now = at(2026, 12, 7, 9, 0);
        let justified = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250).justify(now).unwrap();
        let m = register_marks(vec![justified.clone()], &[("lea", MarkKind::Absent)]).unwrap();
        assert_eq!(
            (m[0].before, m[0].booking.attendance),
            (Some(Attendance::AbsentJustified), Some(Attendance::AbsentJustified))
        );
        let m = register_marks(vec![justified], &[("lea", MarkKind::Present)]).unwrap();
        assert_eq!((m[0].booking.attendance, m[0].booking.is_justified()), (Some(Attendance::Present), true));
    }

    #[test]
    fn a_child_present_without_booking_is_booked_at_the_late_price() {
        let m = register_marks(vec![], &[("lea", MarkKind::PresentUnbooked)]).unwrap();
        assert_eq!((m[0].expected_version, m[0].places), (None, 1));
        let b = &m[0].booking;
        assert_eq!(
            (b.status, b.attendance, b.late, b.price.get()),
            (BookingStatus::Confirmed, Some(Attendance::Present), true, 550)
        );
    }

    #[test]
    fn a_shared_child_present_without_booking_goes_to_the_household_that_booked_the_day_else_the_first() {
        let town = town();
        let (activity, unit) = town.unit(&id("cantine")).unwrap();
        let c = child();
        let children = HashMap::from([(c.id.clone(), c)]);
        let mut petit = family();
        petit.reference = id("petit");
        petit.quotient_familial = None;
        let families = [family(), petit];
        let register = |bookings: &HashMap<ChildId, Booking>| {
            let r = Register {
                town: &town,
                activity,
                unit,
                site: &id("ecole-a"),
                date: d(2026, 12, 7),
                bookings,
                children: &children,
                families: &families,
            };
            let m = r.mark(&[(id("lea"), MarkKind::PresentUnbooked)], staff(at(2026, 12, 7, 12, 0))).unwrap();
            (m[0].booking.family.to_string(), m[0].booking.price.get())
        };
        assert_eq!(register(&HashMap::new()), ("martin".to_owned(), 550), "no earlier booking: the first family");
        let mut theirs = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 400);
        theirs.family = id("petit");
        let cancelled = theirs.cancel(BookingStatus::Cancelled, false, staff(at(2026, 12, 1, 9, 0)));
        let bookings = HashMap::from([(id("lea"), cancelled)]);
        assert_eq!(register(&bookings), ("petit".to_owned(), 700), "their late price: base 4,00 € + 3,00 €");
    }

    #[test]
    fn one_wrong_mark_refuses_the_register() {
        let refused = register_marks(
            vec![],
            &[("lea", MarkKind::Present), ("lea", MarkKind::Absent), ("noe", MarkKind::PresentUnbooked)],
        )
        .unwrap_err();
        let reasons: Vec<(usize, &str)> = refused.iter().map(|r| (r.index, r.reason.as_str())).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].1.contains("présent sans réservation"));
        assert!(reasons[1].1.contains("deux fois"));
        assert!(reasons[2].1.contains("introuvable"));
        let b = booking("cantine", d(2026, 12, 7), BookingStatus::Confirmed, 250);
        let twice = register_marks(vec![b], &[("lea", MarkKind::PresentUnbooked)]).unwrap_err();
        assert!(twice[0].reason.contains("déjà inscrit"));
    }
}
