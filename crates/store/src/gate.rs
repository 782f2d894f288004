//! What every booking transaction is conditioned on, so that the store — not timing — orders it
//! against a closure and a waiting list:
//!
//! - the **day's closure marks** (`keys::day`): a closure writes them before cancelling what
//!   it closes, and every transaction that puts a booking on a day checks that no mark closes
//!   it. A booking either lands before the mark (and the closure's cancellation pass, which
//!   reads after the mark, cancels it) or is refused after it;
//! - the **unit-day's counter** (`keys::capacity`): `taken` (places held) and `waiting`
//!   (requests on the waiting list) move in the same transaction as the bookings; a newcomer
//!   taking a place is conditioned on `taken` staying within the capacity *and* on nobody
//!   waiting, so that the waiting list cannot be jumped.

use crate::{Cond, Item, Store, StoreError, WriteOp, keys};
use chrono::NaiveDate;
use domain::booking::Booking;
use domain::config::Town;
use domain::{ActivityId, SiteId, TownId, UnitId};
use std::collections::{BTreeMap, BTreeSet};

/// The mark that closes every activity of a day.
const CLOSED_ALL: &str = "closed";

/// The mark that closes one activity of a day.
fn closed_attr(activity: &ActivityId) -> String {
    format!("closed_{activity}")
}

/// The check that no closure marks `date` for `activities`.
pub fn open_check<'a>(town: &TownId, date: NaiveDate, activities: impl IntoIterator<Item = &'a ActivityId>) -> WriteOp {
    let mut all = vec![Cond::Absent { name: CLOSED_ALL.into() }];
    let distinct: BTreeSet<&ActivityId> = activities.into_iter().collect();
    all.extend(distinct.into_iter().map(|a| Cond::Absent { name: closed_attr(a) }));
    WriteOp::Check { key: keys::day(town, date), cond: Cond::All(all) }
}

/// Why `date` is closed for `activity`, as the store has it now (`None`: open).
pub async fn closed_reason(
    store: &Store,
    town: &TownId,
    date: NaiveDate,
    activity: &ActivityId,
) -> Result<Option<String>, StoreError> {
    let Some(item) = store.get(&keys::day(town, date)).await? else { return Ok(None) };
    Ok([CLOSED_ALL.to_owned(), closed_attr(activity)]
        .iter()
        .find_map(|n| item.attrs.get(n).and_then(serde_json::Value::as_str).map(str::to_owned)))
}

/// Whether a day's marks, as read, close it for `activity`.
pub fn closes(day: &Item, activity: &ActivityId) -> bool {
    day.attrs.contains_key(CLOSED_ALL) || day.attrs.contains_key(&closed_attr(activity))
}

/// What a parent or staff read when a booking reached the store after its day closed.
pub fn closed_message(reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("Ce jour est fermé\u{202f}: {r}."),
        None => "Ce jour est fermé.".to_owned(),
    }
}

