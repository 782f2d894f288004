//! The yearly enrolment campaign: the administrator opens it for a school year with its dates,
//! the activities offered and what each requires, the rules' version families accept, whether a
//! complete file is required before any booking of that year, and the days reminders go out.

use super::SchoolYear;
use crate::config::Town;
use crate::{ActivityId, DocKindId};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The most activities, requirements per activity and reminder days of a campaign.
pub const MAX_OFFERS: usize = 20;
pub const MAX_REQUIREMENTS: usize = 10;
pub const MAX_REMINDERS: usize = 12;
/// The longest rules version (« 2027-v2 »).
pub const MAX_RULES_VERSION_CHARS: usize = 40;

/// What an activity requires of a child's file for the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum Requirement {
    /// A document of this kind, accepted (or waiting for staff) and valid on the year's first day.
    Document { kind: DocKindId },
}

/// An activity offered for the year, and what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub activity: ActivityId,
    #[serde(default)]
    pub requires: Vec<Requirement>,
}

/// A campaign as the administrator sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub offers: Vec<Offer>,
    pub rules_version: String,
    /// Whether a booking of the year needs a complete file.
    pub file_required: bool,
    /// The parts of each child's file (« fiche enfant ») the campaign requires: health,
    /// vaccination, people, insurance, consents (none by default).
    #[serde(default)]
    pub file: crate::child_file::Requirements,
    /// The days reminders go to families whose enrolment is not complete.
    #[serde(default)]
    pub reminders: Vec<NaiveDate>,
    /// The day the rollover into this year may run, from it on: after the last day of school,
    /// in the closing year's last three months or on this year's first day.
    pub rollover_on: NaiveDate,
}

/// A campaign as stored: its input, checked, for its year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub year: SchoolYear,
    #[serde(flatten)]
    pub input: CampaignInput,
}

/// Why a campaign is refused; the field names where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignRefused {
    #[error("une campagne s'ouvre pour l'année scolaire en cours ou la suivante")]
    Year,
    #[error("la campagne ferme après son ouverture, au plus tard le dernier jour de l'année scolaire")]
    Dates,
    #[error("la campagne propose de 1 à {MAX_OFFERS} activités, chacune une fois")]
    OfferCount,
    #[error("l'activité « {1} » n'existe pas")]
    UnknownActivity(usize, String),
    #[error("une activité demande {MAX_REQUIREMENTS} pièces au plus, chacune une fois")]
    Requirements(usize),
    #[error("le type de document « {2} » n'existe pas")]
    UnknownDocument(usize, usize, String),
    #[error("la version du règlement compte de 1 à {MAX_RULES_VERSION_CHARS} caractères")]
    RulesVersion,
    #[error("les relances ({MAX_REMINDERS} au plus, chacune une fois) tombent entre l'ouverture et la fermeture")]
    Reminders,
    #[error("le passage à l'année suivante a lieu entre le 1er juin et le 1er septembre")]
    RolloverDay,
}

impl crate::Refusal for CampaignRefused {
    fn code(&self) -> &'static str {
        match self {
            CampaignRefused::Year => "invalid_school_year",
            CampaignRefused::Dates => "invalid_campaign_dates",
            CampaignRefused::OfferCount | CampaignRefused::Requirements(_) => "invalid_offers",
            CampaignRefused::UnknownActivity(..) => "unknown_activity",
            CampaignRefused::UnknownDocument(..) => "unknown_document_kind",
            CampaignRefused::RulesVersion => "invalid_rules_version",
            CampaignRefused::Reminders => "invalid_reminders",
            CampaignRefused::RolloverDay => "invalid_rollover_day",
        }
    }
    fn field(&self) -> Option<String> {
        Some(match self {
            CampaignRefused::Year => "year".into(),
            CampaignRefused::Dates => "closes_on".into(),
            CampaignRefused::OfferCount => "offers".into(),
            CampaignRefused::UnknownActivity(i, _) => format!("offers[{i}].activity"),
            CampaignRefused::Requirements(i) => format!("offers[{i}].requires"),
            CampaignRefused::UnknownDocument(i, j, _) => format!("offers[{i}].requires[{j}].kind"),
            CampaignRefused::RulesVersion => "rules_version".into(),
            CampaignRefused::Reminders => "reminders".into(),
            CampaignRefused::RolloverDay => "rollover_on".into(),
        })
    }
}

