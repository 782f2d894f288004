//! « Mes factures » for a family: its published invoices with their status, one invoice with its
//! lines, credit notes and contests, its PDF, and contesting one of its lines. A guardian sees
//! an invoice from its publication date; staff see every invoice (they read a family's page
//! from their side too).

use crate::corrections;
use crate::payments;
use crate::publish;
use crate::views::{CreditNoteView, InvoiceSummary, credit_notes_on, online_offered};
use crate::{AppState, pdf};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use domain::Month;
use domain::billing::Invoice;
use domain::credit::{self, Contest};
use domain::payment::{Payment, PaymentView};
use edge::http::auth::Caller;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Query, SkRange, keys, repo};

/// The most invoices a family's list shows (three years of months).
pub const MAX_LISTED: usize = 36;

fn unknown() -> Problem {
    Problem::not_found("unknown_invoice", "Cette facture est introuvable.")
}

/// The month a path names: one that cannot be is an invoice that does not exist.
fn month_of_path(raw: &str) -> Result<Month, Problem> {
    Month::parse(raw).map_err(|_| unknown())
}

/// Whether `caller` may read invoices of `month`: staff always, a guardian from its publication.
async fn visible(state: &AppState, caller: &Caller, month: Month, today: NaiveDate) -> Result<bool, Problem> {
    if caller.session.role.is_staff() {
        return Ok(true);
    }
    let item = state.auth.store.get(&keys::publication(&caller.town, month)).await?;
    Ok(match item {
        Some(i) => i.to_value::<credit::Publication>()?.visible(today),
        None => false,
    })
}

/// The family's invoices, newest first (the last [`MAX_LISTED`]), with their status.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Vec<InvoiceSummary>>, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let online = online_offered(&state, &town);
    let query =
        Query::table(keys::family_partition(&caller.town, &reference), SkRange::Prefix(keys::INVOICE_PREFIX.into()))
            .descending()
            .limit(MAX_LISTED);
    let page = state.auth.store.query(&query).await?;
    let published = publish::publications(&state.auth.store, &caller.town).await?;
    let mandate = crate::mandates::mandate_of(&state.auth.store, &caller.town, &reference).await?;
    let staff = caller.session.role.is_staff();
    let mut out = Vec::new();
    for item in page.items {
        let i: Invoice = item.to_value()?;
        if staff || published.get(&i.month).is_some_and(|p| p.visible(today)) {
            out.push(InvoiceSummary::of(&i, today, now, online).with_mandate(&town, mandate.as_ref(), &i, today));
        }
    }
    Ok(AxumJson(out))
}

#[derive(Serialize)]
pub struct InvoiceDetail {
    #[serde(flatten)]
    pub invoice: Invoice,
    #[serde(flatten)]
    pub summary: InvoiceSummary,
    pub credit_notes: Vec<CreditNoteView>,
    pub contests: Vec<Contest>,
    pub payments: Vec<PaymentView>,
}

/// The credit notes and contests of one invoice.
pub async fn corrections_of(
    state: &AppState,
    town: &domain::TownId,
    i: &Invoice,
) -> Result<(Vec<CreditNoteView>, Vec<Contest>), Problem> {
    let store = &state.auth.store;
    let contests = corrections::contests_of(store, town, &i.family, 200).await?;
    Ok((credit_notes_on(store, town, i).await?, contests.into_iter().filter(|c| c.invoice == i.number).collect()))
}

/// One of the family's invoices, with its lines, credit notes and contests.
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, month)): Path<(String, String, String)>,
) -> Result<AxumJson<InvoiceDetail>, Problem> {
    let month = month_of_path(&month)?;
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    if !visible(&state, &caller, month, today).await? {
        return Err(unknown());
    }
    let invoice = corrections::invoice(&state.auth.store, &caller.town, &reference, month).await?;
    let (credit_notes, contests) = corrections_of(&state, &caller.town, &invoice).await?;
    let payments = payments::payments_on(&state.auth.store, &caller.town, &invoice).await?;
    let mandate = crate::mandates::mandate_of(&state.auth.store, &caller.town, &reference).await?;
    Ok(AxumJson(InvoiceDetail {
        summary: InvoiceSummary::of(&invoice, today, now, online_offered(&state, &town)).with_mandate(
            &town,
            mandate.as_ref(),
            &invoice,
            today,
        ),
        invoice,
        credit_notes,
        contests,
        payments: payments.iter().map(|p| PaymentView::of(p, today)).collect(),
    }))
}

