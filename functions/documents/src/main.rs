//! The `documents` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let (_, auth, towns) = shared::lambda::store_auth_towns().await?;
    let state = documents::AppState {
        auth,
        towns,
        files: shared::files::Files::from_env().await?,
        public_url: shared::lambda::public_url()?,
    };
    lambda_http::run(shared::http::finish(documents::router(state))).await
}
