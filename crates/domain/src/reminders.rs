//! Who a holiday booking reminder is for: the enrolled children who have booked nothing of the
//! period, and their guardians who did not turn reminders off. When a reminder is due is in
//! [`crate::operations`].

use crate::SiteId;
use crate::booking::Booking;
use crate::family::{Child, Guardian};
use crate::operations::{HolidayBooking, has_booked};

/// The children a holiday reminder names: those of `children` enrolled for the period (in its
/// activity, at one of its `sites`, for one of its units, on its first day) who have booked
/// nothing of it, by `bookings` (the period's, of any child).
pub fn unbooked<'a>(
    p: &HolidayBooking,
    sites: &[SiteId],
    children: impl IntoIterator<Item = &'a Child>,
    bookings: &[Booking],
) -> Vec<&'a Child> {
    children
        .into_iter()
        .filter(|c| {
            c.enrolments
                .iter()
                .any(|e| sites.iter().any(|s| p.units.iter().any(|u| e.covers(&p.activity, s, u, p.first))))
        })
        .filter(|c| !has_booked(p, &c.id, bookings))
        .collect()
}

/// The guardians a reminder goes to: those who did not turn reminders off (`opted_out`, by email).
pub fn reminded(guardians: &[Guardian], opted_out: impl Fn(&str) -> bool) -> Vec<&Guardian> {
    guardians.iter().filter(|g| !opted_out(g.email.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::BookingStatus;
    use crate::operations::HolidayBooking;
    use crate::testkit::{at, booking, child, d, family, id};

    fn winter() -> HolidayBooking {
        HolidayBooking {
            name: "Vacances d'hiver".into(),
            first: d(2027, 2, 8),
            last: d(2027, 2, 19),
            activity: id("alsh"),
            units: vec![id("alsh-mercredi")],
            opens_at: Some(at(2027, 1, 4, 23, 0)),
            deadline: at(2027, 2, 1, 11, 0),
        }
    }

    #[test]
    fn an_enrolled_child_with_nothing_booked_is_named() {
        let lea = child();
        let named = unbooked(&winter(), &[id("ecole-a")], [&lea], &[]);
        assert_eq!(named.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["lea"]);
    }

    #[test]
    fn a_child_with_a_day_booked_or_not_enrolled_there_is_not_named() {
        let lea = child();
        let mut b = booking("alsh-mercredi", d(2027, 2, 10), BookingStatus::Confirmed, 800);
        b.child = lea.id.clone();
        assert!(unbooked(&winter(), &[id("ecole-a")], [&lea], &[b]).is_empty());
        assert!(unbooked(&winter(), &[id("ecole-b")], [&lea], &[]).is_empty(), "enrolled at another site");
    }

    #[test]
    fn a_guardian_who_turned_reminders_off_is_not_reminded() {
        let f = family();
        assert_eq!(reminded(&f.guardians, |_| false).len(), 1);
        assert!(reminded(&f.guardians, |email| email == "sophie@exemple.fr").is_empty());
    }
}
