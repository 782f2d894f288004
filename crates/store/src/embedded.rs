//! The embedded backend: one redb file, durable (an acknowledged write survives a crash),
//! serialisable (one writer at a time, so a conditional write is atomic). It implements the
//! item-level primitives only; redb is synchronous, so each call runs on the blocking pool.

use super::{
    CancelReason, Cond, Cursor, Index, Item, Key, MAX_PAGE_BYTES, Page, Query, Result, SkRange, StoreError, WriteOp,
};
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// (pk, sk) → the item as JSON.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");
/// (gsi1pk, gsi1sk, pk, sk) → nothing: the secondary index.
const GSI1: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("gsi1");
/// Above every sort key the project writes (they are ASCII).
const SK_MAX: &str = "\u{10FFFF}";

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl EmbeddedStore {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<EmbeddedStore> {
        EmbeddedStore::init(Database::create(path).map_err(io)?)
    }

    /// A store in memory, lost with the process: the contended model's (a benchmark measures
    /// the model's latency, not this disk's).
    pub fn in_memory() -> Result<EmbeddedStore> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()).map_err(io)?;
        EmbeddedStore::init(db)
    }

    fn init(db: Database) -> Result<EmbeddedStore> {
        let txn = db.begin_write().map_err(io)?;
        txn.open_table(ITEMS).map_err(io)?;
        txn.open_table(GSI1).map_err(io)?;
        txn.commit().map_err(io)?;
        Ok(EmbeddedStore { db: Arc::new(db) })
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&Database) -> Result<T> + Send + 'static) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(io)?
    }

    /// Runs `f` in one write transaction, committed only if `f` succeeds.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Table<(&str, &str), &[u8]>, &mut Table<(&str, &str, &str, &str), ()>) -> Result<T>
        + Send
        + 'static,
    ) -> Result<T> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(io)?;
            let out = {
                let mut items = txn.open_table(ITEMS).map_err(io)?;
                let mut gsi = txn.open_table(GSI1).map_err(io)?;
                f(&mut items, &mut gsi)?
            };
            txn.commit().map_err(io)?;
            Ok(out)
        })
        .await
    }

    /// Every item (a full scan: tests and operators, never a request).
    pub(super) async fn scan_all(&self) -> Result<Vec<Item>> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(io)?;
            let items = txn.open_table(ITEMS).map_err(io)?;
            let mut out = Vec::new();
            for entry in items.iter().map_err(io)? {
                let (_, v) = entry.map_err(io)?;
                out.push(decode(v.value())?);
            }
            Ok(out)
        })
        .await
    }

    /// A page of at most `limit` items (and about 1 MB) in key order, after `after`.
    pub(super) async fn scan(&self, limit: usize, after: Option<Key>) -> Result<Page> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(io)?;
            let items = txn.open_table(ITEMS).map_err(io)?;
            let start = after.as_ref().map_or(Bound::Unbounded, |k| Bound::Excluded((k.pk.as_str(), k.sk.as_str())));
            let mut page = Vec::new();
            let mut bytes = 0;
            let mut more = false;
            for entry in items.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(io)? {
                if page.len() >= limit || bytes >= MAX_PAGE_BYTES {
                    more = true;
                    break;
                }
                let (_, v) = entry.map_err(io)?;
                bytes += v.value().len();
                page.push(decode(v.value())?);
            }
            let next = if more { page.last().map(|i: &Item| Cursor::encode(&i.key, None)) } else { None };
            Ok(Page { items: page, next })
        })
        .await
    }

    pub(super) async fn get(&self, key: Key) -> Result<Option<Item>> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(io)?;
            let items = txn.open_table(ITEMS).map_err(io)?;
            read(&items, &key)
        })
        .await
    }

    pub(super) async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Item>> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(io)?;
            let items = txn.open_table(ITEMS).map_err(io)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in &keys {
                out.extend(read(&items, key)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn put(&self, item: Item, cond: Option<Cond>) -> Result<()> {
        self.write(move |items, gsi| {
            let current = read(items, &item.key)?;
            if cond.is_some_and(|c| !c.holds(current.as_ref())) {
                return Err(StoreError::ConditionFailed);
            }
            store(items, gsi, current.as_ref(), &item)
        })
        .await
    }

    pub(super) async fn delete(&self, key: Key, cond: Option<Cond>) -> Result<()> {
        self.write(move |items, gsi| {
            let current = read(items, &key)?;
            if cond.is_some_and(|c| !c.holds(current.as_ref())) {
                return Err(StoreError::ConditionFailed);
            }
            remove(items, gsi, current.as_ref())
        })
        .await
    }

    pub(super) async fn add(&self, key: Key, attr: String, by: i64, max: Option<i64>) -> Result<i64> {
        self.write(move |items, gsi| add(items, gsi, &key, &attr, by, max)?.ok_or(StoreError::ConditionFailed)).await
    }

    pub(super) async fn transact(&self, ops: Vec<WriteOp>) -> Result<()> {
        self.write(move |items, gsi| {
            for (index, op) in ops.iter().enumerate() {
                let failed = |reason| StoreError::TransactionCanceled { index, reason };
                match op {
                    WriteOp::Put { item, cond } => {
                        let current = read(items, &item.key)?;
                        if cond.as_ref().is_some_and(|c| !c.holds(current.as_ref())) {
                            return Err(failed(CancelReason::ConditionFailed));
                        }
                        store(items, gsi, current.as_ref(), item)?;
                    }
                    WriteOp::Delete { key, cond } => {
                        let current = read(items, key)?;
                        if cond.as_ref().is_some_and(|c| !c.holds(current.as_ref())) {
                            return Err(failed(CancelReason::ConditionFailed));
                        }
                        remove(items, gsi, current.as_ref())?;
                    }
                    WriteOp::Check { key, cond } => {
                        if !cond.holds(read(items, key)?.as_ref()) {
                            return Err(failed(CancelReason::ConditionFailed));
                        }
                    }
                    WriteOp::Add { key, attr, by, max } => {
                        if add(items, gsi, key, attr, *by, *max)?.is_none() {
                            return Err(failed(CancelReason::OverLimit));
                        }
                    }
                    WriteOp::Counters { key, add, cond } => {
                        let current = read(items, key)?;
                        if cond.as_ref().is_some_and(|c| !c.holds(current.as_ref())) {
                            return Err(failed(CancelReason::OverLimit));
                        }
                        let mut item = current.clone().unwrap_or_else(|| Item::new(key.clone()));
                        for (attr, by) in add {
                            let value = match item.attrs.get(attr) {
                                None => 0,
                                Some(v) => v.as_i64().ok_or_else(|| {
                                    StoreError::Invalid(format!("attribute {attr} is not an integer"))
                                })?,
                            };
                            let new =
                                value.checked_add(*by).ok_or_else(|| StoreError::Invalid("counter overflow".into()))?;
                            item.attrs.insert(attr.clone(), new.into());
                        }
                        store(items, gsi, current.as_ref(), &item)?;
                    }
                }
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn query(&self, q: Query) -> Result<Page> {
        self.run(move |db| {
            let txn = db.begin_read().map_err(io)?;
            let items = txn.open_table(ITEMS).map_err(io)?;
            let after = q.cursor.as_ref().map(Cursor::decode).transpose()?;
            // A cursor goes on its own query's partition only: from another one, the range
            // below would start in (or end past) other partitions, other towns' included.
            if let Some((key, gsi1)) = &after {
                let own = match q.index {
                    Index::Table => key.pk == q.pk,
                    Index::Gsi1 => gsi1.as_ref().is_some_and(|g| g.pk == q.pk),
                };
                if !own {
                    return Err(StoreError::Invalid("a cursor of another query".into()));
                }
            }
            let (lo_sk, hi_sk) = sk_bounds(&q.sk);
            let mut page = Vec::new();
            let mut bytes = 0;
            let mut more = false;
            let mut take = |item: Item, bytes_now: usize| -> bool {
                // Returns whether to keep reading.
                if page.len() >= q.limit || bytes >= MAX_PAGE_BYTES {
                    more = true;
                    return false;
                }
                bytes += bytes_now;
                page.push(item);
                true
            };
            match q.index {
                Index::Table => {
                    let lo = (q.pk.as_str(), lo_sk.as_str());
                    let hi = (q.pk.as_str(), hi_sk.as_str());
                    let cursor = after.as_ref().map(|(k, _)| (k.pk.as_str(), k.sk.as_str()));
                    let (start, end) = match (cursor, q.descending) {
                        (Some(c), false) => (Bound::Excluded(c), Bound::Included(hi)),
                        (Some(c), true) => (Bound::Included(lo), Bound::Excluded(c)),
                        (None, _) => (Bound::Included(lo), Bound::Included(hi)),
                    };
                    let range = items.range::<(&str, &str)>((start, end)).map_err(io)?;
                    let iter: Box<dyn Iterator<Item = _>> =
                        if q.descending { Box::new(range.rev()) } else { Box::new(range) };
                    for entry in iter {
                        let (k, v) = entry.map_err(io)?;
                        if !q.sk.contains(k.value().1) {
                            continue;
                        }
                        let raw = v.value();
                        if !take(decode(raw)?, raw.len()) {
                            break;
                        }
                    }
                }
                Index::Gsi1 => {
                    let gsi = txn.open_table(GSI1).map_err(io)?;
                    let lo = (q.pk.as_str(), lo_sk.as_str(), "", "");
                    let hi = (q.pk.as_str(), hi_sk.as_str(), SK_MAX, SK_MAX);
                    let cursor = match &after {
                        Some((k, Some(g))) => Some((g.pk.as_str(), g.sk.as_str(), k.pk.as_str(), k.sk.as_str())),
                        Some((_, None)) => return Err(StoreError::Invalid("malformed cursor".into())),
                        None => None,
                    };
                    let (start, end) = match (cursor, q.descending) {
                        (Some(c), false) => (Bound::Excluded(c), Bound::Included(hi)),
                        (Some(c), true) => (Bound::Included(lo), Bound::Excluded(c)),
                        (None, _) => (Bound::Included(lo), Bound::Included(hi)),
                    };
                    let range = gsi.range::<(&str, &str, &str, &str)>((start, end)).map_err(io)?;
                    let iter: Box<dyn Iterator<Item = _>> =
                        if q.descending { Box::new(range.rev()) } else { Box::new(range) };
                    for entry in iter {
                        let (k, _) = entry.map_err(io)?;
                        let (_, gsk, pk, sk) = k.value();
                        if !q.sk.contains(gsk) {
                            continue;
                        }
                        let Some(v) = items.get((pk, sk)).map_err(io)? else {
                            return Err(StoreError::Corrupt(format!("index entry without item {pk}/{sk}")));
                        };
                        let raw = v.value();
                        if !take(decode(raw)?, raw.len()) {
                            break;
                        }
                    }
                }
            }
            let next = if more { page.last().map(|i| Cursor::encode(&i.key, i.gsi1.as_ref())) } else { None };
            Ok(Page { items: page, next })
        })
        .await
    }
}

fn sk_bounds(sk: &SkRange) -> (String, String) {
    match sk {
        SkRange::All => (String::new(), SK_MAX.to_owned()),
        SkRange::Prefix(p) => (p.clone(), format!("{p}{SK_MAX}")),
        SkRange::Between(a, b) => (a.clone(), b.clone()),
        SkRange::UpTo(b) => (String::new(), b.clone()),
    }
}

fn decode(raw: &[u8]) -> Result<Item> {
    serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn read(items: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>, key: &Key) -> Result<Option<Item>> {
    match items.get((key.pk.as_str(), key.sk.as_str())).map_err(io)? {
        Some(v) => decode(v.value()).map(Some),
        None => Ok(None),
    }
}

fn store(
    items: &mut Table<(&str, &str), &[u8]>,
    gsi: &mut Table<(&str, &str, &str, &str), ()>,
    current: Option<&Item>,
    item: &Item,
) -> Result<()> {
    if let Some(g) = current.and_then(|c| c.gsi1.as_ref()) {
        gsi.remove((g.pk.as_str(), g.sk.as_str(), item.key.pk.as_str(), item.key.sk.as_str())).map_err(io)?;
    }
    let raw = serde_json::to_vec(item).map_err(|e| StoreError::Invalid(e.to_string()))?;
    items.insert((item.key.pk.as_str(), item.key.sk.as_str()), raw.as_slice()).map_err(io)?;
    if let Some(g) = &item.gsi1 {
        gsi.insert((g.pk.as_str(), g.sk.as_str(), item.key.pk.as_str(), item.key.sk.as_str()), ()).map_err(io)?;
    }
    Ok(())
}

fn remove(
    items: &mut Table<(&str, &str), &[u8]>,
    gsi: &mut Table<(&str, &str, &str, &str), ()>,
    current: Option<&Item>,
) -> Result<()> {
    if let Some(c) = current {
        if let Some(g) = &c.gsi1 {
            gsi.remove((g.pk.as_str(), g.sk.as_str(), c.key.pk.as_str(), c.key.sk.as_str())).map_err(io)?;
        }
        items.remove((c.key.pk.as_str(), c.key.sk.as_str())).map_err(io)?;
    }
    Ok(())
}

/// Adds `by` to a counter; `None` when `max` forbids it.
fn add(
    items: &mut Table<(&str, &str), &[u8]>,
    gsi: &mut Table<(&str, &str, &str, &str), ()>,
    key: &Key,
    attr: &str,
    by: i64,
    max: Option<i64>,
) -> Result<Option<i64>> {
    let current = read(items, key)?;
    let value = match current.as_ref().and_then(|i| i.attrs.get(attr)) {
        None => 0,
        Some(v) => v.as_i64().ok_or_else(|| StoreError::Invalid(format!("attribute {attr} is not an integer")))?,
    };
    let new = value.checked_add(by).ok_or_else(|| StoreError::Invalid("counter overflow".into()))?;
    if max.is_some_and(|m| new > m) {
        return Ok(None);
    }
    let mut item = current.clone().unwrap_or_else(|| Item::new(key.clone()));
    item.attrs.insert(attr.to_owned(), new.into());
    store(items, gsi, current.as_ref(), &item)?;
    Ok(Some(new))
}
