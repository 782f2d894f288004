//! Applying the plan's chunks, one transaction each, once whatever the workers; a line that
//! loses a race is lost or queued by [`domain::basket::lost_race`]; then finishing.

use super::answer::{Answer, LineOutcome, LineResult, build, email};
use super::stored::{
    Ask, Chunk, Counter, Header, Planned, Progress, State, header_item, load_chunks, plan_line, progress_op,
    read_progress,
};
use crate::check::{Effect, Refusal};
use domain::basket::{self, Behind, Failed, Race};
use domain::cells::ActionKind;
use edge::auth::secret;
use edge::clock::Clock;
use edge::http::Problem;
use services::mail::outbox::Mail;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;
use store::gate;
use store::{Cond, Store, StoreError, WriteOp, claims, repo};

/// How long one chunk keeps trying when it meets other transactions in flight. A conflict
/// means the other one is being applied: it ends within a round trip, so tries are many and
/// waits short; an opening rush (docs/performance.md, « The opening rush ») meets some at
/// nearly every try. Well within the function's 29 s.
const CONFLICT_BUDGET: Duration = Duration::from_secs(8);

/// The wait before try `n` (from 1) after a conflict: exponential from 5 ms, capped at 160 ms,
/// with full jitter so that transactions that met do not meet again.
fn conflict_backoff(n: u32) -> Duration {
    let cap = 5u64 << n.min(5);
    let random = u64::from_le_bytes(secret::id().as_bytes()[..8].try_into().unwrap_or([0; 8]));
    Duration::from_millis(random % (cap + 1))
}

/// Lines that lost a race while being applied, and why.
struct Lost(Vec<(usize, Refusal)>);

/// What the line writes when applied: its planned effect, or the request on the waiting list it
/// became when its day turned out full or queued (`None`: refused, or lost).
fn effective(p: &Planned, progress: &Progress, index: usize) -> Option<Effect> {
    let e = p.effect.as_ref().filter(|_| !progress.lost.contains_key(&index))?;
    match progress.queued.contains(&index) {
        true => e.to_waiting_list().or_else(|| Some(e.clone())),
        false => Some(e.clone()),
    }
}

/// How a line's change moves its day's counter: places taken (or freed) and the queue.
fn move_of(p: &Planned, effect: &Effect) -> gate::Move {
    let b = &effect.booking;
    gate::Move {
        activity: b.activity.clone(),
        unit: b.unit.clone(),
        site: b.site.clone(),
        date: b.date,
        // An addition arrives on its day (checked open) even on a unit without places.
        taken: match p.line.action {
            ActionKind::Add if b.holds_place() => 1,
            _ => i64::from(effect.places),
        },
        waiting: i64::from(effect.waiting),
    }
}

/// A line's claim on its day's counter.
struct Claimed {
    counter: store::Key,
    attr: String,
    owner: claims::Owner,
    /// The counter: unit, site, day.
    day: Counter,
}

/// Whether a line's change is claimed on its counter rather than moved in the transaction: an
/// addition taking a place, or a place in the queue, on a unit with a capacity and a waiting
/// list (where an opening rush happens). Everything else moves the counter in the transaction.
fn claimable(ask: &Ask, m: &gate::Move) -> Option<claims::Bound> {
    let (_, u) = ask.town.unit(&m.unit)?;
    let capacity = u.capacity?;
    let one = matches!((m.taken, m.waiting), (1, 0) | (0, 1));
    (u.waiting_list && one).then_some(claims::Bound { capacity: i64::from(capacity), behind_queue: true })
}

