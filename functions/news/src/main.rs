//! The `news` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init(true);
    let (_, auth, towns) = shared::lambda::store_auth_towns().await?;
    let files = shared::files::Files::from_env().await?;
    lambda_http::run(shared::http::finish(news::router(news::AppState {
        auth,
        towns,
        files,
        public_url: shared::lambda::public_url()?,
    })))
    .await
}
