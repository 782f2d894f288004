//! The `campaign-reminders` Lambda, daily on a schedule (template.yaml): in every town, the
//! reminders of an open enrolment campaign whose reminder day is today
//! ([`schoolyear::reminders::remind`]), and the children's files whose keeping ended
//! ([`schoolyear::retention::purge_files`]).

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
            let (mut sent, mut deleted) = (0, 0);
            for id in store::repo::town_ids(&store).await? {
                let Some(town) = towns.get(&id).await? else { continue };
                sent += schoolyear::reminders::remind(&store, &town, &public_url, now).await?;
                deleted += schoolyear::retention::purge_files(&store, &town, now).await?;
            }
            tracing::info!(sent, deleted, "campaign reminders sent, children's files deleted");
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "sent": sent, "deleted_files": deleted }))
        }
    }))
    .await
}
