//! The security headers of every answer, set in one place for the Lambdas (through
//! [`super::finish`]) and the local portal (around its pages too); CloudFront sets the same on
//! the pages in AWS (`template.yaml`, `SecurityHeadersPolicy`). A header a handler set itself
//! is kept.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;

/// The pages' policy: scripts and styles from the portal only (no inline script), no framing,
/// requests to the portal and to `upload_origins` (the documents' bucket, which the browser
/// sends files to directly).
pub fn page_policy(upload_origins: &[&str]) -> String {
    let connect: String = upload_origins.iter().map(|o| format!(" {o}")).collect();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// An API answer is data, never a page: nothing may run or frame it.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Two years, subdomains included: the portal is served over HTTPS only (ignored over plain
/// HTTP, as locally).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Adds the security headers to every answer of `router`; the API's answers are also not stored
/// by any cache unless their handler said otherwise (they are personal: family, bookings,
/// documents, invoices).
pub fn secure(router: Router, upload_origins: &[&str]) -> Router {
    let page_policy =
        HeaderValue::from_str(&page_policy(upload_origins)).unwrap_or(HeaderValue::from_static(API_POLICY));
    router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let page_policy = page_policy.clone();
        async move {
            let api = req.uri().path().starts_with("/api/");
            let mut res = next.run(req).await;
            set(res.headers_mut(), api, page_policy);
            res
        }
    }))
}

/// The policy goes by the path, not the content type: a page's `304 Not Modified` has none,
/// and the browser would take the API's policy from it for the page it keeps.
fn set(h: &mut HeaderMap, api: bool, page_policy: HeaderValue) {
    let policy = if api { HeaderValue::from_static(API_POLICY) } else { page_policy };
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(policy);
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static(HSTS));
    h.entry("cross-origin-opener-policy").or_insert(HeaderValue::from_static("same-origin"));
    h.entry("permissions-policy").or_insert(HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if api {
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
}
