//! Billing against a reference model (issue 25, « the checks that would have found these »):
//! random Decembers of the demo town — guardians booking and cancelling on both sides of the
//! deadlines, staff late additions and late cancellations, registers, children present without
//! a booking, sick reports and certificates before or after the town's delay, closures,
//! quotient changes, a child shared by two households — are played on the local portal (its
//! router and embedded store, as a browser would call it), then the administrator finalises
//! the month and every invoice is compared, date by date, with what a small reference model
//! written from `docs/billing.md` and `RULES.md` (not from the code) says it must bill.
//!
//! Issue 28 adds the demo's aid (the CAF's « aide aux temps libres », 3,00 € a Wednesday for a QF
//! up to 600, under a yearly ceiling per child that the model's events lower) and sibling
//! reductions (set on the canteen and evening care by an event) to both sides: the model
//! restates `docs/accounting.md` « Aids » and `docs/configuration.md` « Sibling reductions ».
//!
//! `EF_MODEL_CASES` sets how many random months run (default [`DEFAULT_CASES`]; the
//! nightly-sized run of `docs/billing.md` uses 2,000). A failure is shrunk by proptest to the
//! shortest sequence of events that still disagrees with the model, and printed.

use crate::helpers::{Browser, TOWN, TestPortal, portal};
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc, Weekday};
use domain::TownId;
use domain::booking::BookingStatus;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Random months a plain `cargo test` plays.
const DEFAULT_CASES: u32 = 40;

// ---------------------------------------------------------------------------------------------
// The reference model: the demo town's rules as docs/billing.md and RULES.md state them.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Cantine,
    Etude,
    Matin,
    Soir,
    Mercredi,
    /// The holiday ALSH (manual validation): only the demo's own requests, never generated.
    Vacances,
}

impl Unit {
    fn id(self) -> &'static str {
        match self {
            Unit::Cantine => "cantine",
            Unit::Etude => "etude-dirigee",
            Unit::Matin => "peri-matin",
            Unit::Soir => "peri-soir",
            Unit::Mercredi => "alsh-mercredi",
            Unit::Vacances => "alsh-vacances",
        }
    }

    /// « 2 working days » for school-day care, « 5 » for Wednesdays (RULES.md « Deadlines »),
    /// both to add and to cancel, with the demo's cutoff at 23:59.
    fn deadline_days(self) -> u32 {
        if matches!(self, Unit::Mercredi | Unit::Vacances) { 5 } else { 2 }
    }

    /// The family's normal price (the demo's `price`: non-resident price first, then the QF
    /// bracket, else the base price).
    fn normal(self, family: &FamilyModel, rise: i64) -> i64 {
        let (base, non_resident, brackets): (i64, Option<i64>, &[(u32, i64)]) = match self {
            Unit::Cantine => (380, Some(520), &[(600, 100), (1000, 250)]),
            Unit::Etude => (200, None, &[]),
            Unit::Matin => (150, None, &[(600, 80)]),
            Unit::Soir => (250, None, &[(600, 120)]),
            Unit::Mercredi => (1200, Some(1800), &[(600, 500), (1000, 850)]),
            Unit::Vacances => (1400, Some(2000), &[(600, 600), (1000, 950)]),
        };
        if let (false, Some(p)) = (family.resident, non_resident) {
            return p + rise;
        }
        rise + family.qf.and_then(|qf| brackets.iter().find(|(up_to, _)| qf <= *up_to)).map_or(base, |(_, p)| *p)
    }

    /// The late price (the demo's `late_addition`: + 1 € at the canteen, a flat 10 € for the
    /// study and evening care, 4 € in the morning, + 3 € on Wednesdays).
    fn late(self, family: &FamilyModel, rise: i64) -> i64 {
        match self {
            Unit::Cantine => self.normal(family, rise) + 100,
            Unit::Etude | Unit::Soir => 1000,
            Unit::Matin => 400,
            Unit::Mercredi | Unit::Vacances => self.normal(family, rise) + 300,
        }
    }

    /// Whether the unit runs that day in December 2026 or January 2027 (zone B: school on Monday,
    /// Tuesday, Thursday and Friday but in the Christmas holidays, from Saturday 19 December to
    /// Sunday 3 January; the ALSH on school-period Wednesdays).
    /// January 2027 has school again from Monday the 4th.
    fn runs(self, d: NaiveDate) -> bool {
        let term = !(date(2026, 12, 19)..=date(2027, 1, 3)).contains(&d);
        match (self, d.weekday()) {
            (Unit::Mercredi, Weekday::Wed) => term,
            (Unit::Vacances, _) => false,
            (Unit::Mercredi, _) | (_, Weekday::Wed | Weekday::Sat | Weekday::Sun) => false,
            _ => term,
        }
    }
}

/// The instant a change of `d` stops being accepted online: 23:59 in Paris on the n-th working
/// day (Monday to Friday; no public holiday falls in these weeks) before `d`.
fn deadline(unit: Unit, d: NaiveDate) -> DateTime<Utc> {
    let mut day = d;
    let mut n = unit.deadline_days();
    while n > 0 {
        day = day.pred_opt().expect("date");
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            n -= 1;
        }
    }
    // Paris is UTC+1 all December.
    paris(day, 23, 59)
}

fn paris(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    d.and_hms_opt(h, m, 0).expect("time").and_utc() - TimeDelta::hours(1)
}

#[derive(Debug, Clone)]
struct FamilyModel {
    resident: bool,
    qf: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Booked,
    /// Cancelled in time, or by the town: not billed.
    Gone,
    /// Cancelled by staff past the cancel deadline: billed at its price.
    CancelledLate,
    /// A request waiting for staff at the month's end: not billed (an anomaly for staff).
    Pending,
}

/// The rule an invoice line names (docs/billing.md, « What a month's booking becomes »).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The family's price (bracket, residence).
    Normal,
    /// « Ajout hors délai »: a staff late addition or a child present without a booking.
    Late,
    /// « Annulation hors délai »
    CancelledLate,
    /// « Absence justifiée »: 0 €.
    Justified,
    /// « Régularisation facture … »: a change after billing, on the next invoice.
    Regularisation,
}

impl Rule {
    /// The rule a line's text names.
    fn of(text: &str) -> Rule {
        if text.starts_with("Régularisation") {
            Rule::Regularisation
        } else if text.starts_with("Absence justifiée") {
            Rule::Justified
        } else if text.starts_with("Annulation hors délai") {
            Rule::CancelledLate
        } else if text.starts_with("Ajout hors délai") {
            Rule::Late
        } else {
            Rule::Normal
        }
    }
}

#[derive(Debug, Clone)]
struct Cell {
    family: &'static str,
    state: State,
    late: bool,
    price: i64,
    present: Option<bool>,
    justified: bool,
    reported_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Model {
    families: BTreeMap<&'static str, FamilyModel>,
    cells: BTreeMap<(&'static str, Unit, NaiveDate), Cell>,
    closed: Vec<NaiveDate>,
    /// What the administrator added to every figure of a unit's price.
    rises: BTreeMap<Unit, i64>,
    /// The demo aid's yearly ceiling per child and household, in cents.
    aid_ceiling: i64,
    /// The sibling reductions of the canteen and evening care, in percent: from the second
    /// child, from the third.
    siblings: Option<(i64, i64)>,
}

/// A day billed: its amount and the rule that priced it.
type Billed = BTreeMap<(String, String, NaiveDate), (i64, Rule)>;

/// A family's day of a unit, where siblings are counted.
type SiblingDay<'a> = (&'a str, Unit, NaiveDate);

/// A day's aid: what the aid gave on (child, unit, date).
type Aided = BTreeMap<(String, String, NaiveDate), i64>;

/// A family's month as the model bills it: each day's line, each day's aid, and the total owed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MonthBill {
    lines: Billed,
    aids: Aided,
    total: i64,
}

