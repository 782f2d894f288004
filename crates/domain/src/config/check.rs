//! The checks a configuration passes before it becomes a [`Town`]: names, deadlines, holiday
//! periods, sites, activities and units, closures, contacts, billing and operations; and what a
//! change may not touch.

use super::billing::{MAX_BILLING_LINES, MAX_BILLING_TEXT, check_billing};
use super::{ConfigError, Contact, LateAddition, MAX_CONFIG_BYTES, Town, TownConfig, err};
use crate::calendar::{HolidayPeriod, TownCalendar, national_school_holidays};
use crate::deadline::{Deadline, MAX_DEADLINE_DAYS};
use chrono::{NaiveDate, Weekday};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

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
    crate::documents::check(&c.documents)?;
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
            if u.duration_minutes.is_some_and(|m| m == 0 || m > super::MAX_DURATION_MINUTES) {
                return Err(err(
                    format!("{ut}.duration_minutes"),
                    format!(
                        "la durée d'une séance doit être comprise entre 1 et {} minutes",
                        super::MAX_DURATION_MINUTES
                    ),
                ));
            }
            if let Some(h) = u.hours {
                if h.end.0 <= h.start.0 {
                    return Err(err(format!("{ut}.hours.end"), "l’heure de fin doit suivre l’heure de début"));
                }
                if u.duration_minutes.is_some_and(|m| m > h.minutes()) {
                    return Err(err(
                        format!("{ut}.duration_minutes"),
                        format!(
                            "une séance ne peut durer plus que les horaires de la prestation ({} minutes)",
                            h.minutes()
                        ),
                    ));
                }
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
            if let Some(s) = &u.price.siblings {
                s.check(&format!("{ut}.price.siblings"))?;
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
    if let Some(api) = &c.api_particulier
        && (api.recipient.len() != 14 || !api.recipient.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err("api_particulier.recipient", "le SIRET de la commune compte 14 chiffres"));
    }
    c.child_file.check()?;
    let units: Vec<&super::Unit> = c.activities.iter().flat_map(|a| a.units.iter()).collect();
    super::check_aids(&c.aids, &units)?;
    if let Some(h) = &c.billing.helios {
        let units: Vec<&crate::UnitId> = c.activities.iter().flat_map(|a| a.units.iter().map(|u| &u.id)).collect();
        h.check(&units)?;
    }
    if let Some(t) = &c.billing.tax_certificate {
        let units: Vec<&crate::UnitId> = c.activities.iter().flat_map(|a| a.units.iter().map(|u| &u.id)).collect();
        t.check(&units)?;
    }
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
