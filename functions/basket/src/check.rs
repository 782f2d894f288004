//! Checking lines: for one family, everything the lines depend on is read once (the children,
//! each child's bookings over the lines' dates in one query, the places taken per unit and
//! site in one query), then each line gets a verdict: the booking it would write, or the
//! reason it cannot. The verdict comes from the same cell logic as the calendar, so the grid
//! and the basket never disagree.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::booking::{Attendance, Booking, BookingStatus, ChangedBy};
use shared::domain::cells::{ActionKind, CellFacts, CellState, Locked, cell};
use shared::domain::config::{Activity, NotOffered, Town, Unit, Validation};
use shared::domain::family::{Child, Family};
use shared::domain::{Cents, ChildId, SiteId, UnitId};
use shared::store::{Store, StoreError, repo};
use std::collections::{BTreeMap, HashMap, HashSet};

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

fn refusal(code: &str, message: impl Into<String>) -> Refusal {
    Refusal { code: code.to_owned(), message: message.into() }
}

/// Who asks: a guardian within the deadlines, or staff past them at the late prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Guardian,
    Staff,
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
    /// The unit's capacity, when it has one.
    pub capacity: Option<u32>,
    /// What the line costs: the booking's price for an addition, nothing for a cancellation
    /// within the deadline, the booking's price for one past it (staff).
    pub price: Cents,
    /// Priced with the late rules (staff, past the deadline).
    pub late: bool,
}

/// Everything the lines of one family depend on, read once.
pub struct Facts {
    pub town: std::sync::Arc<Town>,
    pub family: Family,
    pub children: HashMap<ChildId, Child>,
    bookings: HashMap<(ChildId, UnitId, NaiveDate), Booking>,
    /// Places taken, by unit, site and date; updated as lines are accepted.
    taken: HashMap<(UnitId, SiteId, NaiveDate), i64>,
    /// Cells already given a verdict in this pass (a cell appears once per request).
    seen: HashSet<(ChildId, UnitId, NaiveDate)>,
}

/// The site of the child's enrolment that covers the line, or the activity's first.
fn site_for(child: &Child, activity: &Activity, unit: &Unit, date: NaiveDate) -> Option<SiteId> {
    child
        .enrolments
        .iter()
        .find(|e| activity.sites.contains(&e.site) && e.covers(&activity.id, &e.site, &unit.id, date))
        .map(|e| e.site.clone())
        .or_else(|| activity.sites.first().cloned())
}

impl Facts {
    /// Reads what `lines` need: the family's children they name, each child's bookings over
    /// its lines' dates (one query per child), the places taken per unit with a capacity and
    /// site (one query each). Children of other families are not read.
    pub async fn load(
        store: &Store,
        town: std::sync::Arc<Town>,
        family: Family,
        lines: &[Line],
    ) -> Result<Facts, StoreError> {
        let mut ranges: BTreeMap<ChildId, (NaiveDate, NaiveDate)> = BTreeMap::new();
        for l in lines.iter().filter(|l| family.children.contains(&l.child)) {
            let r = ranges.entry(l.child.clone()).or_insert((l.date, l.date));
            r.0 = r.0.min(l.date);
            r.1 = r.1.max(l.date);
        }
        let mut children = HashMap::new();
        let mut bookings = HashMap::new();
        for (id, (from, to)) in &ranges {
            let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
            for b in repo::bookings(store, town.id(), id, *from, *to).await? {
                bookings.insert((b.child.clone(), b.unit.clone(), b.date), b);
            }
            children.insert(id.clone(), child);
        }
        let mut places: BTreeMap<(UnitId, SiteId), (NaiveDate, NaiveDate)> = BTreeMap::new();
        for l in lines {
            let Some((activity, unit)) = town.unit(&l.unit) else { continue };
            let Some(child) = children.get(&l.child) else { continue };
            let Some(site) = unit.capacity.and(site_for(child, activity, unit, l.date)) else { continue };
            let r = places.entry((unit.id.clone(), site)).or_insert((l.date, l.date));
            r.0 = r.0.min(l.date);
            r.1 = r.1.max(l.date);
        }
        let mut taken = HashMap::new();
        for ((unit, site), (from, to)) in places {
            for (date, n) in repo::places_taken(store, town.id(), &unit, &site, from, to).await? {
                taken.insert((unit.clone(), site.clone(), date), n);
            }
        }
        Ok(Facts { town, family, children, bookings, taken, seen: HashSet::new() })
    }

    /// The child's first name, for messages and emails.
    pub fn first_name(&self, child: &ChildId) -> String {
        self.children.get(child).map(|c| c.first_name.clone()).unwrap_or_else(|| child.to_string())
    }

