//! How long a child's file is kept (the privacy register, docs/privacy.md): while the child uses
//! the service, then until the end of the calendar year that follows the child's last use of it,
//! unless the town keeps it less (`child_file.kept_years_after_last_use`: 1 by default, 0 to
//! delete it at the end of the year of the last use). The last use is the later of the child's
//! last booking and the file's last change: a file a guardian just filled for a child not yet
//! booked is not deleted the next night.

use chrono::{Datelike, NaiveDate};

/// The most years a town may keep a file after the child's last use (the register's rule).
pub const MAX_KEPT_YEARS: u8 = 1;

/// The child's last use of the service: the later of its last booking (any state: a cancelled
/// booking is a use too) and the day its file last changed.
pub fn last_use(last_booking: Option<NaiveDate>, file_changed: NaiveDate) -> NaiveDate {
    last_booking.map_or(file_changed, |b| b.max(file_changed))
}

/// The first day the file is no longer kept: the 1st of January after the end of the year
/// `kept_years` after the year of `last_use`. A `kept_years` over [`MAX_KEPT_YEARS`] counts as it
/// (the configuration refuses it anyway).
pub fn deletion_day(last_use: NaiveDate, kept_years: u8) -> NaiveDate {
    let years = i32::from(kept_years.min(MAX_KEPT_YEARS));
    // Years of chrono dates are within ±262,143: the next ones exist.
    NaiveDate::from_ymd_opt(last_use.year() + years + 1, 1, 1).unwrap_or(NaiveDate::MAX)
}

/// Whether the file is to be deleted on `today`.
pub fn is_due(last_use: NaiveDate, kept_years: u8, today: NaiveDate) -> bool {
    today >= deletion_day(last_use, kept_years)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn kept_until_the_end_of_the_year_that_follows_the_last_booking() {
        let last = last_use(Some(d("2025-07-04")), d("2024-09-01"));
        assert_eq!(last, d("2025-07-04"));
        assert_eq!(deletion_day(last, 1), d("2027-01-01"));
        assert!(!is_due(last, 1, d("2026-12-31")));
        assert!(is_due(last, 1, d("2027-01-01")));
    }

    #[test]
    fn a_town_may_keep_it_less_but_not_more() {
        let last = d("2026-12-31");
        assert_eq!(deletion_day(last, 0), d("2027-01-01"));
        assert!(is_due(last, 0, d("2027-01-01")));
        assert_eq!(deletion_day(last, 9), d("2028-01-01"));
    }

    #[test]
    fn a_file_changed_after_the_last_booking_counts_from_its_change() {
        // Filled in December 2026 for a child last booked in 2024: kept through 2027.
        assert_eq!(last_use(Some(d("2024-06-30")), d("2026-12-01")), d("2026-12-01"));
        assert!(!is_due(last_use(Some(d("2024-06-30")), d("2026-12-01")), 1, d("2027-06-01")));
        // Never booked: from the file's change alone.
        assert_eq!(last_use(None, d("2025-03-02")), d("2025-03-02"));
        assert!(is_due(last_use(None, d("2025-03-02")), 1, d("2027-01-01")));
    }

    #[test]
    fn a_booking_in_the_future_keeps_it() {
        let last = last_use(Some(d("2027-09-02")), d("2025-01-10"));
        assert!(!is_due(last, 1, d("2027-01-01")));
        assert!(!is_due(last, 0, d("2027-12-31")));
    }
}
