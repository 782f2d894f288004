//! AWS SDK configuration shared by the store, the mailer, the files and the secrets.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_types::SdkConfig;

/// The roots AWS endpoints chain to, compiled in (`crates/store/certs/README.md`).
static AWS_ROOTS: [&str; 5] = [
    include_str!("../certs/Amazon_Root_CA_1.pem"),
    include_str!("../certs/Amazon_Root_CA_2.pem"),
    include_str!("../certs/Amazon_Root_CA_3.pem"),
    include_str!("../certs/Amazon_Root_CA_4.pem"),
    include_str!("../certs/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The SDK's HTTPS client trusting only [`AWS_ROOTS`] (rustls with ring): the default one reads
/// and parses every certificate of the system's store when it is built, before the first
/// request, and links aws-lc. Every SDK client of the project is given this one (the SDKs are
/// built without a default client); it speaks plain HTTP too (the emulators).
///
/// `AWS_CA_BUNDLE` (the SDKs' shared setting: a PEM file) adds its certificates to those roots:
/// never set in Lambda; the stack twin sets it to the certificate of its local HTTPS endpoint
/// (docs/deployment.md, « The stack twin »).
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    let extra = std::env::var_os("AWS_CA_BUNDLE").and_then(|path| std::fs::read(path).ok());
    let roots = AWS_ROOTS
        .iter()
        .map(|pem| pem.as_bytes())
        .chain(extra.as_deref())
        .fold(TrustStore::empty().with_native_roots(false), |t, pem| t.with_pem_certificate(pem));
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(roots).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen (building the context checks nothing); the default roots then.
        Err(_) => builder.build_https(),
    }
}

/// The SDK configuration of a function in AWS, read from the environment Lambda sets: region
/// (`AWS_REGION`), the role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`; they do not change during an instance's life), an optional
/// `AWS_ENDPOINT_URL`, and [`https_client`]. Built directly, without `aws-config`'s provider
/// chains: they read `~/.aws` files and build profile, web-identity, ECS and IMDS providers at
/// start-up that a Lambda never uses (docs/performance.md, « Cold start »). The retry, timeout,
/// sleep and clock defaults are the SDK's own.
pub async fn sdk_config() -> SdkConfig {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .region(var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).map(Region::new));
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let creds = Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "lambda-environment");
        builder = builder.credentials_provider(SharedCredentialsProvider::new(creds));
    }
    builder.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    builder.build()
}

/// The SDK configuration for an emulator at `endpoint` (moto in tests): placeholder
/// credentials, a fixed region.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let creds = Credentials::new("test", "test", None, None, "emulator");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(https_client())
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-3"))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build()
}
