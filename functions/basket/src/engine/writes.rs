//! What a chunk writes: the bookings of the lines it still applies, and how they move their
//! days (read by the chunk's own transaction and by its day's queue).

use super::stored::{Chunk, Planned, Progress};
use crate::check::Effect;
use domain::cells::ActionKind;
use store::{StoreError, WriteOp, gate, repo};

/// What the line writes when applied: its planned effect, or the request on the waiting list it
/// became when its day turned out full or queued (`None`: refused, or lost).
pub(super) fn effective(p: &Planned, progress: &Progress, index: usize) -> Option<Effect> {
    let e = p.effect.as_ref().filter(|_| !progress.lost.contains_key(&index))?;
    match progress.queued.contains(&index) {
        true => e.to_waiting_list().or_else(|| Some(e.clone())),
        false => Some(e.clone()),
    }
}

/// A chunk's booking writes, the moves they make on their days, and the plan index of each.
pub(super) struct Writes {
    pub(super) ops: Vec<WriteOp>,
    pub(super) moves: Vec<gate::Move>,
    pub(super) indexes: Vec<usize>,
}

/// The writes of the lines of `chunk` that `progress` still applies.
pub(super) fn writes(town: &domain::TownId, chunk: &Chunk, progress: &Progress) -> Result<Writes, StoreError> {
    let mut w = Writes { ops: Vec::new(), moves: Vec::new(), indexes: Vec::new() };
    for (offset, p) in chunk.lines.iter().enumerate() {
        let index = chunk.first + offset;
        let Some(effect) = effective(p, progress, index) else { continue };
        w.ops.push(repo::booking_write(town, &effect.booking, effect.expected_version)?);
        let b = &effect.booking;
        w.moves.push(gate::Move {
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
        });
        w.indexes.push(index);
    }
    Ok(w)
}
