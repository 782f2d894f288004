//! The `campaign-reminders` Lambda, daily on a schedule (template.yaml): in every town, the
//! reminders of an open enrolment campaign whose reminder day is today
//! ([`schoolyear::reminders::remind`]), and the children's files whose keeping ended
//! ([`schoolyear::retention::purge_files`]): [`schoolyear::daily`].

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, towns) = edge::lambda::store_auth_towns().await?;
    let public_url = edge::lambda::public_url()?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let (store, towns, public_url) = (store.clone(), towns.clone(), public_url.clone());
        async move {
            let now = chrono::Utc::now();
            let (sent, deleted) = schoolyear::daily(&store, &towns, &public_url, now).await?;
            tracing::info!(sent, deleted, "campaign reminders sent, children's files deleted");
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "sent": sent, "deleted_files": deleted }))
        }
    }))
    .await
}
