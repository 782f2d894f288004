//! Aids deducted on the invoice (the CAF's « aide aux temps libres », the MSA's, the town's own):
//! which days of a month earn which aid, how much, and what is left of a child's yearly
//! ceiling. The rules, as `docs/accounting.md` states them:
//!
//! - an aid is for a day the child attended, or was booked and not marked absent: a day billed
//!   as booked (present, or attendance not taken). A justified absence (not billed), an
//!   unjustified absence and a late cancellation (billed, but not attended) earn none;
//! - a family earns it when its quotient familial (as known when the month is billed) is in the
//!   aid's bracket, or when the aid names it;
//! - its amount a day is `amount` (per day) or `amount` × the unit's session length (per hour,
//!   rounded half up to the cent), never more than what the day is billed (less the aids before
//!   it in the town's list): an aid never makes a day negative;
//! - the ceiling counts per child and household (each household of a shared child is its own
//!   beneficiary, with its own QF) over the aid's year (civil by default, or school year), from
//!   the household's invoices of the earlier months of that year that are not cancelled; the
//!   month's days are taken in date order, the day the ceiling is reached gets what is left.

use super::config::{Aid, AidYear, Per, Town};
use super::family::Family;
use super::fr::dates_text;
use super::invoice::{AidLine, Invoice};
use super::{AidId, Cents, ChildId, FamilyRef, Month, UnitId};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// What each household's child was given of each aid in the aid's year before the month billed.
pub type Used = BTreeMap<(FamilyRef, ChildId, AidId), Cents>;

/// A day billed as booked, that may earn an aid: the child, the unit, the date, and what the
/// day is billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub child: ChildId,
    pub unit: UnitId,
    pub date: NaiveDate,
    pub price: Cents,
}

/// What a régularisation changes of one aid for one child, in cents: given (positive) or taken
/// back (negative) ([`crate::regularisation::Regularisation::aids`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AidDelta {
    pub aid: AidId,
    pub child: ChildId,
    pub amount: i64,
}

/// The first month of the aid year holding `month`: January, or the September before.
pub fn year_start(year: AidYear, month: Month) -> Month {
    let first = month.first();
    let start = match year {
        AidYear::Civil => NaiveDate::from_ymd_opt(first.year(), 1, 1),
        AidYear::School if first.month() >= 9 => NaiveDate::from_ymd_opt(first.year(), 9, 1),
        AidYear::School => NaiveDate::from_ymd_opt(first.year() - 1, 9, 1),
    };
    start.map_or(month, Month::of)
}

/// The earlier months whose invoices count towards the ceilings of `month`: from the start of
/// the longest aid year of the town's aids with a ceiling, to the month before.
pub fn months_before(town: &Town, month: Month) -> Vec<Month> {
    let Some(start) =
        town.config().aids.iter().filter(|a| a.ceiling.is_some()).map(|a| year_start(a.year, month)).min()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut m = start;
    while m < month {
        out.push(m);
        m = m.next();
    }
    out
}

/// What `invoices` (a town's invoices of earlier months) gave, per household, child and aid, in
/// the aid year of `month`, with what `regularisations` of those months gave or took back
/// (a request accepted after billing earns its aid; a certificate takes the day's back).
/// Cancelled invoices give nothing.
pub fn used<'a>(
    town: &Town,
    month: Month,
    invoices: &[Invoice],
    regularised: impl IntoIterator<Item = (&'a FamilyRef, Month, &'a AidDelta)> + Clone,
) -> Used {
    let mut out = Used::new();
    for aid in town.config().aids.iter().filter(|a| a.ceiling.is_some()) {
        let start = year_start(aid.year, month);
        let counted = invoices.iter().filter(|i| i.cancelled.is_none() && start <= i.month && i.month < month);
        for i in counted {
            for l in i.aids.iter().filter(|l| l.aid == aid.id) {
                *out.entry((i.family.clone(), l.child.clone(), aid.id.clone())).or_default() += l.amount;
            }
        }
        for (family, _, d) in
            regularised.clone().into_iter().filter(|(_, m, d)| start <= *m && *m < month && d.aid == aid.id)
        {
            let entry = out.entry((family.clone(), d.child.clone(), aid.id.clone())).or_default();
            *entry = Cents::new(entry.get() + d.amount).unwrap_or(Cents::ZERO);
        }
    }
    out
}

