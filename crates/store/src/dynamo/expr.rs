//! Condition and update expressions: a write's condition and counters in DynamoDB's syntax,
//! with their placeholder names and values.

use super::codec::AvMap;
use crate::{Cond, Key, Result, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_dynamo::aws_sdk_dynamodb_1 as sd;
use std::collections::HashMap;

/// Expression attribute names and values, numbered as they are added.
#[derive(Default)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    values: AvMap,
}

impl Expr {
    pub(super) fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == n) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), n.to_owned());
        k
    }
    pub(super) fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k, v);
        format!(":v{}", self.values.len() - 1)
    }
    pub(super) fn cond(&mut self, c: &Cond) -> Result<String> {
        Ok(match c {
            Cond::Exists => format!("attribute_exists({})", self.name("pk")),
            Cond::NotExists => format!("attribute_not_exists({})", self.name("pk")),
            Cond::NotExistsOrExpired { now } => {
                let (pk, ttl) = (self.name("pk"), self.name("ttl"));
                let now = self.value(AttributeValue::N(now.to_string()));
                format!("attribute_not_exists({pk}) OR {ttl} <= {now}")
            }
            Cond::AttrEquals { name, value } => {
                let n = self.name(name);
                let v = self.value(sd::to_attribute_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?);
                format!("{n} = {v}")
            }
            Cond::AttrsEqual(attrs) => {
                let mut parts = vec![format!("attribute_exists({})", self.name("pk"))];
                for (name, value) in attrs {
                    let n = self.name(name);
                    if value.is_null() {
                        parts.push(format!("attribute_not_exists({n})"));
                    } else {
                        let v =
                            self.value(sd::to_attribute_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?);
                        parts.push(format!("{n} = {v}"));
                    }
                }
                parts.join(" AND ")
            }
            Cond::Absent { name } => format!("attribute_not_exists({})", self.name(name)),
            Cond::AtMost { name, value } => {
                let n = self.name(name);
                let v = self.value(AttributeValue::N(value.to_string()));
                format!("attribute_not_exists({n}) OR {n} <= {v}")
            }
            Cond::AtLeast { name, value } => {
                let n = self.name(name);
                let v = self.value(AttributeValue::N(value.to_string()));
                format!("{n} >= {v}")
            }
            Cond::All(all) => {
                // DynamoDB refuses redundant parentheses: only a disjunction needs them.
                let mut parts = Vec::new();
                for c in all {
                    let part = self.cond(c)?;
                    parts.push(if part.contains(" OR ") { format!("({part})") } else { part });
                }
                if parts.is_empty() {
                    return Err(StoreError::Invalid("an empty conjunction of conditions".into()));
                }
                parts.join(" AND ")
            }
        })
    }
    /// `SET a = if_not_exists(a, 0) + x, b = if_not_exists(b, 0) + y` (and the schema version
    /// of an item it creates).
    pub(super) fn counters(&mut self, key: &Key, add: &[(String, i64)]) -> String {
        let zero = self.value(AttributeValue::N("0".into()));
        let mut sets: Vec<String> = add
            .iter()
            .map(|(attr, by)| {
                let a = self.name(attr);
                let v = self.value(AttributeValue::N(by.to_string()));
                format!("{a} = if_not_exists({a}, {zero}) + {v}")
            })
            .collect();
        sets.extend(self.stamp(key));
        format!("SET {}", sets.join(", "))
    }
    /// `SET attr = if_not_exists(attr, 0) + by` (and the schema version of an item it creates),
    /// and its bound.
    pub(super) fn add(&mut self, key: &Key, attr: &str, by: i64, max: Option<i64>) -> (String, Option<String>) {
        let a = self.name(attr);
        let zero = self.value(AttributeValue::N("0".into()));
        let by_v = self.value(AttributeValue::N(by.to_string()));
        let stamp = self.stamp(key).map(|s| format!(", {s}")).unwrap_or_default();
        let update = format!("SET {a} = if_not_exists({a}, {zero}) + {by_v}{stamp}");
        let cond = max.map(|m| {
            let limit = self.value(AttributeValue::N((m - by).to_string()));
            format!("attribute_not_exists({a}) OR {a} <= {limit}")
        });
        (update, cond)
    }
    /// `v = if_not_exists(v, <version>)`: a counter created by an update carries its kind's
    /// schema version, as [`crate::Item::new`] stamps it on the embedded backend.
    fn stamp(&mut self, key: &Key) -> Option<String> {
        let mut attrs = serde_json::Map::new();
        crate::schema::stamp(key, &mut attrs);
        let version = attrs.get(crate::schema::VERSION_ATTR)?.to_string();
        let n = self.name(crate::schema::VERSION_ATTR);
        let v = self.value(AttributeValue::N(version));
        Some(format!("{n} = if_not_exists({n}, {v})"))
    }
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    pub(super) fn values(&self) -> Option<AvMap> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
