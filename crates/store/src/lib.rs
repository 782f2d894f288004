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
//! - an embedded durable file (redb), locally and in fast tests ([`embedded`]).
//!
//! Every query above these primitives (in [`repo`]) is written once, and the contract tests
//! (`tests/it/store_contract.rs`) hold both backends to the same behaviour, DynamoDB's limits
//! included: at most 100 actions per transaction, no key twice in one, 400 KB per item, pages
//! of at most 1 MB.

pub mod accounts;
pub mod audit;
pub mod aws;
pub mod dynamo;
pub mod embedded;
pub mod gate;
pub mod keys;
pub mod migrate;
pub mod regularisations;
pub mod repo;
pub mod schema;
pub mod secret;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// DynamoDB's limit on the actions of one transaction.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// DynamoDB's limit on one item's size.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB stops a query page after reading this much.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// Attribute names the store uses itself; an item's own attributes may not take them.
pub const RESERVED: [&str; 5] = ["pk", "sk", "gsi1pk", "gsi1sk", "ttl"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key { pk: pk.into(), sk: sk.into() }
    }
}

/// One stored item: its key, its place in the secondary index, its expiry, its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: Key,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1: Option<Key>,
    /// Epoch seconds after which the item is dead. DynamoDB deletes it some time later, so
    /// readers check it themselves ([`Item::is_live`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    pub attrs: Map<String, Value>,
}

impl Item {
    /// A new item, stamped with its kind's schema version ([`schema`]): what this code writes
    /// is in the current shape.
    pub fn new(key: Key) -> Item {
        let mut attrs = Map::new();
        schema::stamp(&key, &mut attrs);
        Item { key, gsi1: None, ttl: None, attrs }
    }

    /// An item whose attributes are the fields of `value` (a struct serialising to a map),
    /// stamped with its kind's schema version.
    pub fn from_value<T: Serialize>(key: Key, value: &T) -> Result<Item, StoreError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(mut attrs)) => {
                if attrs.contains_key(schema::VERSION_ATTR) {
                    return Err(StoreError::Invalid(format!(
                        "attribute name {:?} is the schema version's",
                        schema::VERSION_ATTR
                    )));
                }
                schema::stamp(&key, &mut attrs);
                Ok(Item { key, gsi1: None, ttl: None, attrs })
            }
            Ok(_) => Err(StoreError::Invalid("an item's attributes must be a map".into())),
            Err(e) => Err(StoreError::Invalid(format!("cannot serialise item: {e}"))),
        }
    }

    /// The attributes read back as `T`, an older shape upgraded to the current one first
    /// ([`schema::Schema::upgrade`]).
    pub fn to_value<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        let item = schema::Schema::production().upgrade(self)?;
        let mut attrs = item.attrs.clone();
        if schema::Kind::of(&self.key).is_some() {
            attrs.remove(schema::VERSION_ATTR);
        }
        serde_json::from_value(Value::Object(attrs))
            .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", self.key.pk, self.key.sk)))
    }

    /// The items that decode as `T`, in order; one that does not (a record written by an older
    /// version, or damaged) is logged and left out, so that a list never fails on one record.
    /// For lists people read; a computation that must see every record decodes strictly.
    pub fn decode_listed<T: serde::de::DeserializeOwned>(items: &[Item]) -> Vec<T> {
        items
            .iter()
            .filter_map(|i| match i.to_value() {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(error = %e, "a stored record that does not decode is left out of a list");
                    None
                }
            })
            .collect()
    }

    pub fn with_gsi1(mut self, key: Key) -> Item {
        self.gsi1 = Some(key);
        self
    }
    pub fn with_ttl(mut self, epoch_seconds: i64) -> Item {
        self.ttl = Some(epoch_seconds);
        self
    }
    pub fn is_live(&self, now_epoch: i64) -> bool {
        self.ttl.is_none_or(|t| t > now_epoch)
    }

    /// The bytes the item takes, as the limits count them (names and values).
    pub fn size(&self) -> usize {
        self.key.pk.len()
            + self.key.sk.len()
            + 4
            + self.gsi1.as_ref().map_or(0, |g| g.pk.len() + g.sk.len() + 12)
            + self.ttl.map_or(0, |_| 11)
            + self.attrs.iter().map(|(k, v)| k.len() + v.to_string().len()).sum::<usize>()
    }

    fn check(&self) -> Result<(), StoreError> {
        check_key(&self.key)?;
        if let Some(g) = &self.gsi1 {
            check_key(g)?;
        }
        if let Some(name) = self.attrs.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(StoreError::Invalid(format!("attribute name {name:?} is reserved")));
        }
        if self.size() > MAX_ITEM_BYTES {
            return Err(StoreError::Invalid(format!("item {}/{} is over 400 KB", self.key.pk, self.key.sk)));
        }
        Ok(())
    }
}

