//! Places claimed on a unit-day's counter by single-item conditional updates, before the
//! transaction that writes the bookings (docs/store.md, « Hot keys and the contended store »).
//!
//! In an opening rush every validation booking a day names that day's counter; in a
//! transaction, DynamoDB cancels all but one of those in flight together (`TransactionConflict`),
//! while single-item updates of one item are applied one after the other. So an addition takes
//! its place (or its place in the queue) with one [`Update`] of the counter — `taken + 1` (or
//! `waiting + 1`) and an attribute naming the claim, conditioned on the capacity, the queue and
//! the claim not being there yet — and the validation's own transaction then names only the
//! family's items (its bookings and its progress).
//!
//! A claim is an attribute `claim_<validation>_<line>` of the counter whose value says whose it
//! is ([`Owner`]: the validation's progress item, the chunk and line, place or queue, when). It
//! lives while the claim is in flight, and is settled once the owner's progress says what became
//! of its line: **cleared** (the attribute removed, the count kept: the booking holds it) if the
//! line landed, **released** (the attribute removed and the count given back) if it did not.
//! Each settlement is conditioned on the attribute as written, so it happens once whoever does
//! it. A counter therefore holds at most its in-flight claims (bounded by the capacity for
//! places), never one per booking.
//!
//! Whoever must be sure a claim's line never lands — a closure, or anyone finding a claim whose
//! owner died — **fences** it first: it records the line lost in the owner's progress item, with
//! the reason, conditioned on the progress as read (its `done` and `rev`); the owner's booking
//! transaction is conditioned on the same, so exactly one of them wins. Then it releases.
//!
//! A closure does not check the counter: the validation reads the day's closure marks *after*
//! its claims and before its transaction, and the closure fences the claims it finds on the
//! counters *after* writing the marks. Either the closure's read of the counter sees the claim
//! (and fences it, or finds its line landed, and the closure's cancellation pass then reads the
//! booking), or the claim came later, and the validation's read of the marks sees the closure.

use crate::{Cond, Item, Key, Result, Store, StoreError, Update};
use serde_json::Value;

/// The prefix of a claim's attribute on a counter.
pub const PREFIX: &str = "claim_";

/// A claim older than this (in seconds) belongs to a validation that died: a Lambda stops at
/// 30 s, and a validation retried by its client resumes its claims long before.
pub const STALE_SECONDS: i64 = 120;

/// Whose a claim is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The key of the owner's progress item.
    pub pk: String,
    pub sk: String,
    /// The chunk of the validation's plan the line is in, and the line's index in the plan.
    pub chunk: usize,
    pub line: usize,
    /// A place in the waiting list (`waiting`), not a place (`taken`).
    pub queue: bool,
    /// When it was claimed (epoch seconds).
    pub at: i64,
}

impl Owner {
    /// As stored: `at|chunk|line|q|pk|sk` (`q`: `1` for the queue), short, since DynamoDB
    /// charges an update of the counter for the whole item, and its age first, so that finding
    /// the stale claims of a counter parses nothing else.
    fn value(&self) -> Result<Value> {
        if self.pk.contains('|') {
            return Err(StoreError::Invalid(format!("a claim's owner key {:?} holds a |", self.pk)));
        }
        let q = u8::from(self.queue);
        Ok(Value::from(format!("{}|{}|{}|{q}|{}|{}", self.at, self.chunk, self.line, self.pk, self.sk)))
    }

    fn parse(v: &Value) -> Option<Owner> {
        let mut parts = v.as_str()?.splitn(6, '|');
        let mut next = || parts.next();
        let at = next()?.parse().ok()?;
        let chunk = next()?.parse().ok()?;
        let line = next()?.parse().ok()?;
        let queue = next()? == "1";
        let (pk, sk) = (next()?.to_owned(), next()?.to_owned());
        Some(Owner { pk, sk, chunk, line, queue, at })
    }

    /// When the claim stored as `v` was made, reading nothing else.
    fn at_of(v: &Value) -> Option<i64> {
        v.as_str()?.split('|').next()?.parse().ok()
    }
}

/// The attribute of the claim of line `line` of the validation claimed as `claim`.
pub fn attr(claim: &str, line: usize) -> String {
    format!("{PREFIX}{claim}_{line}")
}

/// What the claim is bound by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The day's capacity (a place: `taken` stays within it).
    pub capacity: i64,
    /// A place is taken only if nobody waits (a newcomer on a unit with a waiting list).
    pub behind_queue: bool,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Held, by this claim (now, or earlier: the owner as stored, place or queue).
    Held(Owner),
    /// No place (the capacity reached, or someone waiting): nothing written. With the claims
    /// found older than [`STALE_SECONDS`] (their owners died holding places: [`fence`] them).
    Refused { stale: Vec<(String, Owner)> },
}

/// Claims a place (or, `owner.queue`, a place in the queue) on the counter `counter` as
/// `attr`, once: a claim already there is answered as it is.
pub async fn take(store: &Store, counter: &Key, attr: &str, owner: &Owner, bound: Bound) -> Result<Taken> {
    let mut all = vec![Cond::Absent { name: attr.to_owned() }];
    let count = if owner.queue {
        "waiting"
    } else {
        all.push(Cond::AtMost { name: "taken".into(), value: bound.capacity - 1 });
        if bound.behind_queue {
            all.push(Cond::AtMost { name: "waiting".into(), value: 0 });
        }
        "taken"
    };
    let update = Update {
        key: counter.clone(),
        add: vec![(count.into(), 1)],
        set: vec![(attr.to_owned(), owner.value()?)],
        remove: Vec::new(),
        cond: Some(Cond::All(all)),
    };
    match store.update(update).await {
        Ok(()) => Ok(Taken::Held(owner.clone())),
        Err(StoreError::ConditionFailed) => {
            let item = store.get(counter).await?;
            Ok(match item.as_ref().and_then(|i| i.attrs.get(attr)).and_then(Owner::parse) {
                Some(held) => Taken::Held(held),
                None => Taken::Refused { stale: item.map(|i| stale_on(&i, owner.at)).unwrap_or_default() },
            })
        }
        Err(e) => Err(e),
    }
}

