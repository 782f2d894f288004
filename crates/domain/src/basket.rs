//! Basket lines and their verdicts: for one family, given what the lines depend on (the
//! children, their bookings, the places taken), each line gets the booking it would write or
//! the reason it cannot. The verdict comes from the calendar's own [`cell`] function, so the
//! grid and the basket share one rule.

use super::booking::{Actor, Booking, BookingStatus, ChangedBy, Slot, Terms};
use super::cells::{ActionKind, Cell, CellFacts, CellState, Locked, cell};
use super::config::{Activity, NotOffered, Town, Unit, Validation};
use super::family::{Child, Family};
use super::{Cents, ChildId, SiteId, UnitId, pricing};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How far ahead a line may be (a school year and a little more).
pub const HORIZON_DAYS: u64 = 450;

/// One change asked for: book or cancel one unit for one child on one date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub child: ChildId,
    pub unit: UnitId,
    pub date: NaiveDate,
    pub action: ActionKind,
}

impl Line {
    /// The cell the line is about (a basket holds one line per cell).
    pub fn cell(&self) -> (ChildId, UnitId, NaiveDate) {
        (self.child.clone(), self.unit.clone(), self.date)
    }
}

/// Why a line cannot be applied: a stable code and a French message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

/// A refusal, its message typeset as French is (parents read it next to the line).
pub fn refusal(code: &str, message: impl Into<String>) -> Refusal {
    Refusal { code: code.to_owned(), message: crate::fr::typeset(&message.into()) }
}

/// Who asks: a guardian within the deadlines, or staff past them at the late prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Guardian,
    Staff,
}

impl Mode {
    fn role(self) -> ChangedBy {
        match self {
            Mode::Guardian => ChangedBy::Guardian,
            Mode::Staff => ChangedBy::Staff,
        }
    }
}

/// What applying an accepted line writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// The booking after the change, its history line appended.
    pub booking: Booking,
    /// The version the booking had when checked; `None`: there was none.
    pub expected_version: Option<u64>,
    /// +1 takes a place, -1 frees one.
    pub places: i8,
    /// +1 joins the waiting list, -1 leaves it.
    #[serde(default)]
    pub waiting: i8,
    /// The unit's capacity, when it has one.
    pub capacity: Option<u32>,
    /// What the line costs: the booking's price for an addition, nothing for a cancellation
    /// within the deadline, the booking's price for one past it (staff).
    pub price: Cents,
    /// Priced with the late rules (staff, past the deadline).
    pub late: bool,
}

impl Effect {
    /// An addition that found, when applied, its day full or someone already waiting: a request
    /// on the waiting list instead, holding no place (`None` if it took no place).
    pub fn to_waiting_list(&self) -> Option<Effect> {
        if self.places <= 0 || self.booking.status == BookingStatus::Cancelled {
            return None;
        }
        let mut booking = self.booking.clone();
        booking.status = BookingStatus::Pending;
        booking.waiting_list = true;
        booking.queued_at = Some(booking.updated_at);
        if let Some(last) = booking.history.last_mut() {
            last.to = BookingStatus::Pending;
        }
        Some(Effect { booking, places: 0, waiting: 1, ..self.clone() })
    }
}

/// Everything the lines of one family depend on.
pub struct Facts {
    pub town: Arc<Town>,
    pub family: Family,
    pub children: HashMap<ChildId, Child>,
    bookings: HashMap<(ChildId, UnitId, NaiveDate), Booking>,
    /// Places taken, by unit, site and date; updated as lines are accepted.
    taken: HashMap<(UnitId, SiteId, NaiveDate), i64>,
    /// Cells already given a verdict in this pass (a cell appears once per request).
    seen: HashSet<(ChildId, UnitId, NaiveDate)>,
}