fn check_key(k: &Key) -> Result<(), StoreError> {
    if k.pk.is_empty() || k.sk.is_empty() || k.pk.len() > 2048 || k.sk.len() > 1024 {
        return Err(StoreError::Invalid(format!("key {:?}/{:?} is empty or too long", k.pk, k.sk)));
    }
    Ok(())
}

/// A condition on the item a write touches, checked atomically with the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The item exists.
    Exists,
    /// No item has this key.
    NotExists,
    /// No item has this key, or it has expired (`ttl <= now`): what an expiring record
    /// needs, since DynamoDB's TTL deletion lags.
    NotExistsOrExpired { now: i64 },
    /// The item exists and its attribute `name` equals `value`.
    AttrEquals { name: String, value: Value },
    /// The item exists and each listed attribute equals its value (lists and maps compared
    /// whole); a `null` means the attribute is absent. What a record without a version needs
    /// for an optimistic write: the attributes as they were read, and `null` for the optional
    /// ones that were not there.
    AttrsEqual(Map<String, Value>),
    /// No item has this key, or the item lacks the attribute `name` (a mark not set).
    Absent { name: String },
    /// No item has this key, or it lacks the numeric attribute `name`, or its value is at most
    /// `value` (a bound on a counter, a version not passed).
    AtMost { name: String, value: i64 },
    /// Every condition holds.
    All(Vec<Cond>),
}

impl Cond {
    /// The item is still at the `version` it was read at (records that carry a `version`).
    pub fn version(version: u64) -> Cond {
        Cond::AttrEquals { name: "version".into(), value: Value::from(version) }
    }

    /// The item is at `version`, or, for `None`, does not exist yet.
    pub fn at_version(version: Option<u64>) -> Cond {
        version.map_or(Cond::NotExists, Cond::version)
    }

    fn holds(&self, current: Option<&Item>) -> bool {
        match (self, current) {
            (Cond::Absent { name }, c) => c.is_none_or(|i| !i.attrs.contains_key(name)),
            (Cond::AtMost { name, value }, c) => {
                c.and_then(|i| i.attrs.get(name)).is_none_or(|v| v.as_i64().is_some_and(|n| n <= *value))
            }
            (Cond::All(all), c) => all.iter().all(|x| x.holds(c)),
            (Cond::Exists, c) => c.is_some(),
            (Cond::NotExists, c) => c.is_none(),
            (Cond::NotExistsOrExpired { now }, c) => c.is_none_or(|i| i.ttl.is_some_and(|t| t <= *now)),
            (Cond::AttrEquals { name, value }, Some(i)) => i.attrs.get(name) == Some(value),
            (Cond::AttrEquals { .. } | Cond::AttrsEqual(_), None) => false,
            (Cond::AttrsEqual(attrs), Some(i)) => attrs.iter().all(|(name, value)| match value {
                Value::Null => !i.attrs.contains_key(name),
                v => i.attrs.get(name) == Some(v),
            }),
        }
    }
}

/// One action of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        cond: Option<Cond>,
    },
    Delete {
        key: Key,
        cond: Option<Cond>,
    },
    /// Only checks a condition on another item.
    Check {
        key: Key,
        cond: Cond,
    },
    /// Adds `by` to the numeric attribute `attr` (missing counts as 0, a missing item is
    /// created), refusing to go over `max`.
    Add {
        key: Key,
        attr: String,
        by: i64,
        max: Option<i64>,
    },
    /// Adds to several numeric attributes of one item at once (missing ones count as 0, a
    /// missing item is created), if `cond` holds: a unit-day's places and queue move together,
    /// bounded by the capacity and the queue. A failed condition cancels the transaction as
    /// `OverLimit`, like [`WriteOp::Add`].
    Counters {
        key: Key,
        add: Vec<(String, i64)>,
        cond: Option<Cond>,
    },
}

