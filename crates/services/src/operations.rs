//! Town operations over the store: a closure cancelling what it closes, a reopening telling the
//! families, the waiting list moving when a place frees, an offer lapsing. The rules are in
//! `domain::operations` and `domain::booking`; this is where they are read and written.
//!
//! Each operation a request starts is first recorded as a **job** in the transaction of the
//! change that calls for it (the configuration that closes days, the cancellation that frees a
//! place), then run at once by the same request, then deleted. A job a crash interrupted is
//! still there: the scheduled sweep (`sweep`, every few minutes) runs it again. Every job is
//! idempotent: it reads what is still to do (a booking already cancelled is not cancelled twice,
//! a family already emailed has nothing left to be emailed about).

use crate::mail::outbox::Mail;
use crate::mail::templates::{self, Section};
use chrono::{DateTime, NaiveDate, Utc};
use domain::booking::{Actor, Booking, ChangedBy};
use domain::calendar::Closure;
use domain::config::{Town, Validation};
use domain::family::Family;
use domain::operations as rules;
use domain::{ChildId, FamilyRef, SiteId, TownId, UnitId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;
use store::audit;
use store::gate;
use store::repo::{self, Towns};
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};

/// Who the portal's own changes are by, in histories and the audit trail.
pub const SYSTEM: &str = "liste d'attente";

/// Bookings one transaction changes: each may touch its own places counter, and the last adds
/// the audit entry and one email per guardian, all within DynamoDB's 100 actions.
const BOOKINGS_PER_TRANSACTION: usize = 40;
/// Attempts of one promotion when others race for the same places.
const PROMOTION_TRIES: usize = 400;
/// How far ahead a raised capacity looks for waiting requests, in days.
pub const RAISE_HORIZON_DAYS: u64 = 366;

/// What is left to do after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Cancel the bookings these closures close (those still in the town's configuration).
    Close { closures: Vec<Closure>, by: String },
    /// Tell the families whose bookings these closures had cancelled that the days reopened.
    Reopen { closures: Vec<Closure>, by: String },
    /// Give a unit's freed places of a day to its waiting list.
    Promote { unit: UnitId, site: SiteId, date: NaiveDate },
    /// A unit's capacity was raised: its waiting lists from `from` on may move.
    Raise { unit: UnitId, from: NaiveDate },
    /// An offered place staff may not have decided on by `due`.
    Offer { child: ChildId, unit: UnitId, date: NaiveDate },
}

