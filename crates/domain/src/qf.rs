//! The quotient familial from the CAF or the MSA, through API Particulier
//! (`GET /v3/dss/quotient_familial/identite`): the guardian's consent and the identity the API
//! needs (birth name, first names, sex, birth date and place, as the CAF knows the allocataire),
//! the request's parameters, what its answers and errors mean, and the record kept (value,
//! provider, the month it is for, when it was fetched). A failure or an allocataire not found
//! changes nothing: the family keeps the quotient of its uploaded certificate, and the message
//! says so. The shapes follow API Particulier's documentation and its staging cases
//! (`etalab/siade_staging_data`, `api_particulier_v3_cnav_quotient_familial_with_civility`).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The path of the call, after the API's base address.
pub const PATH: &str = "/v3/dss/quotient_familial/identite";
/// France in the INSEE's code of countries (COG): a birth in France names its commune.
pub const FRANCE: &str = "99100";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    F,
    M,
}

/// The allocataire as the CAF knows them: what the call sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// « nom de naissance »
    pub birth_name: String,
    /// Every first name, in the civil register's order.
    pub first_names: Vec<String>,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// The INSEE code of the country of birth, `99100` for France.
    pub birth_country: String,
    /// The INSEE code of the commune of birth (not its postcode), required when born in France.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_commune: Option<String>,
}

/// An identity that cannot be sent: the field and what is wrong, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IdentityError {
    pub field: &'static str,
    pub message: String,
}

impl crate::Refusal for IdentityError {
    fn code(&self) -> &'static str {
        "invalid_identity"
    }
    fn field(&self) -> Option<String> {
        Some(self.field.into())
    }
    fn kind(&self) -> crate::Kind {
        crate::Kind::Invalid
    }
}

fn wrong(field: &'static str, message: &str) -> IdentityError {
    IdentityError { field, message: message.into() }
}

fn insee(code: &str) -> bool {
    code.len() == 5 && code.chars().all(|c| c.is_ascii_digit() || c == 'A' || c == 'B')
}

impl Identity {
    /// Checks every field against what the API accepts, the birth date against `today`.
    pub fn check(&self, today: NaiveDate) -> Result<(), IdentityError> {
        let name_ok = |s: &str| {
            let n = s.trim().chars().count();
            (1..=80).contains(&n) && s.chars().all(|c| c.is_alphabetic() || " -'’".contains(c))
        };
        if !name_ok(&self.birth_name) {
            return Err(wrong("birth_name", "Indiquez le nom de naissance (lettres, espaces, tirets, apostrophes)."));
        }
        if self.first_names.is_empty() || self.first_names.len() > 5 || !self.first_names.iter().all(|p| name_ok(p)) {
            return Err(wrong("first_names", "Indiquez de 1 à 5 prénoms, dans l’ordre de l’état civil."));
        }
        if self.birth_date >= today || self.birth_date.year() < 1900 {
            return Err(wrong("birth_date", "La date de naissance n’est pas plausible."));
        }
        if !insee(&self.birth_country) || !self.birth_country.starts_with("99") {
            return Err(wrong(
                "birth_country",
                "Le pays de naissance est un code INSEE de 5 chiffres (99100 pour la France).",
            ));
        }
        match (&self.birth_commune, self.birth_country == FRANCE) {
            (Some(c), true) if insee(c) => Ok(()),
            (None, false) => Ok(()),
            (_, true) => Err(wrong(
                "birth_commune",
                "Né en France : indiquez le code INSEE de la commune de naissance (5 caractères, pas le code postal).",
            )),
            (Some(_), false) => Err(wrong("birth_commune", "Né à l’étranger : ne donnez pas de commune de naissance.")),
        }
    }

    /// The call's query parameters, `recipient` (the town's SIRET) first.
    pub fn query(&self, recipient: &str) -> Vec<(String, String)> {
        let mut q = vec![
            ("recipient".to_owned(), recipient.to_owned()),
            ("nomNaissance".to_owned(), self.birth_name.trim().to_owned()),
        ];
        q.extend(self.first_names.iter().map(|p| ("prenoms[]".to_owned(), p.trim().to_owned())));
        q.push(("sexeEtatCivil".to_owned(), format!("{:?}", self.sex)));
        q.push(("anneeDateNaissance".to_owned(), self.birth_date.year().to_string()));
        q.push(("moisDateNaissance".to_owned(), self.birth_date.month().to_string()));
        q.push(("jourDateNaissance".to_owned(), self.birth_date.day().to_string()));
        q.push(("codeCogInseePaysNaissance".to_owned(), self.birth_country.clone()));
        if let Some(c) = &self.birth_commune {
            q.push(("codeCogInseeCommuneNaissance".to_owned(), c.clone()));
        }
        q
    }
}

