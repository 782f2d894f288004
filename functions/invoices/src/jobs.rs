//! Billing's scheduled jobs (docs/payments.md), run for every town that bills: the PayFiP
//! reconciliation and the payment reminders.

use crate::payfip::Gateway;
use crate::{reminders, settle};
use chrono::{DateTime, Utc};
use domain::TownId;
use store::{Query, SkRange, Store, StoreError, keys, repo};

/// The towns that bill (registered at publication), for the scheduled jobs.
pub async fn billing_towns(store: &Store) -> Result<Vec<TownId>, StoreError> {
    let items = store.query_all(&Query::table(keys::BILLING_TOWNS, SkRange::All)).await?;
    Ok(items.iter().filter_map(|i| TownId::parse(&i.key.sk).ok()).collect())
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
            Job::Reconcile => match settle::reconcile((store, public_url, gateway), &town, now).await {
                Ok(done) => tracing::info!(town = %id, ?done, "PayFiP reconciliation"),
                Err(e) => tracing::warn!(town = %id, error = %e, "PayFiP reconciliation failed"),
            },
            Job::Remind => match reminders::remind(store, public_url, &town, now).await {
                Ok(done) => tracing::info!(town = %id, ?done, "payment reminders"),
                Err(e) => tracing::warn!(town = %id, error = %e, "payment reminders failed"),
            },
        }
    }
    Ok(())
}
