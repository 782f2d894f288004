//! The `activation` Lambda: builds the state from the environment and serves the router.

use shared::auth::accounts::Throttle;
use shared::clock::Clock;
use shared::http::auth::{AuthState, OperatorKey};
use shared::store::{Store, dynamo::DynamoStore, repo::Towns};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let store = Store::dynamo(DynamoStore::from_env(env("TABLE_NAME")?).await);
    let state = activation::AppState {
        auth: AuthState {
            store: store.clone(),
            clock: Clock::system(),
            trusted_proxies: shared::http::auth::trusted_proxies_from_env(),
        },
        towns: Towns::new(store, Duration::from_secs(60)),
        public_url: env("PUBLIC_URL")?.trim_end_matches('/').to_owned(),
        throttle: Throttle::default(),
        operator: OperatorKey::new(std::env::var("OPERATOR_TOKEN").ok().as_deref()),
        equal_answer_time: Duration::from_millis(500),
    };
    lambda_http::run(shared::http::finish(activation::router(state))).await
}
