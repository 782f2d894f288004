//! Recording payments of invoices: a receipt numbered in its own series, the invoice's paid
//! sum, the audit entry and the guardians' email, in one transaction conditioned on the
//! invoice's version; counter payments by staff, the handover to the Trésor public, and a
//! family's receipts. Online payment is in [`crate::settle`], the unpaid list and reminders in
//! [`crate::reminders`]. The rules are in [`domain::payment`].

use crate::corrections;
use crate::problems::in_progress;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::billing::Invoice;
use domain::config::Town;
use domain::family::Family;
use domain::payment::{self, Method, Payment};
use domain::{Cents, FamilyRef, Month, TownId};
use edge::http::Problem;
use services::mail::outbox::Mail;
use services::mail::templates::billing::{DebitAnnounced, PaymentReceived};
use store::{Item, Key, Store, StoreError, WriteOp, keys, repo};

/// Attempts when another change moved the invoice or the sequence meanwhile.
const TRIES: usize = 8;

/// What the guardians are told when a payment is recorded.
#[derive(Clone, Copy)]
pub enum Notice<'a> {
    /// « Paiement reçu », with the receipt.
    Receipt,
    /// The direct debit's announcement: the day and the account (already masked).
    Debit { on: NaiveDate, account: &'a str },
}

/// A payment about to be recorded.
pub struct Draft {
    pub method: Method,
    pub amount: Cents,
    pub details: Option<String>,
    pub received_on: NaiveDate,
    pub idop: Option<String>,
}

/// The stored receipt: in the family's partition, and by month of receipt in the index.
fn payment_item(town: &TownId, p: &Payment) -> Result<Item, StoreError> {
    let month = Month::of(p.received_on);
    Ok(Item::from_value(keys::payment(town, &p.family, &p.number), p)?
        .with_gsi1(Key::new(keys::payments_of_month(town, month), p.number.as_str())))
}

