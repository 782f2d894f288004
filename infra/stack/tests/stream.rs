//! The table's stream as the twin reads it from moto (scripts/moto_server.py): each write's
//! record, in order, and none of a cancelled transaction's, the stream still read after it
//! (moto restores a table from a copy when a transaction is cancelled: its copied shard left
//! the twin's reader on the old one, which received no record again, and kept the cancelled
//! write's record). Needs moto in .venv (scripts/test installs it).

#![allow(clippy::expect_used, clippy::print_stderr, reason = "a test: a failure is the test failing")]

use serde_json::Value;
use store::{Cond, Item, Key, WriteOp};

fn keys_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["eventName"].as_str().unwrap_or_default(),
                r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn every_write_is_on_the_stream_and_a_cancelled_transaction_is_not() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        assert!(std::env::var_os("EF_REQUIRE_STACK").is_none(), "moto in .venv (scripts/test installs it)");
        eprintln!("SKIPPED: the table's stream (no moto in .venv)");
        return;
    }
    std::env::set_current_dir(&root).expect("the project's root");
    let (endpoint, _moto) = stack::aws::start_moto(&python).await.expect("moto");
    let table = "twin-stream";
    let dynamo = store::dynamo::DynamoStore::for_emulator(&endpoint, table).await;
    dynamo.create_table().await.expect("the table");
    let store = store::Store::dynamo(dynamo);
    let streams = stack::events::Streams::new(&endpoint, "eu-west-3");
    let arn = streams.enable(table, "KEYS_ONLY").await.expect("the stream on");
    let iterator = streams.iterator(&arn, "LATEST").await.expect("an iterator");
    let item = |pk: &str| Item::new(Key::new(pk, "MAIL"));
    store.put(item("a"), None).await.expect("a");
    // A transaction cancelled by its second write's condition (`a` exists): nothing written.
    let cancelled = store
        .transact(vec![
            WriteOp::Put { item: item("b"), cond: Some(Cond::NotExists) },
            WriteOp::Put { item: item("a"), cond: Some(Cond::NotExists) },
        ])
        .await;
    assert!(cancelled.is_err(), "the transaction is cancelled");
    store.put(item("c"), None).await.expect("c");
    let (records, next) = streams.records(&iterator, 100).await.expect("records");
    assert_eq!(keys_of(&records), ["INSERT a", "INSERT c"], "{records:?}");
    store.put(item("d"), None).await.expect("d");
    let (records, _) = streams.records(&next, 100).await.expect("records");
    assert_eq!(keys_of(&records), ["INSERT d"], "the stream still read after the cancelled transaction");
    let r = stack::events::lambda_record(records[0].clone(), &arn, "eu-west-3");
    let outbox: Value =
        serde_json::from_str(r#"{"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["MAIL"]}}}}"#)
            .expect("json");
    assert!(stack::events::matches(&outbox, &r), "the notifier's filter takes a new email: {r}");
}
