//! Identifiers that travel in keys and URLs. Parse, don't validate: the only way to hold one
//! is `parse`, so a value in hand is always safe to put in a storage key or a path.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a text is not a valid identifier, in French for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

impl crate::Refusal for IdError {
    fn code(&self) -> &'static str {
        "invalid_id"
    }
    fn kind(&self) -> crate::Kind {
        crate::Kind::Malformed
    }
}

const MAX_ID_LEN: usize = 64;

fn check_slug(what: &str, s: &str) -> Result<(), IdError> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(IdError(format!("l'identifiant de {what} doit faire entre 1 et {MAX_ID_LEN} caractères")));
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if !s.chars().all(ok_char) || s.starts_with('-') {
        return Err(IdError(format!(
            "l'identifiant de {what} « {} » ne doit contenir que des minuscules sans accent, des chiffres, « - » ou « _ »",
            s.chars().take(MAX_ID_LEN).collect::<String>()
        )));
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_slug($what, s)?;
                Ok(Self(s.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                check_slug($what, &s)?;
                Ok(Self(s))
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A town (tenant). Every stored key starts with it.
    TownId, "commune"
);
slug_id!(
    /// An activity such as the school restaurant or the leisure centre.
    ActivityId, "service"
);
slug_id!(
    /// A place where an activity runs (a school, the leisure centre).
    SiteId, "site"
);
slug_id!(
    /// What one checkbox books: canteen, morning care, evening care, study, ALSH day.
    UnitId, "prestation"
);
slug_id!(
    /// A household's reference, as the town's existing software numbers it.
    FamilyRef, "famille"
);
slug_id!(
    /// A child, unique in the town (a child of separated parents is in two families).
    ChildId, "enfant"
);

slug_id!(
    /// An aid deducted on invoices (the CAF's « aide aux temps libres », the town's own).
    AidId, "aide"
);

slug_id!(
    /// A kind of document a town asks for (medical exemption, yearly file...).
    DocKindId, "type de document"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_key_separators_and_uppercase() {
        assert!(TownId::parse("saint-martin").is_ok());
        for bad in ["", "A", "a#b", "a/b", "é", "-x", "a b", &"x".repeat(65)] {
            assert!(TownId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ids_deserialize_through_parse() {
        let ok: UnitId = serde_json::from_str("\"cantine\"").unwrap();
        assert_eq!(ok.as_str(), "cantine");
        let err = serde_json::from_str::<UnitId>("\"Cantine\"").unwrap_err();
        assert!(err.to_string().contains("prestation"), "{err}");
    }
}
