//! The stored basket: one item per guardian account and family, in the family's partition,
//! expiring after [`IDLE`] without a change. Every write is conditioned on the revision it
//! read, so two devices editing at once never lose a line.

use crate::check::Line;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::{ChildId, UnitId};
use edge::auth::secret;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use store::{Cond, Item, Key, Store, StoreError, WriteOp};

/// The most lines a basket holds: a school year for three children on three units is about
/// 1,500.
pub const MAX_LINES: usize = 2000;
/// A basket left alone this long is gone.
pub const IDLE: TimeDelta = TimeDelta::days(7);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stored {
    /// Changes at every write; the client sends the one it saw when validating.
    pub revision: String,
    pub lines: Vec<Line>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Stored {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.updated_at.map(|t| t + IDLE)
    }
}

/// The live basket, or an empty one (with no revision) when there is none.
pub async fn load(store: &Store, key: &Key, now: DateTime<Utc>) -> Result<Stored, StoreError> {
    match store.get(key).await? {
        Some(item) if item.is_live(now.timestamp()) => item.to_value(),
        _ => Ok(Stored::default()),
    }
}

/// The write that replaces `old` (as read) with `lines`, and the basket it makes.
pub fn replace(key: &Key, old: &Stored, lines: Vec<Line>, now: DateTime<Utc>) -> Result<(WriteOp, Stored), StoreError> {
    let new = Stored { revision: secret::id(), lines, updated_at: Some(now) };
    let item = Item::from_value(key.clone(), &new)?.with_ttl((now + IDLE).timestamp());
    let cond = if old.revision.is_empty() {
        Cond::NotExistsOrExpired { now: now.timestamp() }
    } else {
        Cond::attr_equals("revision", old.revision.clone())
    };
    Ok((WriteOp::Put { item, cond: Some(cond) }, new))
}

/// The write that removes the applied cells from the current basket, if any are in it.
pub async fn without(
    store: &Store,
    key: &Key,
    done: &HashSet<(ChildId, UnitId, NaiveDate)>,
    now: DateTime<Utc>,
) -> Result<Option<WriteOp>, StoreError> {
    let old = load(store, key, now).await?;
    if !old.lines.iter().any(|l| done.contains(&l.cell())) {
        return Ok(None);
    }
    let lines = old.lines.iter().filter(|l| !done.contains(&l.cell())).cloned().collect();
    Ok(Some(replace(key, &old, lines, now)?.0))
}
