//! Every field of a guardian's file checked, trimmed and written one way (phones as
//! « 06 12 34 56 78 »); the first fault refused with the field's path
//! (`people.pickup[1].phone`) and a French reason.

use super::{ChildFile, ConsentKind, MAX_ALLERGIES, MAX_EMERGENCY, MAX_FORBIDDEN, MAX_LONG, MAX_PICKUP, MAX_SHORT};
use super::{Person, Phone};
use crate::config::ChildFileSettings;
use crate::text::{self, TextError};
use chrono::{Datelike, Months, NaiveDate};

/// What a file is checked against: the day, the child's birth date, the town's settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub today: NaiveDate,
    pub birth_date: NaiveDate,
    pub settings: &'a ChildFileSettings,
}

/// Why a file is refused; the field is its path in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefused {
    #[error("Ce champ est obligatoire.")]
    Required { field: String },
    #[error("Ce champ compte {max} caractères au plus.")]
    TooLong { field: String, max: usize },
    #[error("Ce champ {why}.")]
    Characters { field: String, why: TextError },
    #[error("Ce numéro n’est pas un numéro de téléphone français (10 chiffres, comme 06 12 34 56 78).")]
    Phone { field: String },
    #[error("Cette date doit être entre le {} et le {}.", crate::fr::date(*.from), crate::fr::date(*.to))]
    Date { field: String, from: NaiveDate, to: NaiveDate },
    #[error("{max} au plus dans cette liste.")]
    TooMany { field: String, max: usize },
    #[error("Cette autorisation est donnée deux fois.")]
    DuplicateConsent { field: String },
    #[error("L’enfant ne peut rentrer seul qu’à partir de {age} ans.")]
    TooYoungToGoHomeAlone { field: String, age: u8 },
    #[error("La référence du document n’est pas valide.")]
    Document { field: String },
}

impl crate::Refusal for FileRefused {
    fn code(&self) -> &'static str {
        match self {
            FileRefused::Required { .. } => "field_required",
            FileRefused::TooLong { .. } => "field_too_long",
            FileRefused::Characters { .. } => "invalid_characters",
            FileRefused::Phone { .. } => "invalid_phone",
            FileRefused::Date { .. } => "date_out_of_range",
            FileRefused::TooMany { .. } => "too_many_entries",
            FileRefused::DuplicateConsent { .. } => "duplicate_consent",
            FileRefused::TooYoungToGoHomeAlone { .. } => "too_young_to_go_home_alone",
            FileRefused::Document { .. } => "invalid_document_reference",
        }
    }
    fn field(&self) -> Option<String> {
        let (FileRefused::Required { field }
        | FileRefused::TooLong { field, .. }
        | FileRefused::Characters { field, .. }
        | FileRefused::Phone { field }
        | FileRefused::Date { field, .. }
        | FileRefused::TooMany { field, .. }
        | FileRefused::DuplicateConsent { field }
        | FileRefused::TooYoungToGoHomeAlone { field, .. }
        | FileRefused::Document { field }) = self;
        Some(field.clone())
    }
}

/// A required text, trimmed, at most `max` characters.
fn required(field: &str, value: &mut String, max: usize) -> Result<(), FileRefused> {
    *value = value.trim().to_owned();
    if value.is_empty() {
        return Err(FileRefused::Required { field: field.into() });
    }
    if value.chars().count() > max {
        return Err(FileRefused::TooLong { field: field.into(), max });
    }
    text::check(value).map_err(|why| FileRefused::Characters { field: field.into(), why })
}

/// An optional text: blank is none.
fn optional(field: &str, value: &mut Option<String>, max: usize) -> Result<(), FileRefused> {
    if let Some(v) = value {
        if v.trim().is_empty() {
            *value = None;
        } else {
            required(field, v, max)?;
        }
    }
    Ok(())
}

fn phone(field: &str, value: &mut String) -> Result<(), FileRefused> {
    *value = Phone::parse(value).map_err(|_| FileRefused::Phone { field: field.into() })?.to_string();
    Ok(())
}

fn date(field: &str, value: NaiveDate, from: NaiveDate, to: NaiveDate) -> Result<(), FileRefused> {
    if value < from || value > to {
        return Err(FileRefused::Date { field: field.into(), from, to });
    }
    Ok(())
}

