//! A busy day's queue: the opening rush (docs/performance.md, « The opening rush »).
//!
//! Every family booking a day names that day's counter and closure marks in its transaction,
//! and DynamoDB cancels either of two transactions in flight on one item: at 8:00, with
//! hundreds of families on each summer day, most transactions are cancelled and retried, and a
//! day serves far fewer families a second than the one transaction at a time it could. So a
//! guardian's additions to one such day (a chunk: see [`super::stored::split`]) are not applied
//! by their own transaction but queued on the day, in order of arrival, and whoever holds the
//! day's lease applies the queue's chunks in order, many families in one transaction.
//!
//! The queue and the lease decide only who writes, never what is right: the combined
//! transaction carries each chunk's own conditions (its progress moved from `n` to `n + 1`,
//! each booking at the version planned), the day's closure check and its counter bounded by the
//! capacity and the queue, exactly as a chunk's own transaction does. So a chunk applies once
//! whoever applies it, a lease held by two (one of them late) only makes their transactions
//! conflict, and a worker that stops waiting and applies its chunk itself ([`Through::Solo`])
//! meets the queue's transaction on the chunk's progress: one of the two is cancelled.
//!
//! A chunk the queue cannot apply as planned (a booking changed meanwhile, the day closed, a
//! full unit without a waiting list) is handed back to its worker, which applies it through
//! the ordinary path and its answers (lost, refused, closed). Places go in order of arrival:
//! the chunks of a round are taken in the queue's order, and once one waits on a day, the
//! ones after it wait too, as the counter's « nobody waiting » condition has it.

use super::stored::{Chunk, Owner, Progress, expiry};
use super::writes::{Writes, effective, writes};
use crate::check::Mode;
use chrono::{DateTime, NaiveDate, Utc};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::{SiteId, UnitId};
use edge::auth::secret;
use edge::clock::Clock;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use store::{Cond, Item, Key, MAX_TRANSACTION_ACTIONS, Query, SkRange, Store, StoreError, WriteOp, gate, keys};
// Tokio's clock, which the rush benchmark may pause (tests/benches/rush.rs).
use tokio::time::Instant;

/// How long a worker waits for the queue before applying its chunk itself (a holder that
/// died frees the day sooner: [`LEASE_SECONDS`]).
const PATIENCE: Duration = Duration::from_secs(8);

/// A holder never keeps the day longer than this, well within its lease.
const HOLD: Duration = Duration::from_secs(2);

/// The lease's life, in seconds (a holder that dies frees the day after it).
const LEASE_SECONDS: i64 = 5;

/// A holder starts no round within this many seconds of its lease's end.
const LEASE_MARGIN_SECONDS: i64 = 2;

/// Rounds in a row refused by the day's counters or another transaction before a round hands
/// its chunks back.
const MAX_STALLED_ROUNDS: u32 = 3;

/// Failures in a row of the rounds a worker ran for others before it applies its own chunk.
const MAX_HOLD_FAILURES: u32 = 2;

/// Chunks a round reads at most.
const ROUND: usize = 32;

/// Lines a chunk has at most to go through the queue (so that several share a transaction).
const MAX_LINES: usize = 12;

/// What a queue entry names: the chunk, whose plan and progress the holder reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    owner: Owner,
    chunk: usize,
    /// The unit-days with places its lines take (their counters are read with the chunk).
    #[serde(default)]
    counters: Vec<(UnitId, SiteId)>,
}

/// How a chunk sent through the queue ended.
#[derive(Debug)]
pub(super) enum Through {
    /// Applied (by a holder, possibly this worker): the progress after it.
    Applied(Progress),
    /// Handed back, or not applied within [`PATIENCE`]: the worker applies it itself.
    Solo,
}

/// The day a chunk is queued on, when it goes through a queue: a guardian's additions (nothing
/// freed, nothing cancelled), all on one day, at least one on a unit with places and a waiting
/// list, at most [`MAX_LINES`] of them still to apply.
pub(super) fn day_of(town: &Town, mode: Mode, chunk: &Chunk, progress: &Progress) -> Option<NaiveDate> {
    if mode != Mode::Guardian {
        return None;
    }
    let effects: Vec<_> = chunk
        .lines
        .iter()
        .enumerate()
        .filter_map(|(offset, p)| effective(p, progress, chunk.first + offset).map(|e| (p, e)))
        .collect();
    let (first, _) = effects.first()?;
    let date = first.line.date;
    let additions = effects
        .iter()
        .all(|(p, e)| p.line.action == ActionKind::Add && p.line.date == date && e.places >= 0 && e.waiting >= 0);
    let busy = effects
        .iter()
        .any(|(_, e)| town.unit(&e.booking.unit).is_some_and(|(_, u)| u.waiting_list && u.capacity.is_some()));
    (additions && busy && effects.len() <= MAX_LINES).then_some(date)
}

/// The days whose waiting list the chunk's lines joined as `progress` has them applied, and
/// whether the line was turned into a request by the queue (a place may be free there).
pub(super) fn joined(
    town: &Town,
    chunk: &Chunk,
    progress: &Progress,
    now: DateTime<Utc>,
) -> Vec<(UnitId, SiteId, NaiveDate, bool)> {
    let mut out = BTreeMap::new();
    for (offset, p) in chunk.lines.iter().enumerate() {
        let index = chunk.first + offset;
        let Some(e) = effective(p, progress, index) else { continue };
        if e.waiting <= 0 {
            continue;
        }
        let b = &e.booking;
        let converted = progress.queued.contains(&index)
            && services::operations::promote_op(town, &b.unit, &b.site, b.date, now).is_some();
        let seen: &mut bool = out.entry((b.unit.clone(), b.site.clone(), b.date)).or_default();
        *seen |= converted;
    }
    out.into_iter().map(|((u, s, d), c)| (u, s, d, c)).collect()
}

