//! The `invoices` function: « Mes factures ». Post-billing turns a month's bookings and
//! attendance into one bill per family, by the rules of [`domain::billing`]: a family's
//! month to date and as booked to its end (« Novembre, à ce jour : … ; prévu jusqu'à la fin du
//! mois : … »); the administrator's dry run of a month, which writes nothing; finalising a month
//! that is over ([`run`]: numbered invoices, idempotent, resumable); publishing it on a date with
//! its emails ([`publish`]); the invoice's PDF ([`pdf`]); credit notes, cancellations and
//! contests ([`corrections`], rules in [`domain::credit`]); the régularisations after
//! billing ([`regularisations`], rules in [`domain::regularisation`]); staff's lists and a
//! family's account ([`staff`]); payments ([`payments`]: at the counter, [`collect`]; online
//! through PayFiP, [`payfip`] and [`online`]; by SEPA direct debit, [`debits`]; the unpaid
//! list, reminders and the handover to the Trésor public), rules in [`domain::payment`],
//! [`domain::payfip`] and [`domain::debit`].

mod aids;
pub mod certificates;
pub mod collect;
pub mod corrections;
pub mod debits;
pub mod family;
pub mod jobs;
pub mod mandates;
pub mod online;
pub mod payfip;
pub mod payments;
pub mod pdf;
pub mod pes;
pub mod pes_xml;
pub mod problems;
pub mod publish;
pub mod regularisations;
pub mod reminders;
pub mod run;
pub mod settle;
pub mod staff;
pub mod views;

