//! The hours the town declares to the CAF (« heures réalisées »): per unit, per month and over
//! the period asked, the sessions children actually attended, each counted whole at the unit's
//! configured duration (a child who came for part of a session counts the session), split by age
//! band (under 6 / 6 and over, the child's age on the session's day) and by resident /
//! non-resident (the booking's household), with the number of distinct children. A booked
//! session the child missed (absent, justified or not), a day the town closed (its bookings
//! cancelled), a register not taken: no hours. Built as a tally that takes bookings month by
//! month, so a year is read a month at a time.

use crate::booking::{Attendance, Booking, BookingStatus};
use crate::config::Town;
use crate::family::{Child, Family};
use crate::{ChildId, FamilyRef, Month, UnitId};
use chrono::{Months, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The CAF's two age bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    Under6,
    SixAndOver,
}

impl AgeBand {
    pub fn french(self) -> &'static str {
        match self {
            AgeBand::Under6 => "moins de 6 ans",
            AgeBand::SixAndOver => "6 ans et plus",
        }
    }
}

/// The band of a child born on `birth` on the day `on`: under 6 until the day before the sixth
/// birthday (one born on 29 February turns 6 on 28 February of a common year).
pub fn age_band(birth: NaiveDate, on: NaiveDate) -> AgeBand {
    match birth.checked_add_months(Months::new(72)) {
        Some(sixth) if on < sixth => AgeBand::Under6,
        _ => AgeBand::SixAndOver,
    }
}

/// Whether a booking is a session the child attended: marked present on a booking that still
/// stands (a present mark on a day a certificate justified is the register's fact, and counts).
pub fn attended(b: &Booking) -> bool {
    b.attendance == Some(Attendance::Present)
        && matches!(b.status, BookingStatus::Confirmed | BookingStatus::CancelRequested)
}

/// Sessions, their minutes, and how many children they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub sessions: u32,
    pub minutes: u64,
    pub children: u32,
}

/// The figures of a unit over a month or the period: each band and residence, and all of them
/// (a child in two bands or two households counts once in `all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Split {
    pub under_6_resident: Figures,
    pub under_6_non_resident: Figures,
    pub six_and_over_resident: Figures,
    pub six_and_over_non_resident: Figures,
    pub all: Figures,
}

impl Split {
    /// The four parts in the order the CSV writes them, with their band and residence.
    pub fn parts(&self) -> [(AgeBand, bool, Figures); 4] {
        [
            (AgeBand::Under6, true, self.under_6_resident),
            (AgeBand::Under6, false, self.under_6_non_resident),
            (AgeBand::SixAndOver, true, self.six_and_over_resident),
            (AgeBand::SixAndOver, false, self.six_and_over_non_resident),
        ]
    }
}

/// A unit's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthHours {
    pub month: Month,
    #[serde(flatten)]
    pub split: Split,
    /// Past sessions booked whose register was not taken: not counted until it is.
    pub unmarked: u32,
}

/// A unit over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitHours {
    pub unit: UnitId,
    pub name: String,
    pub duration_minutes: u32,
    pub months: Vec<MonthHours>,
    pub total: Split,
}

/// The town's figures from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub units: Vec<UnitHours>,
    /// Units with no `duration_minutes`: not in the figures (named so staff see why).
    pub without_duration: Vec<String>,
    /// Sessions attended whose child or household is no longer known: not in the figures.
    pub unclassified: u32,
}

/// Where one attended session goes: its band and residence.
type Part = (AgeBand, bool);

#[derive(Default)]
struct Cell {
    sessions: BTreeMap<Part, u32>,
    children: BTreeMap<Part, BTreeSet<ChildId>>,
    all_children: BTreeSet<ChildId>,
    unmarked: u32,
}

impl Cell {
    fn add(&mut self, part: Part, child: &ChildId) {
        *self.sessions.entry(part).or_default() += 1;
        self.children.entry(part).or_default().insert(child.clone());
        self.all_children.insert(child.clone());
    }