impl WriteOp {
    fn key(&self) -> &Key {
        match self {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. }
            | WriteOp::Check { key, .. }
            | WriteOp::Add { key, .. }
            | WriteOp::Counters { key, .. } => key,
        }
    }
}

/// Which key a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
}

/// The sort-key condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkRange {
    All,
    Prefix(String),
    /// Both ends included.
    Between(String, String),
    /// Up to this key, included.
    UpTo(String),
}

impl SkRange {
    fn contains(&self, sk: &str) -> bool {
        match self {
            SkRange::All => true,
            SkRange::Prefix(p) => sk.starts_with(p.as_str()),
            SkRange::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
            SkRange::UpTo(b) => sk <= b.as_str(),
        }
    }

    /// DynamoDB refuses an empty string as a key value: so does the embedded backend.
    fn check(&self) -> Result<()> {
        let empty = match self {
            SkRange::All => false,
            SkRange::Prefix(p) | SkRange::UpTo(p) => p.is_empty(),
            SkRange::Between(a, b) => a.is_empty() || b.is_empty(),
        };
        if empty {
            return Err(StoreError::Invalid("a sort-key bound cannot be empty".into()));
        }
        Ok(())
    }
}

/// Where a query stopped: opaque to callers, the same on both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Serialize, Deserialize)]
struct CursorKey {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1: Option<Key>,
}

impl Cursor {
    fn encode(key: &Key, gsi1: Option<&Key>) -> Cursor {
        let k = CursorKey { pk: key.pk.clone(), sk: key.sk.clone(), gsi1: gsi1.cloned() };
        Cursor(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&k).unwrap_or_default()))
    }
    fn decode(&self) -> Result<(Key, Option<Key>), StoreError> {
        let bad = || StoreError::Invalid("malformed cursor".into());
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        let k: CursorKey = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok((Key { pk: k.pk, sk: k.sk }, k.gsi1))
    }
    /// A cursor a client sent back (from a `next` link); checked when used.
    pub fn from_client(s: &str) -> Cursor {
        Cursor(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: SkRange,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub descending: bool,
}

impl Query {
    pub fn table(pk: impl Into<String>, sk: SkRange) -> Query {
        Query { index: Index::Table, pk: pk.into(), sk, limit: 1000, cursor: None, descending: false }
    }
    pub fn gsi1(pk: impl Into<String>, sk: SkRange) -> Query {
        Query { index: Index::Gsi1, ..Query::table(pk, sk) }
    }
    pub fn limit(mut self, n: usize) -> Query {
        self.limit = n;
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Query {
        self.cursor = cursor;
        self
    }
    pub fn descending(mut self) -> Query {
        self.descending = true;
        self
    }
}

/// One page of a query. `next` is set when more items may follow (DynamoDB may set it even
/// when the next page turns out empty): callers loop until it is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}

/// Why a transaction was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    ConditionFailed,
    /// `Add` would have gone over its `max`.
    OverLimit,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("condition failed")]
    ConditionFailed,
    /// The whole transaction was rolled back because of action `index`.
    #[error("transaction cancelled by action {index}: {reason:?}")]
    TransactionCanceled { index: usize, reason: CancelReason },
    /// A request the backend refuses as malformed (too many actions, a key twice, an item
    /// over 400 KB, a bad cursor). A bug, or a caller to answer with a 4xx.
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// A stored item does not read back as expected.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, network, throttling after retries).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A transaction met another one in flight on the same item (DynamoDB's
    /// `TransactionConflict`): nothing was written; trying again shortly may succeed.
    #[error("transaction conflict")]
    Conflict,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

fn check_transaction(ops: &[WriteOp]) -> Result<()> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_ACTIONS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes 1 to {MAX_TRANSACTION_ACTIONS} actions, not {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        if !seen.insert(op.key()) {
            return Err(StoreError::Invalid(format!(
                "key {}/{} appears twice in one transaction",
                op.key().pk,
                op.key().sk
            )));
        }
        match op {
            WriteOp::Put { item, .. } => item.check()?,
            WriteOp::Add { key, attr, by, max } => check_add(key, attr, *by, *max)?,
            WriteOp::Counters { key, add, .. } => {
                if add.is_empty() {
                    return Err(StoreError::Invalid("counters without anything to add".into()));
                }
                for (attr, by) in add {
                    check_add(key, attr, *by, None)?;
                }
            }
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => check_key(key)?,
        }
    }
    Ok(())
}

