//! The waiting lists: freed places given to the requests first come first served (one
//! promoter per day, under a lease), a raised capacity moving its lists, an offer lapsing.

use super::common::{Ctx, SYSTEM, child_names, day};
use super::jobs::{Job, job_op};
use crate::mail::outbox::Mail;
use crate::mail::templates::bookings::{self as emails, WaitingListChange};
use chrono::{DateTime, NaiveDate, Utc};
use domain::booking::{Actor, Booking, ChangedBy};
use domain::config::{Town, Validation};
use domain::operations as rules;
use domain::{ChildId, SiteId, UnitId};
use std::collections::BTreeSet;
use std::time::Duration;
use store::audit;
use store::gate;
use store::repo;
use store::{Cond, Item, Query, SkRange, Store, StoreError, WriteOp, keys};

/// Attempts of one promotion when others race for the same places.
const PROMOTION_TRIES: usize = 400;

/// How far ahead a raised capacity looks for waiting requests, in days.
pub const RAISE_HORIZON_DAYS: u64 = 366;

/// Gives the freed places of `unit` at `site` on `date` to its waiting requests, first come
/// first served, one transaction each: the booking (conditioned on the version read), the
/// place (an `Add` refusing to pass the capacity), the audit entry, the family's emails, and
/// for a manual unit the offer's deadline. One promoter at a time works on a day (a lease, so
/// that thirty cancellations at once do not make thirty promoters race for the same request);
/// a promoter that finds the lease taken leaves the work to its holder, who looks again after
/// releasing it. The capacity and the versions keep it from overbooking or promoting twice even
/// without the lease (one that expired while its holder was still at work). Answers how many
/// it promoted.
pub async fn promote(
    ctx: Ctx<'_>,
    town: &Town,
    unit: &UnitId,
    site: &SiteId,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(promote_or_hand_over(ctx, town, unit, site, date, now).await?.0)
}

