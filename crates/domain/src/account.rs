//! Accounts: who may log in, with which role, and what a password must be.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::LazyLock;

/// What an account may do. Guardians see their families; staff see their town.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Guardian,
    /// Town staff: decides requests, takes attendance, imports families.
    Agent,
    /// Town staff who also configure the town and read the audit trail.
    TownAdmin,
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::TownAdmin)
    }
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 64;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().collect());

/// A password that passed the rules (NIST SP 800-63B): 8 to 64 characters, any characters,
/// no composition rules, not one of the most common passwords. Never logged or serialised.
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Password, WeakPassword> {
        let n = s.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(WeakPassword::TooLong);
        }
        if COMMON.contains(s.to_lowercase().as_str()) {
            return Err(WeakPassword::Common);
        }
        Ok(Password(s.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Why a password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("Le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères.")]
    TooShort,
    #[error("Le mot de passe doit contenir au plus {MAX_PASSWORD_CHARS} caractères.")]
    TooLong,
    #[error(
        "Ce mot de passe fait partie des plus courants : choisissez-en un autre, par exemple une phrase de plusieurs mots."
    )]
    Common,
}

impl crate::Refusal for WeakPassword {
    fn code(&self) -> &'static str {
        "weak_password"
    }
    fn field(&self) -> Option<String> {
        Some("password".into())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Password::parse("court").is_err());
        assert!(Password::parse("éléphant").is_ok(), "8 characters, 10 bytes");
        assert!(Password::parse(&"b9".repeat(32)).is_ok(), "64 characters");
        assert!(Password::parse(&"x7".repeat(33)).is_err(), "66 characters");
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        for common in ["password", "Password1", "azertyuiop", "12345678", "QWERTYUIOP"] {
            assert!(Password::parse(common).is_err(), "{common} accepted");
        }
        assert!(Password::parse("les tilleuls en fleurs").is_ok());
    }

    #[test]
    fn no_composition_rules() {
        assert!(Password::parse("tout en minuscules sans chiffre").is_ok());
    }

    #[test]
    fn debug_hides_the_password() {
        assert_eq!(format!("{:?}", Password::parse("une phrase secrète").unwrap()), "Password(…)");
    }
}

/// How long a session lives.
pub mod session {
    use chrono::TimeDelta;

    /// A session unused this long is over.
    pub const IDLE: TimeDelta = TimeDelta::hours(1);
    /// A session is over this long after login, used or not.
    pub const ABSOLUTE: TimeDelta = TimeDelta::hours(12);
    /// `last_seen_at` is written at most this often (saves a write on most requests).
    pub const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(5);
}
