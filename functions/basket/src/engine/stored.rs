//! What a validation stores: its header (the claim), its plan in chunks that fit a transaction,
//! and its progress; their keys and reads.

use crate::check::{Effect, Line, Mode, Refusal};
use chrono::{DateTime, TimeDelta, Utc};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::{Email, Family};
use domain::{ChildId, FamilyRef, TownId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use store::{Cond, Item, Key, MAX_TRANSACTION_ACTIONS, Query, SkRange, Store, StoreError, WriteOp, keys};

/// How long a validation's answer is kept (at least 24 hours, as promised to clients).
pub const KEEP: TimeDelta = TimeDelta::hours(48);

/// A planning claim older than this belongs to a request that died (Lambda stops at 30 s).
pub const LEASE: TimeDelta = TimeDelta::seconds(35);

/// Actions of a chunk's own (the progress item takes the hundredth).
const CHUNK_ACTIONS: usize = MAX_TRANSACTION_ACTIONS - 1;

/// A chunk item stays well under DynamoDB's 400 KB.
const CHUNK_BYTES: usize = 300 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum State {
    Planning,
    Applying,
    Done,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Header {
    pub(super) state: State,
    pub(super) fingerprint: String,
    pub(super) claim: String,
    pub(super) claimed_at: DateTime<Utc>,
    pub(super) by: Email,
    pub(super) mode: Mode,
    pub(super) apply_valid: bool,
    #[serde(default)]
    pub(super) chunks: usize,
    /// Refused as a whole: nothing applied.
    #[serde(default)]
    pub(super) rejected: bool,
    /// First names of the children, for the email.
    #[serde(default)]
    pub(super) names: BTreeMap<ChildId, String>,
    /// Who is told what was applied.
    #[serde(default)]
    pub(super) notify: Vec<Recipient>,
    /// The basket whose applied lines are removed at the end.
    #[serde(default)]
    pub(super) basket: Option<Key>,
}

/// One line of the plan: the line, and its effect or why it is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub line: Line,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Chunk {
    /// The plan index of the chunk's first line.
    pub(super) first: usize,
    pub(super) lines: Vec<Planned>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Progress {
    /// Chunks applied.
    pub(super) done: usize,
    /// Lines that lost a race while being applied, by plan index.
    #[serde(default)]
    pub(super) lost: BTreeMap<usize, Refusal>,
    /// The first chunk lost a line and the guardian wanted all or nothing.
    #[serde(default)]
    pub(super) aborted: bool,
    /// Additions that found their day full, or someone waiting, when applied: they joined the
    /// waiting list instead, by plan index.
    #[serde(default)]
    pub(super) queued: BTreeSet<usize>,
}

/// Someone the confirmation email goes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recipient {
    pub email: Email,
    pub first_name: String,
}

/// What a validation asks for, besides its lines.
pub struct Ask {
    pub town: Arc<Town>,
    pub family: Family,
    pub by: Email,
    pub mode: Mode,
    /// The client's idempotency key.
    pub key: String,
    /// The digest of the request's meaning; the same key with another one is refused.
    pub fingerprint: String,
    /// Apply the valid lines when some are refused (the guardian's explicit choice).
    pub apply_valid: bool,
    pub notify: Vec<Recipient>,
    pub basket: Option<Key>,
    /// The portal's address, for the email's link.
    pub public_url: String,
}

pub(super) fn header_key(ask: &Ask) -> Key {
    keys::validation(ask.town.id(), &ask.family.reference, &ask.key)
}

pub(super) fn chunk_key(ask: &Ask, claim: &str, n: usize) -> Key {
    Owner::of(ask, claim).chunk(n)
}

fn progress_key(ask: &Ask, claim: &str) -> Key {
    Owner::of(ask, claim).progress()
}

/// Whose records a validation's are: the family, the client's key, the claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Owner {
    pub(super) town: TownId,
    pub(super) family: FamilyRef,
    pub(super) key: String,
    pub(super) claim: String,
}

impl Owner {
    pub(super) fn of(ask: &Ask, claim: &str) -> Owner {
        Owner {
            town: ask.town.id().clone(),
            family: ask.family.reference.clone(),
            key: ask.key.clone(),
            claim: claim.to_owned(),
        }
    }

    fn records(&self) -> String {
        format!("{}#{}", self.key, self.claim)
    }

    pub(super) fn chunk(&self, n: usize) -> Key {
        keys::validation_chunk(&self.town, &self.family, &self.records(), n)
    }

    pub(super) fn progress(&self) -> Key {
        keys::validation_progress(&self.town, &self.family, &self.records())
    }

    /// The mark that chunk `n` is the worker's own to apply (its day's queue handed it back).
    pub(super) fn solo(&self, n: usize) -> Key {
        keys::validation_solo(&self.town, &self.family, &self.records(), n)
    }

    /// The write that moves the progress from `from` to `to`.
    pub(super) fn progress_op(&self, from: usize, to: &Progress, now: DateTime<Utc>) -> Result<WriteOp, StoreError> {
        let item = Item::from_value(self.progress(), to)?.with_ttl(expiry(now));
        let cond = if from == 0 { Cond::NotExists } else { Cond::attr_equals("done", from) };
        Ok(WriteOp::Put { item, cond: Some(cond) })
    }
}

