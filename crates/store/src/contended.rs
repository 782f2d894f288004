//! A test and benchmark backend: the embedded store behind DynamoDB's behaviour under
//! contention (docs/store.md, « The contended store »). The embedded backend serialises every
//! write and answers in microseconds, and moto holds one lock: neither ever conflicts, so a
//! rush played on them proves nothing about AWS. This one, from AWS's documentation of
//! transactions (« Transaction conflict handling ») and partitions:
//!
//! - a transaction holds each item it touches for as long as it is in flight; another
//!   transaction touching one of them is cancelled with `TransactionConflict`, and a single
//!   put, delete or update of a held item is refused the same way ([`StoreError::Conflict`]);
//! - each call takes a latency with jitter (the network and the service), which is the
//!   in-flight window of a transaction;
//! - each partition key takes at most 1,000 write units and 3,000 read units a second, the
//!   table a configurable total; a transactional write costs two units per item (one unit per
//!   KB); a call beyond the budget is throttled and retried as the SDK's standard retry mode
//!   does (three attempts, exponential backoff with full jitter from its initial backoff),
//!   then fails `Unavailable`.
//!
//! It counts what happened ([`Stats`]) for the rush benchmark.

use crate::embedded::EmbeddedStore;
use crate::{Cond, Item, Key, Page, Query, Result, StoreError, WriteOp};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
// Tokio's clock, so that a test with the clock paused sees the budgets refill as time advances.
use tokio::time::Instant;

/// How the model behaves; [`Contention::default`] is what the tests and the rush use.
#[derive(Debug, Clone)]
pub struct Contention {
    /// The fixed part of every call's latency.
    pub latency: Duration,
    /// Up to this much more, uniformly.
    pub jitter: Duration,
    /// Write units a second one partition key takes (DynamoDB: 1,000).
    pub key_write_units: f64,
    /// Read units a second one partition key takes (DynamoDB: 3,000).
    pub key_read_units: f64,
    /// Write units a second the whole table takes (an on-demand table starts at 4,000).
    pub table_write_units: f64,
    /// Attempts of a throttled call, the first included (the SDK's standard mode: 3).
    pub max_attempts: u32,
    /// The SDK's initial backoff (standard mode: 1 s; retry `n` waits up to `initial × 2ⁿ⁻¹`).
    pub initial_backoff: Duration,
}

impl Default for Contention {
    fn default() -> Contention {
        Contention {
            latency: Duration::from_millis(4),
            jitter: Duration::from_millis(4),
            key_write_units: 1000.0,
            key_read_units: 3000.0,
            table_write_units: 4000.0e3,
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// What the model did, since it was opened.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions (and single writes) cancelled because an item was held.
    pub conflicts: AtomicU64,
    /// Calls refused for throughput, each retry counted.
    pub throttles: AtomicU64,
    /// Calls that failed after every attempt was throttled.
    pub throttled_out: AtomicU64,
    /// Write units consumed, in tenths (a transactional write costs 2 a KB).
    pub write_tenths: AtomicU64,
    /// Throttles by partition key (what is hot), and by write or read.
    pub hot: Mutex<HashMap<(String, &'static str), u64>>,
}

impl Stats {
    /// The `n` partition keys throttled most, with their counts.
    pub fn hottest(&self, n: usize) -> Vec<(String, &'static str, u64)> {
        let hot = self.hot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<_> = hot.iter().map(|((pk, op), c)| (pk.clone(), *op, *c)).collect();
        all.sort_by_key(|x| std::cmp::Reverse(x.2));
        all.truncate(n);
        all
    }
}

/// A token bucket refilled at `rate` a second, holding at most one second's worth; it may go
/// below zero (a call is charged what it consumed), and a call is refused while it is.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, rate: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = now;
    }
}

#[derive(Debug, Default)]
struct Budgets {
    writes: HashMap<String, Bucket>,
    reads: HashMap<String, Bucket>,
    table: Option<Bucket>,
}

struct Model {
    settings: Contention,
    held: Mutex<HashSet<Key>>,
    budgets: Mutex<Budgets>,
    stats: Stats,
    seed: AtomicU64,
}

/// The embedded store, conflicting and throttled like DynamoDB.
#[derive(Clone)]
pub struct ContendedStore {
    inner: EmbeddedStore,
    model: std::sync::Arc<Model>,
}

/// Releases a transaction's items when it ends, however it ends.
struct Hold<'a> {
    model: &'a Model,
    keys: Vec<Key>,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut held = self.model.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in &self.keys {
            held.remove(k);
        }
    }
}

