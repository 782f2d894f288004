//! The `operations` Lambda, on a schedule (template.yaml): `{"job": "sweep"}` runs the town
//! operations' jobs that are due — a closure's cancellations or a waiting list a crash
//! interrupted, offered places whose delay ran out; `{"job": "remind"}` sends the holiday
//! booking reminders due today; `{"job": "migrate", "kind": "invoice"}` (the operator's, by hand:
//! `docs/store.md`) moves a kind's stored items to its current shape for up to a minute and
//! answers its progress, and `{"job": "migrations"}` answers every migration's progress.

use lambda_runtime::{LambdaEvent, service_fn};

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Job {
    Sweep,
    Remind,
    Migrate,
    Migrations,
}

#[derive(serde::Deserialize)]
struct Event {
    job: Job,
    /// The kind a migration moves (`store::schema::Kind`'s names).
    #[serde(default)]
    kind: Option<String>,
}

/// Items a migration step reads (one scan page), and how long one invocation keeps stepping.
const MIGRATION_PAGE: usize = 500;
const MIGRATION_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

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
                Job::Migrate => {
                    let name = event.payload.kind.unwrap_or_default();
                    let kind = store::schema::Kind::parse(&name).ok_or_else(|| format!("no item kind {name:?}"))?;
                    let started = std::time::Instant::now();
                    let schema = store::schema::Schema::production();
                    loop {
                        let p = store::migrate::step(&store, schema, kind, MIGRATION_PAGE, chrono::Utc::now()).await?;
                        if p.done || started.elapsed() > MIGRATION_BUDGET {
                            return Ok(serde_json::to_value(p)?);
                        }
                    }
                }
                Job::Migrations => return Ok(serde_json::to_value(store::migrate::all(&store).await?)?),
            }
            Ok::<_, lambda_runtime::Error>(serde_json::Value::Null)
        }
    }))
    .await
}
