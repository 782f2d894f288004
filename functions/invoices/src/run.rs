//! Finalising a month: each family with something to pay gets its invoice, numbered per town and
//! year with no gap and no duplicate. Invoices are written a few dozen per transaction together
//! with the year's sequence (conditioned on the value read), so a number is given exactly when
//! its invoice is stored; an invoice's key is its family and month, so a second run, a retry
//! after a crash or two administrators at once issue only what is missing. A call issues at most
//! [`PER_CALL`] invoices (one Lambda invocation); the next call goes on.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::billing::{self, Anomaly, Bill, Invoice};
use domain::config::Town;
use domain::family::Family;
use domain::{ChildId, FamilyRef, Month, TownId};
use domain::{aid, regularisation};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use store::audit;
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, regularisations, repo};

/// Invoices per transaction (with the sequence and the audit entry: well under 100 actions, and
/// under 4 MB however long their lines).
pub const PER_TRANSACTION: usize = 25;
/// Invoices per call.
pub const PER_CALL: usize = 400;
/// The most writes of one finalising transaction (DynamoDB takes 100).
const MAX_WRITES: usize = 90;
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
    /// What staff must look at: requests still waiting (not billed; billed on a later invoice
    /// if accepted) and days without attendance (billed as booked).
    pub anomalies: Vec<Anomaly>,
}

/// The stored invoice: in its family's partition, and in its month's index.
pub fn invoice_item(town: &TownId, invoice: &Invoice) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::invoice(town, &invoice.family, invoice.month), invoice)?
        .with_gsi1(Key::new(keys::invoices_of_month(town, invoice.month), invoice.family.as_str())))
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
pub async fn of_month(store: &Store, town: &TownId, month: Month) -> Result<Vec<Invoice>, StoreError> {
    let items = store.query_all(&Query::gsi1(keys::invoices_of_month(town, month), SkRange::All)).await?;
    Ok(Item::decode_listed(&items))
}

/// The families already invoiced for `month`, read from the index's keys (an invoice that does
/// not decode still counts: its family is never invoiced twice).
pub async fn invoiced(store: &Store, town: &TownId, month: Month) -> Result<BTreeSet<FamilyRef>, StoreError> {
    let items = store.query_all(&Query::gsi1(keys::invoices_of_month(town, month), SkRange::All)).await?;
    Ok(items.iter().filter_map(|i| FamilyRef::parse(&i.gsi1.as_ref()?.sk).ok()).collect())
}

/// The names staff read for the references a month's bills and anomalies carry.
#[derive(Debug, Default)]
pub struct Names {
    /// « Famille Martin » by family reference.
    pub families: BTreeMap<FamilyRef, String>,
    /// « Léa Martin » by child id.
    pub children: BTreeMap<ChildId, String>,
}

