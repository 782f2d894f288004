//! The `payments` Lambda, on a schedule: `{"job": "reconcile"}` asks PayFiP about the operations
//! still pending, `{"job": "remind"}` queues the reminders due today (template.yaml).

use lambda_runtime::{LambdaEvent, service_fn};

#[derive(serde::Deserialize)]
struct Event {
    job: invoices::jobs::Job,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, towns) = edge::lambda::store_auth_towns().await?;
    let public_url = edge::lambda::public_url()?;
    let gateway = invoices::payfip::Gateway::from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let (store, towns, public_url, gateway) = (store.clone(), towns.clone(), public_url.clone(), gateway.clone());
        async move {
            let ctx = (&store, &towns, public_url.as_str(), &gateway);
            invoices::jobs::run_job(ctx, event.payload.job, chrono::Utc::now()).await?;
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
