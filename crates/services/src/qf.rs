//! API Particulier's quotient familial, as the portal calls it: `GET <base>/v3/dss/quotient_familial/identite`
//! with the town's bearer token and SIRET (`recipient`). The same client talks to the real API
//! and to the local twin (`infra/local`); what the parameters and answers mean is
//! [`domain::qf`].

use domain::qf::{self, Failure, Fetched, Identity};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// API Particulier's production address; staging and the local twin are configuration.
pub const BASE_URL: &str = "https://particulier.api.gouv.fr";
/// How long one call may take (the API answers in about a second).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the token comes from: read once per instance, on the first call (Secrets Manager in
/// AWS, a fixed text locally).
pub type TokenSource = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct ApiParticulier {
    base: String,
    source: TokenSource,
    token: Arc<tokio::sync::OnceCell<String>>,
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

impl ApiParticulier {
    /// A client of the API at `base` (no trailing slash) with a fixed `token`.
    pub fn new(base: &str, token: &str) -> ApiParticulier {
        let token = token.to_owned();
        ApiParticulier::with_source(
            base,
            Arc::new(move || {
                let token = token.clone();
                Box::pin(async move { Ok(token) })
            }),
        )
    }

    pub fn with_source(base: &str, source: TokenSource) -> ApiParticulier {
        ApiParticulier {
            base: base.trim_end_matches('/').to_owned(),
            source,
            token: Arc::default(),
            client: Arc::new(OnceLock::new()),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, Failure> {
        self.client.get_or_init(|| https_client(TIMEOUT)).as_ref().map_err(|e| Failure::Unavailable(e.clone()))
    }

    /// The allocataire's QF, or why there is none. `recipient` is the town's SIRET.
    #[tracing::instrument(skip_all)]
    pub async fn quotient(
        &self,
        identity: &Identity,
        recipient: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Fetched, Failure> {
        let token = self.token.get_or_try_init(|| (self.source)()).await.map_err(Failure::Unavailable)?;
        let response = self
            .client()?
            .get(format!("{}{}", self.base, qf::PATH))
            .bearer_auth(token)
            .header("accept", "application/json")
            .query(&identity.query(recipient))
            .send()
            .await
            .map_err(|e| Failure::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| Failure::Unavailable(e.to_string()))?;
        let answer = qf::read_answer(status, &body, now);
        if let Err(f) = &answer {
            tracing::info!(status, code = f.code(), "API Particulier: no QF");
        }
        answer
    }
}

/// An HTTPS client for an outside service (API Particulier, PayFiP): the system's roots (their
/// chains are not AWS's), ring as the SDKs' crypto, every call bounded by `timeout`.
pub fn https_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(tls).timeout(timeout).build().map_err(|e| e.to_string())
}