/// The guardian's consent to fetching the family's QF: who, when, with which identity; revoked
/// when `revoked_at` is set (the identity is then dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    pub given_at: DateTime<Utc>,
    /// The email of who recorded it (the guardian, or the agent who took it at the counter).
    pub given_by: String,
    /// Recorded by staff (on paper or at the counter) rather than online.
    pub by_staff: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Consent {
    pub fn given(identity: Identity, by: &str, by_staff: bool, at: DateTime<Utc>) -> Consent {
        Consent { identity: Some(identity), given_at: at, given_by: by.to_owned(), by_staff, revoked_at: None }
    }

    /// The consent withdrawn at `at`: the identity is forgotten, the dates kept.
    pub fn revoke(&self, at: DateTime<Utc>) -> Consent {
        Consent { identity: None, revoked_at: Some(at), ..self.clone() }
    }

    /// The identity to call with, while the consent stands.
    pub fn active(&self) -> Option<&Identity> {
        self.identity.as_ref().filter(|_| self.revoked_at.is_none())
    }
}

/// A QF as fetched: its value, who gave it, the month it is for, when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    pub value: u32,
    /// « CNAF » or « MSA ».
    pub provider: String,
    /// The month the QF is for (`AAAA-MM`).
    pub month: crate::Month,
    pub fetched_at: DateTime<Utc>,
}

/// Why no QF came back. Each message tells staff that the family keeps its current quotient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 404: neither the CAF nor the MSA knows this identity.
    NotFound,
    /// 401/403: the token is wrong, expired, or not allowed this API (the town's DataPass).
    NotAllowed,
    /// 400/422: a parameter the API refused (its own words).
    Refused(String),
    /// 429, 5xx, a timeout, an answer that cannot be read: try again later.
    Unavailable(String),
}

impl Failure {
    /// The French message, naming the quotient the family keeps (`None`: it has none).
    pub fn french(&self, kept: Option<u32>) -> String {
        let why = match self {
            Failure::NotFound => "la CAF et la MSA ne trouvent pas d’allocataire avec cette identité (vérifiez le nom de naissance, les prénoms, la date et le lieu de naissance)".to_owned(),
            Failure::NotAllowed => "l’accès de la commune à API Particulier est refusé (jeton ou habilitation DataPass à vérifier)".to_owned(),
            Failure::Refused(detail) => format!("la demande a été refusée ({detail})"),
            Failure::Unavailable(_) => "le service de la CAF ne répond pas pour le moment, réessayez plus tard".to_owned(),
        };
        let fallback = match kept {
            Some(qf) => format!("le quotient familial reste celui de l’attestation déposée ({qf})"),
            None => "sans attestation déposée, le tarif de base s’applique".to_owned(),
        };
        format!("Quotient familial non obtenu\u{202f}: {why}\u{202f}; {fallback}.")
    }

    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotFound => "qf_not_found",
            Failure::NotAllowed => "qf_not_allowed",
            Failure::Refused(_) => "qf_refused",
            Failure::Unavailable(_) => "qf_unavailable",
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    data: AnswerData,
}

#[derive(Deserialize)]
struct AnswerData {
    quotient_familial: AnswerQf,
}

#[derive(Deserialize)]
struct AnswerQf {
    fournisseur: String,
    valeur: Option<u32>,
    annee: i32,
    mois: u32,
}

#[derive(Deserialize)]
struct Errors {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

/// What an answer of the API means: its HTTP status and body, read at `now`.
pub fn read_answer(status: u16, body: &[u8], now: DateTime<Utc>) -> Result<Fetched, Failure> {
    let detail = || {
        serde_json::from_slice::<Errors>(body)
            .ok()
            .and_then(|e| e.errors.into_iter().next())
            .map(|e| if e.detail.is_empty() { e.title } else { e.detail })
            .unwrap_or_else(|| format!("HTTP {status}"))
    };
    match status {
        200 => {
            let a: Answer =
                serde_json::from_slice(body).map_err(|e| Failure::Unavailable(format!("réponse illisible : {e}")))?;
            let qf = a.data.quotient_familial;
            let month = NaiveDate::from_ymd_opt(qf.annee, qf.mois, 1)
                .map(crate::Month::of)
                .ok_or_else(|| Failure::Unavailable(format!("mois {}-{} invalide", qf.annee, qf.mois)))?;
            // An allocataire without a computed quotient is, for the town, one not found.
            let value = qf.valeur.ok_or(Failure::NotFound)?;
            Ok(Fetched { value, provider: qf.fournisseur, month, fetched_at: now })
        }
        404 => Err(Failure::NotFound),
        401 | 403 => Err(Failure::NotAllowed),
        400 | 422 => Err(Failure::Refused(detail())),
        _ => Err(Failure::Unavailable(detail())),
    }
}

#[cfg(test)]
mod tests;
