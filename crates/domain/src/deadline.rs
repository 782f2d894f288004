//! Deadlines: the last instant a booking can be added or cancelled online.
//!
//! A deadline is data on the unit: step back `n` counted days (working days or calendar days)
//! from the service date, then take the cutoff time of that day in the town's time zone.
//! A change is accepted online only while `now < deadline`.

use super::calendar::TownCalendar;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What the `n` of a deadline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountUnit {
    /// Jours ouvrés: Monday to Friday less public holidays.
    WorkingDays,
    CalendarDays,
}

/// The local time of day at which a deadline falls, written "HH:MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff(pub NaiveTime);

impl Serialize for Cutoff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

impl<'de> Deserialize<'de> for Cutoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map(Cutoff)
            .map_err(|_| serde::de::Error::custom(format!("heure « {s} » invalide, attendu HH:MM (par exemple 18:00)")))
    }
}

/// `{ n, unit, cutoff }`: e.g. 2 working days at 23:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub n: u32,
    pub unit: CountUnit,
    pub cutoff: Cutoff,
}

/// The largest `n` a town may configure; a longer notice is a configuration mistake.
pub const MAX_DEADLINE_DAYS: u32 = 60;

impl Deadline {
    /// The local day on which the deadline for `service` falls.
    pub fn day_for(&self, service: NaiveDate, cal: &TownCalendar) -> NaiveDate {
        match self.unit {
            CountUnit::WorkingDays => cal.working_days_before(service, self.n),
            CountUnit::CalendarDays => service.checked_sub_days(Days::new(u64::from(self.n))).unwrap_or(NaiveDate::MIN),
        }
    }

    /// The instant of the deadline for `service`.
    pub fn instant_for(&self, service: NaiveDate, cal: &TownCalendar, tz: Tz) -> DateTime<Utc> {
        local_instant(self.day_for(service, cal), self.cutoff.0, tz)
    }

    /// Whether a change for `service` is still accepted online at `now`.
    pub fn is_open(&self, service: NaiveDate, cal: &TownCalendar, tz: Tz, now: DateTime<Utc>) -> bool {
        now < self.instant_for(service, cal, tz)
    }
}

