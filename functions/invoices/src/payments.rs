//! Payments of invoices: recording one (a receipt numbered in its own series, the invoice's paid
//! sum, the audit entry and the receipt's email, in one transaction conditioned on the invoice's
//! version), counter payments by staff, online payment through PayFiP (start, notification,
//! return, reconciliation), the handover to the Trésor public, the unpaid list and the
//! reminders. The rules are in [`domain::payment`] and [`domain::payfip`].

use crate::corrections;
use crate::payfip::{Gateway, GatewayError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::billing::{Invoice, Online};
use domain::config::Town;
use domain::family::Family;
use domain::payfip::{self, Operation, Outcome, State, Verdict};
use domain::payment::{self, Method, Payment, PaymentRefused};
use domain::{Cents, FamilyRef, TownId};
use edge::http::Problem;
use serde::Serialize;
use services::mail::outbox::Mail;
use services::mail::templates::billing::{DebitAnnounced, PaymentReceived, PaymentReminder};
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Attempts when another change moved the invoice or the sequence meanwhile.
const TRIES: usize = 8;
/// The most PayFiP operations one reconciliation asks about, per town (the next run goes on).
pub const RECONCILE_PER_RUN: usize = 200;
/// The most reminders one run queues (the next run goes on).
pub const REMINDERS_PER_RUN: usize = 500;
/// How many months back the reminders and the unpaid list look.
pub const MONTHS_BACK: u32 = 24;

pub fn refused(r: &PaymentRefused) -> Problem {
    let p = Problem::unprocessable(r.code(), r.french());
    match r.field() {
        Some(field) => p.field(field),
        None => p,
    }
}

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
    let month = p.received_on.format("%Y-%m").to_string();
    Ok(Item::from_value(keys::payment(town, &p.family, &p.number), p)?
        .with_gsi1(Key::new(keys::payments_of_month(town, &month), p.number.as_str())))
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
        month: invoice.month.clone(),
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
        WriteOp::Put { item: payment_item(town.id(), &p)?, cond: Some(Cond::NotExists) },
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
    month: &str,
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
        let details = payment::counter(&invoice, asked, town.today(now)).map_err(|r| refused(&r))?;
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
    month: &str,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Invoice, Problem> {
    for _ in 0..TRIES {
        let invoice = corrections::invoice(store, town.id(), family, month).await?;
        if invoice.online.as_ref().is_some_and(|o| o.in_progress(now)) {
            return Err(in_progress());
        }
        let t = payment::transmit(&invoice, town.today(now), by).map_err(|r| refused(&r))?;
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

pub fn in_progress() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "payment_in_progress",
        "Un paiement en ligne de cette facture est en cours. Attendez sa fin (quelques minutes au plus) avant de réessayer.",
    )
}

fn payfip_unavailable() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "payfip_unavailable",
        "Le paiement en ligne n'est pas proposé par votre commune : réglez cette facture à la régie.",
    )
}

fn payfip_unreachable(e: &GatewayError) -> Problem {
    tracing::warn!(error = %e, "PayFiP call failed");
    Problem::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "payfip_unreachable",
        "Le service de paiement en ligne ne répond pas. Réessayez dans quelques minutes.",
    )
}

/// The stored PayFiP operation; in the reconciliation's list while pending, in staff's while an
/// anomaly.
fn operation_item(town: &TownId, op: &Operation) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::payfip_operation(town, &op.idop), op)?;
    let sk = format!("{}#{}", op.created_at.to_rfc3339(), op.idop);
    Ok(match op.state {
        State::Pending => item.with_gsi1(Key::new(keys::payfip_pending(town), sk)),
        State::Anomaly { .. } => item.with_gsi1(Key::new(keys::payfip_anomalies(town), sk)),
        _ => item,
    })
}

/// The operation's new state, conditioned on its still pending (the notification, the return
/// and the reconciliation at once: one of them settles it).
fn settled(town: &TownId, op: &Operation, state: State) -> Result<WriteOp, StoreError> {
    let after = Operation { state, ..op.clone() };
    Ok(WriteOp::Put {
        item: operation_item(town, &after)?,
        cond: Some(Cond::AttrEquals { name: "state".into(), value: serde_json::Value::from("pending") }),
    })
}

/// What « Payer en ligne » answers: where to send the family.
#[derive(Debug, Serialize)]
pub struct Started {
    pub idop: String,
    pub url: String,
}

