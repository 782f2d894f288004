//! The one shape of the domain's refusals. Every module that can refuse returns its own error
//! enum (`thiserror`), whose `Display` is the French message, and implements [`Refusal`]: a stable
//! code for programs, the field at fault where there is one, and what kind of refusal it is. The
//! HTTP edge turns any of them into one RFC 9457 problem (`edge::http::Problem::refused`), so a
//! handler writes `?` and the answer is the same wherever the rule is used.

/// What kind of refusal: the edge answers 400, 422, 409, 403 or 404 for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input is malformed (a date that is not `AAAA-MM-JJ`, a month that is not `AAAA-MM`).
    Malformed,
    /// The input is well formed but breaks a rule (a weak password, a deadline passed).
    Invalid,
    /// The data is not in a state that allows it (an invoice already paid, a place taken).
    Conflict,
    /// The person may not do it (an agent touching a closure).
    Forbidden,
    /// What it names does not exist (for this person).
    NotFound,
}

/// A refusal the domain explains.
pub trait Refusal: std::error::Error {
    /// Stable, for programs: `invalid_date`, `payment_over_left_to_pay`…
    fn code(&self) -> &'static str;
    /// For people, in French (by default the error's `Display`).
    fn french(&self) -> String {
        self.to_string()
    }
    /// The input field at fault, as `billing.payfip.numcli`.
    fn field(&self) -> Option<String> {
        None
    }
    /// More about it, when the message is general (« Le fichier ne peut pas être importé. »).
    fn detail(&self) -> Option<String> {
        None
    }
    fn kind(&self) -> Kind {
        Kind::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("le mot de passe est trop court")]
    struct Short;

    impl Refusal for Short {
        fn code(&self) -> &'static str {
            "weak_password"
        }
    }

    #[test]
    fn a_refusal_speaks_french_through_its_display_unless_it_says_otherwise() {
        assert_eq!(Short.french(), "le mot de passe est trop court");
        assert_eq!(Short.field(), None);
        assert_eq!(Short.kind(), Kind::Invalid);
    }
}