    fn split(&self, duration: u32) -> Split {
        let figures = |part: Part| {
            let sessions = self.sessions.get(&part).copied().unwrap_or(0);
            Figures {
                sessions,
                minutes: u64::from(sessions) * u64::from(duration),
                children: count(self.children.get(&part).map_or(0, BTreeSet::len)),
            }
        };
        let sessions: u32 = self.sessions.values().sum();
        Split {
            under_6_resident: figures((AgeBand::Under6, true)),
            under_6_non_resident: figures((AgeBand::Under6, false)),
            six_and_over_resident: figures((AgeBand::SixAndOver, true)),
            six_and_over_non_resident: figures((AgeBand::SixAndOver, false)),
            all: Figures {
                sessions,
                minutes: u64::from(sessions) * u64::from(duration),
                children: count(self.all_children.len()),
            },
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The figures being counted: give it bookings (any status, any order, a month at a time), then
/// take the [`Report`].
pub struct Tally<'a> {
    town: &'a Town,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    months: BTreeMap<(UnitId, Month), Cell>,
    totals: BTreeMap<UnitId, Cell>,
    unclassified: u32,
}

impl<'a> Tally<'a> {
    /// Counts sessions from `from` to `to` included; a booking of a day before `today` without
    /// a register mark is counted as unmarked.
    pub fn new(town: &'a Town, from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Tally<'a> {
        Tally { town, from, to, today, months: BTreeMap::new(), totals: BTreeMap::new(), unclassified: 0 }
    }

    /// Counts `bookings`, the children and households being looked up in `children` and
    /// `families`. A booking outside the period, or of a unit without a duration, is skipped.
    pub fn add(
        &mut self,
        bookings: &[Booking],
        children: &HashMap<ChildId, Child>,
        families: &HashMap<FamilyRef, Family>,
    ) {
        for b in bookings {
            if b.date < self.from || b.date > self.to {
                continue;
            }
            let Some((_, unit)) = self.town.unit(&b.unit) else { continue };
            if unit.caf_minutes().is_none() {
                continue;
            }
            let month = Month::of(b.date);
            if b.attendance.is_none() && b.holds_place() && b.date < self.today {
                self.months.entry((b.unit.clone(), month)).or_default().unmarked += 1;
            }
            if !attended(b) {
                continue;
            }
            let (Some(child), Some(family)) = (children.get(&b.child), families.get(&b.family)) else {
                self.unclassified += 1;
                continue;
            };
            let part = (age_band(child.birth_date, b.date), family.resident);
            self.months.entry((b.unit.clone(), month)).or_default().add(part, &b.child);
            self.totals.entry(b.unit.clone()).or_default().add(part, &b.child);
        }
    }

    /// The figures: every unit with a duration, in the configuration's order, each month of the
    /// period (months without sessions included, at zero).
    pub fn report(self) -> Report {
        let months: Vec<Month> = {
            let mut m = Month::of(self.from);
            let mut out = Vec::new();
            while m.first() <= self.to {
                out.push(m);
                m = m.next();
            }
            out
        };
        let empty = Cell::default();
        let mut units = Vec::new();
        let mut without_duration = Vec::new();
        for unit in self.town.config().activities.iter().flat_map(|a| &a.units) {
            let Some(duration) = unit.caf_minutes() else {
                without_duration.push(unit.name.clone());
                continue;
            };
            let month_hours = months
                .iter()
                .map(|m| {
                    let cell = self.months.get(&(unit.id.clone(), *m)).unwrap_or(&empty);
                    MonthHours { month: *m, split: cell.split(duration), unmarked: cell.unmarked }
                })
                .collect();
            units.push(UnitHours {
                unit: unit.id.clone(),
                name: unit.name.clone(),
                duration_minutes: duration,
                months: month_hours,
                total: self.totals.get(&unit.id).unwrap_or(&empty).split(duration),
            });
        }
        Report { from: self.from, to: self.to, units, without_duration, unclassified: self.unclassified }
    }
}

/// Minutes as decimal hours, the way a French spreadsheet reads them: « 1234,50 ».
pub fn hours_text(minutes: u64) -> String {
    let hundredths = (minutes * 100 + 30) / 60;
    format!("{},{:02}", hundredths / 100, hundredths % 100)
}

#[cfg(test)]
mod tests;
