//! Families, their guardians and children, and the children's enrolments.

use super::config::{Activity, Town};
use super::{ActivityId, ChildId, FamilyRef, SiteId, UnitId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, trimmed and lower-cased so that one person has one login.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, InvalidEmail> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && email_address::EmailAddress::is_valid(&s)
            && s.rsplit('@').next().is_some_and(|d| d.contains('.'));
        if !valid {
            return Err(InvalidEmail(s.chars().take(80).collect()));
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
/// An e-mail address that is not one (shown cut to 80 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("l'adresse e-mail « {0} » n'est pas valide")]
pub struct InvalidEmail(pub String);

impl crate::Refusal for InvalidEmail {
    fn code(&self) -> &'static str {
        "invalid_email"
    }
    fn field(&self) -> Option<String> {
        Some("email".into())
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Email, InvalidEmail> {
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
    /// Why the enrolment does not open bookings yet (« Dossier 2027-2028 incomplet : … »): set
    /// by the school year's campaign when the town requires a complete file
    /// (`school_year::with_holds`), cleared when the file is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
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

/// What the canteen serves a child instead of the standard meal: the kitchen counts each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diet {
    #[default]
    Standard,
    SansPorc,
    Vegetarien,
}

impl Diet {
    pub fn is_standard(&self) -> bool {
        *self == Diet::Standard
    }

    /// As the kitchen and the import file say it: « sans porc », « végétarien ».
    pub fn label(self) -> &'static str {
        match self {
            Diet::Standard => "standard",
            Diet::SansPorc => "sans porc",
            Diet::Vegetarien => "végétarien",
        }
    }

    /// A diet as written in an import file or a form: the label or the code, any case and
    /// accents; empty is standard.
    pub fn parse(raw: &str) -> Result<Diet, UnknownDiet> {
        let folded: String = raw
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' => 'e',
                '_' | '-' => ' ',
                c => c,
            })
            .collect();
        match folded.as_str() {
            "" | "standard" => Ok(Diet::Standard),
            "sans porc" => Ok(Diet::SansPorc),
            "vegetarien" | "vegetarienne" => Ok(Diet::Vegetarien),
            _ => Err(UnknownDiet(raw.trim().to_owned())),
        }
    }
}

/// The kitchen's figures for one unit on one day: the children expected, and among them each
/// special diet and the PAIs (an individual care plan: an allergy, a meal brought from home).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MealCount {
    pub count: usize,
    pub sans_porc: usize,
    pub vegetarien: usize,
    pub pai: usize,
}

impl MealCount {
    /// Counts one more child; `None` (a child whose record is gone) counts as a standard meal.
    pub fn add(&mut self, child: Option<&Child>) {
        self.count += 1;
        if let Some(c) = child {
            match c.diet {
                Diet::Standard => {}
                Diet::SansPorc => self.sans_porc += 1,
                Diet::Vegetarien => self.vegetarien += 1,
            }
            if c.pai {
                self.pai += 1;
            }
        }
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
    /// The class's name (« CE2 B »); the level is [`Child::level`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The class level and the school year it is for (the rollover moves it on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::school_year::ChildLevel>,
    /// Allergies and diet notes staff need at the canteen, and nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_notes: Option<String>,
    /// The meal the canteen serves (the kitchen's counts).
    #[serde(default, skip_serializing_if = "Diet::is_standard")]
    pub diet: Diet,
    /// Has a PAI (projet d'accueil individualisé): the kitchen and the staff must know.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pai: bool,
    #[serde(default)]
    pub enrolments: Vec<Enrollment>,
}

impl Child {
    /// The site where the child is booked for `unit` on `date`: that of the enrolment covering
    /// it, else the activity's first site (where the cell then says « non inscrit »). The grid,
    /// the basket and staff all place a booking with this one function.
    pub fn site_for(&self, activity: &Activity, unit: &UnitId, date: NaiveDate) -> Option<SiteId> {
        self.enrolments
            .iter()
            .find(|e| activity.sites.contains(&e.site) && e.covers(&activity.id, &e.site, unit, date))
            .map(|e| e.site.clone())
            .or_else(|| activity.sites.first().cloned())
    }
}

/// A household. A child of separated parents is listed by both families.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub reference: FamilyRef,
    pub name: String,
    /// The payer's postal address, one line each, printed on invoices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<String>,
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

/// The most enrolments one child may have.
pub const MAX_ENROLMENTS: usize = 20;

/// Whether a child can have been born on `birth` (before today, not before 1990).
/// A diet that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Régime inconnu : « {0} » (standard, sans porc ou végétarien).")]
pub struct UnknownDiet(pub String);

impl crate::Refusal for UnknownDiet {
    fn code(&self) -> &'static str {
        "invalid_record"
    }
    fn field(&self) -> Option<String> {
        Some("diet".into())
    }
}

/// Why the town cannot take an enrolment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentRefused {
    #[error("service « {0} » inconnu")]
    UnknownActivity(ActivityId),
    #[error("le service « {activity} » n'a pas lieu au site « {site} »")]
    NotAtSite { activity: ActivityId, site: SiteId },
    #[error("la prestation « {unit} » n'appartient pas au service « {activity} »")]
    UnitOfAnother { unit: UnitId, activity: ActivityId },
    #[error("la fin de l'inscription est avant son début")]
    EndsBeforeStart,
}

