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
    } else if !r.aids.is_empty() {
        // Settled, with aids given or taken back: the aids' ceilings still count it.
        item.with_gsi1(Key::new(keys::regularisations_aided(town), format!("{}#{}#{}", r.month, r.family, r.id)))
    } else {
        item
    })
}

/// The town's régularisations that gave or took back an aid, open or settled (two index
/// queries): what the aids' ceilings count besides the invoices.
pub async fn aided(store: &Store, town: &TownId) -> Result<Vec<Regularisation>, StoreError> {
    let mut out: Vec<Regularisation> = open(store, town).await?.into_iter().filter(|r| !r.aids.is_empty()).collect();
    out.extend(Item::decode_listed::<Regularisation>(
        &store.query_all(&Query::gsi1(keys::regularisations_aided(town), SkRange::All)).await?,
    ));
    Ok(out)
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

/// The writes of changes of bookings of billed months (one family's, in order): each booking
/// (conditioned on the version read) and the régularisation the change makes, if it alters what
/// the family's month costs ([`regularisation::Rebill`]: the month billed again with the
/// change). Each month changed also moves its mark on (`REGULMONTH#`, conditioned on the count
/// read): two changes of one family's month at once never both compute from the month without
/// the other; the second is refused (`TransactionCanceled`) and is asked again.
pub async fn billed_changes(
    store: &Store,
    town: &Town,
    changes: &[(&Booking, &Booking)],
    (at, by): (DateTime<Utc>, &str),
) -> Result<Vec<WriteOp>, StoreError> {
    let mut ops = Vec::new();
    let mut months: Vec<(FamilyRef, domain::Month)> = Vec::new();
    for (before, after) in changes {
        ops.push(repo::booking_write(town.id(), after, Some(before.version))?);
        let key = (after.family.clone(), domain::Month::of(after.date));
        if !months.contains(&key) {
            months.push(key);
        }
    }
    for (family_ref, month) in months {
        // The mark is read first: a change of this month written after it moves it on, and
        // this one's write, conditioned on the count read, is then refused, whatever it read
        // of the month afterwards.
        let mark = month_mark(store, town.id(), &family_ref, month).await?;
        let Some(family) = repo::get_family(store, town.id(), &family_ref).await? else { continue };
        let invoice: Option<Invoice> =
            store.get(&keys::invoice(town.id(), &family_ref, month)).await?.map(|i| i.to_value()).transpose()?;
        let mut bookings = Vec::new();
        let mut children = std::collections::BTreeMap::new();
        for child in &family.children {
            bookings.extend(repo::bookings(store, town.id(), child, month.first(), month.last()).await?);
            if let Some(c) = repo::get_child(store, town.id(), child).await? {
                children.insert(c.id.clone(), c);
            }
        }
        let earlier = of_family(store, town.id(), &family_ref, &format!("{month}-")).await?;
        let used = aids_used_by(store, town, &family_ref, month).await?;
        let names: std::collections::BTreeMap<_, _> =
            children.values().map(|c| (c.id.clone(), format!("{} {}", c.first_name, c.last_name))).collect();
        let notes: Vec<domain::credit::CreditNote> = match &invoice {
            Some(_) => Item::decode_listed(
                &store
                    .query_all(&Query::table(
                        keys::family_partition(town.id(), &family_ref),
                        SkRange::Prefix(keys::CREDIT_NOTE_PREFIX.into()),
                    ))
                    .await?,
            ),
            None => Vec::new(),
        };
        let mut rebill =
            regularisation::Rebill::new(town, month, (&family, children), bookings, used, invoice.as_ref(), earlier)
                .with_credit_notes(&notes);
        for (before, after) in
            changes.iter().filter(|(_, a)| a.family == family_ref && domain::Month::of(a.date) == month)
        {
            let Some((_, unit)) = town.unit(&after.unit) else { continue };
            let child_name = match names.get(&after.child) {
                Some(n) => n.clone(),
                None => repo::get_child(store, town.id(), &after.child)
                    .await?
                    .map_or_else(|| after.child.to_string(), |c| format!("{} {}", c.first_name, c.last_name)),
            };
            if let Some(r) = rebill.change(before, after, (&unit.name, &child_name), (at, by)) {
                ops.push(create(town.id(), &r)?);
            }
        }
        ops.push(mark);
    }
    Ok(ops)
}

/// The write moving a family's month's régularisation mark on, conditioned on the count read.
async fn month_mark(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    month: domain::Month,
) -> Result<WriteOp, StoreError> {
    let key = keys::regularised_month(town, family, month);
    let read = store.get(&key).await?.and_then(|i| i.to_value::<MonthMark>().ok()).map_or(0, |m| m.changes);
    let item = Item::from_value(key, &MonthMark { changes: read + 1 })?;
    Ok(WriteOp::Put { item, cond: Some(Cond::AtMost { name: "changes".into(), value: read }) })
}

/// How many changes after billing a family's month has had (`REGULMONTH#<month>`).
#[derive(serde::Serialize, serde::Deserialize)]
struct MonthMark {
    changes: i64,
}

/// What the town's aids gave `family` before `month` in their years, from its invoices (one
/// query of its partition, only for a town with an aid under a ceiling).
pub async fn aids_used_by(
    store: &Store,
    town: &Town,
    family: &FamilyRef,
    month: domain::Month,
) -> Result<domain::aid::Used, StoreError> {
    if domain::aid::months_before(town, month).is_empty() {
        return Ok(domain::aid::Used::new());
    }
    let q = Query::table(keys::family_partition(town.id(), family), SkRange::Prefix(keys::INVOICE_PREFIX.into()));
    let invoices: Vec<Invoice> = Item::decode_listed(&store.query_all(&q).await?);
    let regularisations = of_family(store, town.id(), family, "").await?;
    Ok(domain::aid::used(town, month, &invoices, Regularisation::aided(&regularisations)))
}