/// The invoice as a PDF (`facture-2026-000002.pdf`).
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, month)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let month = month_of_path(&month)?;
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = town.today(state.auth.clock.now());
    if !visible(&state, &caller, month, today).await? {
        return Err(unknown());
    }
    let store = &state.auth.store;
    let invoice = corrections::invoice(store, &caller.town, &reference, month).await?;
    let household = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown)?;
    let credit_notes = credit_notes_on(store, &caller.town, &invoice).await?;
    let payments = payments::payments_on(store, &caller.town, &invoice).await?;
    let payments: Vec<PaymentView> = payments.iter().map(|p| PaymentView::of(p, today)).collect();
    let mandate = crate::mandates::mandate_of(store, &caller.town, &reference).await?;
    let due = crate::mandates::due_line(&town, mandate.as_ref(), &invoice, today);
    let sheet = pdf::Sheet {
        town: town.config(),
        family: &household,
        invoice: &invoice,
        credit_notes: &credit_notes,
        payments: &payments,
        due: &due,
    };
    let bytes = pdf::invoice(&sheet).map_err(|e| Problem::internal(&e))?;
    Ok(pdf_response(bytes, &format!("facture-{}.pdf", invoice.number)))
}

fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// A payment's receipt (« quittance ») as a PDF (`quittance-Q-2026-000001.pdf`).
pub async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, number)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let not_found = || Problem::not_found("unknown_receipt", "Cette quittance est introuvable.");
    if number.len() > 40 {
        return Err(not_found());
    }
    let item = store.get(&keys::payment(&caller.town, &reference, &number)).await?.ok_or_else(not_found)?;
    let p: Payment = item.to_value()?;
    // A direct debit is received on its collection date: no receipt before, nor once rejected.
    if !PaymentView::of(&p, town.today(state.auth.clock.now())).collected {
        let why = match p.rejected {
            Some(_) => "Ce prélèvement a été rejeté par la banque : il n'a pas de quittance.".to_owned(),
            None => format!(
                "Ce prélèvement est prévu le {} : sa quittance existera une fois l'argent encaissé.",
                domain::fr::date(p.received_on)
            ),
        };
        return Err(Problem::new(StatusCode::CONFLICT, "debit_not_collected", why));
    }
    let invoice = corrections::invoice(store, &caller.town, &reference, p.month).await?;
    let household = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(not_found)?;
    let bytes = pdf::receipt(town.config(), &household, &invoice, &p).map_err(|e| Problem::internal(&e))?;
    Ok(pdf_response(bytes, &format!("quittance-{}.pdf", p.number)))
}

/// « Payer en ligne »: a guardian starts paying what is left of a published invoice through
/// PayFiP; the answer says where to send the browser.
pub async fn pay_online(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, month)): Path<(String, String, String)>,
) -> Result<(StatusCode, AxumJson<crate::settle::Started>), Problem> {
    let month = month_of_path(&month)?;
    let reference = caller.own_family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    if !visible(&state, &caller, month, town.today(now)).await? {
        return Err(unknown());
    }
    let store = &state.auth.store;
    let invoice = corrections::invoice(store, &caller.town, &reference, month).await?;
    let mandate = crate::mandates::mandate_of(store, &caller.town, &reference).await?;
    if crate::mandates::by_debit(&town, mandate.as_ref(), &invoice) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "paid_by_direct_debit",
            "Cette facture est payée par prélèvement sur votre compte, selon votre mandat : vous n'avez rien à faire.",
        ));
    }
    let started = crate::settle::start(
        (store, &state.public_url, state.payfip.as_ref()),
        &town,
        &invoice,
        caller.session.email.as_str(),
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(started)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestBody {
    /// The line's index on the invoice.
    pub line: usize,
    /// Some of the line's days (`YYYY-MM-DD`); absent or empty: the whole line.
    #[serde(default)]
    pub days: Vec<chrono::NaiveDate>,
    pub message: String,
}

/// A guardian contests one line of a published invoice, or some of its days: it goes to
/// staff's queue.
pub async fn contest(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, month)): Path<(String, String, String)>,
    body: Result<Json<ContestBody>, Problem>,
) -> Result<(StatusCode, AxumJson<Contest>), Problem> {
    let month = month_of_path(&month)?;
    // Whose invoice first: another family's is unknown, whatever the body says.
    let reference = caller.own_family(&family)?;
    let Json(body) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    if !visible(&state, &caller, month, town.today(now)).await? {
        return Err(unknown());
    }
    let invoice = corrections::invoice(&state.auth.store, &caller.town, &reference, month).await?;
    let c = corrections::contest(
        &state.auth.store,
        &town,
        &invoice,
        body.line,
        &body.days,
        &body.message,
        now,
        caller.session.email.as_str(),
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(c)))
}

/// The family's contests and their answers, newest first.
pub async fn contests(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Vec<Contest>>, Problem> {
    let reference = caller.family(&family)?;
    Ok(AxumJson(corrections::contests_of(&state.auth.store, &caller.town, &reference, 100).await?))
}