/// [`promote`], and whether the work was handed over to another promoter holding the lease.
pub(super) async fn promote_or_hand_over(
    ctx: Ctx<'_>,
    town: &Town,
    unit: &UnitId,
    site: &SiteId,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(usize, bool), StoreError> {
    let Some((a, u)) = town.unit(unit) else { return Ok((0, false)) };
    let (Some(capacity), true) = (u.capacity, u.waiting_list) else { return Ok((0, false)) };
    if town.offering_at(a, u, site, date).is_err() {
        // A closed day: its waiting requests wait for a reopening.
        return Ok((0, false));
    }
    let day = Day { unit, site, date, capacity, manual: u.validation == Validation::Manual };
    let lease = keys::lease(town.id(), &format!("PROMOTE#{unit}#{site}#{date}"));
    let mut promoted = 0;
    loop {
        let nonce = store::secret::id();
        let mut item = Item::new(lease.clone()).with_ttl(now.timestamp() + LEASE_SECONDS);
        item.attrs.insert("nonce".into(), serde_json::Value::from(nonce.clone()));
        match ctx.store.put(item, Some(Cond::NotExistsOrExpired { now: now.timestamp() })).await {
            Ok(()) => {}
            // Another promoter holds the day: it looks again when it is done.
            Err(StoreError::ConditionFailed) => return Ok((promoted, true)),
            Err(e) => return Err(e),
        }
        let mut closed = false;
        let result = promote_held(ctx, town, &day, &mut closed, now).await;
        let cond = Cond::attr_equals("nonce", nonce);
        match ctx.store.delete(&lease, Some(cond)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        promoted += result?;
        if closed {
            return Ok((promoted, false));
        }
        // A place freed while the lease was held was left to this promoter: look again.
        let (free, first) =
            (free_places_of(ctx, town, &day).await?, waiting(ctx, town, &day).await?.into_iter().next());
        if free <= 0 || first.is_none() {
            return Ok((promoted, false));
        }
    }
}

/// How long a promoter's lease on a day lasts if it dies holding it.
const LEASE_SECONDS: i64 = 60;

struct Day<'a> {
    unit: &'a UnitId,
    site: &'a SiteId,
    date: NaiveDate,
    capacity: u32,
    manual: bool,
}

async fn free_places_of(ctx: Ctx<'_>, town: &Town, day: &Day<'_>) -> Result<i64, StoreError> {
    let taken = ctx
        .store
        .get(&keys::capacity(town.id(), day.unit, day.site, day.date))
        .await?
        .and_then(|i| i.attrs.get("taken").and_then(serde_json::Value::as_i64))
        .unwrap_or(0);
    Ok(i64::from(day.capacity) - taken)
}

/// The places free on a unit's day with a capacity (0 without one).
pub async fn free_places(
    store: &Store,
    town: &Town,
    unit: &UnitId,
    site: &SiteId,
    date: NaiveDate,
) -> Result<i64, StoreError> {
    let Some(capacity) = town.unit(unit).and_then(|(_, u)| u.capacity) else { return Ok(0) };
    let day = Day { unit, site, date, capacity, manual: false };
    free_places_of(Ctx { store, public_url: "" }, town, &day).await
}

/// The day's waiting requests in order of arrival.
async fn waiting(ctx: Ctx<'_>, town: &Town, day: &Day<'_>) -> Result<Vec<Booking>, StoreError> {
    let prefix = format!("{}#{}#", day.site, day.unit);
    let all: Vec<Booking> = ctx
        .store
        .query_all(&Query::gsi1(keys::day_of_bookings(town.id(), day.date), SkRange::Prefix(prefix)))
        .await?
        .iter()
        .map(Item::to_value)
        .collect::<Result<_, _>>()?;
    Ok(rules::waiting_order(&all).into_iter().cloned().collect())
}

async fn promote_held(
    ctx: Ctx<'_>,
    town: &Town,
    day: &Day<'_>,
    closed: &mut bool,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let (unit, date, manual) = (day.unit, day.date, day.manual);
    let mut promoted = 0;
    let mut lost = 0u32;
    let mut queue: std::collections::VecDeque<Booking> = std::collections::VecDeque::new();
    for _ in 0..PROMOTION_TRIES {
        if free_places_of(ctx, town, day).await? <= 0 {
            return Ok(promoted);
        }
        if queue.is_empty() {
            queue = waiting(ctx, town, day).await?.into();
        }
        let Some(listed) = queue.pop_front() else { return Ok(promoted) };
        // The index may lag behind the table: read the request itself.
        let Some(item) = ctx.store.get(&keys::booking(town.id(), &listed.child, date, unit)).await? else {
            continue;
        };
        let first: Booking = item.to_value()?;
        let offer_until = manual.then(|| now + town.config().operations.offer_delay());
        let actor = Actor { by: SYSTEM, role: ChangedBy::System, at: now };
        let Some(after) = first.promote(offer_until, actor) else { continue };
        // The day still open, the place within the capacity, the request off the queue.
        let places: Vec<WriteOp> =
            gate::guards(town, &[gate::Move::of(Some(&first), &after)], gate::Arrival::FromQueue)
                .into_iter()
                .map(|g| g.op)
                .collect();
        let email = if manual { WaitingListChange::PlaceOffered } else { WaitingListChange::Booked };
        let mut ops = system_change(ctx, town, (&first, &after), places, "waiting_list.promote", email, now).await?;
        if let Some(until) = offer_until {
            ops.push(job_op(town.id(), &Job::Offer { child: after.child.clone(), unit: unit.clone(), date }, until)?);
        }
        match ctx.store.transact(ops).await {
            Ok(()) => promoted += 1,
            // Full: nothing more to give.
            Err(StoreError::TransactionCanceled { reason: store::CancelReason::OverLimit, .. }) => {
                return Ok(promoted);
            }
            // The day closed (its mark, action 1): its requests wait for a reopening.
            Err(StoreError::TransactionCanceled { index: 1, .. }) => {
                *closed = true;
                return Ok(promoted);
            }
            // The request changed meanwhile (its family cancelled it): read the list again.
            Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => {
                queue.clear();
                backoff(&mut lost).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// The writes of a change the portal made to one booking (a promotion, a lapsed offer): the
/// booking conditioned on the version read, its place, the audit entry, and one email per
/// guardian of its family.
async fn system_change(
    ctx: Ctx<'_>,
    town: &Town,
    (before, after): (&Booking, &Booking),
    places: Vec<WriteOp>,
    action: &str,
    told: WaitingListChange,
    now: DateTime<Utc>,
) -> Result<Vec<WriteOp>, StoreError> {
    let mut ops = vec![repo::booking_write(town.id(), after, Some(before.version))?];
    ops.extend(places);
    ops.push(
        audit::Entry {
            at: now,
            by: SYSTEM.to_owned(),
            action: action.to_owned(),
            target: format!("family/{}", after.family),
            before: serde_json::to_value(before).ok(),
            after: serde_json::to_value(after).ok(),
        }
        .record(town.id())?,
    );
    let names = child_names(ctx.store, town.id(), std::iter::once(&after.child)).await?;
    let record = repo::get_family(ctx.store, town.id(), &after.family).await?;
    for g in record.as_ref().map(|f| f.guardians.as_slice()).unwrap_or_default() {
        let content = emails::WaitingList {
            town: town.config().name.clone(),
            first_name: g.first_name.clone(),
            public_url: ctx.public_url.to_owned(),
            request: day(town, after, &names),
            change: told.clone(),
        }
        .render();
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    Ok(ops)
}

/// A short pause after losing a race, growing a little, with jitter.
async fn backoff(lost: &mut u32) {
    *lost = (*lost + 1).min(6);
    let jitter = u64::from(store::secret::id().as_bytes()[0] % 16);
    tokio::time::sleep(Duration::from_millis(2 * (1 << *lost) + jitter)).await;
}

/// A raised capacity: each day from `from` on with waiting requests for `unit` moves its list.
pub async fn raise(
    ctx: Ctx<'_>,
    town: &Town,
    unit: &UnitId,
    from: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut promoted = 0;
    for date in from.iter_days().take(RAISE_HORIZON_DAYS as usize) {
        let day = repo::bookings_on(ctx.store, town.id(), date).await?;
        let sites: BTreeSet<SiteId> =
            day.iter().filter(|b| &b.unit == unit && b.is_waiting()).map(|b| b.site.clone()).collect();
        for site in sites {
            promoted += promote(ctx, town, unit, &site, date, now).await?;
        }
    }
    Ok(promoted)
}

/// An offered place not decided on in time: the request is refused with the reason, the place
/// passes to the next request.
pub async fn lapse(
    ctx: Ctx<'_>,
    town: &Town,
    child: &ChildId,
    unit: &UnitId,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(item) = ctx.store.get(&keys::booking(town.id(), child, date, unit)).await? else { return Ok(false) };
    let before: Booking = item.to_value()?;
    let actor = Actor { by: SYSTEM, role: ChangedBy::System, at: now };
    let Some(after) = before.lapse_offer(now, actor) else { return Ok(false) };
    let place = repo::move_places(town.id(), (unit, &after.site), date, -1);
    let email = WaitingListChange::NotRetained { reason: after.refusal_reason.clone().unwrap_or_default() };
    let ops = system_change(ctx, town, (&before, &after), vec![place], "waiting_list.offer_lapsed", email, now).await?;
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    promote(ctx, town, unit, &after.site, date, now).await?;
    Ok(true)
}