impl Facts {
    /// The facts of `family`'s lines: its `children` (others are ignored), their `bookings`
    /// over the lines' dates, and the places `taken` per unit, site and date.
    pub fn new(
        town: Arc<Town>,
        family: Family,
        children: HashMap<ChildId, Child>,
        bookings: impl IntoIterator<Item = Booking>,
        taken: HashMap<(UnitId, SiteId, NaiveDate), i64>,
    ) -> Facts {
        let bookings = bookings.into_iter().map(|b| ((b.child.clone(), b.unit.clone(), b.date), b)).collect();
        Facts { town, family, children, bookings, taken, seen: HashSet::new() }
    }

    /// The child's first name, for messages and emails.
    pub fn first_name(&self, child: &ChildId) -> String {
        self.children.get(child).map(|c| c.first_name.clone()).unwrap_or_else(|| child.to_string())
    }

    /// The verdict on one line at `now`. An accepted line counts at once: the places it takes
    /// are taken for the next lines, and the same cell twice is a duplicate.
    pub fn check(&mut self, line: &Line, mode: Mode, by: &str, now: DateTime<Utc>) -> Result<Effect, Refusal> {
        let town = self.town.clone();
        let today = town.today(now);
        let Some(child) = self.children.get(&line.child).filter(|_| self.family.children.contains(&line.child)) else {
            return Err(refusal("unknown_child", "Cet enfant est introuvable."));
        };
        let Some((activity, unit)) = town.unit(&line.unit) else {
            return Err(refusal("unknown_unit", "Cette prestation n'existe pas dans la commune."));
        };
        if today.checked_add_days(Days::new(HORIZON_DAYS)).is_some_and(|last| line.date > last) {
            return Err(refusal(
                "too_far_ahead",
                format!("Les réservations ne sont possibles que {HORIZON_DAYS} jours à l'avance au plus."),
            ));
        }
        if self.seen.contains(&line.cell()) {
            return Err(refusal("duplicate_line", "Ce jour figure déjà dans la demande pour cette prestation."));
        }
        let Some(site) = child.site_for(activity, &unit.id, line.date) else {
            return Err(refusal("not_offered", NotOffered::NotAtSite.french()));
        };
        let taken_key = (unit.id.clone(), site.clone(), line.date);
        let booking = self.bookings.get(&line.cell());
        let c = cell(&CellFacts {
            town: &town,
            activity,
            unit,
            site: &site,
            child,
            family: &self.family,
            date: line.date,
            booking,
            taken: self.taken.get(&taken_key).copied().unwrap_or(0),
            now,
        });
        if booking.is_some_and(|b| b.is_live() && b.family != self.family.reference) {
            return Err(refusal(
                "booked_by_other_household",
                format!("{} est déjà inscrit(e) ce jour-là par l'autre foyer.", child.first_name),
            ));
        }
        if !allowed(&c, booking, line.action, mode) {
            return Err(why_not(&c, line.action, &child.first_name, &town));
        }
        let actor = Actor { by, role: mode.role(), at: now };
        let effect = match (line.action, booking) {
            (ActionKind::Add, existing) => add(&c, existing, line, activity, unit, &site, &self.family, mode, actor),
            (ActionKind::Cancel, Some(b)) => cancel(&c, b, unit, mode, actor),
            (ActionKind::Cancel, None) => return Err(refusal("not_booked", "Il n'y a pas de réservation à annuler.")),
        };
        self.seen.insert(line.cell());
        *self.taken.entry(taken_key).or_default() += i64::from(effect.places) + i64::from(effect.waiting);
        Ok(effect)
    }
}

/// What the cell allows: a guardian does what its action says; staff also act past the
/// deadlines (a late addition on a locked day; a cancellation until the register is taken).
fn allowed(c: &Cell, booking: Option<&Booking>, kind: ActionKind, mode: Mode) -> bool {
    match (mode, kind) {
        (Mode::Guardian, kind) => c.action.as_ref().is_some_and(|a| a.kind == kind),
        (Mode::Staff, ActionKind::Add) => matches!(
            c.state,
            CellState::Bookable { waiting_list: false }
                | CellState::Locked { why: Locked::DeadlinePassed | Locked::NotOpenYet { .. } }
        ),
        (Mode::Staff, ActionKind::Cancel) => booking.is_some_and(|b| {
            b.attendance.is_none()
                && matches!(
                    b.status,
                    BookingStatus::Pending | BookingStatus::Confirmed | BookingStatus::CancelRequested
                )
        }),
    }
}

