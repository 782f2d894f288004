//! French phone numbers, as guardians write them: « 06 12 34 56 78 », « 06.12.34.56.78 »,
//! « +33 6 12 34 56 78 », « 0033612345678 ». Stored as « 06 12 34 56 78 ». Overseas
//! departments' numbers are French numbers too (0262…, 0590…, 0696…), written the same way.

use std::fmt;

/// A French phone number (ten digits, the first 0 and the second 1 to 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

/// Not a French phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("n’est pas un numéro de téléphone français (10 chiffres, comme 06 12 34 56 78)")]
pub struct InvalidPhone;

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, InvalidPhone> {
        let raw = raw.trim();
        if raw.chars().count() > 25 || raw.chars().any(|c| !(c.is_ascii_digit() || " .-+()".contains(c))) {
            return Err(InvalidPhone);
        }
        let plus = raw.starts_with('+');
        if raw[usize::from(plus)..].contains('+') {
            return Err(InvalidPhone);
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let national = if plus {
            digits.strip_prefix("33").map(|rest| format!("0{}", rest.strip_prefix('0').unwrap_or(rest)))
        } else if let Some(rest) = digits.strip_prefix("0033") {
            Some(format!("0{rest}"))
        } else {
            Some(digits)
        }
        .ok_or(InvalidPhone)?;
        let b = national.as_bytes();
        if b.len() != 10 || b[0] != b'0' || b[1] == b'0' {
            return Err(InvalidPhone);
        }
        let pairs: Vec<&str> = (0..5).map(|i| &national[2 * i..2 * i + 2]).collect();
        Ok(Phone(pairs.join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_are_read_in_every_usual_writing() {
        for raw in [
            "0612345678",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033612345678",
        ] {
            assert_eq!(Phone::parse(raw).map(|p| p.to_string()), Ok("06 12 34 56 78".to_owned()), "{raw}");
        }
        assert_eq!(Phone::parse("0262 12 34 56").unwrap().as_str(), "02 62 12 34 56", "La Réunion");
    }

    #[test]
    fn what_is_not_a_french_number_is_refused() {
        for raw in [
            "",
            "06123456",
            "061234567890",
            "0012345678",
            "+44 20 7946 0958",
            "6 12 34 56 78",
            "06 12 34 56 7a",
            "06+12345678",
            "+33 0 12 34 56 78",
        ] {
            assert_eq!(Phone::parse(raw), Err(InvalidPhone), "{raw}");
        }
    }
}