/// Sends chunk `n` of `owner`'s validation through `date`'s queue and waits until it is
/// applied or handed back, or until [`PATIENCE`] or the request's `deadline` has passed;
/// while waiting, takes the day's lease whenever it is free and applies the queue itself.
#[allow(clippy::too_many_arguments, reason = "the chunk, whose it is, where, and until when")]
pub(super) async fn through(
    store: &Store,
    clock: &Clock,
    town: &Town,
    owner: &Owner,
    n: usize,
    date: NaiveDate,
    chunk: &Chunk,
    deadline: Instant,
) -> Result<Through, StoreError> {
    let counters = counted(town, chunk);
    // Arrival and leases are told by the wall clock (every Lambda's is synchronised), never by
    // the town's clock, which a test or a benchmark may set.
    let arrival = format!("{:020}#{}#{n:04}", Utc::now().timestamp_micros().max(0), owner.claim);
    let own = keys::day_queue_entry(town.id(), date, &arrival);
    let entry = Entry { owner: owner.clone(), chunk: n, counters: counters.into_iter().collect() };
    let item = Item::from_value(own.clone(), &entry)?.with_ttl(expiry(Utc::now()));
    // The entry written and the lease read at once: a worker alone on its day holds it at once.
    let lease = day_lease(town.id(), date);
    let (put, held) = tokio::join!(store.put(item, None), store.get(&lease));
    if let Err(e) = put {
        tracing::warn!(error = %e, %date, "a chunk not queued: applied by its own transaction");
        return Ok(Through::Solo);
    }
    // A lease that cannot be read is taken for held: its holder, or the next look, decides.
    let mut free = held.is_ok_and(|h| !h.is_some_and(|i| i.is_live(Utc::now().timestamp())));
    let give_up = (Instant::now() + PATIENCE).min(deadline);
    let mut lease_at = Instant::now();
    let mut failures = 0;
    let watched = [owner.progress(), owner.solo(n)];
    loop {
        if free || Instant::now() >= lease_at {
            // What goes wrong while serving others (their entries, the lease) is not this
            // validation's failure: its own chunk's fate is read below; after a second failure
            // in a row it is applied by its own transaction.
            match hold(store, clock, town, date, &own, free, give_up).await {
                Ok(Some(progress)) => return Ok(Through::Applied(progress)),
                Ok(None) => failures = 0,
                Err(e) => {
                    tracing::warn!(error = %e, %date, "a day queue's round failed; its chunks wait for the next");
                    failures += 1;
                }
            }
            free = false;
            lease_at = Instant::now() + jitter(50, 150);
        }
        let got = store.get_many(&watched).await?;
        let mut progress = Progress::default();
        let mut solo = false;
        for item in got {
            if item.key == watched[0] {
                progress = item.to_value()?;
            } else {
                solo = true;
            }
        }
        if progress.done > n || progress.aborted {
            return Ok(Through::Applied(progress));
        }
        if solo {
            return Ok(Through::Solo);
        }
        if failures >= MAX_HOLD_FAILURES || Instant::now() >= give_up {
            // Withdrawn first, so that no holder applies it later, unseen (a round removes the
            // entries it applies on the condition that they are still there).
            remove(store, &own).await?;
            return Ok(Through::Solo);
        }
        tokio::time::sleep(jitter(3, 9)).await;
    }
}

/// A random wait between `from` and `to` milliseconds.
pub(super) fn jitter(from: u64, to: u64) -> Duration {
    let random = u64::from_le_bytes(secret::id().as_bytes()[..8].try_into().unwrap_or([0; 8]));
    Duration::from_millis(from + random % (to - from + 1))
}

/// The lease on `date`'s queue: whoever holds it applies the queue.
pub fn day_lease(town: &domain::TownId, date: NaiveDate) -> Key {
    keys::lease(town, &format!("RUSH#{date}"))
}

/// Takes `date`'s lease if nobody holds it (`free`: just read so), and applies its queue until
/// it is empty or the holder's own entry `own` is settled: those behind it have workers of
/// their own, which take the lease in turn. The progress of the holder's chunk, if it applied it.
#[allow(clippy::too_many_arguments, reason = "the day, the holder's own entry, and until when")]
async fn hold(
    store: &Store,
    clock: &Clock,
    town: &Town,
    date: NaiveDate,
    own: &Key,
    free: bool,
    give_up: Instant,
) -> Result<Option<Progress>, StoreError> {
    let lease = day_lease(town.id(), date);
    let now = Utc::now().timestamp();
    // Read first: a refused conditional write costs a write unit, and many wait on a day.
    if !free && store.get(&lease).await?.is_some_and(|i| i.is_live(now)) {
        return Ok(None);
    }
    let nonce = secret::id();
    let until = now + LEASE_SECONDS;
    let mut item = Item::new(lease.clone()).with_ttl(until);
    item.attrs.insert("nonce".into(), serde_json::Value::from(nonce.clone()));
    match store.put(item, Some(Cond::NotExistsOrExpired { now })).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed | StoreError::Conflict) => return Ok(None),
        Err(e) => return Err(e),
    }
    let served = rounds(store, clock, town, date, own, until.min(give_up_wall(give_up))).await;
    match store.delete(&lease, Some(Cond::attr_equals("nonce", nonce))).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e),
    }
    served
}

