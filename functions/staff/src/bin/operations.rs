//! The `operations` Lambda, on a schedule (template.yaml): `{"job": "sweep"}` runs the town
//! operations' jobs that are due — a closure's cancellations or a waiting list a crash
//! interrupted, offered places whose delay ran out; `{"job": "remind"}` sends the holiday
//! booking reminders due today.

use lambda_runtime::{LambdaEvent, service_fn};

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Job {
    Sweep,
    Remind,
}

#[derive(serde::Deserialize)]
struct Event {
    job: Job,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, towns) = edge::lambda::store_auth_towns().await?;
    let public_url = edge::lambda::public_url()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let (store, towns, public_url) = (store.clone(), towns.clone(), public_url.clone());
        async move {
            let ctx = services::operations::Ctx { store: &store, public_url: &public_url };
            let now = chrono::Utc::now();
            match event.payload.job {
                Job::Sweep => {
                    let ran = services::operations::sweep(ctx, &towns, now).await?;
                    tracing::info!(ran, "operations swept");
                }
                Job::Remind => {
                    let sent = services::operations::remind_all(ctx, &towns, now).await?;
                    tracing::info!(sent, "holiday reminders sent");
                }
            }
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
