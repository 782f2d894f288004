//! The `qf-refresh` Lambda, daily on a schedule (template.yaml): in every town connected to API
//! Particulier, the quotient familial of consenting families not fetched this month
//! ([`staff::qf::refresh`]).

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, towns) = edge::lambda::store_auth_towns().await?;
    let base = std::env::var("API_PARTICULIER_URL").unwrap_or_else(|_| services::qf::BASE_URL.to_owned());
    let Some(token) = edge::lambda::secret_source("API_PARTICULIER_TOKEN_SECRET", "API_PARTICULIER_TOKEN") else {
        return Err("API_PARTICULIER_TOKEN_SECRET is not set".into());
    };
    let api = services::qf::ApiParticulier::with_source(&base, token);
    let public_url = edge::lambda::public_url()?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let (store, towns, api, public_url) = (store.clone(), towns.clone(), api.clone(), public_url.clone());
        async move {
            let now = chrono::Utc::now();
            let (mut fetched, mut changed, mut failed) = (0, 0, 0);
            for id in store::repo::town_ids(&store).await? {
                let Some(town) = towns.get(&id).await? else { continue };
                let r = staff::qf::refresh(&store, &town, &api, &public_url, now).await.map_err(|p| p.title.clone())?;
                (fetched, changed, failed) = (fetched + r.fetched, changed + r.changed, failed + r.failed);
            }
            tracing::info!(fetched, changed, failed, "QF refreshed");
            Ok::<_, lambda_runtime::Error>(
                serde_json::json!({ "fetched": fetched, "changed": changed, "failed": failed }),
            )
        }
    }))
    .await
}
