//! What every Lambda's `main` reads from its environment.

use crate::clock::Clock;
use crate::http::auth::{AuthState, trusted_proxies_from_env};
use std::time::Duration;
use store::repo::Towns;
use store::{Store, dynamo::DynamoStore};

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

/// The operator's token: read from the Secrets Manager secret `OPERATOR_TOKEN_SECRET` names (in
/// AWS), once per instance and only when an operator's request first needs it; else
/// `OPERATOR_TOKEN` (a local run); else none (the operator routes are off).
#[cfg(feature = "secrets")]
pub fn operator_key() -> crate::http::auth::OperatorKey {
    use crate::http::auth::OperatorKey;
    let Ok(secret) = std::env::var("OPERATOR_TOKEN_SECRET") else {
        return OperatorKey::new(std::env::var("OPERATOR_TOKEN").ok().as_deref());
    };
    OperatorKey::from_source(std::sync::Arc::new(move || {
        let secret = secret.clone();
        Box::pin(async move {
            let config = store::aws::sdk_config().await;
            let answer = aws_sdk_secretsmanager::Client::new(&config)
                .get_secret_value()
                .secret_id(&secret)
                .send()
                .await
                .map_err(|e| format!("{secret}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
            answer.secret_string().map(str::to_owned).ok_or_else(|| format!("{secret} holds no text"))
        })
    }))
}

/// A secret read when first needed: the text of the Secrets Manager secret named by the
/// variable `secret_var` (in AWS), else the variable `plain_var` itself (a local run); `None`
/// when neither is set.
#[cfg(feature = "secrets")]
pub fn secret_source(secret_var: &str, plain_var: &str) -> Option<SecretSource> {
    let Ok(secret) = std::env::var(secret_var) else {
        let plain = std::env::var(plain_var).ok()?;
        return Some(std::sync::Arc::new(move || {
            let plain = plain.clone();
            Box::pin(async move { Ok(plain) })
        }));
    };
    Some(std::sync::Arc::new(move || {
        let secret = secret.clone();
        Box::pin(async move {
            let config = store::aws::sdk_config().await;
            let answer = aws_sdk_secretsmanager::Client::new(&config)
                .get_secret_value()
                .secret_id(&secret)
                .send()
                .await
                .map_err(|e| format!("{secret}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
            answer.secret_string().map(str::to_owned).ok_or_else(|| format!("{secret} holds no text"))
        })
    }))
}

/// A secret's text, fetched on demand.
pub type SecretSource = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>> + Send + Sync,
>;

/// The table (`TABLE_NAME`), the request-side auth state, and the towns' cache.
pub async fn store_auth_towns() -> Result<(Store, AuthState, Towns), String> {
    let store = Store::dynamo(DynamoStore::from_env(env("TABLE_NAME")?).await);
    let auth = AuthState { store: store.clone(), clock: Clock::system(), trusted_proxies: trusted_proxies_from_env() };
    let towns = Towns::new(store.clone(), TOWN_CACHE);
    Ok((store, auth, towns))
}
