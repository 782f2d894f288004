//! The period view: « Réserver en vue Période ». A date range, units, weekdays, every week or
//! every other week, expanded into the dates it concerns.

use super::UnitId;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The longest period one request may cover (a school year is about 310 days).
pub const MAX_PERIOD_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub units: Vec<UnitId>,
    /// `["Tue"]`: every Tuesday.
    pub weekdays: Vec<Weekday>,
    /// 1: every week; 2: every other week, starting with the week of `from`.
    #[serde(default = "one")]
    pub every_weeks: u8,
}

fn one() -> u8 {
    1
}

/// Why a period cannot be booked as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodRefused {
    #[error("la fin de la période précède son début")]
    EndsBeforeStart,
    #[error("une période couvre au plus {MAX_PERIOD_DAYS} jours")]
    TooLong,
    #[error("choisissez au moins une prestation")]
    NoUnit,
    #[error("choisissez au moins un jour de la semaine")]
    NoWeekday,
    #[error("1 (chaque semaine) ou 2 (une semaine sur deux)")]
    Every,
    #[error("La prestation « {0} » n'appartient pas à ce service.")]
    UnknownUnit(super::UnitId),
}

impl crate::Refusal for PeriodRefused {
    fn code(&self) -> &'static str {
        match self {
            PeriodRefused::UnknownUnit(_) => "unknown_unit",
            _ => "invalid_period",
        }
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                PeriodRefused::EndsBeforeStart | PeriodRefused::TooLong => "to",
                PeriodRefused::NoUnit | PeriodRefused::UnknownUnit(_) => "units",
                PeriodRefused::NoWeekday => "weekdays",
                PeriodRefused::Every => "every_weeks",
            }
            .into(),
        )
    }
}

impl Pattern {
    /// Checks the pattern's own shape.
    pub fn check(&self) -> Result<(), PeriodRefused> {
        let span = (self.to - self.from).num_days();
        if span < 0 {
            return Err(PeriodRefused::EndsBeforeStart);
        }
        if span >= MAX_PERIOD_DAYS {
            return Err(PeriodRefused::TooLong);
        }
        if self.units.is_empty() {
            return Err(PeriodRefused::NoUnit);
        }
        if self.weekdays.is_empty() {
            return Err(PeriodRefused::NoWeekday);
        }
        if !(1..=2).contains(&self.every_weeks) {
            return Err(PeriodRefused::Every);
        }
        Ok(())
    }

    /// Checks the pattern for one activity: its own shape, and units of that activity only.
    pub fn check_for(&self, activity: &super::config::Activity) -> Result<(), PeriodRefused> {
        self.check()?;
        if let Some(u) = self.units.iter().find(|u| !activity.units.iter().any(|x| &x.id == *u)) {
            return Err(PeriodRefused::UnknownUnit(u.clone()));
        }
        Ok(())
    }

    /// The dates of the pattern, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        let first_monday = self.from.week(Weekday::Mon).first_day();
        self.from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .filter(|d| self.weekdays.contains(&d.weekday()))
            .filter(|d| ((*d - first_monday).num_days() / 7) % i64::from(self.every_weeks) == 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Refusal;

    fn d(m: u32, day: u32) -> NaiveDate {
        let y = if m >= 9 { 2026 } else { 2027 };
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn pattern(from: NaiveDate, to: NaiveDate, weekdays: Vec<Weekday>, every: u8) -> Pattern {
        Pattern { from, to, units: vec![UnitId::parse("peri-soir").unwrap()], weekdays, every_weeks: every }
    }

    #[test]
    fn every_tuesday_of_the_school_year() {
        let p = pattern(d(9, 1), d(7, 4), vec![Weekday::Tue], 1);
        let dates = p.dates();
        assert_eq!(dates.first(), Some(&d(9, 1)));
        assert!(dates.iter().all(|x| x.weekday() == Weekday::Tue));
        assert_eq!(dates.len(), 44);
    }

    #[test]
    fn every_other_week_starts_with_the_first_week() {
        let p = pattern(d(11, 30), d(12, 31), vec![Weekday::Mon, Weekday::Thu], 2);
        assert_eq!(p.dates(), vec![d(11, 30), d(12, 3), d(12, 14), d(12, 17), d(12, 28), d(12, 31)]);
    }

    #[test]
    fn bad_patterns_name_the_field() {
        assert_eq!(pattern(d(12, 1), d(11, 1), vec![Weekday::Mon], 1).check().unwrap_err().field().unwrap(), "to");
        assert_eq!(
            pattern(d(9, 1), d(9, 1) + chrono::Days::new(366), vec![Weekday::Mon], 1)
                .check()
                .unwrap_err()
                .field()
                .unwrap(),
            "to"
        );
        assert_eq!(pattern(d(9, 1), d(9, 30), vec![], 1).check().unwrap_err().field().unwrap(), "weekdays");
        assert_eq!(
            pattern(d(9, 1), d(9, 30), vec![Weekday::Mon], 3).check().unwrap_err().field().unwrap(),
            "every_weeks"
        );
    }
}
