//! JSON parsing that names the failing field and says what is wrong in French, for
//! configuration files and request bodies alike.

use serde::de::DeserializeOwned;

/// A JSON document that does not fit the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JsonError {
    /// Where it failed, as `activities[0].units[2].price` (empty for the whole document).
    pub path: String,
    /// What is wrong, in French.
    pub message: String,
    /// The bytes are not JSON at all (rather than JSON of the wrong shape).
    pub syntax: bool,
}

impl crate::Refusal for JsonError {
    fn code(&self) -> &'static str {
        if self.syntax { "invalid_json" } else { "invalid_body" }
    }
    fn french(&self) -> String {
        self.message.clone()
    }
    fn field(&self) -> Option<String> {
        (!self.path.is_empty()).then(|| self.path.clone())
    }
    fn kind(&self) -> crate::Kind {
        if self.syntax { crate::Kind::Malformed } else { crate::Kind::Invalid }
    }
}

/// Parses `bytes` as a `T`, reporting the path of the first error. A date-like text that is not
/// a strict date ([`crate::date`]: no sign, four digits, a plausible year) is refused
/// in any field, before the fields are read: chrono alone would take `+020260-01-01`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some((path, message)) = crate::date::refused_in(&doc)
    {
        return Err(JsonError { path, message: message.to_string(), syntax: false });
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let syntax =
            matches!(e.inner().classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof);
        JsonError { path: if path == "." { String::new() } else { path }, message: french(e.inner()), syntax }
    })?;
    Ok(value)
}

/// serde's messages are English; the common ones are said again in French. Messages our own
/// types raise are French already and pass through.
fn french(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let quoted = |t: &str| t.split('`').nth(1).unwrap_or_default().to_owned();
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("le document n'est pas du JSON valide (ligne {}, colonne {})", e.line(), e.column())
        }
        Category::Io => "le document n'a pas pu être lu".to_owned(),
        Category::Data if text.starts_with("missing field") => {
            format!("le champ obligatoire « {} » est absent", quoted(&text))
        }
        Category::Data if text.starts_with("unknown field") => {
            format!("le champ « {} » n'est pas reconnu", quoted(&text))
        }
        Category::Data if text.starts_with("unknown variant") => {
            let allowed: Vec<String> = text.split('`').skip(3).step_by(2).map(str::to_owned).collect();
            format!("la valeur « {} » n'est pas permise (valeurs possibles : {})", quoted(&text), allowed.join(", "))
        }
        Category::Data if text.starts_with("invalid type") || text.starts_with("invalid value") => {
            let expected = text.split(", expected ").nth(1).unwrap_or("une autre valeur");
            format!("valeur de type inattendu (attendu : {expected})")
        }
        Category::Data if text.starts_with("input contains invalid characters") || text.contains("premature end") => {
            format!("la date ou l'heure est invalide ({text})")
        }
        Category::Data => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn names_the_path_of_a_nested_error() {
        let e = parse::<Outer>(br#"{"name":"x","inner":[{"n":1},{"n":"deux"}]}"#).unwrap_err();
        assert_eq!(e.path, "inner[1].n");
        assert!(e.message.contains("type inattendu"), "{}", e.message);
    }

    #[test]
    fn missing_and_unknown_fields_are_said_in_french() {
        let e = parse::<Outer>(br#"{"inner":[]}"#).unwrap_err();
        assert_eq!(e.message, "le champ obligatoire « name » est absent");
        let e = parse::<Outer>(br#"{"name":"x","inner":[],"extra":1}"#).unwrap_err();
        assert_eq!(e.message, "le champ « extra » n'est pas reconnu");
    }

    #[test]
    fn a_signed_or_long_year_is_refused_in_any_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Day {
            on: chrono::NaiveDate,
        }
        assert!(parse::<Day>(br#"{"on":"2026-12-01"}"#).is_ok());
        for bad in ["-2026-01-01", "+020260-01-01", "+99999-12-31T00:00:00Z"] {
            let e = parse::<Day>(format!(r#"{{"on":"{bad}"}}"#).as_bytes()).unwrap_err();
            assert_eq!((e.path.as_str(), e.syntax), ("on", false), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = parse::<Outer>(b"{\n  \"name\": ").unwrap_err();
        assert!(e.message.starts_with("le document n'est pas du JSON valide (ligne 2"), "{}", e.message);
    }
}
