//! The opening rush (docs/performance.md, « The opening rush »): the demo town's summer ALSH
//! opened at 8:00, a thousand families validating their children's summer weeks within a
//! minute (most in the first seconds), parents reading their grids and cancelling days
//! meanwhile, all through the merged router on the contended store (DynamoDB's conflicts,
//! latency and throttling: `store::contended`). Shared by the benchmark (`benches/rush.rs`,
//! the figures) and the test (`it/rush.rs`, a small rush whose invariants CI checks).

use axum::Router;
use axum::body::Body;
use chrono::{DateTime, NaiveDate, Utc};
use domain::TownId;
use domain::config::Town;
use domain::family::{Child, Family};
use edge::clock::Clock;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
// Tokio's clock: the benchmark may run on its paused clock (the store's time only, see
// `benches/rush.rs`).
use store::Store;
use store::contended::Contention;
use store::embedded::EmbeddedStore;
use tokio::time::Instant;
use tower::ServiceExt;

pub const TOWN: &str = "villeneuve-les-tilleuls";
/// The unit the rush books: the ALSH's holiday days (capacity per day and site, waiting list).
pub const UNIT: &str = "alsh-vacances";
const SITE: &str = "centre-les-tilleuls";

/// What one run plays.
#[derive(Debug, Clone)]
pub struct Rush {
    pub families: usize,
    /// Parents reading a week grid during the rush.
    pub readers: usize,
    /// Families cancelling days once validated (places freed: the waiting list moves).
    pub cancellers: usize,
    /// Most arrivals (80 %) fall within this, front-loaded; the rest until `window`.
    pub burst: Duration,
    pub window: Duration,
    /// Places per day at the centre.
    pub capacity: u32,
    pub contention: Contention,
}

impl Rush {
    /// The rush: 1,000 families in a minute, most in the first ten seconds.
    pub fn opening() -> Rush {
        Rush {
            families: 1000,
            readers: 200,
            cancellers: 50,
            burst: Duration::from_secs(10),
            window: Duration::from_secs(60),
            capacity: 120,
            contention: Contention::default(),
        }
    }

    /// A small rush for CI: the same shape, in a few seconds.
    #[allow(dead_code, reason = "the test's, not the benchmark's")]
    pub fn small() -> Rush {
        Rush {
            families: 50,
            readers: 20,
            cancellers: 5,
            burst: Duration::from_millis(500),
            window: Duration::from_secs(2),
            capacity: 12,
            contention: Contention::default(),
        }
    }
}

/// One validation as the client saw it.
#[derive(Debug, Clone)]
pub struct Validation {
    pub family: usize,
    pub started: Duration,
    pub ended: Duration,
    pub status: u16,
    pub answer: Value,
    pub cancel: bool,
}

impl Validation {
    pub fn latency(&self) -> Duration {
        self.ended.saturating_sub(self.started)
    }
}

