//! A school year, `2027-2028`: from 1 September of its first year to 31 August of the next.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A school year, named by its two calendar years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SchoolYear(i32);

/// A school year that is not `AAAA-AAAA` with consecutive years between 2000 and 2200.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("l'année scolaire « {0} » n'est pas de la forme 2027-2028")]
pub struct InvalidSchoolYear(pub String);

impl crate::Refusal for InvalidSchoolYear {
    fn code(&self) -> &'static str {
        "invalid_school_year"
    }
    fn field(&self) -> Option<String> {
        Some("year".into())
    }
    fn kind(&self) -> crate::Kind {
        crate::Kind::Malformed
    }
}

impl SchoolYear {
    pub fn parse(s: &str) -> Result<SchoolYear, InvalidSchoolYear> {
        let bad = || InvalidSchoolYear(s.chars().take(20).collect());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        if a.len() != 4 || b.len() != 4 || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let (a, b): (i32, i32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if b != a + 1 || !(2000..=2200).contains(&a) {
            return Err(bad());
        }
        Ok(SchoolYear(a))
    }

    /// The school year `date` falls in (September to August).
    pub fn of(date: NaiveDate) -> SchoolYear {
        SchoolYear(if date.month() >= 9 { date.year() } else { date.year() - 1 })
    }

    pub fn next(self) -> SchoolYear {
        SchoolYear(self.0 + 1)
    }

    pub fn previous(self) -> SchoolYear {
        SchoolYear(self.0 - 1)
    }

    /// 1 September.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 9, 1).unwrap_or(NaiveDate::MIN)
    }

    /// 31 August of the next calendar year.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 8, 31).unwrap_or(NaiveDate::MAX)
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.first_day() <= date && date <= self.last_day()
    }
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.0 + 1)
    }
}

impl TryFrom<String> for SchoolYear {
    type Error = InvalidSchoolYear;
    fn try_from(s: String) -> Result<SchoolYear, InvalidSchoolYear> {
        SchoolYear::parse(&s)
    }
}

impl From<SchoolYear> for String {
    fn from(y: SchoolYear) -> String {
        y.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::d;

    #[test]
    fn a_school_year_is_two_consecutive_years_from_september_to_august() {
        let y = SchoolYear::parse("2027-2028").unwrap();
        assert_eq!(y.to_string(), "2027-2028");
        assert_eq!((y.first_day(), y.last_day()), (d(2027, 9, 1), d(2028, 8, 31)));
        assert_eq!(SchoolYear::of(d(2028, 8, 31)), y);
        assert_eq!(SchoolYear::of(d(2027, 9, 1)), y);
        assert_eq!(SchoolYear::of(d(2027, 8, 31)), y.previous());
        assert_eq!(y.next().to_string(), "2028-2029");
        for bad in ["2027-2029", "2027", "27-28", "2027-2028 ", "+027-2028", "1999-2000", "２０２７-2028"] {
            assert!(SchoolYear::parse(bad).is_err(), "{bad}");
        }
        let json: Result<SchoolYear, _> = serde_json::from_str("\"2026-2025\"");
        assert!(json.is_err());
    }
}
