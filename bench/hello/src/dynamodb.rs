//! The storage event's baseline: a bare `lambda_http` function that reads one DynamoDB item per
//! request (region, credentials and endpoint from the environment, the SDK's plain-HTTP client:
//! the least a read from the emulator needs), then answers 401, as a function does for an
//! unknown session. `bench/coldstart.py --event
//! session` compares each function to it: what a function costs over the one read it must make.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(var("AWS_REGION").map(aws_sdk_dynamodb::config::Region::new));
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        config = config.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            id,
            secret,
            var("AWS_SESSION_TOKEN"),
            None,
            "env",
        ));
    }
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    let client = aws_sdk_dynamodb::Client::from_conf(config.build());
    let table = var("TABLE_NAME").unwrap_or_default();
    lambda_http::run(service_fn(|_: Request| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("SESSION#hello".into()))
                .key("sk", AttributeValue::S("SESSION".into()))
                .send()
                .await?;
            let status = if item.item.is_some() { 200 } else { 401 };
            Response::builder().status(status).body(Body::from("hello")).map_err(Error::from)
        }
    }))
    .await
}
