//! A closure cancelling what it closes (one family per transaction, with its email), what it
//! would cancel, and a reopening telling the families.

use super::common::{Ctx, child_names, day, mail_id};
use super::jobs::Job;
use super::waiting_lists::promote;
use crate::mail::outbox::Mail;
use crate::mail::templates::BookedDay;
use crate::mail::templates::bookings as emails;
use chrono::{DateTime, NaiveDate, Utc};
use domain::booking::{Actor, Booking, ChangedBy};
use domain::calendar::Closure;
use domain::config::Town;
use domain::family::Family;
use domain::operations as rules;
use domain::{FamilyRef, SiteId, TownId, UnitId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use store::audit;
use store::gate;
use store::repo;
use store::{Store, StoreError, WriteOp};

/// Bookings one transaction changes: each may touch its own places counter, and the last adds
/// the audit entry and one email per guardian, all within DynamoDB's 100 actions.
const BOOKINGS_PER_TRANSACTION: usize = 40;

/// What a closure would cancel, for staff to see before confirming.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// Bookings it cancels (waiting requests stay on their lists).
    pub bookings: usize,
    pub families: usize,
    pub children: usize,
    /// Of those, on days of a month already billed: a credit note corrects them.
    pub billed: usize,
}

/// Every booking of the closures' days.
async fn bookings_of(store: &Store, town: &TownId, closures: &[Closure]) -> Result<Vec<Booking>, StoreError> {
    let days: BTreeSet<NaiveDate> = closures.iter().map(|c| c.date).collect();
    let mut out = Vec::new();
    for d in days {
        out.extend(repo::bookings_on(store, town, d).await?);
    }
    Ok(out)
}

/// What closing `closures` would cancel now.
pub async fn impact(
    store: &Store,
    town: &Town,
    closures: &[Closure],
    now: DateTime<Utc>,
) -> Result<Impact, StoreError> {
    let bookings = bookings_of(store, town.id(), closures).await?;
    let plan = rules::cancellations(closures, &bookings, Actor { by: "", role: ChangedBy::Staff, at: now });
    let months = billed_months(store, town.id(), &plan).await?;
    let all: Vec<&Booking> = plan.iter().flat_map(|f| f.bookings.iter().map(|(b, _)| b)).collect();
    Ok(Impact {
        bookings: all.len(),
        families: plan.len(),
        children: all.iter().map(|b| &b.child).collect::<BTreeSet<_>>().len(),
        billed: all.iter().filter(|b| months.contains(&month(b.date))).count(),
    })
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

async fn billed_months(
    store: &Store,
    town: &TownId,
    plan: &[rules::FamilyCancellation],
) -> Result<BTreeSet<String>, StoreError> {
    let mut billed = BTreeSet::new();
    let dates: BTreeMap<String, NaiveDate> =
        plan.iter().flat_map(|f| &f.bookings).map(|(b, _)| (month(b.date), b.date)).collect();
    for (m, d) in dates {
        if repo::month_billed(store, town, d).await? {
            billed.insert(m);
        }
    }
    Ok(billed)
}

/// What a closure did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Closed {
    pub cancelled: usize,
    pub families: usize,
    /// Bookings of billed months left as billed (a credit note corrects them).
    pub billed: usize,
}

/// Cancels the bookings `closures` close (those the town's configuration still has), one
/// family at a time: its bookings, the places freed, the audit entry and one email per
/// guardian listing its children's cancelled days, in one transaction (or a few, for a family
/// with very many bookings, the email going with the last).
pub async fn close(
    ctx: Ctx<'_>,
    town: &Town,
    closures: &[Closure],
    by: &str,
    now: DateTime<Utc>,
) -> Result<Closed, StoreError> {
    // The configuration as stored now (a sweep's cached copy may be older), and its days marked
    // closed before anything is read: a booking either landed before the mark, and is read
    // below, or reaches the store after it and is refused.
    let Some((fresh, version)) = repo::stored_town(ctx.store, town.id()).await? else {
        return Ok(Closed::default());
    };
    gate::mark(ctx.store, &fresh, version, closures.iter().map(|c| c.date)).await?;
    let town = &fresh;
    let current: Vec<Closure> = closures.iter().filter(|c| town.config().closures.contains(c)).cloned().collect();
    let mut out = Closed::default();
    if current.is_empty() {
        return Ok(out);
    }
    let actor = Actor { by, role: ChangedBy::Staff, at: now };
    for attempt in 0..5 {
        let bookings = bookings_of(ctx.store, town.id(), &current).await?;
        let plan = rules::cancellations(&current, &bookings, actor);
        let billed = billed_months(ctx.store, town.id(), &plan).await?;
        let mut raced = false;
        for family in plan {
            let (kept, todo): (Vec<_>, Vec<_>) =
                family.bookings.into_iter().partition(|(b, _)| billed.contains(&month(b.date)));
            if attempt == 0 {
                out.billed += kept.len();
            }
            if todo.is_empty() {
                continue;
            }
            match close_family(ctx, town, &family.family, &todo, &current, by, now).await {
                Ok(()) => {
                    out.cancelled += todo.len();
                    out.families += 1;
                }
                // A booking changed meanwhile: read the days again.
                Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => raced = true,
                Err(e) => return Err(e),
            }
        }
        if !raced {
            return Ok(out);
        }
        tokio::time::sleep(Duration::from_millis(20 * (attempt + 1) as u64)).await;
    }
    Err(StoreError::Conflict)
}

