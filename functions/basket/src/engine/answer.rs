//! The answer to a validation, always rebuilt from the stored plan and progress (so a retry
//! gets the same one), and the confirmation email.

use super::stored::{Ask, Chunk, Header, Progress, load_chunks, read_progress};
use crate::check::{Effect, Mode, Refusal};
use domain::booking::BookingStatus;
use domain::cells::ActionKind;
use domain::{Cents, ChildId};
use edge::http::Problem;
use serde::Serialize;
use services::mail::templates::BookedDay;
use services::mail::templates::bookings::{BasketConfirmation, BasketOutcome, MadeBy};
use store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every line applied.
    Applied,
    /// Some lines applied, the others refused with their reasons.
    PartiallyApplied,
    /// Nothing applied: some lines are refused and the request wanted all or nothing.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Applied,
    Refused,
    /// Valid, but not applied because other lines were refused.
    NotApplied,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    pub child: ChildId,
    pub unit: domain::UnitId,
    pub date: chrono::NaiveDate,
    pub action: ActionKind,
    pub result: LineOutcome,
    /// The booking's status after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BookingStatus>,
    pub price: Cents,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub outcome: Outcome,
    pub idempotency_key: String,
    pub applied: usize,
    pub refused: usize,
    /// What the applied lines cost.
    pub total: Cents,
    pub lines: Vec<LineResult>,
}

/// The stored answer, rebuilt from the plan and the progress.
pub(super) async fn answer(
    store: &Store,
    ask: &Ask,
    header: &Header,
    chunks: Option<Vec<Chunk>>,
) -> Result<Answer, Problem> {
    let chunks = match chunks {
        Some(c) => c,
        None => load_chunks(store, ask, header).await?,
    };
    let progress = read_progress(store, ask, &header.claim).await?;
    Ok(build(ask, header, &chunks, &progress))
}

pub(super) fn build(ask: &Ask, header: &Header, chunks: &[Chunk], progress: &Progress) -> Answer {
    let rejected = header.rejected || progress.aborted;
    let mut lines = Vec::new();
    let (mut applied, mut refused, mut total) = (0, 0, Cents::ZERO);
    for (index, p) in chunks.iter().flat_map(|c| c.lines.iter().enumerate().map(move |(o, p)| (c.first + o, p))) {
        let error = p.refusal.clone().or_else(|| progress.lost.get(&index).cloned());
        let result = match (&error, rejected) {
            (Some(_), _) => LineOutcome::Refused,
            (None, true) => LineOutcome::NotApplied,
            (None, false) => LineOutcome::Applied,
        };
        let queued = progress.queued.contains(&index).then(|| p.effect.as_ref().and_then(Effect::to_waiting_list));
        let effect = queued.flatten();
        let effect = effect.as_ref().or(p.effect.as_ref());
        match result {
            LineOutcome::Applied => {
                applied += 1;
                total += effect.map_or(Cents::ZERO, |e| e.price);
            }
            LineOutcome::Refused => refused += 1,
            LineOutcome::NotApplied => {}
        }
        lines.push(LineResult {
            child: p.line.child.clone(),
            unit: p.line.unit.clone(),
            date: p.line.date,
            action: p.line.action,
            result,
            status: effect.filter(|_| result != LineOutcome::Refused).map(|e| e.booking.status),
            price: effect.map_or(Cents::ZERO, |e| e.price),
            late: effect.is_some_and(|e| e.late),
            error,
        });
    }
    let outcome = match (rejected, refused) {
        (true, _) => Outcome::Rejected,
        (false, 0) => Outcome::Applied,
        (false, _) => Outcome::PartiallyApplied,
    };
    Answer { outcome, idempotency_key: ask.key.clone(), applied, refused, total, lines }
}

/// The confirmation email: what was booked, what was cancelled, what was refused, with prices.
pub(super) fn email(ask: &Ask, header: &Header, first_name: &str, result: &Answer) -> services::mail::outbox::Content {
    let name = |c: &ChildId| header.names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let unit = |u: &domain::UnitId| ask.town.unit(u).map_or_else(|| u.to_string(), |(_, u)| u.name.clone());
    let mut lines = Vec::new();
    for l in &result.lines {
        let day = BookedDay { date: l.date, child: name(&l.child), unit: unit(&l.unit) };
        let price = l.price;
        let outcome = match (l.result, l.action, l.status) {
            (LineOutcome::Applied, ActionKind::Add, Some(BookingStatus::Pending)) => BasketOutcome::Requested { price },
            (LineOutcome::Applied, ActionKind::Add, _) if l.late => BasketOutcome::BookedLate { price },
            (LineOutcome::Applied, ActionKind::Add, _) => BasketOutcome::Booked { price },
            (LineOutcome::Applied, ActionKind::Cancel, Some(BookingStatus::CancelRequested)) => {
                BasketOutcome::CancellationRequested
            }
            (LineOutcome::Applied, ActionKind::Cancel, _) if l.late => BasketOutcome::CancelledLate { price },
            (LineOutcome::Applied, ActionKind::Cancel, _) => BasketOutcome::Cancelled,
            (LineOutcome::Refused, _, _) => {
                BasketOutcome::Refused { why: l.error.as_ref().map_or_else(String::new, |e| e.message.clone()) }
            }
            _ => continue,
        };
        lines.push((day, outcome));
    }
    BasketConfirmation {
        town: ask.town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: ask.public_url.to_string(),
        made_by: match header.mode {
            Mode::Guardian => MadeBy::Family,
            Mode::Staff => MadeBy::Staff,
        },
        lines,
        total: result.total,
    }
    .render()
}