/// The demo's aid (`infra/local/demo/town.json`): 3,00 € a day at the leisure centre for a QF up
/// to 600 (docs/accounting.md « Aids »).
const AID_PER_DAY: i64 = 300;
const AID_UP_TO_QF: u32 = 600;
const DEMO_AID_CEILING: i64 = 4500;

/// The town's delay for a certificate after the reported day ends (`certificate_hours`).
const CERTIFICATE_HOURS: i64 = 48;

impl Model {
    fn live(&self, child: &'static str, unit: Unit, d: NaiveDate) -> Option<&Cell> {
        self.cells.get(&(child, unit, d)).filter(|c| c.state == State::Booked)
    }

    fn open(&self, unit: Unit, d: NaiveDate) -> bool {
        unit.runs(d) && !self.closed.contains(&d) && !(unit == Unit::Mercredi && d == demo_alsh_closure())
    }

    fn book(&mut self, kid: &Kid, unit: Unit, d: NaiveDate, late: bool) {
        let family = &self.families[kid.family];
        let rise = self.rises.get(&unit).copied().unwrap_or(0);
        let price = if late { unit.late(family, rise) } else { unit.normal(family, rise) };
        let cell = Cell {
            family: kid.family,
            state: State::Booked,
            late,
            price,
            present: None,
            justified: false,
            reported_at: None,
        };
        self.cells.insert((kid.child, unit, d), cell);
    }

    /// What the month's invoices must say: per family, each (child, unit, date) billed and its
    /// amount (0 for a justified absence), after sibling reductions; each day's aid; families
    /// owing 0 € once the aids are deducted get no invoice.
    fn invoices(&self, month: u32) -> BTreeMap<&'static str, MonthBill> {
        let mut out: BTreeMap<&'static str, MonthBill> = BTreeMap::new();
        // A day of a unit with sibling reductions: the family's children booked that day, billed
        // at their price (not cancelled, not justified).
        let mut of_day: BTreeMap<SiblingDay, Vec<(i64, &str)>> = BTreeMap::new();
        for ((child, unit, d), c) in self.cells.iter().filter(|((_, _, d), _)| d.month() == month) {
            let billed = match c.state {
                State::Gone | State::Pending => continue,
                State::CancelledLate => (c.price, Rule::CancelledLate),
                State::Booked if c.justified => (0, Rule::Justified),
                State::Booked if c.late => (c.price, Rule::Late),
                State::Booked => (c.price, Rule::Normal),
            };
            if self.siblings.is_some()
                && matches!(unit, Unit::Cantine | Unit::Soir)
                && billed.0 > 0
                && c.state == State::Booked
            {
                of_day.entry((c.family, *unit, *d)).or_default().push((c.price, child));
            }
            out.entry(c.family).or_default().lines.insert(((*child).to_owned(), unit.id().to_owned(), *d), billed);
        }
        // The dearest booking first (then by child): the second pays less, the third less again.
        if let Some((second, third)) = self.siblings {
            for ((family, unit, d), mut kids) in of_day {
                kids.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                for (rank, (price, child)) in kids.into_iter().enumerate() {
                    let off = match rank {
                        0 => continue,
                        1 => second,
                        _ => third,
                    };
                    let key = (child.to_owned(), unit.id().to_owned(), d);
                    let line = out.get_mut(family).and_then(|b| b.lines.get_mut(&key)).expect("the day's line");
                    line.0 = (price * (100 - off) + 50) / 100;
                }
            }
        }
        // The aid: a family whose QF (when billed) is up to 600, on the leisure centre's days
        // attended or not marked (not an absence, not justified, not cancelled), at most the
        // day's price and what is left of the child's ceiling, days in date order.
        for (family, bill) in out.iter_mut() {
            let eligible = self.families[family].qf.is_some_and(|qf| qf <= AID_UP_TO_QF);
            let mut used: BTreeMap<String, i64> = BTreeMap::new();
            let mut days: Vec<_> = bill.lines.iter().map(|(k, v)| (k.clone(), *v)).collect();
            days.sort_by(|((c1, u1, d1), _), ((c2, u2, d2), _)| (d1, c1, u1).cmp(&(d2, c2, u2)));
            for ((child, unit, d), (amount, rule)) in days {
                let cell = self
                    .cells
                    .iter()
                    .find(|((c, u, day), _)| **c == child && u.id() == unit && *day == d)
                    .map(|(_, c)| c);
                let attended =
                    cell.is_some_and(|c| c.state == State::Booked && !c.justified && c.present != Some(false));
                let centre = unit == Unit::Mercredi.id() || unit == Unit::Vacances.id();
                if !eligible || !centre || !attended || amount <= 0 || !matches!(rule, Rule::Normal | Rule::Late) {
                    continue;
                }
                let so_far = used.entry(child.clone()).or_default();
                let aid = AID_PER_DAY.min(amount).min(self.aid_ceiling - *so_far);
                if aid > 0 {
                    *so_far += aid;
                    bill.aids.insert((child, unit, d), aid);
                }
            }
            let lines: i64 = bill.lines.values().map(|(amount, _)| amount).sum();
            bill.total = lines - bill.aids.values().sum::<i64>();
        }
        out.retain(|_, b| b.total > 0);
        out
    }
}

/// The demo's own closure: the ALSH on Wednesday 9 December (`infra/local/demo/town.json`).
fn demo_alsh_closure() -> NaiveDate {
    date(2026, 12, 9)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

// ---------------------------------------------------------------------------------------------
// The events, generated at random.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Kid {
    family: &'static str,
    guardian: &'static str,
    child: &'static str,
    units: &'static [Unit],
    /// Noé is the Bernards' and the Petits' (RULES.md: a child of separated parents).
    shared: bool,
}

const KIDS: [Kid; 6] = [
    Kid {
        family: "martin",
        guardian: "sophie.martin@exemple.fr",
        child: "lea-martin",
        units: &[Unit::Cantine, Unit::Etude, Unit::Mercredi],
        shared: false,
    },
    Kid {
        family: "martin",
        guardian: "sophie.martin@exemple.fr",
        child: "hugo-martin",
        units: &[Unit::Cantine, Unit::Matin, Unit::Soir, Unit::Mercredi],
        shared: false,
    },
    Kid {
        family: "martin",
        guardian: "sophie.martin@exemple.fr",
        child: "jade-martin",
        units: &[Unit::Cantine, Unit::Soir],
        shared: false,
    },
    Kid {
        family: "bernard",
        guardian: "claire.bernard@exemple.fr",
        child: "noe-bernard-petit",
        units: &[Unit::Cantine, Unit::Matin, Unit::Soir, Unit::Mercredi],
        shared: true,
    },
    Kid {
        family: "petit",
        guardian: "thomas.petit@exemple.fr",
        child: "noe-bernard-petit",
        units: &[Unit::Cantine, Unit::Matin, Unit::Soir, Unit::Mercredi],
        shared: true,
    },
    Kid {
        family: "nguyen",
        guardian: "linh.nguyen@exemple.fr",
        child: "emma-nguyen",
        units: &[Unit::Mercredi],
        shared: false,
    },
];

const FAMILIES: [&str; 4] = ["martin", "bernard", "petit", "nguyen"];