/// Writes the marks of `dates` as the configuration `town`, stored at `version`, has them: one
/// per closure of the day (for every activity, or for its activities), none on an open day. A
/// mark written by a later configuration is never overwritten (conditioned on the version), so
/// a job run late or twice leaves the latest configuration's marks.
pub async fn mark(
    store: &Store,
    town: &Town,
    version: u64,
    dates: impl IntoIterator<Item = NaiveDate>,
) -> Result<(), StoreError> {
    let version = i64::try_from(version).unwrap_or(i64::MAX);
    for date in dates.into_iter().collect::<BTreeSet<_>>() {
        let mut item = Item::new(keys::day(town.id(), date));
        item.attrs.insert("version".into(), version.into());
        for c in town.config().closures.iter().filter(|c| c.date == date) {
            if c.activities.is_empty() {
                item.attrs.insert(CLOSED_ALL.into(), c.reason.clone().into());
            }
            for a in &c.activities {
                item.attrs.insert(closed_attr(a), c.reason.clone().into());
            }
        }
        match store.put(item, Some(Cond::AtMost { name: "version".into(), value: version })).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How one booking change moves its day: the places it takes (+1) or frees (-1), its place in
/// the waiting list (+1 joining, -1 leaving).
#[derive(Debug, Clone)]
pub struct Move {
    pub activity: ActivityId,
    pub unit: UnitId,
    pub site: SiteId,
    pub date: NaiveDate,
    pub taken: i64,
    pub waiting: i64,
}

impl Move {
    /// The move of a change from `before` to `after`.
    pub fn of(before: Option<&Booking>, after: &Booking) -> Move {
        Move {
            activity: after.activity.clone(),
            unit: after.unit.clone(),
            site: after.site.clone(),
            date: after.date,
            taken: after.places_from(before),
            waiting: after.waiting_from(before),
        }
    }

    /// Whether the change puts the booking on its day (a place, or a place in the queue): the
    /// day must then be open.
    pub fn arrives(&self) -> bool {
        self.taken > 0 || self.waiting > 0
    }
}

/// What a guard of a transaction protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded {
    /// The day is not closed for the activities of the changes behind it.
    Open { date: NaiveDate },
    /// The unit-day's places and queue.
    Counter { unit: UnitId, site: SiteId, date: NaiveDate, waiting_list: bool },
}

/// One write a transaction of booking changes carries besides the bookings, and the changes
/// (indexes in the moves given) behind it.
#[derive(Debug, Clone)]
pub struct Guard {
    pub op: WriteOp,
    pub what: Guarded,
    pub behind: Vec<usize>,
    /// For a counter: the places it takes (or frees, negative) and the queue's move.
    pub taken: i64,
    pub waiting: i64,
}

/// Who makes the changes: a newcomer's additions wait behind the queue; the portal's promotions
/// and staff decisions on waiting requests do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Newcomer,
    FromQueue,
}

/// A unit-day's moves in one transaction: places, queue, and the changes arriving on it.
type Tally = (i64, i64, Vec<usize>);

/// The guards of a transaction of booking changes: one check per day a change arrives on (the
/// day not closed), then one counter per unit-day moved (places within the capacity, and for a
/// newcomer taking a place on a unit with a waiting list, nobody waiting). Places are counted on
/// units with a capacity, the queue on those that also have a waiting list.
pub fn guards(town: &Town, moves: &[Move], arrival: Arrival) -> Vec<Guard> {
    let mut days: BTreeMap<NaiveDate, (Vec<ActivityId>, Vec<usize>)> = BTreeMap::new();
    let mut counters: BTreeMap<(UnitId, SiteId, NaiveDate), Tally> = BTreeMap::new();
    for (i, m) in moves.iter().enumerate() {
        if m.arrives() {
            let d = days.entry(m.date).or_default();
            d.0.push(m.activity.clone());
            d.1.push(i);
        }
        let c = counters.entry((m.unit.clone(), m.site.clone(), m.date)).or_default();
        c.0 += m.taken;
        c.1 += m.waiting;
        if m.taken > 0 || m.waiting > 0 {
            c.2.push(i);
        }
    }
    let mut out = Vec::new();
    for (date, (activities, behind)) in days {
        let op = open_check(town.id(), date, &activities);
        let what = Guarded::Open { date };
        out.push(Guard { op, what, behind, taken: 0, waiting: 0 });
    }
    for ((unit, site, date), (taken, waiting, behind)) in counters {
        let Some((_, u)) = town.unit(&unit) else { continue };
        let Some(capacity) = u.capacity else { continue };
        let waiting = if u.waiting_list { waiting } else { 0 };
        let add: Vec<(String, i64)> = [("taken", taken), ("waiting", waiting)]
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|(a, n)| (a.into(), n))
            .collect();
        if add.is_empty() {
            continue;
        }
        let mut all = Vec::new();
        if taken > 0 {
            all.push(Cond::AtMost { name: "taken".into(), value: i64::from(capacity) - taken });
            if u.waiting_list && arrival == Arrival::Newcomer {
                all.push(Cond::AtMost { name: "waiting".into(), value: 0 });
            }
        }
        let cond = (!all.is_empty()).then_some(Cond::All(all));
        let op = WriteOp::Counters { key: keys::capacity(town.id(), &unit, &site, date), add, cond };
        let what = Guarded::Counter { unit, site, date, waiting_list: u.waiting_list };
        out.push(Guard { op, what, behind, taken, waiting });
    }
    out
}