/// What a run measured; the invariants are checked by [`Report::violations`].
pub struct Report {
    pub rush: Rush,
    pub validations: Vec<Validation>,
    /// Each grid read's latency and status.
    pub reads: Vec<(Duration, u16)>,
    /// Other calls (adding lines, reading the basket) that did not answer 2xx.
    pub failures: Vec<String>,
    pub elapsed: Duration,
    pub conflicts: u64,
    pub throttles: u64,
    pub throttled_out: u64,
    pub store_calls: u64,
    pub write_units: f64,
    /// The partitions throttled most.
    pub hottest: Vec<(String, &'static str, u64)>,
    /// What the store holds after the run: every booking of the unit, every confirmation email.
    bookings: Vec<domain::booking::Booking>,
    counters: BTreeMap<NaiveDate, (i64, i64)>,
    confirmations: HashMap<String, usize>,
    families: Vec<Family>,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// 8:00 in Paris on Tuesday 1 June 2027: the summer's bookings open.
pub fn opening_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-06-01T08:00:00+02:00").expect("time").to_utc()
}

/// The summer's weeks (Mondays) the families choose from.
fn summer_weeks() -> Vec<NaiveDate> {
    (0..7).map(|w| day(2027, 7, 5) + chrono::Days::new(7 * w)).collect()
}

/// A stable pseudo-random number in `[0, 1)` for `i` and `salt` (splitmix64).
fn uniform(i: usize, salt: u64) -> f64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// When family `i` arrives: 80 % within `burst`, front-loaded; the rest spread to `window`.
fn arrival(rush: &Rush, i: usize) -> Duration {
    let u = uniform(i, 1);
    if u < 0.8 {
        rush.burst.mul_f64((u / 0.8).powi(2))
    } else {
        rush.burst + rush.window.saturating_sub(rush.burst).mul_f64((u - 0.8) / 0.2)
    }
}

/// The demo town with the summer ALSH booked at once (validation automatic), open now, with
/// `capacity` places a day and its waiting list.
fn rush_town(capacity: u32) -> Town {
    let mut town: Value = serde_json::from_str(local_portal::DEMO_TOWN).expect("demo town");
    for activity in town["activities"].as_array_mut().expect("activities") {
        for unit in activity["units"].as_array_mut().expect("units") {
            if unit["id"] == UNIT {
                unit["validation"] = json!("automatic");
                unit["capacity"] = json!(capacity);
                unit["waiting_list"] = json!(true);
                unit.as_object_mut().expect("unit").remove("booking_opens_days_before");
            }
        }
    }
    Town::parse(town.to_string().as_bytes()).expect("rush town")
}

/// Family `i`: one to three children enrolled at the ALSH, each wanting some summer weeks
/// (about 20 to 40 lines a family).
fn family(i: usize) -> (Family, Vec<Child>, Vec<(String, NaiveDate)>) {
    let n = 1 + i % 3;
    let weeks = summer_weeks();
    let per_child = match n {
        1 => 4 + (i / 3) % 3,
        2 => 2 + (i / 3) % 3,
        _ => 2,
    };
    let mut children = Vec::new();
    let mut wanted = Vec::new();
    for c in 0..n {
        let id = format!("r{i:04}-{c}");
        let child: Child = serde_json::from_value(json!({
            "id": id, "first_name": format!("Enfant{c}"), "last_name": format!("R{i:04}"), "birth_date": "2018-05-04",
            "enrolments": [{ "activity": "alsh", "site": SITE, "from": "2026-09-01", "to": "2027-08-31" }]
        }))
        .expect("child");
        let first = (uniform(i, 10 + c as u64) * weeks.len() as f64) as usize;
        for w in 0..per_child {
            wanted.push((id.clone(), weeks[(first + w) % weeks.len()]));
        }
        children.push(child);
    }
    let family: Family = serde_json::from_value(json!({
        "reference": format!("r{i:04}"), "name": format!("Famille R{i:04}"), "resident": true,
        "guardians": [{ "first_name": "Parent", "last_name": format!("R{i:04}"), "email": format!("parent.r{i:04}@exemple.fr") }],
        "children": children.iter().map(|c| c.id.as_str().to_owned()).collect::<Vec<_>>()
    }))
    .expect("family");
    (family, children, wanted)
}

/// A signed-in parent: the session cookie and its CSRF token.
struct Parent {
    cookie: String,
    csrf: String,
}

struct World {
    router: Router,
    /// The portal's store (contended) and the same file without the model, to read back.
    store: Store,
    plain: Store,
    parents: Vec<Parent>,
    lines: Vec<Vec<Value>>,
    families: Vec<Family>,
    started: Instant,
}

async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    parent: &Parent,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", &parent.cookie)
        .header("x-csrf-token", &parent.csrf);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let resp = router.clone().oneshot(req.body(body).expect("request")).await.expect("router answers");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Sets the town, its families and their sessions up on the plain file, then serves the merged
/// router on the contended store over the same file; or, given a store (DynamoDB on moto), on it.
async fn setup(rush: &Rush, dir: &std::path::Path, base: Option<Store>) -> World {
    let file = EmbeddedStore::in_memory().expect("store");
    let plain = base.clone().unwrap_or_else(|| Store::embedded(file.clone()));
    let town = rush_town(rush.capacity);
    let town_id = TownId::parse(TOWN).expect("town id");
    store::repo::Towns::new(plain.clone(), Duration::from_secs(60)).put(&town).await.expect("town");
    let today = opening_time().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let (mut parents, mut lines, mut families) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rush.families {
        let (family, children, wanted) = family(i);
        for c in &children {
            store::repo::put_child(&plain, &town_id, c).await.expect("child");
        }
        store::repo::put_family(&plain, &town_id, &family).await.expect("family");
        let data = local_portal::DemoFamilies { children, families: vec![family.clone()] };
        let mut mine = Vec::new();
        for (child, monday) in wanted {
            let friday = monday + chrono::Days::new(4);
            for l in local_portal::demo_basket(&town, &data, family.reference.as_str(), monday, friday, today) {
                if l.child.as_str() == child && l.unit.as_str() == UNIT {
                    mine.push(json!({"child": l.child, "unit": l.unit, "date": l.date, "action": "add"}));
                }
            }
        }
        lines.push(mine);
        let g = &family.guardians[0];
        let account = store::accounts::Account {
            email: g.email.clone(),
            first_name: g.first_name.clone(),
            last_name: g.last_name.clone(),
            role: domain::account::Role::Guardian,
            families: vec![family.reference.clone()],
            status: store::accounts::AccountStatus::Active,
            password_hash: None,
            created_at: opening_time(),
            credentials: 0,
            version: 0,
            no_reminders: false,
        };
        let (token, session) =
            store::accounts::create_session(&plain, &town_id, &account, opening_time()).await.expect("session");
        parents.push(Parent { cookie: format!("{}={token}", edge::auth::session::COOKIE), csrf: session.csrf });
        families.push(family);
    }
    let store = base.unwrap_or_else(|| Store::contended(file, rush.contention.clone()));
    let mut opts = local_portal::Options::demo(dir, Clock::running_from(opening_time()));
    opts.demo = false;
    let portal = local_portal::build_on(&opts, store.clone()).await.expect("portal");
    World { router: portal.router, store, plain, parents, lines, families, started: Instant::now() }
}

fn family_path(world: &World, i: usize) -> String {
    format!("/api/towns/{TOWN}/families/{}", world.families[i].reference)
}

/// Adds `lines` to family `i`'s basket and validates it under `key`, as the page does.
async fn book(world: &World, i: usize, lines: Vec<Value>, key: &str, failures: &mut Vec<String>) -> Option<Validation> {
    let (parent, path) = (&world.parents[i], family_path(world, i));
    let (status, body) =
        call(&world.router, "POST", &format!("{path}/basket/lines"), parent, Some(json!({ "lines": lines })), None)
            .await;
    if status != 200 {
        failures.push(format!("family {i}: adding lines answered {status}: {body}"));
        return None;
    }
    let (status, basket) = call(&world.router, "GET", &format!("{path}/basket"), parent, None, None).await;
    if status != 200 {
        failures.push(format!("family {i}: reading the basket answered {status}"));
        return None;
    }
    let revision = basket["revision"].clone();
    let started = world.started.elapsed();
    let body = json!({ "basket_revision": revision, "apply_valid": true });
    let (status, answer) =
        call(&world.router, "POST", &format!("{path}/basket/validate"), parent, Some(body), Some(key)).await;
    Some(Validation { family: i, started, ended: world.started.elapsed(), status, answer, cancel: false })
}

/// Family `i` arrives, validates its summer; a canceller then gives back up to two of the days
/// it got.
async fn family_task(world: Arc<World>, rush: Rush, i: usize, cancels: bool) -> (Vec<Validation>, Vec<String>) {
    tokio::time::sleep_until(world.started + arrival(&rush, i)).await;
    let mut failures = Vec::new();
    let mut out = Vec::new();
    let Some(v) = book(&world, i, world.lines[i].clone(), &format!("rush-{i:06}-summer"), &mut failures).await else {
        return (out, failures);
    };
    let placed: Vec<Value> = v.answer["lines"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter(|l| l["result"] == "applied" && l["status"] == "confirmed")
                .take(2)
                .map(|l| json!({"child": l["child"], "unit": l["unit"], "date": l["date"], "action": "cancel"}))
                .collect()
        })
        .unwrap_or_default();
    out.push(v);
    if cancels
        && !placed.is_empty()
        && let Some(mut c) = book(&world, i, placed, &format!("rush-{i:06}-cancel"), &mut failures).await
    {
        c.cancel = true;
        out.push(c);
    }
    (out, failures)
}

