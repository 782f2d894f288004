//! The town's configuration: calendar options, sites, activities and their units with
//! deadlines, capacities and prices. Parse, don't validate: `Town::parse` is the only way in,
//! and it refuses an invalid configuration with a message that names the field.

use super::calendar::{Closure, DayKind, HolidayPeriod, TownCalendar, Zone, national_school_holidays};
use super::deadline::{Deadline, MAX_DEADLINE_DAYS};
use super::{ActivityId, Cents, SiteId, TownId, UnitId};
use crate::json::{self, JsonError};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashSet};

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
    /// As parents read it: "CANTINE", "PÉRISCOLAIRE MATIN"…
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub id: ActivityId,
    /// "RESTAURATION SCOLAIRE"
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

fn check_contact(at: &str, c: &Contact) -> Result<(), ConfigError> {
    let n = c.name.trim().chars().count();
    if n == 0 || n > MAX_BILLING_TEXT {
        return Err(err(format!("{at}.name"), format!("le texte doit faire entre 1 et {MAX_BILLING_TEXT} caractères")));
    }
    if c.address.len() > MAX_BILLING_LINES {
        return Err(err(format!("{at}.address"), format!("{MAX_BILLING_LINES} lignes au plus")));
    }
    let texts = c.address.iter().chain([&c.phone, &c.email, &c.hours].into_iter().flatten());
    if texts.into_iter().any(|t| t.chars().count() > MAX_BILLING_TEXT) {
        return Err(err(at, format!("{MAX_BILLING_TEXT} caractères au plus par texte")));
    }
    Ok(())
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
    pub documents: super::documents::DocumentSettings,
    /// What an invoice says about its issuer and how to pay it.
    #[serde(default)]
    pub billing: BillingSettings,
    /// The delays of everyday operations: waiting-list offers, absence reports and their
    /// certificates, holiday reminders.
    #[serde(default)]
    pub operations: super::operations::OperationsSettings,
}

/// The town's billing identity, printed on every invoice: its « régie » and how to reach it, the
/// issuer (« ordonnateur »), how to pay, and where to contest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// « Régie enfance-jeunesse de Villeneuve-les-Tilleuls »
    pub regie: String,
    /// The postal address, one line each.
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// The issuer and its role: « Le Maire, ordonnateur ».
    pub issuer: String,
    /// How to pay, one paragraph each (until online payment is built: what the town accepts).
    #[serde(default)]
    pub how_to_pay: Vec<String>,
    /// The administrative court that hears a contest: « Tribunal administratif de Cergy-Pontoise ».
    pub court: String,
    /// The régie's PayFiP account: without it, invoices are not payable online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payfip: Option<super::payfip::Settings>,
    /// When the reminders before and after the due date go out.
    #[serde(default)]
    pub reminders: super::payment::Reminders,
    /// The régie's SEPA creditor account: without it, no direct debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<super::debit::Settings>,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            regie: "Régie enfance-jeunesse".into(),
            address: Vec::new(),
            phone: None,
            email: None,
            hours: None,
            issuer: "Le Maire, ordonnateur".into(),
            how_to_pay: vec![
                "À la régie, en espèces, par chèque à l'ordre du Trésor public ou par carte bancaire.".into(),
            ],
            court: "tribunal administratif territorialement compétent".into(),
            payfip: None,
            reminders: super::payment::Reminders::default(),
            direct_debit: None,
        }
    }
}

/// The most lines of an address and paragraphs of « how to pay »; the longest of each.
pub const MAX_BILLING_LINES: usize = 8;
pub const MAX_BILLING_TEXT: usize = 400;

fn check_billing(b: &BillingSettings) -> Result<(), ConfigError> {
    let texts = [("billing.regie", &b.regie), ("billing.issuer", &b.issuer), ("billing.court", &b.court)];
    for (path, t) in texts {
        let n = t.trim().chars().count();
        if n == 0 || n > MAX_BILLING_TEXT {
            return Err(err(path, format!("le texte doit faire entre 1 et {MAX_BILLING_TEXT} caractères")));
        }
    }
    for (path, lines) in [("billing.address", &b.address), ("billing.how_to_pay", &b.how_to_pay)] {
        if lines.len() > MAX_BILLING_LINES {
            return Err(err(path, format!("{MAX_BILLING_LINES} lignes au plus")));
        }
        if lines.iter().any(|l| l.chars().count() > MAX_BILLING_TEXT) {
            return Err(err(path, format!("{MAX_BILLING_TEXT} caractères au plus par ligne")));
        }
    }
    let optional = [&b.phone, &b.email, &b.hours];
    if optional.into_iter().flatten().any(|t| t.chars().count() > MAX_BILLING_TEXT) {
        return Err(err("billing", format!("{MAX_BILLING_TEXT} caractères au plus par texte")));
    }
    if let Some(p) = &b.payfip {
        p.check().map_err(|m| err("billing.payfip.numcli", m))?;
    }
    if let Some(d) = &b.direct_debit {
        d.check().map_err(|(path, m)| err(path, m))?;
    }
    let most = super::payment::MAX_REMINDER_DAYS;
    if b.reminders.before_due > most || b.reminders.after_due > most {
        return Err(err("billing.reminders", format!("{most} jours au plus")));
    }
    Ok(())
}

