//! Random secrets (activation, reset and session tokens, CSRF tokens): 256 random bits from
//! the operating system, handed out once; only their SHA-256 is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new secret, as the client will hold it (43 URL-safe characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing means the machine cannot make secrets at all: nothing sensible
    // can continue.
    #[expect(clippy::expect_used, reason = "without the OS's random generator no secret can be made")]
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored and looked up for a secret: its SHA-256, hex. A secret has 256 bits of
/// entropy, so a fast hash is enough (no password-style stretching needed).
pub fn digest(secret: &str) -> String {
    domain::digest(secret)
}

/// Compares two secrets without leaking where they differ (compares their digests).
pub fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// A short random id for stored records (128 bits, hex).
pub fn id() -> String {
    let mut bytes = [0u8; 16];
    #[expect(clippy::expect_used, reason = "without the OS's random generator no secret can be made")]
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_url_safe() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn digest_is_stable_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same("x", "x") && !same("x", "y"));
    }
}
