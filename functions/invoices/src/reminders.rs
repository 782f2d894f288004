//! What families still owe: the unpaid invoices of the published months, and the reminders
//! due today (each step once per invoice, its marker written with its emails; none for an
//! invoice left to a direct debit). The rules are in [`domain::payment`].

use crate::mandates;
use chrono::{DateTime, NaiveDate, Utc};
use domain::Month;
use domain::billing::Invoice;
use domain::config::Town;
use domain::payment;
use serde::Serialize;
use services::mail::outbox::Mail;
use services::mail::templates::billing::PaymentReminder;
use store::{Item, Store, StoreError, WriteOp, keys, repo};

/// The most reminders one run queues (the next run goes on).
pub const REMINDERS_PER_RUN: usize = 500;

/// How many months back the reminders and the unpaid list look.
pub const MONTHS_BACK: u32 = 24;

/// The months of the last [`MONTHS_BACK`] whose invoices are published, newest first.
async fn published_months(store: &Store, town: &Town, today: NaiveDate) -> Result<Vec<Month>, StoreError> {
    let published = crate::publish::publications(store, town.id()).await?;
    let oldest = Month::of(today.checked_sub_months(chrono::Months::new(MONTHS_BACK)).unwrap_or(today));
    let mut months: Vec<Month> =
        published.into_iter().filter(|(m, p)| p.visible(today) && *m >= oldest).map(|(m, _)| m).collect();
    months.sort_by(|a, b| b.cmp(a));
    Ok(months)
}

/// The town's invoices with something left to collect, of its published months.
pub async fn unpaid(store: &Store, town: &Town, today: NaiveDate) -> Result<Vec<Invoice>, StoreError> {
    let mut out = Vec::new();
    for month in published_months(store, town, today).await? {
        out.extend(crate::run::of_month(store, town.id(), month).await?.into_iter().filter(payment::unpaid));
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
            let m = mandates::mandate_of(store, town.id(), &invoice.family).await?;
            mandates.insert(invoice.family.clone(), m);
        }
        if mandates::by_debit(town, mandates.get(&invoice.family).and_then(Option::as_ref), &invoice) {
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
        let mut ops =
            vec![WriteOp::create(Item::from_value(marker, &serde_json::json!({ "at": now, "step": step.code() }))?)];
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
        month: invoice.month.first(),
        due_on: invoice.due_on,
        left_to_pay: payment::left_to_pay(invoice),
    }
    .render()
}
