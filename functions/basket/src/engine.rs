//! Applying checked lines exactly once, whatever their number, retries and crashes.
//!
//! A validation is named by the client's idempotency key and kept for [`KEEP`]:
//!
//! 1. **Claim**: a header item is created only if none is live (`NotExistsOrExpired`, since
//!    DynamoDB's TTL deletion lags). Whoever finds it taken reads it: another body under the
//!    same key is refused; a finished validation is answered again from what was stored; one
//!    being applied is joined; one being planned is waited for (or taken over once its claim
//!    is older than [`LEASE`]: its planner died).
//! 2. **Plan**: every line is checked once more at `now` (see [`crate::check`]); the verdicts,
//!    with the exact bookings to write, are stored in chunks of at most 99 actions, under the
//!    claim. The header then says `applying` (or `done`, rejected, when a line failed and the
//!    guardian did not choose to apply the valid ones: nothing is written).
//! 3. **Apply**: each chunk is one transaction of at most 100 actions: its bookings (each
//!    conditioned on the version read), the places (one bounded counter per unit, site and day,
//!    never over the capacity), and the progress item moved from `i` to `i + 1` — so a chunk
//!    applies once, however many workers resume it. A line whose condition fails in between
//!    (the last place taken by someone else, the booking changed elsewhere) is recorded as
//!    lost with its reason; in the first chunk without the guardian's consent to a partial
//!    result, the validation is rejected instead and nothing is written.
//! 4. **Finish**: one transaction marks the header done, queues the confirmation email and
//!    removes the applied lines from the basket.
//!
//! The answer is always rebuilt from the stored plan and progress, so a retry gets the same one.

use crate::check::{Effect, Line, Mode, Refusal};
use chrono::{DateTime, TimeDelta, Utc};
use domain::basket::{self, Behind, Failed, Race};
use domain::booking::BookingStatus;
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::{Email, Family};
use domain::{Cents, ChildId, FamilyRef};
use edge::auth::secret;
use edge::clock::Clock;
use edge::http::Problem;
use serde::{Deserialize, Serialize};
use services::mail::outbox::Mail;
use services::mail::templates::{self, Section};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use store::gate;
use store::{Cond, Item, Key, MAX_TRANSACTION_ACTIONS, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// How long a validation's answer is kept (at least 24 hours, as promised to clients).
pub const KEEP: TimeDelta = TimeDelta::hours(48);
/// A planning claim older than this belongs to a request that died (Lambda stops at 30 s).
pub const LEASE: TimeDelta = TimeDelta::seconds(35);
/// How long a second request for the same key waits for the first one's plan.
const WAIT: Duration = Duration::from_secs(20);
/// Actions of a chunk's own (the progress item takes the hundredth).
const CHUNK_ACTIONS: usize = MAX_TRANSACTION_ACTIONS - 1;
/// A chunk item stays well under DynamoDB's 400 KB.
const CHUNK_BYTES: usize = 300 * 1024;
/// Tries of one transaction that meets another in flight.
const CONFLICT_TRIES: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Planning,
    Applying,
    Done,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    state: State,
    fingerprint: String,
    claim: String,
    claimed_at: DateTime<Utc>,
    by: Email,
    mode: Mode,
    apply_valid: bool,
    #[serde(default)]
    chunks: usize,
    /// Refused as a whole: nothing applied.
    #[serde(default)]
    rejected: bool,
    /// First names of the children, for the email.
    #[serde(default)]
    names: BTreeMap<ChildId, String>,
    /// Who is told what was applied.
    #[serde(default)]
    notify: Vec<Recipient>,
    /// The basket whose applied lines are removed at the end.
    #[serde(default)]
    basket: Option<Key>,
}

/// One line of the plan: the line, and its effect or why it is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub line: Line,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chunk {
    /// The plan index of the chunk's first line.
    first: usize,
    lines: Vec<Planned>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    /// Chunks applied.
    done: usize,
    /// Lines that lost a race while being applied, by plan index.
    #[serde(default)]
    lost: BTreeMap<usize, Refusal>,
    /// The first chunk lost a line and the guardian wanted all or nothing.
    #[serde(default)]
    aborted: bool,
    /// Additions that found their day full, or someone waiting, when applied: they joined the
    /// waiting list instead, by plan index.
    #[serde(default)]
    queued: BTreeSet<usize>,
}

