//! The `invoices` function: « Mes factures ». Post-billing turns a month's bookings and
//! attendance into one bill per family, by the rules of [`shared::domain::billing`]. Built so
//! far: a family's month to date and as booked to its end (« Novembre, à ce jour : … ; prévu
//! jusqu'à la fin du mois : … »), and the administrator's dry run of a month (every family's
//! lines and total, and the anomalies to look at), which writes nothing. Finalising, numbering,
//! PDFs, publication and credit notes are not built yet (docs/billing.md).

use axum::Json as AxumJson;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shared::domain::Cents;
use shared::domain::account::Role;
use shared::domain::billing::{self, Anomaly, Bill};
use shared::domain::booking::Booking;
use shared::domain::config::Town;
use shared::domain::family::Family;
use shared::http::auth::{AuthState, Caller, Staff, forbidden};
use shared::http::{self, Path, Problem};
use shared::store::repo::{self, Towns};
use shared::store::{Store, StoreError};
use std::collections::BTreeMap;

/// Days of bookings read at once from the day index.
const CONCURRENT_DAYS: usize = 8;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
}

shared::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/families/{family}/invoices/current", get(current))
        .route("/api/towns/{town}/staff/invoices/preview", get(preview))
        .with_state(state)
}

#[derive(Serialize)]
struct MonthSoFar {
    /// `AAAA-MM`
    month: String,
    /// « novembre 2026 »
    label: String,
    today: NaiveDate,
    /// The month's bookings up to today, billed.
    so_far: Bill,
    /// The whole month as booked today.
    forecast: Bill,
}

/// The current month for a family: what it costs so far and what it will cost at today's
/// bookings, line by line, by the same rules as the invoice.
async fn current(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<MonthSoFar>, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let family =
        repo::get_family(store, town.id(), &reference).await?.ok_or_else(shared::http::auth::unknown_family)?;
    let today = town.today(state.auth.clock.now());
    let first = today.with_day(1).unwrap_or(today);
    let last = first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(today);
    let mut bookings = Vec::new();
    for child in &family.children {
        // A shared child's bookings by the other household are theirs, and billed to them.
        bookings.extend(
            repo::bookings(store, town.id(), child, first, last).await?.into_iter().filter(|b| b.family == reference),
        );
    }
    let families = BTreeMap::from([(reference.clone(), family)]);
    let bill_of = |bookings: &[Booking]| {
        let (bills, _) = billing::bills(&town, &families, bookings, today);
        bills.into_iter().next().unwrap_or(Bill { family: reference.clone(), lines: Vec::new(), total: Cents::ZERO })
    };
    let past: Vec<Booking> = bookings.iter().filter(|b| b.date <= today).cloned().collect();
    Ok(AxumJson(MonthSoFar {
        month: first.format("%Y-%m").to_string(),
        label: shared::fr::month(first),
        today,
        so_far: bill_of(&past),
        forecast: bill_of(&bookings),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    month: Option<String>,
}

#[derive(Serialize)]
struct Preview {
    month: String,
    label: String,
    /// Whether the month is over (it can be finalised once its anomalies are handled).
    complete: bool,
    /// The families with something to pay; an invoice of 0 € is not issued.
    bills: Vec<Bill>,
    /// Families whose bill would be 0 €.
    zero: usize,
    total: Cents,
    anomalies: Vec<Anomaly>,
}

/// The dry run of a month (town administrator): every family's bill and the anomalies (requests
/// still waiting, days without attendance). Nothing is written.
async fn preview(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Preview>, Problem> {
    if caller.session.role != Role::TownAdmin {
        return Err(forbidden().detail("La facturation est réservée à l'administrateur de la commune."));
    }
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = town.today(state.auth.clock.now());
    let (first, last) = match q.month.as_deref() {
        Some(raw) => billing::month(raw).ok_or_else(|| {
            Problem::bad_request("invalid_month", "Le mois s'écrit AAAA-MM, par exemple 2026-11.").field("month")
        })?,
        None => previous_month(today),
    };
    if first > today {
        return Err(Problem::unprocessable("future_month", "On ne facture pas un mois à venir.").field("month"));
    }
    let store = &state.auth.store;
    let families: BTreeMap<_, Family> =
        repo::all_families(store, town.id()).await?.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let bookings = bookings_between(store, &town, first, last).await?;
    let (bills, anomalies) = billing::bills(&town, &families, &bookings, today);
    let (due, zero): (Vec<Bill>, Vec<Bill>) = bills.into_iter().partition(Bill::is_due);
    Ok(AxumJson(Preview {
        month: first.format("%Y-%m").to_string(),
        label: shared::fr::month(first),
        complete: last < today,
        total: due.iter().fold(Cents::ZERO, |t, b| t + b.total),
        zero: zero.len(),
        bills: due,
        anomalies,
    }))
}

/// Every booking of the town from `first` to `last`, read by day from the index, a few days at once.
async fn bookings_between(
    store: &Store,
    town: &Town,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<Booking>, StoreError> {
    let reads = first.iter_days().take_while(|d| *d <= last).map(|date| {
        let (store, town) = (store.clone(), town.id().clone());
        async move { repo::bookings_on(&store, &town, date).await }
    });
    let days: Vec<_> = futures::stream::iter(reads).buffered(CONCURRENT_DAYS).collect().await;
    let mut out = Vec::new();
    for day in days {
        out.extend(day?);
    }
    Ok(out)
}

fn previous_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this = today.with_day(1).unwrap_or(today);
    let first = this.checked_sub_months(chrono::Months::new(1)).unwrap_or(this);
    (first, this.pred_opt().unwrap_or(this))
}