/// What a key is, for the statistics: its kind, or its partition key.
fn kind_of(key: &Key) -> String {
    crate::schema::Kind::of(key).map_or_else(|| key.pk.clone(), |k| k.name().to_owned())
}

/// The units an item costs: one per KB started (at least one).
fn units(item_bytes: usize) -> f64 {
    (item_bytes.div_ceil(1024)).max(1) as f64
}

fn op_units(op: &WriteOp) -> f64 {
    match op {
        WriteOp::Put { item, .. } => units(item.size()),
        _ => 1.0,
    }
}

impl ContendedStore {
    pub fn new(inner: EmbeddedStore, settings: Contention) -> ContendedStore {
        let mut seed = [0u8; 8];
        // A fixed seed if the OS generator fails: jitter needs no secrecy.
        let _ = getrandom::fill(&mut seed);
        let model = Model {
            settings,
            held: Mutex::default(),
            budgets: Mutex::default(),
            stats: Stats::default(),
            seed: AtomicU64::new(u64::from_le_bytes(seed) | 1),
        };
        ContendedStore { inner, model: std::sync::Arc::new(model) }
    }

    pub fn stats(&self) -> &Stats {
        &self.model.stats
    }

    pub fn settings(&self) -> &Contention {
        &self.model.settings
    }

