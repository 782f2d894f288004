//! Items to and from DynamoDB's attribute maps, and the SDK's errors as the store's.

use crate::{Item, Key, Result, StoreError};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_dynamo::aws_sdk_dynamodb_1 as sd;
use std::collections::HashMap;

pub(super) type AvMap = HashMap<String, AttributeValue>;

pub(super) fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug>(e: &E) -> StoreError {
    StoreError::Unavailable(format!("{}: {}", e.code().unwrap_or("unknown"), e.message().unwrap_or("no message")))
}

/// Maps an SDK error: a failed condition, a malformed request, or the service failing.
pub(super) fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match err.code() {
                Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
                // A single write to an item an ongoing transaction holds.
                Some("TransactionConflictException") => StoreError::Conflict,
                Some("ValidationException") => StoreError::Invalid(err.message().unwrap_or("validation").to_owned()),
                _ => unavailable(err),
            }
        }
        other => StoreError::Unavailable(format!("{other:?}")),
    }
}

pub(super) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

pub(super) fn key_map(k: &Key) -> AvMap {
    HashMap::from([("pk".to_owned(), s(&k.pk)), ("sk".to_owned(), s(&k.sk))])
}

pub(super) fn to_av(item: &Item) -> Result<AvMap> {
    let mut map: AvMap = sd::to_item(&item.attrs).map_err(|e| StoreError::Invalid(e.to_string()))?;
    map.extend(key_map(&item.key));
    if let Some(g) = &item.gsi1 {
        map.insert("gsi1pk".into(), s(&g.pk));
        map.insert("gsi1sk".into(), s(&g.sk));
    }
    if let Some(t) = item.ttl {
        map.insert("ttl".into(), AttributeValue::N(t.to_string()));
    }
    Ok(map)
}

pub(super) fn from_av(mut map: AvMap) -> Result<Item> {
    let mut take = |name: &str| match map.remove(name) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        None => Ok(None),
        Some(_) => Err(StoreError::Corrupt(format!("attribute {name} is not a string"))),
    };
    let pk = take("pk")?.ok_or_else(|| StoreError::Corrupt("item without pk".into()))?;
    let sk = take("sk")?.ok_or_else(|| StoreError::Corrupt("item without sk".into()))?;
    let gsi1 = match (take("gsi1pk")?, take("gsi1sk")?) {
        (Some(p), Some(s)) => Some(Key { pk: p, sk: s }),
        _ => None,
    };
    let ttl = match map.remove("ttl") {
        Some(AttributeValue::N(n)) => Some(n.parse::<i64>().map_err(|e| StoreError::Corrupt(e.to_string()))?),
        _ => None,
    };
    let attrs = sd::from_item(map).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Item { key: Key { pk, sk }, gsi1, ttl, attrs })
}
