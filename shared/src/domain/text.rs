//! What text and dates a person may send: no control characters but tab and line breaks, no
//! bidirectional overrides (`a\u{202E}fdp.exe` would read as `aexe.pdf`), and dates between
//! 1900 and 2100. Checked at the edge, on every JSON body and every imported cell.

/// The first year a date sent to the portal may have (children's birth dates are the oldest).
pub const FIRST_YEAR: i32 = 1900;
/// The last year a date sent to the portal may have.
pub const LAST_YEAR: i32 = 2100;

/// Why a text is refused, in French.
pub fn check(text: &str) -> Result<(), &'static str> {
    for c in text.chars() {
        if is_bidi_control(c) {
            return Err("contient un caractère de contrôle du sens d'écriture, qui peut déguiser le texte");
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            return Err("contient un caractère de contrôle invisible");
        }
    }
    Ok(())
}

/// The embeddings, overrides and isolates of Unicode's bidirectional algorithm.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The year of a text that is a date (`AAAA-MM-JJ`) or starts like an instant
/// (`AAAA-MM-JJTHH:MM…`); `None` for any other text.
pub fn date_year(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    let looks_like_date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b't');
    looks_like_date.then(|| text[..4].parse().ok()).flatten()
}

/// Why a date-like text is refused: its year is outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn check_date_year(text: &str) -> Result<(), String> {
    match date_year(text) {
        Some(y) if !(FIRST_YEAR..=LAST_YEAR).contains(&y) => {
            Err(format!("la date « {text} » n'est pas plausible : l'année va de {FIRST_YEAR} à {LAST_YEAR}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_texts_in_french_pass() {
        assert_eq!(check("Léa-Rose N'Diaye\nligne 2\tfin\r\n"), Ok(()));
        assert_eq!(check("« École » — 3,50 €"), Ok(()));
    }

    #[test]
    fn control_characters_and_direction_overrides_are_refused() {
        for bad in ["Léa\u{0}", "a\u{7}b", "x\u{1b}[31m", "\u{85}", "a\u{202E}fdp.exe", "\u{2066}x\u{2069}"] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_outside_the_plausible_years_are_refused() {
        assert!(check_date_year("0000-01-01").is_err());
        assert!(check_date_year("9999-12-31").is_err());
        assert!(check_date_year("9999-12-31T10:00:00Z").is_err());
        assert!(check_date_year("2026-12-01").is_ok());
        assert!(check_date_year("2026-12-01T08:00:00+01:00").is_ok());
        assert!(check_date_year("1905-03-01").is_ok());
        assert_eq!(date_year("9999 personnes"), None, "only dates are dates");
        assert_eq!(date_year("2026-12-01 et après"), None);
    }
}
