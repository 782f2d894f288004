//! The queries above the store's primitives, written once for both backends.

use super::{Item, Key, Query, SkRange, Store, StoreError, keys};
use crate::WriteOp;
use domain::config::{Town, TownConfig};
use domain::family::{Child, Family};
use domain::{ChildId, FamilyRef, TownId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Serialize, Deserialize)]
struct StoredTown {
    config: TownConfig,
    /// Bumped by every write; staff edits are conditioned on the version they read.
    #[serde(default)]
    version: u64,
}

/// A town and when it was read.
type Cached = (Instant, Arc<Town>);

/// Town configurations, cached in the process for `ttl` (a Lambda keeps it across
/// invocations; a change made elsewhere shows after at most `ttl`).
#[derive(Clone)]
pub struct Towns {
    store: Store,
    ttl: Duration,
    cache: Arc<RwLock<HashMap<TownId, Cached>>>,
}

impl Towns {
    pub fn new(store: Store, ttl: Duration) -> Towns {
        Towns { store, ttl, cache: Arc::default() }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The same cache, read through `store` (a function's own handle, held to its grants): the
    /// local portal, one process, shares one cache between its functions; each Lambda has its own.
    pub fn through(&self, store: Store) -> Towns {
        Towns { store, ttl: self.ttl, cache: self.cache.clone() }
    }

    pub async fn get(&self, id: &TownId) -> Result<Option<Arc<Town>>, StoreError> {
        if let Ok(cache) = self.cache.read()
            && let Some((at, town)) = cache.get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(town.clone()));
        }
        let Some(item) = self.store.get(&keys::town_config(id)).await? else {
            return Ok(None);
        };
        let stored: StoredTown = item.to_value()?;
        // A stored configuration passed the checks when written; failing now means the
        // checks grew stricter, which must be fixed by a migration, not hidden.
        let town = Town::try_from(stored.config).map_err(|e| StoreError::Corrupt(format!("town {id}: {e}")))?;
        let town = Arc::new(town);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(id.clone(), (Instant::now(), town.clone()));
        }
        Ok(Some(town))
    }

    /// Stores a checked configuration (the operator's provisioning); answers whether the town
    /// is new.
    pub async fn put(&self, town: &Town) -> Result<bool, StoreError> {
        let key = keys::town_config(town.id());
        let (version, before) = match self.store.get(&key).await? {
            Some(item) => {
                let stored = item.to_value::<StoredTown>()?;
                (stored.version, stored.config.closures)
            }
            None => (0, Vec::new()),
        };
        let item = Item::from_value(key, &StoredTown { config: town.config().clone(), version: version + 1 })?;
        let registered = WriteOp::Put { item: Item::new(keys::town_registered(town.id())), cond: None };
        self.store.transact(vec![WriteOp::Put { item, cond: None }, registered]).await?;
        // The days it closes or reopens, marked as the store orders bookings against them.
        let days = before.iter().chain(&town.config().closures).map(|c| c.date);
        crate::gate::mark(&self.store, town, version + 1, days).await?;
        self.forget(town.id());
        Ok(version == 0)
    }

    /// The stored configuration and its version, read now (not from the cache).
    pub async fn get_versioned(&self, id: &TownId) -> Result<Option<(Town, u64)>, StoreError> {
        stored_town(&self.store, id).await
    }

    /// Replaces the configuration if it is still at `expected` (with `extra` writes in the same
    /// transaction, an audit entry say); `TransactionCanceled { index: 0 }` if it changed.
    pub async fn replace(&self, town: &Town, expected: u64, extra: Vec<super::WriteOp>) -> Result<u64, StoreError> {
        let item = Item::from_value(
            keys::town_config(town.id()),
            &StoredTown { config: town.config().clone(), version: expected + 1 },
        )?;
        // A town stored before versions existed has none: 0 then means "no version yet".
        let cond = (expected > 0)
            .then(|| super::Cond::AttrEquals { name: "version".into(), value: serde_json::Value::from(expected) });
        let mut ops = vec![super::WriteOp::Put { item, cond }];
        ops.push(WriteOp::Put { item: Item::new(keys::town_registered(town.id())), cond: None });
        ops.extend(extra);
        self.store.transact(ops).await?;
        self.forget(town.id());
        Ok(expected + 1)
    }

    fn forget(&self, id: &TownId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(id);
        }
    }
}

/// A town's stored configuration and its version, read now (what a job acts on: never a
/// cached copy).
pub async fn stored_town(store: &Store, id: &TownId) -> Result<Option<(Town, u64)>, StoreError> {
    let Some(item) = store.get(&keys::town_config(id)).await? else { return Ok(None) };
    let stored: StoredTown = item.to_value()?;
    let town = Town::try_from(stored.config).map_err(|e| StoreError::Corrupt(format!("town {id}: {e}")))?;
    Ok(Some((town, stored.version)))
}

