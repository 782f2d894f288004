//! « Créer mon espace famille »: a family the town's software does not know asks for an account.
//! The request is checked field by field (each refusal names its field), waits for staff, and
//! is accepted (the family, its children and its guardians are created through the import's
//! rules, so the family is the same as an imported one) or refused with a reason.

use super::{ChildLevel, Level, SchoolYear};
use crate::child_file::Phone;
use crate::config::Town;
use crate::documents::{FileType, check_file_name, name_for_type};
use crate::family::{Email, birth_date_possible};
use crate::import::{self, Plan, Row};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Guardians a request may name.
pub const MAX_GUARDIANS: usize = 2;
/// Children a request may name.
pub const MAX_CHILDREN: usize = 8;
/// Characters in a name, a street or a city.
pub const MAX_NAME: usize = 100;
/// Characters in the family's message, and in staff's reason for a refusal.
pub const MAX_MESSAGE: usize = 1000;
/// Days a decided request is kept (then its time to live deletes it).
pub const KEPT_DAYS_AFTER_DECISION: i64 = 30;
/// Days a proof of address is kept at most (the bucket's lifecycle rule on `requests/`): a
/// decision deletes it at once; a request left undecided loses it then.
pub const PROOF_KEPT_DAYS: u32 = 60;

/// What the form sends, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    #[serde(default)]
    pub guardians: Vec<GuardianInput>,
    #[serde(default)]
    pub children: Vec<ChildInput>,
    #[serde(default)]
    pub address: AddressInput,
    /// The proof of address, announced before its bytes are sent (as a document's upload is).
    #[serde(default)]
    pub proof: Option<ProofInput>,
    #[serde(default)]
    pub message: String,
}

/// The proof of address as the form announces it: the device's file name, its type, its size.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofInput {
    #[serde(default)]
    pub file_name: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub size: u64,
}

/// The proof of address as checked: the name it is kept under (its type's extension), its type
/// and exact size (signed in the upload), and when its bytes were received and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub file_name: String,
    pub file_type: FileType,
    pub size: u64,
    /// `None` until the family's upload is received and its content checked.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianInput {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildInput {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    /// `AAAA-MM-JJ`.
    #[serde(default)]
    pub birth_date: String,
    /// PS … CM2, or empty (not at school yet, or in secondary school).
    #[serde(default)]
    pub level: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub city: String,
}

/// A guardian as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedGuardian {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    /// « 06 12 34 56 78 ».
    pub phone: String,
}

/// A child as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedChild {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub level: Option<Level>,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Accepted { at: DateTime<Utc>, by: String, family: crate::FamilyRef },
    Refused { at: DateTime<Utc>, by: String, reason: String },
}

/// A request for an account, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRequest {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub guardians: Vec<RequestedGuardian>,
    pub children: Vec<RequestedChild>,
    /// The postal address, one line each (« 12 rue des Écoles », « 59000 Lille »).
    pub address: Vec<String>,
    /// The proof of address (requests stored before it was asked have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    pub message: String,
    #[serde(flatten)]
    pub status: RequestStatus,
    #[serde(default)]
    pub version: u64,
}

/// Why a request, or a decision, is refused; [`RequestRefused::field`] names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    #[error("{field}\u{202f}: valeur obligatoire")]
    Required { field: String },
    #[error("{field}\u{202f}: {max} caractères au plus")]
    TooLong { field: String, max: usize },
    #[error("{field}\u{202f}: {why}")]
    Invalid { field: String, why: String },
    #[error("{field}\u{202f}: indiquez entre 1 et {max} éléments")]
    Count { field: String, max: usize },
    #[error("cette demande a déjà été traitée")]
    Decided,
}

impl crate::Refusal for RequestRefused {
    fn code(&self) -> &'static str {
        match self {
            RequestRefused::Required { .. } => "required_field",
            RequestRefused::TooLong { .. } => "field_too_long",
            RequestRefused::Invalid { .. } => "invalid_field",
            RequestRefused::Count { .. } => "invalid_count",
            RequestRefused::Decided => "request_decided",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            RequestRefused::Required { field }
            | RequestRefused::TooLong { field, .. }
            | RequestRefused::Invalid { field, .. }
            | RequestRefused::Count { field, .. } => Some(field.clone()),
            RequestRefused::Decided => None,
        }
    }
    fn kind(&self) -> crate::refusal::Kind {
        match self {
            RequestRefused::Decided => crate::refusal::Kind::Conflict,
            _ => crate::refusal::Kind::Invalid,
        }
    }
}

fn invalid(field: &str, why: impl ToString) -> RequestRefused {
    RequestRefused::Invalid { field: field.to_owned(), why: why.to_string() }
}

