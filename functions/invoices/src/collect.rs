//! Staff collecting what families owe: counter payments (any staff member: the agent at the
//! desk takes the cheque), the unpaid list by age with its CSV, the handover of an unpaid
//! invoice to the Trésor public, and the PayFiP operations that did not match (the
//! administrator).

use crate::corrections;
use crate::payments;
use crate::{AppState, views::InvoiceSummary};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use domain::Cents;
use domain::payfip::Operation;
use domain::payment::{self, Age, Method, Payment};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::repo;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterBody {
    pub method: Method,
    /// Cents.
    pub amount: Cents,
    /// The day the money was received; today when absent.
    pub received_on: Option<NaiveDate>,
    pub cheque_number: Option<String>,
    /// A cheque's bank, a transfer's reference, a count of CESU or chèques-vacances.
    pub details: Option<String>,
}

/// Records a payment received at the counter; the family gets its receipt by email.
pub async fn counter(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, month)): Path<(String, String, String)>,
    body: Result<Json<CounterBody>, Problem>,
) -> Result<(StatusCode, AxumJson<Payment>), Problem> {
    let month = crate::problems::invoice_month(&month)?;
    let reference = caller.family(&family)?;
    let Json(body) = body?;
    match body.method {
        Method::Payfip => {
            return Err(Problem::unprocessable(
                "payfip_not_at_counter",
                "Un paiement PayFiP est enregistré par PayFiP lui-même, pas au guichet.",
            )
            .field("method"));
        }
        Method::DirectDebit => {
            return Err(Problem::unprocessable(
                "debit_not_at_counter",
                "Un prélèvement est enregistré par la campagne de prélèvement du mois, pas au guichet.",
            )
            .field("method"));
        }
        _ => {}
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let asked = payment::Counter {
        method: body.method,
        amount: body.amount,
        received_on: body.received_on.unwrap_or_else(|| town.today(now)),
        cheque_number: body.cheque_number,
        details: body.details,
    };
    let p = payments::counter(
        (&state.auth.store, &state.public_url),
        &town,
        &reference,
        month,
        &asked,
        now,
        caller.session.email.as_str(),
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(p)))
}

/// Hands an unpaid invoice past its due date to the Trésor public (town administrator).
pub async fn transmit(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, month)): Path<(String, String, String)>,
) -> Result<AxumJson<InvoiceSummary>, Problem> {
    let month = crate::problems::invoice_month(&month)?;
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let after =
        payments::transmit(&state.auth.store, &town, &reference, month, now, caller.session.email.as_str()).await?;
    Ok(AxumJson(InvoiceSummary::of(&after, town.today(now), now, false)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnpaidQuery {
    /// `csv` for the spreadsheet.
    pub format: Option<String>,
}

#[derive(Serialize)]
pub struct UnpaidInvoice {
    pub family: String,
    pub family_name: String,
    pub age: Age,
    pub age_label: &'static str,
    pub days_late: i64,
    #[serde(flatten)]
    pub summary: InvoiceSummary,
}

#[derive(Serialize)]
pub struct Bracket {
    pub age: Age,
    pub label: &'static str,
    pub count: usize,
    pub left_to_pay: Cents,
}

#[derive(Serialize)]
pub struct Unpaid {
    pub today: NaiveDate,
    pub brackets: Vec<Bracket>,
    pub total: Cents,
    /// Oldest due date first.
    pub invoices: Vec<UnpaidInvoice>,
}

/// What families still owe, by age (not due yet, 0–30, 31–60, over 60 days late), oldest first;
/// `?format=csv` for the spreadsheet.
pub async fn unpaid(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<UnpaidQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(Problem::bad_request("invalid_format", "Le format est json ou csv.").field("format"));
        }
    };
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let store = &state.auth.store;
    let families = repo::all_families(store, town.id()).await?;
    let online = crate::views::online_offered(&state, &town);
    let mut mandates = std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for i in crate::reminders::unpaid(store, &town, today).await? {
        if !mandates.contains_key(&i.family) {
            mandates.insert(i.family.clone(), crate::mandates::mandate_of(store, town.id(), &i.family).await?);
        }
        let mandate = mandates.get(&i.family).and_then(Option::as_ref);
        // Due on its collection date under a mandate: not late while the debit is to come.
        let summary = InvoiceSummary::of(&i, today, now, online).with_mandate(&town, mandate, &i, today);
        let age = Age::of(summary.due_on, today);
        rows.push(UnpaidInvoice {
            family: i.family.to_string(),
            family_name: corrections::name_of(&families, &i.family),
            age,
            age_label: age.french(),
            days_late: (today - summary.due_on).num_days().max(0),
            summary,
        });
    }
    rows.sort_by(|a, b| a.summary.due_on.cmp(&b.summary.due_on).then_with(|| a.summary.number.cmp(&b.summary.number)));
    if csv {
        let mut out = edge::http::csv::Export::new(&[
            "Numéro",
            "Famille",
            "Référence",
            "Mois",
            "Échéance",
            "Jours de retard",
            "Ancienneté",
            "Montant",
            "Payé",
            "Avoirs",
            "Reste à payer",
            "Prélèvement",
        ])?;
        for r in &rows {
            let s = &r.summary;
            out.row(&[
                s.number.as_str(),
                r.family_name.as_str(),
                r.family.as_str(),
                &s.month.to_string(),
                &domain::fr::date(s.due_on),
                &r.days_late.to_string(),
                r.age_label,
                &s.total.decimal_comma(),
                &s.paid.decimal_comma(),
                &s.credited.decimal_comma(),
                &s.left_to_pay.decimal_comma(),
                s.direct_debit.as_deref().unwrap_or_default(),
            ])?;
        }
        return out.into_response(&format!("impayes-{}-{today}.csv", caller.town));
    }
    let brackets = [Age::NotDue, Age::UpTo30, Age::UpTo60, Age::Over60]
        .into_iter()
        .map(|age| {
            let of: Vec<&UnpaidInvoice> = rows.iter().filter(|r| r.age == age).collect();
            Bracket {
                age,
                label: age.french(),
                count: of.len(),
                left_to_pay: of.iter().fold(Cents::ZERO, |t, r| t + r.summary.left_to_pay),
            }
        })
        .collect();
    let total = rows.iter().fold(Cents::ZERO, |t, r| t + r.summary.left_to_pay);
    Ok(AxumJson(Unpaid { today, brackets, total, invoices: rows }).into_response())
}

/// The PayFiP operations PayFiP called paid but whose details did not match the invoice
/// (town administrator): nothing was recorded; the régie checks with the DGFiP.
pub async fn anomalies(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<AxumJson<Vec<Operation>>, Problem> {
    Ok(AxumJson(crate::settle::anomalies(&state.auth.store, &caller.town, 200).await?))
}
