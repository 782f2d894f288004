//! The `accounts` Lambda: builds the state from the environment and serves the router.

use shared::auth::accounts::Throttle;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let (_, auth, towns) = shared::lambda::store_auth_towns().await?;
    let state = accounts::AppState {
        auth,
        towns,
        public_url: shared::lambda::public_url()?,
        throttle: Throttle::default(),
        operator: shared::lambda::operator_key(),
        equal_answer_time: Duration::from_millis(500),
    };
    lambda_http::run(shared::http::finish(accounts::router(state))).await
}