/// A trimmed text of at most `max` characters, without control characters; `required` refuses it empty.
fn text(field: &str, raw: &str, max: usize, required: bool) -> Result<String, RequestRefused> {
    let v = raw.trim();
    if required && v.is_empty() {
        return Err(RequestRefused::Required { field: field.to_owned() });
    }
    if v.chars().count() > max {
        return Err(RequestRefused::TooLong { field: field.to_owned(), max });
    }
    crate::text::check(v).map_err(|e| invalid(field, e))?;
    Ok(v.to_owned())
}

fn guardian(i: usize, g: &GuardianInput) -> Result<RequestedGuardian, RequestRefused> {
    let f = |name: &str| format!("guardians.{i}.{name}");
    let first_name = text(&f("first_name"), &g.first_name, MAX_NAME, true)?;
    let last_name = text(&f("last_name"), &g.last_name, MAX_NAME, true)?;
    text(&f("email"), &g.email, 254, true)?;
    let email = Email::parse(&g.email).map_err(|e| invalid(&f("email"), e))?;
    text(&f("phone"), &g.phone, 25, true)?;
    let phone = Phone::parse(&g.phone).map_err(|e| invalid(&f("phone"), e))?;
    Ok(RequestedGuardian { first_name, last_name, email, phone: phone.to_string() })
}

fn child(i: usize, c: &ChildInput, today: NaiveDate) -> Result<RequestedChild, RequestRefused> {
    let f = |name: &str| format!("children.{i}.{name}");
    let first_name = text(&f("first_name"), &c.first_name, MAX_NAME, true)?;
    let last_name = text(&f("last_name"), &c.last_name, MAX_NAME, true)?;
    let raw = text(&f("birth_date"), &c.birth_date, 10, true)?;
    let birth_date = crate::date::parse_date(&raw).map_err(|e| invalid(&f("birth_date"), e))?;
    if !birth_date_possible(birth_date, today) {
        return Err(invalid(&f("birth_date"), "date de naissance impossible"));
    }
    let level = text(&f("level"), &c.level, 10, false)?;
    let level = if level.is_empty() { None } else { Some(Level::parse(&level).map_err(|e| invalid(&f("level"), e))?) };
    Ok(RequestedChild { first_name, last_name, birth_date, level })
}

fn address(a: &AddressInput) -> Result<Vec<String>, RequestRefused> {
    let street = text("address.street", &a.street, MAX_NAME, true)?;
    let postcode = text("address.postcode", &a.postcode, 5, true)?;
    if postcode.len() != 5 || !postcode.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("address.postcode", "un code postal a 5 chiffres"));
    }
    let city = text("address.city", &a.city, MAX_NAME, true)?;
    Ok(vec![street, format!("{postcode} {city}")])
}

/// The proof of address: a file name without path or special character, a PDF, JPEG or PNG,
/// of 1 byte to `max_bytes` (the town's limit for documents).
fn proof(p: Option<&ProofInput>, max_bytes: u64) -> Result<Proof, RequestRefused> {
    let Some(p) = p else { return Err(RequestRefused::Required { field: "proof".into() }) };
    let name = check_file_name(&p.file_name).map_err(|e| invalid("proof.file_name", lower_first(&e.to_string())))?;
    let file_type =
        FileType::parse(&p.content_type).ok_or_else(|| invalid("proof.content_type", "un fichier PDF, JPEG ou PNG"))?;
    if p.size == 0 {
        return Err(invalid("proof.size", "le fichier est vide"));
    }
    if p.size > max_bytes {
        return Err(invalid("proof.size", format!("{} Mo au plus", max_bytes.div_ceil(1024 * 1024))));
    }
    Ok(Proof { file_name: name_for_type(&name, file_type), file_type, size: p.size, received_at: None })
}

/// « Le nom… » → « le nom… », for a message that follows « champ : ».
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect::<String>().trim_end_matches('.').to_owned(),
        None => String::new(),
    }
}

impl RequestInput {
    /// Checks every field, in the form's order; the first fault is refused with its field.
    /// `max_bytes` bounds the proof of address (the town's limit for documents).
    pub fn check(
        &self,
        id: String,
        now: DateTime<Utc>,
        today: NaiveDate,
        max_bytes: u64,
    ) -> Result<AccountRequest, RequestRefused> {
        if self.guardians.is_empty() || self.guardians.len() > MAX_GUARDIANS {
            return Err(RequestRefused::Count { field: "guardians".into(), max: MAX_GUARDIANS });
        }
        let guardians =
            self.guardians.iter().enumerate().map(|(i, g)| guardian(i, g)).collect::<Result<Vec<_>, _>>()?;
        if guardians.len() == 2 && guardians[0].email == guardians[1].email {
            return Err(invalid("guardians.1.email", "identique à celle du premier responsable"));
        }
        if self.children.is_empty() || self.children.len() > MAX_CHILDREN {
            return Err(RequestRefused::Count { field: "children".into(), max: MAX_CHILDREN });
        }
        let children =
            self.children.iter().enumerate().map(|(i, c)| child(i, c, today)).collect::<Result<Vec<_>, _>>()?;
        let address = address(&self.address)?;
        let proof = proof(self.proof.as_ref(), max_bytes)?;
        let message = text("message", &self.message, MAX_MESSAGE, false)?;
        Ok(AccountRequest {
            id,
            created_at: now,
            guardians,
            children,
            address,
            proof: Some(proof),
            message,
            status: RequestStatus::Pending,
            version: 0,
        })
    }
}

