//! The store: every read and write of the portal's data, over one DynamoDB-shaped table. Its
//! contract (items, keys, conditional transactions, queries), its two backends, the keys of every
//! item kind, the repositories above them (towns, families, bookings, régularisations,
//! accounts), the audit trail, the closure gate and counters, and the AWS SDK configuration.
//! It knows the domain's types but none of HTTP.
//!
//! The single-table store. Every item has a partition key `pk` and a sort key `sk`, may sit
//! in the secondary index `gsi1` (`gsi1pk`/`gsi1sk`) and may carry an expiry `ttl` (epoch
//! seconds). Two backends implement the same few item-level primitives:
//!
//! - DynamoDB, in production ([`dynamo`]);
//! - an embedded durable file (redb), locally and in fast tests ([`embedded`]);
//! - that file behind DynamoDB's conflicts, latency and throttling, for the contention tests
//!   and the rush benchmark ([`contended`]).
//!
//! Every query above these primitives (in [`repo`]) is written once, and the contract tests
//! (`tests/it/store_contract.rs`) hold both backends to the same behaviour, DynamoDB's limits
//! included: at most 100 actions per transaction, no key twice in one, 400 KB per item, pages
//! of at most 1 MB.

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod child_files;
#[cfg(feature = "embedded")]
pub mod contended;
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
mod error;
pub mod gate;
pub mod iam;
mod item;
mod key;
pub mod keys;
pub mod migrate;
mod query;
pub mod regularisations;
pub mod repo;
pub mod schema;
pub mod secret;
mod write;

pub use error::{CancelReason, Result, StoreError};
use item::check_key;
pub use item::{Item, MAX_ITEM_BYTES, RESERVED};
pub use key::Key;
pub use query::{Cursor, Index, MAX_PAGE_BYTES, Page, Query, SkRange};
pub use write::{Cond, MAX_TRANSACTION_ACTIONS, WriteOp};
use write::{check_add, check_transaction};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// DynamoDB's limit on the keys of one BatchGetItem.
pub const MAX_BATCH_GET: usize = 100;

/// What [`Store::failing_after`] and [`Store::failing_writes_after`] let through.
struct Faults {
    transactions: std::sync::atomic::AtomicI64,
    writes: std::sync::atomic::AtomicI64,
}

#[derive(Clone)]
enum Backend {
    #[cfg(feature = "embedded")]
    Embedded(embedded::EmbeddedStore),
    Dynamo(dynamo::DynamoStore),
    #[cfg(feature = "embedded")]
    Contended(contended::ContendedStore),
}

/// The store handle the functions hold: cheap to clone, counts the calls it makes (the
/// benchmarks report storage calls per request).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    calls: Arc<AtomicU64>,
    transactions: Arc<AtomicU64>,
    /// Test hook: writes left before every write fails (see [`Store::failing_after`]).
    faults: Option<Arc<Faults>>,
    /// What the function holding this handle may do in AWS (tests, the stack twin): `None`
    /// checks nothing, as in AWS, where IAM does.
    grants: Option<iam::Grants>,
}

impl Store {
    #[cfg(feature = "embedded")]
    pub fn embedded(store: embedded::EmbeddedStore) -> Store {
        Store {
            backend: Backend::Embedded(store),
            calls: Arc::default(),
            transactions: Arc::default(),
            faults: None,
            grants: None,
        }
    }
    pub fn dynamo(store: dynamo::DynamoStore) -> Store {
        Store {
            backend: Backend::Dynamo(store),
            calls: Arc::default(),
            transactions: Arc::default(),
            faults: None,
            grants: None,
        }
    }
    /// The embedded store behind DynamoDB's behaviour under contention (tests, benchmarks).
    #[cfg(feature = "embedded")]
    pub fn contended(store: embedded::EmbeddedStore, model: contended::Contention) -> Store {
        let backend = Backend::Contended(contended::ContendedStore::new(store, model));
        Store { backend, calls: Arc::default(), transactions: Arc::default(), faults: None, grants: None }
    }
    /// What the contended backend counted (conflicts, throttles), if this is one.
    #[cfg(feature = "embedded")]
    pub fn contention(&self) -> Option<&contended::Stats> {
        match &self.backend {
            Backend::Contended(s) => Some(s.stats()),
            _ => None,
        }
    }

