//! The DynamoDB backend: the same primitives over one table (`pk`, `sk`, index `gsi1` on
//! `gsi1pk`/`gsi1sk`, TTL on `ttl`), through the AWS SDK. `AWS_ENDPOINT_URL` points it at an
//! emulator in tests.

mod codec;
mod expr;

/// How many times BatchGetItem is asked again for the keys it left unprocessed.
const UNPROCESSED_TRIES: u32 = 5;

use crate::{CancelReason, Cond, Cursor, Index, Item, Key, Page, Query, Result, SkRange, StoreError, WriteOp};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use codec::{AvMap, classify, from_av, key_map, s, to_av, unavailable};
use expr::Expr;

pub const GSI1: &str = "gsi1";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore { client, table: table.into() }
    }

    /// A client configured from the environment (region, credentials, `AWS_ENDPOINT_URL`).
    pub async fn from_env(table: impl Into<String>) -> DynamoStore {
        let conf = crate::aws::sdk_config().await;
        DynamoStore::new(Client::new(&conf), table)
    }

    /// A client for an emulator at `endpoint` (moto in tests), with placeholder credentials.
    pub async fn for_emulator(endpoint: &str, table: impl Into<String>) -> DynamoStore {
        DynamoStore::new(Client::new(&crate::aws::emulator_config(endpoint).await), table)
    }

    /// Creates the table as `template.yaml` declares it (tests and local tools; in AWS the
    /// template does it).
    pub async fn create_table(&self) -> Result<()> {
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key("gsi1pk", KeyType::Hash)?)
            .key_schema(key("gsi1sk", KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await
            .map_err(classify)?;
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name("ttl")
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Every item of the table, page by page (a full scan: tests and operators, never a request).
    pub(super) async fn scan_all(&self) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for map in out.items.unwrap_or_default() {
                items.push(from_av(map)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// One Scan page of at most `limit` items, after `after`.
    pub(super) async fn scan(&self, limit: usize, after: Option<Key>) -> Result<Page> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.as_ref().map(key_map))
            .send()
            .await
            .map_err(classify)?;
        let items = out.items.unwrap_or_default().into_iter().map(from_av).collect::<Result<Vec<_>>>()?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty()).map(|lek| {
            let get = |n: &str| match lek.get(n) {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => String::new(),
            };
            Cursor::encode(&Key { pk: get("pk"), sk: get("sk") }, None)
        });
        Ok(Page { items, next })
    }

    pub(super) async fn get(&self, key: &Key) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.map(from_av).transpose()
    }

    /// The items that exist among `keys` (at most [`crate::MAX_BATCH_GET`], distinct): one
    /// BatchGetItem, strongly consistent, asked again for the keys DynamoDB left unprocessed
    /// (a throttled partition) a few times with backoff.
    pub(super) async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>> {
        let mut items = Vec::with_capacity(keys.len());
        let mut pending: Vec<AvMap> = keys.iter().map(key_map).collect();
        for attempt in 0..UNPROCESSED_TRIES {
            if pending.is_empty() {
                return Ok(items);
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            let ask = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let out = self.client.batch_get_item().request_items(&self.table, ask).send().await.map_err(classify)?;
            for map in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                items.push(from_av(map)?);
            }
            pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(items)
        } else {
            Err(StoreError::Unavailable(format!("{} keys left unprocessed by BatchGetItem", pending.len())))
        }
    }

    pub(super) async fn put(&self, item: Item, cond: Option<Cond>) -> Result<()> {
        let mut e = Expr::default();
        let cond = cond.map(|c| e.cond(&c)).transpose()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_av(&item)?))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub(super) async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<()> {
        let mut e = Expr::default();
        let cond = cond.map(|c| e.cond(&c)).transpose()?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub(super) async fn add(&self, key: &Key, attr: &str, by: i64, max: Option<i64>) -> Result<i64> {
        let mut e = Expr::default();
        let (update, cond) = e.add(key, attr, by, max);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .update_expression(update)
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        match out.attributes.as_ref().and_then(|a| a.get(attr)) {
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| StoreError::Corrupt(format!("counter {attr} = {n}"))),
            _ => Err(StoreError::Corrupt(format!("counter {attr} missing after update"))),
        }
    }

    pub(super) async fn transact(&self, ops: Vec<WriteOp>) -> Result<()> {
        let mut actions = Vec::with_capacity(ops.len());
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        for op in &ops {
            let mut e = Expr::default();
            let action = match op {
                WriteOp::Put { item, cond } => {
                    let cond = cond.as_ref().map(|c| e.cond(c)).transpose()?;
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_av(item)?))
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().put(put).build()
                }
                WriteOp::Delete { key, cond } => {
                    let cond = cond.as_ref().map(|c| e.cond(c)).transpose()?;
                    let del = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().delete(del).build()
                }
                WriteOp::Check { key, cond } => {
                    let cond = e.cond(cond)?;
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .condition_expression(cond)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
                WriteOp::Add { key, attr, by, max } => {
                    let (update, cond) = e.add(key, attr, *by, *max);
                    let up = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .update_expression(update)
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().update(up).build()
                }
                WriteOp::Counters { key, add, cond } => {
                    let update = e.counters(key, add);
                    let cond = cond.as_ref().map(|c| e.cond(c)).transpose()?;
                    let up = Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .update_expression(update)
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(invalid)?;
                    TransactWriteItem::builder().update(up).build()
                }
            };
            actions.push(action);
        }
        let result = self.client.transact_write_items().set_transact_items(Some(actions)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) => {
                let err = se.err();
                if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tc) = err {
                    let failing = tc
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code().is_some_and(|c| c == "ConditionalCheckFailed"));
                    if let Some(index) = failing {
                        let reason = match ops.get(index) {
                            Some(WriteOp::Add { .. } | WriteOp::Counters { .. }) => CancelReason::OverLimit,
                            _ => CancelReason::ConditionFailed,
                        };
                        return Err(StoreError::TransactionCanceled { index, reason });
                    }
                    if tc.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Err(StoreError::Conflict);
                    }
                }
                match err.code() {
                    Some("ValidationException") => {
                        Err(StoreError::Invalid(err.message().unwrap_or("validation").to_owned()))
                    }
                    _ => Err(unavailable(err)),
                }
            }
            Err(other) => Err(StoreError::Unavailable(format!("{other:?}"))),
        }
    }

    pub(super) async fn query(&self, q: &Query) -> Result<Page> {
        let mut e = Expr::default();
        let (pk_name, sk_name) = match q.index {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let pk = e.name(pk_name);
        let pk_v = e.value(s(&q.pk));
        let key_cond = match &q.sk {
            SkRange::All => format!("{pk} = {pk_v}"),
            SkRange::Prefix(p) => {
                let (sk, v) = (e.name(sk_name), e.value(s(p)));
                format!("{pk} = {pk_v} AND begins_with({sk}, {v})")
            }
            SkRange::Between(a, b) => {
                let (sk, va, vb) = (e.name(sk_name), e.value(s(a)), e.value(s(b)));
                format!("{pk} = {pk_v} AND {sk} BETWEEN {va} AND {vb}")
            }
            SkRange::UpTo(b) => {
                let (sk, vb) = (e.name(sk_name), e.value(s(b)));
                format!("{pk} = {pk_v} AND {sk} <= {vb}")
            }
        };
        let start = match &q.cursor {
            None => None,
            Some(c) => {
                let (key, gsi1) = c.decode()?;
                let mut m = key_map(&key);
                if q.index == Index::Gsi1 {
                    let g = gsi1.ok_or_else(|| StoreError::Invalid("malformed cursor".into()))?;
                    m.insert("gsi1pk".into(), s(&g.pk));
                    m.insert("gsi1sk".into(), s(&g.sk));
                }
                Some(m)
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name((q.index == Index::Gsi1).then(|| GSI1.to_owned()))
            .key_condition_expression(key_cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .set_exclusive_start_key(start)
            .scan_index_forward(!q.descending)
            .limit(i32::try_from(q.limit).unwrap_or(i32::MAX))
            .consistent_read(q.index == Index::Table)
            .send()
            .await
            .map_err(classify)?;
        let items = out.items.unwrap_or_default().into_iter().map(from_av).collect::<Result<Vec<_>>>()?;
        let next = out.last_evaluated_key.map(|lek| {
            let get = |n: &str| match lek.get(n) {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => String::new(),
            };
            let key = Key { pk: get("pk"), sk: get("sk") };
            let gsi1 = (q.index == Index::Gsi1).then(|| Key { pk: get("gsi1pk"), sk: get("gsi1sk") });
            Cursor::encode(&key, gsi1.as_ref())
        });
        Ok(Page { items, next })
    }
}