fn seven() -> u32 {
    7
}

/// The largest configuration a town may have: it is one stored item, and its audit entry
/// holds it twice (before and after a change).
pub const MAX_CONFIG_BYTES: usize = 150 * 1024;

/// A configuration refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl From<JsonError> for ConfigError {
    fn from(e: JsonError) -> Self {
        ConfigError { path: e.path, message: e.message }
    }
}

pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

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

impl TryFrom<TownConfig> for Town {
    type Error = ConfigError;

    fn try_from(config: TownConfig) -> Result<Town, ConfigError> {
        let size = serde_json::to_vec(&config).map_or(usize::MAX, |v| v.len());
        if size > MAX_CONFIG_BYTES {
            return Err(err(
                "",
                format!(
                    "la configuration fait {} Ko : {} Ko au plus (regroupez les fermetures, allégez les textes)",
                    size / 1024,
                    MAX_CONFIG_BYTES / 1024
                ),
            ));
        }
        check(&config)?;
        let school_holidays = match (&config.school_holidays_override, config.school_holiday_zone) {
            (Some(own), _) => own.clone(),
            (None, Some(zone)) => national_school_holidays(zone),
            (None, None) => {
                return Err(err(
                    "school_holiday_zone",
                    "indiquez la zone de vacances scolaires (A, B ou C) ou un calendrier propre à la commune",
                ));
            }
        };
        let mut school_holidays = school_holidays;
        school_holidays.extend(config.extra_school_holidays.iter().cloned());
        let extra: BTreeMap<NaiveDate, String> =
            config.extra_public_holidays.iter().map(|h| (h.date, h.name.clone())).collect();
        let calendar = TownCalendar::new(
            config.alsace_moselle,
            extra,
            &config.closures,
            school_holidays,
            config.wednesday_has_school,
        );
        Ok(Town { config, calendar })
    }
}

fn check_name(path: &str, name: &str) -> Result<(), ConfigError> {
    let n = name.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(err(path, "le nom doit faire entre 1 et 200 caractères"));
    }
    Ok(())
}

fn check_deadline(path: &str, d: &Deadline) -> Result<(), ConfigError> {
    if d.n == 0 || d.n > MAX_DEADLINE_DAYS {
        return Err(err(
            format!("{path}.n"),
            format!("le délai doit être compris entre 1 et {MAX_DEADLINE_DAYS} jours"),
        ));
    }
    Ok(())
}

fn check_periods(path: &str, periods: &[HolidayPeriod]) -> Result<(), ConfigError> {
    for (i, p) in periods.iter().enumerate() {
        if p.first_day_back.is_some_and(|b| b <= p.first_day_off) {
            return Err(err(
                format!("{path}[{i}].first_day_back"),
                "la reprise doit suivre le premier jour de vacances",
            ));
        }
    }
    Ok(())
}