/// A reference to a document of « Mes demandes »: lower-case letters, digits and dashes.
fn document(field: &str, value: &mut Option<String>) -> Result<(), FileRefused> {
    optional(field, value, 64)?;
    if value.as_ref().is_some_and(|v| !v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')) {
        return Err(FileRefused::Document { field: field.into() });
    }
    Ok(())
}

fn at_most<T>(field: &str, list: &[T], max: usize) -> Result<(), FileRefused> {
    if list.len() > max {
        return Err(FileRefused::TooMany { field: field.into(), max });
    }
    Ok(())
}

fn persons(field: &str, list: &mut [Person], max: usize) -> Result<(), FileRefused> {
    at_most(field, list, max)?;
    for (i, p) in list.iter_mut().enumerate() {
        required(&format!("{field}[{i}].name"), &mut p.name, MAX_SHORT)?;
        required(&format!("{field}[{i}].relationship"), &mut p.relationship, MAX_SHORT)?;
        phone(&format!("{field}[{i}].phone"), &mut p.phone)?;
    }
    Ok(())
}

/// The child's age in whole years on `day`.
pub(crate) fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let years = day.year() - birth.year() - i32::from((day.month(), day.day()) < (birth.month(), birth.day()));
    u32::try_from(years).unwrap_or(0)
}

impl ChildFile {
    /// The file as stored: every field checked, texts trimmed, phones written one way.
    pub fn checked(mut self, ctx: Context<'_>) -> Result<ChildFile, FileRefused> {
        let soon = ctx.today.checked_add_months(Months::new(60)).unwrap_or(ctx.today);
        let lately = ctx.today.checked_sub_months(Months::new(24)).unwrap_or(ctx.today);
        let h = &mut self.health;
        at_most("health.allergies", &h.allergies, MAX_ALLERGIES)?;
        for (i, a) in h.allergies.iter_mut().enumerate() {
            required(&format!("health.allergies[{i}].name"), &mut a.name, MAX_SHORT)?;
            required(&format!("health.allergies[{i}].what_to_do"), &mut a.what_to_do, MAX_LONG)?;
        }
        if let Some(pai) = &mut h.pai {
            required("health.pai.reason", &mut pai.reason, MAX_LONG)?;
            date("health.pai.ends", pai.ends, lately, soon)?;
            document("health.pai.document", &mut pai.document)?;
        }
        optional("health.treatment", &mut h.treatment, MAX_LONG)?;
        optional("health.notes", &mut h.notes, MAX_LONG)?;
        if let Some(doctor) = &mut h.doctor {
            required("health.doctor.name", &mut doctor.name, MAX_SHORT)?;
            phone("health.doctor.phone", &mut doctor.phone)?;
        }
        if let Some(dtp) = h.dtp_booster {
            date("health.dtp_booster", dtp, ctx.birth_date, ctx.today)?;
        }
        let p = &mut self.people;
        persons("people.pickup", &mut p.pickup, MAX_PICKUP)?;
        persons("people.emergency", &mut p.emergency, MAX_EMERGENCY)?;
        at_most("people.forbidden", &p.forbidden, MAX_FORBIDDEN)?;
        for (i, f) in p.forbidden.iter_mut().enumerate() {
            required(&format!("people.forbidden[{i}].name"), &mut f.name, MAX_SHORT)?;
            required(&format!("people.forbidden[{i}].court_decision"), &mut f.court_decision, MAX_LONG)?;
            document(&format!("people.forbidden[{i}].document"), &mut f.document)?;
        }
        for (i, c) in self.consents.iter().enumerate() {
            let field = || format!("consents[{i}]");
            if self.consents[..i].iter().any(|o| o.kind == c.kind) {
                return Err(FileRefused::DuplicateConsent { field: field() });
            }
            let age = ctx.settings.home_alone_from_age;
            if c.kind == ConsentKind::GoHomeAlone && c.given && age_on(ctx.birth_date, ctx.today) < u32::from(age) {
                return Err(FileRefused::TooYoungToGoHomeAlone { field: field(), age });
            }
        }
        if let Some(ins) = &mut self.insurance {
            required("insurance.insurer", &mut ins.insurer, MAX_SHORT)?;
            required("insurance.policy", &mut ins.policy, MAX_SHORT)?;
            date("insurance.valid_until", ins.valid_until, lately, soon)?;
            document("insurance.document", &mut ins.document)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
