//! Who is calling: the session cookie, looked up in the town named by the path (a session
//! of town A does not exist in town B), with its CSRF token checked on every write.

use super::Problem;
use crate::auth::{secret, session};
use crate::clock::Clock;
use axum::extract::{FromRef, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::account::Role;
use domain::{FamilyRef, TownId};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use store::Store;
use store::accounts::{self, Session};

/// What the auth extractors need from a function's state.
#[derive(Clone)]
pub struct AuthState {
    pub store: Store,
    pub clock: Clock,
    /// How many proxies in front append to `X-Forwarded-For` (see [`client_address`]).
    pub trusted_proxies: u8,
}

/// The client's address, for login throttling.
pub struct ClientAddr(pub String);

impl<S> FromRequestParts<S> for ClientAddr
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientAddr, Self::Rejection> {
        let auth = AuthState::from_ref(state);
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        Ok(ClientAddr(client_address(&parts.headers, peer, auth.trusted_proxies)))
    }
}

/// A logged-in caller of the town in the path.
#[derive(Debug, Clone)]
pub struct Caller {
    pub town: TownId,
    pub session: Session,
    /// The cookie's secret (to end this session at logout).
    pub token: String,
}

impl Caller {
    /// Staff see the whole town; a guardian sees the families of their session.
    pub fn may_see_family(&self, family: &FamilyRef) -> bool {
        self.session.role.is_staff() || self.session.families.contains(family)
    }

    /// The family a path names, when the caller may see it; anyone else is told it does not
    /// exist, whether it does or not.
    pub fn family(&self, raw: &str) -> Result<FamilyRef, Problem> {
        let reference = FamilyRef::parse(raw).map_err(|_| unknown_family())?;
        if self.may_see_family(&reference) { Ok(reference) } else { Err(unknown_family()) }
    }
}

impl Caller {
    /// The family a path names, for a change only its own guardians make online (its basket,
    /// its documents, its calendar feed). Staff change a family from their own routes, where
    /// they are recorded as staff and audited: here they are refused.
    pub fn own_family(&self, raw: &str) -> Result<FamilyRef, Problem> {
        if self.session.role.is_staff() {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "staff_use_staff_routes",
                "Le personnel de la mairie agit pour une famille depuis l'Espace mairie, où chaque action est enregistrée.",
            ));
        }
        self.family(raw)
    }
}

pub fn unknown_family() -> Problem {
    Problem::not_found("unknown_family", "Cette famille est introuvable.")
}

pub fn unauthenticated() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Votre session a expiré ou vous n'êtes pas connecté : connectez-vous pour continuer.",
    )
}

pub fn forbidden() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Votre compte ne permet pas cette action.")
}

/// The town id of the request's path, as a 404 when it cannot be a town.
pub fn path_town(raw: &RawPathParams) -> Result<TownId, Problem> {
    let town = raw.iter().find(|(k, _)| *k == "town").map(|(_, v)| v).ok_or_else(super::unknown_town)?;
    super::town_id(town)
}

impl<S> FromRequestParts<S> for Caller
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Caller, Problem> {
        let auth = AuthState::from_ref(state);
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|_| super::unknown_town())?;
        let town = path_town(&raw)?;
        let token = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::from_cookie_header)
            .ok_or_else(unauthenticated)?;
        let session =
            accounts::find_session(&auth.store, &town, &token, auth.clock.now()).await?.ok_or_else(unauthenticated)?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !secret::same(sent, &session.csrf) {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf_token_invalid",
                    "La page a expiré : rechargez-la puis recommencez.",
                ));
            }
        }
        Ok(Caller { town, session, token })
    }
}

/// A caller who is town staff (agent or administrator).
pub struct Staff(pub Caller);

impl<S> FromRequestParts<S> for Staff
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Staff, Problem> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.session.role.is_staff() { Ok(Staff(caller)) } else { Err(forbidden()) }
    }
}

/// A caller who is the town's administrator: the staff routes that change the town's rules, its
/// billing or its records. Anyone else, staff included, is answered 403 `forbidden`.
pub struct Admin(pub Caller);

impl<S> FromRequestParts<S> for Admin
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Admin, Problem> {
        let Staff(caller) = Staff::from_request_parts(parts, state).await?;
        if caller.session.role == Role::TownAdmin { Ok(Admin(caller)) } else { Err(admin_only()) }
    }
}

/// The answer to anyone but the town's administrator on an administrator's route.
pub fn admin_only() -> Problem {
    forbidden().detail("Cette action est réservée à l'administrateur de la commune.")
}