/// Why the cell refuses the action, for the parent.
fn why_not(c: &Cell, kind: ActionKind, first: &str, town: &Town) -> Refusal {
    let local = |t: Option<DateTime<Utc>>| t.map(|t| crate::fr::date_time(t, town.tz())).unwrap_or_default();
    match (&c.state, kind) {
        (CellState::NotOffered { why: NotOffered::NotEnrolled }, _) => refusal(
            "not_enrolled",
            format!("{first} n'est pas inscrit(e) à cette prestation à cette date : contactez la mairie."),
        ),
        (CellState::NotOffered { why: why @ NotOffered::FileIncomplete { .. } }, _) => {
            refusal("file_incomplete", format!("{first}\u{202f}: {}", why.french()))
        }
        (CellState::NotOffered { why }, _) => refusal("not_offered", why.french()),
        (CellState::Locked { why: Locked::DeadlinePassed }, _) => refusal(
            "deadline_passed",
            format!(
                "Le délai de réservation est dépassé (il courait jusqu'au {}) : contactez le service.",
                local(c.add_deadline)
            ),
        ),
        (CellState::Locked { why: Locked::NotOpenYet { opens_at } }, _) => {
            refusal("not_open_yet", format!("Les réservations pour ce jour ouvriront le {}.", local(Some(*opens_at))))
        }
        (CellState::Locked { why: Locked::Full }, _) | (CellState::Bookable { waiting_list: true }, _) => {
            refusal("full", "Il n'y a plus de place ce jour-là.")
        }
        (CellState::Bookable { .. }, ActionKind::Cancel) | (CellState::Refused { .. }, ActionKind::Cancel) => {
            refusal("not_booked", "Il n'y a pas de réservation à annuler ce jour-là.")
        }
        (CellState::Refused { .. }, ActionKind::Add) => {
            refusal("request_refused", "Le service a refusé cette demande : contactez-le pour en savoir plus.")
        }
        (CellState::Present | CellState::Absent { .. }, _) => {
            refusal("attendance_taken", "La présence a déjà été relevée ce jour-là.")
        }
        (CellState::CancelRequested, ActionKind::Cancel) => {
            refusal("cancel_already_requested", "L'annulation de ce jour a déjà été demandée.")
        }
        (_, ActionKind::Add) => {
            refusal("already_booked", format!("{first} est déjà inscrit(e) ce jour-là à cette prestation."))
        }
        (_, ActionKind::Cancel) => refusal(
            "deadline_passed",
            format!(
                "Le délai d'annulation est dépassé (il courait jusqu'au {}) : contactez le service.",
                local(c.cancel_deadline)
            ),
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn add(
    c: &Cell,
    existing: Option<&Booking>,
    line: &Line,
    activity: &Activity,
    unit: &Unit,
    site: &SiteId,
    family: &Family,
    mode: Mode,
    actor: Actor,
) -> Effect {
    let late = mode == Mode::Staff && c.add_deadline.is_some_and(|d| actor.at >= d);
    let (price, rule) = pricing::priced(unit, family, late);
    let waiting_list = matches!(c.state, CellState::Bookable { waiting_list: true });
    let status = if waiting_list || (mode == Mode::Guardian && unit.validation == Validation::Manual) {
        BookingStatus::Pending
    } else {
        BookingStatus::Confirmed
    };
    let slot = Slot {
        child: line.child.clone(),
        family: family.reference.clone(),
        activity: activity.id.clone(),
        site: site.clone(),
        unit: unit.id.clone(),
        date: line.date,
    };
    let booking = Booking::book(existing, slot, Terms { status, price, late, waiting_list, rule: Some(rule) }, actor);
    Effect {
        expected_version: existing.map(|b| b.version),
        places: if unit.capacity.is_some() && !waiting_list { 1 } else { 0 },
        waiting: i8::from(waiting_list && unit.capacity.is_some()),
        capacity: unit.capacity,
        price,
        late,
        booking,
    }
}

fn cancel(c: &Cell, existing: &Booking, unit: &Unit, mode: Mode, actor: Actor) -> Effect {
    let late = mode == Mode::Staff && c.cancel_deadline.is_some_and(|d| actor.at >= d);
    let to = match (mode, existing.status, unit.validation) {
        (Mode::Guardian, BookingStatus::Confirmed, Validation::Manual) => BookingStatus::CancelRequested,
        _ => BookingStatus::Cancelled,
    };
    let booking = existing.cancel(to, late, actor);
    let frees = existing.holds_place() && !booking.holds_place() && unit.capacity.is_some();
    Effect {
        expected_version: Some(existing.version),
        places: if frees { -1 } else { 0 },
        waiting: if existing.is_waiting() && unit.capacity.is_some() { -1 } else { 0 },
        capacity: unit.capacity,
        price: if late { existing.price } else { Cents::ZERO },
        late,
        booking,
    }
}

/// The guard a validation's transaction failed on, as the store reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// A day's place counter: no place left, or (`waiting_list`) someone waits already.
    Places { waiting_list: bool },
    /// A booking changed since its line was checked.
    Booking,
}

/// A line behind a failed guard, as the validation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behind {
    /// The line's index in the validation.
    pub index: usize,
    /// Already turned into a request on the waiting list.
    pub queued: bool,
    /// It takes a place when applied.
    pub takes_place: bool,
}

/// What a validation does about a guard that failed under its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Race {
    /// These additions join the day's waiting list instead (the chunk is tried again).
    Queue(Vec<usize>),
    /// This line is lost, for this reason.
    Lose(usize, Refusal),
    /// No line behind the guard: nothing to decide.
    Nothing,
}