fn check(c: &TownConfig) -> Result<(), ConfigError> {
    check_name("name", &c.name)?;
    if !(1..=30).contains(&c.activation_link_days) {
        return Err(err(
            "activation_link_days",
            "la durée de validité des liens d'activation doit être comprise entre 1 et 30 jours",
        ));
    }
    super::documents::check(&c.documents).map_err(|(path, message)| err(path, message))?;
    check_periods("extra_school_holidays", &c.extra_school_holidays)?;
    if let Some(own) = &c.school_holidays_override {
        check_periods("school_holidays_override", own)?;
    }
    let mut site_ids = HashSet::new();
    for (i, s) in c.sites.iter().enumerate() {
        check_name(&format!("sites[{i}].name"), &s.name)?;
        if !site_ids.insert(&s.id) {
            return Err(err(format!("sites[{i}].id"), format!("le site « {} » est déclaré deux fois", s.id)));
        }
    }
    let mut activity_ids = HashSet::new();
    let mut unit_ids = HashSet::new();
    for (ai, a) in c.activities.iter().enumerate() {
        let at = format!("activities[{ai}]");
        check_name(&format!("{at}.name"), &a.name)?;
        if !activity_ids.insert(&a.id) {
            return Err(err(format!("{at}.id"), format!("le service « {} » est déclaré deux fois", a.id)));
        }
        if a.sites.is_empty() {
            return Err(err(format!("{at}.sites"), "un service doit avoir au moins un site"));
        }
        if let Some(contact) = &a.contact {
            check_contact(&format!("{at}.contact"), contact)?;
        }
        for (si, s) in a.sites.iter().enumerate() {
            if !site_ids.contains(s) {
                return Err(err(
                    format!("{at}.sites[{si}]"),
                    format!("le site « {s} » n'est pas déclaré dans « sites »"),
                ));
            }
        }
        if a.units.is_empty() {
            return Err(err(format!("{at}.units"), "un service doit proposer au moins une prestation"));
        }
        for (ui, u) in a.units.iter().enumerate() {
            let ut = format!("{at}.units[{ui}]");
            check_name(&format!("{ut}.name"), &u.name)?;
            if !unit_ids.insert(&u.id) {
                return Err(err(format!("{ut}.id"), format!("la prestation « {} » est déclarée deux fois", u.id)));
            }
            if u.runs_on.is_empty() {
                return Err(err(
                    format!("{ut}.runs_on"),
                    "indiquez au moins un type de jour (school_day, wednesday, holiday)",
                ));
            }
            if u.weekdays.is_empty() {
                return Err(err(format!("{ut}.weekdays"), "indiquez au moins un jour de la semaine"));
            }
            if u.weekdays.iter().any(|w| matches!(w, Weekday::Sat | Weekday::Sun)) {
                return Err(err(
                    format!("{ut}.weekdays"),
                    "les prestations ne sont proposées que du lundi au vendredi",
                ));
            }
            check_deadline(&format!("{ut}.add_deadline"), &u.add_deadline)?;
            check_deadline(&format!("{ut}.cancel_deadline"), &u.cancel_deadline)?;
            if u.capacity == Some(0) {
                return Err(err(format!("{ut}.capacity"), "la capacité doit être d'au moins une place (ou absente)"));
            }
            if u.waiting_list && u.capacity.is_none() {
                return Err(err(format!("{ut}.waiting_list"), "une liste d'attente n'a de sens qu'avec une capacité"));
            }
            let brackets = &u.price.qf_brackets;
            for (bi, pair) in brackets.windows(2).enumerate() {
                if pair[1].up_to_qf <= pair[0].up_to_qf {
                    return Err(err(
                        format!("{ut}.price.qf_brackets[{}].up_to_qf", bi + 1),
                        "les tranches de quotient familial doivent être croissantes",
                    ));
                }
            }
            if let LateAddition::Percent(p) = u.late_addition
                && !(100..=500).contains(&p)
            {
                return Err(err(
                    format!("{ut}.late_addition.percent"),
                    "le pourcentage de majoration doit être compris entre 100 et 500",
                ));
            }
        }
    }
    for (i, cl) in c.closures.iter().enumerate() {
        for (j, a) in cl.activities.iter().enumerate() {
            if !activity_ids.contains(a) {
                return Err(err(format!("closures[{i}].activities[{j}]"), format!("le service « {a} » n'existe pas")));
            }
        }
    }
    c.operations.check()?;
    check_billing(&c.billing)
}

impl TownConfig {
    /// What a change from `self` to `after` may not touch: the town's identity, its time zone
    /// and holiday zone (the operator's), the sites, activities and units that bookings point
    /// to, and the closures and public holidays before `today` (the past stays as billed).
    /// The path of the error is relative to the configuration.
    pub fn check_change(&self, after: &TownConfig, today: NaiveDate) -> Result<(), ConfigError> {
        if after.id != self.id {
            return Err(err("id", "L'identifiant de la commune ne change pas."));
        }
        if after.time_zone != self.time_zone || after.school_holiday_zone != self.school_holiday_zone {
            return Err(err(
                "school_holiday_zone",
                "Le fuseau horaire et la zone de vacances scolaires se changent avec l'exploitant du portail.",
            ));
        }
        if let Some(site) = self.sites.iter().find(|s| !after.sites.iter().any(|x| x.id == s.id)) {
            return Err(err(
                "sites",
                format!("Le site « {} » ne peut pas être supprimé : des réservations y renvoient.", site.name),
            ));
        }
        for a in &self.activities {
            let Some(kept) = after.activities.iter().find(|x| x.id == a.id) else {
                return Err(err(
                    "activities",
                    format!("Le service « {} » ne peut pas être supprimé : des réservations y renvoient.", a.name),
                ));
            };
            if let Some(u) = a.units.iter().find(|u| !kept.units.iter().any(|x| x.id == u.id)) {
                return Err(err(
                    "activities",
                    format!("La prestation « {} » ne peut pas être supprimée : des réservations y renvoient.", u.name),
                ));
            }
        }
        if self.past_days(today) != after.past_days(today) {
            return Err(err("closures", "Les fermetures et jours fériés passés ne peuvent plus être modifiés."));
        }
        Ok(())
    }

