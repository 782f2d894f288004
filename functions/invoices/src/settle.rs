//! Paying an invoice online through PayFiP: starting an operation (the invoice marked « en
//! cours »), settling it from PayFiP's answer whoever asks (the notification, the family's
//! return, the reconciliation), at most one payment recorded, and the reconciliation of the
//! operations still pending. The rules are in [`domain::payfip`].

use crate::corrections;
use crate::payfip::{Gateway, GatewayError};
use crate::payments::{Draft, Notice, record_once};
use crate::problems::in_progress;
use chrono::{DateTime, Datelike, Utc};
use domain::TownId;
use domain::billing::{Invoice, Online};
use domain::config::Town;
use domain::payfip::{self, Operation, Outcome, State, Verdict};
use domain::payment::{self, Method, Payment};
use edge::http::Problem;
use serde::Serialize;
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Attempts when another change moved the invoice or the operation meanwhile.
const TRIES: usize = 8;
/// The most PayFiP operations one reconciliation asks about, per town (the next run goes on).
pub const RECONCILE_PER_RUN: usize = 200;

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
    Ok(WriteOp::Put { item: operation_item(town, &after)?, cond: Some(Cond::attr_equals("state", "pending")) })
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
    let left = payment::payable(invoice)?;
    let label = format!("{} facture {} {}", town.config().name, invoice.number, invoice.month.french());
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
    )?;
    let idop = gateway.create(&creation).await.map_err(|e| payfip_unreachable(&e))?;
    let op = Operation {
        idop: idop.clone(),
        family: invoice.family.clone(),
        month: invoice.month,
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
        WriteOp::create(operation_item(town.id(), &op)?),
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
        let invoice = corrections::invoice(store, town.id(), &op.family, op.month).await?;
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