/// Settles a claim: cleared if its line `landed` (the booking holds the count), released
/// otherwise. Once, whoever calls it: a claim already settled is left alone.
pub async fn settle(store: &Store, counter: &Key, attr: &str, owner: &Owner, landed: bool) -> Result<()> {
    let count = if owner.queue { "waiting" } else { "taken" };
    let update = Update {
        key: counter.clone(),
        add: if landed { Vec::new() } else { vec![(count.into(), -1)] },
        set: Vec::new(),
        remove: vec![attr.to_owned()],
        cond: Some(Cond::AttrEquals { name: attr.to_owned(), value: owner.value()? }),
    };
    match store.update(update).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The claims on a counter as read.
pub fn on(counter: &Item) -> Vec<(String, Owner)> {
    counter
        .attrs
        .iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .filter_map(|(name, v)| Some((name.clone(), Owner::parse(v)?)))
        .collect()
}

/// The claims on a counter made at `now - STALE_SECONDS` or before (their owners died).
pub fn stale_on(counter: &Item, now: i64) -> Vec<(String, Owner)> {
    counter
        .attrs
        .iter()
        .filter(|(name, v)| name.starts_with(PREFIX) && Owner::at_of(v).is_some_and(|at| at <= now - STALE_SECONDS))
        .filter_map(|(name, v)| Some((name.clone(), Owner::parse(v)?)))
        .collect()
}

/// What the owner's progress says of a claim's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Its chunk was applied with it.
    Landed,
    /// It never lands (lost, or the validation rejected).
    Lost,
    /// Its chunk is not applied yet.
    InFlight,
}

/// The line's fate in a progress item as stored (`done`, `aborted`, `lost`, the validation
/// engine's progress: `basket::engine`).
pub fn fate(progress: Option<&Item>, owner: &Owner) -> Fate {
    let Some(p) = progress else { return Fate::InFlight };
    let lost = p.attrs.get("lost").and_then(Value::as_object).is_some_and(|l| l.contains_key(&owner.line.to_string()));
    let aborted = p.attrs.get("aborted").and_then(Value::as_bool).unwrap_or(false);
    let done = p.attrs.get("done").and_then(Value::as_u64).unwrap_or(0);
    match (aborted || lost, done > owner.chunk as u64) {
        (true, _) => Fate::Lost,
        (false, true) => Fate::Landed,
        (false, false) => Fate::InFlight,
    }
}

/// Makes sure the claim's line never lands, then settles the claim: a line in flight is
/// recorded lost in its owner's progress (with `why`, a refusal as the engine stores it),
/// conditioned on the progress as read, so that the owner's transaction (conditioned on the
/// same) can no longer land it. `keep_until` is the expiry of a progress item this creates.
pub async fn fence(
    store: &Store,
    counter: &Key,
    attr: &str,
    owner: &Owner,
    why: &Value,
    keep_until: i64,
) -> Result<Fate> {
    let key = Key::new(owner.pk.clone(), owner.sk.clone());
    for _ in 0..20 {
        let progress = store.get(&key).await?;
        let fate = fate(progress.as_ref(), owner);
        if fate != Fate::InFlight {
            settle(store, counter, attr, owner, fate == Fate::Landed).await?;
            return Ok(fate);
        }
        let (item, cond) = match progress {
            Some(mut p) => {
                let read = |n: &str| p.attrs.get(n).cloned().unwrap_or(Value::Null);
                let cond = Cond::AttrsEqual(
                    [("done".to_owned(), read("done")), ("rev".to_owned(), read("rev"))].into_iter().collect(),
                );
                let rev = p.attrs.get("rev").and_then(Value::as_u64).unwrap_or(0);
                let lost = p.attrs.entry("lost").or_insert_with(|| Value::Object(Default::default()));
                if let Some(l) = lost.as_object_mut() {
                    l.insert(owner.line.to_string(), why.clone());
                }
                p.attrs.insert("rev".into(), Value::from(rev + 1));
                (p, cond)
            }
            None => {
                let mut p = Item::new(key.clone()).with_ttl(keep_until);
                p.attrs.insert("done".into(), Value::from(0));
                p.attrs.insert("lost".into(), serde_json::json!({ owner.line.to_string(): why }));
                p.attrs.insert("rev".into(), Value::from(1));
                (p, Cond::NotExists)
            }
        };
        match store.put(item, Some(cond)).await {
            Ok(()) => {
                settle(store, counter, attr, owner, false).await?;
                return Ok(Fate::Lost);
            }
            // The owner moved meanwhile: read again.
            Err(StoreError::ConditionFailed | StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict)
}

/// Fences and settles every claim on `counter` (a closure), or only those older than
/// [`STALE_SECONDS`] at `now` (`stale_only`: owners that died). How many it settled.
pub async fn fence_all(
    store: &Store,
    counter: &Key,
    why: &Value,
    now: i64,
    keep_until: i64,
    stale_only: bool,
) -> Result<usize> {
    let Some(item) = store.get(counter).await? else { return Ok(0) };
    let mut settled = 0;
    let claims = if stale_only { stale_on(&item, now) } else { on(&item) };
    for (attr, owner) in claims {
        fence(store, counter, &attr, &owner, why, keep_until).await?;
        settled += 1;
    }
    Ok(settled)
}
