//! The `news` Lambda: builds the state from the environment and serves the router.

use shared::clock::Clock;
use shared::http::auth::AuthState;
use shared::store::{Store, dynamo::DynamoStore, repo::Towns};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = Store::dynamo(DynamoStore::from_env(table).await);
    let state = news::AppState {
        auth: AuthState {
            store: store.clone(),
            clock: Clock::system(),
            trusted_proxies: shared::http::auth::trusted_proxies_from_env(),
        },
        towns: Towns::new(store, Duration::from_secs(60)),
    };
    lambda_http::run(shared::http::finish(news::router(state))).await
}
