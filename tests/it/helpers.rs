//! Test fixtures: stores on both backends, the routers, the local portal on a free port.

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use shared::store::Store;
use shared::store::dynamo::DynamoStore;
use shared::store::embedded::EmbeddedStore;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

/// A fresh embedded store in a temporary folder (kept alive by the returned guard).
pub fn embedded_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open store");
    (Store::embedded(store), dir)
}

/// A fresh DynamoDB table on the emulator named by `AWS_ENDPOINT_URL`. Without it (at build
/// time) the cases are compiled as ignored, with the reason; `scripts/test` also sets
/// `EF_REQUIRE_MOTO=1`, which turns a missing endpoint at run time into a failure.
pub async fn dynamo_store() -> Option<Store> {
    static N: AtomicU32 = AtomicU32::new(0);
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(std::env::var_os("EF_REQUIRE_MOTO").is_none(), "EF_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not");
        eprintln!("SKIPPED: DynamoDB contract case (AWS_ENDPOINT_URL is not set)");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("ef-test-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let store = DynamoStore::for_emulator(&endpoint, table).await;
    store.create_table().await.expect("create table on the emulator");
    Some(Store::dynamo(store))
}

/// A response read whole.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub json: Value,
}

/// Sends one request through a router, as Lambda or the local host would.
pub async fn call(router: &Router, method: &str, uri: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Reply {
    let mut req = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, content_type, json }
}

/// Asserts a problem+json answer with this status and code.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.json["code"], code, "{:?}", reply.json);
    assert_eq!(reply.json["status"], status);
    assert!(reply.json["title"].as_str().is_some_and(|t| !t.is_empty()), "a French title");
}
