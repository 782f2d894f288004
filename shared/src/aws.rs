//! AWS SDK configuration shared by the store and the mailer.

/// The SDK configuration for an emulator at `endpoint` (moto in tests): placeholder
/// credentials, a fixed region.
pub async fn emulator_config(endpoint: &str) -> aws_config::SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "emulator");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-west-3"))
        .credentials_provider(creds)
        .load()
        .await
}