/// The refusal of a line whose day's last place went meanwhile.
pub fn full() -> Refusal {
    refusal("full", "La dernière place de ce jour vient d'être prise.")
}

/// The refusal of a line whose booking changed meanwhile.
pub fn changed_meanwhile() -> Refusal {
    refusal("changed_meanwhile", "Ce jour vient d'être modifié par ailleurs : rechargez le calendrier.")
}

/// A guard failed under `behind` (in the order of the transaction): a full day with a waiting
/// list puts a guardian's additions not yet queued on it; otherwise the last line is lost, « full »
/// for a day without a place (staff have no waiting list), « changed meanwhile » for a booking.
pub fn lost_race(failed: Failed, mode: Mode, behind: &[Behind]) -> Race {
    let lose = |why: Refusal| behind.last().map_or(Race::Nothing, |b| Race::Lose(b.index, why));
    match failed {
        Failed::Places { waiting_list: true } if mode == Mode::Guardian => {
            let takers: Vec<usize> = behind.iter().filter(|b| !b.queued && b.takes_place).map(|b| b.index).collect();
            if takers.is_empty() { lose(full()) } else { Race::Queue(takers) }
        }
        Failed::Places { .. } => lose(full()),
        Failed::Booking => lose(changed_meanwhile()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Attendance;
    use crate::testkit::{at, booking, child, d, family, id, town};

    fn facts(bookings: Vec<Booking>, taken: &[(&str, &str, NaiveDate, i64)]) -> Facts {
        let c = child();
        let taken = taken.iter().map(|(u, s, date, n)| ((id(u), id(s), *date), *n)).collect();
        Facts::new(Arc::new(town()), family(), HashMap::from([(c.id.clone(), c)]), bookings, taken)
    }

    fn line(unit: &str, date: NaiveDate, action: ActionKind) -> Line {
        Line { child: id("lea"), unit: id(unit), date, action }
    }

    const MONDAY: (i32, u32, u32) = (2026, 12, 7);

    fn monday() -> NaiveDate {
        d(MONDAY.0, MONDAY.1, MONDAY.2)
    }

    #[test]
    fn a_guardian_books_an_open_day_at_the_family_price() {
        let mut f = facts(vec![], &[]);
        let e = f
            .check(&line("cantine", monday(), ActionKind::Add), Mode::Guardian, "sophie", at(2026, 12, 1, 10, 0))
            .unwrap();
        // QF 750: the 601–900 bracket.
        assert_eq!((e.price.get(), e.late, e.places, e.expected_version), (250, false, 1, None));
        assert_eq!(e.booking.status, BookingStatus::Confirmed);
        assert_eq!(e.booking.site.as_str(), "ecole-a");
    }

    #[test]
    fn refusals_read_as_french_is_written() {
        let now = at(2026, 12, 1, 10, 0);
        let mut f = facts(vec![], &[]);
        let lines = [
            line("cantine", monday(), ActionKind::Cancel),
            line("inconnue", monday(), ActionKind::Add),
            line("cantine", d(2026, 12, 5), ActionKind::Add),
            line("cantine", d(2028, 12, 5), ActionKind::Add),
            line("cantine", d(2026, 11, 30), ActionKind::Add),
        ];
        for l in &lines {
            let r = f.check(l, Mode::Guardian, "sophie", now).unwrap_err();
            assert!(crate::fr::faults(&r.message).is_empty(), "{}: {}", r.code, r.message);
        }
        assert_eq!(
            refusal("x", "Cet enfant n'est pas inscrit : voyez « Inscriptions »").message,
            "Cet enfant n’est pas inscrit\u{202f}: voyez «\u{202f}Inscriptions\u{202f}»"
        );
    }

    #[test]
    fn the_same_cell_twice_is_a_duplicate() {
        let mut f = facts(vec![], &[]);
        let now = at(2026, 12, 1, 10, 0);
        let l = line("cantine", monday(), ActionKind::Add);
        assert!(f.check(&l, Mode::Guardian, "sophie", now).is_ok());
        assert_eq!(f.check(&l, Mode::Guardian, "sophie", now).unwrap_err().code, "duplicate_line");
    }

    #[test]
    fn past_the_deadline_a_guardian_is_refused_and_staff_pay_the_late_price() {
        // Monday's deadline: Thursday before, 23:59.
        let friday = at(2026, 12, 4, 8, 0);
        let l = line("cantine", monday(), ActionKind::Add);
        let refused = facts(vec![], &[]).check(&l, Mode::Guardian, "sophie", friday).unwrap_err();
        assert_eq!(refused.code, "deadline_passed");
        assert!(refused.message.contains("03/12/2026 à 23\u{a0}h\u{a0}59"), "{}", refused.message);
        let e = facts(vec![], &[]).check(&l, Mode::Staff, "agent", friday).unwrap();
        // The canteen's late rule: the normal price + 3 €.
        assert_eq!((e.price.get(), e.late, e.booking.late), (550, true, true));
        let soir = facts(vec![], &[])
            .check(&line("peri-soir", monday(), ActionKind::Add), Mode::Staff, "agent", friday)
            .unwrap();
        assert_eq!(soir.price.get(), 1000, "evening care's late rule replaces the price");
    }

    #[test]
    fn a_full_day_is_refused_and_each_accepted_line_takes_its_place() {
        let now = at(2026, 12, 1, 10, 0);
        let full = facts(vec![], &[("cantine", "ecole-a", monday(), 2)])
            .check(&line("cantine", monday(), ActionKind::Add), Mode::Guardian, "sophie", now)
            .unwrap_err();
        assert_eq!(full.code, "full");
        // The Wednesday centre has one place and a waiting list: the second child waits.
        let wednesday = d(2026, 12, 16);
        let mut f = facts(vec![], &[("alsh-mercredi", "ecole-a", wednesday, 1)]);
        let e = f.check(&line("alsh-mercredi", wednesday, ActionKind::Add), Mode::Guardian, "sophie", now).unwrap();
        assert_eq!((e.booking.status, e.booking.waiting_list, e.places), (BookingStatus::Pending, true, 0));
    }

    #[test]
    fn an_addition_that_finds_its_day_taken_when_applied_joins_the_queue_in_order_of_arrival() {
        let now = at(2026, 12, 1, 10, 0);
        let l = line("alsh-mercredi", d(2026, 12, 16), ActionKind::Add);
        let by_staff = facts(vec![], &[]).check(&l, Mode::Staff, "agent", now).unwrap();
        assert_eq!((by_staff.places, by_staff.waiting), (1, 0));
        let queued = by_staff.to_waiting_list().unwrap();
        assert_eq!((queued.booking.status, queued.booking.waiting_list), (BookingStatus::Pending, true));
        assert_eq!((queued.places, queued.waiting, queued.booking.queued_at), (0, 1, Some(now)));
        assert_eq!(queued.booking.history.last().map(|c| c.to), Some(BookingStatus::Pending));
        assert!(queued.to_waiting_list().is_none(), "a request on the list takes no place to give up");
    }

    #[test]
    fn a_manual_unit_makes_a_request_staff_confirm_at_once() {
        let now = at(2026, 12, 1, 10, 0);
        let l = line("alsh-mercredi", d(2026, 12, 16), ActionKind::Add);
        let asked = facts(vec![], &[]).check(&l, Mode::Guardian, "sophie", now).unwrap();
        assert_eq!((asked.booking.status, asked.places, asked.price.get()), (BookingStatus::Pending, 1, 1200));
        let by_staff = facts(vec![], &[]).check(&l, Mode::Staff, "agent", now).unwrap();
        assert_eq!(by_staff.booking.status, BookingStatus::Confirmed);
    }

    #[test]
    fn cancelling_in_time_is_free_and_late_by_staff_stays_billed() {
        let b = booking("cantine", monday(), BookingStatus::Confirmed, 250);
        let l = line("cantine", monday(), ActionKind::Cancel);
        let e = facts(vec![b.clone()], &[]).check(&l, Mode::Guardian, "sophie", at(2026, 12, 1, 10, 0)).unwrap();
        assert_eq!(
            (e.booking.status, e.price.get(), e.places, e.expected_version),
            (BookingStatus::Cancelled, 0, -1, Some(1))
        );
        let friday = at(2026, 12, 4, 8, 0);
        let late = facts(vec![b.clone()], &[]).check(&l, Mode::Guardian, "sophie", friday).unwrap_err();
        assert_eq!(late.code, "deadline_passed");
        let e = facts(vec![b], &[]).check(&l, Mode::Staff, "agent", friday).unwrap();
        assert!(e.booking.late_cancel);
        assert_eq!(e.price.get(), 250);
    }

    #[test]
    fn a_guardian_cancelling_a_manual_booking_asks_staff() {
        let wednesday = d(2026, 12, 16);
        let b = booking("alsh-mercredi", wednesday, BookingStatus::Confirmed, 1200);
        let e = facts(vec![b], &[])
            .check(
                &line("alsh-mercredi", wednesday, ActionKind::Cancel),
                Mode::Guardian,
                "sophie",
                at(2026, 12, 1, 10, 0),
            )
            .unwrap();
        assert_eq!((e.booking.status, e.places), (BookingStatus::CancelRequested, 0));
    }

    #[test]
    fn nothing_changes_once_the_register_is_taken() {
        let now = at(2026, 12, 8, 10, 0);
        let b = booking("cantine", monday(), BookingStatus::Confirmed, 250).mark(Attendance::Present, now);
        let refused =
            facts(vec![b], &[]).check(&line("cantine", monday(), ActionKind::Cancel), Mode::Staff, "agent", now);
        assert_eq!(refused.unwrap_err().code, "attendance_taken");
    }

    #[test]
    fn unknown_children_days_not_offered_and_far_dates_are_refused() {
        let now = at(2026, 12, 1, 10, 0);
        let mut f = facts(vec![], &[]);
        let other = Line { child: id("noe"), unit: id("cantine"), date: monday(), action: ActionKind::Add };
        assert_eq!(f.check(&other, Mode::Guardian, "sophie", now).unwrap_err().code, "unknown_child");
        let saturday = line("cantine", d(2026, 12, 12), ActionKind::Add);
        assert_eq!(f.check(&saturday, Mode::Guardian, "sophie", now).unwrap_err().code, "not_offered");
        let summer = line("cantine", d(2027, 8, 2), ActionKind::Add);
        assert_eq!(f.check(&summer, Mode::Staff, "agent", now).unwrap_err().code, "not_offered");
        let far = line("cantine", d(2028, 3, 6), ActionKind::Add);
        assert_eq!(f.check(&far, Mode::Guardian, "sophie", now).unwrap_err().code, "too_far_ahead");
        let unknown = line("piscine", monday(), ActionKind::Add);
        assert_eq!(f.check(&unknown, Mode::Guardian, "sophie", now).unwrap_err().code, "unknown_unit");
    }

    #[test]
    fn after_a_change_of_school_the_booking_is_at_the_new_school() {
        let now = at(2027, 1, 25, 10, 0);
        let e = facts(vec![], &[("cantine", "ecole-a", d(2027, 2, 1), 2)])
            .check(&line("cantine", d(2027, 2, 1), ActionKind::Add), Mode::Guardian, "sophie", now)
            .unwrap();
        assert_eq!(e.booking.site.as_str(), "ecole-b", "school A being full does not matter");
    }
}

#[cfg(test)]
mod races {
    use super::*;

    fn behind(index: usize, queued: bool, takes_place: bool) -> Behind {
        Behind { index, queued, takes_place }
    }

    #[test]
    fn a_guardians_additions_join_the_waiting_list_of_a_full_day() {
        let lines = [behind(3, false, true), behind(4, true, true), behind(5, false, false), behind(6, false, true)];
        assert_eq!(lost_race(Failed::Places { waiting_list: true }, Mode::Guardian, &lines), Race::Queue(vec![3, 6]));
    }

    #[test]
    fn a_full_day_whose_lines_are_all_queued_loses_the_last_line_as_full() {
        let lines = [behind(1, true, true), behind(2, false, false)];
        assert_eq!(lost_race(Failed::Places { waiting_list: true }, Mode::Guardian, &lines), Race::Lose(2, full()));
    }

    #[test]
    fn staff_have_no_waiting_list_and_lose_the_line_as_full() {
        let lines = [behind(0, false, true)];
        assert_eq!(lost_race(Failed::Places { waiting_list: true }, Mode::Staff, &lines), Race::Lose(0, full()));
    }

    #[test]
    fn a_day_without_a_waiting_list_loses_the_line_as_full() {
        let lines = [behind(7, false, true), behind(8, false, true)];
        assert_eq!(lost_race(Failed::Places { waiting_list: false }, Mode::Guardian, &lines), Race::Lose(8, full()));
        assert_eq!(full().code, "full");
    }

    #[test]
    fn a_booking_changed_elsewhere_loses_its_line() {
        let r = lost_race(Failed::Booking, Mode::Guardian, &[behind(9, false, true)]);
        assert_eq!(r, Race::Lose(9, changed_meanwhile()));
        assert_eq!(changed_meanwhile().code, "changed_meanwhile");
    }

    #[test]
    fn a_guard_with_no_line_behind_decides_nothing() {
        assert_eq!(lost_race(Failed::Booking, Mode::Guardian, &[]), Race::Nothing);
        assert_eq!(lost_race(Failed::Places { waiting_list: true }, Mode::Guardian, &[]), Race::Nothing);
    }
}
