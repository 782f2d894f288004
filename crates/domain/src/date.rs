//! One strict date for everything that enters the portal: a day is `AAAA-MM-JJ` (four digits,
//! no sign, a year from 1900 to 2100), an instant is RFC 3339 with such a year. chrono alone
//! also reads `-2026-01-01` and `+020260-01-01`; these are refused here, wherever they come
//! from: a JSON body or configuration file (every date-like text, whatever its field), a path
//! or a query string.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::Value;

/// The first year a date sent to the portal may have (children's birth dates are the oldest).
pub const FIRST_YEAR: i32 = 1900;
/// The last year a date sent to the portal may have.
pub const LAST_YEAR: i32 = 2100;

/// Why a text is not a strict date; its `Display` is the French reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("la date « {0} » n'est pas valide : écrivez-la AAAA-MM-JJ, par exemple 2026-09-01")]
    Shape(String),
    #[error("la date « {0} » n'existe pas au calendrier")]
    NotInCalendar(String),
    #[error("la date « {0} » n'est pas plausible : l'année va de {FIRST_YEAR} à {LAST_YEAR}")]
    Year(String),
    #[error("la date et l'heure « {0} » ne sont pas valides : écrivez-les comme 2026-09-01T08:00:00+02:00")]
    InstantShape(String),
}

impl crate::Refusal for DateError {
    fn code(&self) -> &'static str {
        "invalid_date"
    }
    fn kind(&self) -> crate::Kind {
        crate::Kind::Malformed
    }
}

fn year_in_range(text: &str, year: i32) -> Result<(), DateError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) { Ok(()) } else { Err(DateError::Year(shown(text))) }
}

fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// `AAAA-MM-JJ` exactly: ten characters, digits where digits go.
fn is_day_shape(b: &[u8]) -> bool {
    b.len() == 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Whether a day (read before dates were strict, perhaps) has a plausible year.
pub fn plausible(d: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&d.year())
}

/// A day, `AAAA-MM-JJ`, of a plausible year; the reason in French otherwise.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    if !is_day_shape(text.as_bytes()) {
        return Err(DateError::Shape(shown(text)));
    }
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| DateError::NotInCalendar(shown(text)))?;
    year_in_range(text, d.year())?;
    Ok(d)
}

/// An instant, RFC 3339 (`2026-12-01T08:00:00+01:00`), of a plausible year.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, DateError> {
    let wrong = || DateError::InstantShape(shown(text));
    let b = text.as_bytes();
    if b.len() < 11 || !is_day_shape(&b[..10]) || !matches!(b[10], b'T' | b't') {
        return Err(wrong());
    }
    let t = DateTime::parse_from_rfc3339(text).map_err(|_| wrong())?;
    year_in_range(text, t.year())?;
    Ok(t.to_utc())
}

/// Whether a text is shaped like a date or an instant, strict or not: an optional sign, digits,
/// `-MM-JJ`, then nothing or a time (`T…`). A text such as « 2026-12-01 et après » is not.
fn looks_like_a_date(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let b = digits.as_bytes();
    let year_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &b[year_len..];
    year_len >= 1
        && rest.len() >= 6
        && rest[0] == b'-'
        && rest[1..3].iter().all(u8::is_ascii_digit)
        && rest[3] == b'-'
        && rest[4..6].iter().all(u8::is_ascii_digit)
        && (rest.len() == 6 || matches!(rest[6], b'T' | b't'))
}

/// Why a text sent in any field is refused as a date: it is shaped like one (even with a sign
/// or a long year) but is not a strict day or instant of a plausible year. Other texts pass.
pub fn check_text(text: &str) -> Result<(), DateError> {
    if !looks_like_a_date(text) {
        return Ok(());
    }
    if text.contains(['T', 't']) { parse_instant(text).map(|_| ()) } else { parse_date(text).map(|_| ()) }
}

/// The first date-like text of a JSON document that is not a strict date: its path (as
/// `closures[0].date`) and the reason. Every body and configuration file goes through it.
pub fn refused_in(value: &Value) -> Option<(String, DateError)> {
    let mut stack = vec![(String::new(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Err(why) = check_text(s) {
                    return Some((path, why));
                }
            }
            Value::Array(items) => {
                stack.extend(items.iter().enumerate().rev().map(|(i, x)| (format!("{path}[{i}]"), x)));
            }
            Value::Object(fields) => {
                let field = |k: &String| if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                stack.extend(fields.iter().rev().map(|(k, x)| (field(k), x)));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED_OR_LONG: [&str; 6] = [
        "-2026-01-01",
        "+020260-01-01",
        "+2026-01-01",
        "+99999-12-31T00:00:00Z",
        "-2026-01-01T08:00:00Z",
        "020260-01-01",
    ];

    #[test]
    fn a_day_has_four_digits_no_sign_and_a_plausible_year() {
        assert_eq!(parse_date("2026-12-01"), Ok(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        assert_eq!(parse_date("1900-01-01").map(|d| d.year()), Ok(1900));
        for bad in ["-2026-01-01", "+020260-01-01", "+202-01-01", "2026-1-01", "2026-01-1", "20260101", "2026-02-30"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        for bad in ["1899-12-31", "2101-01-01", "0000-01-01", " 2026-01-01", "2026-01-01 "] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_instant_is_rfc_3339_with_a_four_digit_year() {
        let t = parse_instant("2026-12-01T08:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T07:00:00+00:00");
        for bad in [
            "+99999-12-31T00:00:00Z",
            "-2026-01-01T08:00:00Z",
            "2026-12-01",
            "2026-12-01T08:00:00",
            "9999-12-31T00:00:00Z",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_date_shaped_text_must_be_strict_and_other_texts_pass() {
        for bad in SIGNED_OR_LONG {
            assert!(check_text(bad).is_err(), "{bad}");
        }
        for fine in ["2026-12-01", "2026-12-01T08:00:00Z", "2026-12-01 et après", "12-01", "Grève", "-5", "+33 6 12"]
        {
            assert_eq!(check_text(fine), Ok(()), "{fine}");
        }
        let doc = serde_json::json!({"a": [{"b": "ok"}, {"date": "+020260-01-01"}]});
        let (path, why) = refused_in(&doc).unwrap();
        assert_eq!(path, "a[1].date");
        assert!(why.to_string().contains("AAAA-MM-JJ"), "{why}");
    }
}
