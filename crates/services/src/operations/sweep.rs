//! Running a job now (then deleting it, or keeping a closure's for its second pass), and the
//! scheduled sweep that runs every job left due.

use super::closures::{Closed, close, reopen};
use super::common::Ctx;
use super::jobs::{Job, SETTLE_MINUTES, StoredJob, job_item};
use super::waiting_lists::{lapse, promote_or_hand_over, raise};
use chrono::{DateTime, Utc};
use domain::config::Town;
use store::repo::Towns;
use store::{Cond, Query, SkRange, StoreError, keys};

/// Runs a job now and deletes it once done (if nobody wrote it again meanwhile). A job that
/// fails stays for the sweep. Answers what a closure cancelled.
pub async fn run(ctx: Ctx<'_>, town: &Town, job: &Job, now: DateTime<Utc>) -> Result<Option<Closed>, StoreError> {
    let key = keys::job(town.id(), &job.id());
    let stored = ctx.store.get(&key).await?.map(|i| i.to_value::<StoredJob>()).transpose()?;
    let nonce = stored.as_ref().map(|s| s.nonce.clone()).unwrap_or_default();
    let mut closed = None;
    // A promotion handed over to the promoter already at work stays due: if that one died
    // holding the lease, the sweep finishes the work once the lease expires.
    let mut keep = false;
    match job {
        Job::Close { closures, by } => {
            closed = Some(close(ctx, town, closures, by, now).await?);
        }
        Job::Reopen { closures, by } => {
            reopen(ctx, town, closures, by, now).await?;
        }
        Job::Promote { unit, site, date } => {
            keep = promote_or_hand_over(ctx, town, unit, site, *date, now).await?.1;
        }
        Job::Raise { unit, from } => {
            raise(ctx, town, unit, *from, now).await?;
        }
        Job::Offer { child, unit, date } => {
            lapse(ctx, town, child, unit, *date, now).await?;
        }
    }
    if !nonce.is_empty() && !keep {
        let cond = Cond::attr_equals("nonce", nonce);
        let settle = stored.filter(|s| matches!(s.job, Job::Close { .. }) && s.passes == 0);
        let done = match settle {
            // Once more, later: what the index did not list yet.
            Some(s) => {
                let due = now + chrono::Duration::minutes(SETTLE_MINUTES);
                let again = StoredJob { due, nonce: store::secret::id(), passes: 1, ..s };
                ctx.store.put(job_item(&again)?, Some(cond)).await
            }
            None => ctx.store.delete(&key, Some(cond)).await,
        };
        match done {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(closed)
}

/// Runs every due job of every town (the scheduled sweep); how many ran.
pub async fn sweep(ctx: Ctx<'_>, towns: &Towns, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let upto = format!("{}~", now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let items = ctx.store.query_all(&Query::gsi1(keys::JOBS_DUE, SkRange::UpTo(upto))).await?;
    let mut ran = 0;
    for item in items {
        let stored: StoredJob = item.to_value()?;
        let Some(town) = towns.get(&stored.town).await? else { continue };
        match run(ctx, &town, &stored.job, now).await {
            Ok(_) => ran += 1,
            Err(e) => tracing::warn!(error = %e, job = ?stored.job, "job failed; the next sweep retries it"),
        }
    }
    Ok(ran)
}