/// Starts paying what is left of an invoice online: asks PayFiP for an operation, then stores
/// it with the invoice marked « en cours » (conditioned on the invoice's version, so a second
/// tab is told a payment is in progress).
pub async fn start(
    (store, public_url, gateway): (&Store, &str, Option<&Gateway>),
    town: &Town,
    invoice: &Invoice,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Started, Problem> {
    let (Some(gateway), Some(settings)) = (gateway, town.config().billing.payfip.as_ref()) else {
        return Err(payfip_unavailable());
    };
    if invoice.online.as_ref().is_some_and(|o| o.in_progress(now)) {
        return Err(in_progress());
    }
    let left = payment::payable(invoice).map_err(|r| refused(&r))?;
    let label = format!(
        "{} facture {} {}",
        town.config().name,
        invoice.number,
        domain::billing::month(&invoice.month).map(|(f, _)| domain::fr::month(f)).unwrap_or_default()
    );
    let base = format!("{public_url}/api/towns/{}/payfip", town.id());
    let creation = payfip::creation(
        settings,
        &invoice.number,
        invoice.issued_on.year(),
        left,
        email,
        &label,
        format!("{base}/notification"),
        format!("{base}/return"),
    )
    .map_err(|r| Problem::unprocessable(r.code(), r.french()))?;
    let idop = gateway.create(&creation).await.map_err(|e| payfip_unreachable(&e))?;
    let op = Operation {
        idop: idop.clone(),
        family: invoice.family.clone(),
        month: invoice.month.clone(),
        invoice: invoice.number.clone(),
        refdet: creation.refdet.clone(),
        exer: creation.exer,
        numcli: creation.numcli.clone(),
        amount: left,
        by: email.to_owned(),
        created_at: now,
        state: State::Pending,
    };
    let mut after = invoice.clone();
    after.online = Some(Online { idop: idop.clone(), since: now });
    let ops = vec![
        WriteOp::Put { item: operation_item(town.id(), &op)?, cond: Some(Cond::NotExists) },
        crate::run::invoice_change(town.id(), invoice, &mut after)?,
    ];
    match store.transact(ops).await {
        Ok(()) => Ok(Started { url: gateway.page_of(&idop), idop }),
        // Another tab started one, or a payment or credit note moved the invoice: start again
        // from the page (which shows what happened).
        Err(StoreError::TransactionCanceled { .. }) => Err(in_progress()),
        Err(e) => Err(e.into()),
    }
}

/// An operation's state for the family's page after the return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    Paid,
    Pending,
    Cancelled,
    Refused,
    Expired,
    Anomaly,
}

impl Settled {
    pub fn of(state: &State) -> Settled {
        match state {
            State::Pending => Settled::Pending,
            State::Paid { .. } => Settled::Paid,
            State::Closed { outcome: Outcome::Cancelled, .. } => Settled::Cancelled,
            State::Closed { outcome: Outcome::Refused, .. } => Settled::Refused,
            State::Closed { outcome: Outcome::Expired, .. } => Settled::Expired,
            State::Anomaly { .. } => Settled::Anomaly,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Settled::Paid => "paid",
            Settled::Pending => "pending",
            Settled::Cancelled => "cancelled",
            Settled::Refused => "refused",
            Settled::Expired => "expired",
            Settled::Anomaly => "anomaly",
        }
    }
}

pub async fn operation(store: &Store, town: &TownId, idop: &str) -> Result<Option<Operation>, StoreError> {
    store.get(&keys::payfip_operation(town, idop)).await?.map(|i| i.to_value()).transpose()
}