#[derive(Debug, Clone)]
enum Act {
    /// A guardian ticks the cell and validates the basket.
    Book,
    /// A guardian unticks a booked cell and validates the basket.
    Cancel,
    /// Staff add the booking (late past the add deadline).
    StaffAdd,
    /// Staff cancel it (billed past the cancel deadline).
    StaffCancel,
    /// The register of the day, at 17:00: present or absent (present without a booking is a
    /// late addition).
    Mark { present: bool },
    /// « Mon enfant est malade » at 7:30 on the day.
    Report,
    /// The medical certificate for that day, sent `hours` after the report's time.
    Certificate { hours: i64 },
    /// The administrator closes the day (every unit) the day before.
    Close,
    /// Staff change the family's quotient familial.
    Quotient { qf: Option<u32> },
    /// Staff decide the demo's pending holiday request (Hugo, Monday 21 December).
    Decide { accept: bool },
    /// The administrator raises every figure of the unit's price by this many cents.
    PriceRise { cents: i64 },
    /// The administrator sets the demo aid's yearly ceiling.
    AidCeiling { cents: i64 },
    /// The administrator sets sibling reductions on the canteen and the evening care: this
    /// percent off from the second child, that from the third.
    Siblings { second: i64, third: i64 },
}

#[derive(Debug, Clone)]
struct Step {
    kid: usize,
    unit: usize,
    date: NaiveDate,
    /// Days after Thursday 26 November the act happens (those acts tied to the service day
    /// take their time from it instead).
    day: u64,
    act: Act,
}

impl Step {
    fn kid(&self) -> &'static Kid {
        &KIDS[self.kid]
    }

    fn unit(&self) -> Unit {
        let units = self.kid().units;
        units[self.unit % units.len()]
    }

    fn at(&self) -> DateTime<Utc> {
        match self.act {
            Act::Mark { .. } => paris(self.date, 17, 0),
            Act::Report => paris(self.date, 7, 30),
            Act::Certificate { hours } => paris(self.date, 7, 30) + TimeDelta::hours(hours),
            Act::Close => paris(self.date.pred_opt().expect("date"), 12, 0),
            _ => paris(date(2026, 11, 26) + Days::new(self.day), 10, 0),
        }
    }
}

/// School days and Wednesdays of December 2026 before the holidays.
fn service_days() -> Vec<NaiveDate> {
    (1..=18).map(|d| date(2026, 12, d)).filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).collect()
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        6 => Just(Act::Book),
        3 => Just(Act::Cancel),
        3 => Just(Act::StaffAdd),
        2 => Just(Act::StaffCancel),
        4 => any::<bool>().prop_map(|present| Act::Mark { present }),
        2 => Just(Act::Report),
        2 => prop_oneof![0i64..9, 9i64..90].prop_map(|hours| Act::Certificate { hours }),
        1 => Just(Act::Close),
        1 => prop_oneof![Just(None), (300u32..1200).prop_map(Some)].prop_map(|qf| Act::Quotient { qf }),
        1 => any::<bool>().prop_map(|accept| Act::Decide { accept }),
        1 => (1i64..=60).prop_map(|cents| Act::PriceRise { cents: cents * 5 }),
        1 => (1i64..=12).prop_map(|n| Act::AidCeiling { cents: n * 50 }),
        1 => (1i64..=50, 0i64..=50).prop_map(|(second, more)| Act::Siblings { second, third: (second + more).min(100) }),
    ]
}

fn step((days, kids, units): (Vec<NaiveDate>, Vec<usize>, Vec<usize>)) -> impl Strategy<Value = Step> {
    use proptest::sample::select;
    (select(kids), select(units), select(days), 0u64..22, act()).prop_map(|(kid, unit, date, day, act)| Step {
        kid,
        unit,
        date,
        day,
        act,
    })
}

/// A month's events on a few cells only (a few days, children and units), so that events meet
/// on the same cells: a report, a certificate and a register of one child's day; a closure of a
/// booked day; a cancellation of a late addition.
fn plan() -> impl Strategy<Value = Vec<Step>> {
    use proptest::sample::subsequence;
    let kids: Vec<usize> = (0..KIDS.len()).collect();
    (subsequence(service_days(), 1..4), subsequence(kids, 1..4), subsequence(vec![0, 1, 2, 3], 1..3))
        .prop_flat_map(|focus| proptest::collection::vec(step(focus), 4..40))
}

// ---------------------------------------------------------------------------------------------
// Playing a plan on the portal and on the model.
// ---------------------------------------------------------------------------------------------

/// A logged-in browser for `email` at the clock's time, without the cost of Argon2 (the login
/// itself is tested elsewhere): a session opened as the login opens it.
async fn session(p: &TestPortal, email: &str) -> Browser {
    let town = TownId::parse(TOWN).expect("town");
    let email = domain::family::Email::parse(email).expect("email");
    let account = edge::auth::accounts::get_account(&p.store, &town, &email).await.expect("read").expect("account");
    let (token, s) =
        edge::auth::accounts::create_session(&p.store, &town, &account, p.clock.now()).await.expect("session");
    Browser { cookie: format!("{}={token}", edge::auth::session::COOKIE), csrf: s.csrf }
}

const ADMIN: &str = "mairie@villeneuve-les-tilleuls.fr";
const AGENT: &str = "agent@villeneuve-les-tilleuls.fr";

fn line(child: &str, unit: Unit, d: NaiveDate, action: &str) -> Value {
    json!({"child": child, "unit": unit.id(), "date": d, "action": action})
}

/// A guardian's basket of one line, validated; the basket is left empty.
async fn basket(p: &TestPortal, kid: &Kid, line: Value, key: &str) {
    let b = session(p, kid.guardian).await;
    let base = format!("/api/towns/{TOWN}/families/{}/basket", kid.family);
    let added = p.send("POST", &format!("{base}/lines"), Some(json!({"lines": [line]})), &b, &[]).await;
    if added.status == 422 {
        // Refused as it is ticked (deadline passed, already booked, not offered): nothing added.
        assert_eq!(added.json["code"], "lines_refused", "{:?}", added.json);
        return;
    }
    assert_eq!(added.status, 200, "{:?}", added.json);
    let body = json!({"basket_revision": added.json["revision"], "apply_valid": true});
    let r = p.send("POST", &format!("{base}/validate"), Some(body), &b, &[("idempotency-key", key)]).await;
    assert!(r.status == 200 || r.status == 422, "validation: {} {:?}", r.status, r.json);
    let cleared = p.send("DELETE", &base, None, &b, &[]).await;
    assert!(cleared.status < 300, "{:?}", cleared.json);
}

async fn staff_change(p: &TestPortal, kid: &Kid, line: Value, key: &str) {
    let agent = session(p, AGENT).await;
    let uri = format!("/api/towns/{TOWN}/staff/families/{}/bookings", kid.family);
    let r = p.send("POST", &uri, Some(json!({"lines": [line]})), &agent, &[("idempotency-key", key)]).await;
    assert!(r.status == 200 || r.status == 422, "staff change: {} {:?}", r.status, r.json);
}