use axum::Json as AxumJson;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use chrono::NaiveDate;
use domain::Cents;
use domain::Month;
use domain::billing::{self, Anomaly, Bill};
use domain::booking::Booking;
use edge::http::auth::{Admin, AuthState, Caller};
use edge::http::{self, Path, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::repo::{self, Towns};

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// The portal's address, for the links in emails and PayFiP's calls back.
    pub public_url: String,
    /// PayFiP's web service; `None`: no invoice is payable online.
    pub payfip: Option<payfip::Gateway>,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/families/{family}/invoices/current", get(current))
        .route("/api/towns/{town}/families/{family}/invoices", get(family::list))
        .route("/api/towns/{town}/families/{family}/invoices/contests", get(family::contests))
        .route("/api/towns/{town}/families/{family}/invoices/{month}", get(family::one))
        .route("/api/towns/{town}/families/{family}/invoices/{month}/pdf", get(family::pdf))
        .route("/api/towns/{town}/families/{family}/tax-certificates/{year}/pdf", get(certificates::pdf))
        .route("/api/towns/{town}/families/{family}/invoices/{month}/contests", post(family::contest))
        .route("/api/towns/{town}/staff/invoices", get(staff::invoices))
        .route("/api/towns/{town}/staff/invoices/preview", get(preview))
        .route("/api/towns/{town}/staff/invoices/runs", get(staff::runs))
        .route("/api/towns/{town}/staff/invoices/runs/{month}/finalise", post(finalise))
        .route("/api/towns/{town}/staff/invoices/runs/{month}/publish", post(staff::publish))
        .route("/api/towns/{town}/staff/invoices/runs/{month}/export", get(export))
        .route("/api/towns/{town}/staff/invoices/aids", get(aids::claim))
        .route("/api/towns/{town}/staff/invoices/families/{family}", get(staff::account))
        .route("/api/towns/{town}/staff/invoices/families/{family}/{month}/credit-notes", post(staff::credit_note))
        .route("/api/towns/{town}/staff/invoices/families/{family}/{month}/cancel", post(staff::cancel))
        .route("/api/towns/{town}/staff/invoices/contests", get(staff::contests))
        .route("/api/towns/{town}/staff/invoices/regularisations", get(regularisations::queue))
        .route(
            "/api/towns/{town}/staff/invoices/regularisations/{family}/{id}/credit-note",
            post(regularisations::credit_note),
        )
        .route("/api/towns/{town}/staff/invoices/regularisations/{family}/{id}/refund", post(regularisations::refund))
        .route("/api/towns/{town}/staff/invoices/contests/{family}/{id}/decision", post(staff::decide))
        .route("/api/towns/{town}/families/{family}/invoices/{month}/payfip", post(family::pay_online))
        .route("/api/towns/{town}/families/{family}/payments/{number}/pdf", get(family::receipt))
        .route("/api/towns/{town}/payfip/notification", post(online::notification))
        .route("/api/towns/{town}/payfip/return", get(online::back).post(online::back))
        .route("/api/towns/{town}/staff/invoices/families/{family}/{month}/payments", post(collect::counter))
        .route("/api/towns/{town}/staff/invoices/families/{family}/{month}/transmit", post(collect::transmit))
        .route("/api/towns/{town}/staff/invoices/unpaid", get(collect::unpaid))
        .route("/api/towns/{town}/staff/invoices/payfip/anomalies", get(collect::anomalies))
        .route(
            "/api/towns/{town}/staff/invoices/families/{family}/mandate",
            axum::routing::put(debits::put_mandate).delete(debits::delete_mandate),
        )
        .route("/api/towns/{town}/staff/invoices/runs/{month}/debits", post(debits::run).get(debits::file))
        .route("/api/towns/{town}/staff/invoices/runs/{month}/pes", post(pes::create))
        .route("/api/towns/{town}/staff/invoices/pes", get(pes::list))
        .route("/api/towns/{town}/staff/invoices/pes/{id}", get(pes::download))
        .route("/api/towns/{town}/staff/invoices/tax-certificates/{year}/publish", post(certificates::publish))
        .route("/api/towns/{town}/staff/invoices/families/{family}/payments/{number}/reject", post(debits::reject))
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
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(edge::http::auth::unknown_family)?;
    let today = town.today(state.auth.clock.now());
    let (first, last) = billing::month_of(today);
    let mut bookings = Vec::new();
    for child in &family.children {
        // A shared child's bookings by the other household are theirs, and billed to them.
        bookings.extend(
            repo::bookings(store, town.id(), child, first, last).await?.into_iter().filter(|b| b.family == reference),
        );
    }
    let mut names = BTreeMap::new();
    let mut records = BTreeMap::new();
    for child in &family.children {
        if let Some(c) = repo::get_child(store, town.id(), child).await? {
            names.insert(c.id.clone(), format!("{} {}", c.first_name, c.last_name));
            records.insert(c.id.clone(), c);
        }
    }
    let families = BTreeMap::from([(reference.clone(), family)]);
    let used = store::regularisations::aids_used_by(store, &town, &reference, domain::Month::of(first)).await?;
    let bill_of = |bookings: &[Booking]| {
        let (mut bills, _) = billing::bills(&town, &families, &records, bookings, today, &used);
        billing::name_children(&mut bills, &names);
        bills.into_iter().next().unwrap_or_else(|| Bill::of_lines(reference.clone(), Vec::new()))
    };
    let past: Vec<Booking> = bookings.iter().filter(|b| b.date <= today).cloned().collect();
    Ok(AxumJson(MonthSoFar {
        month: first.format("%Y-%m").to_string(),
        label: domain::fr::month(first),
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
    /// Where the month stands: to bill, billed on a day, published on a day.
    run: staff::RunSummary,
    /// The families with something to pay; an invoice of 0 € is not issued.
    bills: Vec<NamedBill>,
    /// Families whose bill would be 0 €.
    zero: usize,
    total: Cents,
    anomalies: Vec<NamedAnomaly>,
}

/// A bill with its family's name (« Famille Martin »).
#[derive(Serialize)]
struct NamedBill {
    family_name: String,
    #[serde(flatten)]
    bill: Bill,
}

/// An anomaly with the names staff read: the family's, the child's, the unit's.
#[derive(Serialize)]
struct NamedAnomaly {
    family_name: String,
    child_name: String,
    unit_name: String,
    #[serde(flatten)]
    anomaly: Anomaly,
}

/// The dry run of a month (town administrator): every family's bill and the anomalies (requests
/// still waiting, days without attendance). Nothing is written.
async fn preview(
    State(state): State<AppState>,
    Admin(caller): Admin,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Preview>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = town.today(state.auth.clock.now());
    let (first, last) = match q.month.as_deref() {
        Some(raw) => crate::problems::month(raw).map_err(|p| p.field("month"))?.days(),
        None => billing::previous_month(today),
    };
    if first > today {
        return Err(Problem::unprocessable("future_month", "On ne facture pas un mois à venir.").field("month"));
    }
    let store = &state.auth.store;
    let (bills, anomalies, names) = run::month_bills_named(store, &town, (first, last), today).await?;
    let bills = run::with_regularisations(store, town.id(), bills, Month::of(first)).await?;
    let (due, zero): (Vec<Bill>, Vec<Bill>) = bills.into_iter().partition(Bill::is_due);
    let family_name = |f: &domain::FamilyRef| names.families.get(f).cloned().unwrap_or_else(|| f.to_string());
    let anomalies = anomalies
        .into_iter()
        .map(|anomaly| {
            let (Anomaly::PendingRequest { family, child, unit, .. }
            | Anomaly::NoAttendance { family, child, unit, .. }) = &anomaly;
            NamedAnomaly {
                family_name: family_name(family),
                child_name: names.children.get(child).cloned().unwrap_or_else(|| child.to_string()),
                unit_name: town.unit(unit).map_or_else(|| unit.to_string(), |(_, u)| u.name.clone()),
                anomaly,
            }
        })
        .collect();
    Ok(AxumJson(Preview {
        month: first.format("%Y-%m").to_string(),
        label: domain::fr::month(first),
        complete: billing::month_over(last, today),
        run: staff::run_of(store, town.id(), Month::of(first)).await?,
        total: due.iter().fold(Cents::ZERO, |t, b| t + b.total),
        zero: zero.len(),
        bills: due.into_iter().map(|bill| NamedBill { family_name: family_name(&bill.family), bill }).collect(),
        anomalies,
    }))
}

/// Finalises a month that is over (town administrator): the missing invoices are issued and
/// numbered; calling again goes on where the last call stopped, and issues nothing twice.
async fn finalise(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
) -> Result<AxumJson<run::Finalised>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let month = crate::problems::month(&month)?;
    let (first, last) = month.days();
    let now = state.auth.clock.now();
    if !billing::month_over(last, town.today(now)) {
        return Err(Problem::unprocessable(
            "month_not_over",
            "Un mois se facture une fois terminé : sa facturation sera possible le lendemain de son dernier jour.",
        ));
    }
    Ok(AxumJson(run::finalise(&state.auth.store, &town, (first, last), now, caller.session.email.as_str()).await?))
}

/// A month's invoices for the town's accounting (town administrator): a CSV French spreadsheets
/// open (UTF-8 with BOM, `;`, amounts with a decimal comma), one row per invoice.
async fn export(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
) -> Result<axum::response::Response, Problem> {
    let month = crate::problems::month(&month)?;
    let store = &state.auth.store;
    let names: BTreeMap<_, String> =
        repo::all_families(store, &caller.town).await?.into_iter().map(|f| (f.reference, f.name)).collect();
    let mut invoices = run::of_month(store, &caller.town, month).await?;
    invoices.sort_by(|a, b| a.number.cmp(&b.number));
    let mut csv =
        edge::http::csv::Export::new(&["Numéro", "Famille", "Référence", "Mois", "Émise le", "Échéance", "Montant"])?;
    for i in &invoices {
        csv.row(&[
            i.number.as_str(),
            names.get(&i.family).map_or("", String::as_str),
            i.family.as_str(),
            &i.month.to_string(),
            &domain::fr::date(i.issued_on),
            &domain::fr::date(i.due_on),
            &i.total.decimal_comma(),
        ])?;
    }
    csv.into_response(&format!("factures-{}-{month}.csv", caller.town))
}
