//! The CAF's « heures réalisées » of a year or a month (`domain::caf`), as JSON or as a CSV for
//! the town's declaration. The period is read a month at a time from the day index, each
//! month's bookings tallied before the next is read.

use crate::{AppState, today};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use domain::caf::{Report, Split, Tally, hours_text};
use domain::config::Town;
use domain::{FamilyRef, Month};
use edge::http::auth::Staff;
use edge::http::csv::Export;
use edge::http::{self, Problem};
use serde::Deserialize;
use std::collections::HashMap;
use store::repo;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CafQuery {
    year: Option<String>,
    month: Option<String>,
    format: Option<String>,
}

/// The period a query names: a year `AAAA` or a month `AAAA-MM`, exactly one of them.
fn period(q: &CafQuery) -> Result<(NaiveDate, NaiveDate, String), Problem> {
    match (q.year.as_deref(), q.month.as_deref()) {
        (Some(raw), None) => {
            let year = http::year(raw)?;
            // Every year `http::year` accepts has both days.
            let (Some(first), Some(last)) =
                (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31))
            else {
                return Err(http::bad_query());
            };
            Ok((first, last, raw.to_owned()))
        }
        (None, Some(raw)) => {
            let month = Month::parse(raw).map_err(|e| Problem::refused(&e))?;
            Ok((month.first(), month.last(), raw.to_owned()))
        }
        _ => Err(Problem::bad_request(
            "invalid_period",
            "Indiquez une année (paramètre « year », AAAA) ou un mois (paramètre « month », AAAA-MM), pas les deux.",
        )),
    }
}

/// `GET /api/towns/{town}/staff/caf-hours?year=AAAA|month=AAAA-MM[&format=csv]`.
pub(crate) async fn caf_hours(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<CafQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let (from, to, label) = period(&q)?;
    let csv = http::wants_csv(q.format.as_deref())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let report = tally(&state, &town, from, to).await?;
    if csv { csv_response(&town, &label, &report) } else { Ok(AxumJson(report).into_response()) }
}

async fn tally(state: &AppState, town: &Town, from: NaiveDate, to: NaiveDate) -> Result<Report, Problem> {
    let store = &state.auth.store;
    let children = crate::children_by_id(store, town).await?;
    let families: HashMap<FamilyRef, _> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let mut tally = Tally::new(town, from, to, today(state, town));
    let mut month = Month::of(from);
    while month.first() <= to {
        let bookings = repo::bookings_of_days(store, town.id(), crate::days(month.first(), month.last())).await?;
        tally.add(&bookings, &children, &families);
        month = month.next();
    }
    Ok(tally.report())
}

fn rows(export: &mut Export, unit: &str, period: &str, split: &Split) -> Result<(), Problem> {
    for (band, resident, f) in split.parts() {
        let residence = if resident { "résident" } else { "non résident" };
        let (sessions, hours, children) = (f.sessions.to_string(), hours_text(f.minutes), f.children.to_string());
        export.row(&[unit, period, band.french(), residence, &sessions, &hours, &children])?;
    }
    let all = split.all;
    let (sessions, hours, children) = (all.sessions.to_string(), hours_text(all.minutes), all.children.to_string());
    export.row(&[unit, period, "total", "total", &sessions, &hours, &children])
}

fn csv_response(town: &Town, label: &str, report: &Report) -> Result<Response, Problem> {
    let mut export = Export::new(&[
        "Prestation",
        "Période",
        "Tranche d’âge",
        "Résidence",
        "Séances",
        "Heures réalisées",
        "Enfants distincts",
    ])?;
    let whole = if report.from.month() == 1 && report.to.month() == 12 {
        format!("année {}", report.from.year())
    } else {
        Month::of(report.from).french()
    };
    for unit in &report.units {
        if unit.months.len() > 1 {
            for m in &unit.months {
                rows(&mut export, &unit.name, &m.month.french(), &m.split)?;
            }
        }
        rows(&mut export, &unit.name, &whole, &unit.total)?;
    }
    export.into_response(&format!("heures-caf-{}-{label}.csv", town.id()))
}