/// Why staff may not store a child's record; the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChildRefused {
    #[error("Le prénom et le nom sont obligatoires (200 caractères au plus).")]
    Name { field: &'static str },
    #[error("Date de naissance impossible : {}.", .0.format("%d/%m/%Y"))]
    BirthDate(NaiveDate),
    #[error("Ce champ ne peut pas être vide et compte {max} caractères au plus.")]
    Text { field: &'static str, max: usize },
    #[error("{MAX_ENROLMENTS} inscriptions au plus par enfant.")]
    TooManyEnrolments,
    #[error("Inscription {} : {why}.", .index + 1)]
    Enrolment { index: usize, why: EnrolmentRefused },
}

impl crate::Refusal for ChildRefused {
    fn code(&self) -> &'static str {
        "invalid_record"
    }
    fn field(&self) -> Option<String> {
        Some(match self {
            ChildRefused::Name { field } | ChildRefused::Text { field, .. } => (*field).to_owned(),
            ChildRefused::BirthDate(_) => "birth_date".into(),
            ChildRefused::TooManyEnrolments => "enrolments".into(),
            ChildRefused::Enrolment { index, .. } => format!("enrolments[{index}]"),
        })
    }
}

pub fn birth_date_possible(birth: NaiveDate, today: NaiveDate) -> bool {
    birth < today && birth >= NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// An enrolment the town can take: a known activity, at one of its sites, units of that
/// activity, dates in order. The French reason otherwise.
pub fn check_enrolment(town: &Town, e: &Enrollment) -> Result<(), EnrolmentRefused> {
    let Some(a) = town.config().activities.iter().find(|a| a.id == e.activity) else {
        return Err(EnrolmentRefused::UnknownActivity(e.activity.clone()));
    };
    if !a.sites.contains(&e.site) {
        return Err(EnrolmentRefused::NotAtSite { activity: e.activity.clone(), site: e.site.clone() });
    }
    if let Some(u) = e.units.iter().find(|u| !a.units.iter().any(|x| &x.id == *u)) {
        return Err(EnrolmentRefused::UnitOfAnother { unit: u.clone(), activity: e.activity.clone() });
    }
    if e.to < e.from {
        return Err(EnrolmentRefused::EndsBeforeStart);
    }
    Ok(())
}

/// A child's record as staff may store it: names (1 to 200 characters), a possible birth
/// date, short school and class, notes of at most 1,000 characters, enrolments the town can
/// take. The first problem as (field path, French message).
pub fn check_child(town: &Town, child: &Child, today: NaiveDate) -> Result<(), ChildRefused> {
    for (field, value) in [("first_name", &child.first_name), ("last_name", &child.last_name)] {
        let n = value.chars().count();
        if value.trim() != value || n == 0 || n > 200 {
            return Err(ChildRefused::Name { field });
        }
    }
    if !birth_date_possible(child.birth_date, today) {
        return Err(ChildRefused::BirthDate(child.birth_date));
    }
    for (field, value, max) in
        [("school", &child.school, 100), ("class", &child.class, 100), ("health_notes", &child.health_notes, 1000)]
    {
        if value.as_ref().is_some_and(|v| v.trim().is_empty() || v.chars().count() > max) {
            return Err(ChildRefused::Text { field, max });
        }
    }
    if child.enrolments.len() > MAX_ENROLMENTS {
        return Err(ChildRefused::TooManyEnrolments);
    }
    for (index, e) in child.enrolments.iter().enumerate() {
        check_enrolment(town, e).map_err(|why| ChildRefused::Enrolment { index, why })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diets_are_read_as_written_and_stored_only_when_special() {
        for (raw, diet) in [
            ("", Diet::Standard),
            ("Sans porc", Diet::SansPorc),
            ("sans_porc", Diet::SansPorc),
            (" Végétarien ", Diet::Vegetarien),
            ("vegetarienne", Diet::Vegetarien),
        ] {
            assert_eq!(Diet::parse(raw), Ok(diet), "{raw:?}");
        }
        assert!(Diet::parse("halal").unwrap_err().to_string().contains("« halal »"));
        let mut c = crate::testkit::child();
        assert_eq!((c.diet, c.pai), (Diet::Standard, false), "an old record reads as a standard meal");
        let plain = serde_json::to_value(&c).unwrap();
        assert!(plain.get("diet").is_none() && plain.get("pai").is_none(), "{plain}");
        c.diet = Diet::Vegetarien;
        c.pai = true;
        let special = serde_json::to_value(&c).unwrap();
        assert_eq!((special["diet"].as_str(), special["pai"].as_bool()), (Some("vegetarien"), Some(true)));
        assert_eq!(serde_json::from_value::<Child>(special).unwrap(), c);
    }

    #[test]
    fn the_kitchen_counts_each_diet_and_each_pai_among_the_children() {
        let standard = crate::testkit::child();
        let pork_free = Child { diet: Diet::SansPorc, ..standard.clone() };
        let veggie_pai = Child { diet: Diet::Vegetarien, pai: true, ..standard.clone() };
        let pai = Child { pai: true, ..standard.clone() };
        let mut n = MealCount::default();
        for c in [Some(&standard), Some(&pork_free), Some(&pork_free), Some(&veggie_pai), Some(&pai), None] {
            n.add(c);
        }
        assert_eq!(n, MealCount { count: 6, sans_porc: 2, vegetarien: 1, pai: 2 });
    }

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
            hold: None,
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

#[cfg(test)]
mod site_tests {
    use crate::testkit::{child, d, id, town};

    #[test]
    fn a_booking_is_at_the_school_of_the_enrolment_covering_its_date() {
        let town = town();
        let (activity, cantine) = town.unit(&id("cantine")).unwrap();
        let lea = child();
        let site = |date| lea.site_for(activity, &cantine.id, date).unwrap().to_string();
        assert_eq!(site(d(2027, 1, 29)), "ecole-a");
        assert_eq!(site(d(2027, 2, 1)), "ecole-b");
        // Outside every enrolment: the activity's first site (where the cell says « non inscrit »).
        assert_eq!(site(d(2027, 8, 30)), "ecole-a");
    }
}