/// Where the operator's token comes from when it is not given: read once per instance, on the
/// first request that presents a bearer token (in AWS, from Secrets Manager).
pub type TokenSource = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// The platform operator's bearer token (provisioning towns and their first staff), kept as its
/// digest.
#[derive(Clone)]
pub struct OperatorKey {
    digest: Arc<tokio::sync::OnceCell<Option<[u8; 32]>>>,
    source: Option<TokenSource>,
}

/// A token shorter than 16 characters disables the operator routes.
fn operator_digest(token: &str) -> Option<[u8; 32]> {
    (token.len() >= 16).then(|| Sha256::digest(token.as_bytes()).into())
}

impl OperatorKey {
    /// A token known at start (locally, tests); a token shorter than 16 characters, or none,
    /// disables the operator routes.
    pub fn new(token: Option<&str>) -> OperatorKey {
        let digest = tokio::sync::OnceCell::new_with(Some(token.and_then(operator_digest)));
        OperatorKey { digest: Arc::new(digest), source: None }
    }

    /// A token read from `source` when first needed; a failed read refuses the request and is
    /// tried again on the next one.
    pub fn from_source(source: TokenSource) -> OperatorKey {
        OperatorKey { digest: Arc::new(tokio::sync::OnceCell::new()), source: Some(source) }
    }

    /// Whether the request's `Authorization: Bearer` is the operator's token.
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| -> [u8; 32] { Sha256::digest(t.trim().as_bytes()).into() })
        else {
            return false;
        };
        let want = match &self.source {
            None => self.digest.get().copied().flatten(),
            Some(source) => {
                let read = self.digest.get_or_try_init(|| async { source().await.map(|t| operator_digest(t.trim())) });
                match read.await {
                    Ok(d) => *d,
                    Err(e) => {
                        tracing::error!(error = %e, "the operator's token could not be read");
                        None
                    }
                }
            }
        };
        // Digests are compared, not tokens: the comparison's timing reveals nothing of the token.
        want.is_some_and(|w| w == presented)
    }

    /// The 401 for a request that is not the operator's.
    pub fn denied() -> Response {
        let mut res = Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Cette action est réservée à l'exploitant de la plateforme.",
        )
        .into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        res
    }
}

/// The client's address, for throttling. Each trusted proxy appends the address it saw to
/// `X-Forwarded-For`, so with `trusted_proxies` proxies in front the client is the entry that
/// many places from the end: 1 behind API Gateway alone (the gateway's entry), 2 behind
/// CloudFront and API Gateway (CloudFront's entry: the viewer; the gateway's is CloudFront's
/// edge). Entries further left are the client's own and can be forged. With no proxy, or a
/// header too short, the socket's peer.
pub fn client_address(parts_headers: &HeaderMap, peer: Option<std::net::SocketAddr>, trusted_proxies: u8) -> String {
    if trusted_proxies > 0
        && let Some(hop) = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').nth(usize::from(trusted_proxies) - 1))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    {
        return hop.to_owned();
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "unknown".to_owned())
}

/// `TRUSTED_PROXIES` from the environment (a Lambda's), 1 (API Gateway alone) by default.
pub fn trusted_proxies_from_env() -> u8 {
    std::env::var("TRUSTED_PROXIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}

/// Lets a function's handlers extract [`AuthState`] (for [`Caller`] and [`Staff`]) from the
/// function's state, which holds it in its `auth` field.
#[macro_export]
macro_rules! auth_state_from {
    ($state:ty) => {
        impl axum::extract::FromRef<$state> for $crate::http::auth::AuthState {
            fn from_ref(s: &$state) -> Self {
                s.auth.clone()
            }
        }
    };
}

#[cfg(test)]
mod address_tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        h
    }

    #[test]
    fn the_client_is_the_entry_of_the_first_trusted_proxy() {
        let peer = Some("10.0.0.9:443".parse().unwrap());
        // A client forging the header cannot choose its address: proxies append theirs.
        let xff = headers("6.6.6.6, 203.0.113.7, 130.176.1.2");
        assert_eq!(client_address(&xff, peer, 1), "130.176.1.2", "API Gateway alone");
        assert_eq!(client_address(&xff, peer, 2), "203.0.113.7", "CloudFront, then API Gateway");
        assert_eq!(client_address(&xff, peer, 0), "10.0.0.9", "no proxy: the socket");
        assert_eq!(client_address(&headers("130.176.1.2"), peer, 2), "10.0.0.9", "too short: the socket");
        assert_eq!(client_address(&HeaderMap::new(), None, 1), "unknown");
    }
}
