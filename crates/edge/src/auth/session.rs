//! Sessions: an opaque 256-bit token in an HttpOnly, Secure, SameSite cookie scoped to the
//! town's API path; stored hashed, with an idle and an absolute expiry.

pub use domain::account::session::{ABSOLUTE, IDLE, TOUCH_EVERY};

pub const COOKIE: &str = "ef_session";
/// The header that must carry the session's CSRF token on every state-changing request.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The path the cookie is sent to: the town's API only, so a session never leaves its town.
pub fn cookie_path(town: &str) -> String {
    format!("/api/towns/{town}")
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(town: &str, token: &str) -> String {
    cookie::Cookie::build((COOKIE, token))
        .path(cookie_path(town))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(ABSOLUTE.num_seconds()))
        .build()
        .to_string()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(town: &str) -> String {
    cookie::Cookie::build((COOKIE, ""))
        .path(cookie_path(town))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

/// The name of the cookie that tells the town's pages a session may be open (`ef_connecte_<town>`):
/// no secret (`1`), readable by the pages, so that a public page asks `/auth/session` only then
/// (a 401 at every visit is an error in the browser's console). The session itself stays in the
/// HttpOnly cookie; a stale hint costs one 401, after which the page removes it.
pub fn hint_cookie_name(town: &str) -> String {
    format!("ef_connecte_{town}")
}

/// `Set-Cookie` for the hint of a new session (same lifetime, path `/`, readable by the pages).
pub fn set_hint_cookie(town: &str) -> String {
    hint_cookie(town, "1", cookie::time::Duration::seconds(ABSOLUTE.num_seconds()))
}

/// `Set-Cookie` that removes the hint.
pub fn clear_hint_cookie(town: &str) -> String {
    hint_cookie(town, "", cookie::time::Duration::ZERO)
}

fn hint_cookie(town: &str, value: &str, max_age: cookie::time::Duration) -> String {
    cookie::Cookie::build((hint_cookie_name(town), value))
        .path("/")
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(max_age)
        .build()
        .to_string()
}

/// The session token in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<String> {
    cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_http_only_secure_lax_and_scoped_to_the_town() {
        let c = set_cookie("villeneuve", "abc");
        for part in
            ["ef_session=abc", "HttpOnly", "Secure", "SameSite=Lax", "Path=/api/towns/villeneuve", "Max-Age=43200"]
        {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(clear_cookie("villeneuve").contains("Max-Age=0"));
    }

    #[test]
    fn the_hint_cookie_holds_no_secret_and_is_readable_by_the_pages() {
        let c = set_hint_cookie("villeneuve");
        assert!(c.starts_with("ef_connecte_villeneuve=1;"), "{c}");
        assert!(c.contains("Path=/;") || c.ends_with("Path=/"), "{c}");
        assert!(!c.contains("HttpOnly"), "{c}");
        assert!(c.contains(&format!("Max-Age={}", ABSOLUTE.num_seconds())), "{c}");
        assert!(clear_hint_cookie("villeneuve").contains("Max-Age=0"));
    }

    #[test]
    fn reads_the_session_among_other_cookies() {
        assert_eq!(from_cookie_header("a=1; ef_session=tok; b=2").as_deref(), Some("tok"));
        assert_eq!(from_cookie_header("a=1"), None);
    }
}
