//! Families, their guardians and children, and the children's enrolments.

use super::{ActivityId, ChildId, FamilyRef, SiteId, UnitId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, trimmed and lower-cased so that one person has one login.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && email_address::EmailAddress::is_valid(&s)
            && s.rsplit('@').next().is_some_and(|d| d.contains('.'));
        if !valid {
            return Err(format!("l'adresse e-mail « {} » n'est pas valide", s.chars().take(80).collect::<String>()));
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Email, String> {
        Email::parse(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A responsable légal, who gets an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A child may book a unit of an activity at a site while enrolled, between `from` and `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub activity: ActivityId,
    pub site: SiteId,
    /// Empty: every unit of the activity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Enrollment {
    pub fn covers(&self, activity: &ActivityId, site: &SiteId, unit: &UnitId, date: NaiveDate) -> bool {
        &self.activity == activity
            && &self.site == site
            && (self.units.is_empty() || self.units.contains(unit))
            && self.from <= date
            && date <= self.to
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    pub id: ChildId,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Allergies and diet notes staff need at the canteen, and nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_notes: Option<String>,
    #[serde(default)]
    pub enrolments: Vec<Enrollment>,
}

/// A household. A child of separated parents is listed by both families.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub reference: FamilyRef,
    pub name: String,
    #[serde(default = "yes")]
    pub resident: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotient_familial: Option<u32>,
    pub guardians: Vec<Guardian>,
    pub children: Vec<ChildId>,
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Marie.Dupont@Exemple.FR ").unwrap().as_str(), "marie.dupont@exemple.fr");
        for bad in ["", "marie", "marie@", "@exemple.fr", "marie@exemple", "ma rie@exemple.fr"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn enrolment_covers_its_activity_site_units_and_dates() {
        let e = Enrollment {
            activity: ActivityId::parse("alsh").unwrap(),
            site: SiteId::parse("centre").unwrap(),
            units: vec![UnitId::parse("alsh-mercredi").unwrap()],
            from: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2027, 7, 3).unwrap(),
        };
        let a = ActivityId::parse("alsh").unwrap();
        let s = SiteId::parse("centre").unwrap();
        let u = UnitId::parse("alsh-mercredi").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert!(e.covers(&a, &s, &u, day));
        assert!(!e.covers(&a, &s, &UnitId::parse("alsh-vacances").unwrap(), day));
        assert!(!e.covers(&a, &SiteId::parse("ailleurs").unwrap(), &u, day));
        assert!(!e.covers(&a, &s, &u, NaiveDate::from_ymd_opt(2027, 7, 4).unwrap()));
    }
}