/// Plays one step on the portal and on the model. Acts whose outcome the rules leave to
/// another household (a shared child's cell booked by the other family) are skipped.
async fn play_step(p: &TestPortal, m: &mut Model, s: &Step, key: &str) {
    let (kid, unit, d, at) = (s.kid(), s.unit(), s.date, s.at());
    p.clock.set(at);
    let cell = m.cells.get(&(kid.child, unit, d)).cloned();
    let other_household = cell.as_ref().is_some_and(|c| c.state == State::Booked && c.family != kid.family);
    match s.act {
        Act::Book => {
            if other_household || !unit.runs(d) {
                return;
            }
            basket(p, kid, line(kid.child, unit, d, "add"), key).await;
            if m.live(kid.child, unit, d).is_none() && m.open(unit, d) && at < deadline(unit, d) {
                m.book(kid, unit, d, false);
            }
        }
        Act::Cancel => {
            let Some(c) = m.live(kid.child, unit, d) else { return };
            if c.family != kid.family || c.present.is_some() {
                return;
            }
            basket(p, kid, line(kid.child, unit, d, "cancel"), key).await;
            if at < deadline(unit, d) {
                m.cells.get_mut(&(kid.child, unit, d)).expect("cell").state = State::Gone;
            }
        }
        Act::StaffAdd => {
            if other_household || !unit.runs(d) || m.live(kid.child, unit, d).is_some() {
                return;
            }
            staff_change(p, kid, line(kid.child, unit, d, "add"), key).await;
            if m.open(unit, d) {
                m.book(kid, unit, d, at >= deadline(unit, d));
            }
        }
        Act::StaffCancel => {
            let Some(c) = m.live(kid.child, unit, d) else { return };
            if c.family != kid.family || c.present.is_some() || c.justified {
                return;
            }
            staff_change(p, kid, line(kid.child, unit, d, "cancel"), key).await;
            let c = m.cells.get_mut(&(kid.child, unit, d)).expect("cell");
            c.state = if at >= deadline(unit, d) { State::CancelledLate } else { State::Gone };
        }
        Act::Mark { present } => mark(p, m, s, present).await,
        Act::Report => {
            if kid.shared {
                return;
            }
            let b = session(p, kid.guardian).await;
            let uri = format!("/api/towns/{TOWN}/families/{}/absences", kid.family);
            let r = p.post(&uri, json!({"child": kid.child, "from": d, "reason": "Fièvre"}), Some(&b)).await;
            assert!(r.status == 200 || r.status == 422, "report: {} {:?}", r.status, r.json);
            for ((child, _, day), c) in m.cells.iter_mut() {
                if *child == kid.child && *day == d && c.state == State::Booked && c.present.is_none() {
                    c.reported_at.get_or_insert(at);
                }
            }
        }
        Act::Certificate { .. } => {
            if kid.shared {
                return;
            }
            let b = session(p, kid.guardian).await;
            let pdf = crate::documents::pdf();
            let body = json!({"kind": "certificat-absence", "child": kid.child, "file_name": "certificat.pdf",
                "content_type": "application/pdf", "size": pdf.len(), "absence": {"from": d, "to": d}});
            crate::documents::send_file(p, &b, kid.family, body, pdf).await;
            for ((child, _, day), c) in m.cells.iter_mut() {
                // Due `certificate_hours` after the day ends in Paris (or after the report, if later).
                let day_end = paris(*day + TimeDelta::days(1), 0, 0);
                let in_time = c.reported_at.is_some_and(|r| at <= r.max(day_end) + TimeDelta::hours(CERTIFICATE_HOURS));
                if *child == kid.child && *day == d && c.state == State::Booked && in_time && c.present != Some(true) {
                    c.justified = true;
                }
            }
        }
        Act::Close => {
            if m.closed.contains(&d) {
                return;
            }
            close(p, d).await;
            m.closed.push(d);
            for ((_, _, day), c) in m.cells.iter_mut() {
                if *day == d && c.state == State::Booked && c.present.is_none() {
                    c.state = State::Gone;
                }
            }
        }
        Act::Quotient { qf } => {
            quotient(p, kid.family, qf).await;
            m.families.get_mut(kid.family).expect("family").qf = qf;
        }
        Act::PriceRise { cents } => {
            rise(p, unit, cents).await;
            *m.rises.entry(unit).or_default() += cents;
        }
        Act::Decide { accept } => {
            decide(p, m, accept).await;
        }
        Act::AidCeiling { cents } => {
            configure(p, |config| config["aids"][0]["ceiling"] = json!(cents)).await;
            m.aid_ceiling = cents;
        }
        Act::Siblings { second, third } => {
            let reductions = json!({"count": "same_day", "reductions": [
                {"from_child": 2, "percent": second}, {"from_child": 3, "percent": third}]});
            configure(p, |config| {
                for a in config["activities"].as_array_mut().expect("activities") {
                    for u in a["units"].as_array_mut().expect("units") {
                        if u["id"] == Unit::Cantine.id() || u["id"] == Unit::Soir.id() {
                            u["price"]["siblings"] = reductions.clone();
                        }
                    }
                }
            })
            .await;
            m.siblings = Some((second, third));
        }
    }
}

/// The administrator changes the town's configuration from its page.
async fn configure(p: &TestPortal, change: impl FnOnce(&mut Value)) {
    let admin = session(p, ADMIN).await;
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    change(&mut config);
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200, "configuration: {:?}", r.json);
}