/// A unit-day's counter as read: absent, or its `taken` and `waiting` (each possibly absent).
pub type Read = Option<(Option<i64>, Option<i64>)>;

/// What turning newcomers into requests on the waiting list relied on, the counter as `read`:
/// someone still waiting, or else no place freed since (`None`: nothing, the day being too
/// small for the places wanted). Monotone, so that others joining the queue or taking places
/// meanwhile do not refuse the decision; only a freed place or an emptied queue does.
pub fn still_turning_away(read: Read) -> Option<Cond> {
    let (taken, waiting) = read.map_or((0, 0), |(t, w)| (t.unwrap_or(0), w.unwrap_or(0)));
    if waiting > 0 {
        Some(Cond::AtLeast { name: "waiting".into(), value: 1 })
    } else if taken > 0 {
        Some(Cond::AtLeast { name: "taken".into(), value: taken })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::booking::BookingStatus;
    use domain::testkit::{at, booking, d, staff, town};

    fn counter_cond(g: &[Guard]) -> Option<Cond> {
        g.iter().find_map(|g| match &g.op {
            WriteOp::Counters { cond, .. } => Some(cond.clone().unwrap_or(Cond::All(Vec::new()))),
            _ => None,
        })
    }

    #[test]
    fn a_newcomer_taking_a_place_is_checked_open_within_capacity_and_behind_the_queue() {
        let wed = d(2026, 12, 16);
        let b = booking("alsh-mercredi", wed, BookingStatus::Confirmed, 1200);
        let g = guards(&town(), &[Move::of(None, &b)], Arrival::Newcomer);
        assert!(matches!(&g[0].what, Guarded::Open { date } if *date == wed));
        let open = Cond::All(vec![Cond::Absent { name: "closed".into() }, Cond::Absent { name: "closed_alsh".into() }]);
        assert_eq!(g[0].op, WriteOp::Check { key: keys::day(town().id(), wed), cond: open });
        let bounds = Cond::All(vec![
            Cond::AtMost { name: "taken".into(), value: 0 },
            Cond::AtMost { name: "waiting".into(), value: 0 },
        ]);
        assert_eq!(counter_cond(&g), Some(bounds));
    }

    #[test]
    fn a_promotion_moves_the_place_and_the_queue_together_without_the_queue_bound() {
        let wed = d(2026, 12, 16);
        let mut waiting = booking("alsh-mercredi", wed, BookingStatus::Pending, 1200);
        waiting.waiting_list = true;
        let promoted = waiting.promote(None, staff(at(2026, 12, 1, 9, 0))).unwrap();
        let g = guards(&town(), &[Move::of(Some(&waiting), &promoted)], Arrival::FromQueue);
        let add = g.iter().find_map(|g| match &g.op {
            WriteOp::Counters { add, .. } => Some(add.clone()),
            _ => None,
        });
        assert_eq!(add, Some(vec![("taken".into(), 1), ("waiting".into(), -1)]));
        assert_eq!(counter_cond(&g), Some(Cond::All(vec![Cond::AtMost { name: "taken".into(), value: 0 }])));
    }

    #[test]
    fn leaving_frees_without_conditions_and_checks_no_day() {
        let b = booking("cantine", d(2026, 12, 14), BookingStatus::Confirmed, 400);
        let cancelled = b.cancel(BookingStatus::Cancelled, false, staff(at(2026, 12, 1, 9, 0)));
        let g = guards(&town(), &[Move::of(Some(&b), &cancelled)], Arrival::Newcomer);
        assert_eq!(g.len(), 1, "no day check for a cancellation");
        assert!(matches!(&g[0].op, WriteOp::Counters { cond: None, add, .. } if add == &[("taken".to_owned(), -1)]));
        // Evening care has no capacity: a booking there is checked open, and counts nothing.
        let soir = booking("peri-soir", d(2026, 12, 14), BookingStatus::Confirmed, 250);
        let g = guards(&town(), &[Move::of(None, &soir)], Arrival::Newcomer);
        assert_eq!(g.len(), 1);
        assert!(matches!(g[0].what, Guarded::Open { .. }));
    }
}
