//! The AWS side of the twin: moto started, the template's resources created in it, CloudFront's
//! response headers policy, the schedules' periods and EventBridge's scheduled event.

use crate::template::Template;
use axum::http::{HeaderName, HeaderValue};
use std::path::Path;
use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Starts moto (scripts/moto_server.py) on a free port and waits until it answers.
pub async fn start_moto(python: &Path) -> Result<(String, tokio::process::Child), Error> {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
    let child = tokio::process::Command::new(python)
        .args(["scripts/moto_server.py", "127.0.0.1", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e} (scripts/test installs moto in .venv)", python.display()))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    // moto listens once its application is loaded.
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok((endpoint, child));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("moto did not start".into())
}

/// What creating the resources gave: each placeholder the template resolved to (a secret's
/// ARN) and the real one, and the operator's token.
pub struct Created {
    pub physical: Vec<(String, String)>,
    pub operator_token: String,
    /// Each table's stream ARN (by the table's logical id), when it declares one.
    pub streams: std::collections::BTreeMap<String, String>,
}

/// Creates the table (keys, index, TTL, its stream), the documents bucket (CORS, lifecycle), the
/// operator's secret and the sender's SES identity, as the template declares them.
pub async fn create_resources(t: &Template, endpoint: &str, sender: &str) -> Result<Created, Error> {
    let table = t.reference("Table")?;
    store::dynamo::DynamoStore::for_emulator(endpoint, &table).await.create_table().await?;
    let mut streams = std::collections::BTreeMap::new();
    if let Some(view) = t.property("Table", &["StreamSpecification", "StreamViewType"]) {
        let view = view.as_str().ok_or("Table: StreamViewType is not a string")?;
        let arn = crate::events::Streams::new(endpoint, &t.stack.region).enable(&table, view).await?;
        streams.insert("Table".to_owned(), arn);
    }
    let config = store::aws::emulator_config(endpoint).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = t.reference("DocumentsBucket")?;
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest3)
                .build(),
        )
        .send()
        .await?;
    let public_url = t.reference("PublicUrl")?;
    let cors = aws_sdk_s3::types::CorsRule::builder()
        .allowed_origins(public_url)
        .allowed_methods("PUT")
        .allowed_methods("GET")
        .allowed_headers("content-type")
        .max_age_seconds(3000)
        .build()?;
    s3.put_bucket_cors()
        .bucket(&bucket)
        .cors_configuration(aws_sdk_s3::types::CorsConfiguration::builder().cors_rules(cors).build()?)
        .send()
        .await?;
    let token = format!("jeton-exploitant-{:016x}", {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret_placeholder = t.reference("OperatorTokenSecret")?;
    let created = secrets
        .create_secret()
        .name(format!("{}-OperatorTokenSecret", t.stack.name))
        .secret_string(&token)
        .send()
        .await?;
    let secret_arn = created.arn().unwrap_or_default().to_owned();
    let ses = aws_sdk_sesv2::Client::new(&config);
    ses.create_email_identity().email_identity(sender).send().await?;
    Ok(Created { physical: vec![(secret_placeholder, secret_arn)], operator_token: token, streams })
}

/// The template's `SecurityHeadersPolicy` as (header, value, override).
pub fn security_headers(t: &Template) -> Result<Vec<(HeaderName, HeaderValue, bool)>, Error> {
    let config =
        t.resources.get("SecurityHeadersPolicy").and_then(|r| r.get("Properties")?.get("ResponseHeadersPolicyConfig"));
    let Some(config) = config else { return Ok(Vec::new()) };
    let security = config.get("SecurityHeadersConfig").cloned().unwrap_or(serde_yaml::Value::Null);
    let over = |v: Option<&serde_yaml::Value>| {
        v.and_then(|v| v.get("Override")).and_then(serde_yaml::Value::as_bool).unwrap_or(false)
    };
    let mut out = Vec::new();
    let mut push = |name: &str, value: String, o: bool| -> Result<(), Error> {
        out.push((HeaderName::try_from(name.to_ascii_lowercase())?, HeaderValue::try_from(value)?, o));
        Ok(())
    };
    if let Some(csp) = security.get("ContentSecurityPolicy") {
        let value = csp.get("ContentSecurityPolicy").map(|v| t.resolve(v)).transpose()?.unwrap_or_default();
        push("content-security-policy", value, over(Some(csp)))?;
    }
    if let Some(c) = security.get("ContentTypeOptions") {
        push("x-content-type-options", "nosniff".into(), over(Some(c)))?;
    }
    if let Some(f) = security.get("FrameOptions") {
        let v = f.get("FrameOption").and_then(serde_yaml::Value::as_str).unwrap_or("DENY");
        push("x-frame-options", v.into(), over(Some(f)))?;
    }
    if let Some(r) = security.get("ReferrerPolicy") {
        let v = r.get("ReferrerPolicy").and_then(serde_yaml::Value::as_str).unwrap_or("no-referrer");
        push("referrer-policy", v.into(), over(Some(r)))?;
    }
    if let Some(h) = security.get("StrictTransportSecurity") {
        let age = h.get("AccessControlMaxAgeSec").and_then(serde_yaml::Value::as_u64).unwrap_or(0);
        let sub = h.get("IncludeSubdomains").and_then(serde_yaml::Value::as_bool).unwrap_or(false);
        let preload = h.get("Preload").and_then(serde_yaml::Value::as_bool).unwrap_or(false);
        let v = format!(
            "max-age={age}{}{}",
            if sub { "; includeSubDomains" } else { "" },
            if preload { "; preload" } else { "" }
        );
        push("strict-transport-security", v, over(Some(h)))?;
    }
    for item in config
        .get("CustomHeadersConfig")
        .and_then(|c| c.get("Items"))
        .and_then(serde_yaml::Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = item.get("Header").and_then(serde_yaml::Value::as_str).unwrap_or_default();
        let value = item.get("Value").map(|v| t.resolve(v)).transpose()?.unwrap_or_default();
        push(name, value, over(Some(item)))?;
    }
    Ok(out)
}

/// How often a schedule fires: `rate(n unit)` as written, a `cron(…)` once a day.
pub fn period(expression: &str) -> Duration {
    let Some(rate) = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) else {
        return Duration::from_secs(24 * 3600);
    };
    let mut parts = rate.split_whitespace();
    let n: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let unit = match parts.next().unwrap_or("minutes").trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86400,
        _ => 60,
    };
    Duration::from_secs(n * unit)
}

/// EventBridge's scheduled event, for a schedule without `Input`.
pub fn scheduled_event(rule: &str, region: &str) -> serde_json::Value {
    let account = rule.split(':').nth(4).unwrap_or_default();
    serde_json::json!({
        "version": "0",
        "id": format!("{:x}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": [rule],
        "detail": {},
    })
}

/// moto behind HTTPS, as AWS's endpoints are: a certificate made for `127.0.0.1` at each start,
/// written to `ca_file` (the functions trust it through `AWS_CA_BUNDLE`, a browser is told to
/// accept it), and each TLS connection relayed to moto's plain HTTP. Its address (`https://…`).
///
/// The functions then presign S3 URLs for this address, the documents bucket's regional
/// address in the local stack: the template's CSP (`connect-src https://${DocumentsBucket.
/// RegionalDomainName}`) allows a browser's upload to it as in AWS, without being changed.
pub async fn https_front(moto: &str, ca_file: &Path) -> Result<String, Error> {
    let moto = moto.trim_start_matches("http://").to_owned();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
    std::fs::write(ca_file, certified.cert.pem())?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("https://{}", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let (acceptor, moto) = (acceptor.clone(), moto.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&moto).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok(endpoint)
}
