//! Finalising a month: each family with something to pay gets its invoice, numbered per town and
//! year with no gap and no duplicate. Invoices are written a few dozen per transaction together
//! with the year's sequence (conditioned on the value read), so a number is given exactly when
//! its invoice is stored; an invoice's key is its family and month, so a second run, a retry
//! after a crash or two administrators at once issue only what is missing. A call issues at most
//! [`PER_CALL`] invoices (one Lambda invocation); the next call goes on.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use shared::audit;
use shared::domain::billing::{self, Anomaly, Bill, Invoice};
use shared::domain::config::Town;
use shared::domain::family::Family;
use shared::domain::{FamilyRef, TownId};
use shared::store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, repo};
use std::collections::{BTreeMap, BTreeSet};

/// Invoices per transaction (with the sequence and the audit entry: well under 100 actions, and
/// under 4 MB however long their lines).
pub const PER_TRANSACTION: usize = 25;
/// Invoices per call.
pub const PER_CALL: usize = 400;
/// Attempts of one transaction when another run took the numbers meanwhile.
const TRIES: usize = 8;

/// What a call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finalised {
    /// Invoices this call issued.
    pub issued: usize,
    /// Invoices still to issue (another call issues them).
    pub remaining: usize,
    /// The month's invoices in all.
    pub invoices: usize,
    /// The first and last number this call gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numbers: Option<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FinaliseError {
    #[error("{0} requests still wait for a decision")]
    PendingRequests(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored invoice: in its family's partition, and in its month's index.
pub fn invoice_item(town: &TownId, invoice: &Invoice) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::invoice(town, &invoice.family, &invoice.month), invoice)?
        .with_gsi1(Key::new(keys::invoices_of_month(town, &invoice.month), invoice.family.as_str())))
}

/// The write of an invoice's new status (`after`, a changed copy of `read`): its version moved
/// on, conditioned on the version read, so two changes at once (a credit note, a payment, a
/// transmission, a PayFiP operation) never lose one another.
pub fn invoice_change(town: &TownId, read: &Invoice, after: &mut Invoice) -> Result<WriteOp, StoreError> {
    after.version = read.version + 1;
    Ok(WriteOp::Put { item: invoice_item(town, after)?, cond: Some(Cond::version(read.version)) })
}

/// The invoices of `month`, by family (one index query per page); one that does not decode is
/// logged and left out ([`Item::decode_listed`]).
pub async fn of_month(store: &Store, town: &TownId, month: &str) -> Result<Vec<Invoice>, StoreError> {
    let items = store.query_all(&Query::gsi1(keys::invoices_of_month(town, month), SkRange::All)).await?;
    Ok(Item::decode_listed(&items))
}

/// The families already invoiced for `month`, read from the index's keys (an invoice that does
/// not decode still counts: its family is never invoiced twice).
pub async fn invoiced(store: &Store, town: &TownId, month: &str) -> Result<BTreeSet<FamilyRef>, StoreError> {
    let items = store.query_all(&Query::gsi1(keys::invoices_of_month(town, month), SkRange::All)).await?;
    Ok(items.iter().filter_map(|i| FamilyRef::parse(&i.gsi1.as_ref()?.sk).ok()).collect())
}

