//! The audit trail: every staff action (who, what, when, before and after), written in the same
//! transaction as the change it records, readable by the town's administrator.

use crate::domain::TownId;
use crate::store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// The staff account's email.
    pub by: String,
    /// A stable name: `news.create`, `news.update`, `news.delete`…
    pub action: String,
    /// What was changed: `news/<id>`…
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

impl Entry {
    /// The write that records this entry, for the transaction of the change.
    pub fn record(&self, town: &TownId) -> Result<WriteOp, StoreError> {
        let sk =
            format!("{}#{}", self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), crate::auth::secret::id());
        Ok(WriteOp::Put { item: Item::from_value(Key::new(keys::audit(town), sk), self)?, cond: Some(Cond::NotExists) })
    }
}

/// The newest entries first, a page at a time.
pub async fn page(
    store: &Store,
    town: &TownId,
    limit: usize,
    cursor: Option<crate::store::Cursor>,
) -> Result<(Vec<Entry>, Option<crate::store::Cursor>), StoreError> {
    let q = Query::table(keys::audit(town), SkRange::All).descending().limit(limit).after(cursor);
    let page = store.query(&q).await?;
    let entries = page.items.iter().map(Item::to_value).collect::<Result<_, _>>()?;
    Ok((entries, page.next))
}
