//! Stored régularisations ([`domain::regularisation`]): in the family's partition, and,
//! while open, in the town's queue (one index query). A booking's change writes its
//! régularisation in the same transaction as the booking, conditioned on not existing (its key
//! is the booking's cell and new version: a retried change makes none twice); every settlement
//! is conditioned on the version read.

use super::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, repo};
use chrono::{DateTime, Utc};
use domain::billing::Invoice;
use domain::booking::Booking;
use domain::config::Town;
use domain::regularisation::{self, Regularisation};
use domain::{FamilyRef, TownId};

pub fn item(town: &TownId, r: &Regularisation) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::regularisation(town, &r.family, &r.id), r)?;
    Ok(if r.is_open() {
        item.with_gsi1(Key::new(keys::regularisations_open(town), format!("{}#{}", r.at.to_rfc3339(), r.id)))
    } else {
        item
    })
}

/// A new régularisation, written once.
pub fn create(town: &TownId, r: &Regularisation) -> Result<WriteOp, StoreError> {
    Ok(WriteOp::Put { item: item(town, r)?, cond: Some(Cond::NotExists) })
}

/// A régularisation settled (`after`), conditioned on the version read.
pub fn settle(town: &TownId, read: &Regularisation, after: &Regularisation) -> Result<WriteOp, StoreError> {
    Ok(WriteOp::Put { item: item(town, after)?, cond: Some(Cond::version(read.version)) })
}

/// The town's open régularisations, oldest first (one that does not decode is logged and left
/// out: it never blocks the queue nor a month's billing, and stays open).
pub async fn open(store: &Store, town: &TownId) -> Result<Vec<Regularisation>, StoreError> {
    Ok(Item::decode_listed(&store.query_all(&Query::gsi1(keys::regularisations_open(town), SkRange::All)).await?))
}

/// The family's régularisations whose id starts with `prefix` (all with ""); one that does not
/// decode is logged and left out.
pub async fn of_family(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    prefix: &str,
) -> Result<Vec<Regularisation>, StoreError> {
    let q = Query::table(
        keys::family_partition(town, family),
        SkRange::Prefix(format!("{}{prefix}", keys::REGULARISATION_PREFIX)),
    );
    Ok(Item::decode_listed(&store.query_all(&q).await?))
}

pub async fn get(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    id: &str,
) -> Result<Option<Regularisation>, StoreError> {
    store.get(&keys::regularisation(town, family, id)).await?.map(|i| i.to_value()).transpose()
}

/// The writes of a change of a booking of a billed month: the booking (conditioned on the
/// version read) and the régularisation the change makes, if it alters what the booking is
/// billed.
pub async fn billed_change(
    store: &Store,
    town: &Town,
    (before, after): (&Booking, &Booking),
    (at, by): (DateTime<Utc>, &str),
) -> Result<Vec<WriteOp>, StoreError> {
    let mut ops = vec![repo::booking_write(town.id(), after, Some(before.version))?];
    let (Some((_, unit)), Some(family)) =
        (town.unit(&after.unit), repo::get_family(store, town.id(), &after.family).await?)
    else {
        return Ok(ops);
    };
    let month = domain::Month::of(after.date);
    let invoice: Option<Invoice> =
        store.get(&keys::invoice(town.id(), &after.family, month)).await?.map(|i| i.to_value()).transpose()?;
    let earlier = of_family(store, town.id(), &after.family, &regularisation::cell_prefix(after)).await?;
    let child_name = repo::get_child(store, town.id(), &after.child)
        .await?
        .map_or_else(|| after.child.to_string(), |c| format!("{} {}", c.first_name, c.last_name));
    let made = regularisation::for_change(
        before,
        after,
        (unit, &unit.name),
        &family,
        &child_name,
        invoice.as_ref(),
        &earlier,
        (at, by),
    );
    if let Some(r) = made {
        ops.push(create(town.id(), &r)?);
    }
    Ok(ops)
}