impl Job {
    /// The job's id in its town: the same work has the same id (written twice, it is one job).
    fn id(&self) -> String {
        match self {
            Job::Close { closures, .. } | Job::Reopen { closures, .. } => {
                let kind = if matches!(self, Job::Close { .. }) { "CLOSE" } else { "REOPEN" };
                let digest = store::secret::digest(&serde_json::to_string(closures).unwrap_or_default());
                format!("{kind}#{}", &digest[..24])
            }
            Job::Promote { unit, site, date } => format!("PROMOTE#{unit}#{site}#{date}"),
            Job::Raise { unit, from } => format!("RAISE#{unit}#{from}"),
            Job::Offer { child, unit, date } => format!("OFFER#{child}#{unit}#{date}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredJob {
    town: TownId,
    job: Job,
    due: DateTime<Utc>,
    /// Changes at every write, so that the run that finishes deletes only what it read.
    nonce: String,
    /// Runs done already (a closure runs twice: see [`SETTLE_MINUTES`]).
    #[serde(default)]
    passes: u32,
}

/// A closure's cancellation pass reads the days' bookings from the index, which DynamoDB updates
/// a moment after the table: its job stays due once more, this many minutes later, so that a
/// booking that landed just before the closure's mark and was not listed yet is cancelled too.
pub const SETTLE_MINUTES: i64 = 5;

/// The write that records `job`, due at `due` (now, or an offer's end).
pub fn job_op(town: &TownId, job: &Job, due: DateTime<Utc>) -> Result<WriteOp, StoreError> {
    let stored = StoredJob { town: town.clone(), job: job.clone(), due, nonce: store::secret::id(), passes: 0 };
    Ok(WriteOp::Put { item: job_item(&stored)?, cond: None })
}

/// A job's item, listed by when it is due.
fn job_item(stored: &StoredJob) -> Result<Item, StoreError> {
    let (town, id) = (&stored.town, stored.job.id());
    let sk = format!("{}#{town}#{id}", stored.due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    Ok(Item::from_value(keys::job(town, &id), stored)?.with_gsi1(Key::new(keys::JOBS_DUE, sk)))
}

/// The promotion job for a place freed on a unit with a waiting list (`None` otherwise).
pub fn promote_op(town: &Town, unit: &UnitId, site: &SiteId, date: NaiveDate, now: DateTime<Utc>) -> Option<WriteOp> {
    // A place freed on a day gone by (a decision after billing) is offered to nobody.
    if date < town.today(now) {
        return None;
    }
    let (_, u) = town.unit(unit)?;
    (u.waiting_list && u.capacity.is_some())
        .then(|| job_op(town.id(), &Job::Promote { unit: unit.clone(), site: site.clone(), date }, now).ok())
        .flatten()
}

/// Where links in the emails lead, and the store.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub public_url: &'a str,
}

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
        let cond = Cond::AttrEquals { name: "nonce".into(), value: serde_json::Value::from(nonce) };
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
            ops.push(WriteOp::Add {
                key: keys::capacity(town.id(), &unit, &site, date),
                attr: "taken".into(),
                by: by_n,
                max: None,
            });
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
            let intro = format!(
                "En raison de : {}, les réservations suivantes sont annulées par la commune et ne seront pas facturées :",
                reasons.into_iter().collect::<Vec<_>>().join(" ; ")
            );
            let lines = todo.iter().map(|(b, _)| line(town, b, &names)).collect();
            let sections = [Section { title: "Réservations annulées".into(), lines }];
            for g in record.as_ref().map(|f| f.guardians.as_slice()).unwrap_or_default() {
                let content = templates::summary(
                    &town.config().name,
                    "Fermeture : réservations annulées",
                    &g.first_name,
                    &intro,
                    &sections,
                    &["Les places sont libérées ; rien ne vous sera facturé pour ces jours.".to_owned()],
                    &format!("{}/reservations.html", ctx.public_url),
                );
                let mut mail = Mail::new(town.id(), &g.email, content, now);
                // Once per family, closure and bookings cancelled, even if the job runs again (a
                // later pass that finds more of the family's bookings tells it of those).
                let job = Job::Close { closures: closures.to_vec(), by: String::new() }.id();
                let batch: Vec<String> =
                    todo.iter().map(|(b, _)| format!("{}/{}/{}", b.child, b.unit, b.date)).collect();
                mail.id = mail_id("close", &format!("{job}#{}", batch.join(",")), family, g.email.as_str());
                ops.push(WriteOp::Put { item: mail.item()?, cond: Some(Cond::NotExists) });
            }
        }
        ctx.store.transact(ops).await?;
    }
    Ok(())
}

/// The id of a job's email to one guardian: the same if the job runs again (so it is sent
/// once), and naming nobody (it is part of a key).
fn mail_id(kind: &str, job: &str, family: &FamilyRef, email: &str) -> String {
    format!("{kind}-{}", &store::secret::digest(&format!("{job}/{family}/{email}"))[..32])
}

async fn child_names<'a>(
    store: &Store,
    town: &TownId,
    children: impl Iterator<Item = &'a ChildId>,
) -> Result<HashMap<ChildId, String>, StoreError> {
    let mut names = HashMap::new();
    for c in children.collect::<BTreeSet<_>>() {
        if let Some(child) = repo::get_child(store, town, c).await? {
            names.insert(c.clone(), child.first_name);
        }
    }
    Ok(names)
}

