//! Password hashing: Argon2id with the argon2 crate's defaults (m = 19 MiB, t = 2, p = 1),
//! run on the blocking pool so that a login never stalls the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use domain::account::Password;
use std::sync::LazyLock;

/// A hash verified when the email is unknown, so that the answer takes the same time.
static DUMMY: LazyLock<String> = LazyLock::new(|| hash_blocking("mot de passe factice pour l'égalité des temps"));

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
}

/// The PHC string of a new password.
pub async fn hash(password: Password) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose())).await.unwrap_or_default()
}

/// Whether `candidate` matches `stored` (a PHC string); with `None` (unknown account or not
/// activated yet) a dummy hash is verified and the answer is no, in the same time.
pub async fn verify(candidate: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_baseline_parameters_and_verify() {
        let phc = hash(Password::parse("une phrase secrète").unwrap()).await;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("une phrase secrète".into(), Some(phc.clone())).await);
        assert!(!verify("une autre phrase".into(), Some(phc)).await);
        assert!(!verify("mot de passe factice pour l'égalité des temps".into(), None).await);
    }
}