/// A month's bills, and its anomalies, from the store.
pub async fn month_bills(
    store: &Store,
    town: &Town,
    month: (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Result<(Vec<Bill>, Vec<Anomaly>), StoreError> {
    let (bills, anomalies, _) = month_bills_named(store, town, month, today).await?;
    Ok((bills, anomalies))
}

/// A month's bills and anomalies, with the names of the families and children they cite.
pub async fn month_bills_named(
    store: &Store,
    town: &Town,
    (first, last): (NaiveDate, NaiveDate),
    today: NaiveDate,
) -> Result<(Vec<Bill>, Vec<Anomaly>, Names), StoreError> {
    let families: BTreeMap<_, Family> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let records: BTreeMap<ChildId, domain::family::Child> =
        repo::all_children(store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let children: BTreeMap<_, String> =
        records.values().map(|c| (c.id.clone(), format!("{} {}", c.first_name, c.last_name))).collect();
    let bookings = repo::bookings_of_days(store, town.id(), first.iter_days().take_while(|d| *d <= last)).await?;
    let used = aids_used(store, town, Month::of(first)).await?;
    let (mut bills, anomalies) = billing::bills(town, &families, &records, &bookings, today, &used);
    billing::name_children(&mut bills, &children);
    let families = families.into_iter().map(|(r, f)| (r, f.name)).collect();
    Ok((bills, anomalies, Names { families, children }))
}

/// What the town's aids gave before `month` in their years, from the invoices of those months
/// (one index query per month, only for a town with an aid under a ceiling).
pub async fn aids_used(store: &Store, town: &Town, month: Month) -> Result<aid::Used, StoreError> {
    let mut invoices = Vec::new();
    let months = aid::months_before(town, month);
    for m in &months {
        invoices.extend(of_month(store, town.id(), *m).await?);
    }
    let regularisations = if months.is_empty() { Vec::new() } else { regularisations::aided(store, town.id()).await? };
    Ok(aid::used(town, month, &invoices, domain::regularisation::Regularisation::aided(&regularisations)))
}

/// The dry run's view of a month's bills: each with the « Régularisation » lines its invoice
/// will carry (régularisations owed to the town; those owed to the family are deductions under
/// the total, which the total does not show), and a bill for a family with only those.
pub async fn with_regularisations(
    store: &Store,
    town: &TownId,
    bills: Vec<Bill>,
    month: Month,
) -> Result<Vec<Bill>, StoreError> {
    let open = regularisations::open(store, town).await?;
    let mut by_family: BTreeMap<FamilyRef, Option<Bill>> =
        bills.into_iter().map(|b| (b.family.clone(), Some(b))).collect();
    for r in open.iter().filter(|r| r.month < month && !r.gives_back()) {
        by_family.entry(r.family.clone()).or_default();
    }
    Ok(by_family
        .into_iter()
        .filter_map(|(family, bill)| regularisation::apply(bill, &family, &open, month, "à venir").bill)
        .collect())
}

/// Issues the missing invoices of a month that is over, up to [`PER_CALL`]. A request still
/// waiting never blocks it: it is listed with the anomalies. Each invoice takes the family's
/// open régularisations of earlier months ([`regularisation::apply`]).
pub async fn finalise(
    store: &Store,
    town: &Town,
    month: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
    by: &str,
) -> Result<Finalised, StoreError> {
    let today = town.today(now);
    let label = Month::of(month.0);
    let (bills, anomalies) = month_bills(store, town, month, today).await?;
    let mut families: BTreeSet<FamilyRef> = bills.iter().filter(|b| b.is_due()).map(|b| b.family.clone()).collect();
    // A family with only a régularisation to bill gets an invoice too.
    let open = regularisations::open(store, town.id()).await?;
    families.extend(open.iter().filter(|r| r.month < label && !r.gives_back()).map(|r| r.family.clone()));
    let done = invoiced(store, town.id(), label).await?;
    let mut todo: Vec<FamilyRef> = families.into_iter().filter(|f| !done.contains(f)).collect();
    let remaining_before = todo.len();
    todo.truncate(PER_CALL);
    let bills: BTreeMap<FamilyRef, Bill> = bills.into_iter().map(|b| (b.family.clone(), b)).collect();
    let mut issued = 0;
    let mut numbers: Option<(String, String)> = None;
    for chunk in todo.chunks(PER_TRANSACTION) {
        let mut chunk = chunk.to_vec();
        let mut failures = 0;
        while !chunk.is_empty() {
            if failures == TRIES {
                return Err(StoreError::ConditionFailed);
            }
            match issue(store, town, label, &chunk, &bills, now, by).await {
                Ok((given, looked)) => {
                    issued += given.len();
                    if let (Some(first), Some(last)) = (given.first(), given.last()) {
                        numbers = Some((numbers.map_or(first.clone(), |n| n.0), last.clone()));
                    }
                    chunk.drain(..looked.max(1).min(chunk.len()));
                }
                // Another run took numbers or issued some of these, or a régularisation was
                // settled meanwhile: read again.
                Err(StoreError::TransactionCanceled { .. }) => {
                    failures += 1;
                    let done = invoiced(store, town.id(), label).await?;
                    chunk.retain(|f| !done.contains(f));
                }
                Err(e) => return Err(e),
            }
        }
    }
    let invoices = invoiced(store, town.id(), label).await?.len();
    let remaining = remaining_before.saturating_sub(PER_CALL);
    if remaining == 0 && invoices == 0 {
        finalised_empty(store, town, label, now, by).await?;
    }
    Ok(Finalised { issued, remaining, invoices, numbers, anomalies })
}

/// A month with nothing to bill, finalised: its run's day recorded (once: finalising it again
/// changes nothing) with the audit entry, so that it is billed as a month with invoices is
/// (`store::repo::month_billed`: a late change of it is a régularisation, its register closed).
async fn finalised_empty(
    store: &Store,
    town: &Town,
    month: Month,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(), StoreError> {
    let entry = finalise_entry(month, now, by, Some(serde_json::json!([])));
    let ops = vec![
        WriteOp::Put {
            item: Item::from_value(keys::invoice_run_issued(town.id(), month), &Issued { on: town.today(now) })?,
            cond: Some(Cond::NotExists),
        },
        entry.record(town.id())?,
    ];
    match store.transact(ops).await {
        // Already recorded (finalised before, or by a concurrent call).
        Ok(()) | Err(StoreError::TransactionCanceled { index: 0, reason: store::CancelReason::ConditionFailed }) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// One transaction: the year's sequence moved on by the invoices it issues, the invoices (each
/// with the family's open régularisations applied, each settled conditioned on its version),
/// the audit entry. The numbers given.
async fn issue(
    store: &Store,
    town: &Town,
    month: Month,
    chunk: &[FamilyRef],
    bills: &BTreeMap<FamilyRef, Bill>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(Vec<String>, usize), StoreError> {
    let today = town.today(now);
    let year = today.year();
    let open = regularisations::open(store, town.id()).await?;
    let sequence_key = keys::invoice_sequence(town.id(), year);
    let read = read_sequence(store, &sequence_key).await?;
    let mut ops = Vec::new();
    let mut given = Vec::new();
    let mut total = domain::Cents::ZERO;
    let mut looked = 0;
    for family in chunk {
        let number = billing::invoice_number(year, read.0 + given.len() as u64);
        // What one transaction cannot settle waits for the family's next invoice: never a family
        // left without its invoice.
        let mine: Vec<_> = open.iter().filter(|r| &r.family == family).take(MAX_WRITES - 2).cloned().collect();
        let applied = regularisation::apply(bills.get(family).cloned(), family, &mine, month, &number);
        // The rest of the chunk goes in the next transaction.
        if ops.len() + 1 + applied.settled.len() > MAX_WRITES {
            break;
        }
        looked += 1;
        let Some(bill) = applied.bill.filter(Bill::is_due) else { continue };
        total += bill.total;
        let mut invoice = Invoice::issue(bill, month, number.clone(), today, by);
        invoice.deductions = applied.deductions;
        ops.push(WriteOp::create(invoice_item(town.id(), &invoice)?));
        for (read, after) in &applied.settled {
            ops.push(regularisations::settle(town.id(), read, after)?);
        }
        given.push((invoice.family, number));
    }
    if given.is_empty() {
        return Ok((Vec::new(), looked));
    }
    let count = u64::try_from(given.len()).unwrap_or(u64::MAX);
    let sequence = sequence_write(sequence_key, read, count)?;
    // A transaction writes an item once: the run's count and total are two items.
    let (counted, summed) = keys::invoice_run(town.id(), month);
    ops.push(sequence);
    ops.push(WriteOp::Add {
        key: counted,
        attr: "invoices".into(),
        by: i64::try_from(count).unwrap_or(i64::MAX),
        max: None,
    });
    ops.push(WriteOp::Add { key: summed, attr: "total".into(), by: total.get(), max: None });
    ops.push(WriteOp::Put {
        item: Item::from_value(keys::invoice_run_issued(town.id(), month), &Issued { on: today })?,
        cond: None,
    });
    let entry = finalise_entry(month, now, by, serde_json::to_value(&given).ok());
    ops.push(entry.record(town.id())?);
    store.transact(ops).await?;
    Ok((given.into_iter().map(|g| g.1).collect(), looked))
}

/// The audit entry of a finalising call that issued `given` (the numbers, or none).
fn finalise_entry(month: Month, now: DateTime<Utc>, by: &str, given: Option<serde_json::Value>) -> audit::Entry {
    audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.finalise".into(),
        target: format!("invoices/{month}"),
        before: None,
        after: given,
    }
}

/// The day a month's invoices were last issued.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Issued {
    pub on: NaiveDate,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sequence {
    next: u64,
}

/// Reads a numbering sequence and returns the first of `count` numbers with the write that takes
/// them, conditioned on the value read: in the transaction that stores what they number, so a
/// number is given exactly when its document is stored.
pub(crate) async fn take_numbers(store: &Store, key: Key, count: u64) -> Result<(u64, WriteOp), StoreError> {
    let read = read_sequence(store, &key).await?;
    Ok((read.0, sequence_write(key, read, count)?))
}

/// The next number of a sequence, and whether it exists yet.
async fn read_sequence(store: &Store, key: &Key) -> Result<(u64, bool), StoreError> {
    Ok(match store.get(key).await? {
        Some(item) => (item.to_value::<Sequence>()?.next, true),
        None => (1, false),
    })
}

/// The write that takes `count` numbers from the sequence as read.
fn sequence_write(key: Key, (next, exists): (u64, bool), count: u64) -> Result<WriteOp, StoreError> {
    let cond = if exists { Cond::attr_equals("next", next) } else { Cond::NotExists };
    Ok(WriteOp::Put { item: Item::from_value(key, &Sequence { next: next + count })?, cond: Some(cond) })
}
