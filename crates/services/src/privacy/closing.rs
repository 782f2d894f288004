//! Closing a family that left: its bookings from today on cancelled, its erasure day set.

use chrono::{DateTime, NaiveDate, Utc};
use domain::booking::{Actor, Booking, BookingStatus, ChangedBy};
use domain::config::Town;
use domain::family::Family;
use domain::privacy as rules;
use domain::{FamilyRef, TownId};
use serde::{Deserialize, Serialize};
use store::audit;
use store::repo;
use store::{Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};

/// Bookings a closing cancels per transaction: each may touch its own counter and its
/// waiting list's job (three actions), within DynamoDB's 100.
const CANCELS_PER_TRANSACTION: usize = 30;

/// A family the town closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    pub closed_on: NaiveDate,
    pub by: String,
    /// When its personal data is erased.
    pub erase_on: NaiveDate,
}

pub async fn closing(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Option<Closing>, StoreError> {
    store.get(&keys::family_closed(town, family)).await?.map(|i| i.to_value()).transpose()
}

/// What closing a family did.
#[derive(Debug, Clone, Serialize)]
pub struct Closed {
    pub closing: Closing,
    /// Its bookings from the closing day on, cancelled (not billed).
    pub cancelled: usize,
}

/// Closes a family that left: its bookings from today on are cancelled (not billed, places
/// freed for the waiting lists), and its data is erased `erase_after_months` later. The
/// guardians keep their access until then (to read and pay their invoices, to export).
/// Closing again is harmless.
pub async fn close(
    ctx: crate::operations::Ctx<'_>,
    town: &Town,
    family: &Family,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Closed, StoreError> {
    let store = ctx.store;
    let today = town.today(now);
    let months = town.config().operations.erase_after_months;
    let closing = match closing(store, town.id(), &family.reference).await? {
        Some(c) => c,
        None => Closing { closed_on: today, by: by.to_owned(), erase_on: rules::erase_on(today, months) },
    };
    let actor = Actor { by, role: ChangedBy::Staff, at: now };
    let mut changes: Vec<(Booking, Booking)> = Vec::new();
    for child in &family.children {
        let far = today.checked_add_days(chrono::Days::new(800)).unwrap_or(today);
        for b in repo::bookings(store, town.id(), child, today, far).await? {
            if b.family == family.reference && b.is_live() && b.attendance.is_none() {
                let after = b.cancel(BookingStatus::Cancelled, false, actor);
                changes.push((b, after));
            }
        }
    }
    let mut promotions = Vec::new();
    for chunk in changes.chunks(CANCELS_PER_TRANSACTION) {
        let mut ops = Vec::new();
        let mut moves = Vec::new();
        for (before, after) in chunk {
            ops.push(repo::booking_write(town.id(), after, Some(before.version))?);
            moves.push(store::gate::Move::of(Some(before), after));
        }
        // The places freed and the waiting requests taken off their queues.
        for g in store::gate::guards(town, &moves, store::gate::Arrival::FromQueue) {
            ops.push(g.op);
            let store::gate::Guarded::Counter { unit, site, date, .. } = g.what else { continue };
            if g.taken >= 0 {
                continue;
            }
            if let Some(op) = crate::operations::promote_op(town, &unit, &site, date, now) {
                ops.push(op);
                promotions.push(crate::operations::Job::Promote { unit, site, date });
            }
        }
        store.transact(ops).await?;
    }
    let marker = Item::from_value(keys::family_closed(town.id(), &family.reference), &closing)?
        .with_gsi1(Key::new(keys::families_closed(town.id()), format!("{}#{}", closing.erase_on, family.reference)));
    let entry = audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "family.close".into(),
        target: format!("family/{}", family.reference),
        before: None,
        after: serde_json::to_value(&closing).ok(),
    };
    store.transact(vec![WriteOp::put(marker), entry.record(town.id())?]).await?;
    for job in &promotions {
        if let Err(e) = crate::operations::run(ctx, town, job, now).await {
            tracing::warn!(error = %e, ?job, "waiting list left to the sweep");
        }
    }
    Ok(Closed { closing, cancelled: changes.len() })
}

/// The closed families whose erasure day has come.
pub async fn due(store: &Store, town: &TownId, today: NaiveDate) -> Result<Vec<FamilyRef>, StoreError> {
    let q = Query::gsi1(keys::families_closed(town), SkRange::UpTo(format!("{today}#~")));
    let items = store.query_all(&q).await?;
    Ok(items.iter().filter_map(|i| FamilyRef::parse(i.key.pk.rsplit("#F#").next()?).ok()).collect())
}
