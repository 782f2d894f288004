//! The migration of one kind's stored items to its current shape: for a shape change a query
//! depends on (an index key, an attribute a condition or a filter reads), which the upgrade on
//! read cannot give the store itself. The job pages through the table (a scan, every town at
//! once), rewrites each item of the kind that is behind, each conditioned on the item being
//! unchanged since it was read, and keeps its cursor and counts in its own item
//! (`MIGRATIONS` / `<kind>`). Each step is bounded (one page); run again, it resumes where the
//! last one stopped; run after it finished, it does nothing.

use crate::schema::{Kind, Schema, VERSION_ATTR};
use crate::{Cond, Cursor, Item, Key, Query, SkRange, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The partition of the migrations' progress, one item per kind.
pub use crate::schema::MIGRATIONS;

pub fn progress_key(kind: Kind) -> Key {
    Key::new(MIGRATIONS, kind.name())
}

/// Where a kind's migration stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub kind: String,
    /// The version it brings the kind's items to.
    pub to: u32,
    /// Where the next step starts; `None` with `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub done: bool,
    /// Steps run: each step's write is conditioned on it (two runners never both move on).
    pub steps: u64,
    /// Items read (every kind: the scan reads the table).
    pub scanned: u64,
    /// Items of the kind rewritten in the current shape.
    pub upgraded: u64,
    /// Items of the kind written by someone else between the read and the rewrite: left as
    /// they are (a writer of this code writes the current shape).
    pub changed_meanwhile: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What happened to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not of the kind, or already in its current shape.
    Untouched,
    Upgraded,
    ChangedMeanwhile,
}

/// The progress of every migration ever started.
pub async fn all(store: &Store) -> Result<Vec<Progress>, StoreError> {
    let items = store.query_all(&Query::table(MIGRATIONS, SkRange::All)).await?;
    items.iter().map(Item::to_value).collect()
}

/// One step of `kind`'s migration to `schema`'s version: one page of at most `page` items read,
/// those of the kind that are behind rewritten. A migration already done for this version does
/// nothing; one done for an older version (the kind was bumped again) starts over.
pub async fn step(
    store: &Store,
    schema: &Schema,
    kind: Kind,
    page: usize,
    now: DateTime<Utc>,
) -> Result<Progress, StoreError> {
    let key = progress_key(kind);
    let to = schema.version(kind);
    let read = store.get(&key).await?.map(|i| i.to_value::<Progress>()).transpose()?;
    let cond =
        read.as_ref().map_or(Cond::NotExists, |p| Cond::AttrEquals { name: "steps".into(), value: p.steps.into() });
    let mut p = match read {
        Some(p) if p.to == to => p,
        Some(p) => fresh(kind, to, now, p.steps),
        None => fresh(kind, to, now, 0),
    };
    if p.done {
        return Ok(p);
    }
    let cursor = p.cursor.as_deref().map(Cursor::from_client);
    let found = store.scan(page, cursor.as_ref()).await?;
    for item in &found.items {
        match rewrite(store, schema, kind, item).await? {
            Outcome::Untouched => {}
            Outcome::Upgraded => p.upgraded += 1,
            Outcome::ChangedMeanwhile => p.changed_meanwhile += 1,
        }
    }
    p.scanned += found.items.len() as u64;
    p.done = found.next.is_none();
    p.cursor = found.next.map(|c| c.as_str().to_owned());
    p.steps += 1;
    p.updated_at = now;
    store.put(Item::from_value(key, &p)?, Some(cond)).await?;
    tracing::info!(
        kind = kind.name(),
        to,
        steps = p.steps,
        scanned = p.scanned,
        upgraded = p.upgraded,
        done = p.done,
        "migration step"
    );
    Ok(p)
}

fn fresh(kind: Kind, to: u32, now: DateTime<Utc>, steps: u64) -> Progress {
    Progress {
        kind: kind.name().to_owned(),
        to,
        cursor: None,
        done: false,
        steps,
        scanned: 0,
        upgraded: 0,
        changed_meanwhile: 0,
        started_at: now,
        updated_at: now,
    }
}

/// Rewrites `read` (an item as it was read) in `kind`'s current shape if it is of the kind and
/// behind, conditioned on its attributes being still those read: a write made meanwhile is
/// never overwritten with the older content.
pub async fn rewrite(store: &Store, schema: &Schema, kind: Kind, read: &Item) -> Result<Outcome, StoreError> {
    if Kind::of(&read.key) != Some(kind) || read.stored_version()? >= schema.version(kind) {
        return Ok(Outcome::Untouched);
    }
    let mut upgraded = read.upgraded(schema)?.into_owned();
    if let Some(to) = crate::schema::relocated(&read.key) {
        upgraded.key = to;
        return relocate(store, read, upgraded).await;
    }
    match store.put(upgraded, Some(Cond::AttrsEqual(unchanged_as_read(read)))).await {
        Ok(()) => Ok(Outcome::Upgraded),
        Err(StoreError::ConditionFailed) => Ok(Outcome::ChangedMeanwhile),
        Err(e) => Err(e),
    }
}

/// Every attribute of `read` as read, and the version absent if it was: any writer of this
/// code stamps the version, so a write meanwhile changes at least that. (A null attribute is
/// left out: the condition reads `null` as absent.)
fn unchanged_as_read(read: &Item) -> serde_json::Map<String, Value> {
    let mut unchanged: serde_json::Map<String, Value> =
        read.attrs.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
    unchanged.entry(VERSION_ATTR).or_insert(Value::Null);
    unchanged
}

/// Moves `read` to its new key in one transaction: created there if nothing is (a counter the
/// new code started meanwhile is never overwritten: both stay, counted as changed meanwhile,
/// for the operator), deleted here if unchanged since read.
async fn relocate(store: &Store, read: &Item, moved: Item) -> Result<Outcome, StoreError> {
    let ops = vec![
        crate::WriteOp::Put { item: moved, cond: Some(Cond::NotExists) },
        crate::WriteOp::Delete { key: read.key.clone(), cond: Some(Cond::AttrsEqual(unchanged_as_read(read))) },
    ];
    match store.transact(ops).await {
        Ok(()) => Ok(Outcome::Upgraded),
        Err(StoreError::TransactionCanceled { .. }) => Ok(Outcome::ChangedMeanwhile),
        Err(e) => Err(e),
    }
}