/// `give_up` as a Unix second of the wall clock (a holder stops its rounds by it).
fn give_up_wall(give_up: Instant) -> i64 {
    let left = give_up.saturating_duration_since(Instant::now());
    Utc::now().timestamp() + i64::try_from(left.as_secs()).unwrap_or(i64::MAX / 2) + LEASE_MARGIN_SECONDS
}

/// Applies `date`'s queue round after round until it is empty or the holder's own entry is
/// settled, within [`HOLD`] and well before `until` (Unix seconds: its lease's end, or its
/// worker's patience); the progress of the holder's own chunk, if a round applied it.
async fn rounds(
    store: &Store,
    clock: &Clock,
    town: &Town,
    date: NaiveDate,
    own: &Key,
    until: i64,
) -> Result<Option<Progress>, StoreError> {
    let held = Instant::now();
    let query =
        Query::table(keys::day_queue(town.id(), date), SkRange::Prefix(keys::DAY_QUEUE_PREFIX.into())).limit(ROUND);
    let mut stalled = 0;
    while held.elapsed() < HOLD && Utc::now().timestamp() + LEASE_MARGIN_SECONDS < until {
        let page = store.query(&query).await?;
        // The holder's own entry gone from the queue (applied, or handed back, by another
        // holder): the ones behind it have workers of their own.
        let past = page.items.len() < ROUND || page.items.last().is_some_and(|i| i.key.sk > own.sk);
        if past && !page.items.iter().any(|i| &i.key == own) {
            return Ok(None);
        }
        // Counters that keep moving under the round (or that it keeps misjudging), or other
        // transactions that keep meeting it: its chunks go back to their workers.
        let give_back = stalled >= MAX_STALLED_ROUNDS;
        let done = round(store, clock, town, date, &page.items, own, give_back).await?;
        stalled = if done.stalled { stalled + 1 } else { 0 };
        if done.mine.is_some() || done.settled.contains(own) {
            return Ok(done.mine);
        }
    }
    Ok(None)
}

/// One chunk of a round: its entry, whose it is, and what it writes.
struct Member {
    entry: Key,
    owner: Owner,
    chunk: usize,
    /// The progress once applied (the lines the round turned into requests added).
    next: Progress,
    writes: Writes,
}

/// What a round decided from what it read.
#[derive(Default)]
struct Plan {
    /// Applied together, in the queue's order.
    members: Vec<Member>,
    /// Entries whose chunk is applied already, or gone: removed.
    stale: Vec<Key>,
    /// Handed back to their workers.
    handed_back: Vec<(Key, Owner, usize)>,
    /// Unit-days where a line was turned into a request (a place may be free there).
    converted: BTreeSet<(UnitId, SiteId)>,
}

/// The state of a unit-day's counter: places taken, requests waiting.
type Counts = BTreeMap<(UnitId, SiteId), (i64, i64)>;

/// Decides a round: each entry in order, its chunk applied as planned while its places fit and
/// nobody waits, its place-takers turned into requests on the waiting list otherwise (as
/// [`domain::basket::lost_race`] queues a guardian's lines), handed back when it cannot be
/// applied here; up to a transaction's actions.
fn decide(town: &Town, date: NaiveDate, read: Vec<(Key, Entry, Option<Chunk>, Progress)>, mut counts: Counts) -> Plan {
    let mut plan = Plan::default();
    // The items the round writes so far (a transaction names each once), and the day's check,
    // counters and promotion jobs it adds.
    let mut written: BTreeSet<Key> = BTreeSet::new();
    let mut actions = 0;
    let mut counters: BTreeSet<(UnitId, SiteId)> = BTreeSet::new();
    for (entry, e, chunk, progress) in read {
        if written.contains(&e.owner.progress()) {
            // The same chunk queued twice (a client's retry joined the validation): once is enough.
            plan.stale.push(entry);
            continue;
        }
        let Some(chunk) = chunk else {
            plan.stale.push(entry);
            continue;
        };
        if progress.done != e.chunk || progress.aborted {
            plan.stale.push(entry);
            continue;
        }
        // A worker whose configuration counts places on a unit this holder's does not (a
        // newer one, cached apart): its own transaction moves that counter, not this round.
        let ours = counted(town, &chunk);
        let unknown = e.counters.iter().any(|c| !ours.contains(c));
        if unknown || day_of(town, Mode::Guardian, &chunk, &progress) != Some(date) {
            plan.handed_back.push((entry, e.owner, e.chunk));
            continue;
        }
        let mut next = Progress { done: progress.done + 1, ..progress.clone() };
        let Ok(mut w) = writes(town.id(), &chunk, &next) else {
            plan.handed_back.push((entry, e.owner, e.chunk));
            continue;
        };
        let mut need: BTreeMap<(UnitId, SiteId), i64> = BTreeMap::new();
        for m in &w.moves {
            *need.entry((m.unit.clone(), m.site.clone())).or_default() += m.taken;
        }
        let mut turned = Vec::new();
        let mut back = false;
        for ((unit, site), n) in &need {
            let Some((_, u)) = town.unit(unit) else { continue };
            let Some(capacity) = u.capacity else { continue };
            let (taken, waiting) = counts.get(&(unit.clone(), site.clone())).copied().unwrap_or_default();
            let fits = taken + n <= i64::from(capacity) && !(u.waiting_list && waiting > 0);
            if *n <= 0 || fits {
                continue;
            }
            if !u.waiting_list {
                back = true;
                break;
            }
            turned.push((unit.clone(), site.clone()));
        }
        if back {
            plan.handed_back.push((entry, e.owner, e.chunk));
            continue;
        }
        if !turned.is_empty() {
            for (offset, p) in chunk.lines.iter().enumerate() {
                let index = chunk.first + offset;
                let on = p.effect.as_ref().is_some_and(|e| {
                    e.places > 0 && turned.contains(&(e.booking.unit.clone(), e.booking.site.clone()))
                });
                if on {
                    next.queued.insert(index);
                }
            }
            let Ok(queued) = writes(town.id(), &chunk, &next) else {
                plan.handed_back.push((entry, e.owner, e.chunk));
                continue;
            };
            w = queued;
        }
        // Its progress, its entry removed, its bookings; a booking another chunk of the round
        // writes waits for the next round (which finds it changed).
        let keys: Vec<Key> = w.ops.iter().map(|op| op.key().clone()).collect();
        if keys.iter().any(|k| written.contains(k)) {
            break;
        }
        let mut after = counters.clone();
        after.extend(
            w.moves
                .iter()
                .filter(|m| town.unit(&m.unit).is_some_and(|(_, u)| u.capacity.is_some()))
                .map(|m| (m.unit.clone(), m.site.clone())),
        );
        // The day's check, then a counter and possibly a promotion job per unit-day.
        let guards = 1 + 2 * after.len();
        if actions + 2 + w.ops.len() + guards > MAX_TRANSACTION_ACTIONS {
            break;
        }
        actions += 2 + w.ops.len();
        counters = after;
        written.extend(keys);
        written.insert(e.owner.progress());
        for m in &w.moves {
            let Some((_, u)) = town.unit(&m.unit) else { continue };
            if u.capacity.is_none() {
                continue;
            }
            let c = counts.entry((m.unit.clone(), m.site.clone())).or_default();
            c.0 += m.taken;
            if u.waiting_list {
                c.1 += m.waiting;
            }
        }
        for (offset, p) in chunk.lines.iter().enumerate() {
            if next.queued.contains(&(chunk.first + offset))
                && let Some(e) = &p.effect
            {
                plan.converted.insert((e.booking.unit.clone(), e.booking.site.clone()));
            }
        }
        plan.members.push(Member { entry, owner: e.owner, chunk: e.chunk, next, writes: w });
    }
    plan
}