    /// For fault-injection tests: a handle on the same data whose writes fail as `Unavailable`
    /// once `transactions` transactions have gone through, as a crash or a lost connection
    /// halfway through a request would leave things.
    pub fn failing_after(&self, transactions: u64) -> Store {
        self.with_faults(transactions, u64::MAX)
    }

    /// For fault-injection tests: a handle whose single-item writes (put, delete, add) fail once
    /// `writes` of them have gone through — a process dying between two writes.
    pub fn failing_writes_after(&self, writes: u64) -> Store {
        self.with_faults(u64::MAX, writes)
    }

    fn with_faults(&self, transactions: u64, writes: u64) -> Store {
        let n = |x: u64| std::sync::atomic::AtomicI64::new(i64::try_from(x).unwrap_or(i64::MAX));
        Store { faults: Some(Arc::new(Faults { transactions: n(transactions), writes: n(writes) })), ..self.clone() }
    }

    /// A handle on the same data that refuses, as AWS would, what `grants` does not allow, and
    /// records what it did ([`iam`]).
    pub fn granted(&self, grants: iam::Grants) -> Store {
        Store { grants: Some(grants), ..self.clone() }
    }

    /// The function whose grants this handle checks, if any.
    pub fn grants(&self) -> Option<&iam::Grants> {
        self.grants.as_ref()
    }

    fn authorize(&self, p: iam::Primitive<'_>) -> Result<()> {
        match &self.grants {
            Some(g) => g.check(iam::actions(p)),
            None => Ok(()),
        }
    }

