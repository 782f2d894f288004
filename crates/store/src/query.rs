//! Queries: by partition or index, a sort-key range, a page and the cursor to the next one.

use crate::{Item, Key, Result, StoreError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// DynamoDB stops a query page after reading this much.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Which key a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
}

/// The sort-key condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkRange {
    All,
    Prefix(String),
    /// Both ends included.
    Between(String, String),
    /// Up to this key, included.
    UpTo(String),
}

impl SkRange {
    #[cfg(feature = "embedded")]
    pub(crate) fn contains(&self, sk: &str) -> bool {
        match self {
            SkRange::All => true,
            SkRange::Prefix(p) => sk.starts_with(p.as_str()),
            SkRange::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
            SkRange::UpTo(b) => sk <= b.as_str(),
        }
    }

    /// DynamoDB refuses an empty string as a key value: so does the embedded backend.
    pub(crate) fn check(&self) -> Result<()> {
        let empty = match self {
            SkRange::All => false,
            SkRange::Prefix(p) | SkRange::UpTo(p) => p.is_empty(),
            SkRange::Between(a, b) => a.is_empty() || b.is_empty(),
        };
        if empty {
            return Err(StoreError::Invalid("a sort-key bound cannot be empty".into()));
        }
        Ok(())
    }
}

/// Where a query stopped: opaque to callers, the same on both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Serialize, Deserialize)]
struct CursorKey {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1: Option<Key>,
}

impl Cursor {
    pub(crate) fn encode(key: &Key, gsi1: Option<&Key>) -> Cursor {
        let k = CursorKey { pk: key.pk.clone(), sk: key.sk.clone(), gsi1: gsi1.cloned() };
        Cursor(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&k).unwrap_or_default()))
    }
    pub(crate) fn decode(&self) -> Result<(Key, Option<Key>), StoreError> {
        let bad = || StoreError::Invalid("malformed cursor".into());
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| bad())?;
        let k: CursorKey = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok((Key { pk: k.pk, sk: k.sk }, k.gsi1))
    }
    /// A cursor a client sent back (from a `next` link); checked when used.
    pub fn from_client(s: &str) -> Cursor {
        Cursor(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: SkRange,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub descending: bool,
}

impl Query {
    pub fn table(pk: impl Into<String>, sk: SkRange) -> Query {
        Query { index: Index::Table, pk: pk.into(), sk, limit: 1000, cursor: None, descending: false }
    }
    pub fn gsi1(pk: impl Into<String>, sk: SkRange) -> Query {
        Query { index: Index::Gsi1, ..Query::table(pk, sk) }
    }
    pub fn limit(mut self, n: usize) -> Query {
        self.limit = n;
        self
    }
    pub fn after(mut self, cursor: Option<Cursor>) -> Query {
        self.cursor = cursor;
        self
    }
    pub fn descending(mut self) -> Query {
        self.descending = true;
        self
    }
}

/// One page of a query. `next` is set when more items may follow (DynamoDB may set it even
/// when the next page turns out empty): callers loop until it is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}
