//! Publishing a finalised month: its invoices become visible to their families from a date, and
//! each guardian gets « Votre facture de novembre 2026 est disponible » that morning. The
//! publication is one item; each invoice's emails are queued in one transaction with a marker
//! (`SENT#…`, conditioned on not existing), a few dozen invoices per transaction and a few
//! hundred per call, so a retry or a second click queues only what is missing, never twice.

use crate::AppState;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use domain::Month;
use domain::billing::Invoice;
use domain::config::Town;
use domain::credit::Publication;
use domain::delivery::MailKind;
use domain::family::Family;
use serde::Serialize;
use services::mail::outbox::Mail;
use services::mail::templates::billing::InvoicePublished;
use std::collections::{BTreeMap, BTreeSet};
use store::{Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Invoices whose emails are queued in one transaction (two guardians each, with the marker: 75
/// actions at most).
const PER_TRANSACTION: usize = 25;
/// Invoices whose emails one call queues.
const PER_CALL: usize = 400;
/// The hour, town time, the emails of a publication planned for a later day leave.
const MORNING: u32 = 7;

#[derive(Debug, Serialize)]
pub struct Published {
    pub publication: Publication,
    /// Invoices whose emails this call queued.
    pub notified: usize,
    /// Invoices whose emails are still to queue (call again).
    pub remaining: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the month has no invoice")]
    NothingToPublish,
    #[error("the month is published on another date")]
    OtherDate(NaiveDate),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The publications of a town, by month (one query of the runs' partition).
pub async fn publications(store: &Store, town: &domain::TownId) -> Result<BTreeMap<Month, Publication>, StoreError> {
    let items = store.query_all(&Query::table(keys::invoice_runs(town), SkRange::Prefix("PUB#".into()))).await?;
    items.iter().map(|i| i.to_value::<Publication>().map(|p| (p.month, p))).collect()
}

/// When a publication's emails leave: now for today, 7:00 town time on a later day.
fn sending_time(town: &Town, on: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    let morning = on.and_time(NaiveTime::from_hms_opt(MORNING, 0, 0).unwrap_or_default());
    let at = morning.and_local_timezone(town.tz()).earliest().map_or(now, |t| t.with_timezone(&Utc));
    at.max(now)
}

/// Publishes `month` on `on` (already checked), or goes on queuing its emails.
pub async fn publish(
    state: &AppState,
    town: &Town,
    month: Month,
    on: NaiveDate,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Published, PublishError> {
    let store = &state.auth.store;
    let mut invoices = crate::run::of_month(store, town.id(), month).await?;
    if invoices.is_empty() {
        return Err(PublishError::NothingToPublish);
    }
    let key = keys::publication(town.id(), month);
    let publication = match store.get(&key).await? {
        Some(item) => {
            let p: Publication = item.to_value()?;
            if p.on != on {
                return Err(PublishError::OtherDate(p.on));
            }
            p
        }
        None => match record(store, town, month, on, now, by).await {
            Ok(p) => p,
            // Published meanwhile by another click: read it again.
            Err(StoreError::TransactionCanceled { .. }) => {
                return Box::pin(publish(state, town, month, on, now, by)).await;
            }
            Err(e) => return Err(e.into()),
        },
    };
    let sent = notified(store, town, month).await?;
    invoices.retain(|i| !sent.contains(&i.number));
    invoices.sort_by(|a, b| a.number.cmp(&b.number));
    let remaining = invoices.len().saturating_sub(PER_CALL);
    invoices.truncate(PER_CALL);
    let families: BTreeMap<_, Family> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let at = sending_time(town, on, now);
    let mut done = 0;
    for chunk in invoices.chunks(PER_TRANSACTION) {
        let mut ops = Vec::new();
        for invoice in chunk {
            ops.push(WriteOp::create(Item::from_value(
                keys::invoice_notified(town.id(), month, &invoice.number),
                &serde_json::json!({}),
            )?));
            let mandate = crate::mandates::mandate_of(store, town.id(), &invoice.family).await?;
            let due = crate::mandates::due_line(town, mandate.as_ref(), invoice, town.today(now));
            for g in families.get(&invoice.family).map(|f| f.guardians.as_slice()).unwrap_or_default() {
                let content = email(state, town, &g.first_name, invoice, &due);
                let mut mail = Mail::new(town.id(), &g.email, content, now).of_kind(MailKind::Invoice);
                mail.next_attempt_at = at;
                ops.push(mail.enqueue()?);
            }
        }
        match store.transact(ops).await {
            Ok(()) => done += chunk.len(),
            // Another call queued some of these meanwhile: the next call finishes the rest.
            Err(StoreError::TransactionCanceled { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let left = remaining + invoices.len() - done;
    Ok(Published { publication, notified: done, remaining: left })
}

/// Stores the publication of `month` on `on`, audited (the emails are queued by [`publish`]; the
/// demo town, published « on the 1st », writes only this).
pub async fn record(
    store: &Store,
    town: &Town,
    month: Month,
    on: NaiveDate,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Publication, StoreError> {
    let p = Publication { month: month.to_owned(), on, by: by.to_owned(), at: now };
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.publish".into(),
        target: format!("invoices/{month}"),
        before: None,
        after: serde_json::to_value(&p).ok(),
    };
    let put = WriteOp::create(Item::from_value(keys::publication(town.id(), month), &p)?);
    // The town joins the scheduled jobs' list (reminders, PayFiP reconciliation).
    let registered = WriteOp::put(Item::new(keys::billing_town(town.id())));
    store.transact(vec![put, registered, entry.record(town.id())?]).await?;
    Ok(p)
}

/// The invoices of `month` whose emails are queued.
async fn notified(store: &Store, town: &Town, month: Month) -> Result<BTreeSet<String>, StoreError> {
    let prefix = format!("SENT#{month}#");
    let items = store.query_all(&Query::table(keys::invoice_runs(town.id()), SkRange::Prefix(prefix.clone()))).await?;
    Ok(items.iter().filter_map(|i| i.key.sk.strip_prefix(&prefix).map(str::to_owned)).collect())
}

/// The publication's email; `due`: « À payer avant le … », or the direct debit's day.
fn email(
    state: &AppState,
    town: &Town,
    first_name: &str,
    invoice: &Invoice,
    due: &str,
) -> services::mail::outbox::Content {
    InvoicePublished {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: state.public_url.to_string(),
        // A stored invoice's month always reads.
        month: invoice.month.first(),
        number: invoice.number.clone(),
        total: invoice.total,
        due: due.to_owned(),
    }
    .render()
}