impl CampaignInput {
    /// The campaign for `year`, if the town offers what it names and its dates hold together.
    pub fn check(self, year: SchoolYear, town: &Town, today: NaiveDate) -> Result<Campaign, CampaignRefused> {
        let current = SchoolYear::of(today);
        if year != current && year != current.next() {
            return Err(CampaignRefused::Year);
        }
        if self.closes_on < self.opens_on || self.closes_on > year.last_day() || self.opens_on < current.first_day() {
            return Err(CampaignRefused::Dates);
        }
        if self.offers.is_empty() || self.offers.len() > MAX_OFFERS {
            return Err(CampaignRefused::OfferCount);
        }
        for (i, offer) in self.offers.iter().enumerate() {
            if !town.config().activities.iter().any(|a| a.id == offer.activity) {
                return Err(CampaignRefused::UnknownActivity(i, offer.activity.to_string()));
            }
            if self.offers[..i].iter().any(|o| o.activity == offer.activity) {
                return Err(CampaignRefused::OfferCount);
            }
            if offer.requires.len() > MAX_REQUIREMENTS
                || offer.requires.iter().enumerate().any(|(j, r)| offer.requires[..j].contains(r))
            {
                return Err(CampaignRefused::Requirements(i));
            }
            for (j, Requirement::Document { kind }) in offer.requires.iter().enumerate() {
                if town.config().documents.kind(kind).is_none() {
                    return Err(CampaignRefused::UnknownDocument(i, j, kind.to_string()));
                }
            }
        }
        let version = self.rules_version.trim();
        if version.is_empty()
            || version.chars().count() > MAX_RULES_VERSION_CHARS
            || crate::text::check(version).is_err()
        {
            return Err(CampaignRefused::RulesVersion);
        }
        let mut days = self.reminders.clone();
        days.sort();
        days.dedup();
        if days.len() != self.reminders.len()
            || days.len() > MAX_REMINDERS
            || days.iter().any(|d| *d < self.opens_on || *d > self.closes_on)
        {
            return Err(CampaignRefused::Reminders);
        }
        let june = NaiveDate::from_ymd_opt(year.first_day().year(), 6, 1).unwrap_or(NaiveDate::MIN);
        if self.rollover_on < june || self.rollover_on > year.first_day() {
            return Err(CampaignRefused::RolloverDay);
        }
        Ok(Campaign { year, input: CampaignInput { rules_version: version.to_owned(), reminders: days, ..self } })
    }
}

impl Campaign {
    pub fn offer(&self, activity: &ActivityId) -> Option<&Offer> {
        self.input.offers.iter().find(|o| &o.activity == activity)
    }

    /// Whether families may answer on `today`.
    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.input.opens_on <= today && today <= self.input.closes_on
    }

    /// Whether a reminder is due on `today`.
    pub fn reminds_on(&self, today: NaiveDate) -> bool {
        self.input.reminders.contains(&today)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Refusal;
    use crate::testkit::{d, id, town};

    pub(crate) fn input() -> CampaignInput {
        CampaignInput {
            opens_on: d(2027, 5, 15),
            closes_on: d(2027, 7, 10),
            offers: vec![
                Offer { activity: id("restauration"), requires: vec![Requirement::Document { kind: id("assurance") }] },
                Offer { activity: id("alsh"), requires: vec![] },
            ],
            rules_version: " 2027-v1 ".into(),
            file_required: true,
            file: crate::child_file::Requirements::default(),
            reminders: vec![d(2027, 6, 15), d(2027, 6, 1)],
            rollover_on: d(2027, 8, 25),
        }
    }

    pub(crate) fn y2027() -> SchoolYear {
        SchoolYear::parse("2027-2028").unwrap()
    }

    #[test]
    fn a_campaign_is_for_the_current_or_next_year_with_what_the_town_offers() {
        let c = input().check(y2027(), &town(), d(2027, 5, 1)).unwrap();
        assert_eq!(c.input.rules_version, "2027-v1");
        assert_eq!(c.input.reminders, vec![d(2027, 6, 1), d(2027, 6, 15)]);
        assert!(c.is_open(d(2027, 7, 10)) && !c.is_open(d(2027, 7, 11)));
        assert!(c.reminds_on(d(2027, 6, 1)) && !c.reminds_on(d(2027, 6, 2)));
        let far = SchoolYear::parse("2029-2030").unwrap();
        assert_eq!(input().check(far, &town(), d(2027, 5, 1)), Err(CampaignRefused::Year));
    }

    #[test]
    fn each_bad_field_is_named() {
        let t = town();
        let today = d(2027, 5, 1);
        let field = |i: CampaignInput| input_field(i.check(y2027(), &t, today));
        let mut i = input();
        i.closes_on = d(2027, 5, 1);
        assert_eq!(field(i), "closes_on");
        let mut i = input();
        i.offers[1].activity = id("piscine");
        assert_eq!(field(i), "offers[1].activity");
        let mut i = input();
        i.offers[0].requires.push(Requirement::Document { kind: id("passeport") });
        assert_eq!(field(i), "offers[0].requires[1].kind");
        let mut i = input();
        i.offers[0].requires.push(Requirement::Document { kind: id("assurance") });
        assert_eq!(field(i), "offers[0].requires");
        let mut i = input();
        i.offers.push(i.offers[0].clone());
        assert_eq!(field(i), "offers");
        let mut i = input();
        i.rules_version = "  ".into();
        assert_eq!(field(i), "rules_version");
        let mut i = input();
        i.reminders.push(d(2027, 8, 1));
        assert_eq!(field(i), "reminders");
        let mut i = input();
        i.rollover_on = d(2027, 9, 2);
        assert_eq!(field(i), "rollover_on");
    }

    fn input_field(r: Result<Campaign, CampaignRefused>) -> String {
        r.err().and_then(|e| e.field()).unwrap_or_default()
    }
}
