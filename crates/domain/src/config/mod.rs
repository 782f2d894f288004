//! The town's configuration: calendar options, sites, activities and their units with
//! deadlines, capacities and prices. Parse, don't validate: `Town::parse` is the only way in,
//! and it refuses an invalid configuration with a message that names the field.

use crate::calendar::{Closure, DayKind, HolidayPeriod, TownCalendar, Zone};
use crate::deadline::Deadline;
use crate::json;
use crate::{ActivityId, Cents, SiteId, TownId, UnitId};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod aids;
mod billing;
mod check;
mod child_file;
mod error;
mod helios;
mod operations;
mod tax;
#[cfg(test)]
mod tests;

pub use aids::{Aid, AidYear, Funder, MAX_AIDS, Per, QfRange, SiblingCount, SiblingReduction, Siblings, check_aids};
pub use billing::{
    BillingSettings, DirectDebitSettings, MAX_BILLING_LINES, MAX_BILLING_TEXT, MAX_REMINDER_DAYS, PayfipSettings,
    Reminders, Saisie, TRANSLITERATION,
};
pub use child_file::ChildFileSettings;
pub use error::ConfigError;
pub(crate) use error::err;
pub use helios::HeliosSettings;
pub use operations::OperationsSettings;
pub use tax::TaxCertificateSettings;

/// An IANA time zone name, "Europe/Paris" unless the town is overseas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub Tz);

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::Europe::Paris)
    }
}
impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}
impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>()
            .map(TimeZone)
            .map_err(|_| serde::de::Error::custom(format!("fuseau horaire « {s} » inconnu (par exemple Europe/Paris)")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDay {
    pub date: NaiveDate,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Whether a booking is confirmed at once or waits for staff ("demande en cours").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    Automatic,
    Manual,
}

/// A price bracket by quotient familial: families with a QF up to `up_to_qf` pay `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QfBracket {
    pub up_to_qf: u32,
    pub price: Cents,
}

/// The normal price of one booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Residents whose QF is unknown or above every bracket pay this.
    pub base: Cents,
    /// Non-residents pay this flat price when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_resident: Option<Cents>,
    /// Ascending by `up_to_qf`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qf_brackets: Vec<QfBracket>,
    /// Lower prices for the family's second, third… child booked the same day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siblings: Option<Siblings>,
}

impl Price {
    /// The normal price for a family.
    pub fn for_family(&self, resident: bool, quotient_familial: Option<u32>) -> Cents {
        if !resident && let Some(p) = self.non_resident {
            return p;
        }
        quotient_familial
            .and_then(|qf| self.qf_brackets.iter().find(|b| qf <= b.up_to_qf))
            .map_or(self.base, |b| b.price)
    }
}

/// The price of a booking added after the add deadline (or a child present without booking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LateAddition {
    /// The normal price: no surcharge.
    #[default]
    None,
    /// A fixed late price instead of the normal one (4 € morning care in the seed's town).
    ReplaceWith(Cents),
    /// The normal price plus an amount (day price + 3 € for the ALSH).
    Add(Cents),
    /// A percentage of the normal price (150 = one and a half times).
    Percent(u32),
}

impl LateAddition {
    pub fn apply(self, normal: Cents) -> Cents {
        match self {
            LateAddition::None => normal,
            LateAddition::ReplaceWith(p) => p,
            LateAddition::Add(extra) => normal + extra,
            LateAddition::Percent(p) => normal.percent(p),
        }
    }
}

fn school_weekdays() -> Vec<Weekday> {
    vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
}

/// What one checkbox books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub id: UnitId,
    /// As parents read it: "Cantine", "Périscolaire matin"…
    pub name: String,
    /// The kinds of day it runs on.
    pub runs_on: Vec<DayKind>,
    /// The weekdays it runs on, Monday to Friday by default.
    #[serde(default = "school_weekdays")]
    pub weekdays: Vec<Weekday>,
    pub add_deadline: Deadline,
    pub cancel_deadline: Deadline,
    /// Places per day and site; none means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// When full, further bookings wait for a place instead of being refused.
    #[serde(default)]
    pub waiting_list: bool,
    pub validation: Validation,
    pub price: Price,
    #[serde(default)]
    pub late_addition: LateAddition,
    /// Bookings for a date open this many days before it (none: always open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_opens_days_before: Option<u32>,
    /// How long one session lasts, in minutes, as the town declares it to the CAF (« heures
    /// réalisées »); none: the length of `hours` if given, else the unit is not in the CAF
    /// figures ([`Unit::caf_minutes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// When it runs on its days, local time (the calendar feed's timed events); none: the
    /// feed shows it as an all-day event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Hours>,
}

