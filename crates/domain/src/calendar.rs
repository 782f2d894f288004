//! Calendar facts: French public holidays for any year, the national school holidays by zone
//! (compiled in from `data/school_holidays_fr.csv`), and a town's own closures and overrides.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A school-holiday zone of metropolitan France.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Zone {
    A,
    B,
    C,
}

impl Zone {
    fn as_str(self) -> &'static str {
        match self {
            Zone::A => "A",
            Zone::B => "B",
            Zone::C => "C",
        }
    }
}

/// A period with no school: from `first_day_off` up to the day before `first_day_back`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayPeriod {
    pub name: String,
    pub first_day_off: NaiveDate,
    /// `None` where the ministry has not published the rentrée yet: the period then runs to
    /// 31 August, since no rentrée has ever been earlier.
    pub first_day_back: Option<NaiveDate>,
}

impl HolidayPeriod {
    /// Its last day off (the day before the rentrée, or 31 August when unpublished).
    pub fn last_day(&self) -> NaiveDate {
        match self.first_day_back {
            Some(back) => back.pred_opt().unwrap_or(back),
            None => NaiveDate::from_ymd_opt(self.first_day_off.year(), 8, 31).unwrap_or(self.first_day_off),
        }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        if d < self.first_day_off {
            return false;
        }
        match self.first_day_back {
            Some(back) => d < back,
            None => NaiveDate::from_ymd_opt(self.first_day_off.year(), 8, 31).is_some_and(|end| d <= end),
        }
    }
}

struct RawPeriod {
    zone: &'static str,
    name: &'static str,
    first_day_off: (i32, u32, u32),
    first_day_back: Option<(i32, u32, u32)>,
}

static NATIONAL_SCHOOL_HOLIDAYS: &[RawPeriod] = include!(concat!(env!("OUT_DIR"), "/school_holidays.rs"));

fn ymd((y, m, d): (i32, u32, u32)) -> NaiveDate {
    // The build script checked the shape; an impossible date would be a data error caught by
    // `every_shipped_school_holiday_is_a_real_date`.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The national school holidays of one zone, school years 2024-2025 to 2027-2028.
pub fn national_school_holidays(zone: Zone) -> Vec<HolidayPeriod> {
    NATIONAL_SCHOOL_HOLIDAYS
        .iter()
        .filter(|p| p.zone == zone.as_str())
        .map(|p| HolidayPeriod {
            name: p.name.to_owned(),
            first_day_off: ymd(p.first_day_off),
            first_day_back: p.first_day_back.map(ymd),
        })
        .collect()
}

/// Easter Sunday (Gregorian computus).
pub fn easter(year: i32) -> Option<NaiveDate> {
    computus::gregorian_naive(year).ok()
}

/// The national public holiday on `d`, if any; with `alsace_moselle`, Good Friday and
/// 26 December too (local law of Alsace-Moselle).
pub fn public_holiday(d: NaiveDate, alsace_moselle: bool) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("Jour de l'an"),
        (5, 1) => Some("Fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("Fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
        (12, 26) if alsace_moselle => Some("Saint-Étienne"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = easter(d.year())?;
    let offset = d.signed_duration_since(easter).num_days();
    match offset {
        -2 if alsace_moselle => Some("Vendredi saint"),
        1 => Some("Lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("Lundi de Pentecôte"),
        _ => None,
    }
}

/// What kind of day a weekday is for the units: school day, Wednesday without school, or
/// school holiday. Weekends and public holidays have no kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    SchoolDay,
    Wednesday,
    Holiday,
}

/// A day closed by the town (strike, works, bridge day), for all activities or some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub date: NaiveDate,
    pub reason: String,
    /// Empty: every activity is closed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<super::ActivityId>,
}

/// Everything the calendar knows about one date in one town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayFacts {
    pub date: NaiveDate,
    pub weekday: Weekday,
    pub working_day: bool,
    pub public_holiday: Option<String>,
    pub school_holiday: Option<String>,
    pub closures: Vec<Closure>,
    pub kind: Option<DayKind>,
}

/// A town's calendar: national facts plus the town's own holidays, closures and overrides.
#[derive(Debug, Clone)]
pub struct TownCalendar {
    alsace_moselle: bool,
    extra_public_holidays: BTreeMap<NaiveDate, String>,
    closures: BTreeMap<NaiveDate, Vec<Closure>>,
    school_holidays: Vec<HolidayPeriod>,
    wednesday_has_school: bool,
}

impl TownCalendar {
    pub fn new(
        alsace_moselle: bool,
        extra_public_holidays: BTreeMap<NaiveDate, String>,
        closures: &[Closure],
        school_holidays: Vec<HolidayPeriod>,
        wednesday_has_school: bool,
    ) -> Self {
        let mut by_date: BTreeMap<NaiveDate, Vec<Closure>> = BTreeMap::new();
        for c in closures {
            by_date.entry(c.date).or_default().push(c.clone());
        }
        TownCalendar { alsace_moselle, extra_public_holidays, closures: by_date, school_holidays, wednesday_has_school }
    }

    pub fn public_holiday(&self, d: NaiveDate) -> Option<&str> {
        public_holiday(d, self.alsace_moselle).or_else(|| self.extra_public_holidays.get(&d).map(String::as_str))
    }

