//! « Mes factures » for a family: its published invoices with their status, one invoice with its
//! lines, credit notes and contests, its PDF, and contesting one of its lines. A guardian sees
//! an invoice from its publication date; staff see every invoice (they read a family's page
//! from their side too).

use crate::corrections;
use crate::payments;
use crate::publish;
use crate::{AppState, pdf};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Cents;
use domain::billing::{self, Invoice};
use domain::credit::{self, Contest, CreditNote, Status};
use domain::payment::{self, Payment, PaymentView};
use domain::regularisation;
use edge::http::auth::Caller;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::{Query, SkRange, keys, regularisations, repo};

/// The most invoices a family's list shows (three years of months).
pub const MAX_LISTED: usize = 36;

#[derive(Serialize)]
pub struct InvoiceSummary {
    pub number: String,
    pub month: String,
    pub label: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub total: Cents,
    pub credited: Cents,
    pub paid: Cents,
    pub left_to_pay: Cents,
    pub status: Status,
    /// « À payer », « En retard », « Payée », « Soldée par avoir », « Annulée », « Transmise au
    /// Trésor public »
    pub status_label: &'static str,
    /// A PayFiP payment started and not answered yet (« Paiement en cours »).
    pub payment_in_progress: bool,
    /// Whether « Payer en ligne » is offered: something left to pay, the town takes PayFiP, no
    /// payment in progress, not left to a direct debit.
    pub payable_online: bool,
    /// « Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189 » under a mandate, « 3,00 €
    /// prélevés le … » once collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<String>,
}

impl InvoiceSummary {
    pub fn of(i: &Invoice, today: NaiveDate, now: DateTime<Utc>, online: bool) -> InvoiceSummary {
        let status = credit::status(i, today);
        let in_progress = i.online.as_ref().is_some_and(|o| o.in_progress(now));
        InvoiceSummary {
            number: i.number.clone(),
            month: i.month.clone(),
            label: billing::month(&i.month).map(|(first, _)| domain::fr::month(first)).unwrap_or_default(),
            issued_on: i.issued_on,
            due_on: i.due_on,
            total: i.total,
            credited: i.credited,
            paid: i.paid,
            left_to_pay: payment::left_to_pay(i),
            status,
            status_label: status.french(),
            payment_in_progress: in_progress,
            payable_online: online && !in_progress && payment::payable(i).is_ok(),
            direct_debit: None,
        }
    }

    /// The summary of an invoice of a family with `mandate`: its debit said, due on its
    /// collection date, not payable online.
    pub fn with_mandate(
        mut self,
        town: &domain::config::Town,
        mandate: Option<&domain::debit::Mandate>,
        i: &Invoice,
        today: NaiveDate,
    ) -> InvoiceSummary {
        if let Some(standing) = crate::debits::standing(town, mandate, i, today) {
            self.direct_debit = Some(standing.label(mandate.map(|m| m.iban.as_str())));
            self.due_on = standing.due_on(i);
            self.status = credit::status_due(i, self.due_on, today);
            self.status_label = self.status.french();
        }
        if crate::debits::by_debit(town, mandate, i) {
            self.payable_online = false;
        }
        self
    }
}

fn unknown() -> Problem {
    Problem::not_found("unknown_invoice", "Cette facture est introuvable.")
}