/// Someone the confirmation email goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recipient {
    pub email: Email,
    pub first_name: String,
}

/// What a validation asks for, besides its lines.
pub struct Ask {
    pub town: Arc<Town>,
    pub family: Family,
    pub by: Email,
    pub mode: Mode,
    /// The client's idempotency key.
    pub key: String,
    /// The digest of the request's meaning; the same key with another one is refused.
    pub fingerprint: String,
    /// Apply the valid lines when some are refused (the guardian's explicit choice).
    pub apply_valid: bool,
    pub notify: Vec<Recipient>,
    pub basket: Option<Key>,
    /// The portal's address, for the email's link.
    pub public_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every line applied.
    Applied,
    /// Some lines applied, the others refused with their reasons.
    PartiallyApplied,
    /// Nothing applied: some lines are refused and the request wanted all or nothing.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Applied,
    Refused,
    /// Valid, but not applied because other lines were refused.
    NotApplied,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    pub child: ChildId,
    pub unit: domain::UnitId,
    pub date: chrono::NaiveDate,
    pub action: ActionKind,
    pub result: LineOutcome,
    /// The booking's status after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BookingStatus>,
    pub price: Cents,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub outcome: Outcome,
    pub idempotency_key: String,
    pub applied: usize,
    pub refused: usize,
    /// What the applied lines cost.
    pub total: Cents,
    pub lines: Vec<LineResult>,
}

fn header_key(ask: &Ask) -> Key {
    keys::validation(ask.town.id(), &ask.family.reference, &ask.key)
}

fn chunk_key(ask: &Ask, claim: &str, n: usize) -> Key {
    keys::validation_chunk(ask.town.id(), &ask.family.reference, &format!("{}#{claim}", ask.key), n)
}

fn progress_key(ask: &Ask, claim: &str) -> Key {
    keys::validation_progress(ask.town.id(), &ask.family.reference, &format!("{}#{claim}", ask.key))
}

fn expiry(now: DateTime<Utc>) -> i64 {
    (now + KEEP).timestamp()
}

fn header_item(ask: &Ask, h: &Header, now: DateTime<Utc>) -> Result<Item, StoreError> {
    Ok(Item::from_value(header_key(ask), h)?.with_ttl(expiry(h.claimed_at.min(now))))
}

/// Whether a live validation exists under this key (a retry, or a key reused).
pub async fn exists(
    store: &Store,
    town: &Town,
    family: &FamilyRef,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(store.get(&keys::validation(town.id(), family, key)).await?.is_some_and(|i| i.is_live(now.timestamp())))
}

async fn read_header(store: &Store, ask: &Ask, now: DateTime<Utc>) -> Result<Option<Header>, StoreError> {
    match store.get(&header_key(ask)).await? {
        Some(i) if i.is_live(now.timestamp()) => Ok(Some(i.to_value()?)),
        _ => Ok(None),
    }
}

fn claimed_by(claim: &str) -> Cond {
    Cond::AttrEquals { name: "claim".into(), value: claim.to_owned().into() }
}

/// A retry arrived without the lines of a validation whose planner died before storing them.
fn interrupted() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "validation_interrupted",
        "La validation précédente a été interrompue avant d'être enregistrée : rechargez votre panier et validez-le à nouveau.",
    )
}

fn key_reused() -> Problem {
    Problem::unprocessable(
        "idempotency_key_reused",
        "Cette clé d'idempotence a déjà servi pour une autre demande : générez-en une nouvelle.",
    )
    .field("Idempotency-Key")
}

