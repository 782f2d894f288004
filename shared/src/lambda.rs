//! What every Lambda's `main` reads from its environment.

use crate::clock::Clock;
use crate::http::auth::{AuthState, trusted_proxies_from_env};
use crate::store::repo::Towns;
use crate::store::{Store, dynamo::DynamoStore};
use std::time::Duration;

/// How long a Lambda keeps a town's configuration before reading it again.
pub const TOWN_CACHE: Duration = Duration::from_secs(60);

/// A required environment variable, or an error naming it.
pub fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The portal's public address (`PUBLIC_URL`) without its trailing slash.
pub fn public_url() -> Result<String, String> {
    Ok(env("PUBLIC_URL")?.trim_end_matches('/').to_owned())
}

/// The table (`TABLE_NAME`), the request-side auth state, and the towns' cache.
pub async fn store_auth_towns() -> Result<(Store, AuthState, Towns), String> {
    let store = Store::dynamo(DynamoStore::from_env(env("TABLE_NAME")?).await);
    let auth = AuthState { store: store.clone(), clock: Clock::system(), trusted_proxies: trusted_proxies_from_env() };
    let towns = Towns::new(store.clone(), TOWN_CACHE);
    Ok((store, auth, towns))
}