/// Every town provisioned (or configured since the list exists).
pub async fn town_ids(store: &Store) -> Result<Vec<TownId>, StoreError> {
    let items = store.query_all(&Query::table(keys::TOWNS, SkRange::All)).await?;
    Ok(items.iter().filter_map(|i| TownId::parse(&i.key.sk).ok()).collect())
}

/// Stores a family; the record sits in the index under its town, so listing a town's families
/// is one index query.
pub async fn put_family(store: &Store, town: &TownId, family: &Family) -> Result<(), StoreError> {
    store.put(family_item(town, family)?, None).await
}

pub async fn get_family(store: &Store, town: &TownId, reference: &FamilyRef) -> Result<Option<Family>, StoreError> {
    store.get(&keys::family(town, reference)).await?.map(|i| i.to_value()).transpose()
}

/// A child's record, listed in the town's index of children.
pub fn child_item(town: &TownId, child: &Child) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::child(town, &child.id), child)?
        .with_gsi1(Key::new(keys::children_of_town(town), format!("C#{}", child.id))))
}

/// A family's record, listed in the town's index of families.
pub fn family_item(town: &TownId, family: &Family) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::family(town, &family.reference), family)?
        .with_gsi1(keys::family_in_town(town, &family.reference)))
}

pub async fn put_child(store: &Store, town: &TownId, child: &Child) -> Result<(), StoreError> {
    store.put(child_item(town, child)?, None).await
}

/// Every child of the town (one index query per 1 MB page).
pub async fn all_children(store: &Store, town: &TownId) -> Result<Vec<Child>, StoreError> {
    store
        .query_all(&Query::gsi1(keys::children_of_town(town), SkRange::All))
        .await
        .map(|items| Item::decode_listed(&items))
}

/// Every family of the town.
pub async fn all_families(store: &Store, town: &TownId) -> Result<Vec<Family>, StoreError> {
    store
        .query_all(&Query::gsi1(keys::families_of_town(town), SkRange::All))
        .await
        .map(|items| Item::decode_listed(&items))
}

pub async fn get_child(store: &Store, town: &TownId, id: &ChildId) -> Result<Option<Child>, StoreError> {
    store.get(&keys::child(town, id)).await?.map(|i| i.to_value()).transpose()
}

