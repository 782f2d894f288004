//! The `schoolyear` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    lambda_http::run(edge::http::finish(schoolyear::router(schoolyear::AppState {
        auth,
        towns,
        public_url: edge::lambda::public_url()?,
    })))
    .await
}