pub(super) fn expiry(now: DateTime<Utc>) -> i64 {
    (now + KEEP).timestamp()
}

pub(super) fn header_item(ask: &Ask, h: &Header, now: DateTime<Utc>) -> Result<Item, StoreError> {
    Ok(Item::from_value(header_key(ask), h)?.with_ttl(expiry(h.claimed_at.min(now))))
}

pub(super) async fn read_header(store: &Store, ask: &Ask, now: DateTime<Utc>) -> Result<Option<Header>, StoreError> {
    match store.get(&header_key(ask)).await? {
        Some(i) if i.is_live(now.timestamp()) => Ok(Some(i.to_value()?)),
        _ => Ok(None),
    }
}

pub(super) fn claimed_by(claim: &str) -> Cond {
    Cond::attr_equals("claim", claim.to_owned())
}

/// Splits the plan (sorted by date) into chunks that each fit one transaction with the progress
/// item. A day of a unit with a waiting list gets a chunk of its own: its counter and its
/// closure marks are what every family booking that day also names, and DynamoDB cancels either
/// of two transactions in flight on one item, so a transaction naming one day's shared items
/// meets far fewer than one naming twenty (docs/store.md, « Hot keys »). Other days are packed
/// up to the transaction's limit (a school year's canteen in some fifteen transactions).
pub(super) fn split(plan: Vec<Planned>, contended: impl Fn(&Planned) -> bool) -> Result<Vec<Chunk>, StoreError> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current = Chunk { first: 0, lines: Vec::new() };
    let (mut actions, mut bytes) = (0usize, 0usize);
    let mut counters = HashSet::new();
    let mut days = HashSet::new();
    for (i, p) in plan.into_iter().enumerate() {
        let size = serde_json::to_vec(&p).map_err(|e| StoreError::Invalid(e.to_string()))?.len();
        let counter = p.effect.as_ref().and_then(counter_of);
        // An addition's day is checked open, once per day.
        let day = p.effect.as_ref().filter(|_| p.line.action == ActionKind::Add).map(|e| e.booking.date);
        // A counter, and the waiting list's job when it frees a place.
        let need_in = |counters: &HashSet<Counter>, days: &HashSet<chrono::NaiveDate>| {
            usize::from(p.effect.is_some())
                + 2 * usize::from(counter.as_ref().is_some_and(|k| !counters.contains(k)))
                + usize::from(day.is_some_and(|d| !days.contains(&d)))
        };
        let mut need = need_in(&counters, &days);
        let other_day = current.lines.last().is_some_and(|last| last.line.date != p.line.date)
            && (contended(&p) || current.lines.iter().any(&contended));
        if !current.lines.is_empty() && (other_day || actions + need > CHUNK_ACTIONS || bytes + size > CHUNK_BYTES) {
            chunks.push(std::mem::replace(&mut current, Chunk { first: i, lines: Vec::new() }));
            (actions, bytes) = (0, 0);
            counters.clear();
            days.clear();
            need = need_in(&counters, &days);
        }
        if let Some(k) = counter {
            counters.insert(k);
        }
        if let Some(d) = day {
            days.insert(d);
        }
        actions += need;
        bytes += size;
        current.lines.push(p);
    }
    if !current.lines.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    Ok(chunks)
}

/// A places counter: unit, site, day.
pub(super) type Counter = (domain::UnitId, domain::SiteId, chrono::NaiveDate);

/// The places counter a line touches, when it takes or frees a place or one in the queue (an
/// addition that turns into a request on the waiting list when applied moves the same one).
fn counter_of(e: &Effect) -> Option<Counter> {
    (e.places != 0 || e.waiting != 0).then(|| (e.booking.unit.clone(), e.booking.site.clone(), e.booking.date))
}

pub(super) async fn load_chunks(store: &Store, ask: &Ask, header: &Header) -> Result<Vec<Chunk>, StoreError> {
    let first = chunk_key(ask, &header.claim, 0);
    let prefix = first.sk.trim_end_matches("0000").to_owned();
    let items = store.query_all(&Query::table(first.pk, SkRange::Prefix(prefix))).await?;
    let chunks: Vec<Chunk> = items.iter().map(Item::to_value).collect::<Result<_, _>>()?;
    if chunks.len() != header.chunks {
        return Err(StoreError::Corrupt(format!(
            "validation {}: {} chunks of {}",
            ask.key,
            chunks.len(),
            header.chunks
        )));
    }
    Ok(chunks)
}

pub(super) async fn read_progress(store: &Store, ask: &Ask, claim: &str) -> Result<Progress, StoreError> {
    Ok(store.get(&progress_key(ask, claim)).await?.map(|i| i.to_value()).transpose()?.unwrap_or_default())
}

/// The write that moves the progress from `from` to `to`.
pub(super) fn progress_op(
    ask: &Ask,
    claim: &str,
    from: usize,
    to: &Progress,
    now: DateTime<Utc>,
) -> Result<WriteOp, StoreError> {
    Owner::of(ask, claim).progress_op(from, to, now)
}

/// The plan's line at `index`.
pub(super) fn plan_line(chunks: &[Chunk], index: usize) -> Option<&Planned> {
    let c = chunks.iter().rev().find(|c| c.first <= index)?;
    c.lines.get(index - c.first)
}
