//! The `notifier` Lambda: on every batch of the table's stream (a new email was queued) and
//! every minute (retries), it drains the outbox; the event itself is not read, the outbox's
//! index says what is due. Invoked by the SNS topic of the SES configuration set, it records
//! each delivery event instead (`services::mail::deliverability`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use services::mail::{deliverability, notifier, sender::Mailer};

/// The SES event records an SNS invocation carries (`Records[].Sns.Message`), if it is one.
fn sns_messages(event: &Value) -> Option<Vec<&str>> {
    let records = event.get("Records")?.as_array()?;
    let from_sns = |r: &Value| r.get("EventSource").and_then(Value::as_str) == Some("aws:sns");
    if records.is_empty() || !records.iter().all(from_sns) {
        return None;
    }
    Some(records.iter().filter_map(|r| r.pointer("/Sns/Message").and_then(Value::as_str)).collect())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (store, _, towns) = edge::lambda::store_auth_towns().await?;
    let configuration_set = std::env::var("SES_CONFIGURATION_SET").ok().filter(|s| !s.is_empty());
    let mailer = Mailer::ses_from_env(edge::lambda::env("SENDER_EMAIL")?, configuration_set).await;
    let public_url = edge::lambda::public_url()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (store, mailer, towns, public_url) = (store.clone(), mailer.clone(), towns.clone(), public_url.clone());
        async move {
            if let Some(messages) = sns_messages(&event.payload) {
                for message in messages {
                    match deliverability::record_json(&store, &towns, &public_url, message).await? {
                        Ok(done) => tracing::info!(
                            mail = done.mail,
                            addresses = done.addresses,
                            told = done.told,
                            "delivery event"
                        ),
                        Err(why) => tracing::warn!(error = %why, "delivery event not recorded"),
                    }
                }
                return Ok::<_, lambda_runtime::Error>(());
            }
            let done = notifier::drain(&store, &mailer, chrono::Utc::now()).await?;
            tracing::info!(
                sent = done.sent,
                retried = done.retried,
                parked = done.parked,
                suppressed = done.suppressed,
                "outbox drained"
            );
            Ok(())
        }
    }))
    .await
}
