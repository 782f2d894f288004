//! The `basket` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let (_, auth, towns) = shared::lambda::store_auth_towns().await?;
    let state = basket::AppState { auth, towns, public_url: shared::lambda::public_url()? };
    lambda_http::run(shared::http::finish(basket::router(state))).await
}
