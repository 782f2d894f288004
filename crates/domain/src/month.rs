//! A calendar month, as billing counts: `AAAA-MM` where it is written (paths, queries, stored
//! invoices and keys), parsed once at the edge and carried as a [`Month`] from there on.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A month of a plausible year ([`crate::date`]'s range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Its first day.
    first: NaiveDate,
}

/// A text that is not a month `AAAA-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Le mois s'écrit AAAA-MM, par exemple 2026-11.")]
pub struct MonthError;

impl crate::Refusal for MonthError {
    fn code(&self) -> &'static str {
        "invalid_month"
    }
    fn field(&self) -> Option<String> {
        Some("month".into())
    }
    fn kind(&self) -> crate::Kind {
        crate::Kind::Malformed
    }
}

impl Month {
    /// `AAAA-MM` exactly: seven characters, a real month of a plausible year.
    pub fn parse(raw: &str) -> Result<Month, MonthError> {
        let b = raw.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(MonthError);
        }
        let first = crate::date::parse_date(&format!("{raw}-01")).map_err(|_| MonthError)?;
        Ok(Month { first })
    }

    /// The month of a day.
    pub fn of(d: NaiveDate) -> Month {
        Month { first: d.with_day(1).unwrap_or(d) }
    }

    pub fn first(self) -> NaiveDate {
        self.first
    }

    pub fn last(self) -> NaiveDate {
        self.next().first.pred_opt().unwrap_or(self.first)
    }

    /// The first and last day.
    pub fn days(self) -> (NaiveDate, NaiveDate) {
        (self.first(), self.last())
    }

    pub fn previous(self) -> Month {
        Month::of(self.first.pred_opt().unwrap_or(self.first))
    }

    pub fn next(self) -> Month {
        Month { first: self.first.checked_add_months(Months::new(1)).unwrap_or(self.first) }
    }

    pub fn contains(self, d: NaiveDate) -> bool {
        Month::of(d) == self
    }

    /// « novembre 2026 »
    pub fn french(self) -> String {
        crate::fr::month(self.first)
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

impl FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Month, MonthError> {
        Month::parse(s)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let raw = String::deserialize(d)?;
        Month::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl PartialEq<str> for Month {
    fn eq(&self, other: &str) -> bool {
        Month::parse(other).is_ok_and(|m| m == *self)
    }
}

impl PartialEq<&str> for Month {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_month_is_written_aaaa_mm_and_nothing_else() {
        let nov = Month::parse("2026-11").unwrap();
        assert_eq!(nov.to_string(), "2026-11");
        assert_eq!(nov.days(), (d(2026, 11, 1), d(2026, 11, 30)));
        assert_eq!(Month::parse("2028-02").unwrap().last(), d(2028, 2, 29));
        for bad in
            ["2026-13", "2026-00", "2026-1", "202611", "+2026-11", "2026-11-01", "1899-12", "2101-01", "", "2026/11"]
        {
            assert_eq!(Month::parse(bad), Err(MonthError), "{bad:?}");
        }
        assert_eq!(crate::Refusal::code(&MonthError), "invalid_month");
    }

    #[test]
    fn months_follow_each_other_across_years() {
        let dec = Month::of(d(2026, 12, 24));
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.next().previous(), dec);
        assert!(dec.contains(d(2026, 12, 31)) && !dec.contains(d(2027, 1, 1)));
        assert_eq!(dec.french(), "décembre 2026");
        assert!(dec < dec.next());
    }

    #[test]
    fn it_reads_and_writes_as_its_text() {
        let m: Month = serde_json::from_str("\"2026-11\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"2026-11\"");
        assert!(serde_json::from_str::<Month>("\"2026-11-01\"").is_err());
        assert!(m == "2026-11" && m != "2026-12");
    }

    proptest! {
        #[test]
        fn every_day_of_a_month_is_in_it(y in 1900i32..=2100, m in 1u32..=12, day in 1u32..=31) {
            prop_assume!(NaiveDate::from_ymd_opt(y, m, day).is_some());
            let date = d(y, m, day);
            let month = Month::of(date);
            prop_assert!(month.first() <= date && date <= month.last());
            prop_assert_eq!(Month::parse(&month.to_string()), Ok(month));
        }
    }
}