async fn close_family(
    ctx: Ctx<'_>,
    town: &Town,
    family: &FamilyRef,
    todo: &[(Booking, Booking)],
    closures: &[Closure],
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let record = repo::get_family(ctx.store, town.id(), family).await?;
    let names = child_names(ctx.store, town.id(), todo.iter().map(|(b, _)| &b.child)).await?;
    let chunks: Vec<&[(Booking, Booking)]> = todo.chunks(BOOKINGS_PER_TRANSACTION).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut ops = Vec::new();
        let mut freed: BTreeMap<(UnitId, SiteId, NaiveDate), i64> = BTreeMap::new();
        for (before, after) in chunk.iter() {
            ops.push(repo::booking_write(town.id(), after, Some(before.version))?);
            let places = after.places_from(Some(before));
            if places != 0 && town.unit(&after.unit).is_some_and(|(_, u)| u.capacity.is_some()) {
                *freed.entry((after.unit.clone(), after.site.clone(), after.date)).or_default() += places;
            }
        }
        for ((unit, site, date), by_n) in freed {
            ops.push(repo::move_places(town.id(), (&unit, &site), date, by_n));
        }
        ops.push(
            audit::Entry {
                at: now,
                by: by.to_owned(),
                action: "closure.cancel".into(),
                target: format!("family/{family}"),
                before: None,
                after: serde_json::to_value(chunk.iter().map(|(_, a)| (a.date, &a.child, &a.unit)).collect::<Vec<_>>())
                    .ok(),
            }
            .record(town.id())?,
        );
        if i + 1 == chunks.len() {
            let reasons: BTreeSet<&str> = closures.iter().map(|c| c.reason.as_str()).collect();
            let cancelled: Vec<BookedDay> = todo.iter().map(|(b, _)| day(town, b, &names)).collect();
            for g in record.as_ref().map(|f| f.guardians.as_slice()).unwrap_or_default() {
                let content = emails::ClosureCancellation {
                    town: town.config().name.clone(),
                    first_name: g.first_name.clone(),
                    public_url: ctx.public_url.to_owned(),
                    reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
                    cancelled: cancelled.clone(),
                }
                .render();
                let mut mail = Mail::new(town.id(), &g.email, content, now);
                // Once per family, closure and bookings cancelled, even if the job runs again (a
                // later pass that finds more of the family's bookings tells it of those).
                let job = Job::Close { closures: closures.to_vec(), by: String::new() }.id();
                let batch: Vec<String> =
                    todo.iter().map(|(b, _)| format!("{}/{}/{}", b.child, b.unit, b.date)).collect();
                mail.id = mail_id("close", &format!("{job}#{}", batch.join(",")), family, g.email.as_str());
                ops.push(WriteOp::create(mail.item()?));
            }
        }
        ctx.store.transact(ops).await?;
    }
    Ok(())
}

/// Tells each family whose bookings `closures` had cancelled that the days are open again
/// (nothing is rebooked), and gives the reopened days' places to their waiting lists.
pub async fn reopen(
    ctx: Ctx<'_>,
    town: &Town,
    closures: &[Closure],
    by: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // The marks removed first, as the configuration stored now has the days.
    let Some((fresh, version)) = repo::stored_town(ctx.store, town.id()).await? else { return Ok(0) };
    gate::mark(ctx.store, &fresh, version, closures.iter().map(|c| c.date)).await?;
    let town = &fresh;
    let bookings = bookings_of(ctx.store, town.id(), closures).await?;
    let by_family = rules::reopened(closures, &town.config().closures, &bookings);
    let job = Job::Reopen { closures: closures.to_vec(), by: String::new() }.id();
    for (family, bs) in &by_family {
        let record = repo::get_family(ctx.store, town.id(), family).await?;
        let names = child_names(ctx.store, town.id(), bs.iter().map(|b| &b.child)).await?;
        let reopened: Vec<BookedDay> = bs.iter().map(|b| day(town, b, &names)).collect();
        let mut ops = vec![
            audit::Entry {
                at: now,
                by: by.to_owned(),
                action: "closure.reopen".into(),
                target: format!("family/{family}"),
                before: None,
                after: serde_json::to_value(bs.iter().map(|b| (b.date, &b.child, &b.unit)).collect::<Vec<_>>()).ok(),
            }
            .record(town.id())?,
        ];
        for g in record.as_ref().map(|f: &Family| f.guardians.as_slice()).unwrap_or_default() {
            let content = emails::Reopening {
                town: town.config().name.clone(),
                first_name: g.first_name.clone(),
                public_url: ctx.public_url.to_owned(),
                reopened: reopened.clone(),
            }
            .render();
            let mut mail = Mail::new(town.id(), &g.email, content, now);
            mail.id = mail_id("reopen", &job, family, g.email.as_str());
            ops.push(WriteOp::create(mail.item()?));
        }
        match ctx.store.transact(ops).await {
            // Already told (the job ran before).
            Ok(()) | Err(StoreError::TransactionCanceled { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    // The reopened days' places may go to waiting requests.
    let mut counters = BTreeSet::new();
    for b in bookings.iter().filter(|b| b.is_waiting()) {
        counters.insert((b.unit.clone(), b.site.clone(), b.date));
    }
    for (unit, site, date) in counters {
        promote(ctx, town, &unit, &site, date, now).await?;
    }
    Ok(by_family.len())
}
