//! The `staff` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let state = staff::AppState { auth, towns, public_url: edge::lambda::public_url()?, qf: api_particulier() };
    lambda_http::run(edge::http::finish(staff::router(state))).await
}

/// API Particulier at `API_PARTICULIER_URL` (production by default), its token from the secret
/// `API_PARTICULIER_TOKEN_SECRET` names (else `API_PARTICULIER_TOKEN`); with no token, none.
fn api_particulier() -> Option<services::qf::ApiParticulier> {
    let base = std::env::var("API_PARTICULIER_URL").unwrap_or_else(|_| services::qf::BASE_URL.to_owned());
    let token = edge::lambda::secret_source("API_PARTICULIER_TOKEN_SECRET", "API_PARTICULIER_TOKEN")?;
    Some(services::qf::ApiParticulier::with_source(&base, token))
}