impl Unit {
    /// The minutes one session counts in the CAF figures: `duration_minutes` if the town
    /// declared it, else the length of its `hours`.
    pub fn caf_minutes(&self) -> Option<u32> {
        self.duration_minutes.or_else(|| self.hours.map(|h| h.minutes()))
    }
}

/// A unit's opening hours on its days, local time: `{ "start": "16:30", "end": "18:30" }`
/// (the `HH:MM` of a deadline's cutoff), the end after the start on the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub start: crate::deadline::Cutoff,
    pub end: crate::deadline::Cutoff,
}

impl Hours {
    /// From start to end, in minutes (0 if the end is not after the start).
    pub fn minutes(&self) -> u32 {
        u32::try_from((self.end.0 - self.start.0).num_minutes()).unwrap_or(0)
    }
}

/// The longest session a unit may declare: a whole day.
pub const MAX_DURATION_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub id: ActivityId,
    /// "Restauration scolaire"
    pub name: String,
    pub sites: Vec<SiteId>,
    pub units: Vec<Unit>,
    /// Whom parents call or write to about this service when it is not the régie (the leisure
    /// centre's own office); the pages fall back on `billing`'s contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

/// How parents reach a service: who, where, how and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// « Accueil de loisirs Les Tilleuls »
    pub name: String,
    /// The postal address, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
}

/// The configuration document of one town, as staff write it and as it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownConfig {
    pub id: TownId,
    pub name: String,
    #[serde(default)]
    pub time_zone: TimeZone,
    /// Required unless `school_holidays_override` gives the town's own calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_holiday_zone: Option<Zone>,
    /// Adds Good Friday and 26 December to the public holidays.
    #[serde(default)]
    pub alsace_moselle: bool,
    /// A four-and-a-half-day school week (school on Wednesday morning).
    #[serde(default)]
    pub wednesday_has_school: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_public_holidays: Vec<NamedDay>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
    /// Replaces the zone's national school holidays (Corsica, overseas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_holidays_override: Option<Vec<HolidayPeriod>>,
    /// Added to the zone's holidays (a bridge day decided locally).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_school_holidays: Vec<HolidayPeriod>,
    pub sites: Vec<Site>,
    pub activities: Vec<Activity>,
    /// How long an activation link stays valid, in days (1 to 30).
    #[serde(default = "seven")]
    pub activation_link_days: u32,
    /// The documents guardians send (« Mes demandes »): kinds, size limit, retention.
    #[serde(default)]
    pub documents: crate::documents::DocumentSettings,
    /// What an invoice says about its issuer and how to pay it.
    #[serde(default)]
    pub billing: BillingSettings,
    /// The delays of everyday operations: waiting-list offers, absence reports and their
    /// certificates, holiday reminders.
    #[serde(default)]
    pub operations: OperationsSettings,
    /// The children's files: who reads the health part, the age for going home alone.
    #[serde(default)]
    pub child_file: ChildFileSettings,
    /// API Particulier, for the quotient familial from the CAF (`docs/accounting.md`): none, no
    /// fetching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_particulier: Option<ApiParticulierSettings>,
    /// The aids deducted on invoices (`docs/accounting.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aids: Vec<Aid>,
}

/// The town's access to API Particulier: the SIRET it calls as (`recipient`), the one its
/// DataPass names. The token is a secret of the deployment, not configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiParticulierSettings {
    pub recipient: String,
}

fn seven() -> u32 {
    7
}

/// The largest configuration a town may have: it is one stored item, and its audit entry
/// holds it twice (before and after a change).
pub const MAX_CONFIG_BYTES: usize = 150 * 1024;