/// The demo's pending holiday request (Hugo, 21 December), decided by staff; the booking, if it
/// was still pending and is now accepted.
async fn decide(p: &TestPortal, m: &mut Model, accept: bool) -> Option<Cell> {
    let pending = ("hugo-martin", Unit::Vacances, date(2026, 12, 21));
    let c = m.cells.get_mut(&pending).filter(|c| c.state == State::Pending)?;
    let agent = session(p, AGENT).await;
    let decision = json!({"decisions": [{"child": pending.0, "unit": pending.1.id(), "date": pending.2,
        "accept": accept, "reason": "Décision du modèle"}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/requests/decisions"), decision, Some(&agent)).await;
    assert_eq!(r.status, 200, "decision: {:?}", r.json);
    c.state = if accept { State::Booked } else { State::Gone };
    accept.then(|| c.clone())
}

/// The register of the step's day: a booked child is marked; a child present without a
/// booking is booked at the late price (for a shared child, the rules leave open which
/// household pays: skipped here).
async fn mark(p: &TestPortal, m: &mut Model, s: &Step, present: bool) {
    let (kid, unit, d) = (s.kid(), s.unit(), s.date);
    if !m.open(unit, d) {
        return;
    }
    let booked = m.live(kid.child, unit, d).is_some();
    let late_cancelled = m.cells.get(&(kid.child, unit, d)).is_some_and(|c| c.state == State::CancelledLate);
    if !booked && (!present || kid.shared || late_cancelled) {
        return;
    }
    let agent = session(p, AGENT).await;
    let kind = match (booked, present) {
        (false, _) => "present_unbooked",
        (true, true) => "present",
        (true, false) => "absent",
    };
    let marks = json!({"date": d, "unit": unit.id(), "marks": [{"child": kid.child, "mark": kind}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/attendance"), marks, Some(&agent)).await;
    assert_eq!(r.status, 200, "marks: {:?}", r.json);
    if booked {
        let c = m.cells.get_mut(&(kid.child, unit, d)).expect("cell");
        // RULES.md: a justified absence stays justified whatever the register says afterwards.
        c.present = Some(present);
    } else {
        m.book(kid, unit, d, true);
        m.cells.get_mut(&(kid.child, unit, d)).expect("cell").present = Some(true);
    }
}

/// The administrator closes `d` for every activity, as the configuration page does.
async fn close(p: &TestPortal, d: NaiveDate) {
    let admin = session(p, ADMIN).await;
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    config["closures"].as_array_mut().expect("closures").push(json!({"date": d, "reason": "Grève"}));
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200, "closure: {:?}", r.json);
}

/// The administrator raises a unit's prices (base, non-resident, each bracket) from the
/// configuration page.
async fn rise(p: &TestPortal, unit: Unit, cents: i64) {
    let admin = session(p, ADMIN).await;
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    let units = config["activities"]
        .as_array_mut()
        .expect("activities")
        .iter_mut()
        .flat_map(|a| a["units"].as_array_mut().expect("units").iter_mut());
    let price = &mut units.into_iter().find(|u| u["id"] == unit.id()).expect("the unit")["price"];
    let up = |v: &mut Value| *v = json!(v.as_i64().expect("cents") + cents);
    up(&mut price["base"]);
    if !price["non_resident"].is_null() {
        up(&mut price["non_resident"]);
    }
    for bracket in price.get_mut("qf_brackets").and_then(Value::as_array_mut).into_iter().flatten() {
        up(&mut bracket["price"]);
    }
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200, "price rise: {:?}", r.json);
}

/// Staff change a family's quotient familial from its record.
async fn quotient(p: &TestPortal, family: &str, qf: Option<u32>) {
    let agent = session(p, AGENT).await;
    let uri = format!("/api/towns/{TOWN}/staff/families/{family}");
    let record = p.get(&uri, Some(&agent)).await.json["family"].clone();
    let guardians: Vec<Value> = record["guardians"]
        .as_array()
        .expect("guardians")
        .iter()
        .map(|g| json!({"email": g["email"], "first_name": g["first_name"], "last_name": g["last_name"], "phone": g["phone"]}))
        .collect();
    let body = json!({"etag": record["etag"], "name": record["name"], "resident": record["resident"],
        "quotient_familial": qf, "guardians": guardians});
    let r = p.send("PUT", &uri, Some(body), &agent, &[]).await;
    assert_eq!(r.status, 200, "quotient: {:?}", r.json);
}

/// The model's first state: the demo's families and its December bookings as stored.
async fn start(p: &TestPortal) -> Model {
    let families = BTreeMap::from([
        ("martin", FamilyModel { resident: true, qf: Some(850) }),
        ("bernard", FamilyModel { resident: true, qf: Some(540) }),
        ("petit", FamilyModel { resident: true, qf: None }),
        ("nguyen", FamilyModel { resident: false, qf: None }),
    ]);
    let mut m = Model {
        families,
        cells: BTreeMap::new(),
        closed: Vec::new(),
        rises: BTreeMap::new(),
        aid_ceiling: DEMO_AID_CEILING,
        siblings: None,
    };
    let town = TownId::parse(TOWN).expect("town");
    let children = ["lea-martin", "hugo-martin", "jade-martin", "noe-bernard-petit", "emma-nguyen"];
    for child in children {
        let id = domain::ChildId::parse(child).expect("child");
        let bookings =
            store::repo::bookings(&p.store, &town, &id, date(2026, 12, 1), date(2026, 12, 31)).await.expect("bookings");
        for b in bookings.into_iter().filter(|b| b.is_live()) {
            let unit = [Unit::Cantine, Unit::Etude, Unit::Matin, Unit::Soir, Unit::Mercredi, Unit::Vacances]
                .into_iter()
                .find(|u| u.id() == b.unit.as_str())
                .expect("a unit of the model");
            let family = FAMILIES.into_iter().find(|f| *f == b.family.as_str()).expect("a demo family");
            assert!(b.attendance.is_none() && !b.late, "the demo's December is booked, not registered: {b:?}");
            // A cancellation asked and not decided is still a booking (docs/billing.md).
            let state = if b.status == BookingStatus::Pending { State::Pending } else { State::Booked };
            let cell = Cell {
                family,
                state,
                late: false,
                price: b.price.get(),
                present: None,
                justified: false,
                reported_at: None,
            };
            m.cells.insert((child, unit, b.date), cell);
        }
    }
    m
}

/// Each family's December invoice as the portal issued it: (child, unit, date) → the price and
/// the rule its line names, each day's aid, the total; and what it deducts. Each line's text is
/// checked against what it priced: it shows its unit price, and a family that is not resident
/// never reads « résident ».
async fn issued(
    p: &TestPortal,
    families: &BTreeMap<&'static str, FamilyModel>,
    month: &str,
) -> BTreeMap<String, (MonthBill, i64)> {
    let admin = session(p, ADMIN).await;
    let list = p.get(&format!("/api/towns/{TOWN}/staff/invoices?month={month}"), Some(&admin)).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    let mut out = BTreeMap::new();
    let invoices = list.json["invoices"].as_array().or(list.json.as_array()).cloned().unwrap_or_default();
    for summary in invoices {
        let family = summary["family"].as_str().expect("family").to_owned();
        let uri = format!("/api/towns/{TOWN}/families/{family}/invoices/{month}");
        let invoice = p.get(&uri, Some(&admin)).await;
        assert_eq!(invoice.status, 200, "{:?}", invoice.json);
        let mut lines = BTreeMap::new();
        let mut total = 0;
        let resident = families.get(family.as_str()).is_none_or(|f| f.resident);
        for l in invoice.json["lines"].as_array().expect("lines") {
            let price = l["unit_price"].as_i64().expect("price");
            let amount = l["amount"].as_i64().expect("amount");
            assert_eq!(amount, price * l["quantity"].as_i64().expect("quantity"), "quantity × price: {l}");
            total += amount;
            let text = l["rule"].as_str().expect("rule");
            let rule = Rule::of(text);
            // A late price names its figures (« tarif 8,50 € + 3,00 € »), the others their price.
            if matches!(rule, Rule::Normal | Rule::CancelledLate) {
                let euros = format!("{},{:02}\u{a0}€", price / 100, price % 100);
                assert!(text.contains(&euros), "the line names its price {euros}: {text}");
            }
            assert!(resident || !text.contains(", résident"), "a non-resident family reads « résident »: {text}");
            assert!(!text.starts_with("Tarif de la réservation"), "the line names the rule that priced it: {text}");
            for day in l["dates"].as_array().expect("dates") {
                let day: NaiveDate = day.as_str().expect("date").parse().expect("date");
                let key =
                    (l["child"].as_str().expect("child").to_owned(), l["unit"].as_str().expect("unit").to_owned(), day);
                assert!(lines.insert(key, (price, rule)).is_none(), "a day billed twice: {l}");
            }
        }
        let mut aids = Aided::new();
        for a in invoice.json["aids"].as_array().into_iter().flatten() {
            let per_day = a["per_day"].as_i64().expect("per day");
            assert_eq!(a["amount"].as_i64(), Some(per_day * a["quantity"].as_i64().expect("quantity")), "{a}");
            for day in a["dates"].as_array().expect("dates") {
                let day: NaiveDate = day.as_str().expect("date").parse().expect("date");
                let key =
                    (a["child"].as_str().expect("child").to_owned(), a["unit"].as_str().expect("unit").to_owned(), day);
                *aids.entry(key).or_default() += per_day;
            }
            total -= a["amount"].as_i64().expect("amount");
        }
        assert_eq!(invoice.json["total"].as_i64(), Some(total), "the total is the lines less the aids");
        let deducted = invoice.json["deductions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["amount"].as_i64().unwrap_or(0))
            .sum();
        out.insert(family, (MonthBill { lines, aids, total }, deducted));
    }
    out
}

async fn play(plan: Vec<Step>, after: Vec<After>) -> Result<Model, String> {
    let p = portal().await;
    let mut m = start(&p).await;
    let mut steps: Vec<(usize, &Step)> = plan.iter().enumerate().collect();
    steps.sort_by_key(|(i, s)| (s.at(), *i));
    for (i, s) in steps {
        play_step(&p, &mut m, s, &format!("model-step-{i:04}-{}", s.day)).await;
    }
    // Monday 4 January: December is over; the administrator bills it.
    p.clock.set(paris(date(2027, 1, 4), 9, 0));
    let admin = session(&p, ADMIN).await;
    // Each family's balance before December (the demo bills October): what January adds to.
    let mut before = BTreeMap::new();
    for family in FAMILIES {
        let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/{family}"), Some(&admin)).await;
        before.insert(family, account.json["balance"]["balance"].as_i64().expect("balance"));
    }
    let finalise = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-12/finalise");
    let r = p.post(&finalise, json!({}), Some(&admin)).await;
    if r.status != 200 {
        p.stop().await;
        return Err(format!("finalising December: {} {:?}", r.status, r.json));
    }
    let got: BTreeMap<String, MonthBill> =
        issued(&p, &m.families, "2026-12").await.into_iter().map(|(f, (bill, _))| (f, bill)).collect();
    let want: BTreeMap<String, _> = m.invoices(12).into_iter().map(|(f, l)| (f.to_owned(), l)).collect();
    if got != want {
        let mut why = String::new();
        for family in want.keys().chain(got.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (w, g) = (want.get(family), got.get(family));
            if w != g {
                why.push_str(&format!("\n{family}:\n  model:  {w:?}\n  portal: {g:?}"));
            }
        }
        p.stop().await;
        return Err(format!("December's invoices differ from the model:{why}"));
    }
    let result = if after.is_empty() { Ok(()) } else { january(&p, &mut m, after, &before).await };
    p.stop().await;
    result.map(|()| m)
}

// ---------------------------------------------------------------------------------------------
// After billing: January, with what changes a billed December.
// ---------------------------------------------------------------------------------------------

/// What happens once December is billed (docs/billing.md, « Where a credit note's money goes »
/// and « Régularisations »), on Monday 4 January, in this order.
#[derive(Debug, Clone)]
enum After {
    /// A counter payment of part of what is left to pay on December's invoice (‰).
    Pay { family: usize, permille: i64 },
    /// A credit note on one line of December's invoice, part of it (‰).
    Credit { family: usize, line: usize, permille: i64 },
    /// A certificate for a December day, sent and accepted in January.
    Certificate { kid: usize, date: NaiveDate },
    /// Staff decide the demo's holiday request of 21 December after billing.
    Decide { accept: bool },
    /// A guardian books a January day.
    Book { kid: usize, unit: usize, date: NaiveDate },
}

/// January's days a guardian may still book on the 4th (from Monday the 11th).
fn january_days() -> Vec<NaiveDate> {
    (11..=29).map(|d| date(2027, 1, d)).filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).collect()
}

fn afterwards() -> impl Strategy<Value = Vec<After>> {
    use proptest::sample::select;
    let after = prop_oneof![
        2 => (0..FAMILIES.len(), 1i64..=1000).prop_map(|(family, permille)| After::Pay { family, permille }),
        2 => (0..FAMILIES.len(), 0usize..8, 1i64..=1000).prop_map(|(family, line, permille)| After::Credit { family, line, permille }),
        2 => (0..KIDS.len(), select(service_days())).prop_map(|(kid, date)| After::Certificate { kid, date }),
        1 => any::<bool>().prop_map(|accept| After::Decide { accept }),
        4 => (0..KIDS.len(), 0usize..4, select(january_days())).prop_map(|(kid, unit, date)| After::Book { kid, unit, date }),
    ];
    proptest::collection::vec(after, 0..12)
}

/// A family's money after December, as the rules count it.
#[derive(Debug, Default, Clone)]
struct Account {
    /// December's invoice: total, credit notes, payments.
    total: i64,
    credited: i64,
    paid: i64,
    /// Lines of December's invoice already credited (one credit note per line here).
    credited_lines: Vec<usize>,
    /// What the next invoice deducts: carried credit notes (`false`) and régularisations that
    /// give money back (`true`).
    gives_back: Vec<(i64, bool)>,
    /// Régularisations the family owes: a line each on the next invoice.
    owes: Billed,
    /// What December's régularisations moved, in all (+ billed, − given back).
    regularised: i64,
    /// December's invoice lines as issued: each line's days and what the family paid for it
    /// (its amount less its days' aids).
    lines: Vec<InvoiceLine>,
    /// What credit notes gave back on each line, and what régularisations of its days gave back.
    credited_on: BTreeMap<usize, i64>,
    given_on: BTreeMap<usize, i64>,
}

/// An invoice line as the model reads it: its days (child, unit, date) and what the family paid
/// for it.
type InvoiceLine = (Vec<(String, String, NaiveDate)>, i64);

/// A family's December invoice lines: each line's days and what the family paid for it.
async fn december_lines(p: &TestPortal, family: &str) -> Vec<InvoiceLine> {
    let admin = session(p, ADMIN).await;
    let invoice = p.get(&format!("/api/towns/{TOWN}/families/{family}/invoices/2026-12"), Some(&admin)).await;
    let lines = invoice.json["lines"].as_array().cloned().unwrap_or_default();
    let day = |v: &Value| -> NaiveDate { v.as_str().expect("date").parse().expect("date") };
    lines
        .iter()
        .map(|l| {
            let dates: Vec<NaiveDate> = l["dates"].as_array().expect("dates").iter().map(day).collect();
            let aided: i64 = invoice.json["aids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["child"] == l["child"] && a["unit"] == l["unit"])
                .map(|a| {
                    let on_line =
                        a["dates"].as_array().expect("dates").iter().filter(|d| dates.contains(&day(d))).count();
                    a["per_day"].as_i64().expect("per day") * on_line as i64
                })
                .sum();
            let (child, unit) = (l["child"].as_str().expect("child"), l["unit"].as_str().expect("unit"));
            let days = dates.iter().map(|d| (child.to_owned(), unit.to_owned(), *d)).collect();
            (days, l["amount"].as_i64().expect("amount") - aided)
        })
        .collect()
}

/// What December costs `family` by the model's rules, as billed now.
fn december_total(m: &Model, family: &str) -> i64 {
    m.invoices(12).get(family).map_or(0, |b| b.total)
}

/// A change of a billed December (docs/billing.md « Régularisations »): December billed again
/// with it, the difference with what December cost the family so far is billed on the next
/// invoice (a line for the changed day) or given back (a deduction), never giving back more
/// than the family still pays for December once its credit notes are counted.
fn regularise(acc: &mut Account, before: i64, after: i64, day: (String, String, NaiveDate)) {
    let mut delta = after - before;
    let line = acc.lines.iter().position(|(days, _)| days.contains(&day));
    if delta < 0 {
        let mut cap = acc.total - acc.credited + acc.regularised;
        // A line a credit note gave back on: never more than the family still pays for it.
        if let Some(i) = line.filter(|i| acc.credited_on.contains_key(i)) {
            cap = cap.min(acc.lines[i].1 - acc.credited_on[&i] - acc.given_on.get(&i).copied().unwrap_or(0));
        }
        delta = delta.max(-cap.max(0));
    }
    if let Some(i) = line {
        *acc.given_on.entry(i).or_default() -= delta;
    }
    acc.regularised += delta;
    if delta < 0 {
        acc.gives_back.push((-delta, true));
    } else if delta > 0 {
        acc.owes.insert(day, (delta, Rule::Regularisation));
    }
}

impl Account {
    fn left(&self) -> i64 {
        self.total - self.credited - self.paid
    }
}

async fn january(
    p: &TestPortal,
    m: &mut Model,
    after: Vec<After>,
    before: &BTreeMap<&'static str, i64>,
) -> Result<(), String> {
    let december = m.invoices(12);
    let mut accounts: BTreeMap<&'static str, Account> = FAMILIES
        .into_iter()
        .map(|f| {
            let total = december.get(f).map_or(0, |b| b.total);
            (f, Account { total, ..Account::default() })
        })
        .collect();
    for (family, acc) in accounts.iter_mut().filter(|(_, a)| a.total > 0) {
        acc.lines = december_lines(p, family).await;
    }
    for (i, a) in after.iter().enumerate() {
        p.clock.set(paris(date(2027, 1, 4), 10, 0) + TimeDelta::minutes(i as i64));
        match a {
            After::Pay { family, permille } => {
                let family = FAMILIES[*family];
                let acc = accounts.get_mut(family).expect("account");
                if acc.left() <= 0 {
                    continue;
                }
                let amount = (acc.left() * permille / 1000).max(1);
                let admin = session(p, ADMIN).await;
                let uri = format!("/api/towns/{TOWN}/staff/invoices/families/{family}/2026-12/payments");
                let r = p.post(&uri, json!({"method": "cash", "amount": amount}), Some(&admin)).await;
                assert_eq!(r.status, 201, "payment: {:?}", r.json);
                acc.paid += amount;
            }
            After::Credit { family, line, permille } => {
                let family = FAMILIES[*family];
                let admin = session(p, ADMIN).await;
                let acc = accounts.get_mut(family).expect("account");
                if acc.lines.is_empty() || acc.credited_lines.contains(&(line % acc.lines.len())) {
                    continue;
                }
                let index = line % acc.lines.len();
                // What the family paid for the line (its amount less its days' aids), less what
                // régularisations of its days gave back; the invoice's, less what they all gave.
                let net = acc.lines[index].1;
                let given = acc.given_on.get(&index).copied().unwrap_or(0);
                let amount = net * permille / 1000;
                if amount <= 0 {
                    continue;
                }
                let uri = format!("/api/towns/{TOWN}/staff/invoices/families/{family}/2026-12/credit-notes");
                let body = json!({"reason": "Geste du modèle", "lines": [{"line": index, "amount": amount}]});
                let r = p.post(&uri, body, Some(&admin)).await;
                // Over what the family still pays for the line, or for the invoice: refused.
                let over_line = amount > net - given;
                if over_line || amount > acc.total - acc.credited + acc.regularised {
                    let code = if over_line { "credit_over_line" } else { "credit_too_much" };
                    assert_eq!((r.status, r.json["code"].as_str()), (422, Some(code)), "credit note: {:?}", r.json);
                    continue;
                }
                assert_eq!(r.status, 201, "credit note: {:?}", r.json);
                let deducted = amount.min(acc.left().max(0));
                if amount > deducted {
                    acc.gives_back.push((amount - deducted, false));
                }
                acc.credited += amount;
                acc.credited_lines.push(index);
                *acc.credited_on.entry(index).or_default() += amount;
            }
            After::Certificate { kid, date: d } => {
                let kid = &KIDS[*kid];
                if kid.shared {
                    continue;
                }
                let b = session(p, kid.guardian).await;
                let pdf = crate::documents::pdf();
                let body = json!({"kind": "certificat-absence", "child": kid.child, "file_name": "certificat.pdf",
                    "content_type": "application/pdf", "size": pdf.len(), "absence": {"from": d, "to": d}});
                let doc = crate::documents::send_file(p, &b, kid.family, body, pdf).await;
                let agent = session(p, AGENT).await;
                let id = doc["id"].as_str().expect("document id");
                let uri = format!("/api/towns/{TOWN}/staff/documents/{}/{id}/decision", kid.family);
                let r = p.send("POST", &uri, Some(json!({"decision": "accept"})), &agent, &[]).await;
                assert_eq!(r.status, 200, "certificate accepted: {:?}", r.json);
                // Each day's booking justified in turn (the portal régularises them one by one).
                let days: Vec<_> = m
                    .cells
                    .iter()
                    .filter(|((child, _, day), c)| {
                        *child == kid.child
                            && day == d
                            && c.state == State::Booked
                            && !c.justified
                            && c.present != Some(true)
                    })
                    .map(|(k, _)| *k)
                    .collect();
                for key in days {
                    let family = m.cells[&key].family;
                    let before = december_total(m, family);
                    m.cells.get_mut(&key).expect("cell").justified = true;
                    let after = december_total(m, family);
                    let day = (key.0.to_owned(), key.1.id().to_owned(), key.2);
                    regularise(accounts.get_mut(family).expect("account"), before, after, day);
                }
            }
            After::Decide { accept } => {
                // Decided after billing: accepted, billed on the next invoice as a
                // « Régularisation » line, at what it adds to December (its aid, its rank).
                let before = december_total(m, "martin");
                if decide(p, m, *accept).await.is_some() {
                    let after = december_total(m, "martin");
                    let day = ("hugo-martin".to_owned(), Unit::Vacances.id().to_owned(), date(2026, 12, 21));
                    regularise(accounts.get_mut("martin").expect("account"), before, after, day);
                }
            }
            After::Book { kid, unit, date: d } => {
                let step = Step { kid: *kid, unit: *unit, date: *d, day: 39, act: Act::Book };
                let (kid, unit) = (step.kid(), step.unit());
                let other = m
                    .cells
                    .get(&(kid.child, unit, *d))
                    .is_some_and(|c| c.state == State::Booked && c.family != kid.family);
                if other || !unit.runs(*d) {
                    continue;
                }
                basket(p, kid, line(kid.child, unit, *d, "add"), &format!("model-after-{i:04}")).await;
                if m.live(kid.child, unit, *d).is_none() {
                    m.book(kid, unit, *d, false);
                }
            }
        }
    }
    // Monday 1 February: January is billed, with what December left to settle.
    p.clock.set(paris(date(2027, 2, 1), 9, 0));
    let admin = session(p, ADMIN).await;
    let r = p.post(&format!("/api/towns/{TOWN}/staff/invoices/runs/2027-01/finalise"), json!({}), Some(&admin)).await;
    if r.status != 200 {
        return Err(format!("finalising January: {} {:?}", r.status, r.json));
    }
    let got = issued(p, &m.families, "2027-01").await;
    let bookings = m.invoices(1);
    let mut why = String::new();
    for family in FAMILIES {
        let acc = &accounts[family];
        let mut bill = bookings.get(family).cloned().unwrap_or_default();
        bill.lines.extend(acc.owes.clone());
        bill.total += acc.owes.values().map(|(amount, _)| amount).sum::<i64>();
        let total = bill.total;
        let gives_back: i64 = acc.gives_back.iter().map(|(amount, _)| amount).sum();
        let want = (total > 0).then(|| (bill, gives_back.min(total)));
        let portal = got.get(family).cloned();
        if portal != want {
            why.push_str(&format!("\n{family} (lines, deducted):\n  model:  {want:?}\n  portal: {portal:?}"));
            continue;
        }
        // Balance = invoices (less what régularisations gave back) − credit notes − payments,
        // when the model knows which deductions were régularisations (none capped).
        let regularised: i64 = acc.gives_back.iter().filter(|(_, r)| *r).map(|(amount, _)| amount).sum();
        if total == 0 || (regularised > 0 && gives_back > total) {
            continue;
        }
        let want = before[family] + acc.total + total - regularised - acc.credited - acc.paid;
        let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/{family}"), Some(&admin)).await;
        let balance = account.json["balance"]["balance"].as_i64();
        if balance != Some(want) {
            why.push_str(&format!("\n{family}: balance {balance:?}, the model says {want} ({acc:?})"));
        }
    }
    if why.is_empty() { Ok(()) } else { Err(format!("January differs from the model:{why}")) }
}

#[test]
fn invoices_match_the_reference_model_over_random_months() {
    let cases = std::env::var("EF_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(plan(), afterwards()), |(plan, after)| {
        rt.block_on(play(plan, after)).map(|_| ()).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The testers' Lucas Dubois, replayed through the model: a day reported, its certificate in
/// time, then the register marks the child absent.
#[tokio::test]
async fn a_justified_absence_survives_a_later_absent_mark() {
    let d = date(2026, 12, 8);
    let step = |day, act| Step { kid: 0, unit: 0, date: d, day, act };
    let plan = vec![
        step(0, Act::Book),
        step(0, Act::Report),
        step(0, Act::Certificate { hours: 2 }),
        step(0, Act::Mark { present: false }),
        // Decided, so that this case does not depend on how a pending request is billed.
        step(1, Act::Decide { accept: false }),
    ];
    play(plan, Vec::new()).await.unwrap();
}

/// The testers' 2,50 € credit note on a paid invoice, Léa's certificate accepted after billing
/// and the holiday request accepted after billing, replayed through the model: January's
/// invoice bills the request, deducts the carried credit note and the régularisation, and the
/// balance counts each once.
#[tokio::test]
async fn what_changes_december_after_billing_is_settled_on_january() {
    let d = date(2026, 12, 8);
    let plan = vec![Step { kid: 0, unit: 0, date: d, day: 0, act: Act::Book }];
    let after = vec![
        After::Pay { family: 0, permille: 1000 },
        After::Credit { family: 0, line: 0, permille: 400 },
        After::Certificate { kid: 0, date: d },
        After::Decide { accept: true },
        After::Book { kid: 0, unit: 0, date: date(2027, 1, 11) },
    ];
    play(plan, after).await.unwrap();
}

/// The demo's aid reaching a lowered ceiling mid-month, replayed through the model: Noé (the
/// Bernards, QF 540) at the Wednesday centre on 2 December (a staff late addition, 8,00 €) and
/// 16 December (5,00 €), present; the ceiling set to 4,00 €: 3,00 € on the 2nd, 1,00 € on the 16th.
#[tokio::test]
async fn an_aid_reaches_its_ceiling_mid_month() {
    let step = |date, day, act| Step { kid: 3, unit: 3, date, day, act };
    let (second, sixteenth) = (date(2026, 12, 2), date(2026, 12, 16));
    let plan = vec![
        step(second, 0, Act::StaffAdd),
        step(sixteenth, 0, Act::Book),
        step(second, 0, Act::AidCeiling { cents: 400 }),
        step(second, 0, Act::Mark { present: true }),
        step(sixteenth, 0, Act::Mark { present: true }),
        step(second, 1, Act::Decide { accept: false }),
    ];
    let m = play(plan, vec![After::Certificate { kid: 3, date: sixteenth }]).await.unwrap();
    let december = &m.invoices(12)["bernard"];
    let aids: Vec<i64> = december.aids.values().copied().collect();
    assert_eq!((aids, december.total), (vec![300, 100], 800 + 500 - 400), "{december:?}");
}

/// Sibling reductions replayed through the model: Léa, Hugo and Jade at the canteen on
/// 8 December (2,50 € each, QF 850), reductions of 20 % from the second child and 50 % from the
/// third: Hugo pays 2,50 €, Jade 2,00 €, Léa 1,25 € (the same price: by child).
#[tokio::test]
async fn siblings_booked_the_same_day_pay_less() {
    let d = date(2026, 12, 8);
    let mut plan: Vec<Step> = (0..3).map(|kid| Step { kid, unit: 0, date: d, day: 0, act: Act::Book }).collect();
    plan.push(Step { kid: 0, unit: 0, date: d, day: 1, act: Act::Siblings { second: 20, third: 50 } });
    plan.push(Step { kid: 0, unit: 0, date: d, day: 1, act: Act::Decide { accept: false } });
    let m = play(plan, vec![After::Credit { family: 0, line: 0, permille: 1000 }]).await.unwrap();
    let martin = &m.invoices(12)["martin"];
    let prices: Vec<(&str, i64)> = martin
        .lines
        .iter()
        .filter(|((_, unit, day), _)| unit == "cantine" && *day == d)
        .map(|((child, _, _), (amount, _))| (child.as_str(), *amount))
        .collect();
    assert_eq!(prices, [("hugo-martin", 250), ("jade-martin", 200), ("lea-martin", 125)]);
}

/// A request accepted after billing earns its aid, as it would have before billing: the
/// Martins' QF set to 500 in December (the demo's aid is for a QF up to 600), Hugo's holiday
/// request of 21 December accepted in January: January bills the day less 3,00 €.
#[tokio::test]
async fn a_request_accepted_after_billing_earns_its_aid() {
    let d = date(2026, 12, 8);
    let plan = vec![
        Step { kid: 0, unit: 0, date: d, day: 0, act: Act::Book },
        Step { kid: 0, unit: 0, date: d, day: 0, act: Act::Quotient { qf: Some(500) } },
    ];
    play(plan, vec![After::Decide { accept: true }]).await.unwrap();
}

/// A certificate after billing for the first child of a day with sibling reductions: the
/// others are ranked again, as they would have been had it come before billing. Léa, Hugo and
/// Jade at the canteen on 8 December (2,50 € each; 20 % off the second, 50 % the third): Hugo,
/// first, is excused in January; Jade now pays 2,50 € and Léa 2,00 €: 1,25 € given back.
#[tokio::test]
async fn a_certificate_after_billing_ranks_the_siblings_again() {
    let d = date(2026, 12, 8);
    let mut plan: Vec<Step> = (0..3).map(|kid| Step { kid, unit: 0, date: d, day: 0, act: Act::Book }).collect();
    plan.push(Step { kid: 0, unit: 0, date: d, day: 1, act: Act::Siblings { second: 20, third: 50 } });
    plan.push(Step { kid: 0, unit: 0, date: d, day: 1, act: Act::Decide { accept: false } });
    // January's own days, so that its invoice has room for the deduction.
    let january = [11, 12].map(|day| After::Book { kid: 0, unit: 0, date: date(2027, 1, day) });
    let mut after = vec![After::Certificate { kid: 1, date: d }];
    after.extend(january);
    play(plan, after).await.unwrap();
}

/// A month credited in full, then a certificate for its day accepted: the credit note gave the
/// money back, the régularisation gives nothing more (docs/billing.md « Régularisations »: never
/// more than the family still pays for the month). Emma Nguyen's one Wednesday of December.
#[tokio::test]
async fn a_day_credited_then_excused_is_given_back_once() {
    let d = date(2026, 12, 16);
    let plan = vec![
        Step { kid: 5, unit: 0, date: d, day: 0, act: Act::Book },
        Step { kid: 0, unit: 0, date: d, day: 1, act: Act::Decide { accept: false } },
    ];
    let after = vec![
        After::Credit { family: 3, line: 0, permille: 1000 },
        After::Certificate { kid: 5, date: d },
        After::Book { kid: 5, unit: 0, date: date(2027, 1, 13) },
    ];
    play(plan, after).await.unwrap();
}

/// One line of a month credited in full, then a certificate for that line's day, while the
/// month has other lines: the credit note gave that day back, the régularisation gives nothing
/// more; a credit note on a line whose day a régularisation gave back is capped the same way.
/// Emma Nguyen: a staff late addition on 2 December (its own line) and her 16 December.
#[tokio::test]
async fn a_line_credited_then_excused_is_given_back_once() {
    let (second, sixteenth) = (date(2026, 12, 2), date(2026, 12, 16));
    let plan = vec![
        Step { kid: 5, unit: 0, date: second, day: 0, act: Act::StaffAdd },
        Step { kid: 5, unit: 0, date: sixteenth, day: 0, act: Act::Book },
        Step { kid: 0, unit: 0, date: second, day: 1, act: Act::Decide { accept: false } },
    ];
    let after = vec![
        After::Credit { family: 3, line: 1, permille: 1000 },
        After::Certificate { kid: 5, date: sixteenth },
        After::Certificate { kid: 5, date: second },
        After::Credit { family: 3, line: 0, permille: 500 },
    ];
    // January's Wednesdays, so that its invoice has room for every deduction.
    let after: Vec<After> = after
        .into_iter()
        .chain([13, 20, 27].map(|day| After::Book { kid: 5, unit: 0, date: date(2027, 1, day) }))
        .collect();
    let m = play(plan, after).await.unwrap();
    let late = |d| m.cells.get(&("emma-nguyen", Unit::Mercredi, d)).map(|c| (c.state == State::Booked, c.late));
    assert_eq!((late(second), late(sixteenth)), (Some((true, true)), Some((true, false))), "two lines in December");
}
