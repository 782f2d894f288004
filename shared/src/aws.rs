//! AWS SDK configuration shared by the store, the mailer, the files and the secrets.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

/// The roots AWS endpoints chain to, compiled in (`shared/certs/README.md`).
static AWS_ROOTS: [&str; 5] = [
    include_str!("../certs/Amazon_Root_CA_1.pem"),
    include_str!("../certs/Amazon_Root_CA_2.pem"),
    include_str!("../certs/Amazon_Root_CA_3.pem"),
    include_str!("../certs/Amazon_Root_CA_4.pem"),
    include_str!("../certs/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The SDK's HTTPS client trusting only [`AWS_ROOTS`]: the default one reads and parses every
/// certificate of the system's store when it is built, before the first request.
fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    let roots = AWS_ROOTS
        .iter()
        .fold(TrustStore::empty().with_native_roots(false), |t, pem| t.with_pem_certificate(pem.as_bytes()));
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(roots).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen (building the context checks nothing); the default roots then.
        Err(_) => builder.build_https(),
    }
}

/// The SDK configuration of a function in AWS: the environment's region and credentials, and
/// [`https_client`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client()).load().await
}

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