    /// Jours ouvrés: Monday to Friday, less public holidays (national and the town's).
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && self.public_holiday(d).is_none()
    }

    pub fn school_holiday(&self, d: NaiveDate) -> Option<&str> {
        self.school_holidays.iter().find(|p| p.contains(d)).map(|p| p.name.as_str())
    }

    /// The school holiday periods the town follows.
    pub fn holiday_periods(&self) -> &[HolidayPeriod] {
        &self.school_holidays
    }

    pub fn closures(&self, d: NaiveDate) -> &[Closure] {
        self.closures.get(&d).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn kind(&self, d: NaiveDate) -> Option<DayKind> {
        if !self.is_working_day(d) {
            return None;
        }
        if self.school_holiday(d).is_some() {
            Some(DayKind::Holiday)
        } else if d.weekday() == Weekday::Wed && !self.wednesday_has_school {
            Some(DayKind::Wednesday)
        } else {
            Some(DayKind::SchoolDay)
        }
    }

    pub fn day(&self, d: NaiveDate) -> DayFacts {
        DayFacts {
            date: d,
            weekday: d.weekday(),
            working_day: self.is_working_day(d),
            public_holiday: self.public_holiday(d).map(str::to_owned),
            school_holiday: self.school_holiday(d).map(str::to_owned),
            closures: self.closures(d).to_vec(),
            kind: self.kind(d),
        }
    }

    /// The working day `n` working days before `d` (n = 0 gives `d` itself).
    pub fn working_days_before(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day.checked_sub_days(Days::new(1)).unwrap_or(NaiveDate::MIN);
            if day == NaiveDate::MIN {
                break;
            }
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_matches_the_official_dates() {
        for (y, m, day) in [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2028, 4, 16), (2038, 4, 25)] {
            assert_eq!(easter(y), Some(d(y, m, day)), "Easter {y}");
        }
    }

    #[test]
    fn easter_based_public_holidays() {
        // 2026: Easter Monday 6 April, Ascension 14 May, Whit Monday 25 May.
        assert_eq!(public_holiday(d(2026, 4, 6), false), Some("Lundi de Pâques"));
        assert_eq!(public_holiday(d(2026, 5, 14), false), Some("Ascension"));
        assert_eq!(public_holiday(d(2026, 5, 25), false), Some("Lundi de Pentecôte"));
        // 2025: Ascension 29 May, Whit Monday 9 June.
        assert_eq!(public_holiday(d(2025, 5, 29), false), Some("Ascension"));
        assert_eq!(public_holiday(d(2025, 6, 9), false), Some("Lundi de Pentecôte"));
        assert_eq!(public_holiday(d(2026, 4, 3), false), None);
    }

    #[test]
    fn alsace_moselle_adds_good_friday_and_saint_stephen() {
        assert_eq!(public_holiday(d(2026, 4, 3), true), Some("Vendredi saint"));
        assert_eq!(public_holiday(d(2026, 12, 26), true), Some("Saint-Étienne"));
        assert_eq!(public_holiday(d(2026, 12, 26), false), None);
    }

    #[test]
    fn there_are_eleven_national_public_holidays_a_year() {
        for year in 2024..=2030 {
            let count = (0..366)
                .filter_map(|i| d(year, 1, 1).checked_add_days(Days::new(i)))
                .filter(|x| x.year() == year && public_holiday(*x, false).is_some())
                .count();
            assert_eq!(count, 11, "{year}");
        }
    }

    #[test]
    fn every_shipped_school_holiday_is_a_real_date() {
        for zone in [Zone::A, Zone::B, Zone::C] {
            let periods = national_school_holidays(zone);
            assert_eq!(periods.len(), 24, "4 school years of 6 periods for zone {zone:?}");
            for p in periods {
                assert!(p.first_day_off > d(2024, 1, 1), "{p:?}");
                if let Some(back) = p.first_day_back {
                    assert!(back > p.first_day_off, "{p:?}");
                }
            }
        }
    }

    #[test]
    fn school_holiday_bounds_follow_first_day_off_and_first_day_back() {
        let cal = TownCalendar::new(false, BTreeMap::new(), &[], national_school_holidays(Zone::C), false);
        // Zone C, Toussaint 2025: from Saturday 18 October, back Monday 3 November.
        assert_eq!(cal.school_holiday(d(2025, 10, 17)), None);
        assert_eq!(cal.school_holiday(d(2025, 10, 20)), Some("Vacances de la Toussaint"));
        assert_eq!(cal.school_holiday(d(2025, 10, 31)), Some("Vacances de la Toussaint"));
        assert_eq!(cal.school_holiday(d(2025, 11, 3)), None);
        // The 2028 summer has no published rentrée: it runs to 31 August.
        assert_eq!(cal.school_holiday(d(2028, 8, 31)), Some("Vacances d'été"));
        assert_eq!(cal.school_holiday(d(2028, 9, 4)), None);
    }

    #[test]
    fn day_kinds() {
        let cal = TownCalendar::new(false, BTreeMap::new(), &[], national_school_holidays(Zone::B), false);
        assert_eq!(cal.kind(d(2026, 11, 24)), Some(DayKind::SchoolDay)); // Tuesday
        assert_eq!(cal.kind(d(2026, 11, 25)), Some(DayKind::Wednesday));
        assert_eq!(cal.kind(d(2026, 11, 28)), None); // Saturday
        assert_eq!(cal.kind(d(2026, 11, 11)), None); // Armistice
        assert_eq!(cal.kind(d(2026, 10, 21)), Some(DayKind::Holiday)); // Toussaint, zone B
        let four_and_a_half = TownCalendar::new(false, BTreeMap::new(), &[], vec![], true);
        assert_eq!(four_and_a_half.kind(d(2026, 11, 25)), Some(DayKind::SchoolDay));
    }

    #[test]
    fn town_extra_holidays_are_not_working_days() {
        let extra = BTreeMap::from([(d(2026, 6, 19), "Fête de la commune".to_owned())]);
        let cal = TownCalendar::new(false, extra, &[], vec![], false);
        assert!(!cal.is_working_day(d(2026, 6, 19)));
        assert_eq!(cal.public_holiday(d(2026, 6, 19)), Some("Fête de la commune"));
    }
}
