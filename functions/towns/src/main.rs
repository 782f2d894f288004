//! The `towns` Lambda: builds the state from the environment and serves the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let mut state = towns::AppState::new(towns, edge::lambda::operator_key());
    // The contact form is on when CONTACT_EMAIL names where its messages go.
    if let Some(to) = std::env::var("CONTACT_EMAIL").ok().filter(|e| !e.is_empty()) {
        let to = domain::family::Email::parse(&to).map_err(|e| format!("CONTACT_EMAIL: {e}"))?;
        state = state.with_contact(towns::Contact { to, clock: auth.clock, trusted_proxies: auth.trusted_proxies });
    }
    lambda_http::run(edge::http::finish(towns::router(state))).await
}