    /// The verdict on one line at `now`. An accepted line counts at once: the places it takes
    /// are taken for the next lines, and the same cell twice is a duplicate.
    pub fn check(&mut self, line: &Line, mode: Mode, by: &str, now: DateTime<Utc>) -> Result<Effect, Refusal> {
        let town = self.town.clone();
        let tz = town.tz();
        let today = now.with_timezone(&tz).date_naive();
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
        let Some(site) = site_for(child, activity, unit, line.date) else {
            return Err(refusal("not_offered", not_offered(&NotOffered::NotAtSite)));
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
        let first = &child.first_name;
        let local = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.with_timezone(&tz).format("%d/%m/%Y à %Hh%M").to_string()).unwrap_or_default()
        };
        // What the cell allows; staff also act past the deadlines.
        let allowed = match (mode, line.action) {
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
        };
        if !allowed {
            return Err(match (&c.state, line.action) {
                (CellState::NotOffered { why: NotOffered::NotEnrolled }, _) => refusal(
                    "not_enrolled",
                    format!("{first} n'est pas inscrit(e) à cette prestation à cette date : contactez la mairie."),
                ),
                (CellState::NotOffered { why }, _) => refusal("not_offered", not_offered(why)),
                (CellState::Locked { why: Locked::DeadlinePassed }, _) => refusal(
                    "deadline_passed",
                    format!(
                        "Le délai de réservation est dépassé (il courait jusqu'au {}) : contactez le service.",
                        local(c.add_deadline)
                    ),
                ),
                (CellState::Locked { why: Locked::NotOpenYet { opens_at } }, _) => refusal(
                    "not_open_yet",
                    format!("Les réservations pour ce jour ouvriront le {}.", local(Some(*opens_at))),
                ),
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
            });
        }
        let role = match mode {
            Mode::Guardian => ChangedBy::Guardian,
            Mode::Staff => ChangedBy::Staff,
        };
        let effect = match line.action {
            ActionKind::Add => add(&c, booking, line, activity, unit, &site, &self.family, mode, role, by, now),
            ActionKind::Cancel => {
                let Some(b) = booking else {
                    return Err(refusal("not_booked", "Il n'y a pas de réservation à annuler."));
                };
                cancel(&c, b, unit, mode, role, by, now)
            }
        };
        self.seen.insert(line.cell());
        *self.taken.entry(taken_key).or_default() += i64::from(effect.places);
        Ok(effect)
    }
}

#[allow(clippy::too_many_arguments)]
fn add(
    c: &shared::domain::cells::Cell,
    existing: Option<&Booking>,
    line: &Line,
    activity: &Activity,
    unit: &Unit,
    site: &SiteId,
    family: &Family,
    mode: Mode,
    role: ChangedBy,
    by: &str,
    now: DateTime<Utc>,
) -> Effect {
    let normal = unit.price.for_family(family.resident, family.quotient_familial);
    let late = mode == Mode::Staff && c.add_deadline.is_some_and(|d| now >= d);
    let price = if late { unit.late_addition.apply(normal) } else { normal };
    let waiting = matches!(c.state, CellState::Bookable { waiting_list: true });
    let status = if waiting || (mode == Mode::Guardian && unit.validation == Validation::Manual) {
        BookingStatus::Pending
    } else {
        BookingStatus::Confirmed
    };
    let mut booking = existing.cloned().unwrap_or_else(|| Booking {
        child: line.child.clone(),
        family: family.reference.clone(),
        activity: activity.id.clone(),
        site: site.clone(),
        unit: unit.id.clone(),
        date: line.date,
        status: BookingStatus::Cancelled,
        price,
        late,
        attendance: None,
        refusal_reason: None,
        waiting_list: waiting,
        late_cancel: false,
        updated_at: now,
        version: 0,
        history: Vec::new(),
    });
    booking.family = family.reference.clone();
    booking.site = site.clone();
    booking.price = price;
    booking.late = late;
    booking.attendance = None::<Attendance>;
    booking.refusal_reason = None;
    booking.waiting_list = waiting;
    booking.late_cancel = false;
    booking.change(status, now, by, role, late);
    Effect {
        expected_version: existing.map(|b| b.version),
        places: if unit.capacity.is_some() && !waiting { 1 } else { 0 },
        capacity: unit.capacity,
        price,
        late,
        booking,
    }
}

fn cancel(
    c: &shared::domain::cells::Cell,
    existing: &Booking,
    unit: &Unit,
    mode: Mode,
    role: ChangedBy,
    by: &str,
    now: DateTime<Utc>,
) -> Effect {
    let late = mode == Mode::Staff && c.cancel_deadline.is_some_and(|d| now >= d);
    let status = match (mode, existing.status, unit.validation) {
        (Mode::Guardian, BookingStatus::Confirmed, Validation::Manual) => BookingStatus::CancelRequested,
        _ => BookingStatus::Cancelled,
    };
    let mut booking = existing.clone();
    let held = booking.holds_place();
    booking.late_cancel = late;
    booking.change(status, now, by, role, late);
    let frees = held && !booking.holds_place() && unit.capacity.is_some();
    Effect {
        expected_version: Some(existing.version),
        places: if frees { -1 } else { 0 },
        capacity: unit.capacity,
        price: if late { existing.price } else { Cents::ZERO },
        late,
        booking,
    }
}

/// Why a unit does not run on a day, for parents.
pub fn not_offered(why: &NotOffered) -> String {
    why.french()
}
