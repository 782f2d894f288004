//! The `towns` Lambda: builds the state from the environment and serves the router.

use shared::store::{Store, dynamo::DynamoStore, repo::Towns};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = Store::dynamo(DynamoStore::from_env(table).await);
    let operator_token = std::env::var("OPERATOR_TOKEN").ok();
    let state = towns::AppState::new(Towns::new(store, Duration::from_secs(60)), operator_token.as_deref());
    lambda_http::run(shared::http::finish(towns::router(state))).await
}