/// A month's bills, and its anomalies, from the store.
pub async fn month_bills(
    store: &Store,
    town: &Town,
    (first, last): (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Result<(Vec<Bill>, Vec<Anomaly>), StoreError> {
    let families: BTreeMap<_, Family> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let names: BTreeMap<_, String> = repo::all_children(store, town.id())
        .await?
        .into_iter()
        .map(|c| (c.id, format!("{} {}", c.first_name, c.last_name)))
        .collect();
    let bookings = crate::bookings_between(store, town, first, last).await?;
    let (mut bills, anomalies) = billing::bills(town, &families, &bookings, today);
    billing::name_children(&mut bills, &names);
    Ok((bills, anomalies))
}

/// Issues the missing invoices of a month that is over, up to [`PER_CALL`].
pub async fn finalise(
    store: &Store,
    town: &Town,
    month: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
    by: &str,
) -> Result<Finalised, FinaliseError> {
    let today = town.today(now);
    let label = month.0.format("%Y-%m").to_string();
    let (bills, anomalies) = month_bills(store, town, month, today).await?;
    let pending = anomalies.iter().filter(|a| matches!(a, Anomaly::PendingRequest { .. })).count();
    if pending > 0 {
        return Err(FinaliseError::PendingRequests(pending));
    }
    let due: Vec<Bill> = bills.into_iter().filter(Bill::is_due).collect();
    let done = invoiced(store, town.id(), &label).await?;
    let mut todo: Vec<Bill> = due.iter().filter(|b| !done.contains(&b.family)).cloned().collect();
    let remaining_after = todo.len().saturating_sub(PER_CALL);
    todo.truncate(PER_CALL);
    let mut issued = 0;
    let mut numbers: Option<(String, String)> = None;
    for chunk in todo.chunks(PER_TRANSACTION) {
        let mut chunk = chunk.to_vec();
        for attempt in 0.. {
            if chunk.is_empty() {
                break;
            }
            if attempt == TRIES {
                return Err(StoreError::ConditionFailed.into());
            }
            match issue(store, town, &label, &chunk, now, by).await {
                Ok((first, last)) => {
                    issued += chunk.len();
                    numbers = Some((numbers.map_or(first, |n| n.0), last));
                    break;
                }
                // Another run took numbers or issued some of these meanwhile: read again.
                Err(StoreError::TransactionCanceled { .. }) => {
                    let done = invoiced(store, town.id(), &label).await?;
                    chunk.retain(|b| !done.contains(&b.family));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let invoices = invoiced(store, town.id(), &label).await?.len();
    Ok(Finalised { issued, remaining: remaining_after, invoices, numbers })
}

/// One transaction: the year's sequence moved on by the chunk's size, its invoices, the audit
/// entry. The first and last number given.
async fn issue(
    store: &Store,
    town: &Town,
    month: &str,
    chunk: &[Bill],
    now: DateTime<Utc>,
    by: &str,
) -> Result<(String, String), StoreError> {
    let today = town.today(now);
    let year = today.year();
    let count = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
    let (next, sequence) = take_numbers(store, keys::invoice_sequence(town.id(), year), count).await?;
    let total = chunk.iter().fold(shared::domain::Cents::ZERO, |t, b| t + b.total);
    // A transaction writes an item once: the run's count and total are two items.
    let (counted, summed) = keys::invoice_run(town.id(), month);
    let mut ops = vec![
        sequence,
        WriteOp::Add { key: counted, attr: "invoices".into(), by: i64::try_from(count).unwrap_or(i64::MAX), max: None },
        WriteOp::Add { key: summed, attr: "total".into(), by: total.get(), max: None },
    ];
    let mut given = Vec::new();
    for (i, bill) in chunk.iter().enumerate() {
        let number = billing::invoice_number(year, next + i as u64);
        let invoice = Invoice::issue(bill.clone(), month, number.clone(), today, by);
        ops.push(WriteOp::Put { item: invoice_item(town.id(), &invoice)?, cond: Some(Cond::NotExists) });
        given.push((invoice.family, number));
    }
    let entry = audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.finalise".into(),
        target: format!("invoices/{month}"),
        before: None,
        after: serde_json::to_value(&given).ok(),
    };
    ops.push(entry.record(town.id())?);
    store.transact(ops).await?;
    let first = given.first().map(|g| g.1.clone()).unwrap_or_default();
    let last = given.last().map(|g| g.1.clone()).unwrap_or_default();
    Ok((first, last))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sequence {
    next: u64,
}

/// Reads a numbering sequence and returns the first of `count` numbers with the write that takes
/// them, conditioned on the value read: in the transaction that stores what they number, so a
/// number is given exactly when its document is stored.
pub(crate) async fn take_numbers(store: &Store, key: Key, count: u64) -> Result<(u64, WriteOp), StoreError> {
    let current = store.get(&key).await?;
    let next = match &current {
        Some(item) => item.to_value::<Sequence>()?.next,
        None => 1,
    };
    let cond = match current {
        Some(_) => Cond::AttrEquals { name: "next".into(), value: serde_json::Value::from(next) },
        None => Cond::NotExists,
    };
    Ok((next, WriteOp::Put { item: Item::from_value(key, &Sequence { next: next + count })?, cond: Some(cond) }))
}