    /// The closures and extra public holidays before `today`, in a comparable form.
    fn past_days(&self, today: NaiveDate) -> (Vec<String>, Vec<String>) {
        (past(&self.closures, |c| c.date, today), past(&self.extra_public_holidays, |h| h.date, today))
    }
}

/// The days before `today`, serialised and sorted.
fn past<T: Serialize>(days: &[T], date: impl Fn(&T) -> NaiveDate, today: NaiveDate) -> Vec<String> {
    let mut v: Vec<String> =
        days.iter().filter(|x| date(x) < today).map(|x| serde_json::to_string(x).unwrap_or_default()).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn minimal() -> Value {
        json!({
            "id": "ville-test", "name": "Ville test", "school_holiday_zone": "B",
            "sites": [{"id": "ecole", "name": "École"}],
            "activities": [{
                "id": "restauration", "name": "RESTAURATION SCOLAIRE", "sites": ["ecole"],
                "units": [{
                    "id": "cantine", "name": "CANTINE", "runs_on": ["school_day"],
                    "add_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                    "cancel_deadline": {"n": 2, "unit": "working_days", "cutoff": "23:59"},
                    "validation": "automatic", "price": {"base": 380}
                }]
            }]
        })
    }

    fn refuse(v: Value) -> ConfigError {
        Town::parse(v.to_string().as_bytes()).expect_err("should be refused")
    }

    #[test]
    fn a_minimal_configuration_loads() {
        let town = Town::parse(minimal().to_string().as_bytes()).unwrap();
        assert_eq!(town.tz(), chrono_tz::Europe::Paris);
        assert!(town.unit(&UnitId::parse("cantine").unwrap()).is_some());
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = minimal();
        v["activities"][0]["units"][0]["add_deadline"]["cutoff"] = json!("25:00");
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].units[0].add_deadline.cutoff");
        assert!(e.message.contains("25:00"), "{e}");

        let mut v = minimal();
        v["activities"][0]["units"][0]["price"]["base"] = json!(-4);
        assert_eq!(refuse(v).path, "activities[0].units[0].price.base");

        let mut v = minimal();
        v["activities"][0]["sites"] = json!(["inconnu"]);
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].sites[0]");

        let mut v = minimal();
        v["activities"][0]["units"][0]["add_deadline"]["n"] = json!(0);
        assert_eq!(refuse(v).path, "activities[0].units[0].add_deadline.n");

        let mut v = minimal();
        v["time_zone"] = json!("Mars/Olympus");
        assert!(refuse(v).message.contains("Mars/Olympus"));

        let mut v = minimal();
        v.as_object_mut().unwrap().remove("school_holiday_zone");
        assert_eq!(refuse(v).path, "school_holiday_zone");
    }

    #[test]
    fn duplicate_units_are_refused() {
        let mut v = minimal();
        let unit = v["activities"][0]["units"][0].clone();
        v["activities"][0]["units"].as_array_mut().unwrap().push(unit);
        let e = refuse(v);
        assert_eq!(e.path, "activities[0].units[1].id");
    }

    #[test]
    fn prices_by_residence_and_quotient() {
        let price = Price {
            base: Cents::new(500).unwrap(),
            non_resident: Some(Cents::new(700).unwrap()),
            qf_brackets: vec![
                QfBracket { up_to_qf: 600, price: Cents::new(150).unwrap() },
                QfBracket { up_to_qf: 1200, price: Cents::new(300).unwrap() },
            ],
        };
        assert_eq!(price.for_family(true, Some(400)).get(), 150);
        assert_eq!(price.for_family(true, Some(600)).get(), 150);
        assert_eq!(price.for_family(true, Some(601)).get(), 300);
        assert_eq!(price.for_family(true, Some(5000)).get(), 500);
        assert_eq!(price.for_family(true, None).get(), 500);
        assert_eq!(price.for_family(false, Some(400)).get(), 700);
    }

    #[test]
    fn a_service_may_have_its_own_contact_checked_like_the_regies() {
        let mut v = minimal();
        v["activities"][0]["contact"] =
            json!({"name": "Accueil de loisirs", "phone": "01 23 45 67 89", "hours": "Mercredi 8 h – 18 h"});
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        let contact = town.config().activities[0].contact.as_ref().unwrap();
        assert_eq!((contact.name.as_str(), contact.phone.as_deref()), ("Accueil de loisirs", Some("01 23 45 67 89")));
        v["activities"][0]["contact"]["name"] = json!("  ");
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap_err().path, "activities[0].contact.name");
        v["activities"][0]["contact"] = json!({"name": "Accueil", "hours": "x".repeat(401)});
        assert_eq!(Town::parse(v.to_string().as_bytes()).unwrap_err().path, "activities[0].contact");
        v["activities"][0]["contact"] = json!({"name": "Accueil", "fax": "01"});
        assert!(Town::parse(v.to_string().as_bytes()).is_err(), "an unknown field is refused");
    }

    #[test]
    fn late_addition_rules() {
        let day = Cents::new(1200).unwrap();
        assert_eq!(LateAddition::ReplaceWith(Cents::new(400).unwrap()).apply(day).get(), 400);
        assert_eq!(LateAddition::Add(Cents::new(300).unwrap()).apply(day).get(), 1500);
        assert_eq!(LateAddition::Percent(150).apply(day).get(), 1800);
        assert_eq!(LateAddition::None.apply(day).get(), 1200);
    }

    #[test]
    fn offering_distinguishes_every_reason() {
        let mut v = minimal();
        v["closures"] = json!([{"date": "2026-12-04", "reason": "Grève"}]);
        let town = Town::parse(v.to_string().as_bytes()).unwrap();
        let (a, u) = town.unit(&UnitId::parse("cantine").unwrap()).unwrap();
        let ecole = SiteId::parse("ecole").unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 1)), Ok(DayKind::SchoolDay));
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 5)), Err(NotOffered::Weekend));
        assert_eq!(
            town.offering_at(a, u, &ecole, d(11, 11)),
            Err(NotOffered::PublicHoliday { name: "Armistice 1918".into() })
        );
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 4)), Err(NotOffered::Closure { detail: "Grève".into() }));
        assert_eq!(town.offering_at(a, u, &ecole, d(12, 2)), Err(NotOffered::NotRunningThatDay));
        assert!(matches!(town.offering_at(a, u, &ecole, d(12, 22)), Err(NotOffered::SchoolHoliday { .. })));
        assert_eq!(town.offering_at(a, u, &SiteId::parse("autre").unwrap(), d(12, 1)), Err(NotOffered::NotAtSite));
    }
}

