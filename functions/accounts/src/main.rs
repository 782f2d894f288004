//! The `accounts` Lambda: builds the state from the environment and serves the router.

use edge::auth::accounts::Throttle;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let state = accounts::AppState {
        auth,
        towns,
        public_url: edge::lambda::public_url()?,
        throttle: Throttle::default(),
        operator: edge::lambda::operator_key(),
        equal_answer_time: Duration::from_millis(500),
        files: edge::files::Files::from_env().await?,
    };
    lambda_http::run(edge::http::finish(accounts::router(state))).await
}
