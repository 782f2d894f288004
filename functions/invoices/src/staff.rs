//! Staff's side of billing: the runs and their publication, a month's invoices with filters, a
//! family's account (invoices, credit notes, payments, balance), credit notes and cancellations (the
//! administrator), and the contests' queue with its answers (any staff member: a contest is
//! accepted for at most the contested line). Every change is audited.

use crate::corrections::{self, Purpose};
use crate::publish::{self, PublishError, Published};
use crate::views::InvoiceSummary;
use crate::{AppState, run};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::Cents;
use domain::Month;
use domain::billing::{Invoice, RunStatus};
use domain::credit::{self, Contest, CreditAsked, CreditNote, Publication, Status};
use domain::payment;
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Item, SkRange, keys, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The day families see the month's invoices (today or later).
    pub on: NaiveDate,
}

/// Publishes a finalised month on a date (town administrator); calling again queues the emails
/// still missing.
pub async fn publish(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
    Json(body): Json<PublishBody>,
) -> Result<AxumJson<Published>, Problem> {
    let month = crate::problems::month(&month).map_err(|p| p.field("month"))?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let already = state.auth.store.get(&keys::publication(town.id(), month)).await?.is_some();
    if !already {
        credit::check_publication(body.on, town.today(now))?;
    }
    match publish::publish(&state, &town, month, body.on, now, by).await {
        Ok(p) => Ok(AxumJson(p)),
        Err(PublishError::NothingToPublish) => Err(Problem::unprocessable(
            "month_not_finalised",
            "Ce mois n'a pas de facture : facturez-le avant de le publier.",
        )),
        Err(PublishError::OtherDate(on)) => Err(Problem::new(
            StatusCode::CONFLICT,
            "already_published",
            format!("Ce mois est déjà publié pour le {}.", domain::fr::date(on)),
        )),
        Err(PublishError::Store(e)) => Err(e.into()),
    }
}

#[derive(Serialize)]
pub struct RunSummary {
    pub month: Month,
    pub label: String,
    /// `to_bill`, `billed` or `published`.
    pub status: RunStatus,
    pub invoices: i64,
    pub total: Cents,
    /// The day its invoices were last issued (absent for runs issued before it was recorded).
    pub billed_on: Option<NaiveDate>,
    pub publication: Option<Publication>,
}

/// A month's run as stored: invoices issued, their total, the day they were last issued.
#[derive(Default)]
struct RunCounts {
    invoices: i64,
    total: i64,
    billed_on: Option<NaiveDate>,
}

/// The runs of the town's months, from the items under `RUN#`.
fn run_counts(items: &[Item]) -> BTreeMap<Month, RunCounts> {
    let mut by_month: BTreeMap<Month, RunCounts> = BTreeMap::new();
    for item in items {
        let Some(rest) = item.key.sk.strip_prefix("RUN#") else { continue };
        let Some((month, what)) = rest.split_once('#') else { continue };
        let Ok(month) = Month::parse(month) else { continue };
        let entry = by_month.entry(month).or_default();
        match what {
            "N" => entry.invoices = number(item, "invoices"),
            "TOTAL" => entry.total = number(item, "total"),
            "ON" => entry.billed_on = item.to_value::<run::Issued>().ok().map(|i| i.on),
            _ => {}
        }
    }
    by_month
}

/// Where one month stands: its run and publication.
pub async fn run_of(
    store: &store::Store,
    town: &domain::TownId,
    month: Month,
) -> Result<RunSummary, store::StoreError> {
    let items = store
        .query_all(&store::Query::table(keys::invoice_runs(town), SkRange::Prefix(format!("RUN#{month}#"))))
        .await?;
    let counts = run_counts(&items).remove(&month).unwrap_or_default();
    let publication = match store.get(&keys::publication(town, month)).await? {
        Some(item) => Some(item.to_value::<Publication>()?),
        None => None,
    };
    Ok(summary(month, counts, publication))
}

fn summary(month: Month, counts: RunCounts, publication: Option<Publication>) -> RunSummary {
    RunSummary {
        label: month.french(),
        status: RunStatus::of(counts.invoices, counts.billed_on.is_some(), publication.is_some()),
        publication,
        month,
        invoices: counts.invoices,
        total: Cents::new(counts.total).unwrap_or_default(),
        billed_on: counts.billed_on,
    }
}