/// Who an action of a round's transaction is for.
enum For {
    Progress,
    Booking,
    Entry,
    Day,
    Counter,
    Job,
}

/// What a round settled: the entries applied, stale or handed back, the progress of the
/// holder's own chunk if the round applied it, and whether it stalled (refused by the day's
/// counters, or meeting another transaction).
#[derive(Default)]
struct Settled {
    settled: Vec<Key>,
    mine: Option<Progress>,
    stalled: bool,
}

impl Settled {
    /// Removes an entry the round settled without applying it (stale, or unreadable).
    async fn remove(&mut self, store: &Store, entry: &Key) -> Result<(), StoreError> {
        remove(store, entry).await?;
        self.settled.push(entry.clone());
        Ok(())
    }

    /// Tells chunk `n`'s worker to apply it itself, and removes its entry.
    async fn hand_back(
        &mut self,
        store: &Store,
        entry: &Key,
        owner: &Owner,
        n: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        store.put(Item::new(owner.solo(n)).with_ttl(expiry(now)), None).await?;
        self.remove(store, entry).await
    }
}

/// The unit-days with places whose counters `chunk`'s lines move, as `town` has its units.
fn counted(town: &Town, chunk: &Chunk) -> BTreeSet<(UnitId, SiteId)> {
    chunk
        .lines
        .iter()
        .filter_map(|p| p.effect.as_ref())
        .filter(|e| town.unit(&e.booking.unit).is_some_and(|(_, u)| u.capacity.is_some()))
        .map(|e| (e.booking.unit.clone(), e.booking.site.clone()))
        .collect()
}

/// Reads `keys` in batches (a batch read takes 100 keys at most).
async fn read_all(store: &Store, keys: &[Key], into: &mut HashMap<Key, Item>) -> Result<(), StoreError> {
    for batch in keys.chunks(100) {
        for item in store.get_many(batch).await? {
            into.insert(item.key.clone(), item);
        }
    }
    Ok(())
}