/// One line of what the town claims from an aid's funder: an aid, a month, a household and a
/// child, with the days and the amount its invoices deducted (`days: Some`), or what a
/// régularisation of that month gave (positive) or took back (negative) (`days: None`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimLine {
    pub aid: AidId,
    pub funder: super::config::Funder,
    pub month: Month,
    pub family: FamilyRef,
    pub child: ChildId,
    pub days: Option<u32>,
    pub amount: i64,
}

/// What the town claims from its aids' funders for the civil `year`: each aid line of the
/// year's invoices (not cancelled), summed per aid, month, household and child, then the
/// régularisations' aid changes of the year's months; in the order of the town's aids, then by
/// month, household and child. An aid no longer configured is left out.
pub fn claim<'a>(
    town: &Town,
    year: i32,
    invoices: &[Invoice],
    regularised: impl IntoIterator<Item = (&'a FamilyRef, Month, &'a AidDelta)>,
) -> Vec<ClaimLine> {
    let in_year = |m: Month| m.first().year() == year;
    type Key = (usize, Month, FamilyRef, ChildId, bool);
    let mut sums: BTreeMap<Key, (u32, i64)> = BTreeMap::new();
    let rank = |id: &AidId| town.config().aids.iter().position(|a| &a.id == id);
    for i in invoices.iter().filter(|i| i.cancelled.is_none() && in_year(i.month)) {
        for l in &i.aids {
            let Some(r) = rank(&l.aid) else { continue };
            let e = sums.entry((r, i.month, i.family.clone(), l.child.clone(), false)).or_default();
            e.0 += l.quantity;
            e.1 += l.amount.get();
        }
    }
    for (family, month, d) in regularised.into_iter().filter(|(_, m, _)| in_year(*m)) {
        let Some(r) = rank(&d.aid) else { continue };
        sums.entry((r, month, family.clone(), d.child.clone(), true)).or_default().1 += d.amount;
    }
    let aids = &town.config().aids;
    sums.into_iter()
        .filter(|(_, (_, amount))| *amount != 0)
        .map(|((r, month, family, child, regularised), (days, amount))| ClaimLine {
            aid: aids[r].id.clone(),
            funder: aids[r].funder,
            month,
            family,
            child,
            days: (!regularised).then_some(days),
            amount,
        })
        .collect()
}

/// Whether `family` earns `aid`: named by it, or its quotient familial in the aid's bracket.
pub fn earns(aid: &Aid, family: &Family) -> bool {
    aid.families.contains(&family.reference)
        || aid.qf.zip(family.quotient_familial).is_some_and(|(q, qf)| q.from <= qf && qf <= q.up_to)
}

/// The aid a day of `minutes` (the unit's session) earns before any limit.
pub fn per_day(aid: &Aid, minutes: Option<u32>) -> Cents {
    match aid.per {
        Per::Day => aid.amount,
        Per::Hour => {
            let m = i64::from(minutes.unwrap_or(0));
            Cents::new((aid.amount.get() * m + 30) / 60).unwrap_or(Cents::ZERO)
        }
    }
}

/// Why a day's aid is less than the aid's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cut {
    None,
    Ceiling,
    Price,
}