/// Validates `lines` once for the key; answers the first answer to every retry.
pub async fn run(store: &Store, clock: &Clock, ask: &Ask, lines: Vec<Line>) -> Result<Answer, Problem> {
    let started = tokio::time::Instant::now();
    loop {
        let now = clock.now();
        let header = Header {
            state: State::Planning,
            fingerprint: ask.fingerprint.clone(),
            claim: secret::id(),
            claimed_at: now,
            by: ask.by.clone(),
            mode: ask.mode,
            apply_valid: ask.apply_valid,
            chunks: 0,
            rejected: false,
            names: BTreeMap::new(),
            notify: ask.notify.clone(),
            basket: ask.basket.clone(),
        };
        match store.put(header_item(ask, &header, now)?, Some(Cond::NotExistsOrExpired { now: now.timestamp() })).await
        {
            Ok(()) if lines.is_empty() => {
                // A retry without its lines, and nothing to replay (the first attempt expired).
                let _ = store.delete(&header_key(ask), Some(claimed_by(&header.claim))).await;
                return Err(interrupted());
            }
            Ok(()) => return plan_and_apply(store, clock, ask, &lines, header).await,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        // Someone holds the key: the first attempt of this request, or another request.
        let Some(found) = read_header(store, ask, now).await? else { continue };
        if found.fingerprint != ask.fingerprint {
            return Err(key_reused());
        }
        match found.state {
            State::Done => return answer(store, ask, &found, None).await,
            State::Applying => return apply(store, clock, ask, found, None).await,
            State::Planning if now - found.claimed_at > LEASE && lines.is_empty() => return Err(interrupted()),
            State::Planning if now - found.claimed_at > LEASE => {
                // Its planner died: take the key over, unless someone else just did.
                let mut mine = header.clone();
                mine.claimed_at = now;
                let cond = Cond::AttrEquals { name: "claim".into(), value: found.claim.clone().into() };
                match store.put(header_item(ask, &mine, now)?, Some(cond)).await {
                    Ok(()) => return plan_and_apply(store, clock, ask, &lines, mine).await,
                    Err(StoreError::ConditionFailed) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            State::Planning => {
                if started.elapsed() > WAIT {
                    return Err(Problem::new(
                        axum::http::StatusCode::CONFLICT,
                        "validation_in_progress",
                        "Cette validation est déjà en cours : patientez quelques secondes puis réessayez.",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Checks every line, stores the plan under the claim, then applies it.
async fn plan_and_apply(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    lines: &[Line],
    mut header: Header,
) -> Result<Answer, Problem> {
    let claim = header.claim.clone();
    let planned = async {
        let now = clock.now();
        let mut facts = crate::check::load(store, ask.town.clone(), ask.family.clone(), lines).await?;
        let mut sorted: Vec<&Line> = lines.iter().collect();
        // By date, then unit: the lines that share a day's places sit in the same chunk.
        sorted.sort_by(|a, b| (a.date, &a.unit, &a.child).cmp(&(b.date, &b.unit, &b.child)));
        let plan: Vec<Planned> = sorted
            .into_iter()
            .map(|l| match facts.check(l, ask.mode, ask.by.as_str(), now) {
                Ok(effect) => Planned { line: l.clone(), effect: Some(effect), refusal: None },
                Err(r) => Planned { line: l.clone(), effect: None, refusal: Some(r) },
            })
            .collect();
        header.names = facts.children.values().map(|c| (c.id.clone(), c.first_name.clone())).collect();
        let chunks = split(plan)?;
        let items = chunks
            .iter()
            .enumerate()
            .map(|(n, c)| Ok(Item::from_value(chunk_key(ask, &claim, n), c)?.with_ttl(expiry(now))))
            .collect::<Result<Vec<Item>, StoreError>>()?;
        let puts = items.into_iter().map(|i| store.put(i, None));
        for r in futures::future::join_all(puts).await {
            r?;
        }
        Ok::<_, StoreError>(chunks)
    }
    .await;
    let chunks = match planned {
        Ok(c) => c,
        Err(e) => {
            // Free the key at once so that the client's retry plans again without waiting.
            let cond = Cond::AttrEquals { name: "claim".into(), value: claim.clone().into() };
            let _ = store.delete(&header_key(ask), Some(cond)).await;
            return Err(e.into());
        }
    };
    let refused = chunks.iter().flat_map(|c| &c.lines).any(|p| p.refusal.is_some());
    header.chunks = chunks.len();
    if refused && !header.apply_valid {
        header.rejected = true;
        header.state = State::Done;
    } else {
        header.state = State::Applying;
    }
    let cond = Cond::AttrEquals { name: "claim".into(), value: claim.clone().into() };
    match store.put(header_item(ask, &header, clock.now())?, Some(cond)).await {
        Ok(()) => {}
        // Taken over while planning (we were too slow): the new owner answers.
        Err(StoreError::ConditionFailed) => return Box::pin(run(store, clock, ask, lines.to_vec())).await,
        Err(e) => return Err(e.into()),
    }
    if header.state == State::Done {
        return answer(store, ask, &header, Some(chunks)).await;
    }
    apply(store, clock, ask, header, Some(chunks)).await
}

/// Splits the plan into chunks that each fit one transaction with the progress item.
fn split(plan: Vec<Planned>) -> Result<Vec<Chunk>, StoreError> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current = Chunk { first: 0, lines: Vec::new() };
    let (mut actions, mut bytes) = (0usize, 0usize);
    let mut counters = HashSet::new();
    let mut days = HashSet::new();
    for (i, p) in plan.into_iter().enumerate() {
        let size = serde_json::to_vec(&p).map_err(|e| StoreError::Invalid(e.to_string()))?.len();
        let counter = p.effect.as_ref().and_then(counter_of);
        // An addition's day is checked open, once per day.
        let day = p.effect.as_ref().filter(|_| p.line.action == ActionKind::Add).map(|e| e.booking.date);
        // A counter, and the waiting list's job when it frees a place.
        let need_in = |counters: &HashSet<Counter>, days: &HashSet<chrono::NaiveDate>| {
            usize::from(p.effect.is_some())
                + 2 * usize::from(counter.as_ref().is_some_and(|k| !counters.contains(k)))
                + usize::from(day.is_some_and(|d| !days.contains(&d)))
        };
        let mut need = need_in(&counters, &days);
        if !current.lines.is_empty() && (actions + need > CHUNK_ACTIONS || bytes + size > CHUNK_BYTES) {
            chunks.push(std::mem::replace(&mut current, Chunk { first: i, lines: Vec::new() }));
            (actions, bytes) = (0, 0);
            counters.clear();
            days.clear();
            need = need_in(&counters, &days);
        }
        if let Some(k) = counter {
            counters.insert(k);
        }
        if let Some(d) = day {
            days.insert(d);
        }
        actions += need;
        bytes += size;
        current.lines.push(p);
    }
    if !current.lines.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    Ok(chunks)
}

/// A places counter: unit, site, day.
type Counter = (domain::UnitId, domain::SiteId, chrono::NaiveDate);

/// The places counter a line touches, when it takes or frees a place or one in the queue (an
/// addition that turns into a request on the waiting list when applied moves the same one).
fn counter_of(e: &Effect) -> Option<Counter> {
    (e.places != 0 || e.waiting != 0).then(|| (e.booking.unit.clone(), e.booking.site.clone(), e.booking.date))
}

async fn load_chunks(store: &Store, ask: &Ask, header: &Header) -> Result<Vec<Chunk>, StoreError> {
    let first = chunk_key(ask, &header.claim, 0);
    let prefix = first.sk.trim_end_matches("0000").to_owned();
    let items = store.query_all(&Query::table(first.pk, SkRange::Prefix(prefix))).await?;
    let chunks: Vec<Chunk> = items.iter().map(Item::to_value).collect::<Result<_, _>>()?;
    if chunks.len() != header.chunks {
        return Err(StoreError::Corrupt(format!(
            "validation {}: {} chunks of {}",
            ask.key,
            chunks.len(),
            header.chunks
        )));
    }
    Ok(chunks)
}

async fn read_progress(store: &Store, ask: &Ask, claim: &str) -> Result<Progress, StoreError> {
    Ok(store.get(&progress_key(ask, claim)).await?.map(|i| i.to_value()).transpose()?.unwrap_or_default())
}

/// The write that moves the progress from `from` to `to`.
fn progress_op(ask: &Ask, claim: &str, from: usize, to: &Progress, now: DateTime<Utc>) -> Result<WriteOp, StoreError> {
    let item = Item::from_value(progress_key(ask, claim), to)?.with_ttl(expiry(now));
    let cond = if from == 0 {
        Cond::NotExists
    } else {
        Cond::AttrEquals { name: "done".into(), value: serde_json::Value::from(from) }
    };
    Ok(WriteOp::Put { item, cond: Some(cond) })
}

/// Lines that lost a race while being applied, and why.
struct Lost(Vec<(usize, Refusal)>);

/// What the line writes when applied: its planned effect, or the request on the waiting list it
/// became when its day turned out full or queued (`None`: refused, or lost).
fn effective(p: &Planned, progress: &Progress, index: usize) -> Option<Effect> {
    let e = p.effect.as_ref().filter(|_| !progress.lost.contains_key(&index))?;
    match progress.queued.contains(&index) {
        true => e.to_waiting_list().or_else(|| Some(e.clone())),
        false => Some(e.clone()),
    }
}

/// Applies the chunks not applied yet, one transaction each, then finishes.
async fn apply(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    header: Header,
    chunks: Option<Vec<Chunk>>,
) -> Result<Answer, Problem> {
    let chunks = match chunks {
        Some(c) => c,
        None => load_chunks(store, ask, &header).await?,
    };
    let mut progress = read_progress(store, ask, &header.claim).await?;
    let mut conflicts = 0;
    // The places this validation freed on units with a waiting list, and the days whose queue
    // it joined (a place may be free there: the promoter looks).
    let mut promotions: BTreeSet<Counter> = BTreeSet::new();
    let mut joined: BTreeSet<Counter> = BTreeSet::new();
    while progress.done < chunks.len() && !progress.aborted {
        let now = clock.now();
        let chunk = &chunks[progress.done];
        let next = Progress { done: progress.done + 1, ..progress.clone() };
        let mut ops = vec![progress_op(ask, &header.claim, progress.done, &next, now)?];
        // For each action, the plan indexes of the lines behind it.
        let mut behind: Vec<Vec<usize>> = vec![Vec::new()];
        let mut moves = Vec::new();
        let mut indexes = Vec::new();
        for (offset, p) in chunk.lines.iter().enumerate() {
            let index = chunk.first + offset;
            let Some(effect) = effective(p, &progress, index) else { continue };
            ops.push(repo::booking_write(ask.town.id(), &effect.booking, effect.expected_version)?);
            behind.push(vec![index]);
            let b = &effect.booking;
            moves.push(gate::Move {
                activity: b.activity.clone(),
                unit: b.unit.clone(),
                site: b.site.clone(),
                date: b.date,
                // An addition arrives on its day (checked open) even on a unit without places.
                taken: match p.line.action {
                    ActionKind::Add if b.holds_place() => 1,
                    _ => i64::from(effect.places),
                },
                waiting: i64::from(effect.waiting),
            });
            indexes.push(index);
        }
        // The day open, the places within the capacity, nobody overtaken in the queue.
        let mut guarded: BTreeMap<usize, gate::Guarded> = BTreeMap::new();
        let (mut freed, mut queued_days) = (BTreeSet::new(), BTreeSet::new());
        for g in gate::guards(&ask.town, &moves, gate::Arrival::Newcomer) {
            let lines: Vec<usize> = g.behind.iter().map(|&i| indexes[i]).collect();
            let converted = lines.iter().any(|i| progress.queued.contains(i));
            guarded.insert(ops.len(), g.what.clone());
            ops.push(g.op);
            behind.push(lines);
            let gate::Guarded::Counter { unit, site, date, .. } = g.what else { continue };
            if g.waiting > 0 {
                queued_days.insert((unit.clone(), site.clone(), date));
            }
            // A freed place, or newcomers turned into requests on a day that may have one free,
            // is work for the waiting list: recorded here, run once the chunk is in.
            if (g.taken < 0 || converted)
                && let Some(op) = services::operations::promote_op(&ask.town, &unit, &site, date, now)
            {
                ops.push(op);
                behind.push(Vec::new());
                freed.insert((unit, site, date));
            }
        }
        let lost = match store.transact(ops).await {
            Ok(()) => {
                progress = next;
                conflicts = 0;
                promotions.extend(freed);
                joined.extend(queued_days);
                continue;
            }
            Err(StoreError::TransactionCanceled { index: 0, .. }) => {
                // Another worker applied this chunk (or gave up): carry on from where it is.
                progress = read_progress(store, ask, &header.claim).await?;
                continue;
            }
            Err(StoreError::TransactionCanceled { index, .. }) => {
                let lines = behind.get(index).cloned().unwrap_or_default();
                match guarded.get(&index) {
                    Some(gate::Guarded::Open { date }) => {
                        // One check per day: the lines of the activities its marks close are lost.
                        let mut closed = Vec::new();
                        for i in lines {
                            let Some(activity) = plan_line(&chunks, i).and_then(|p| p.effect.as_ref()) else {
                                continue;
                            };
                            let activity = &activity.booking.activity;
                            if let Some(reason) = gate::closed_reason(store, ask.town.id(), *date, activity).await? {
                                closed.push((i, reason));
                            }
                        }
                        if closed.is_empty() {
                            // Reopened meanwhile: try again.
                            continue;
                        }
                        let why =
                            |r: String| Refusal { code: "closed".into(), message: gate::closed_message(Some(&r)) };
                        Lost(closed.into_iter().map(|(i, r)| (i, why(r))).collect())
                    }
                    guard => {
                        let failed = match guard {
                            Some(gate::Guarded::Counter { waiting_list, .. }) => {
                                Failed::Places { waiting_list: *waiting_list }
                            }
                            _ => Failed::Booking,
                        };
                        let behind: Vec<Behind> = lines
                            .iter()
                            .map(|&i| Behind {
                                index: i,
                                queued: progress.queued.contains(&i),
                                takes_place: plan_line(&chunks, i)
                                    .and_then(|p| p.effect.as_ref())
                                    .is_some_and(|e| e.places > 0),
                            })
                            .collect();
                        match basket::lost_race(failed, ask.mode, &behind) {
                            Race::Queue(takers) => {
                                progress.queued.extend(takers);
                                continue;
                            }
                            Race::Lose(line, why) => Lost(vec![(line, why)]),
                            Race::Nothing if failed == Failed::Booking => {
                                return Err(StoreError::Corrupt(format!("action {index} of a chunk")).into());
                            }
                            Race::Nothing => Lost(Vec::new()),
                        }
                    }
                }
            }
            Err(StoreError::Conflict) if conflicts < CONFLICT_TRIES => {
                conflicts += 1;
                let jitter = u64::from(secret::id().as_bytes()[0] % 20);
                tokio::time::sleep(Duration::from_millis(10 * (1 << conflicts) + jitter)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Lost(lines) = lost;
        if lines.is_empty() {
            return Err(StoreError::Corrupt("a guard with no line behind it failed".into()).into());
        }
        if !header.apply_valid && progress.done == 0 {
            // All or nothing, and nothing written yet: reject the whole validation.
            let aborted =
                Progress { done: 0, lost: lines.into_iter().collect(), aborted: true, queued: BTreeSet::new() };
            let op = progress_op(ask, &header.claim, 0, &aborted, now)?;
            match store.transact(vec![op]).await {
                Ok(()) => progress = aborted,
                Err(StoreError::TransactionCanceled { .. }) => {
                    progress = read_progress(store, ask, &header.claim).await?;
                }
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        progress.lost.extend(lines);
    }
    let answer = finish(store, clock, ask, header, chunks, progress).await?;
    let ctx = services::operations::Ctx { store, public_url: &ask.public_url };
    for (unit, site, date) in &joined {
        // A request joined a day with a place free (one freed a moment before, whose promoter
        // already looked): the waiting list moves now rather than at the next freed place.
        if promotions.contains(&(unit.clone(), site.clone(), date.to_owned())) {
            continue;
        }
        match services::operations::free_places(store, &ask.town, unit, site, *date).await {
            Ok(free) if free > 0 => {
                promotions.insert((unit.clone(), site.clone(), *date));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "waiting list left to the next freed place"),
        }
    }
    for (unit, site, date) in promotions {
        let job = services::operations::Job::Promote { unit, site, date };
        if let Err(e) = services::operations::run(ctx, &ask.town, &job, clock.now()).await {
            tracing::warn!(error = %e, ?job, "waiting list left to the sweep");
        }
    }
    Ok(answer)
}

/// The plan's line at `index`.
fn plan_line(chunks: &[Chunk], index: usize) -> Option<&Planned> {
    let c = chunks.iter().rev().find(|c| c.first <= index)?;
    c.lines.get(index - c.first)
}

/// Marks the validation done, queues the email and empties the basket of the applied lines,
/// in one transaction.
async fn finish(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    mut header: Header,
    chunks: Vec<Chunk>,
    progress: Progress,
) -> Result<Answer, Problem> {
    header.rejected = progress.aborted;
    let result = build(ask, &header, &chunks, &progress);
    header.state = State::Done;
    loop {
        let now = clock.now();
        let mut ops = vec![WriteOp::Put {
            item: header_item(ask, &header, now)?,
            cond: Some(Cond::AttrEquals { name: "state".into(), value: "applying".into() }),
        }];
        let applied: Vec<(&Planned, &LineResult)> = chunks
            .iter()
            .flat_map(|c| &c.lines)
            .zip(&result.lines)
            .filter(|(_, r)| r.result == LineOutcome::Applied)
            .collect();
        if !applied.is_empty() {
            for (n, to) in header.notify.iter().enumerate() {
                let mut mail = Mail::new(ask.town.id(), &to.email, email(ask, &header, &to.first_name, &result), now);
                mail.id = format!("val-{}-{n}", header.claim);
                ops.push(mail.enqueue()?);
            }
        }
        // A change by staff (past the deadlines, for a family) is in the audit trail, with
        // what it applied, in the transaction that ends it.
        if ask.mode == crate::check::Mode::Staff && !applied.is_empty() {
            let lines: Vec<&LineResult> = applied.iter().map(|(_, r)| *r).collect();
            let entry = store::audit::Entry {
                at: now,
                by: ask.by.to_string(),
                action: "bookings.staff_change".into(),
                target: format!("family/{}", ask.family.reference),
                before: None,
                after: serde_json::to_value(&lines).ok(),
            };
            ops.push(entry.record(ask.town.id())?);
        }
        let mut basket_index = None;
        if let (Some(key), false) = (&header.basket, applied.is_empty()) {
            let done: HashSet<_> = applied.iter().map(|(p, _)| p.line.cell()).collect();
            if let Some(op) = crate::basket::without(store, key, &done, now).await? {
                basket_index = Some(ops.len());
                ops.push(op);
            }
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(result),
            // Someone else finished it: the same answer, already stored.
            Err(StoreError::TransactionCanceled { index: 0, .. }) => return Ok(result),
            // The basket changed meanwhile (another device): read it again.
            Err(StoreError::TransactionCanceled { index, .. }) if Some(index) == basket_index => continue,
            Err(StoreError::Conflict) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The stored answer, rebuilt from the plan and the progress.
async fn answer(store: &Store, ask: &Ask, header: &Header, chunks: Option<Vec<Chunk>>) -> Result<Answer, Problem> {
    let chunks = match chunks {
        Some(c) => c,
        None => load_chunks(store, ask, header).await?,
    };
    let progress = read_progress(store, ask, &header.claim).await?;
    Ok(build(ask, header, &chunks, &progress))
}

fn build(ask: &Ask, header: &Header, chunks: &[Chunk], progress: &Progress) -> Answer {
    let rejected = header.rejected || progress.aborted;
    let mut lines = Vec::new();
    let (mut applied, mut refused, mut total) = (0, 0, Cents::ZERO);
    for (index, p) in chunks.iter().flat_map(|c| c.lines.iter().enumerate().map(move |(o, p)| (c.first + o, p))) {
        let error = p.refusal.clone().or_else(|| progress.lost.get(&index).cloned());
        let result = match (&error, rejected) {
            (Some(_), _) => LineOutcome::Refused,
            (None, true) => LineOutcome::NotApplied,
            (None, false) => LineOutcome::Applied,
        };
        let queued = progress.queued.contains(&index).then(|| p.effect.as_ref().and_then(Effect::to_waiting_list));
        let effect = queued.flatten();
        let effect = effect.as_ref().or(p.effect.as_ref());
        match result {
            LineOutcome::Applied => {
                applied += 1;
                total += effect.map_or(Cents::ZERO, |e| e.price);
            }
            LineOutcome::Refused => refused += 1,
            LineOutcome::NotApplied => {}
        }
        lines.push(LineResult {
            child: p.line.child.clone(),
            unit: p.line.unit.clone(),
            date: p.line.date,
            action: p.line.action,
            result,
            status: effect.filter(|_| result != LineOutcome::Refused).map(|e| e.booking.status),
            price: effect.map_or(Cents::ZERO, |e| e.price),
            late: effect.is_some_and(|e| e.late),
            error,
        });
    }
    let outcome = match (rejected, refused) {
        (true, _) => Outcome::Rejected,
        (false, 0) => Outcome::Applied,
        (false, _) => Outcome::PartiallyApplied,
    };
    Answer { outcome, idempotency_key: ask.key.clone(), applied, refused, total, lines }
}

/// The confirmation email: what was booked, what was cancelled, what was refused, with prices.
fn email(ask: &Ask, header: &Header, first_name: &str, result: &Answer) -> services::mail::outbox::Content {
    let town = &ask.town.config().name;
    let name = |c: &ChildId| header.names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let unit = |u: &domain::UnitId| ask.town.unit(u).map_or_else(|| u.to_string(), |(_, u)| u.name.clone());
    let mut booked = Vec::new();
    let mut cancelled = Vec::new();
    let mut refused = Vec::new();
    for l in &result.lines {
        let what = format!("{} – {} – {}", domain::fr::weekday_date(l.date), name(&l.child), unit(&l.unit));
        match (l.result, l.action, l.status) {
            (LineOutcome::Applied, ActionKind::Add, Some(BookingStatus::Pending)) => booked
                .push(format!("{what} – {} – demande en cours (en attente de validation par le service)", l.price)),
            (LineOutcome::Applied, ActionKind::Add, _) if l.late => {
                booked.push(format!("{what} – {} (ajout hors délai, tarif majoré)", l.price))
            }
            (LineOutcome::Applied, ActionKind::Add, _) => booked.push(format!("{what} – {}", l.price)),
            (LineOutcome::Applied, ActionKind::Cancel, Some(BookingStatus::CancelRequested)) => {
                cancelled.push(format!("{what} – demande d'annulation transmise au service"))
            }
            (LineOutcome::Applied, ActionKind::Cancel, _) if l.late => {
                cancelled.push(format!("{what} – annulation hors délai, facturée {}", l.price))
            }
            (LineOutcome::Applied, ActionKind::Cancel, _) => cancelled.push(format!("{what} – annulée")),
            (LineOutcome::Refused, _, _) => {
                refused.push(format!("{what} – {}", l.error.as_ref().map_or("", |e| e.message.as_str())))
            }
            _ => {}
        }
    }
    let sections = [
        Section { title: "Réservations".into(), lines: booked },
        Section { title: "Annulations".into(), lines: cancelled },
        Section { title: "Non enregistré".into(), lines: refused },
    ];
    let (subject, intro) = match header.mode {
        Mode::Guardian => (
            "Confirmation de vos réservations",
            "Votre panier a été validé. Voici ce qui a été enregistré :".to_owned(),
        ),
        Mode::Staff => (
            "Modification de vos réservations par le service",
            format!("Le service enfance de {town} a modifié les réservations de votre famille :"),
        ),
    };
    let remarks = vec![format!("Montant de ces changements : {}.", result.total)];
    templates::summary(
        town,
        subject,
        first_name,
        &intro,
        &sections,
        &remarks,
        &format!("{}/reservations.html", ask.public_url),
    )
}
