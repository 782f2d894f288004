//! An item of the single table: its key, its place in the secondary index, its expiry and its
//! attributes, and DynamoDB's limits on them.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// DynamoDB's limit on one item's size.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Attribute names the store uses itself; an item's own attributes may not take them.
pub const RESERVED: [&str; 5] = ["pk", "sk", "gsi1pk", "gsi1sk", "ttl"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key { pk: pk.into(), sk: sk.into() }
    }
}

/// One stored item: its key, its place in the secondary index, its expiry, its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub key: Key,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1: Option<Key>,
    /// Epoch seconds after which the item is dead. DynamoDB deletes it some time later, so
    /// readers check it themselves ([`Item::is_live`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    pub attrs: Map<String, Value>,
}

impl Item {
    pub fn new(key: Key) -> Item {
        Item { key, gsi1: None, ttl: None, attrs: Map::new() }
    }

    /// An item whose attributes are the fields of `value` (a struct serialising to a map).
    pub fn from_value<T: Serialize>(key: Key, value: &T) -> Result<Item, StoreError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(attrs)) => Ok(Item { attrs, ..Item::new(key) }),
            Ok(_) => Err(StoreError::Invalid("an item's attributes must be a map".into())),
            Err(e) => Err(StoreError::Invalid(format!("cannot serialise item: {e}"))),
        }
    }

    /// The attributes read back as `T`.
    pub fn to_value<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(Value::Object(self.attrs.clone()))
            .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", self.key.pk, self.key.sk)))
    }

    /// The items that decode as `T`, in order; one that does not (a record written by an older
    /// version, or damaged) is logged and left out, so that a list never fails on one record.
    /// For lists people read; a computation that must see every record decodes strictly.
    pub fn decode_listed<T: serde::de::DeserializeOwned>(items: &[Item]) -> Vec<T> {
        items
            .iter()
            .filter_map(|i| match i.to_value() {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(error = %e, "a stored record that does not decode is left out of a list");
                    None
                }
            })
            .collect()
    }

    pub fn with_gsi1(mut self, key: Key) -> Item {
        self.gsi1 = Some(key);
        self
    }
    pub fn with_ttl(mut self, epoch_seconds: i64) -> Item {
        self.ttl = Some(epoch_seconds);
        self
    }
    pub fn is_live(&self, now_epoch: i64) -> bool {
        self.ttl.is_none_or(|t| t > now_epoch)
    }

    /// The bytes the item takes, as the limits count them (names and values).
    pub fn size(&self) -> usize {
        self.key.pk.len()
            + self.key.sk.len()
            + 4
            + self.gsi1.as_ref().map_or(0, |g| g.pk.len() + g.sk.len() + 12)
            + self.ttl.map_or(0, |_| 11)
            + self.attrs.iter().map(|(k, v)| k.len() + v.to_string().len()).sum::<usize>()
    }

    pub(crate) fn check(&self) -> Result<(), StoreError> {
        check_key(&self.key)?;
        if let Some(g) = &self.gsi1 {
            check_key(g)?;
        }
        if let Some(name) = self.attrs.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(StoreError::Invalid(format!("attribute name {name:?} is reserved")));
        }
        if self.size() > MAX_ITEM_BYTES {
            return Err(StoreError::Invalid(format!("item {}/{} is over 400 KB", self.key.pk, self.key.sk)));
        }
        Ok(())
    }
}

pub(crate) fn check_key(k: &Key) -> Result<(), StoreError> {
    if k.pk.is_empty() || k.sk.is_empty() || k.pk.len() > 2048 || k.sk.len() > 1024 {
        return Err(StoreError::Invalid(format!("key {:?}/{:?} is empty or too long", k.pk, k.sk)));
    }
    Ok(())
}
