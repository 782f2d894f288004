//! The audit trail: every staff action (who, what, when, before and after), written in the same
//! transaction as the change it records, readable by the town's administrator.

use crate::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};
use chrono::{DateTime, Utc};
use domain::TownId;
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

/// The largest entry kept whole. A larger one keeps who, what, when and the target, and says how
/// large its before and after were: an audit entry must never make the change it records fail.
pub const MAX_ENTRY_BYTES: usize = 300 * 1024;

impl Entry {
    /// The write that records this entry, for the transaction of the change.
    pub fn record(&self, town: &TownId) -> Result<WriteOp, StoreError> {
        let sk = format!("{}#{}", self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), crate::secret::id());
        let key = Key::new(keys::audit(town), sk);
        let mut item = Item::from_value(key.clone(), self)?;
        if item.size() > MAX_ENTRY_BYTES {
            let omitted = |v: &Option<serde_json::Value>| {
                v.as_ref().map(|v| serde_json::json!({ "omitted_bytes": v.to_string().len() }))
            };
            let short = Entry { before: omitted(&self.before), after: omitted(&self.after), ..self.clone() };
            item = Item::from_value(key, &short)?;
        }
        Ok(WriteOp::Put { item, cond: Some(Cond::NotExists) })
    }
}

/// The newest entries first, a page at a time.
pub async fn page(
    store: &Store,
    town: &TownId,
    limit: usize,
    cursor: Option<crate::Cursor>,
) -> Result<(Vec<Entry>, Option<crate::Cursor>), StoreError> {
    let q = Query::table(keys::audit(town), SkRange::All).descending().limit(limit).after(cursor);
    let page = store.query(&q).await?;
    let entries = Item::decode_listed(&page.items);
    Ok((entries, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_too_large_to_store_keeps_who_what_and_when() {
        let town = TownId::parse("ville").unwrap();
        let big = serde_json::Value::String("x".repeat(250 * 1024));
        let entry = Entry {
            at: Utc::now(),
            by: "agent@mairie.fr".into(),
            action: "config.update".into(),
            target: "town/ville".into(),
            before: Some(big.clone()),
            after: Some(big),
        };
        let WriteOp::Put { item, .. } = entry.record(&town).unwrap() else { panic!("a put") };
        assert!(item.size() <= MAX_ENTRY_BYTES);
        let kept: Entry = item.to_value().unwrap();
        assert_eq!((kept.by.as_str(), kept.action.as_str()), ("agent@mairie.fr", "config.update"));
        assert_eq!(kept.before.unwrap()["omitted_bytes"], 250 * 1024 + 2);
        let small = Entry { before: None, after: Some(serde_json::json!({"a": 1})), ..kept };
        let WriteOp::Put { item, .. } = small.record(&town).unwrap() else { panic!("a put") };
        assert_eq!(item.to_value::<Entry>().unwrap().after, Some(serde_json::json!({"a": 1})));
    }
}
