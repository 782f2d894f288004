//! What text a person may send: no control characters but tab and line breaks, no
//! bidirectional overrides (`a\u{202E}fdp.exe` would read as `aexe.pdf`). Checked at the edge,
//! on every JSON body and every imported cell; dates are held to [`super::date`] there too.

/// Why a text is refused; its `Display` is the French reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("contient un caractère de contrôle du sens d'écriture, qui peut déguiser le texte")]
    Bidi,
    #[error("contient un caractère de contrôle invisible")]
    Control,
}

impl crate::Refusal for TextError {
    fn code(&self) -> &'static str {
        "invalid_characters"
    }
}

/// Whether a text may be stored.
pub fn check(text: &str) -> Result<(), TextError> {
    for c in text.chars() {
        if is_bidi_control(c) {
            return Err(TextError::Bidi);
        }
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            return Err(TextError::Control);
        }
    }
    Ok(())
}

/// The embeddings, overrides and isolates of Unicode's bidirectional algorithm.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
}