    fn injected_fault(&self, transaction: bool) -> Result<()> {
        let Some(f) = &self.faults else { return Ok(()) };
        let fail = if transaction {
            f.transactions.fetch_sub(1, Ordering::SeqCst) <= 0
        } else {
            f.transactions.load(Ordering::SeqCst) <= 0 || f.writes.fetch_sub(1, Ordering::SeqCst) <= 0
        };
        if fail { Err(StoreError::Unavailable("injected fault".into())) } else { Ok(()) }
    }
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(_) => "embedded",
            Backend::Dynamo(_) => "dynamodb",
            #[cfg(feature = "embedded")]
            Backend::Contended(_) => "contended",
        }
    }
    /// How many primitive calls this handle (and its clones) made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// How many of those calls were transactions.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub async fn get(&self, key: &Key) -> Result<Option<Item>> {
        self.count();
        check_key(key)?;
        self.authorize(iam::Primitive::Get)?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.get(key.clone()).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.get(key.clone()).await,
            Backend::Dynamo(s) => s.get(key).await,
        }
    }

    /// The items that exist among `keys`, in no particular order (DynamoDB's BatchGetItem):
    /// one call per [`MAX_BATCH_GET`] keys. A key twice is refused, as DynamoDB does.
    pub async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>> {
        let distinct: std::collections::HashSet<&Key> = keys.iter().collect();
        if distinct.len() != keys.len() {
            return Err(StoreError::Invalid("a batch read names a key twice".into()));
        }
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_BATCH_GET) {
            self.count();
            for key in chunk {
                check_key(key)?;
            }
            self.authorize(iam::Primitive::GetMany)?;
            items.extend(match &self.backend {
                #[cfg(feature = "embedded")]
                Backend::Embedded(s) => s.get_many(chunk.to_vec()).await?,
                #[cfg(feature = "embedded")]
                Backend::Contended(s) => s.get_many(chunk.to_vec()).await?,
                Backend::Dynamo(s) => s.get_many(chunk).await?,
            });
        }
        Ok(items)
    }

    pub async fn put(&self, item: Item, cond: Option<Cond>) -> Result<()> {
        self.count();
        item.check()?;
        self.authorize(iam::Primitive::Put)?;
        self.injected_fault(false)?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.put(item, cond).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.put(item, cond).await,
            Backend::Dynamo(s) => s.put(item, cond).await,
        }
    }

    pub async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<()> {
        self.count();
        check_key(key)?;
        self.authorize(iam::Primitive::Delete)?;
        self.injected_fault(false)?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.delete(key.clone(), cond).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.delete(key.clone(), cond).await,
            Backend::Dynamo(s) => s.delete(key, cond).await,
        }
    }

    /// Atomic counter: adds `by` and returns the new value; `ConditionFailed` if it would go
    /// over `max`.
    pub async fn add(&self, key: &Key, attr: &str, by: i64, max: Option<i64>) -> Result<i64> {
        self.count();
        check_add(key, attr, by, max)?;
        self.authorize(iam::Primitive::Add)?;
        self.injected_fault(false)?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.add(key.clone(), attr.to_owned(), by, max).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.add(key.clone(), attr.to_owned(), by, max).await,
            Backend::Dynamo(s) => s.add(key, attr, by, max).await,
        }
    }

    pub async fn query(&self, q: &Query) -> Result<Page> {
        self.count();
        if q.limit == 0 || q.pk.is_empty() {
            return Err(StoreError::Invalid("a query needs a partition key and a limit of at least 1".into()));
        }
        q.sk.check()?;
        self.authorize(iam::Primitive::Query(q.index))?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.query(q.clone()).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.query(q.clone()).await,
            Backend::Dynamo(s) => s.query(q).await,
        }
    }

    /// Every item a query matches, following the pages.
    pub async fn query_all(&self, q: &Query) -> Result<Vec<Item>> {
        let mut q = q.clone();
        let mut items = Vec::new();
        loop {
            let page = self.query(&q).await?;
            items.extend(page.items);
            match page.next {
                Some(c) => q.cursor = Some(c),
                None => return Ok(items),
            }
        }
    }

    /// Every live item of the store: a full scan, for tests and operators (what the erasure
    /// test reads to prove nothing personal is left), never from a request.
    pub async fn scan_all(&self, now_epoch: i64) -> Result<Vec<Item>> {
        self.count();
        self.authorize(iam::Primitive::Scan)?;
        let items = match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.scan_all().await?,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.scan_all().await?,
            Backend::Dynamo(s) => s.scan_all().await?,
        };
        Ok(items.into_iter().filter(|i| i.is_live(now_epoch)).collect())
    }

    /// One page of a scan of the whole table, in the backend's order (not the keys'), from
    /// `cursor`: for an operator's job that must see every item of a kind (a migration), never
    /// for a request. Expired items are in it, as DynamoDB has not deleted them yet.
    pub async fn scan(&self, limit: usize, cursor: Option<&Cursor>) -> Result<Page> {
        self.count();
        if limit == 0 {
            return Err(StoreError::Invalid("a scan needs a limit of at least 1".into()));
        }
        self.authorize(iam::Primitive::Scan)?;
        let after = cursor.map(Cursor::decode).transpose()?.map(|(k, _)| k);
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.scan(limit, after).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.scan(limit, after).await,
            Backend::Dynamo(s) => s.scan(limit, after).await,
        }
    }

    /// All the actions apply, or none does; on a failed condition the error names the action.
    pub async fn transact(&self, ops: Vec<WriteOp>) -> Result<()> {
        self.count();
        self.transactions.fetch_add(1, Ordering::Relaxed);
        check_transaction(&ops)?;
        self.authorize(iam::Primitive::Transact(&ops))?;
        self.injected_fault(true)?;
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded(s) => s.transact(ops).await,
            #[cfg(feature = "embedded")]
            Backend::Contended(s) => s.transact(ops).await,
            Backend::Dynamo(s) => s.transact(ops).await,
        }
    }
}