/// « lundi 14/12/2026 – Léa – CANTINE »
fn line(town: &Town, b: &Booking, names: &HashMap<ChildId, String>) -> String {
    let unit = town.unit(&b.unit).map_or_else(|| b.unit.to_string(), |(_, u)| u.name.clone());
    let child = names.get(&b.child).cloned().unwrap_or_else(|| b.child.to_string());
    format!("{} – {child} – {unit}", domain::fr::weekday_date(b.date))
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
        let lines = bs.iter().map(|b| line(town, b, &names)).collect();
        let sections = [Section { title: "Jours de nouveau ouverts".into(), lines }];
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
            let content = templates::summary(
                &town.config().name,
                "Réouverture : vos réservations ne sont pas rétablies",
                &g.first_name,
                "La commune a rouvert des jours qu'une fermeture avait annulés. Les réservations annulées ne sont pas rétablies automatiquement : si vous en avez besoin, réservez-les de nouveau dans votre Espace Famille.",
                &sections,
                &[],
                &format!("{}/reservations.html", ctx.public_url),
            );
            let mut mail = Mail::new(town.id(), &g.email, content, now);
            mail.id = mail_id("reopen", &job, family, g.email.as_str());
            ops.push(WriteOp::Put { item: mail.item()?, cond: Some(Cond::NotExists) });
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
async fn promote_or_hand_over(
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
        let cond = Cond::AttrEquals { name: "nonce".into(), value: serde_json::Value::from(nonce) };
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
        let email = if manual {
            Told {
                subject: "Liste d'attente : une place se libère",
                title: "Demande",
                intro: "Une place s'est libérée pour votre demande en liste d'attente. Le service enfance va l'examiner et vous répondra par courriel :",
            }
        } else {
            Told {
                subject: "Liste d'attente : réservation validée",
                title: "Demande",
                intro: "Une place s'est libérée : votre demande en liste d'attente est validée. La réservation sera facturée comme les autres :",
            }
        };
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

/// What a guardian is told of a change the portal made to one booking.
struct Told<'a> {
    subject: &'a str,
    title: &'a str,
    intro: &'a str,
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
    told: Told<'_>,
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
    let sections = [Section { title: told.title.to_owned(), lines: vec![line(town, after, &names)] }];
    for g in record.as_ref().map(|f| f.guardians.as_slice()).unwrap_or_default() {
        let content = templates::summary(
            &town.config().name,
            told.subject,
            &g.first_name,
            told.intro,
            &sections,
            &[],
            &format!("{}/reservations.html", ctx.public_url),
        );
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
    let place = WriteOp::Add {
        key: keys::capacity(town.id(), unit, &after.site, date),
        attr: "taken".into(),
        by: -1,
        max: None,
    };
    let email = Told {
        subject: "Liste d'attente : demande non retenue",
        title: "Demande refusée",
        intro: after.refusal_reason.as_deref().unwrap_or_default(),
    };
    let ops = system_change(ctx, town, (&before, &after), vec![place], "waiting_list.offer_lapsed", email, now).await?;
    match ctx.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
    promote(ctx, town, unit, &after.site, date, now).await?;
    Ok(true)
}

/// The jobs a configuration change calls for: closures added and removed, capacities raised.
pub fn config_jobs(before: &Town, after: &Town, by: &str, today: NaiveDate) -> Vec<Job> {
    let (old, new) = (&before.config().closures, &after.config().closures);
    let mut jobs = Vec::new();
    let added = rules::added(old, new);
    if !added.is_empty() {
        jobs.push(Job::Close { closures: added, by: by.to_owned() });
    }
    let removed = rules::removed(old, new);
    if !removed.is_empty() {
        jobs.push(Job::Reopen { closures: removed, by: by.to_owned() });
    }
    for a in &after.config().activities {
        for u in &a.units {
            let was = before.unit(&u.id).and_then(|(_, x)| x.capacity);
            let raised = match (was, u.capacity) {
                (Some(w), Some(n)) => n > w,
                _ => false,
            };
            if raised && before.unit(&u.id).is_some_and(|(_, x)| x.waiting_list) {
                jobs.push(Job::Raise { unit: u.id.clone(), from: today });
            }
        }
    }
    jobs
}

/// How far ahead the reminders look for holiday periods, in days.
const REMINDER_HORIZON_DAYS: u64 = 120;

/// Sends the holiday booking reminders due now in every town; how many emails.
pub async fn remind_all(ctx: Ctx<'_>, towns: &Towns, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut sent = 0;
    for id in repo::town_ids(ctx.store).await? {
        let Some(town) = towns.get(&id).await? else { continue };
        sent += remind(ctx, &town, now).await?;
    }
    Ok(sent)
}

/// The holiday booking reminders due now in `town`: when bookings open for a holiday period,
/// and a few days before its deadline, to each guardian of a family with children enrolled who
/// have booked nothing of it, unless the guardian turned them off. Each goes once per family
/// and reminder (a marker written with the emails). Answers how many emails.
pub async fn remind(ctx: Ctx<'_>, town: &Town, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let settings = &town.config().operations;
    let today = town.today(now);
    let periods: Vec<(rules::HolidayBooking, rules::Reminder)> =
        rules::holiday_bookings(town, today, REMINDER_HORIZON_DAYS)
            .into_iter()
            .filter_map(|p| rules::due_reminder(&p, settings, now).map(|r| (p, r)))
            .collect();
    if periods.is_empty() {
        return Ok(0);
    }
    let families = repo::all_families(ctx.store, town.id()).await?;
    let children: HashMap<ChildId, domain::family::Child> =
        repo::all_children(ctx.store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let opted_out: HashSet<String> = store::accounts::all_accounts(ctx.store, town.id())
        .await?
        .into_iter()
        .filter(|a| a.no_reminders)
        .map(|a| a.email.to_string())
        .collect();
    let mut sent = 0;
    for (p, reminder) in &periods {
        let Some(activity) = town.config().activities.iter().find(|a| a.id == p.activity) else { continue };
        let period_key = format!("{}#{}#{}", p.first, p.activity, reminder.as_str());
        // The period's bookings of every child, read once from the day index.
        let days = p.first.iter_days().take_while(|d| *d <= p.last);
        let booked = repo::bookings_of_days(ctx.store, town.id(), days).await?;
        for f in &families {
            let unbooked: Vec<String> =
                rules::unbooked(p, &activity.sites, f.children.iter().filter_map(|c| children.get(c)), &booked)
                    .into_iter()
                    .map(|c| c.first_name.clone())
                    .collect();
            if unbooked.is_empty() {
                continue;
            }
            let guardians = rules::reminded(&f.guardians, |email| opted_out.contains(email));
            if guardians.is_empty() {
                continue;
            }
            let marker = Item::new(keys::holiday_reminder(town.id(), &period_key, &f.reference));
            let mut ops = vec![WriteOp::Put { item: marker, cond: Some(Cond::NotExists) }];
            let tz = town.tz();
            let (subject, intro) = match reminder {
                rules::Reminder::Opening => (
                    format!("{} : les réservations sont ouvertes", p.name),
                    format!(
                        "Les réservations de l'accueil de loisirs pour les {} (du {} au {}) sont ouvertes, jusqu'au {}.",
                        p.name.to_lowercase(),
                        domain::fr::date(p.first),
                        domain::fr::date(p.last),
                        domain::fr::date_time(p.deadline, tz)
                    ),
                ),
                rules::Reminder::Deadline => (
                    format!(
                        "{} : réservez avant le {}",
                        p.name,
                        domain::fr::date(p.deadline.with_timezone(&tz).date_naive())
                    ),
                    format!(
                        "Il reste quelques jours pour réserver l'accueil de loisirs des {} (du {} au {}) : la date limite est le {}.",
                        p.name.to_lowercase(),
                        domain::fr::date(p.first),
                        domain::fr::date(p.last),
                        domain::fr::date_time(p.deadline, tz)
                    ),
                ),
            };
            let sections = [Section { title: "Rien n'est encore réservé pour".into(), lines: unbooked.clone() }];
            let remarks = ["Vous ne souhaitez plus recevoir ces rappels ? Désactivez-les dans « Mon compte » de votre Espace Famille.".to_owned()];
            for g in &guardians {
                let content = templates::summary(
                    &town.config().name,
                    &subject,
                    &g.first_name,
                    &intro,
                    &sections,
                    &remarks,
                    &format!("{}/reservations.html", ctx.public_url),
                );
                ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
            }
            match ctx.store.transact(ops).await {
                Ok(()) => sent += guardians.len(),
                // Already reminded.
                Err(StoreError::TransactionCanceled { index: 0, .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::testkit::{at, d, id, town};

    #[test]
    fn a_place_freed_on_a_day_gone_by_is_offered_to_nobody() {
        let town = town();
        let now = at(2026, 12, 9, 10, 0);
        let (unit, site) = (id("alsh-mercredi"), id("ecole-a"));
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 16), now).is_some(), "a day to come");
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 9), now).is_some(), "today still");
        assert!(promote_op(&town, &unit, &site, d(2026, 12, 2), now).is_none(), "a day gone by");
    }
}