/// A child's bookings from `from` to `to` included, in one query.
pub async fn bookings(
    store: &Store,
    town: &TownId,
    child: &ChildId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<domain::booking::Booking>, StoreError> {
    let (pk, lo, hi) = keys::bookings_between(town, child, from, to);
    store.query_all(&Query::table(pk, SkRange::Between(lo, hi))).await?.iter().map(Item::to_value).collect()
}

/// The places taken for a unit at a site, by date, from `from` to `to`.
pub async fn places_taken(
    store: &Store,
    town: &TownId,
    unit: &domain::UnitId,
    site: &domain::SiteId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<HashMap<chrono::NaiveDate, i64>, StoreError> {
    let items = counters_between(store, town, (unit, site), from, to).await?;
    Ok(items.iter().filter_map(|i| Some((i.key.sk.parse().ok()?, i.attrs.get("taken")?.as_i64()?))).collect())
}

/// The capacity counters of a unit at a site from `from` to `to` (one partition a day): one
/// batch read per hundred days.
async fn counters_between(
    store: &Store,
    town: &TownId,
    (unit, site): (&domain::UnitId, &domain::SiteId),
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<Item>, StoreError> {
    let keys: Vec<Key> =
        from.iter_days().take_while(|d| *d <= to).map(|d| keys::capacity(town, unit, site, d)).collect();
    store.get_many(&keys).await
}

/// The places claimed for a unit at a site, by date, from `from` to `to`: those taken and those
/// asked for on the waiting list (a day with anyone waiting is full for a newcomer).
pub async fn places_claimed(
    store: &Store,
    town: &TownId,
    unit: &domain::UnitId,
    site: &domain::SiteId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<HashMap<chrono::NaiveDate, i64>, StoreError> {
    let items = counters_between(store, town, (unit, site), from, to).await?;
    let n = |i: &Item, a: &str| i.attrs.get(a).and_then(serde_json::Value::as_i64).unwrap_or(0);
    Ok(items.iter().filter_map(|i| Some((i.key.sk.parse().ok()?, n(i, "taken") + n(i, "waiting").max(0)))).collect())
}

/// The write that moves the places taken for a unit at a site on `date` by `by` (negative:
/// freed), not bounded by the capacity: the town's own changes (attendance marked, a closure's
/// cancellations, an offer lapsing), which the capacity does not refuse.
pub fn move_places(
    town: &TownId,
    (unit, site): (&domain::UnitId, &domain::SiteId),
    date: chrono::NaiveDate,
    by: i64,
) -> WriteOp {
    WriteOp::Add { key: keys::capacity(town, unit, site, date), attr: "taken".into(), by, max: None }
}

/// The item of a booking, listed in the index under its day (attendance lists, kitchen counts,
/// the staff's requests queue read a day's bookings in one query).
pub fn booking_item(town: &TownId, b: &domain::booking::Booking) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::booking(town, &b.child, b.date, &b.unit), b)?.with_gsi1(keys::booking_on_day(town, b)))
}

/// The write of a booking changed from the `expected` version it was read at (`None`: a new
/// one): it fails if anyone changed it meanwhile.
pub fn booking_write(
    town: &TownId,
    b: &domain::booking::Booking,
    expected: Option<u64>,
) -> Result<WriteOp, StoreError> {
    Ok(WriteOp::Put { item: booking_item(town, b)?, cond: Some(super::Cond::at_version(expected)) })
}

/// Writes booking changes (each as read, and as changed) in transactions of `per_transaction`,
/// each with the audit entry `entry` makes for its part; how many were written. A booking
/// changed meanwhile cancels its transaction (`TransactionCanceled`), and the ones after it
/// are not written.
pub async fn write_changes(
    store: &Store,
    town: &TownId,
    changes: &[(domain::booking::Booking, domain::booking::Booking)],
    per_transaction: usize,
    entry: impl Fn(&[(domain::booking::Booking, domain::booking::Booking)]) -> crate::audit::Entry,
) -> Result<usize, StoreError> {
    let mut done = 0;
    for chunk in changes.chunks(per_transaction.max(1)) {
        let mut ops = Vec::new();
        for (before, after) in chunk {
            ops.push(booking_write(town, after, Some(before.version))?);
        }
        ops.push(entry(chunk).record(town)?);
        store.transact(ops).await?;
        done += chunk.len();
    }
    Ok(done)
}

/// Whether the month of `date` is billed (finalised, with or without invoices, or any invoice of
/// it exists): its bookings and attendance no longer change; a correction is a credit note or a
/// régularisation. One read, and one index query of one item when the month has no run recorded.
pub async fn month_billed(store: &Store, town: &TownId, date: chrono::NaiveDate) -> Result<bool, StoreError> {
    let month = domain::Month::of(date);
    // Finalised: the day its invoices were issued is recorded, also when it had none to issue
    // (runs issued before that day was recorded have their invoices).
    if store.get(&keys::invoice_run_issued(town, month)).await?.is_some() {
        return Ok(true);
    }
    let page = store.query(&Query::gsi1(keys::invoices_of_month(town, month), SkRange::All).limit(1)).await?;
    Ok(!page.items.is_empty())
}

/// Every booking of the town on `date`, any status (one index query per 1 MB page).
pub async fn bookings_on(
    store: &Store,
    town: &TownId,
    date: chrono::NaiveDate,
) -> Result<Vec<domain::booking::Booking>, StoreError> {
    store
        .query_all(&Query::gsi1(keys::day_of_bookings(town, date), SkRange::All))
        .await?
        .iter()
        .map(Item::to_value)
        .collect()
}

/// Days of bookings read at once from the day index.
const CONCURRENT_DAYS: usize = 8;

/// Every booking of the town on each of `days`, any status, read from the day index a few days
/// at once (a billing month, a week of kitchen counts, the requests queue's days).
pub async fn bookings_of_days(
    store: &Store,
    town: &TownId,
    days: impl IntoIterator<Item = chrono::NaiveDate>,
) -> Result<Vec<domain::booking::Booking>, StoreError> {
    use futures::StreamExt;
    let reads = days.into_iter().map(|date| async move { bookings_on(store, town, date).await });
    let read: Vec<_> = futures::stream::iter(reads).buffered(CONCURRENT_DAYS).collect().await;
    let mut out = Vec::new();
    for day in read {
        out.extend(day?);
    }
    Ok(out)
}

/// The family a child belongs to (the first, for a child shared by separated parents).
pub async fn family_of_child(store: &Store, town: &TownId, child: &ChildId) -> Result<Option<Family>, StoreError> {
    Ok(families_of_child(store, town, child).await?.into_iter().next())
}

/// Every family a child belongs to (two for a child shared by separated parents).
pub async fn families_of_child(store: &Store, town: &TownId, child: &ChildId) -> Result<Vec<Family>, StoreError> {
    Ok(all_families(store, town).await?.into_iter().filter(|f| f.children.contains(child)).collect())
}