/// The aids `family`'s `days` of a month earn, as invoice lines, given what its children were
/// given earlier in the year (`used`).
pub fn lines(town: &Town, family: &Family, days: &[Day], used: &Used) -> Vec<AidLine> {
    let aids: Vec<&Aid> = town.config().aids.iter().filter(|a| earns(a, family)).collect();
    if aids.is_empty() {
        return Vec::new();
    }
    let mut days: Vec<&Day> = days.iter().collect();
    days.sort_by(|a, b| (a.date, &a.child, &a.unit).cmp(&(b.date, &b.child, &b.unit)));
    let mut given: Used = Used::new();
    type Key = (ChildId, UnitId, usize, Cents, Cut);
    let mut grouped: BTreeMap<Key, Vec<NaiveDate>> = BTreeMap::new();
    for day in days {
        let Some((_, unit)) = town.unit(&day.unit) else { continue };
        let mut left_of_day = day.price;
        for (ai, aid) in aids.iter().enumerate().filter(|(_, a)| a.units.contains(&day.unit)) {
            let full = per_day(aid, unit.duration_minutes);
            let key = (family.reference.clone(), day.child.clone(), aid.id.clone());
            let so_far = used.get(&key).copied().unwrap_or_default() + given.get(&key).copied().unwrap_or_default();
            let room = aid.ceiling.map_or(full, |c| c.minus(so_far));
            let (mut amount, mut cut) = if room < full { (room, Cut::Ceiling) } else { (full, Cut::None) };
            if left_of_day < amount {
                (amount, cut) = (left_of_day, Cut::Price);
            }
            if amount == Cents::ZERO {
                continue;
            }
            left_of_day = left_of_day.minus(amount);
            *given.entry(key).or_default() += amount;
            grouped.entry((day.child.clone(), day.unit.clone(), ai, amount, cut)).or_default().push(day.date);
        }
    }
    // Each aid's lines in the order of their first day: the full days before the day the
    // ceiling was reached.
    let mut grouped: Vec<(Key, Vec<NaiveDate>)> = grouped.into_iter().collect();
    grouped.sort_by(|(a, da), (b, db)| (&a.0, &a.1, a.2, da.first()).cmp(&(&b.0, &b.1, b.2, db.first())));
    grouped
        .into_iter()
        .map(|((child, unit, ai, per_day, cut), dates)| {
            let aid = aids[ai];
            let quantity = u32::try_from(dates.len()).unwrap_or(u32::MAX);
            let minutes = town.unit(&unit).and_then(|(_, u)| u.duration_minutes);
            AidLine {
                aid: aid.id.clone(),
                label: label(aid, per_day, quantity, cut, minutes),
                child,
                child_name: String::new(),
                unit_name: town.unit(&unit).map_or_else(|| unit.to_string(), |(_, u)| u.name.clone()),
                unit,
                dates_text: dates_text(&dates),
                dates,
                quantity,
                per_day,
                amount: per_day.times(quantity),
            }
        })
        .collect()
}

/// « Aide CAF temps libres : −3,00 € × 4 jours », « … (plafond annuel atteint) : −1,00 € ×
/// 1 jour », « Aide MSA : −3,75 € × 2 jours (1,50 € de l’heure × 2 h 30) ».
fn label(aid: &Aid, per_day: Cents, quantity: u32, cut: Cut, minutes: Option<u32>) -> String {
    let nn = crate::fr::NNBSP;
    let days = if quantity == 1 { "jour" } else { "jours" };
    let why = match cut {
        Cut::None => "",
        Cut::Ceiling => " (plafond annuel atteint)",
        Cut::Price => " (dans la limite du prix du jour)",
    };
    let hourly = match (aid.per, minutes, cut) {
        (Per::Hour, Some(m), Cut::None) => format!(" ({} de l’heure × {})", aid.amount, hours(m)),
        _ => String::new(),
    };
    format!("{}{why}{nn}: −{per_day} × {quantity}\u{a0}{days}{hourly}", aid.name)
}

/// « 2 h 30 », « 3 h ».
fn hours(minutes: u32) -> String {
    match minutes % 60 {
        0 => format!("{}\u{a0}h", minutes / 60),
        m => format!("{}\u{a0}h\u{a0}{m:02}", minutes / 60),
    }
}

/// What the aids of `aids` give on `child`'s day `date` of `unit`.
pub fn on_day(aids: &[AidLine], child: &ChildId, unit: &UnitId, date: NaiveDate) -> Cents {
    aids.iter()
        .filter(|a| &a.child == child && &a.unit == unit && a.dates.contains(&date))
        .fold(Cents::ZERO, |t, a| t + a.per_day)
}

/// What the aids of `aids` give on the days of one invoice line.
pub fn on_line(aids: &[AidLine], line: &super::invoice::Line) -> Cents {
    line.dates.iter().fold(Cents::ZERO, |t, d| t + on_day(aids, &line.child, &line.unit, *d))
}

#[cfg(test)]
mod tests;
