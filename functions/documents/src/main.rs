//! The `documents` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let state = documents::AppState {
        auth,
        towns,
        files: edge::files::Files::from_env().await?,
        public_url: edge::lambda::public_url()?,
    };
    lambda_http::run(edge::http::finish(documents::router(state))).await
}