/// Claims the places (or places in the queue) of the chunk's claimable lines, once each (a
/// claim made before, by this worker or another one resuming the validation, is found as it
/// is). A line that finds no place joins the waiting list (a guardian's) or is lost.
async fn claim(
    store: &Store,
    ask: &Ask,
    header: &Header,
    chunks: &[Chunk],
    progress: &mut Progress,
    claimed: &mut BTreeMap<usize, Claimed>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<(), Lost>, Problem> {
    let n = progress.done;
    let chunk = &chunks[n];
    let progress_key = super::stored::progress_key(ask, &header.claim);
    let (mut conflicts, since) = (0, std::time::Instant::now());
    // In waves: every line not claimed yet at once (one round trip), then again for those that
    // turned into requests on the waiting list or met a transaction on their counter.
    loop {
        let mut wave = Vec::new();
        for (offset, p) in chunk.lines.iter().enumerate() {
            let index = chunk.first + offset;
            if claimed.contains_key(&index) {
                continue;
            }
            let Some(effect) = effective(p, progress, index) else { continue };
            let m = move_of(p, &effect);
            let Some(bound) = claimable(ask, &m) else { continue };
            let owner = claims::Owner {
                pk: progress_key.pk.clone(),
                sk: progress_key.sk.clone(),
                chunk: n,
                line: index,
                queue: m.waiting > 0,
                at: now.timestamp(),
            };
            let counter = store::keys::capacity(ask.town.id(), &m.unit, &m.site, m.date);
            wave.push((index, p, (m.unit, m.site, m.date), counter, claims::attr(&header.claim, index), owner, bound));
        }
        if wave.is_empty() {
            return Ok(Ok(()));
        }
        let taken = futures::future::join_all(
            wave.iter().map(|(_, _, _, counter, attr, owner, bound)| claims::take(store, counter, attr, owner, *bound)),
        )
        .await;
        let mut met_transaction = false;
        for ((index, p, day, counter, attr, _, _), taken) in wave.into_iter().zip(taken) {
            match taken {
                Ok(claims::Taken::Held(owner)) => {
                    // As claimed (maybe by a worker before this one): a place, or the queue.
                    if owner.queue {
                        progress.queued.insert(index);
                    } else {
                        progress.queued.remove(&index);
                    }
                    claimed.insert(index, Claimed { counter, attr, owner, day });
                }
                Ok(claims::Taken::Refused { stale }) if !stale.is_empty() => {
                    // Claims of owners that died hold places they will never take: settled,
                    // then the place tried again in the next wave.
                    let why = serde_json::to_value(interrupted()).unwrap_or_default();
                    let keep = super::stored::expiry(now);
                    for (attr, owner) in &stale {
                        claims::fence(store, &counter, attr, owner, &why, keep).await?;
                    }
                }
                Ok(claims::Taken::Refused { .. }) => {
                    let behind = [Behind {
                        index,
                        queued: progress.queued.contains(&index),
                        takes_place: p.effect.as_ref().is_some_and(|e| e.places > 0),
                    }];
                    match basket::lost_race(Failed::Places { waiting_list: true }, ask.mode, &behind) {
                        Race::Queue(takers) => progress.queued.extend(takers),
                        Race::Lose(line, why) => return Ok(Err(Lost(vec![(line, why)]))),
                        Race::Nothing => return Err(StoreError::Corrupt("a claim without its line".into()).into()),
                    }
                }
                // A transaction holds the counter (a cancellation, a promotion): it ends within
                // a round trip.
                Err(StoreError::Conflict) if since.elapsed() < CONFLICT_BUDGET => met_transaction = true,
                Err(e) => return Err(e.into()),
            }
        }
        if met_transaction {
            conflicts += 1;
            tokio::time::sleep(conflict_backoff(conflicts)).await;
        }
    }
}

/// Why a dead validation's line was given up.
pub(super) fn interrupted() -> Refusal {
    domain::basket::refusal(
        "interrupted",
        "La validation a été interrompue avant d'enregistrer ce jour : validez-le à nouveau.",
    )
}

/// The claimed lines of the chunk whose day a closure marked meanwhile (read after the claims,
/// in one batch: docs/store.md), with why.
async fn closed_days(
    store: &Store,
    ask: &Ask,
    chunks: &[Chunk],
    claimed: &BTreeMap<usize, Claimed>,
) -> Result<Option<Lost>, Problem> {
    let days: BTreeSet<chrono::NaiveDate> = claimed.values().map(|c| c.day.2).collect();
    if days.is_empty() {
        return Ok(None);
    }
    let keys: Vec<store::Key> = days.iter().map(|d| store::keys::day(ask.town.id(), *d)).collect();
    let marks = store.get_many(&keys).await?;
    let mut closed = Vec::new();
    for (&index, c) in claimed {
        let Some(effect) = plan_line(chunks, index).and_then(|p| p.effect.as_ref()) else { continue };
        let day = store::keys::day(ask.town.id(), c.day.2);
        let Some(item) = marks.iter().find(|m| m.key == day) else { continue };
        if let Some(reason) = gate::closed_reason_in(item, &effect.booking.activity) {
            closed.push((index, domain::basket::refusal("closed", gate::closed_message(Some(&reason)))));
        }
    }
    Ok((!closed.is_empty()).then_some(Lost(closed)))
}

/// Settles the claims whose line's fate the progress tells (landed: cleared; lost: released),
/// and forgets them. One that cannot be settled now (a transaction holds its counter) is left to
/// whoever finds it stale.
async fn settle(store: &Store, progress: &Progress, claimed: &mut BTreeMap<usize, Claimed>) {
    let done: Vec<usize> = claimed
        .iter()
        .filter(|(i, c)| progress.aborted || progress.lost.contains_key(i) || progress.done > c.owner.chunk)
        .map(|(i, _)| *i)
        .collect();
    let settling = done.into_iter().filter_map(|i| claimed.remove(&i).map(|c| (i, c))).map(|(i, c)| async move {
        let landed = !progress.aborted && !progress.lost.contains_key(&i);
        for n in 1..=8 {
            match claims::settle(store, &c.counter, &c.attr, &c.owner, landed).await {
                Ok(()) => return,
                Err(StoreError::Conflict) => tokio::time::sleep(conflict_backoff(n)).await,
                Err(e) => {
                    tracing::warn!(error = %e, claim = %c.attr, "claim left to whoever finds it stale");
                    return;
                }
            }
        }
        tracing::warn!(claim = %c.attr, "claim left to whoever finds it stale");
    });
    futures::future::join_all(settling).await;
}

/// What one try of a chunk's transaction did.
enum Attempt {
    /// In: the places it freed and the days whose queue it joined.
    Landed(BTreeSet<Counter>, BTreeSet<Counter>),
    /// Lines lost a race.
    Lost(Lost),
    /// The progress is not as read: another worker, or a fence, moved it.
    Moved,
    /// Try again (lines turned into requests on the waiting list, or a day reopened).
    Again,
    /// Another transaction in flight on one of its items.
    Conflict,
}

/// One try of the chunk's transaction: its bookings, the progress moved on, and for the lines
/// not claimed, their days checked open and their counters moved.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    store: &Store,
    ask: &Ask,
    header: &Header,
    chunks: &[Chunk],
    progress: &mut Progress,
    next: &Progress,
    claimed: &BTreeMap<usize, Claimed>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Attempt, Problem> {
    let chunk = &chunks[progress.done];
    let mut ops = vec![progress_op(ask, &header.claim, progress, next, now)?];
    // For each action, the plan indexes of the lines behind it.
    let mut behind: Vec<Vec<usize>> = vec![Vec::new()];
    let mut moves = Vec::new();
    let mut indexes = Vec::new();
    let (mut freed, mut queued_days) = (BTreeSet::new(), BTreeSet::new());
    for (offset, p) in chunk.lines.iter().enumerate() {
        let index = chunk.first + offset;
        let Some(effect) = effective(p, progress, index) else { continue };
        ops.push(repo::booking_write(ask.town.id(), &effect.booking, effect.expected_version)?);
        behind.push(vec![index]);
        match claimed.get(&index) {
            Some(c) => {
                // A place in the queue: a place may be free there (planned with a place, queued
                // behind others): the day is looked at once the validation is done. Not a job
                // in the transaction as for a freed place: every family queued on the day would
                // name the same job item, the next hot item of a rush.
                if c.owner.queue {
                    queued_days.insert(c.day.clone());
                }
            }
            None => {
                moves.push(move_of(p, &effect));
                indexes.push(index);
            }
        }
    }
    // The day open, the places within the capacity, nobody overtaken in the queue.
    let mut guarded: BTreeMap<usize, gate::Guarded> = BTreeMap::new();
    for g in gate::guards(&ask.town, &moves, gate::Arrival::Newcomer) {
        let lines: Vec<usize> = g.behind.iter().map(|&i| indexes[i]).collect();
        let converted = lines.iter().any(|i| progress.queued.contains(i));
        guarded.insert(ops.len(), g.what.clone());
        ops.push(g.op);
        behind.push(lines);
        let gate::Guarded::Counter { unit, site, date, .. } = g.what else { continue };
        if g.waiting > 0 {
            queued_days.insert((unit.clone(), site.clone(), date));
        }
        // A freed place, or newcomers turned into requests on a day that may have one free,
        // is work for the waiting list: recorded here, run once the chunk is in.
        if (g.taken < 0 || converted)
            && !freed.contains(&(unit.clone(), site.clone(), date))
            && let Some(op) = services::operations::promote_op(&ask.town, &unit, &site, date, now)
        {
            ops.push(op);
            behind.push(Vec::new());
            freed.insert((unit, site, date));
        }
    }
    Ok(match store.transact(ops).await {
        Ok(()) => Attempt::Landed(freed, queued_days),
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Attempt::Moved,
        Err(StoreError::TransactionCanceled { index, .. }) => {
            let lines = behind.get(index).cloned().unwrap_or_default();
            match guarded.get(&index) {
                Some(gate::Guarded::Open { date }) => {
                    // One check per day: the lines of the activities its marks close are lost.
                    let mut closed = Vec::new();
                    for i in lines {
                        let Some(activity) = plan_line(chunks, i).and_then(|p| p.effect.as_ref()) else {
                            continue;
                        };
                        let activity = &activity.booking.activity;
                        if let Some(reason) = gate::closed_reason(store, ask.town.id(), *date, activity).await? {
                            closed.push((i, reason));
                        }
                    }
                    if closed.is_empty() {
                        // Reopened meanwhile: try again.
                        return Ok(Attempt::Again);
                    }
                    let why = |r: String| domain::basket::refusal("closed", gate::closed_message(Some(&r)));
                    Attempt::Lost(Lost(closed.into_iter().map(|(i, r)| (i, why(r))).collect()))
                }
                guard => {
                    let failed = match guard {
                        Some(gate::Guarded::Counter { waiting_list, .. }) => {
                            Failed::Places { waiting_list: *waiting_list }
                        }
                        _ => Failed::Booking,
                    };
                    let behind: Vec<Behind> = lines
                        .iter()
                        .map(|&i| Behind {
                            index: i,
                            queued: progress.queued.contains(&i),
                            takes_place: plan_line(chunks, i)
                                .and_then(|p| p.effect.as_ref())
                                .is_some_and(|e| e.places > 0),
                        })
                        .collect();
                    match basket::lost_race(failed, ask.mode, &behind) {
                        Race::Queue(takers) => {
                            progress.queued.extend(takers);
                            Attempt::Again
                        }
                        Race::Lose(line, why) => Attempt::Lost(Lost(vec![(line, why)])),
                        Race::Nothing if failed == Failed::Booking => {
                            return Err(StoreError::Corrupt(format!("action {index} of a chunk")).into());
                        }
                        Race::Nothing => Attempt::Lost(Lost(Vec::new())),
                    }
                }
            }
        }
        Err(StoreError::Conflict) => Attempt::Conflict,
        Err(e) => return Err(e.into()),
    })
}

/// Applies the chunks not applied yet, one transaction each, then finishes.
pub(super) async fn apply(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    header: Header,
    chunks: Option<Vec<Chunk>>,
) -> Result<Answer, Problem> {
    let chunks = match chunks {
        Some(c) => c,
        None => load_chunks(store, ask, &header).await?,
    };
    let mut progress = read_progress(store, ask, &header.claim).await?;
    let mut conflicts = 0;
    let mut conflicting_since: Option<std::time::Instant> = None;
    // The places this validation freed on units with a waiting list, and the days whose queue
    // it joined (a place may be free there: the promoter looks).
    let mut promotions: BTreeSet<Counter> = BTreeSet::new();
    let mut joined: BTreeSet<Counter> = BTreeSet::new();
    // The claims of the chunk being applied, by plan index (settled once its fate is known).
    let mut claimed: BTreeMap<usize, Claimed> = BTreeMap::new();
    while progress.done < chunks.len() && !progress.aborted {
        let now = clock.now();
        // Places on the days of units with a waiting list are claimed on their counters first,
        // then their days checked open: the transaction names only the family's items for them.
        let lost = match claim(store, ask, &header, &chunks, &mut progress, &mut claimed, now).await? {
            Err(lost) => lost,
            Ok(()) => match closed_days(store, ask, &chunks, &claimed).await? {
                Some(lost) => lost,
                None => {
                    let next = Progress { done: progress.done + 1, ..progress.clone() };
                    match attempt(store, ask, &header, &chunks, &mut progress, &next, &claimed, now).await? {
                        Attempt::Landed(freed, queued_days) => {
                            progress = Progress { rev: progress.rev + 1, ..next };
                            conflicts = 0;
                            conflicting_since = None;
                            promotions.extend(freed);
                            joined.extend(queued_days);
                            settle(store, &progress, &mut claimed).await;
                            continue;
                        }
                        Attempt::Lost(lost) => lost,
                        Attempt::Moved => {
                            // Another worker applied this chunk (or gave up), or a fence
                            // recorded a line lost: carry on from where it is.
                            progress = read_progress(store, ask, &header.claim).await?;
                            settle(store, &progress, &mut claimed).await;
                            continue;
                        }
                        Attempt::Again => continue,
                        Attempt::Conflict
                            if conflicting_since.get_or_insert_with(std::time::Instant::now).elapsed()
                                < CONFLICT_BUDGET =>
                        {
                            conflicts += 1;
                            tokio::time::sleep(conflict_backoff(conflicts)).await;
                            continue;
                        }
                        Attempt::Conflict => return Err(StoreError::Conflict.into()),
                    }
                }
            },
        };
        let Lost(lines) = lost;
        if lines.is_empty() {
            return Err(StoreError::Corrupt("a guard with no line behind it failed".into()).into());
        }
        if !header.apply_valid && progress.done == 0 {
            // All or nothing, and nothing written yet: reject the whole validation.
            let aborted = Progress {
                done: 0,
                lost: lines.into_iter().collect(),
                aborted: true,
                queued: BTreeSet::new(),
                rev: progress.rev,
            };
            let op = progress_op(ask, &header.claim, &progress, &aborted, now)?;
            match store.transact(vec![op]).await {
                Ok(()) => progress = Progress { rev: progress.rev + 1, ..aborted },
                Err(StoreError::TransactionCanceled { .. }) => {
                    progress = read_progress(store, ask, &header.claim).await?;
                }
                Err(e) => return Err(e.into()),
            }
            settle(store, &progress, &mut claimed).await;
            continue;
        }
        progress.lost.extend(lines);
    }
    settle(store, &progress, &mut claimed).await;
    let answer = finish(store, clock, ask, header, chunks, progress).await?;
    let ctx = services::operations::Ctx { store, public_url: &ask.public_url };
    for (unit, site, date) in &joined {
        // A request joined a day with a place free (one freed a moment before, whose promoter
        // already looked): the waiting list moves now rather than at the next freed place.
        if promotions.contains(&(unit.clone(), site.clone(), date.to_owned())) {
            continue;
        }
        match services::operations::free_places(store, &ask.town, unit, site, *date).await {
            Ok(free) if free > 0 => {
                promotions.insert((unit.clone(), site.clone(), *date));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "waiting list left to the next freed place"),
        }
    }
    for (unit, site, date) in promotions {
        let job = services::operations::Job::Promote { unit, site, date };
        if let Err(e) = services::operations::run(ctx, &ask.town, &job, clock.now()).await {
            tracing::warn!(error = %e, ?job, "waiting list left to the sweep");
        }
    }
    Ok(answer)
}

/// The confirmation's `.ics`: the days it booked that the family's calendar shows (confirmed:
/// not a request waiting for staff, nor a place on a waiting list), as the feed writes them.
fn calendar(ask: &Ask, header: &Header, applied: &[(&Planned, &LineResult)]) -> Option<String> {
    let booked: Vec<(&str, &domain::booking::Booking)> = applied
        .iter()
        .filter(|(p, r)| p.line.action == ActionKind::Add && r.status.is_some_and(edge::ics::shown))
        .filter_map(|(p, _)| {
            let booking = &p.effect.as_ref()?.booking;
            let name = header.names.get(&p.line.child).map_or(p.line.child.as_str(), String::as_str);
            Some((name, booking))
        })
        .collect();
    let entries: Vec<_> = booked.iter().map(|(name, b)| edge::ics::entry(&ask.town, name, b)).collect();
    edge::ics::confirmation(&ask.town, &entries)
}

/// Marks the validation done, queues the email and empties the basket of the applied lines,
/// in one transaction.
async fn finish(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    mut header: Header,
    chunks: Vec<Chunk>,
    progress: Progress,
) -> Result<Answer, Problem> {
    header.rejected = progress.aborted;
    let result = build(ask, &header, &chunks, &progress);
    header.state = State::Done;
    loop {
        let now = clock.now();
        let mut ops = vec![WriteOp::Put {
            item: header_item(ask, &header, now)?,
            cond: Some(Cond::AttrEquals { name: "state".into(), value: "applying".into() }),
        }];
        let applied: Vec<(&Planned, &LineResult)> = chunks
            .iter()
            .flat_map(|c| &c.lines)
            .zip(&result.lines)
            .filter(|(_, r)| r.result == LineOutcome::Applied)
            .collect();
        if !applied.is_empty() {
            let calendar = calendar(ask, &header, &applied);
            for (n, to) in header.notify.iter().enumerate() {
                let mut mail = Mail::new(ask.town.id(), &to.email, email(ask, &header, &to.first_name, &result), now);
                mail.id = format!("val-{}-{n}", header.claim);
                if let Some(ics) = &calendar {
                    mail = mail.with_calendar(ics.clone());
                }
                ops.push(mail.enqueue()?);
            }
        }
        // A change by staff (past the deadlines, for a family) is in the audit trail, with
        // what it applied, in the transaction that ends it.
        if ask.mode == crate::check::Mode::Staff && !applied.is_empty() {
            let lines: Vec<&LineResult> = applied.iter().map(|(_, r)| *r).collect();
            let entry = store::audit::Entry {
                at: now,
                by: ask.by.to_string(),
                action: "bookings.staff_change".into(),
                target: format!("family/{}", ask.family.reference),
                before: None,
                after: serde_json::to_value(&lines).ok(),
            };
            ops.push(entry.record(ask.town.id())?);
        }
        let mut basket_index = None;
        if let (Some(key), false) = (&header.basket, applied.is_empty()) {
            let done: HashSet<_> = applied.iter().map(|(p, _)| p.line.cell()).collect();
            if let Some(op) = crate::basket::without(store, key, &done, now).await? {
                basket_index = Some(ops.len());
                ops.push(op);
            }
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(result),
            // Someone else finished it: the same answer, already stored.
            Err(StoreError::TransactionCanceled { index: 0, .. }) => return Ok(result),
            // The basket changed meanwhile (another device): read it again.
            Err(StoreError::TransactionCanceled { index, .. }) if Some(index) == basket_index => continue,
            Err(StoreError::Conflict) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(e.into()),
        }
    }
}
