//! The `notifier` Lambda: on every batch of the table's stream (a new email was queued) and
//! every minute (retries), it drains the outbox. The event itself is not read: the outbox's
//! index says what is due.

use lambda_runtime::{LambdaEvent, service_fn};
use services::mail::{notifier, sender::Mailer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, _) = edge::lambda::store_auth_towns().await?;
    let mailer = Mailer::ses_from_env(edge::lambda::env("SENDER_EMAIL")?).await;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let (store, mailer) = (store.clone(), mailer.clone());
        async move {
            let done = notifier::drain(&store, &mailer, chrono::Utc::now()).await?;
            tracing::info!(sent = done.sent, retried = done.retried, parked = done.parked, "outbox drained");
            Ok::<_, lambda_runtime::Error>(())
        }
    }))
    .await
}
