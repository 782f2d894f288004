//! Money is integer cents of euro, never floats.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign};

/// An amount in euro cents. Prices are never negative; a sum of prices cannot overflow in
/// practice (i64 cents is ninety thousand billion euros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Cents(i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn new(cents: i64) -> Result<Self, NegativeAmount> {
        if cents < 0 {
            return Err(NegativeAmount(cents));
        }
        Ok(Cents(cents))
    }
    /// « 1234,50 »: the amount as a French spreadsheet reads a number (no symbol, no grouping).
    pub fn decimal_comma(self) -> String {
        format!("{},{:02}", self.0 / 100, self.0 % 100)
    }

    /// `n` times the amount (saturating: no invoice reaches it).
    pub fn times(self, n: u32) -> Cents {
        Cents(self.0.saturating_mul(i64::from(n)))
    }

    /// This amount less `o`, never below 0.
    pub fn minus(self, o: Cents) -> Cents {
        Cents(self.0.saturating_sub(o.0).max(0))
    }

    /// This amount less `o` cents (more when `o` is negative), never below 0.
    pub fn minus_i64(self, o: i64) -> Cents {
        Cents(self.0.saturating_sub(o).max(0))
    }

    pub fn get(self) -> i64 {
        self.0
    }
    /// `percent` of this amount, rounded half up to the cent.
    pub fn percent(self, percent: u32) -> Cents {
        Cents((self.0 * i64::from(percent) + 50) / 100)
    }
}

/// An amount below zero, in cents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("un montant ne peut pas être négatif ({0} centimes)")]
pub struct NegativeAmount(pub i64);

impl crate::Refusal for NegativeAmount {
    fn code(&self) -> &'static str {
        "negative_amount"
    }
}

impl TryFrom<i64> for Cents {
    type Error = NegativeAmount;
    fn try_from(v: i64) -> Result<Self, NegativeAmount> {
        Cents::new(v)
    }
}
impl From<Cents> for i64 {
    fn from(c: Cents) -> i64 {
        c.0
    }
}
impl Add for Cents {
    type Output = Cents;
    fn add(self, o: Cents) -> Cents {
        Cents(self.0.saturating_add(o.0))
    }
}
impl AddAssign for Cents {
    fn add_assign(&mut self, o: Cents) {
        *self = *self + o;
    }
}

/// French formatting, as parents read it: `4,00 €`, `1 234,50 €`.
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let euros = self.0 / 100;
        let digits = euros.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(c);
        }
        write!(f, "{grouped},{:02}\u{a0}€", self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_amounts_are_refused() {
        assert!(Cents::new(-1).is_err());
        assert!(serde_json::from_str::<Cents>("-5").is_err());
    }

    #[test]
    fn a_spreadsheet_reads_the_decimal_comma() {
        assert_eq!(Cents::new(123_450).unwrap().decimal_comma(), "1234,50");
        assert_eq!(Cents::new(5).unwrap().decimal_comma(), "0,05");
    }

    #[test]
    fn displays_in_french() {
        assert_eq!(Cents::new(400).unwrap().to_string(), "4,00\u{a0}€");
        assert_eq!(Cents::new(123_450).unwrap().to_string(), "1\u{202f}234,50\u{a0}€");
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(Cents::new(333).unwrap().percent(50), Cents::new(167).unwrap());
        assert_eq!(Cents::new(1000).unwrap().percent(110), Cents::new(1100).unwrap());
    }
}