/// The town's billing runs, newest first: invoices issued, their total, the publication.
pub async fn runs(State(state): State<AppState>, Staff(caller): Staff) -> Result<AxumJson<Vec<RunSummary>>, Problem> {
    let store = &state.auth.store;
    let items =
        store.query_all(&store::Query::table(keys::invoice_runs(&caller.town), SkRange::Prefix("RUN#".into()))).await?;
    let mut published = publish::publications(store, &caller.town).await?;
    let out = run_counts(&items)
        .into_iter()
        .rev()
        .map(|(month, counts)| summary(month, counts, published.remove(&month)))
        .collect();
    Ok(AxumJson(out))
}

fn number(item: &Item, attr: &str) -> i64 {
    item.attrs.get(attr).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoicesQuery {
    pub month: String,
    /// Part of the family's name or reference.
    pub family: Option<String>,
    pub status: Option<Status>,
    /// Amounts in cents, inclusive.
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Serialize)]
pub struct StaffInvoice {
    pub family: String,
    pub family_name: String,
    #[serde(flatten)]
    pub summary: InvoiceSummary,
}

/// A month's invoices, filtered by family, status and amount, by number.
pub async fn invoices(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<InvoicesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<StaffInvoice>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let month = crate::problems::month(&q.month).map_err(|p| p.field("month"))?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let online = crate::views::online_offered(&state, &town);
    let store = &state.auth.store;
    let families = repo::all_families(store, town.id()).await?;
    let needle = q.family.as_deref().map(|f| f.trim().to_lowercase()).unwrap_or_default();
    let mut list = run::of_month(store, town.id(), month).await?;
    list.sort_by(|a, b| a.number.cmp(&b.number));
    let out = list
        .iter()
        .map(|i| StaffInvoice {
            family: i.family.to_string(),
            family_name: corrections::name_of(&families, &i.family),
            summary: InvoiceSummary::of(i, today, now, online),
        })
        .filter(|s| {
            needle.is_empty()
                || s.family.to_lowercase().contains(&needle)
                || s.family_name.to_lowercase().contains(&needle)
        })
        .filter(|s| q.status.is_none_or(|st| s.summary.status == st))
        .filter(|s| {
            q.min.is_none_or(|m| s.summary.total.get() >= m) && q.max.is_none_or(|m| s.summary.total.get() <= m)
        })
        .collect();
    Ok(AxumJson(out))
}

#[derive(Serialize)]
pub struct Account {
    pub family: String,
    pub family_name: String,
    pub invoices: Vec<InvoiceSummary>,
    pub credit_notes: Vec<crate::views::CreditNoteView>,
    pub payments: Vec<payment::PaymentView>,
    /// Invoiced (less régularisations), credited, received and scheduled by direct debit, plus
    /// refunds; the balance in cents (negative: the town owes the family).
    pub balance: payment::Balance,
    /// The SEPA mandate, its IBAN masked.
    pub mandate: Option<crate::mandates::MandateView>,
}

