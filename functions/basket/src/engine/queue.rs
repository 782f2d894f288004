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
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
// Tokio's clock, which the rush benchmark may pause (tests/benches/rush.rs).
use store::{Cond, Item, Key, MAX_TRANSACTION_ACTIONS, Query, SkRange, Store, StoreError, WriteOp, gate, keys};
use tokio::time::Instant;

/// How long a worker waits for the queue before applying its chunk itself (a holder that
/// died frees the day sooner: [`LEASE_SECONDS`]).
const PATIENCE: Duration = Duration::from_secs(8);

/// A holder never keeps the day longer than this, well within its lease.
const HOLD: Duration = Duration::from_secs(2);

/// The lease's life, in seconds (a holder that dies frees the day after it).
const LEASE_SECONDS: i64 = 4;

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
/// applied or handed back; while waiting, takes the day's lease whenever it is free and
/// applies the queue itself.
pub(super) async fn through(
    store: &Store,
    town: &Town,
    owner: &Owner,
    n: usize,
    date: NaiveDate,
    chunk: &Chunk,
) -> Result<Through, StoreError> {
    let counters: BTreeSet<(UnitId, SiteId)> = chunk
        .lines
        .iter()
        .filter_map(|p| p.effect.as_ref())
        .filter(|e| town.unit(&e.booking.unit).is_some_and(|(_, u)| u.capacity.is_some()))
        .map(|e| (e.booking.unit.clone(), e.booking.site.clone()))
        .collect();
    let arrival = format!("{:020}#{}#{n:04}", Utc::now().timestamp_micros().max(0), owner.claim);
    let own = keys::day_queue_entry(town.id(), date, &arrival);
    let entry = Entry { owner: owner.clone(), chunk: n, counters: counters.into_iter().collect() };
    let item = Item::from_value(own.clone(), &entry)?.with_ttl(expiry(Utc::now()));
    // The entry written and the lease read at once: a worker alone on its day holds it at once.
    let lease = day_lease(town.id(), date);
    let (put, held) = tokio::join!(store.put(item, None), store.get(&lease));
    put?;
    let mut free = !held?.is_some_and(|i| i.is_live(Utc::now().timestamp()));
    let started = Instant::now();
    let mut lease_at = started;
    let watched = [owner.progress(), owner.solo(n)];
    loop {
        if free || Instant::now() >= lease_at {
            if let Some(progress) = hold(store, town, date, &own, free).await? {
                return Ok(Through::Applied(progress));
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
        if solo || started.elapsed() > PATIENCE {
            return Ok(Through::Solo);
        }
        tokio::time::sleep(jitter(3, 9)).await;
    }
}

/// A random wait between `from` and `to` milliseconds.
fn jitter(from: u64, to: u64) -> Duration {
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
async fn hold(
    store: &Store,
    town: &Town,
    date: NaiveDate,
    own: &Key,
    free: bool,
) -> Result<Option<Progress>, StoreError> {
    let lease = day_lease(town.id(), date);
    let mut read_first = !free;
    loop {
        let nonce = secret::id();
        let now = Utc::now().timestamp();
        // Read first: a refused conditional write costs a write unit, and many wait on a day.
        if read_first && store.get(&lease).await?.is_some_and(|i| i.is_live(now)) {
            return Ok(None);
        }
        read_first = true;
        let mut item = Item::new(lease.clone()).with_ttl(now + LEASE_SECONDS);
        item.attrs.insert("nonce".into(), serde_json::Value::from(nonce.clone()));
        match store.put(item, Some(Cond::NotExistsOrExpired { now })).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed | StoreError::Conflict) => return Ok(None),
            Err(e) => return Err(e),
        }
        let served = rounds(store, town, date, own).await;
        match store.delete(&lease, Some(Cond::attr_equals("nonce", nonce))).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        let (emptied, mine) = served?;
        if !emptied || mine.is_some() {
            return Ok(mine);
        }
        // Emptied without the holder's own chunk (applied or handed back meanwhile), or a chunk
        // queued after the last look whose worker found the lease held: look again, now that it
        // is free (its worker looks too; whoever is first holds it).
        let q = Query::table(keys::day_queue(town.id(), date), SkRange::Prefix(keys::DAY_QUEUE_PREFIX.into())).limit(1);
        if store.query(&q).await?.items.is_empty() {
            return Ok(None);
        }
    }
}

/// Applies `date`'s queue round after round, until it is empty (`true`) or the holder's own
/// entry is settled or its hold is over (`false`); the progress of the holder's own chunk, if
/// a round applied it.
async fn rounds(
    store: &Store,
    town: &Town,
    date: NaiveDate,
    own: &Key,
) -> Result<(bool, Option<Progress>), StoreError> {
    let held = Instant::now();
    let query =
        Query::table(keys::day_queue(town.id(), date), SkRange::Prefix(keys::DAY_QUEUE_PREFIX.into())).limit(ROUND);
    loop {
        if held.elapsed() > HOLD {
            return Ok((false, None));
        }
        let page = store.query(&query).await?;
        if page.items.is_empty() {
            return Ok((true, None));
        }
        let done = round(store, town, date, &page.items, own).await?;
        if done.mine.is_some() || done.settled.contains(own) {
            return Ok((false, done.mine));
        }
    }
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
fn decide(
    town: &Town,
    date: NaiveDate,
    read: Vec<(Key, Entry, Option<Chunk>, Progress)>,
    mut counts: Counts,
) -> Result<Plan, StoreError> {
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
        if day_of(town, Mode::Guardian, &chunk, &progress) != Some(date) {
            plan.handed_back.push((entry, e.owner, e.chunk));
            continue;
        }
        let mut next = Progress { done: progress.done + 1, ..progress.clone() };
        let mut w = writes(town.id(), &chunk, &next)?;
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
            w = writes(town.id(), &chunk, &next)?;
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
    Ok(plan)
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

/// What a round settled: the entries applied, stale or handed back, and the progress of the
/// holder's own chunk if the round applied it.
struct Settled {
    settled: Vec<Key>,
    mine: Option<Progress>,
}

/// One round: reads the entries' chunks and progress and the day's counters, decides, and
/// applies the members in one transaction.
async fn round(store: &Store, town: &Town, date: NaiveDate, items: &[Item], own: &Key) -> Result<Settled, StoreError> {
    let mut entries = Vec::new();
    let mut settled = Vec::new();
    for item in items {
        match item.to_value::<Entry>() {
            Ok(e) if e.owner.town == *town.id() => entries.push((item.key.clone(), e)),
            // Not an entry this town's holder can apply: removed, its worker applies it.
            _ => {
                store.delete(&item.key, None).await?;
                settled.push(item.key.clone());
            }
        }
    }
    let mut wanted: Vec<Key> = Vec::new();
    for (_, e) in &entries {
        wanted.extend([e.owner.chunk(e.chunk), e.owner.progress()]);
    }
    let counters: BTreeSet<(UnitId, SiteId)> = entries.iter().flat_map(|(_, e)| e.counters.iter().cloned()).collect();
    let counter_keys: Vec<Key> = counters.iter().map(|(u, s)| keys::capacity(town.id(), u, s, date)).collect();
    let mut distinct = BTreeSet::new();
    wanted.retain(|k| distinct.insert(k.clone()));
    wanted.extend(counter_keys.iter().cloned());
    let mut got: HashMap<Key, Item> = HashMap::new();
    for batch in wanted.chunks(100) {
        for item in store.get_many(batch).await? {
            got.insert(item.key.clone(), item);
        }
    }
    let mut counts = Counts::new();
    for ((u, s), k) in counters.iter().zip(&counter_keys) {
        let attr = |i: &Item, n: &str| i.attrs.get(n).and_then(serde_json::Value::as_i64).unwrap_or(0);
        if let Some(i) = got.get(k) {
            counts.insert((u.clone(), s.clone()), (attr(i, "taken"), attr(i, "waiting")));
        }
    }
    let mut read = Vec::new();
    for (key, e) in entries {
        let chunk = got.get(&e.owner.chunk(e.chunk)).map(Item::to_value::<Chunk>).transpose()?;
        let progress = got.get(&e.owner.progress()).map(Item::to_value::<Progress>).transpose()?.unwrap_or_default();
        read.push((key, e, chunk, progress));
    }
    let plan = decide(town, date, read, counts)?;
    let now = Utc::now();
    for k in &plan.stale {
        store.delete(k, None).await?;
        settled.push(k.clone());
    }
    for (k, owner, n) in &plan.handed_back {
        hand_back(store, k, owner, *n, now).await?;
        settled.push(k.clone());
    }
    if plan.members.is_empty() {
        return Ok(Settled { settled, mine: None });
    }
    let mut ops = Vec::new();
    let mut whose: Vec<(For, usize)> = Vec::new();
    let mut moves = Vec::new();
    for (i, m) in plan.members.iter().enumerate() {
        ops.push(m.owner.progress_op(m.chunk, &m.next, now)?);
        whose.push((For::Progress, i));
        ops.push(WriteOp::Delete { key: m.entry.clone(), cond: None });
        whose.push((For::Entry, i));
        for op in &m.writes.ops {
            ops.push(op.clone());
            whose.push((For::Booking, i));
        }
        moves.extend(m.writes.moves.iter().cloned());
    }
    for g in gate::guards(town, &moves, gate::Arrival::Newcomer) {
        let kind = match g.what {
            gate::Guarded::Open { .. } => For::Day,
            gate::Guarded::Counter { .. } => For::Counter,
        };
        ops.push(g.op);
        whose.push((kind, 0));
    }
    for (unit, site) in &plan.converted {
        if let Some(op) = services::operations::promote_op(town, unit, site, date, now) {
            ops.push(op);
            whose.push((For::Job, 0));
        }
    }
    match store.transact(ops).await {
        Ok(()) => {
            settled.extend(plan.members.iter().map(|m| m.entry.clone()));
            let mine = plan.members.iter().find(|m| &m.entry == own).map(|m| m.next.clone());
            return Ok(Settled { settled, mine });
        }
        Err(StoreError::TransactionCanceled { index, .. }) => match whose.get(index) {
            // Applied meanwhile by its worker: the next round finds the entry stale.
            Some((For::Progress, _)) => {}
            // Its booking changed since it was planned: its worker applies what is left.
            Some((For::Booking, i)) => {
                let m = &plan.members[*i];
                hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
                settled.push(m.entry.clone());
            }
            // The day closed: every chunk is handed back, each told so by its own transaction.
            Some((For::Day, _)) => {
                for m in &plan.members {
                    hand_back(store, &m.entry, &m.owner, m.chunk, now).await?;
                    settled.push(m.entry.clone());
                }
            }
            // The counters moved since they were read (a cancellation, a promotion, a chunk
            // applied by its own worker): the next round reads them again.
            Some((For::Counter, _)) => {}
            Some((For::Entry | For::Job, _)) | None => {
                return Err(StoreError::Corrupt(format!("action {index} of a day queue's round")));
            }
        },
        // Another transaction on the day (a cancellation, a chunk applied by its worker).
        Err(StoreError::Conflict) => tokio::time::sleep(jitter(1, 8)).await,
        Err(e) => return Err(e),
    }
    Ok(Settled { settled, mine: None })
}

/// Tells chunk `n`'s worker to apply it itself, and removes its entry.
async fn hand_back(store: &Store, entry: &Key, owner: &Owner, n: usize, now: DateTime<Utc>) -> Result<(), StoreError> {
    store.put(Item::new(owner.solo(n)).with_ttl(expiry(now)), None).await?;
    store.delete(entry, None).await
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
        let plan = decide(&town(), wednesday(), vec![queued(0, 1), queued(1, 1), queued(2, 1)], Counts::new()).unwrap();
        assert_eq!(placed(&plan), vec![vec![true], vec![false], vec![false]]);
        assert_eq!(plan.members[1].next.queued, BTreeSet::from([0]), "turned into a request, as lost_race queues it");
        assert!(plan.members.iter().all(|m| m.next.done == 1));
        assert!(plan.converted.contains(&centre()), "a request made on a day the promoter looks at");
    }

    #[test]
    fn once_someone_waits_a_later_chunk_waits_even_with_a_place_free() {
        let counts = Counts::from([(centre(), (0, 1))]);
        let plan = decide(&town(), wednesday(), vec![queued(0, 1)], counts).unwrap();
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
        let plan = decide(&town, wednesday(), vec![queued(0, 2), queued(1, 1)], counts).unwrap();
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
        )
        .unwrap();
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
        let plan = decide(&town(), wednesday(), vec![other, cancel, queued(2, 1)], Counts::new()).unwrap();
        assert_eq!(plan.handed_back.len(), 2);
        assert_eq!(placed(&plan), vec![vec![true]]);
    }

    #[test]
    fn a_round_fits_one_transaction_and_stops_before_a_booking_it_already_writes() {
        let many: Vec<_> = (0..60).map(|n| queued(n, 1)).collect();
        let plan = decide(&town(), wednesday(), many, Counts::new()).unwrap();
        let actions: usize = plan.members.iter().map(|m| 2 + m.writes.ops.len()).sum();
        assert!(actions + 3 <= MAX_TRANSACTION_ACTIONS, "{actions} actions and the guards");
        assert!(plan.members.len() >= 30, "{} chunks in a round", plan.members.len());

        // Two validations of one family booking the same child's day: the second waits.
        let first = queued(0, 1);
        let mut second = queued(1, 1);
        second.2 = first.2.clone();
        let plan = decide(&town(), wednesday(), vec![first, second, queued(2, 1)], Counts::new()).unwrap();
        assert_eq!(plan.members.len(), 1, "the round stops there, in order");
    }
}
