//! The `towns` Lambda: builds the state from the environment and serves the router.

use shared::store::{Store, dynamo::DynamoStore, repo::Towns};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = Store::dynamo(DynamoStore::from_env(table).await);
    let operator_token = std::env::var("OPERATOR_TOKEN").ok();
    let mut state = towns::AppState::new(Towns::new(store, Duration::from_secs(60)), operator_token.as_deref());
    // The contact form is on when CONTACT_EMAIL names where its messages go.
    if let Some(to) = std::env::var("CONTACT_EMAIL").ok().filter(|e| !e.is_empty()) {
        let to = shared::domain::family::Email::parse(&to).map_err(|e| format!("CONTACT_EMAIL: {e}"))?;
        state = state.with_contact(towns::Contact {
            to,
            clock: shared::clock::Clock::system(),
            trusted_proxies: shared::http::auth::trusted_proxies_from_env(),
        });
    }
    lambda_http::run(shared::http::finish(towns::router(state))).await
}