/// The instant of a local wall-clock time. In the autumn fold the earlier instant is taken (the
/// stricter deadline); a time skipped by the spring change moves forward by the gap (02:30 on
/// the last Sunday of March is 03:30).
pub fn local_instant(day: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let naive = day.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + TimeDelta::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Zone, national_school_holidays};
    use chrono::{Datelike, Weekday};
    use chrono_tz::Europe::Paris;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn cal() -> TownCalendar {
        TownCalendar::new(false, BTreeMap::new(), &[], national_school_holidays(Zone::B), false)
    }
    fn working(n: u32, hh: u32, mm: u32) -> Deadline {
        Deadline { n, unit: CountUnit::WorkingDays, cutoff: Cutoff(NaiveTime::from_hms_opt(hh, mm, 0).unwrap()) }
    }
    fn paris(y: i32, m: u32, day: u32, hh: u32, mm: u32, ss: u32) -> DateTime<Utc> {
        Paris.with_ymd_and_hms(y, m, day, hh, mm, ss).unwrap().with_timezone(&Utc)
    }

    // "J-2 week-end non compté", week of Monday 16 November 2026.
    #[test]
    fn monday_is_bookable_until_thursday_before() {
        assert_eq!(working(2, 23, 59).day_for(d(2026, 11, 16), &cal()), d(2026, 11, 12));
    }
    #[test]
    fn tuesday_is_bookable_until_friday_before() {
        assert_eq!(working(2, 23, 59).day_for(d(2026, 11, 17), &cal()), d(2026, 11, 13));
    }
    #[test]
    fn thursday_is_bookable_until_tuesday() {
        assert_eq!(working(2, 23, 59).day_for(d(2026, 11, 19), &cal()), d(2026, 11, 17));
    }
    #[test]
    fn friday_is_bookable_until_wednesday() {
        assert_eq!(working(2, 23, 59).day_for(d(2026, 11, 20), &cal()), d(2026, 11, 18));
    }
    #[test]
    fn wednesday_with_five_working_days_is_bookable_until_wednesday_before() {
        assert_eq!(working(5, 23, 59).day_for(d(2026, 11, 25), &cal()), d(2026, 11, 18));
    }
    #[test]
    fn holiday_monday_with_five_working_days_is_bookable_until_monday_before() {
        // Zone B winter holidays 2027 start Saturday 20 February: Monday 22 is an ALSH day.
        assert_eq!(working(5, 23, 59).day_for(d(2027, 2, 22), &cal()), d(2027, 2, 15));
    }

    #[test]
    fn public_holidays_push_deadlines_back() {
        let two = working(2, 23, 59);
        // Friday 15 May 2026: Thursday 14 is Ascension, so Wednesday 13 and Tuesday 12 count.
        assert_eq!(two.day_for(d(2026, 5, 15), &cal()), d(2026, 5, 12));
        // Wednesday 27 May 2026: Monday 25 is Whit Monday: Tuesday 26, Friday 22.
        assert_eq!(two.day_for(d(2026, 5, 27), &cal()), d(2026, 5, 22));
        // Monday 4 May 2026: Friday 1 May is a holiday: Thursday 30 April, Wednesday 29.
        assert_eq!(two.day_for(d(2026, 5, 4), &cal()), d(2026, 4, 29));
        // Monday 11 May 2026: Friday 8 May: Thursday 7, Wednesday 6.
        assert_eq!(two.day_for(d(2026, 5, 11), &cal()), d(2026, 5, 6));
        // Thursday 16 July 2026: Tuesday 14 July: Wednesday 15, Monday 13.
        assert_eq!(two.day_for(d(2026, 7, 16), &cal()), d(2026, 7, 13));
        // Friday 13 November 2026: Wednesday 11 November: Thursday 12, Tuesday 10.
        assert_eq!(two.day_for(d(2026, 11, 13), &cal()), d(2026, 11, 10));
        // Monday 28 December 2026: Friday 25 is Christmas: Thursday 24, Wednesday 23.
        assert_eq!(two.day_for(d(2026, 12, 28), &cal()), d(2026, 12, 23));
        // Tuesday 7 April 2026: Monday 6 is Easter Monday: Friday 3, Thursday 2.
        assert_eq!(two.day_for(d(2026, 4, 7), &cal()), d(2026, 4, 2));
    }

    #[test]
    fn cutoff_minute_is_exclusive() {
        let two = working(2, 18, 0);
        let monday = d(2026, 11, 16);
        assert!(two.is_open(monday, &cal(), Paris, paris(2026, 11, 12, 17, 59, 59)));
        assert!(!two.is_open(monday, &cal(), Paris, paris(2026, 11, 12, 18, 0, 0)));
        assert!(!two.is_open(monday, &cal(), Paris, paris(2026, 11, 12, 18, 0, 1)));
    }

    #[test]
    fn cutoff_is_in_local_time_across_daylight_saving_changes() {
        let two = working(2, 18, 0);
        // Summer time starts Sunday 29 March 2026: Tuesday 31 → Friday 27 (winter, UTC+1).
        assert_eq!(
            two.instant_for(d(2026, 3, 31), &cal(), Paris),
            Utc.with_ymd_and_hms(2026, 3, 27, 17, 0, 0).unwrap()
        );
        // Wednesday 1 April → Monday 30 March (summer, UTC+2).
        assert_eq!(two.instant_for(d(2026, 4, 1), &cal(), Paris), Utc.with_ymd_and_hms(2026, 3, 30, 16, 0, 0).unwrap());
        // Winter time returns Sunday 25 October 2026: Monday 26 → Thursday 22 (UTC+2).
        assert_eq!(
            two.instant_for(d(2026, 10, 26), &cal(), Paris),
            Utc.with_ymd_and_hms(2026, 10, 22, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn calendar_day_cutoff_in_the_spring_gap_moves_forward() {
        let cal_days = Deadline {
            n: 1,
            unit: CountUnit::CalendarDays,
            cutoff: Cutoff(NaiveTime::from_hms_opt(2, 30, 0).unwrap()),
        };
        // Monday 30 March 2026 → Sunday 29 March 02:30, which does not exist: 03:30 CEST.
        assert_eq!(
            cal_days.instant_for(d(2026, 3, 30), &cal(), Paris),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap()
        );
    }

    proptest! {
        #[test]
        fn working_day_deadlines_fall_on_working_days_strictly_before_service(
            offset in 0u64..1500, n in 1u32..=10
        ) {
            let cal = cal();
            let service = d(2024, 9, 1) + Days::new(offset);
            let day = working(n, 23, 59).day_for(service, &cal);
            prop_assert!(cal.is_working_day(day));
            prop_assert!(day < service);
            prop_assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
        }

        #[test]
        fn a_later_service_date_never_has_an_earlier_deadline(offset in 0u64..1500, n in 1u32..=10) {
            let cal = cal();
            let service = d(2024, 9, 1) + Days::new(offset);
            let next = service + Days::new(1);
            let dl = working(n, 12, 0);
            prop_assert!(dl.instant_for(next, &cal, Paris) >= dl.instant_for(service, &cal, Paris));
        }
    }
}
