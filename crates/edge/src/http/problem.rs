//! RFC 9457 problem details: a stable machine code, a French message a parent can read.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Kind, Refusal};
use serde::Serialize;
use store::StoreError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(skip)]
    pub status: StatusCode,
    /// Stable, for programs: `invalid_date`, `unknown_town`…
    pub code: &'static str,
    /// For people, in French.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The input field at fault, as `activities[0].units[1].price`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extension members (RFC 9457 §3.2), such as an import's per-row report.
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem whose French message is typeset ([`domain::fr::typeset`]: U+202F before
    /// « : ; ! ? » and inside guillemets, ’): every message a person reads, wherever it is built.
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>) -> Problem {
        let title = domain::fr::typeset(&title.into());
        Problem { status, code, title, detail: None, field: None, extensions: serde_json::Map::new() }
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(domain::fr::typeset(&detail.into()));
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Problem {
        let f = field.into();
        self.field = (!f.is_empty()).then_some(f);
        self
    }
    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: serde_json::Value) -> Problem {
        self.extensions.insert(name.to_owned(), value);
        self
    }
    pub fn bad_request(code: &'static str, title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, title)
    }
    pub fn unprocessable(code: &'static str, title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, title)
    }
    pub fn not_found(code: &'static str, title: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, code, title)
    }
    /// The problem a domain refusal answers: its code, its French message and its field, with the
    /// status its kind calls for. Every domain error converts through it (`?` in a handler).
    pub fn refused(r: &(impl Refusal + ?Sized)) -> Problem {
        let status = match r.kind() {
            Kind::Malformed => StatusCode::BAD_REQUEST,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
        };
        let mut p = Problem::new(status, r.code(), r.french());
        p.detail = r.detail().map(|d| domain::fr::typeset(&d));
        match r.field() {
            Some(field) => p.field(field),
            None => p,
        }
    }
    /// A failure that is ours, not the caller's: logged in full, told plainly.
    pub fn internal(err: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %err, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Une erreur est survenue de notre côté. Réessayez dans quelques instants.",
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    status: u16,
    #[serde(flatten)]
    problem: &'a Problem,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: format!("urn:espace-famille:problem:{}", self.code),
            status: self.status.as_u16(),
            problem: &self,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (self.status, json).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        res
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match e {
            StoreError::Unavailable(_) | StoreError::Conflict => {
                tracing::warn!(error = %e, "store unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "Le service est momentanément indisponible. Réessayez dans quelques instants.",
                )
            }
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Ces données viennent d'être modifiées par ailleurs. Rechargez la page et réessayez.",
            ),
            StoreError::Invalid(_) | StoreError::Corrupt(_) => Problem::internal(&e),
        }
    }
}

/// `?` on any of the domain's refusals answers its problem.
macro_rules! from_refusals {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Problem {
            fn from(r: $t) -> Problem {
                Problem::refused(&r)
            }
        })*
    };
}

from_refusals!(
    domain::date::DateError,
    domain::month::MonthError,
    domain::money::NegativeAmount,
    domain::text::TextError,
    domain::account::WeakPassword,
    domain::family::InvalidEmail,
    domain::family::UnknownDiet,
    domain::family::ChildRefused,
    domain::import::FileRefused,
    domain::config::ConfigError,
    domain::documents::FileNameRefused,
    domain::documents::AbsenceRefused,
    domain::documents::RequestRefused,
    domain::period::PeriodRefused,
    domain::payment::PaymentRefused,
    domain::credit::CreditRefused,
    domain::credit::ContestRefused,
    domain::credit::PublicationRefused,
    domain::payfip::Refused,
    domain::debit::MandateRefused,
    domain::operations::ReportRefused,
    domain::news::Refused,
    domain::school_year::InvalidSchoolYear,
    domain::school_year::UnknownLevel,
    domain::school_year::CampaignRefused,
    domain::school_year::RequestRefused,
    domain::school_year::EnrolmentRefused,
    domain::child_file::FileRefused,
    domain::child_file::ReviewRefused,
    domain::pes::PesRefused,
);

#[cfg(test)]
mod typography_tests {
    use super::*;

    #[test]
    fn a_problems_message_has_french_typography_however_it_was_written() {
        let p = Problem::unprocessable(
            "month_not_over",
            "Un mois se facture une fois terminé : l'après-midi ; « bientôt »",
        )
        .detail("Réessayez : demain");
        assert_eq!(
            p.title,
            "Un mois se facture une fois terminé\u{202f}: l’après-midi\u{202f}; «\u{202f}bientôt\u{202f}»"
        );
        assert_eq!(p.detail.as_deref(), Some("Réessayez\u{202f}: demain"));
        assert!(domain::fr::faults(&p.title).is_empty());
    }
}