/// One family's account: its invoices, credit notes and balance.
pub async fn account(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Account>, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let online = crate::views::online_offered(&state, &town);
    let store = &state.auth.store;
    let household =
        repo::get_family(store, town.id(), &reference).await?.ok_or_else(edge::http::auth::unknown_family)?;
    let items = store
        .query_all(&store::Query::table(
            keys::family_partition(town.id(), &reference),
            SkRange::Prefix(keys::INVOICE_PREFIX.into()),
        ))
        .await?;
    let mut invoices: Vec<Invoice> = Item::decode_listed(&items);
    invoices.sort_by(|a, b| b.number.cmp(&a.number));
    let notes = corrections::credit_notes_of(store, town.id(), &reference, 500).await?;
    let credit_notes = crate::views::with_destinations(store, town.id(), &reference, notes).await?;
    let payments = crate::payments::payments_of(store, town.id(), &reference, 500).await?;
    // What the régie refunded of what credit notes gave back is money paid back to the family. A
    // booking's régularisation refunded is not: it was never counted (only its deduction on an
    // invoice is), so its refund and what it gave back cancel out.
    let refunded: i64 = store::regularisations::of_family(store, town.id(), &reference, "")
        .await?
        .iter()
        .filter(|r| matches!(r.what, domain::regularisation::What::CreditNote { .. }))
        .flat_map(|r| &r.settled)
        .map(|s| match s {
            domain::regularisation::Settled::Refunded { amount, .. } => amount.get(),
            _ => 0,
        })
        .sum();
    let mut balance = payment::balance(&invoices, today);
    balance.balance += refunded;
    let mandate = crate::mandates::mandate_of(store, town.id(), &reference).await?;
    Ok(AxumJson(Account {
        family: reference.to_string(),
        family_name: household.name,
        invoices: invoices
            .iter()
            .map(|i| InvoiceSummary::of(i, today, now, online).with_mandate(&town, mandate.as_ref(), i, today))
            .collect(),
        credit_notes,
        payments: payments.iter().map(|p| payment::PaymentView::of(p, today)).collect(),
        balance,
        mandate: mandate.as_ref().map(crate::mandates::MandateView::of),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    pub reason: String,
    pub lines: Vec<CreditAsked>,
}

/// The most lines a credit note asks for.
const MAX_CREDIT_LINES: usize = 100;

/// Issues a credit note on an invoice (town administrator).
pub async fn credit_note(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, month)): Path<(String, String, String)>,
    Json(body): Json<CreditBody>,
) -> Result<(StatusCode, AxumJson<CreditNote>), Problem> {
    let month = crate::problems::invoice_month(&month)?;
    let reference = caller.family(&family)?;
    if body.lines.len() > MAX_CREDIT_LINES {
        return Err(Problem::bad_request("too_many_lines", "Un avoir porte sur 100 lignes au plus.").field("lines"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let note = corrections::issue(
        (&state.auth.store, &state.public_url),
        &town,
        &reference,
        month,
        &body.lines,
        &body.reason,
        Purpose::Correction,
        now,
        by,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(note)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
}

/// Cancels an invoice (town administrator): its number stays given, a credit note cancels what
/// was left of it, the family is emailed.
pub async fn cancel(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, month)): Path<(String, String, String)>,
    Json(body): Json<CancelBody>,
) -> Result<(StatusCode, AxumJson<CreditNote>), Problem> {
    let month = crate::problems::invoice_month(&month)?;
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let note = corrections::issue(
        (&state.auth.store, &state.public_url),
        &town,
        &reference,
        month,
        &[],
        &body.reason,
        Purpose::Cancellation,
        now,
        by,
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(note)))
}

#[derive(Serialize)]
pub struct QueuedContest {
    pub family_name: String,
    #[serde(flatten)]
    pub contest: Contest,
}

/// The contests waiting for an answer, oldest first.
pub async fn contests(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<Vec<QueuedContest>>, Problem> {
    let store = &state.auth.store;
    let families = repo::all_families(store, &caller.town).await?;
    let queue = corrections::pending(store, &caller.town).await?;
    Ok(AxumJson(
        queue
            .into_iter()
            .map(|c| QueuedContest { family_name: corrections::name_of(&families, &c.family), contest: c })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub accept: bool,
    /// What the credit note gives back when accepted (cents; at most the line's amount).
    pub amount: Option<Cents>,
    pub reason: String,
}

/// Answers a contest: a credit note on the contested line, or a refusal with its reason.
pub async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, id)): Path<(String, String, String)>,
    Json(body): Json<DecisionBody>,
) -> Result<AxumJson<Contest>, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let unknown = || Problem::not_found("unknown_contest", "Cette contestation est introuvable.");
    if id.len() > 64 {
        return Err(unknown());
    }
    let c: Contest = store.get(&keys::contest(town.id(), &reference, &id)).await?.ok_or_else(unknown)?.to_value()?;
    if !c.is_pending() {
        return Err(corrections::already_answered());
    }
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    if !body.accept {
        return Ok(AxumJson(corrections::refuse(&state, &town, &c, &body.reason, now, by).await?));
    }
    let amount = body.amount.unwrap_or(c.line_amount);
    let asked = [CreditAsked { line: Some(c.line), amount }];
    let note = corrections::issue(
        (&state.auth.store, &state.public_url),
        &town,
        &reference,
        c.month,
        &asked,
        &body.reason,
        Purpose::Contest(&c),
        now,
        by,
    )
    .await?;
    let answered = Contest {
        decision: credit::ContestDecision::Accepted {
            credit_note: note.number,
            amount: note.total,
            decided_by: by.to_owned(),
            decided_at: now,
        },
        ..c
    };
    Ok(AxumJson(answered))
}