async fn reader_task(world: Arc<World>, rush: Rush, r: usize) -> (Duration, u16) {
    let at = rush.window.mul_f64(uniform(r, 7));
    tokio::time::sleep_until(world.started + at).await;
    let i = (uniform(r, 8) * world.families.len() as f64) as usize;
    let uri = format!(
        "/api/towns/{TOWN}/calendar/families/{}/weeks?activity=alsh&from=2027-07-05&weeks=1",
        world.families[i].reference
    );
    let t = Instant::now();
    let (status, _) = call(&world.router, "GET", &uri, &world.parents[i], None, None).await;
    (t.elapsed(), status)
}

/// Plays the rush on the contended store and reads back what the store holds.
pub async fn run(rush: &Rush) -> Report {
    run_on(rush, None).await
}

/// Plays the rush on `base` (the contended store when `None`) and reads back what it holds.
pub async fn run_on(rush: &Rush, base: Option<Store>) -> Report {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut world = setup(rush, dir.path(), base).await;
    world.started = Instant::now() + Duration::from_millis(50);
    let world = Arc::new(world);
    let every = (rush.families / rush.cancellers.max(1)).max(1);
    let families: Vec<_> = (0..rush.families)
        .map(|i| tokio::spawn(family_task(world.clone(), rush.clone(), i, rush.cancellers > 0 && i % every == 0)))
        .collect();
    let readers: Vec<_> =
        (0..rush.readers).map(|r| tokio::spawn(reader_task(world.clone(), rush.clone(), r))).collect();
    let (mut validations, mut failures, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for f in families {
        let (v, e) = f.await.expect("family task");
        validations.extend(v);
        failures.extend(e);
    }
    for r in readers {
        reads.push(r.await.expect("reader task"));
    }
    let elapsed = world.started.elapsed();
    read_back(rush, world, validations, reads, failures, elapsed).await
}

async fn read_back(
    rush: &Rush,
    world: Arc<World>,
    validations: Vec<Validation>,
    reads: Vec<(Duration, u16)>,
    failures: Vec<String>,
    elapsed: Duration,
) -> Report {
    let town = TownId::parse(TOWN).expect("town");
    let store = &world.plain;
    let (conflicts, throttles, throttled_out) = world.store.contention().map_or((0, 0, 0), |s| {
        (
            s.conflicts.load(Ordering::Relaxed),
            s.throttles.load(Ordering::Relaxed),
            s.throttled_out.load(Ordering::Relaxed),
        )
    });
    let store_calls = world.store.calls();
    let write_units = world.store.contention().map_or(0.0, |s| s.write_tenths.load(Ordering::Relaxed) as f64 / 10.0);
    let hottest = world.store.contention().map(|s| s.hottest(12)).unwrap_or_default();
    let mut bookings = Vec::new();
    for f in &world.families {
        for c in &f.children {
            let mine =
                store::repo::bookings(store, &town, c, day(2027, 7, 1), day(2027, 8, 31)).await.expect("bookings");
            bookings.extend(mine.into_iter().filter(|b| b.unit.as_str() == UNIT));
        }
    }
    let mut counters = BTreeMap::new();
    let unit = domain::UnitId::parse(UNIT).expect("unit");
    let site = domain::SiteId::parse(SITE).expect("site");
    for week in summer_weeks() {
        for d in 0..5 {
            let date = week + chrono::Days::new(d);
            if let Some(item) = store.get(&store::keys::capacity(&town, &unit, &site, date)).await.expect("counter") {
                let n = |a: &str| item.attrs.get(a).and_then(Value::as_i64).unwrap_or(0);
                counters.insert(date, (n("taken"), n("waiting")));
            }
        }
    }
    let mut confirmations: HashMap<String, usize> = HashMap::new();
    for item in store.scan_all(0).await.expect("scan") {
        if item.key.sk == "MAIL"
            && item.attrs.get("id").and_then(Value::as_str).is_some_and(|id| id.starts_with("val-"))
        {
            let to = item.attrs.get("to").and_then(Value::as_str).unwrap_or_default().to_owned();
            *confirmations.entry(to).or_default() += 1;
        }
    }
    Report {
        rush: rush.clone(),
        validations,
        reads,
        failures,
        elapsed,
        conflicts,
        throttles,
        throttled_out,
        store_calls,
        hottest,
        write_units,
        bookings,
        counters,
        confirmations,
        families: world.families.clone(),
    }
}

/// The value at quantile `q` of `xs` (sorted in place).
pub fn quantile(xs: &mut [Duration], q: f64) -> Duration {
    xs.sort();
    if xs.is_empty() {
        return Duration::ZERO;
    }
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    xs[i.min(xs.len() - 1)]
}

impl Report {
    /// Every broken invariant, in words; empty when the rush kept them all.
    pub fn violations(&self) -> Vec<String> {
        let mut out: Vec<String> = self.failures.clone();
        for v in &self.validations {
            if v.status >= 500 || !(v.status == 200 || v.status == 422) {
                out.push(format!("family {}: a validation answered {}: {}", v.family, v.status, v.answer));
            }
            for l in v.answer["lines"].as_array().into_iter().flatten() {
                if l["result"] == "refused" && l["error"]["code"].as_str().is_none_or(str::is_empty) {
                    out.push(format!("family {}: a line refused without a reason: {l}", v.family));
                }
            }
        }
        for (_, status) in &self.reads {
            if *status != 200 {
                out.push(format!("a grid read answered {status}"));
            }
        }
        out.extend(self.capacity_violations());
        out.extend(self.acknowledged_violations());
        out.extend(self.order_violations());
        out.extend(self.email_violations());
        out
    }

    fn holds_place(b: &domain::booking::Booking) -> bool {
        use domain::booking::BookingStatus::*;
        !b.waiting_list && matches!(b.status, Pending | Confirmed | CancelRequested)
    }

    /// No day over capacity; each day's counter equals the bookings holding a place.
    fn capacity_violations(&self) -> Vec<String> {
        let mut held: BTreeMap<NaiveDate, i64> = BTreeMap::new();
        for b in self.bookings.iter().filter(|b| Self::holds_place(b)) {
            *held.entry(b.date).or_default() += 1;
        }
        let mut out = Vec::new();
        for (date, n) in &held {
            if *n > i64::from(self.rush.capacity) {
                out.push(format!("{date}: {n} places held for {} (over capacity)", self.rush.capacity));
            }
            let taken = self.counters.get(date).map_or(0, |c| c.0);
            if taken != *n {
                out.push(format!("{date}: the counter says {taken} taken, the bookings {n}"));
            }
        }
        out
    }

    /// Every line acknowledged as applied is stored as the answer said: a day added is booked
    /// (or waiting), unless the family's own cancellation gave it back; a day cancelled is.
    fn acknowledged_violations(&self) -> Vec<String> {
        use domain::booking::BookingStatus::Cancelled;
        let stored: HashMap<(&str, NaiveDate), &domain::booking::Booking> =
            self.bookings.iter().map(|b| ((b.child.as_str(), b.date), b)).collect();
        let applied = |v: &'_ Validation| -> Vec<(String, NaiveDate)> {
            let lines = v.answer["lines"].as_array().cloned().unwrap_or_default();
            lines
                .iter()
                .filter(|l| l["result"] == "applied")
                .filter_map(|l| Some((l["child"].as_str()?.to_owned(), l["date"].as_str()?.parse().ok()?)))
                .collect()
        };
        let ok = self.validations.iter().filter(|v| v.status == 200);
        let cancelled: std::collections::HashSet<(String, NaiveDate)> =
            ok.clone().filter(|v| v.cancel).flat_map(applied).collect();
        let mut out = Vec::new();
        for v in ok {
            for (child, date) in applied(v) {
                let given_back = cancelled.contains(&(child.clone(), date));
                match stored.get(&(child.as_str(), date)) {
                    None => out.push(format!("{child} {date}: acknowledged but not stored")),
                    Some(b) if (b.status == Cancelled) != given_back => {
                        out.push(format!("{child} {date}: acknowledged, stored {:?}", b.status))
                    }
                    Some(_) => {}
                }
            }
        }
        out
    }

    /// First come, first served: a family whose validation ended before another's began never
    /// waits on a day the later one holds a place.
    fn order_violations(&self) -> Vec<String> {
        let when: HashMap<&str, (Duration, Duration)> = self
            .validations
            .iter()
            .filter(|v| !v.cancel)
            .map(|v| (self.families[v.family].reference.as_str(), (v.started, v.ended)))
            .collect();
        let family_of = |child: &str| child.split('-').next().unwrap_or_default().to_owned();
        let mut by_day: BTreeMap<NaiveDate, (Vec<Duration>, Vec<Duration>)> = BTreeMap::new();
        for b in &self.bookings {
            let Some((started, ended)) = when.get(family_of(b.child.as_str()).as_str()) else { continue };
            let e = by_day.entry(b.date).or_default();
            if b.waiting_list && b.status != domain::booking::BookingStatus::Cancelled {
                e.0.push(*ended);
            } else if Self::holds_place(b) {
                e.1.push(*started);
            }
        }
        let mut out = Vec::new();
        for (date, (waiting_ended, placed_started)) in by_day {
            let (Some(first_waiting), Some(last_placed)) = (waiting_ended.iter().min(), placed_started.iter().max())
            else {
                continue;
            };
            if first_waiting < last_placed {
                out.push(format!("{date}: a family done at {first_waiting:?} waits while one that began at {last_placed:?} has a place"));
            }
        }
        out
    }

    /// Each validation that applied something sent its confirmation once.
    fn email_violations(&self) -> Vec<String> {
        let mut expected: HashMap<String, usize> = HashMap::new();
        for v in self.validations.iter().filter(|v| v.status == 200 && v.answer["applied"].as_u64().unwrap_or(0) > 0) {
            let to = self.families[v.family].guardians[0].email.as_str().to_owned();
            *expected.entry(to).or_default() += 1;
        }
        let mut out = Vec::new();
        for (to, n) in &expected {
            let got = self.confirmations.get(to).copied().unwrap_or(0);
            if got != *n {
                out.push(format!("{to}: {got} confirmation emails for {n} validations"));
            }
        }
        for (to, got) in &self.confirmations {
            if !expected.contains_key(to) {
                out.push(format!("{to}: {got} confirmation emails for no validation"));
            }
        }
        out
    }

    /// The figures, as the performance document gives them.
    pub fn summary(&self) -> String {
        let firsts: Vec<&Validation> = self.validations.iter().filter(|v| !v.cancel).collect();
        let mut lat: Vec<Duration> = firsts.iter().map(|v| v.latency()).collect();
        let mut reads: Vec<Duration> = self.reads.iter().map(|r| r.0).collect();
        let lines: usize = firsts.iter().map(|v| v.answer["lines"].as_array().map_or(0, Vec::len)).sum();
        let count = |pred: &dyn Fn(&Value) -> bool| -> usize {
            firsts.iter().flat_map(|v| v.answer["lines"].as_array().into_iter().flatten()).filter(|l| pred(l)).count()
        };
        let placed = count(&|l| l["result"] == "applied" && l["status"] == "confirmed");
        let waiting = count(&|l| l["result"] == "applied" && l["status"] == "pending");
        let refused = count(&|l| l["result"] == "refused");
        let span = firsts
            .iter()
            .map(|v| v.ended)
            .max()
            .unwrap_or_default()
            .saturating_sub(firsts.iter().map(|v| v.started).min().unwrap_or_default());
        let n = firsts.len().max(1) as f64;
        format!(
            "{} families, {} lines ({placed} placed, {waiting} on the waiting list, {refused} refused), {} cancellations, {} grid reads\n\
             store latency {:?} + up to {:?}; run {:.1} s; {:.1} validations/s over {:.1} s\n\
             validation p50 {:?} p95 {:?} p99 {:?} max {:?}\n\
             grid read p50 {:?} p95 {:?} p99 {:?}\n\
             conflicts {} ({:.2} per validation), throttles {} ({} calls failed after the SDK's retries), {} storage calls, {:.0} write units ({:.0} per validation)\n\
             non-2xx: {} validations, {} reads, {} other calls\n\
             throttled most: {:?}",
            firsts.len(),
            lines,
            self.validations.iter().filter(|v| v.cancel).count(),
            self.reads.len(),
            self.rush.contention.latency,
            self.rush.contention.jitter,
            self.elapsed.as_secs_f64(),
            n / span.as_secs_f64().max(1e-3),
            span.as_secs_f64(),
            quantile(&mut lat, 0.5),
            quantile(&mut lat, 0.95),
            quantile(&mut lat, 0.99),
            lat.last().copied().unwrap_or_default(),
            quantile(&mut reads, 0.5),
            quantile(&mut reads, 0.95),
            quantile(&mut reads, 0.99),
            self.conflicts,
            self.conflicts as f64 / n,
            self.throttles,
            self.throttled_out,
            self.store_calls,
            self.write_units,
            self.write_units / n,
            self.validations.iter().filter(|v| !(v.status == 200 || v.status == 422)).count(),
            self.reads.iter().filter(|r| r.1 != 200).count(),
            self.failures.len(),
            self.hottest,
        )
    }
}
