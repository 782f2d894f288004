//! An item of the single table: its key, its place in the secondary index, its expiry and its
//! attributes, and DynamoDB's limits on them.

use crate::StoreError;
use crate::key::Key;
use crate::schema::{self, Kind, Schema, VERSION_ATTR};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// DynamoDB's limit on one item's size.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// Attribute names the store uses itself; an item's own attributes may not take them.
pub const RESERVED: [&str; 5] = ["pk", "sk", "gsi1pk", "gsi1sk", "ttl"];

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
    /// A new item, stamped with its kind's schema version ([`schema`]): what this code writes
    /// is in the current shape.
    pub fn new(key: Key) -> Item {
        let mut attrs = Map::new();
        schema::stamp(&key, &mut attrs);
        Item { key, gsi1: None, ttl: None, attrs }
    }

    /// An item whose attributes are the fields of `value` (a struct serialising to a map),
    /// stamped with its kind's schema version.
    pub fn from_value<T: Serialize>(key: Key, value: &T) -> Result<Item, StoreError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(mut attrs)) => {
                if attrs.contains_key(schema::VERSION_ATTR) {
                    return Err(StoreError::Invalid(format!(
                        "attribute name {:?} is the schema version's",
                        schema::VERSION_ATTR
                    )));
                }
                schema::stamp(&key, &mut attrs);
                Ok(Item { key, gsi1: None, ttl: None, attrs })
            }
            Ok(_) => Err(StoreError::Invalid("an item's attributes must be a map".into())),
            Err(e) => Err(StoreError::Invalid(format!("cannot serialise item: {e}"))),
        }
    }

    /// The attributes read back as `T`, an older shape upgraded to the current one first
    /// ([`schema::Schema::upgrade`]).
    pub fn to_value<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        let item = self.upgraded(Schema::production())?;
        let mut attrs = item.attrs.clone();
        if schema::Kind::of(&self.key).is_some() {
            attrs.remove(schema::VERSION_ATTR);
        }
        serde_json::from_value(Value::Object(attrs))
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

/// The item as stored, and its upgrade to its kind's current shape ([`schema`]).
impl Item {
    /// The item in its kind's current shape (borrowed when it already is); an item of a newer
    /// version than these shapes is refused: its shape is never guessed at.
    pub fn upgraded(&self, schema: &Schema) -> Result<Cow<'_, Item>, StoreError> {
        let item = self;
        let Some(kind) = Kind::of(&item.key) else { return Ok(Cow::Borrowed(item)) };
        let (from, to) = (item.stored_version()?, schema.version(kind));
        let corrupt = |why: String| StoreError::Corrupt(format!("{}/{}: {why}", item.key.pk, item.key.sk));
        if from == to {
            return Ok(Cow::Borrowed(item));
        }
        if from > to {
            return Err(corrupt(format!("{} v{from} is newer than this code's v{to}", kind.name())));
        }
        let mut flat = item.flatten();
        for (n, step) in schema.steps(kind).enumerate().skip(from as usize - 1) {
            flat = step(flat).map_err(|e| corrupt(format!("{} v{} to v{}: {e}", kind.name(), n + 1, n + 2)))?;
        }
        let mut up = Item::unflatten(flat)?;
        if up.key != item.key {
            return Err(corrupt(format!("an upgrade of {} changed the item's key", kind.name())));
        }
        up.attrs.insert(VERSION_ATTR.into(), Value::from(to));
        Ok(Cow::Owned(up))
    }

    /// The version an item was written at: 1 without the attribute.
    pub fn stored_version(&self) -> Result<u32, StoreError> {
        let item = self;
        match item.attrs.get(VERSION_ATTR) {
            None => Ok(1),
            Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n >= 1).ok_or_else(|| {
                StoreError::Corrupt(format!("{}/{}: schema version {v} is not a version", item.key.pk, item.key.sk))
            }),
        }
    }

    /// The item as stored: its attributes with `pk`, `sk` and, when set, `gsi1pk`, `gsi1sk`, `ttl`
    /// (what DynamoDB shows, and the fixtures under `tests/fixtures/stored/`).
    pub fn flatten(&self) -> Value {
        let item = self;
        let mut map = item.attrs.clone();
        map.insert("pk".into(), Value::from(item.key.pk.clone()));
        map.insert("sk".into(), Value::from(item.key.sk.clone()));
        if let Some(g) = &item.gsi1 {
            map.insert("gsi1pk".into(), Value::from(g.pk.clone()));
            map.insert("gsi1sk".into(), Value::from(g.sk.clone()));
        }
        if let Some(t) = item.ttl {
            map.insert("ttl".into(), Value::from(t));
        }
        Value::Object(map)
    }

    /// The item of a stored shape ([`Item::flatten`]'s inverse).
    pub fn unflatten(value: Value) -> Result<Item, StoreError> {
        let Value::Object(mut map) = value else {
            return Err(StoreError::Corrupt("a stored item is a map".into()));
        };
        let mut text = |name: &str| match map.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(StoreError::Corrupt(format!("{name} is not a string: {other}"))),
        };
        let missing = |name: &str| StoreError::Corrupt(format!("a stored item without {name}"));
        let key = Key::new(text("pk")?.ok_or_else(|| missing("pk"))?, text("sk")?.ok_or_else(|| missing("sk"))?);
        let gsi1 = match (text("gsi1pk")?, text("gsi1sk")?) {
            (Some(p), Some(s)) => Some(Key::new(p, s)),
            (None, None) => None,
            _ => return Err(StoreError::Corrupt("gsi1pk and gsi1sk go together".into())),
        };
        let ttl = match map.remove("ttl") {
            None => None,
            Some(t) => Some(t.as_i64().ok_or_else(|| StoreError::Corrupt(format!("ttl is not a number: {t}")))?),
        };
        Ok(Item { key, gsi1, ttl, attrs: map })
    }
}