/// Staff's reason for a refusal, checked like the form's fields.
pub fn refusal_reason(raw: &str) -> Result<String, RequestRefused> {
    text("reason", raw, MAX_MESSAGE, true)
}

impl AccountRequest {
    /// The family's reference once accepted: fixed by the request, so accepting twice creates one family.
    pub fn family_reference(&self) -> String {
        format!("dem-{}", self.id)
    }

    /// The rows the import would read for this family: one per child, the guardians on each.
    pub fn rows(&self) -> Vec<Row> {
        let reference = self.family_reference();
        let family_name = self.guardians[0].last_name.clone();
        self.children
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut cells: BTreeMap<String, String> = BTreeMap::new();
                let mut set = |k: &str, v: &str| {
                    cells.insert(k.to_owned(), v.to_owned());
                };
                set("famille_reference", &reference);
                set("famille_nom", &family_name);
                for (n, g) in self.guardians.iter().enumerate() {
                    let p = format!("responsable{}_", n + 1);
                    set(&format!("{p}prenom"), &g.first_name);
                    set(&format!("{p}nom"), &g.last_name);
                    set(&format!("{p}email"), g.email.as_str());
                    set(&format!("{p}telephone"), &g.phone);
                }
                set("enfant_id", &format!("{reference}-{}", i + 1));
                set("enfant_prenom", &c.first_name);
                set("enfant_nom", &c.last_name);
                set("enfant_naissance", &c.birth_date.to_string());
                (i + 2, cells)
            })
            .collect()
    }

    /// What accepting creates: the import's plan for [`AccountRequest::rows`], with the
    /// address and the school levels the import's file does not carry.
    pub fn plan(&self, town: &Town, today: NaiveDate) -> Result<Plan, RequestRefused> {
        let mut plan = import::plan(town, &self.rows(), today);
        if let Some(row) = plan.rows.iter().find(|r| !r.errors.is_empty()) {
            return Err(invalid("request", row.errors.join("\u{202f}; ")));
        }
        for family in plan.families.values_mut() {
            family.address = self.address.clone();
        }
        let year = SchoolYear::of(today);
        for (child, requested) in plan.children.values_mut().zip(&self.children) {
            child.level = requested.level.map(|level| ChildLevel { level, year });
        }
        Ok(plan)
    }

    /// Accepts a pending request; `Ok(false)` when it was accepted already (nothing to do).
    pub fn accept(&mut self, at: DateTime<Utc>, by: &str) -> Result<bool, RequestRefused> {
        match &self.status {
            RequestStatus::Pending => {
                let family = crate::FamilyRef::parse(&self.family_reference()).map_err(|e| invalid("id", e.0))?;
                self.status = RequestStatus::Accepted { at, by: by.to_owned(), family };
                Ok(true)
            }
            RequestStatus::Accepted { .. } => Ok(false),
            RequestStatus::Refused { .. } => Err(RequestRefused::Decided),
        }
    }

    /// Refuses a pending request with staff's reason; `Ok(false)` when refused already.
    pub fn refuse(&mut self, at: DateTime<Utc>, by: &str, reason: &str) -> Result<bool, RequestRefused> {
        let reason = refusal_reason(reason)?;
        match &self.status {
            RequestStatus::Pending => {
                self.status = RequestStatus::Refused { at, by: by.to_owned(), reason };
                Ok(true)
            }
            RequestStatus::Refused { .. } => Ok(false),
            RequestStatus::Accepted { .. } => Err(RequestRefused::Decided),
        }
    }

    /// The proof's bytes were received and are the announced file: noted while the request
    /// waits (a family may send a better copy until staff decide); refused once decided.
    pub fn receive_proof(&mut self, at: DateTime<Utc>) -> Result<&Proof, RequestRefused> {
        if self.status != RequestStatus::Pending {
            return Err(RequestRefused::Decided);
        }
        let proof = self.proof.as_mut().ok_or_else(|| RequestRefused::Required { field: "proof".into() })?;
        proof.received_at = Some(at);
        Ok(proof)
    }

    /// When the stored request is deleted: never while pending, [`KEPT_DAYS_AFTER_DECISION`] after a decision.
    pub fn delete_at(&self) -> Option<DateTime<Utc>> {
        match &self.status {
            RequestStatus::Pending => None,
            RequestStatus::Accepted { at, .. } | RequestStatus::Refused { at, .. } => {
                Some(*at + chrono::TimeDelta::days(KEPT_DAYS_AFTER_DECISION))
            }
        }
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