#[cfg(test)]
mod change_tests {
    use crate::testkit::{d, town};
    use serde_json::json;

    fn changed(f: impl FnOnce(&mut serde_json::Value)) -> super::TownConfig {
        let mut v = serde_json::to_value(town().config()).unwrap();
        f(&mut v);
        serde_json::from_value(v).unwrap()
    }

    fn check(f: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
        let before = town().config().clone();
        before.check_change(&changed(f), d(2026, 12, 1)).map_err(|e| e.path)
    }

    #[test]
    fn prices_capacities_and_future_closures_may_change() {
        assert_eq!(check(|v| v["activities"][0]["units"][0]["capacity"] = json!(80)), Ok(()));
        assert_eq!(check(|v| v["activities"][0]["units"][0]["price"]["base"] = json!(420)), Ok(()));
        assert_eq!(check(|v| v["closures"] = json!([{"date": "2026-12-18", "reason": "Grève"}])), Ok(()));
    }

    #[test]
    fn what_bookings_point_to_and_the_past_stay() {
        assert_eq!(check(|v| v["id"] = json!("autre")), Err("id".into()));
        assert_eq!(check(|v| v["school_holiday_zone"] = json!("A")), Err("school_holiday_zone".into()));
        assert_eq!(check(|v| v["sites"].as_array_mut().unwrap().truncate(1)), Err("sites".into()));
        assert_eq!(check(|v| v["activities"].as_array_mut().unwrap().truncate(1)), Err("activities".into()));
        assert_eq!(
            check(|v| v["activities"][0]["units"].as_array_mut().unwrap().truncate(1)),
            Err("activities".into())
        );
        assert_eq!(
            check(|v| v["closures"] = json!([{"date": "2026-11-30", "reason": "Grève"}])),
            Err("closures".into())
        );
    }
}