/// Removes an entry some round settled; one removed meanwhile by another holder is settled too.
async fn remove(store: &Store, entry: &Key) -> Result<(), StoreError> {
    match store.delete(entry, None).await {
        Ok(()) | Err(StoreError::ConditionFailed | StoreError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}

/// One round: reads the entries' chunks and progress and the day's counters, decides, and
/// applies the members in one transaction (or, `give_back`, hands them back).
async fn round(
    store: &Store,
    clock: &Clock,
    town: &Town,
    date: NaiveDate,
    items: &[Item],
    own: &Key,
    give_back: bool,
) -> Result<Settled, StoreError> {
    let prepared = prepare(store, clock, town, date, items, give_back).await?;
    commit(store, clock, town, date, prepared, own).await
}

/// A round decided, its transaction built, not applied yet.
struct Prepared {
    out: Settled,
    plan: Plan,
    ops: Vec<WriteOp>,
    whose: Vec<(For, usize)>,
}

/// A round's reads and decisions: stale entries removed, chunks it cannot apply handed back,
/// the members' transaction built.
async fn prepare(
    store: &Store,
    clock: &Clock,
    town: &Town,
    date: NaiveDate,
    items: &[Item],
    give_back: bool,
) -> Result<Prepared, StoreError> {
    let now = clock.now();
    let mut out = Settled::default();
    let mut entries = Vec::new();
    for item in items {
        match item.to_value::<Entry>() {
            Ok(e) if e.owner.town == *town.id() => entries.push((item.key.clone(), e)),
            // Not an entry this holder can read (or another town's): removed; its worker goes
            // solo once its patience is over.
            _ => out.remove(store, &item.key).await?,
        }
    }
    let mut wanted: Vec<Key> = Vec::new();
    for (_, e) in &entries {
        wanted.extend([e.owner.chunk(e.chunk), e.owner.progress()]);
    }
    let mut counters: BTreeSet<(UnitId, SiteId)> =
        entries.iter().flat_map(|(_, e)| e.counters.iter().cloned()).collect();
    let mut distinct = BTreeSet::new();
    wanted.retain(|k| distinct.insert(k.clone()));
    wanted.extend(counters.iter().map(|(u, s)| keys::capacity(town.id(), u, s, date)));
    let mut got: HashMap<Key, Item> = HashMap::new();
    read_all(store, &wanted, &mut got).await?;
    let mut read = Vec::new();
    for (key, e) in entries {
        let chunk = got.get(&e.owner.chunk(e.chunk)).map(Item::to_value::<Chunk>).transpose();
        let progress = got.get(&e.owner.progress()).map(Item::to_value::<Progress>).transpose();
        match (chunk, progress) {
            (Ok(chunk), Ok(progress)) => read.push((key, e, chunk, progress.unwrap_or_default())),
            // A record this version cannot read: its worker applies its chunk the ordinary way.
            _ => out.hand_back(store, &key, &e.owner, e.chunk, now).await?,
        }
    }
    // The counters the chunks move as this holder's configuration has it (a worker's cached
    // one may have known fewer units with places): the missing ones read too.
    let moved: BTreeSet<(UnitId, SiteId)> =
        read.iter().filter_map(|(_, _, chunk, _)| chunk.as_ref()).flat_map(|c| counted(town, c)).collect();
    let missing: Vec<Key> = moved.difference(&counters).map(|(u, s)| keys::capacity(town.id(), u, s, date)).collect();
    read_all(store, &missing, &mut got).await?;
    counters.extend(moved);
    let attr = |i: &Item, n: &str| i.attrs.get(n).and_then(serde_json::Value::as_i64);
    let as_read: BTreeMap<(UnitId, SiteId), gate::Read> = counters
        .into_iter()
        .map(|(u, s)| {
            let item = got.get(&keys::capacity(town.id(), &u, &s, date));
            ((u, s), item.map(|i| (attr(i, "taken"), attr(i, "waiting"))))
        })
        .collect();
    let counts: Counts =
        as_read.iter().map(|(c, r)| (c.clone(), r.map_or((0, 0), |(t, w)| (t.unwrap_or(0), w.unwrap_or(0))))).collect();
    let mut plan = decide(town, date, read, counts);
    if give_back {
        let members = std::mem::take(&mut plan.members);
        plan.handed_back.extend(members.into_iter().map(|m| (m.entry, m.owner, m.chunk)));
    }
    for k in &plan.stale {
        out.remove(store, k).await?;
    }
    for (k, owner, n) in &plan.handed_back {
        out.hand_back(store, k, owner, *n, now).await?;
    }
    let mut ops = Vec::new();
    let mut whose: Vec<(For, usize)> = Vec::new();
    let mut moves = Vec::new();
    for (i, m) in plan.members.iter().enumerate() {
        ops.push(m.owner.progress_op(m.chunk, &m.next, now)?);
        whose.push((For::Progress, i));
        // Still queued: a worker that stopped waiting withdrew it (and applies its own chunk).
        ops.push(WriteOp::Delete { key: m.entry.clone(), cond: Some(Cond::Exists) });
        whose.push((For::Entry, i));
        for op in &m.writes.ops {
            ops.push(op.clone());
            whose.push((For::Booking, i));
        }
        moves.extend(m.writes.moves.iter().cloned());
    }
    for g in gate::guards(town, &moves, gate::Arrival::Newcomer) {
        let (kind, op) = match (g.what, g.op) {
            (gate::Guarded::Open { .. }, op) => (For::Day, op),
            (gate::Guarded::Counter { unit, site, .. }, WriteOp::Counters { key, add, cond }) => {
                // A line turned into a request relied on the counter as read (full, or someone
                // waiting): a place freed since makes the round read it again, as the ordinary
                // path's newcomer would have taken it.
                let Some(read) = as_read.get(&(unit.clone(), site.clone())).cloned() else {
                    return Err(StoreError::Corrupt(format!("a round moves {unit}'s counter, not read")));
                };
                let cond = match gate::still_turning_away(read).filter(|_| plan.converted.contains(&(unit, site))) {
                    Some(relied) => Some(and(cond, relied)),
                    None => cond,
                };
                (For::Counter, WriteOp::Counters { key, add, cond })
            }
            (gate::Guarded::Counter { .. }, op) => (For::Counter, op),
        };
        ops.push(op);
        whose.push((kind, 0));
    }
    for (unit, site) in &plan.converted {
        if let Some(op) = services::operations::promote_op(town, unit, site, date, now) {
            ops.push(op);
            whose.push((For::Job, 0));
        }
    }
    Ok(Prepared { out, plan, ops, whose })
}

/// Applies a prepared round, and reads its failure: the chunks to hand back, or to try again.
async fn commit(
    store: &Store,
    clock: &Clock,
    town: &Town,
    date: NaiveDate,
    prepared: Prepared,
    own: &Key,
) -> Result<Settled, StoreError> {
    let Prepared { mut out, plan, ops, whose } = prepared;
    if plan.members.is_empty() {
        return Ok(out);
    }
    let now = clock.now();
    match store.transact(ops).await {
        Ok(()) => {
            out.settled.extend(plan.members.iter().map(|m| m.entry.clone()));
            out.mine = plan.members.iter().find(|m| &m.entry == own).map(|m| m.next.clone());
        }
        Err(StoreError::TransactionCanceled { index, .. }) => match whose.get(index) {
            // Applied meanwhile by its worker: the next round finds the entry stale.
            Some((For::Progress, _)) => {}
            // Its booking changed since it was planned: its worker applies what is left.
            Some((For::Booking, i)) => {
                let m = &plan.members[*i];
                out.hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
            }
            // The day closed for some activity: the chunks it closes are handed back, each told
            // so by its own transaction; the others are tried again (reopened meanwhile: all).
            Some((For::Day, _)) => {
                let marks = store.get(&keys::day(town.id(), date)).await?;
                for m in &plan.members {
                    let mut closed = false;
                    for a in m.writes.moves.iter().map(|mv| &mv.activity).collect::<BTreeSet<_>>() {
                        closed |= marks.as_ref().is_some_and(|day| gate::closes(day, a));
                    }
                    if closed {
                        out.hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
                    }
                }
            }
            // The counters moved since they were read (a cancellation, a promotion, a chunk
            // applied by its own worker): the next round reads them again.
            Some((For::Counter, _)) => out.stalled = true,
            // An entry withdrawn by its worker, gone solo: the next round goes without it.
            Some((For::Entry, _)) => {}
            // Unconditional actions cannot fail; whatever did, the workers apply their own.
            Some((For::Job, _)) | None => {
                tracing::error!(index, "a day queue's round failed on an unconditional action");
                for m in &plan.members {
                    out.hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
                }
            }
        },
        // Another transaction on the day (a cancellation, a chunk applied by its worker).
        Err(StoreError::Conflict) => {
            out.stalled = true;
            tokio::time::sleep(jitter(1, 8)).await;
        }
        // A transaction the store will not take (it should not happen: the round checks its
        // actions): the workers apply their own chunks rather than fail.
        Err(StoreError::Invalid(why)) => {
            tracing::error!(%why, "a day queue's round refused as invalid");
            for m in &plan.members {
                out.hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
            }
        }
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Both conditions.
fn and(a: Option<Cond>, b: Cond) -> Cond {
    match a {
        Some(Cond::All(mut all)) => {
            all.push(b);
            Cond::All(all)
        }
        Some(a) => Cond::All(vec![a, b]),
        None => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Line;
    use crate::engine::stored::Planned;
    use domain::basket::Effect;
    use domain::booking::BookingStatus;
    use domain::testkit::{booking, d, town};

    fn wednesday() -> NaiveDate {
        d(2026, 12, 16)
    }

    /// Family `n`'s chunk 0: `children` additions to the Wednesday centre (1 place, waiting list).
    fn queued(n: usize, children: usize) -> (Key, Entry, Option<Chunk>, Progress) {
        let owner = Owner {
            town: town().id().clone(),
            family: domain::FamilyRef::parse(&format!("famille{n}")).unwrap(),
            key: format!("cle-{n}"),
            claim: format!("claim-{n}"),
        };
        let lines = (0..children)
            .map(|c| {
                let mut b = booking("alsh-mercredi", wednesday(), BookingStatus::Confirmed, 1200);
                b.child = domain::ChildId::parse(&format!("enfant{n}-{c}")).unwrap();
                let line =
                    Line { child: b.child.clone(), unit: b.unit.clone(), date: wednesday(), action: ActionKind::Add };
                let effect = Effect {
                    booking: b,
                    expected_version: None,
                    places: 1,
                    waiting: 0,
                    capacity: Some(1),
                    price: domain::Cents::new(1200).unwrap(),
                    late: false,
                };
                Planned { line, effect: Some(effect), refusal: None }
            })
            .collect();
        let entry = Entry {
            owner,
            chunk: 0,
            counters: vec![(
                domain::UnitId::parse("alsh-mercredi").unwrap(),
                domain::SiteId::parse("ecole-a").unwrap(),
            )],
        };
        let key = keys::day_queue_entry(town().id(), wednesday(), &format!("{n:020}"));
        (key, entry, Some(Chunk { first: 0, lines }), Progress::default())
    }

    fn centre() -> (UnitId, SiteId) {
        (UnitId::parse("alsh-mercredi").unwrap(), SiteId::parse("ecole-a").unwrap())
    }

    /// What each member's lines became: `true` for a place, `false` for the waiting list.
    fn placed(plan: &Plan) -> Vec<Vec<bool>> {
        plan.members.iter().map(|m| m.writes.moves.iter().map(|mv| mv.taken > 0).collect()).collect()
    }

    #[test]
    fn a_round_places_chunks_in_order_of_arrival_then_queues_the_rest() {
        let plan = decide(&town(), wednesday(), vec![queued(0, 1), queued(1, 1), queued(2, 1)], Counts::new());
        assert_eq!(placed(&plan), vec![vec![true], vec![false], vec![false]]);
        assert_eq!(plan.members[1].next.queued, BTreeSet::from([0]), "turned into a request, as lost_race queues it");
        assert!(plan.members.iter().all(|m| m.next.done == 1));
        assert!(plan.converted.contains(&centre()), "a request made on a day the promoter looks at");
    }

    #[test]
    fn once_someone_waits_a_later_chunk_waits_even_with_a_place_free() {
        let counts = Counts::from([(centre(), (0, 1))]);
        let plan = decide(&town(), wednesday(), vec![queued(0, 1)], counts);
        assert_eq!(placed(&plan), vec![vec![false]]);
    }

    #[test]
    fn a_chunk_wanting_more_places_than_are_left_waits_whole_and_those_after_it_too() {
        let mut town = town();
        let config = town.config().clone();
        let mut v = serde_json::to_value(&config).unwrap();
        v["activities"][1]["units"][0]["capacity"] = 2.into();
        town = Town::parse(v.to_string().as_bytes()).unwrap();
        let counts = Counts::from([(centre(), (1, 0))]);
        let plan = decide(&town, wednesday(), vec![queued(0, 2), queued(1, 1)], counts);
        assert_eq!(placed(&plan), vec![vec![false, false], vec![false]], "nobody overtakes the family that waits");
    }

    #[test]
    fn a_chunk_applied_already_or_queued_twice_is_stale_and_an_aborted_one_too() {
        let mut done = queued(0, 1);
        done.3.done = 1;
        let twice = queued(1, 1);
        let mut again = twice.clone();
        again.0 = keys::day_queue_entry(town().id(), wednesday(), "again");
        let mut aborted = queued(2, 1);
        aborted.3.aborted = true;
        let gone = (queued(3, 1).0, queued(3, 1).1, None, Progress::default());
        let plan = decide(
            &town(),
            wednesday(),
            vec![done.clone(), twice, again.clone(), aborted.clone(), gone.clone()],
            Counts::new(),
        );
        assert_eq!(plan.members.len(), 1);
        assert_eq!(plan.stale, vec![done.0, again.0, aborted.0, gone.0]);
    }

    #[test]
    fn a_chunk_of_another_day_or_with_a_cancellation_is_handed_back() {
        let mut other = queued(0, 1);
        other.2.as_mut().unwrap().lines[0].line.date = d(2026, 12, 23);
        other.2.as_mut().unwrap().lines[0].effect.as_mut().unwrap().booking.date = d(2026, 12, 23);
        let mut cancel = queued(1, 1);
        cancel.2.as_mut().unwrap().lines[0].line.action = ActionKind::Cancel;
        let plan = decide(&town(), wednesday(), vec![other, cancel, queued(2, 1)], Counts::new());
        assert_eq!(plan.handed_back.len(), 2);
        assert_eq!(placed(&plan), vec![vec![true]]);
    }

    #[test]
    fn a_round_fits_one_transaction_and_stops_before_a_booking_it_already_writes() {
        let many: Vec<_> = (0..60).map(|n| queued(n, 1)).collect();
        let plan = decide(&town(), wednesday(), many, Counts::new());
        let actions: usize = plan.members.iter().map(|m| 2 + m.writes.ops.len()).sum();
        assert!(actions + 3 <= MAX_TRANSACTION_ACTIONS, "{actions} actions and the guards");
        assert!(plan.members.len() >= 30, "{} chunks in a round", plan.members.len());

        // Two validations of one family booking the same child's day: the second waits.
        let first = queued(0, 1);
        let mut second = queued(1, 1);
        second.2 = first.2.clone();
        let plan = decide(&town(), wednesday(), vec![first, second, queued(2, 1)], Counts::new());
        assert_eq!(plan.members.len(), 1, "the round stops there, in order");
    }

    fn attr(item: &Item, name: &str) -> i64 {
        item.attrs.get(name).and_then(serde_json::Value::as_i64).unwrap_or(0)
    }

    /// A store in memory and the town's clock, for a round played by hand.
    fn memory() -> (Store, Clock) {
        let store = Store::embedded(store::embedded::EmbeddedStore::in_memory().unwrap());
        (store, Clock::manual(domain::testkit::at(2026, 12, 1, 9, 0)))
    }

    /// The Wednesday centre's counter, and a move of `attr` by `by` on it.
    fn counter() -> Key {
        let (unit, site) = centre();
        keys::capacity(town().id(), &unit, &site, wednesday())
    }

    fn moved(attr: &str, by: i64) -> WriteOp {
        WriteOp::Counters { key: counter(), add: vec![(attr.into(), by)], cond: None }
    }

    /// Stores `entry`'s chunk (`chunk`, or `None` when the test stores its own) and the entry,
    /// and reads the entry back as a round's query does.
    async fn enqueue(store: &Store, key: &Key, entry: &Entry, chunk: Option<&Chunk>) -> Item {
        if let Some(chunk) = chunk {
            store.put(Item::from_value(entry.owner.chunk(entry.chunk), chunk).unwrap(), None).await.unwrap();
        }
        store.put(Item::from_value(key.clone(), entry).unwrap(), None).await.unwrap();
        store.get(key).await.unwrap().unwrap()
    }

    /// The holder reads a full day and turns the family's addition into a request; a place is
    /// freed before its transaction. The round is refused (it relied on the day being full),
    /// and the next one gives the family the place, as its own transaction would have.
    #[tokio::test]
    async fn a_place_freed_between_a_rounds_read_and_its_transaction_goes_to_the_family() {
        let (store, clock) = memory();
        let town = town();
        store.transact(vec![moved("taken", 1)]).await.unwrap();
        let (entry_key, entry, chunk, _) = queued(0, 1);
        let chunk = chunk.unwrap();
        let items = vec![enqueue(&store, &entry_key, &entry, Some(&chunk)).await];

        let prepared = prepare(&store, &clock, &town, wednesday(), &items, false).await.unwrap();
        assert_eq!(placed(&prepared.plan), vec![vec![false]], "read full: the addition would wait");
        store.transact(vec![moved("taken", -1)]).await.unwrap();
        let done = commit(&store, &clock, &town, wednesday(), prepared, &entry_key).await.unwrap();
        assert!(done.stalled && done.settled.is_empty(), "the round relied on a full day");

        let items = vec![store.get(&entry_key).await.unwrap().unwrap()];
        let done = round(&store, &clock, &town, wednesday(), &items, &entry_key, false).await.unwrap();
        let progress = done.mine.expect("applied by the next round");
        assert!(progress.queued.is_empty(), "placed, not on the waiting list");
        let b = &chunk.lines[0].effect.as_ref().unwrap().booking;
        let stored: domain::booking::Booking = store
            .get(&keys::booking(town.id(), &b.child, wednesday(), &b.unit))
            .await
            .unwrap()
            .unwrap()
            .to_value()
            .unwrap();
        assert!(stored.holds_place() && !stored.waiting_list);
        let c = store.get(&counter()).await.unwrap().unwrap();
        assert_eq!((attr(&c, "taken"), attr(&c, "waiting")), (1, 0));
        assert!(store.get(&entry_key).await.unwrap().is_none(), "the entry is gone with the round");
    }

    /// A worker's cached configuration knew no places on the unit (its entry names no
    /// counter): the holder reads the counter its own configuration says the chunk moves, and
    /// the full day puts the family on the waiting list, instead of a round refused forever.
    #[tokio::test]
    async fn the_holder_reads_every_counter_its_configuration_says_a_chunk_moves() {
        let (store, clock) = memory();
        let town = town();
        store.transact(vec![moved("taken", 1)]).await.unwrap();
        let (entry_key, mut entry, chunk, _) = queued(0, 1);
        entry.counters.clear();
        let items = vec![enqueue(&store, &entry_key, &entry, chunk.as_ref()).await];
        let done = round(&store, &clock, &town, wednesday(), &items, &entry_key, false).await.unwrap();
        let progress = done.mine.expect("applied");
        assert_eq!(progress.queued, BTreeSet::from([0]), "on the waiting list");
        let c = store.get(&counter()).await.unwrap().unwrap();
        assert_eq!((attr(&c, "taken"), attr(&c, "waiting")), (1, 1));
    }

    /// A chunk the holder cannot read (a record of another version, during a deployment) is
    /// handed back to its worker: the round goes on, nobody is answered an error.
    #[tokio::test]
    async fn a_chunk_the_holder_cannot_read_is_handed_back_not_an_error() {
        let (store, clock) = memory();
        let town = town();
        let (entry_key, entry, _, _) = queued(0, 1);
        let mut unreadable = Item::new(entry.owner.chunk(0));
        unreadable.attrs.insert("lines".into(), "not a list of lines".into());
        store.put(unreadable, None).await.unwrap();
        let (other_key, other, other_chunk, _) = queued(1, 1);
        let items = vec![
            enqueue(&store, &entry_key, &entry, None).await,
            enqueue(&store, &other_key, &other, other_chunk.as_ref()).await,
        ];
        let done = round(&store, &clock, &town, wednesday(), &items, &other_key, false).await.unwrap();
        assert!(done.settled.contains(&entry_key));
        assert!(store.get(&entry.owner.solo(0)).await.unwrap().is_some(), "its worker is told to apply it");
        assert!(done.mine.is_some(), "the other family's chunk applied");
    }

    #[test]
    fn a_chunk_whose_worker_counts_places_the_holder_does_not_is_handed_back() {
        let mut newer = queued(0, 1);
        newer.1.counters.push((UnitId::parse("cantine").unwrap(), SiteId::parse("ecole-a").unwrap()));
        let plan = decide(&town(), wednesday(), vec![newer, queued(1, 1)], Counts::new());
        assert_eq!(plan.handed_back.len(), 1);
        assert_eq!(placed(&plan), vec![vec![true]]);
    }

    /// What the round relied on still holds when others join the waiting list or take places
    /// meanwhile: the round is applied, not refused.
    #[tokio::test]
    async fn others_joining_the_queue_meanwhile_do_not_refuse_a_round_that_turned_a_family_away() {
        let (store, clock) = memory();
        let town = town();
        store.transact(vec![moved("taken", 1)]).await.unwrap();
        let (entry_key, entry, chunk, _) = queued(0, 1);
        let items = vec![enqueue(&store, &entry_key, &entry, chunk.as_ref()).await];
        let prepared = prepare(&store, &clock, &town, wednesday(), &items, false).await.unwrap();
        store.transact(vec![moved("waiting", 1)]).await.unwrap();
        let done = commit(&store, &clock, &town, wednesday(), prepared, &entry_key).await.unwrap();
        assert!(!done.stalled);
        assert_eq!(done.mine.expect("applied").queued, BTreeSet::from([0]));
        let c = store.get(&counter()).await.unwrap().unwrap();
        assert_eq!((attr(&c, "taken"), attr(&c, "waiting")), (1, 2));
    }

    /// After rounds stalled in a row, a round hands its chunks back rather than trying again:
    /// each is marked for its worker and leaves the queue; nothing is written for them.
    #[tokio::test]
    async fn a_round_after_stalled_ones_hands_its_chunks_back() {
        let (store, clock) = memory();
        let town = town();
        let mut items = Vec::new();
        let mut owners = Vec::new();
        for n in 0..2 {
            let (entry_key, entry, chunk, _) = queued(n, 1);
            items.push(enqueue(&store, &entry_key, &entry, chunk.as_ref()).await);
            owners.push(entry.owner);
        }
        let own = items[0].key.clone();
        let done = round(&store, &clock, &town, wednesday(), &items, &own, true).await.unwrap();
        assert!(done.mine.is_none() && done.settled.len() == 2);
        for (item, owner) in items.iter().zip(&owners) {
            assert!(store.get(&item.key).await.unwrap().is_none(), "out of the queue");
            assert!(store.get(&owner.solo(0)).await.unwrap().is_some(), "handed back");
            assert!(store.get(&owner.progress()).await.unwrap().is_none(), "nothing applied");
        }
    }
}