/// Why a unit is not offered on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotOffered {
    Weekend,
    PublicHoliday {
        name: String,
    },
    SchoolHoliday {
        name: String,
    },
    Closure {
        detail: String,
    },
    /// The unit does not run on this weekday or this kind of day (no ALSH on a school day).
    NotRunningThatDay,
    /// The unit is not run at this site.
    NotAtSite,
    /// The child is not enrolled for this unit on this date.
    NotEnrolled,
    /// Enrolled for the school year, but the file the town requires is not complete.
    FileIncomplete {
        detail: String,
    },
}

impl NotOffered {
    /// Why, for parents and staff.
    pub fn french(&self) -> String {
        match self {
            NotOffered::Weekend => "Pas de service le week-end.".into(),
            NotOffered::PublicHoliday { name } => format!("Jour férié ({name}) : pas de service."),
            NotOffered::SchoolHoliday { name } => {
                format!("Vacances scolaires ({name}) : cette prestation n'a pas lieu.")
            }
            NotOffered::Closure { detail } => format!("Fermeture : {detail}."),
            NotOffered::NotRunningThatDay => "Cette prestation n'a pas lieu ce jour-là.".into(),
            NotOffered::NotAtSite => "Cette prestation n'a pas lieu sur ce site.".into(),
            NotOffered::NotEnrolled => "L'enfant n'est pas inscrit à cette prestation à cette date.".into(),
            NotOffered::FileIncomplete { detail } => format!("{detail}."),
        }
    }
}

/// A town whose configuration passed every check, with its calendar built once.
#[derive(Debug, Clone)]
pub struct Town {
    config: TownConfig,
    calendar: TownCalendar,
}

impl Town {
    /// Parses and checks a configuration document.
    pub fn parse(bytes: &[u8]) -> Result<Town, ConfigError> {
        Town::try_from(json::parse::<TownConfig>(bytes)?)
    }

    pub fn config(&self) -> &TownConfig {
        &self.config
    }
    pub fn id(&self) -> &TownId {
        &self.config.id
    }
    pub fn calendar(&self) -> &TownCalendar {
        &self.calendar
    }
    pub fn tz(&self) -> Tz {
        self.config.time_zone.0
    }
    /// The town's date at `now` (Europe/Paris for every town so far).
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.tz()).date_naive()
    }

    pub fn unit(&self, id: &UnitId) -> Option<(&Activity, &Unit)> {
        self.config.activities.iter().find_map(|a| a.units.iter().find(|u| &u.id == id).map(|u| (a, u)))
    }

    /// Whether `unit` of `activity` runs at `site` on `date`, and if not, why.
    pub fn offering_at(
        &self,
        activity: &Activity,
        unit: &Unit,
        site: &SiteId,
        date: NaiveDate,
    ) -> Result<DayKind, NotOffered> {
        if !activity.sites.contains(site) {
            return Err(NotOffered::NotAtSite);
        }
        self.offering(activity, unit, date)
    }

    /// Whether `unit` of `activity` runs on `date` (at its sites), and if not, why.
    pub fn offering(&self, activity: &Activity, unit: &Unit, date: NaiveDate) -> Result<DayKind, NotOffered> {
        use chrono::Datelike;
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !unit.weekdays.contains(&date.weekday()) {
            return Err(NotOffered::Weekend);
        }
        if let Some(name) = self.calendar.public_holiday(date) {
            return Err(NotOffered::PublicHoliday { name: name.to_owned() });
        }
        let kind = self.calendar.kind(date).ok_or(NotOffered::Weekend)?;
        if !unit.runs_on.contains(&kind) || !unit.weekdays.contains(&date.weekday()) {
            if kind == DayKind::Holiday
                && let Some(name) = self.calendar.school_holiday(date)
            {
                return Err(NotOffered::SchoolHoliday { name: name.to_owned() });
            }
            return Err(NotOffered::NotRunningThatDay);
        }
        // Checked last: a closure is news only on a day the unit would otherwise run.
        if let Some(c) =
            self.calendar.closures(date).iter().find(|c| c.activities.is_empty() || c.activities.contains(&activity.id))
        {
            return Err(NotOffered::Closure { detail: c.reason.clone() });
        }
        Ok(kind)
    }
}
