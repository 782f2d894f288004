//! The `news` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let files = edge::files::Files::from_env().await?;
    lambda_http::run(edge::http::finish(news::router(news::AppState {
        auth,
        towns,
        files,
        public_url: edge::lambda::public_url()?,
    })))
    .await
}