/// Whether `caller` may read invoices of `month`: staff always, a guardian from its publication.
async fn visible(state: &AppState, caller: &Caller, month: &str, today: NaiveDate) -> Result<bool, Problem> {
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
    let mandate = crate::debits::mandate_of(&state.auth.store, &caller.town, &reference).await?;
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

/// Whether the town takes payments online (its PayFiP account, and the portal's gateway).
pub fn online_offered(state: &AppState, town: &domain::config::Town) -> bool {
    state.payfip.is_some() && town.config().billing.payfip.is_some()
}

/// A credit note with where its money went (« Déduit du reste à payer de la facture … », « Sera
/// déduit de votre prochaine facture », « Déduit de la facture … », « Remboursé le … »).
#[derive(Serialize)]
pub struct CreditNoteView {
    #[serde(flatten)]
    pub note: CreditNote,
    pub destination: String,
}

/// The family's credit notes `notes`, each with where its money went.
pub async fn with_destinations(
    store: &store::Store,
    town: &domain::TownId,
    family: &domain::FamilyRef,
    notes: Vec<CreditNote>,
) -> Result<Vec<CreditNoteView>, Problem> {
    let carried = regularisations::of_family(store, town, family, "AV-").await?;
    Ok(notes
        .into_iter()
        .map(|note| {
            let destination = regularisation::destination(&note, carried.iter().find(|r| r.id == note.number));
            CreditNoteView { note, destination }
        })
        .collect())
}

/// The credit notes of one invoice, each with where its money went.
pub async fn credit_notes_on(
    store: &store::Store,
    town: &domain::TownId,
    i: &Invoice,
) -> Result<Vec<CreditNoteView>, Problem> {
    let notes = corrections::credit_notes_of(store, town, &i.family, 200).await?;
    with_destinations(store, town, &i.family, notes.into_iter().filter(|n| n.corrects == i.number).collect()).await
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
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    if !visible(&state, &caller, &month, today).await? {
        return Err(unknown());
    }
    let invoice = corrections::invoice(&state.auth.store, &caller.town, &reference, &month).await?;
    let (credit_notes, contests) = corrections_of(&state, &caller.town, &invoice).await?;
    let payments = payments::payments_on(&state.auth.store, &caller.town, &invoice).await?;
    let mandate = crate::debits::mandate_of(&state.auth.store, &caller.town, &reference).await?;
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
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = town.today(state.auth.clock.now());
    if !visible(&state, &caller, &month, today).await? {
        return Err(unknown());
    }
    let store = &state.auth.store;
    let invoice = corrections::invoice(store, &caller.town, &reference, &month).await?;
    let household = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown)?;
    let credit_notes = credit_notes_on(store, &caller.town, &invoice).await?;
    let payments = payments::payments_on(store, &caller.town, &invoice).await?;
    let payments: Vec<PaymentView> = payments.iter().map(|p| PaymentView::of(p, today)).collect();
    let mandate = crate::debits::mandate_of(store, &caller.town, &reference).await?;
    let due = crate::debits::due_line(&town, mandate.as_ref(), &invoice, today);
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
    let invoice = corrections::invoice(store, &caller.town, &reference, &p.month).await?;
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
) -> Result<(StatusCode, AxumJson<payments::Started>), Problem> {
    let reference = caller.own_family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    if !visible(&state, &caller, &month, town.today(now)).await? {
        return Err(unknown());
    }
    let store = &state.auth.store;
    let invoice = corrections::invoice(store, &caller.town, &reference, &month).await?;
    let mandate = crate::debits::mandate_of(store, &caller.town, &reference).await?;
    if crate::debits::by_debit(&town, mandate.as_ref(), &invoice) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "paid_by_direct_debit",
            "Cette facture est payée par prélèvement sur votre compte, selon votre mandat : vous n'avez rien à faire.",
        ));
    }
    let started = payments::start(
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
    pub message: String,
}

/// A guardian contests one line of a published invoice: it goes to staff's queue.
pub async fn contest(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, month)): Path<(String, String, String)>,
    body: Result<Json<ContestBody>, Problem>,
) -> Result<(StatusCode, AxumJson<Contest>), Problem> {
    // Whose invoice first: another family's is unknown, whatever the body says.
    let reference = caller.own_family(&family)?;
    let Json(body) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    if !visible(&state, &caller, &month, town.today(now)).await? {
        return Err(unknown());
    }
    let invoice = corrections::invoice(&state.auth.store, &caller.town, &reference, &month).await?;
    let c = corrections::contest(
        &state.auth.store,
        &town,
        &invoice,
        body.line,
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