fn check_add(key: &Key, attr: &str, by: i64, max: Option<i64>) -> Result<()> {
    check_key(key)?;
    if RESERVED.contains(&attr) || attr.is_empty() {
        return Err(StoreError::Invalid(format!("cannot add to attribute {attr:?}")));
    }
    if max.is_some_and(|m| by > m) {
        return Err(StoreError::Invalid(format!("adding {by} can never fit under {max:?}")));
    }
    Ok(())
}

/// What [`Store::failing_after`] and [`Store::failing_writes_after`] let through.
struct Faults {
    transactions: std::sync::atomic::AtomicI64,
    writes: std::sync::atomic::AtomicI64,
}

#[derive(Clone)]
enum Backend {
    Embedded(embedded::EmbeddedStore),
    Dynamo(dynamo::DynamoStore),
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
}

impl Store {
    pub fn embedded(store: embedded::EmbeddedStore) -> Store {
        Store { backend: Backend::Embedded(store), calls: Arc::default(), transactions: Arc::default(), faults: None }
    }
    pub fn dynamo(store: dynamo::DynamoStore) -> Store {
        Store { backend: Backend::Dynamo(store), calls: Arc::default(), transactions: Arc::default(), faults: None }
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
            Backend::Embedded(_) => "embedded",
            Backend::Dynamo(_) => "dynamodb",
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
        match &self.backend {
            Backend::Embedded(s) => s.get(key.clone()).await,
            Backend::Dynamo(s) => s.get(key).await,
        }
    }

    pub async fn put(&self, item: Item, cond: Option<Cond>) -> Result<()> {
        self.count();
        item.check()?;
        self.injected_fault(false)?;
        match &self.backend {
            Backend::Embedded(s) => s.put(item, cond).await,
            Backend::Dynamo(s) => s.put(item, cond).await,
        }
    }

    pub async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<()> {
        self.count();
        check_key(key)?;
        self.injected_fault(false)?;
        match &self.backend {
            Backend::Embedded(s) => s.delete(key.clone(), cond).await,
            Backend::Dynamo(s) => s.delete(key, cond).await,
        }
    }

    /// Atomic counter: adds `by` and returns the new value; `ConditionFailed` if it would go
    /// over `max`.
    pub async fn add(&self, key: &Key, attr: &str, by: i64, max: Option<i64>) -> Result<i64> {
        self.count();
        check_add(key, attr, by, max)?;
        self.injected_fault(false)?;
        match &self.backend {
            Backend::Embedded(s) => s.add(key.clone(), attr.to_owned(), by, max).await,
            Backend::Dynamo(s) => s.add(key, attr, by, max).await,
        }
    }

    pub async fn query(&self, q: &Query) -> Result<Page> {
        self.count();
        if q.limit == 0 || q.pk.is_empty() {
            return Err(StoreError::Invalid("a query needs a partition key and a limit of at least 1".into()));
        }
        q.sk.check()?;
        match &self.backend {
            Backend::Embedded(s) => s.query(q.clone()).await,
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
        let items = match &self.backend {
            Backend::Embedded(s) => s.scan_all().await?,
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
        let after = cursor.map(Cursor::decode).transpose()?.map(|(k, _)| k);
        match &self.backend {
            Backend::Embedded(s) => s.scan(limit, after).await,
            Backend::Dynamo(s) => s.scan(limit, after).await,
        }
    }

    /// All the actions apply, or none does; on a failed condition the error names the action.
    pub async fn transact(&self, ops: Vec<WriteOp>) -> Result<()> {
        self.count();
        self.transactions.fetch_add(1, Ordering::Relaxed);
        check_transaction(&ops)?;
        self.injected_fault(true)?;
        match &self.backend {
            Backend::Embedded(s) => s.transact(ops).await,
            Backend::Dynamo(s) => s.transact(ops).await,
        }
    }
}
