//! The `InboundMailFunction` Lambda: invoked by SES's receipt rule for each message received
//! at a town's address for documents (stored first under `inbound/` by the rule's S3 action),
//! or, for a stack whose region does not receive email, by the SNS notification of the S3
//! action of a rule in another region (`InboundReceiptRegion` in template.yaml).

use documents::inbound::{receive, ses_receipts};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    edge::telemetry::init(true);
    let (_, auth, towns) = edge::lambda::store_auth_towns().await?;
    let state = documents::AppState {
        auth,
        towns,
        files: edge::files::Files::from_env().await?,
        public_url: edge::lambda::public_url()?,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let state = state.clone();
        async move {
            let Some(receipts) = ses_receipts(&event.payload) else {
                tracing::warn!("not an SES receipt event: ignored");
                return Ok::<_, lambda_runtime::Error>(());
            };
            for r in receipts {
                let outcome = receive(&state, &r).await?;
                tracing::info!(message = %r.message_id, outcome = ?outcome, "inbound message");
            }
            Ok(())
        }
    }))
    .await
}