    /// A uniform number in `[0, 1)` (xorshift: jitter, not secrets).
    fn uniform(&self) -> f64 {
        let mut x = self.model.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.model.seed.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn network(&self) {
        let s = &self.model.settings;
        let wait = s.latency + s.jitter.mul_f64(self.uniform());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Charges `cost` (partition key → units) to the write or read budgets; `false` (nothing
    /// charged) if one of them is exhausted.
    fn charge(&self, cost: &[(&str, f64)], write: bool) -> bool {
        match self.over_budget(cost, write) {
            None => true,
            Some(pk) => {
                let mut hot = self.model.stats.hot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *hot.entry((pk, if write { "write" } else { "read" })).or_default() += 1;
                false
            }
        }
    }

    /// Charges `cost`, or names the partition (or `table`) over its budget.
    fn over_budget(&self, cost: &[(&str, f64)], write: bool) -> Option<String> {
        let s = &self.model.settings;
        let now = Instant::now();
        let mut b = self.model.budgets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (rate, total) = if write { (s.key_write_units, s.table_write_units) } else { (s.key_read_units, f64::MAX) };
        let fresh = Bucket { tokens: rate, at: now };
        let table_fresh = Bucket { tokens: total.min(1e12), at: now };
        let mut table = b.table.unwrap_or(table_fresh);
        if write {
            table.refill(total, now);
            if table.tokens <= 0.0 {
                return Some("table".into());
            }
        }
        let map = if write { &mut b.writes } else { &mut b.reads };
        for (pk, _) in cost {
            let bucket = map.entry((*pk).to_owned()).or_insert(fresh);
            bucket.refill(rate, now);
            if bucket.tokens <= 0.0 {
                return Some((*pk).to_owned());
            }
        }
        for (pk, units) in cost {
            if let Some(bucket) = map.get_mut(*pk) {
                bucket.tokens -= units;
            }
            table.tokens -= units;
            if write {
                self.model.stats.write_tenths.fetch_add((units * 10.0) as u64, Ordering::Relaxed);
            }
        }
        if write {
            b.table = Some(table);
        }
        None
    }

    /// Waits until the budgets take `cost`, as the SDK's retry would: up to `max_attempts`
    /// tries, with exponential backoff and full jitter between them.
    async fn admit(&self, cost: &[(&str, f64)], write: bool) -> Result<()> {
        let s = &self.model.settings;
        for attempt in 0..s.max_attempts.max(1) {
            if attempt > 0 {
                let cap = s.initial_backoff.saturating_mul(1 << (attempt - 1).min(10));
                tokio::time::sleep(cap.mul_f64(self.uniform())).await;
            }
            if self.charge(cost, write) {
                return Ok(());
            }
            self.model.stats.throttles.fetch_add(1, Ordering::Relaxed);
        }
        self.model.stats.throttled_out.fetch_add(1, Ordering::Relaxed);
        Err(StoreError::Unavailable("ThrottlingException: the partition's throughput is exceeded".into()))
    }

    /// A single write to `key` meets a transaction in flight on it.
    fn held(&self, key: &Key) -> bool {
        let held = self.model.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.contains(key)
    }

    /// Write units by kind of item (what writes most).
    fn count_units<'k>(&self, units: impl Iterator<Item = (&'k Key, f64)>) {
        let mut hot = self.model.stats.hot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (key, u) in units {
            *hot.entry((kind_of(key), "write units")).or_default() += u as u64;
        }
    }

    fn conflict(&self, on: &Key) -> StoreError {
        self.model.stats.conflicts.fetch_add(1, Ordering::Relaxed);
        let mut hot = self.model.stats.hot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *hot.entry((kind_of(on), "conflict")).or_default() += 1;
        StoreError::Conflict
    }

    pub(crate) async fn get(&self, key: Key) -> Result<Option<Item>> {
        self.admit(&[(&key.pk, 1.0)], false).await?;
        self.network().await;
        self.inner.get(key).await
    }

    /// One batch: a read unit per key from its partition, one round trip.
    pub(crate) async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Item>> {
        let cost: Vec<(&str, f64)> = keys.iter().map(|k| (k.pk.as_str(), 1.0)).collect();
        self.admit(&cost, false).await?;
        self.network().await;
        self.inner.get_many(keys).await
    }

    pub(crate) async fn query(&self, q: Query) -> Result<Page> {
        self.admit(&[(&q.pk, 1.0)], false).await?;
        self.network().await;
        self.inner.query(q).await
    }

    pub(crate) async fn put(&self, item: Item, cond: Option<Cond>) -> Result<()> {
        self.admit(&[(&item.key.pk, units(item.size()))], true).await?;
        self.count_units(std::iter::once((&item.key, units(item.size()))));
        if self.held(&item.key) {
            return Err(self.conflict(&item.key));
        }
        self.network().await;
        self.inner.put(item, cond).await
    }

    pub(crate) async fn delete(&self, key: Key, cond: Option<Cond>) -> Result<()> {
        self.admit(&[(&key.pk, 1.0)], true).await?;
        if self.held(&key) {
            return Err(self.conflict(&key));
        }
        self.network().await;
        self.inner.delete(key, cond).await
    }

    pub(crate) async fn add(&self, key: Key, attr: String, by: i64, max: Option<i64>) -> Result<i64> {
        self.admit(&[(&key.pk, 1.0)], true).await?;
        if self.held(&key) {
            return Err(self.conflict(&key));
        }
        self.network().await;
        self.inner.add(key, attr, by, max).await
    }

    /// Holds every item of the transaction (or is cancelled at once if another transaction
    /// holds one), stays in flight for the call's latency, releases, applies.
    pub(crate) async fn transact(&self, ops: Vec<WriteOp>) -> Result<()> {
        let cost: Vec<(&str, f64)> = ops.iter().map(|op| (op.key().pk.as_str(), 2.0 * op_units(op))).collect();
        self.admit(&cost, true).await?;
        self.count_units(ops.iter().map(|op| (op.key(), 2.0 * op_units(op))));
        let keys: Vec<Key> = ops.iter().map(|op| op.key().clone()).collect();
        let hold = {
            let mut held = self.model.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(k) = keys.iter().find(|k| held.contains(*k)) {
                Err(k.clone())
            } else {
                held.extend(keys.iter().cloned());
                Ok(Hold { model: &self.model, keys })
            }
        };
        let hold = match hold {
            Ok(h) => h,
            Err(k) => return Err(self.conflict(&k)),
        };
        self.network().await;
        // In flight for the call's latency only: the file behind serialises the writes anyway
        // (its own queue is not DynamoDB's, and must not lengthen the window).
        drop(hold);
        self.inner.transact(ops).await
    }

    pub(crate) async fn scan_all(&self) -> Result<Vec<Item>> {
        self.inner.scan_all().await
    }

    pub(crate) async fn scan(&self, limit: usize, after: Option<Key>) -> Result<Page> {
        self.network().await;
        self.inner.scan(limit, after).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::embedded::EmbeddedStore;

    /// A contended store whose calls take an hour (of tokio's paused clock): a call in flight
    /// stays in flight until the test lets time run.
    fn store(settings: Contention) -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let inner = EmbeddedStore::open(&dir.path().join("store.redb")).unwrap();
        (Store::contended(inner, settings), dir)
    }

    fn slow() -> Contention {
        Contention { latency: Duration::from_secs(3600), jitter: Duration::ZERO, ..Contention::default() }
    }

    fn put(pk: &str, sk: &str) -> WriteOp {
        WriteOp::put(Item::new(Key::new(pk, sk)))
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_transaction_meeting_one_in_flight_on_an_item_is_cancelled_and_nothing_is_written() {
        let (store, _dir) = store(slow());
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.transact(vec![put("T#a#CAP", "d1"), put("T#a#C#x", "b1")]).await }
        });
        tokio::task::yield_now().await; // the first is now in flight, holding both items
        let second = store.transact(vec![put("T#a#C#y", "b1"), put("T#a#CAP", "d1")]).await;
        assert_eq!(second, Err(StoreError::Conflict));
        assert_eq!(first.await.unwrap(), Ok(()));
        assert!(store.get(&Key::new("T#a#C#y", "b1")).await.unwrap().is_none(), "the cancelled one wrote nothing");
        assert_eq!(store.contention().unwrap().conflicts.load(Ordering::Relaxed), 1);
        // Once the first has ended, the same transaction goes through.
        assert_eq!(store.transact(vec![put("T#a#C#y", "b1"), put("T#a#CAP", "d1")]).await, Ok(()));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_single_write_to_an_item_a_transaction_holds_is_refused_but_other_items_are_free() {
        let (store, _dir) = store(slow());
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.transact(vec![put("T#a#CAP", "d1")]).await }
        });
        tokio::task::yield_now().await;
        let key = Key::new("T#a#CAP", "d1");
        let (held, free) =
            tokio::join!(store.add(&key, "taken", 1, None), store.put(Item::new(Key::new("T#a#CAP", "d2")), None));
        assert_eq!(held, Err(StoreError::Conflict));
        assert_eq!(free, Ok(()));
        assert_eq!(first.await.unwrap(), Ok(()));
        assert_eq!(store.add(&key, "taken", 1, None).await, Ok(1), "nothing was added by the refused write");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn transactions_on_different_items_do_not_conflict() {
        let (store, _dir) = store(slow());
        let (a, b) =
            tokio::join!(store.transact(vec![put("T#a#CAP", "d1")]), store.transact(vec![put("T#a#CAP", "d2")]));
        assert_eq!((a, b), (Ok(()), Ok(())));
        assert_eq!(store.contention().unwrap().conflicts.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn writes_over_a_partition_budget_are_throttled_then_admitted_when_it_refills() {
        let settings = Contention {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            key_write_units: 10.0,
            max_attempts: 1,
            ..Contention::default()
        };
        let (store, _dir) = store(settings);
        for i in 0..10 {
            store.put(Item::new(Key::new("T#a#HOT", format!("{i}"))), None).await.unwrap();
        }
        // Another partition key has its own budget.
        store.put(Item::new(Key::new("T#a#COLD", "0")), None).await.unwrap();
        let over = store.put(Item::new(Key::new("T#a#HOT", "10")), None).await;
        assert!(matches!(over, Err(StoreError::Unavailable(_))), "{over:?}");
        let stats = store.contention().unwrap();
        assert_eq!(stats.throttles.load(Ordering::Relaxed), 1);
        assert_eq!(stats.throttled_out.load(Ordering::Relaxed), 1);
        assert!(store.get(&Key::new("T#a#HOT", "10")).await.unwrap().is_none(), "a throttled write wrote nothing");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(store.put(Item::new(Key::new("T#a#HOT", "10")), None).await, Ok(()));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_throttled_call_is_retried_with_backoff_as_the_sdk_does() {
        let settings = Contention {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            key_write_units: 2.0,
            max_attempts: 30,
            initial_backoff: Duration::from_millis(100),
            ..Contention::default()
        };
        let (store, _dir) = store(settings);
        // A transaction costs two units per item: the first takes the second's budget.
        store.transact(vec![put("T#a#HOT", "1")]).await.unwrap();
        let started = Instant::now();
        store.transact(vec![put("T#a#HOT", "2")]).await.unwrap();
        let stats = store.contention().unwrap();
        assert!(stats.throttles.load(Ordering::Relaxed) >= 1);
        assert_eq!(stats.throttled_out.load(Ordering::Relaxed), 0);
        assert!(started.elapsed() > Duration::ZERO, "the retry waited for the budget to refill");
    }
}
