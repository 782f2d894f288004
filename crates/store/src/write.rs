//! Writes: the conditions checked atomically with a write, the write actions of a transaction,
//! and the checks that hold a transaction to DynamoDB's limits.

use crate::item::{RESERVED, check_key};
use crate::{Item, Key, Result, StoreError};
use serde_json::{Map, Value};

/// DynamoDB's limit on the actions of one transaction.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;

/// A condition on the item a write touches, checked atomically with the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The item exists.
    Exists,
    /// No item has this key.
    NotExists,
    /// No item has this key, or it has expired (`ttl <= now`): what an expiring record
    /// needs, since DynamoDB's TTL deletion lags.
    NotExistsOrExpired { now: i64 },
    /// The item exists and its attribute `name` equals `value`.
    AttrEquals { name: String, value: Value },
    /// The item exists and each listed attribute equals its value (lists and maps compared
    /// whole); a `null` means the attribute is absent. What a record without a version needs
    /// for an optimistic write: the attributes as they were read, and `null` for the optional
    /// ones that were not there.
    AttrsEqual(Map<String, Value>),
    /// No item has this key, or the item lacks the attribute `name` (a mark not set).
    Absent { name: String },
    /// No item has this key, or it lacks the numeric attribute `name`, or its value is at most
    /// `value` (a bound on a counter, a version not passed).
    AtMost { name: String, value: i64 },
    /// The item exists and its numeric attribute `name` is at least `value` (a counter still
    /// as full as a decision read it).
    AtLeast { name: String, value: i64 },
    /// Every condition holds.
    All(Vec<Cond>),
}

impl Cond {
    /// The item is still at the `version` it was read at (records that carry a `version`).
    pub fn version(version: u64) -> Cond {
        Cond::AttrEquals { name: "version".into(), value: Value::from(version) }
    }

    /// The item exists and its attribute `name` equals `value` (a state, a claim, a sequence's
    /// next number as read).
    pub fn attr_equals(name: &str, value: impl Into<Value>) -> Cond {
        Cond::AttrEquals { name: name.to_owned(), value: value.into() }
    }

    /// The item is at `version`, or, for `None`, does not exist yet.
    pub fn at_version(version: Option<u64>) -> Cond {
        version.map_or(Cond::NotExists, Cond::version)
    }

    #[cfg(feature = "embedded")]
    pub(crate) fn holds(&self, current: Option<&Item>) -> bool {
        match (self, current) {
            (Cond::Absent { name }, c) => c.is_none_or(|i| !i.attrs.contains_key(name)),
            (Cond::AtMost { name, value }, c) => {
                c.and_then(|i| i.attrs.get(name)).is_none_or(|v| v.as_i64().is_some_and(|n| n <= *value))
            }
            (Cond::AtLeast { name, value }, c) => {
                c.and_then(|i| i.attrs.get(name)).and_then(Value::as_i64).is_some_and(|n| n >= *value)
            }
            (Cond::All(all), c) => all.iter().all(|x| x.holds(c)),
            (Cond::Exists, c) => c.is_some(),
            (Cond::NotExists, c) => c.is_none(),
            (Cond::NotExistsOrExpired { now }, c) => c.is_none_or(|i| i.ttl.is_some_and(|t| t <= *now)),
            (Cond::AttrEquals { name, value }, Some(i)) => i.attrs.get(name) == Some(value),
            (Cond::AttrEquals { .. } | Cond::AttrsEqual(_), None) => false,
            (Cond::AttrsEqual(attrs), Some(i)) => attrs.iter().all(|(name, value)| match value {
                Value::Null => !i.attrs.contains_key(name),
                v => i.attrs.get(name) == Some(v),
            }),
        }
    }
}

/// One action of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        cond: Option<Cond>,
    },
    Delete {
        key: Key,
        cond: Option<Cond>,
    },
    /// Only checks a condition on another item.
    Check {
        key: Key,
        cond: Cond,
    },
    /// Adds `by` to the numeric attribute `attr` (missing counts as 0, a missing item is
    /// created), refusing to go over `max`.
    Add {
        key: Key,
        attr: String,
        by: i64,
        max: Option<i64>,
    },
    /// Adds to several numeric attributes of one item at once (missing ones count as 0, a
    /// missing item is created), if `cond` holds: a unit-day's places and queue move together,
    /// bounded by the capacity and the queue. A failed condition cancels the transaction as
    /// `OverLimit`, like [`WriteOp::Add`].
    Counters {
        key: Key,
        add: Vec<(String, i64)>,
        cond: Option<Cond>,
    },
}

impl WriteOp {
    /// Writes `item` whatever is there.
    pub fn put(item: Item) -> WriteOp {
        WriteOp::Put { item, cond: None }
    }

    /// Writes `item` only if nothing has its key yet (a record created once: a receipt, a marker).
    pub fn create(item: Item) -> WriteOp {
        WriteOp::Put { item, cond: Some(Cond::NotExists) }
    }

    /// Deletes the item at `key`, if any.
    pub fn delete(key: Key) -> WriteOp {
        WriteOp::Delete { key, cond: None }
    }

    /// The item the action names (a transaction names each item once).
    pub fn key(&self) -> &Key {
        match self {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. }
            | WriteOp::Check { key, .. }
            | WriteOp::Add { key, .. }
            | WriteOp::Counters { key, .. } => key,
        }
    }
}

pub(crate) fn check_transaction(ops: &[WriteOp]) -> Result<()> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_ACTIONS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes 1 to {MAX_TRANSACTION_ACTIONS} actions, not {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        if !seen.insert(op.key()) {
            return Err(StoreError::Invalid(format!(
                "key {}/{} appears twice in one transaction",
                op.key().pk,
                op.key().sk
            )));
        }
        match op {
            WriteOp::Put { item, .. } => item.check()?,
            WriteOp::Add { key, attr, by, max } => check_add(key, attr, *by, *max)?,
            WriteOp::Counters { key, add, .. } => {
                if add.is_empty() {
                    return Err(StoreError::Invalid("counters without anything to add".into()));
                }
                for (attr, by) in add {
                    check_add(key, attr, *by, None)?;
                }
            }
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => check_key(key)?,
        }
    }
    Ok(())
}

pub(crate) fn check_add(key: &Key, attr: &str, by: i64, max: Option<i64>) -> Result<()> {
    check_key(key)?;
    if RESERVED.contains(&attr) || attr.is_empty() {
        return Err(StoreError::Invalid(format!("cannot add to attribute {attr:?}")));
    }
    if max.is_some_and(|m| by > m) {
        return Err(StoreError::Invalid(format!("adding {by} can never fit under {max:?}")));
    }
    Ok(())
}
