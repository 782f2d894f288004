//! The `operations` Lambda, on a schedule (template.yaml): runs the town operations' jobs that
//! are due — a closure's cancellations or a waiting list a crash interrupted, offered places
//! whose delay ran out — and the holiday booking reminders.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init(true);
    let (store, _, towns) = shared::lambda::store_auth_towns().await?;
    let public_url = shared::lambda::public_url()?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let (store, towns, public_url) = (store.clone(), towns.clone(), public_url.clone());
        async move {
            let ctx = shared::operations::Ctx { store: &store, public_url: &public_url };
            let ran = shared::operations::sweep(ctx, &towns, chrono::Utc::now()).await?;
            tracing::info!(ran, "operations swept");
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