/// Asks PayFiP about operation `idop` and acts on the answer: records the payment, closes the
/// operation, or records an anomaly. Whatever called it (the notification, the family's return,
/// the reconciliation), and however many times, one payment at most is recorded. `None`: no such
/// operation in this town.
pub async fn settle(
    (store, public_url, gateway): (&Store, &str, &Gateway),
    town: &Town,
    idop: &str,
    now: DateTime<Utc>,
) -> Result<Option<Settled>, Problem> {
    for _ in 0..TRIES {
        let Some(op) = operation(store, town.id(), idop).await? else { return Ok(None) };
        if op.state != State::Pending {
            return Ok(Some(Settled::of(&op.state)));
        }
        let answer = gateway.detail(idop).await.map_err(|e| payfip_unreachable(&e))?;
        let invoice = corrections::invoice(store, town.id(), &op.family, &op.month).await?;
        let result = match payfip::on_invoice(payfip::verdict(&op, &answer, now), &invoice) {
            Verdict::Wait => return Ok(Some(Settled::Pending)),
            Verdict::Pay { numauto } => {
                let household = repo::get_family(store, town.id(), &op.family)
                    .await?
                    .ok_or_else(edge::http::auth::unknown_family)?;
                let draft = Draft {
                    method: Method::Payfip,
                    amount: op.amount,
                    details: (!numauto.is_empty()).then(|| format!("Autorisation n° {numauto}, opération {idop}")),
                    received_on: town.today(now),
                    idop: Some(idop.to_owned()),
                };
                let extra = |p: &Payment| {
                    Ok(vec![settled(town.id(), &op, State::Paid { receipt: p.number.clone(), at: now })?])
                };
                let what = (&draft, Notice::Receipt);
                record_once((store, public_url), town, &household, &invoice, what, extra, now, "PayFiP")
                    .await
                    .map(|_| ())
            }
            Verdict::Close(outcome) => close(store, town, &op, &invoice, State::Closed { outcome, at: now }, now).await,
            Verdict::Anomaly(reason) => {
                let payfip::Answer::Detail(detail) = answer else { return Ok(Some(Settled::Pending)) };
                tracing::warn!(idop, reason, "PayFiP payment does not match its invoice");
                close(store, town, &op, &invoice, State::Anomaly { reason, detail, at: now }, now).await
            }
        };
        match result {
            Ok(()) => {}
            // Another call settled it, or the invoice moved: read again.
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Closes an operation without a payment, and frees its invoice for another attempt.
async fn close(
    store: &Store,
    town: &Town,
    op: &Operation,
    invoice: &Invoice,
    state: State,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let anomaly = matches!(state, State::Anomaly { .. });
    let mut ops = vec![settled(town.id(), op, state.clone())?];
    if invoice.online.as_ref().is_some_and(|o| o.idop == op.idop) {
        let mut after = invoice.clone();
        after.online = None;
        ops.push(crate::run::invoice_change(town.id(), invoice, &mut after)?);
    }
    if anomaly {
        let entry = store::audit::Entry {
            at: now,
            by: "PayFiP".into(),
            action: "invoices.payfip_anomaly".into(),
            target: format!("invoices/{}/{}", op.family, op.month),
            before: None,
            after: serde_json::to_value(Operation { state, ..op.clone() }).ok(),
        };
        ops.push(entry.record(town.id())?);
    }
    store.transact(ops).await
}

/// The town's PayFiP operations still pending, oldest first.
pub async fn pending(store: &Store, town: &TownId, limit: usize) -> Result<Vec<Operation>, StoreError> {
    let q = Query::gsi1(keys::payfip_pending(town), SkRange::All).limit(limit);
    store.query(&q).await?.items.iter().map(Item::to_value).collect()
}

/// The operations PayFiP said paid whose details did not match, newest first.
pub async fn anomalies(store: &Store, town: &TownId, limit: usize) -> Result<Vec<Operation>, StoreError> {
    let q = Query::gsi1(keys::payfip_anomalies(town), SkRange::All).descending().limit(limit);
    store.query(&q).await?.items.iter().map(Item::to_value).collect()
}

/// What a reconciliation did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    pub asked: usize,
    pub paid: usize,
    pub closed: usize,
    pub still_pending: usize,
    pub failed: usize,
}

/// Asks PayFiP about every pending operation of `town` (at most [`RECONCILE_PER_RUN`]): the
/// payments whose notification never came are recorded, the abandoned ones closed once expired.
pub async fn reconcile(
    (store, public_url, gateway): (&Store, &str, &Gateway),
    town: &Town,
    now: DateTime<Utc>,
) -> Result<Reconciled, StoreError> {
    let mut done = Reconciled::default();
    for op in pending(store, town.id(), RECONCILE_PER_RUN).await? {
        done.asked += 1;
        match settle((store, public_url, gateway), town, &op.idop, now).await {
            Ok(Some(Settled::Paid)) => done.paid += 1,
            Ok(Some(Settled::Pending)) => done.still_pending += 1,
            Ok(_) => done.closed += 1,
            Err(p) => {
                tracing::warn!(idop = op.idop, code = p.code, "reconciliation of a PayFiP operation failed");
                done.failed += 1;
            }
        }
    }
    Ok(done)
}

/// The towns that bill (registered at publication), for the scheduled jobs.
pub async fn billing_towns(store: &Store) -> Result<Vec<TownId>, StoreError> {
    let items = store.query_all(&Query::table(keys::BILLING_TOWNS, SkRange::All)).await?;
    Ok(items.iter().filter_map(|i| TownId::parse(&i.key.sk).ok()).collect())
}

/// The months of the last [`MONTHS_BACK`] whose invoices are published, newest first.
async fn published_months(store: &Store, town: &Town, today: NaiveDate) -> Result<Vec<String>, StoreError> {
    let published = crate::publish::publications(store, town.id()).await?;
    let oldest =
        today.checked_sub_months(chrono::Months::new(MONTHS_BACK)).unwrap_or(today).format("%Y-%m").to_string();
    let mut months: Vec<String> =
        published.into_iter().filter(|(m, p)| p.visible(today) && *m >= oldest).map(|(m, _)| m).collect();
    months.sort_by(|a, b| b.cmp(a));
    Ok(months)
}

/// The town's invoices with something left to collect, of its published months.
pub async fn unpaid(store: &Store, town: &Town, today: NaiveDate) -> Result<Vec<Invoice>, StoreError> {
    let mut out = Vec::new();
    for month in published_months(store, town, today).await? {
        out.extend(crate::run::of_month(store, town.id(), &month).await?.into_iter().filter(payment::unpaid));
    }
    Ok(out)
}

/// What a reminders run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Reminded {
    pub queued: usize,
    pub already_sent: usize,
}

/// Queues the reminders due today (the town's `billing.reminders`): each invoice gets each step
/// once, its marker written in the same transaction as its emails; an invoice left to a direct
/// debit gets none.
pub async fn remind(store: &Store, public_url: &str, town: &Town, now: DateTime<Utc>) -> Result<Reminded, StoreError> {
    let today = town.today(now);
    let settings = town.config().billing.reminders;
    let mut done = Reminded::default();
    let mut families = std::collections::BTreeMap::new();
    let mut mandates = std::collections::BTreeMap::new();
    for invoice in unpaid(store, town, today).await? {
        if done.queued >= REMINDERS_PER_RUN {
            break;
        }
        let Some(step) = payment::reminder(&invoice, settings, today) else { continue };
        // Left to the family's direct debit: nothing to remind.
        if !mandates.contains_key(&invoice.family) {
            let m = crate::debits::mandate_of(store, town.id(), &invoice.family).await?;
            mandates.insert(invoice.family.clone(), m);
        }
        if crate::debits::by_debit(town, mandates.get(&invoice.family).and_then(Option::as_ref), &invoice) {
            continue;
        }
        let marker = keys::reminder_sent(town.id(), &invoice.number, step.code());
        if store.get(&marker).await?.is_some() {
            done.already_sent += 1;
            continue;
        }
        if !families.contains_key(&invoice.family) {
            let f = repo::get_family(store, town.id(), &invoice.family).await?;
            families.insert(invoice.family.clone(), f);
        }
        let Some(Some(household)) = families.get(&invoice.family) else { continue };
        let mut ops = vec![WriteOp::Put {
            item: Item::from_value(marker, &serde_json::json!({ "at": now, "step": step.code() }))?,
            cond: Some(Cond::NotExists),
        }];
        for g in &household.guardians {
            let content = reminder_email(public_url, town, &g.first_name, &invoice, step);
            ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
        }
        match store.transact(ops).await {
            Ok(()) => done.queued += 1,
            Err(StoreError::TransactionCanceled { .. }) => done.already_sent += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn reminder_email(
    public_url: &str,
    town: &Town,
    first_name: &str,
    invoice: &Invoice,
    step: payment::Step,
) -> services::mail::outbox::Content {
    PaymentReminder {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: public_url.to_owned(),
        step,
        invoice: invoice.number.clone(),
        // A stored invoice's month always reads.
        month: domain::billing::month(&invoice.month).map_or(invoice.issued_on, |(first, _)| first),
        due_on: invoice.due_on,
        left_to_pay: payment::left_to_pay(invoice),
    }
    .render()
}

/// A scheduled job (docs/payments.md): `reconcile` (every 10 minutes) or `remind` (each morning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    Reconcile,
    Remind,
}

/// Runs `job` for every town that bills; a town that fails is logged and the others go on.
pub async fn run_job(
    (store, towns, public_url, gateway): (&Store, &repo::Towns, &str, &Gateway),
    job: Job,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for id in billing_towns(store).await? {
        let Some(town) = towns.get(&id).await? else { continue };
        match job {
            Job::Reconcile => match reconcile((store, public_url, gateway), &town, now).await {
                Ok(done) => tracing::info!(town = %id, ?done, "PayFiP reconciliation"),
                Err(e) => tracing::warn!(town = %id, error = %e, "PayFiP reconciliation failed"),
            },
            Job::Remind => match remind(store, public_url, &town, now).await {
                Ok(done) => tracing::info!(town = %id, ?done, "payment reminders"),
                Err(e) => tracing::warn!(town = %id, error = %e, "payment reminders failed"),
            },
        }
    }
    Ok(())
}
