//! Applying the plan's chunks, one transaction each, once whatever the workers; a line that
//! loses a race is lost or queued by [`domain::basket::lost_race`]; then finishing.

use super::answer::{Answer, LineOutcome, LineResult, build, email};
use super::queue;
use super::stored::{
    Ask, Chunk, Counter, Header, Owner, Planned, Progress, State, header_item, load_chunks, plan_line, progress_op,
    read_progress,
};
use super::writes::{Writes, writes};
use crate::check::Refusal;
use domain::basket::{self, Behind, Failed, Race};
use domain::cells::ActionKind;
use edge::clock::Clock;
use edge::http::Problem;
use services::mail::outbox::Mail;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;
use store::gate;
use store::{Cond, Store, StoreError, WriteOp};

/// How long one chunk keeps trying when it meets other transactions in flight. A conflict
/// means the other one is being applied: it ends within a round trip, so tries are many and
/// waits short; an opening rush (docs/performance.md, « The opening rush ») meets some at
/// nearly every try. Well within the function's 29 s.
const CONFLICT_BUDGET: Duration = Duration::from_secs(8);

/// How long a validation's chunks may wait in their days' queues, in all.
const QUEUE_BUDGET: Duration = Duration::from_secs(15);

/// The wait before try `n` (from 1) after a conflict: exponential from 5 ms, capped at 160 ms,
/// with full jitter so that transactions that met do not meet again.
fn conflict_backoff(n: u32) -> Duration {
    queue::jitter(0, 5u64 << n.min(5))
}

/// Lines that lost a race while being applied, and why.
struct Lost(Vec<(usize, Refusal)>);

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
    let mut conflicting_since: Option<tokio::time::Instant> = None;
    // The places this validation freed on units with a waiting list, and the days whose queue
    // it joined (a place may be free there: the promoter looks).
    let mut promotions: BTreeSet<Counter> = BTreeSet::new();
    let mut joined: BTreeSet<Counter> = BTreeSet::new();
    // The chunk its day's queue handed back, applied here.
    let mut solo: Option<usize> = None;
    // After this, chunks no longer wait in their day's queue (the function has 29 s).
    let deadline = tokio::time::Instant::now() + QUEUE_BUDGET;
    while progress.done < chunks.len() && !progress.aborted {
        let now = clock.now();
        let chunk = &chunks[progress.done];
        // A guardian's additions to one busy day go through the day's queue, applied with
        // other families' in one transaction (queue.rs); handed back, the chunk is applied here.
        if solo != Some(progress.done)
            && tokio::time::Instant::now() < deadline
            && let Some(date) = queue::day_of(&ask.town, ask.mode, chunk, &progress)
        {
            let owner = Owner::of(ask, &header.claim);
            match queue::through(store, clock, &ask.town, &owner, progress.done, date, chunk, deadline).await? {
                queue::Through::Applied(now_at) => {
                    for (unit, site, date, converted) in queue::joined(&ask.town, chunk, &now_at, clock.now()) {
                        if converted {
                            promotions.insert((unit.clone(), site.clone(), date));
                        }
                        joined.insert((unit, site, date));
                    }
                    progress = now_at;
                }
                queue::Through::Solo => solo = Some(progress.done),
            }
            continue;
        }
        let next = Progress { done: progress.done + 1, ..progress.clone() };
        let mut ops = vec![progress_op(ask, &header.claim, progress.done, &next, now)?];
        // For each action, the plan indexes of the lines behind it.
        let mut behind: Vec<Vec<usize>> = vec![Vec::new()];
        let Writes { ops: writes, moves, indexes } = writes(ask.town.id(), chunk, &progress)?;
        for (op, index) in writes.into_iter().zip(&indexes) {
            ops.push(op);
            behind.push(vec![*index]);
        }
        // The day open, the places within the capacity, nobody overtaken in the queue.
        let mut guarded: BTreeMap<usize, gate::Guarded> = BTreeMap::new();
        let (mut freed, mut queued_days) = (BTreeSet::new(), BTreeSet::new());
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
                && let Some(op) = services::operations::promote_op(&ask.town, &unit, &site, date, now)
            {
                ops.push(op);
                behind.push(Vec::new());
                freed.insert((unit, site, date));
            }
        }
        let lost = match store.transact(ops).await {
            Ok(()) => {
                progress = next;
                conflicts = 0;
                conflicting_since = None;
                promotions.extend(freed);
                joined.extend(queued_days);
                continue;
            }
            Err(StoreError::TransactionCanceled { index: 0, .. }) => {
                // Another worker applied this chunk (or gave up): carry on from where it is.
                progress = read_progress(store, ask, &header.claim).await?;
                continue;
            }
            Err(StoreError::TransactionCanceled { index, .. }) => {
                let lines = behind.get(index).cloned().unwrap_or_default();
                match guarded.get(&index) {
                    Some(gate::Guarded::Open { date }) => {
                        // One check per day: the lines of the activities its marks close are lost.
                        let mut closed = Vec::new();
                        for i in lines {
                            let Some(activity) = plan_line(&chunks, i).and_then(|p| p.effect.as_ref()) else {
                                continue;
                            };
                            let activity = &activity.booking.activity;
                            if let Some(reason) = gate::closed_reason(store, ask.town.id(), *date, activity).await? {
                                closed.push((i, reason));
                            }
                        }
                        if closed.is_empty() {
                            // Reopened meanwhile: try again.
                            continue;
                        }
                        let why = |r: String| domain::basket::refusal("closed", gate::closed_message(Some(&r)));
                        Lost(closed.into_iter().map(|(i, r)| (i, why(r))).collect())
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
                                takes_place: plan_line(&chunks, i)
                                    .and_then(|p| p.effect.as_ref())
                                    .is_some_and(|e| e.places > 0),
                            })
                            .collect();
                        match basket::lost_race(failed, ask.mode, &behind) {
                            Race::Queue(takers) => {
                                progress.queued.extend(takers);
                                continue;
                            }
                            Race::Lose(line, why) => Lost(vec![(line, why)]),
                            Race::Nothing if failed == Failed::Booking => {
                                return Err(StoreError::Corrupt(format!("action {index} of a chunk")).into());
                            }
                            Race::Nothing => Lost(Vec::new()),
                        }
                    }
                }
            }
            Err(StoreError::Conflict)
                if conflicting_since.get_or_insert_with(tokio::time::Instant::now).elapsed() < CONFLICT_BUDGET =>
            {
                conflicts += 1;
                tokio::time::sleep(conflict_backoff(conflicts)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Lost(lines) = lost;
        if lines.is_empty() {
            return Err(StoreError::Corrupt("a guard with no line behind it failed".into()).into());
        }
        if !header.apply_valid && progress.done == 0 {
            // All or nothing, and nothing written yet: reject the whole validation.
            let aborted =
                Progress { done: 0, lost: lines.into_iter().collect(), aborted: true, queued: BTreeSet::new() };
            let op = progress_op(ask, &header.claim, 0, &aborted, now)?;
            match store.transact(vec![op]).await {
                Ok(()) => progress = aborted,
                Err(StoreError::TransactionCanceled { .. }) => {
                    progress = read_progress(store, ask, &header.claim).await?;
                }
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        progress.lost.extend(lines);
    }
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
