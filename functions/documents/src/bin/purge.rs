//! The `documents-purge` Lambda, run once a day: deletes the decided documents whose retention
//! period ended, from the bucket and from the table, and erases the closed families whose
//! retention period ended (`docs/privacy.md`).

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    edge::telemetry::init(true);
    let (store, _, _) = edge::lambda::store_auth_towns().await?;
    let files = edge::files::Files::from_env().await?;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let (store, files) = (store.clone(), files.clone());
        async move {
            let deleted = documents::purge(&store, &files, chrono::Utc::now(), None).await?;
            tracing::info!(deleted, "documents purged");
            // The closed families past their retention: erased, accounting records anonymised.
            let erased = documents::erase_due(&store, &files, chrono::Utc::now(), None).await?;
            tracing::info!(erased, "families erased");
            Ok::<_, Error>(serde_json::json!({ "deleted": deleted, "erased": erased }))
        }
    }))
    .await
}