/// One attempt at recording `draft` on `invoice` (read at its version): the receipt's number,
/// the receipt, the invoice paid (its PayFiP operation closed when it is the one paid), the
/// audit entry, the receipt's email to each guardian, and `extra` (a PayFiP operation's new
/// state). Fails with `TransactionCanceled` when another change got there first.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_once(
    (store, public_url): (&Store, &str),
    town: &Town,
    household: &Family,
    invoice: &Invoice,
    (draft, notice): (&Draft, Notice<'_>),
    extra: impl FnOnce(&Payment) -> Result<Vec<WriteOp>, StoreError>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Payment, StoreError> {
    let year = town.today(now).year();
    let (next, sequence) = crate::run::take_numbers(store, keys::receipt_sequence(town.id(), year), 1).await?;
    let p = Payment {
        number: payment::receipt_number(year, next),
        family: invoice.family.clone(),
        month: invoice.month,
        invoice: invoice.number.clone(),
        amount: draft.amount,
        method: draft.method,
        details: draft.details.clone(),
        received_on: draft.received_on,
        recorded_at: now,
        recorded_by: by.to_owned(),
        idop: draft.idop.clone(),
        rejected: None,
    };
    let mut after = invoice.clone();
    after.paid += draft.amount;
    if after.online.as_ref().is_some_and(|o| Some(&o.idop) == draft.idop.as_ref()) {
        after.online = None;
    }
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.payment".into(),
        target: format!("invoices/{}/{}", invoice.family, invoice.month),
        before: Some(serde_json::json!({ "paid": invoice.paid })),
        after: serde_json::to_value(&p).ok(),
    };
    let mut ops = vec![
        sequence,
        WriteOp::create(payment_item(town.id(), &p)?),
        crate::run::invoice_change(town.id(), invoice, &mut after)?,
        entry.record(town.id())?,
    ];
    for g in &household.guardians {
        let content = match notice {
            Notice::Receipt => receipt_email(public_url, town, &g.first_name, &p, &after),
            Notice::Debit { on, account } => debit_email(public_url, town, &g.first_name, &p, on, account),
        };
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    ops.extend(extra(&p)?);
    store.transact(ops).await?;
    Ok(p)
}

fn receipt_email(
    public_url: &str,
    town: &Town,
    first_name: &str,
    p: &Payment,
    invoice: &Invoice,
) -> services::mail::outbox::Content {
    PaymentReceived {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: public_url.to_owned(),
        invoice: p.invoice.clone(),
        receipt: p.number.clone(),
        amount: p.amount,
        received_on: p.received_on,
        method: p.method.french().to_owned(),
        details: p.details.clone(),
        left_to_pay: payment::left_to_pay(invoice),
    }
    .render()
}

fn debit_email(
    public_url: &str,
    town: &Town,
    first_name: &str,
    p: &Payment,
    on: NaiveDate,
    account: &str,
) -> services::mail::outbox::Content {
    DebitAnnounced {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: public_url.to_owned(),
        invoice: p.invoice.clone(),
        amount: p.amount,
        on,
        account: account.to_owned(),
    }
    .render()
}

/// A payment staff record at the counter: checked against the invoice as read, retried when
/// another change moved it meanwhile; refused while a PayFiP payment of it is in progress.
pub async fn counter(
    (store, public_url): (&Store, &str),
    town: &Town,
    family: &FamilyRef,
    month: Month,
    asked: &payment::Counter,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Payment, Problem> {
    let household = repo::get_family(store, town.id(), family).await?.ok_or_else(edge::http::auth::unknown_family)?;
    for _ in 0..TRIES {
        let invoice = corrections::invoice(store, town.id(), family, month).await?;
        // The family is paying it online right now: wait for PayFiP's answer (minutes), or the
        // invoice could be paid twice.
        if invoice.online.as_ref().is_some_and(|o| o.in_progress(now)) {
            return Err(in_progress());
        }
        let details = payment::counter(&invoice, asked, town.today(now))?;
        let draft =
            Draft { method: asked.method, amount: asked.amount, details, received_on: asked.received_on, idop: None };
        let recorded = record_once(
            (store, public_url),
            town,
            &household,
            &invoice,
            (&draft, Notice::Receipt),
            |_| Ok(Vec::new()),
            now,
            by,
        );
        match recorded.await {
            Ok(p) => return Ok(p),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The family's receipts, newest first (at most `limit`).
pub async fn payments_of(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    limit: usize,
) -> Result<Vec<Payment>, StoreError> {
    corrections::family_records(store, town, family, keys::PAYMENT_PREFIX, limit).await
}

/// The payments of one invoice, oldest first.
pub async fn payments_on(store: &Store, town: &TownId, i: &Invoice) -> Result<Vec<Payment>, StoreError> {
    let mut out: Vec<Payment> =
        payments_of(store, town, &i.family, 500).await?.into_iter().filter(|p| p.invoice == i.number).collect();
    out.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(out)
}

/// Hands an invoice past its due date to the Trésor public (town administrator): no online
/// payment and no reminder afterwards.
pub async fn transmit(
    store: &Store,
    town: &Town,
    family: &FamilyRef,
    month: Month,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Invoice, Problem> {
    for _ in 0..TRIES {
        let invoice = corrections::invoice(store, town.id(), family, month).await?;
        if invoice.online.as_ref().is_some_and(|o| o.in_progress(now)) {
            return Err(in_progress());
        }
        let t = payment::transmit(&invoice, town.today(now), by)?;
        let mut after = invoice.clone();
        after.transmitted = Some(t);
        let entry = store::audit::Entry {
            at: now,
            by: by.to_owned(),
            action: "invoices.transmit".into(),
            target: format!("invoices/{family}/{month}"),
            before: None,
            after: serde_json::to_value(&after.transmitted).ok(),
        };
        let ops = vec![crate::run::invoice_change(town.id(), &invoice, &mut after)?, entry.record(town.id())?];
        match store.transact(ops).await {
            Ok(()) => return Ok(after),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
