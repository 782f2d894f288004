//! SEPA direct debit: families' mandates (entered by staff), the month's collection (each
//! debited invoice recorded as a payment, its guardians told the day and account, the mandate
//! moved from FRST to RCUR, all in one transaction per invoice, once), the pain.008 file for the
//! town's bank built from what the collection recorded, and a debit the bank rejected putting
//! the invoice back to unpaid. Rules in [`domain::debit`].

use crate::AppState;
use crate::mandates::{MandateView, mandate_of};
use crate::payments::{self, Draft, Notice};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::billing::Invoice;
use domain::config::Town;
use domain::debit::{self, Debit, Mandate, MandateAsked, Sequence};
use domain::payment::{self, Method, Payment, Rejection};
use domain::{FamilyRef, Month, TownId};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use services::mail::outbox::Mail;
use services::mail::templates::billing::DebitRejected;
use store::{Cond, Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Invoices one collection call debits (the next call goes on).
pub const PER_CALL: usize = 200;
/// Attempts when the invoice or the sequence moved meanwhile.
const TRIES: usize = 8;

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "direct_debit_unavailable",
        "Le prélèvement n'est pas configuré pour cette commune (identifiant créancier SEPA, compte de la régie).",
    )
}

/// Records a family's mandate from the signed form (any staff member); it replaces the one
/// before, and starts again with a first debit (FRST).
pub async fn put_mandate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<MandateAsked>, Problem>,
) -> Result<AxumJson<MandateView>, Problem> {
    let reference = caller.family(&family)?;
    let Json(asked) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    repo::get_family(store, town.id(), &reference).await?.ok_or_else(edge::http::auth::unknown_family)?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let m = debit::mandate(&asked, town.today(now), by, now)?;
    let view = MandateView::of(&m);
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.mandate".into(),
        target: format!("families/{reference}/mandate"),
        before: None,
        after: serde_json::to_value(&view).ok(),
    };
    store
        .transact(vec![
            WriteOp::put(Item::from_value(keys::mandate(town.id(), &reference), &m)?),
            entry.record(town.id())?,
        ])
        .await?;
    Ok(AxumJson(view))
}

/// Ends a family's mandate (any staff member): its invoices are paid another way from now on.
pub async fn delete_mandate(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let reference = caller.family(&family)?;
    let store = &state.auth.store;
    let key = keys::mandate(&caller.town, &reference);
    let Some(item) = store.get(&key).await? else {
        return Err(Problem::not_found("unknown_mandate", "Cette famille n'a pas de mandat de prélèvement."));
    };
    let m: Mandate = item.to_value()?;
    let now = state.auth.clock.now();
    let entry = store::audit::Entry {
        at: now,
        by: caller.session.email.to_string(),
        action: "invoices.mandate_end".into(),
        target: format!("families/{reference}/mandate"),
        before: serde_json::to_value(MandateView::of(&m)).ok(),
        after: None,
    };
    store.transact(vec![WriteOp::Delete { key, cond: Some(Cond::Exists) }, entry.record(&caller.town)?]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a collection call did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// Invoices this call debited.
    pub debited: usize,
    /// Invoices of the month debited in all.
    pub total: usize,
    /// Left for the next call.
    pub remaining: usize,
}

/// The month's debits as recorded, by invoice number.
pub async fn debits_of(store: &Store, town: &TownId, month: Month) -> Result<Vec<Debit>, StoreError> {
    let q = Query::table(keys::invoice_runs(town), SkRange::Prefix(format!("DEBIT#{month}#")));
    store.query_all(&q).await?.iter().map(Item::to_value).collect()
}

/// Debits every invoice of `month` left to pay whose family has a mandate: a payment on the
/// collection date per invoice, the guardians told, the mandate on RCUR. Once per invoice
/// (its marker is written with it); at most [`PER_CALL`] a call.
pub async fn collect(
    (store, public_url): (&Store, &str),
    town: &Town,
    month: Month,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Collected, Problem> {
    let settings = town.config().billing.direct_debit.as_ref().ok_or_else(unavailable)?;
    let done: std::collections::BTreeSet<String> =
        debits_of(store, town.id(), month).await?.into_iter().map(|d| d.invoice).collect();
    let mut invoices = crate::run::of_month(store, town.id(), month).await?;
    invoices.sort_by(|a, b| a.number.cmp(&b.number));
    let mut out = Collected { total: done.len(), ..Collected::default() };
    for invoice in invoices.into_iter().filter(|i| !done.contains(&i.number)) {
        let Some(m) = mandate_of(store, town.id(), &invoice.family).await? else { continue };
        if payment::payable(&invoice).is_err() {
            continue;
        }
        if out.debited == PER_CALL {
            out.remaining += 1;
            continue;
        }
        let Some(household) = repo::get_family(store, town.id(), &invoice.family).await? else { continue };
        if debit_one((store, public_url), town, &household, &invoice.family, month, (&m, settings.day), now, by).await?
        {
            out.debited += 1;
            out.total += 1;
        }
    }
    Ok(out)
}

/// Debits one invoice, retrying when it moved meanwhile; `false` when there was nothing to do.
#[allow(clippy::too_many_arguments)]
async fn debit_one(
    (store, public_url): (&Store, &str),
    town: &Town,
    household: &domain::family::Family,
    family: &FamilyRef,
    month: Month,
    (m, day): (&Mandate, u32),
    now: DateTime<Utc>,
    by: &str,
) -> Result<bool, Problem> {
    for _ in 0..TRIES {
        let invoice = crate::corrections::invoice(store, town.id(), family, month).await?;
        let Ok(left) = payment::payable(&invoice) else { return Ok(false) };
        if invoice.online.as_ref().is_some_and(|o| o.in_progress(now)) {
            return Ok(false);
        }
        let on = debit::collection_date(invoice.issued_on, town.today(now), day);
        // A mandate stored with an impossible date (before dates were read strictly) cannot be
        // written in the bank's file: the invoice is left to pay another way.
        if m.signed_on > on || !domain::date::plausible(m.signed_on) {
            return Ok(false);
        }
        let draft = Draft {
            method: Method::DirectDebit,
            amount: left,
            details: Some(format!("Prélèvement SEPA, mandat {} ({})", m.rum, m.sequence.code())),
            received_on: on,
            idop: None,
        };
        let account = debit::masked(&m.iban);
        let notice = Notice::Debit { on, account: &account };
        let extra = |p: &Payment| -> Result<Vec<WriteOp>, StoreError> {
            let record = Debit {
                family: family.clone(),
                invoice: invoice.number.clone(),
                payment: p.number.clone(),
                amount: left,
                on,
                sequence: m.sequence,
                rum: m.rum.clone(),
                iban: m.iban.clone(),
                bic: m.bic.clone(),
                holder: m.holder.clone(),
                signed_on: m.signed_on,
                at: now,
            };
            let next = Mandate { sequence: Sequence::Rcur, ..m.clone() };
            Ok(vec![
                WriteOp::create(Item::from_value(keys::debit(town.id(), month, &invoice.number), &record)?),
                // The same mandate still (not replaced meanwhile).
                WriteOp::Put {
                    item: Item::from_value(keys::mandate(town.id(), family), &next)?,
                    cond: Some(Cond::attr_equals("rum", m.rum.clone())),
                },
            ])
        };
        // The invoice says when it is debited (its version unchanged: the write is conditioned
        // on the one read).
        let marked = Invoice { debit: Some(debit::Mark { on, amount: left, rejected: false }), ..invoice.clone() };
        let recorded =
            payments::record_once((store, public_url), town, household, &marked, (&draft, notice), extra, now, by);
        match recorded.await {
            Ok(_) => return Ok(true),
            Err(StoreError::TransactionCanceled { .. }) => {
                if store.get(&keys::debit(town.id(), month, &invoice.number)).await?.is_some() {
                    return Ok(false);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The month's pain.008.001.08 file: one batch per sequence and collection date, one
/// transaction per debit (end-to-end id: its receipt's number).
pub fn pain008(town: &Town, month: Month, debits: &[Debit]) -> Result<String, String> {
    let settings = town.config().billing.direct_debit.as_ref().ok_or("no direct debit settings")?;
    let creditor_iban = sepa::validate_iban(&settings.iban).map_err(|e| e.to_string())?;
    let creditor_id = sepa::validate_creditor_id(&settings.creditor_id).map_err(|e| e.to_string())?;
    let created = debits.iter().map(|d| d.at).min().ok_or("no debit")?;
    let created = sepa::IsoDateTime::try_from(created).map_err(|e| e.to_string())?;
    let msg_id: String = format!("PRLV-{month}-{}", town.id()).chars().take(35).collect();
    let mut builder = sepa::Pain008Builder::new(settings.name.clone(), msg_id)
        .created_at(created)
        .charset(sepa::CharsetPolicy::Transliterate(debit::TRANSLITERATION));
    let mut batches: std::collections::BTreeMap<(Sequence, NaiveDate), Vec<&Debit>> = std::collections::BTreeMap::new();
    for d in debits {
        batches.entry((d.sequence, d.on)).or_default().push(d);
    }
    for ((sequence, on), list) in batches {
        let date = sepa::IsoDate::try_from(on).map_err(|e| e.to_string())?;
        let mut group = sepa::DirectDebitGroup::new(settings.name.clone(), &creditor_iban, &creditor_id, date)
            .sequence_type(match sequence {
                Sequence::Frst => sepa::SequenceType::Frst,
                Sequence::Rcur => sepa::SequenceType::Rcur,
            });
        if let Some(bic) = &settings.bic {
            group = group.creditor_bic(sepa::validate_bic(bic).map_err(|e| e.to_string())?);
        }
        for d in list {
            let iban = sepa::validate_iban(&d.iban).map_err(|e| e.to_string())?;
            let signed = sepa::IsoDate::try_from(d.signed_on).map_err(|e| e.to_string())?;
            let mut entry = sepa::DirectDebitEntry::new(
                d.rum.clone(),
                signed,
                d.holder.clone(),
                iban,
                d.amount.get(),
                d.payment.clone(),
            )
            .with_description(format!("Facture {} {}", d.invoice, town.config().name));
            if let Some(bic) = &d.bic {
                entry = entry.with_bic(sepa::validate_bic(bic).map_err(|e| e.to_string())?);
            }
            group = group.add_entry(entry);
        }
        builder = builder.add_group(group);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Debits the month's invoices of families with a mandate (town administrator); calling again
/// debits only what is left.
pub async fn run(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
) -> Result<AxumJson<Collected>, Problem> {
    let month = crate::problems::month(&month)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let done =
        collect((&state.auth.store, &state.public_url), &town, month, now, caller.session.email.as_str()).await?;
    Ok(AxumJson(done))
}

/// The month's pain.008 file for the town's bank (town administrator).
pub async fn file(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let month = crate::problems::month(&month)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    town.config().billing.direct_debit.as_ref().ok_or_else(unavailable)?;
    let debits = debits_of(&state.auth.store, town.id(), month).await?;
    if debits.is_empty() {
        return Err(Problem::not_found("no_debits", "Aucun prélèvement n'a été fait pour ce mois."));
    }
    // Debits recorded with a date the bank's file cannot hold (a mandate stored before dates
    // were read strictly): said, not a 500.
    let unwritable: Vec<&str> = debits
        .iter()
        .filter(|d| !domain::date::plausible(d.signed_on) || !domain::date::plausible(d.on))
        .map(|d| d.invoice.as_str())
        .collect();
    if !unwritable.is_empty() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "debit_dates_invalid",
            format!(
                "Le fichier de prélèvement ne peut pas être établi : une date de mandat est invalide (factures {}). Corrigez le mandat de ces familles puis contactez l'assistance.",
                unwritable.join(", ")
            ),
        ));
    }
    let xml = pain008(&town, month, &debits).map_err(|e| Problem::internal(&e))?;
    let name = format!("prelevements-{}-{month}.xml", town.id());
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/xml".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        xml,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// The bank's reason (« AM04 provision insuffisante »…).
    pub reason: String,
    /// The day the bank returned it; today when absent.
    pub on: Option<NaiveDate>,
}

/// A debit the family's bank returned (town administrator): the payment is marked rejected,
/// the invoice is to pay again (at the desk or online), the guardians are told; a first debit
/// rejected leaves the mandate on FRST.
pub async fn reject(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, number)): Path<(String, String, String)>,
    body: Result<Json<RejectBody>, Problem>,
) -> Result<AxumJson<Payment>, Problem> {
    let reference = caller.family(&family)?;
    let Json(body) = body?;
    let reason = domain::credit::reason(&body.reason)
        .map_err(|r| Problem::unprocessable(r.code(), r.french()).field("reason"))?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let unknown = || Problem::not_found("unknown_receipt", "Ce paiement est introuvable.");
    if number.len() > 40 {
        return Err(unknown());
    }
    let household = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown)?;
    for _ in 0..TRIES {
        let p: Payment =
            store.get(&keys::payment(town.id(), &reference, &number)).await?.ok_or_else(unknown)?.to_value()?;
        if p.method != Method::DirectDebit {
            return Err(Problem::unprocessable("not_a_debit", "Seul un prélèvement peut être rejeté par la banque."));
        }
        if p.rejected.is_some() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "already_rejected",
                "Ce prélèvement est déjà enregistré comme rejeté.",
            ));
        }
        let invoice = crate::corrections::invoice(store, town.id(), &reference, p.month).await?;
        let record: Option<Debit> =
            store.get(&keys::debit(town.id(), p.month, &p.invoice)).await?.map(|i| i.to_value()).transpose()?;
        let rejected = Payment {
            rejected: Some(Rejection {
                on: body.on.unwrap_or_else(|| town.today(now)),
                reason: reason.clone(),
                by: caller.session.email.to_string(),
            }),
            ..p.clone()
        };
        let mut after = invoice.clone();
        after.paid = after.paid.minus(p.amount);
        after.debit =
            Some(debit::Mark { on: after.debit.map_or(p.received_on, |d| d.on), amount: p.amount, rejected: true });
        let not_yet = Cond::AttrsEqual([("rejected".to_owned(), serde_json::Value::Null)].into_iter().collect());
        let mut ops = vec![
            WriteOp::Put {
                item: Item::from_value(keys::payment(town.id(), &reference, &number), &rejected)?,
                cond: Some(not_yet),
            },
            crate::run::invoice_change(town.id(), &invoice, &mut after)?,
        ];
        // A first debit rejected: the next one is a first one again, under the same mandate.
        if let (Some(d), Some(m)) = (&record, mandate_of(store, town.id(), &reference).await?)
            && d.sequence == Sequence::Frst
            && m.rum == d.rum
        {
            let back = Mandate { sequence: Sequence::Frst, ..m };
            ops.push(WriteOp::Put {
                item: Item::from_value(keys::mandate(town.id(), &reference), &back)?,
                cond: Some(Cond::attr_equals("rum", d.rum.clone())),
            });
        }
        let entry = store::audit::Entry {
            at: now,
            by: caller.session.email.to_string(),
            action: "invoices.debit_rejected".into(),
            target: format!("invoices/{reference}/{}", p.month),
            before: None,
            after: serde_json::to_value(&rejected).ok(),
        };
        ops.push(entry.record(town.id())?);
        for g in &household.guardians {
            let content = DebitRejected {
                town: town.config().name.clone(),
                first_name: g.first_name.clone(),
                public_url: state.public_url.to_string(),
                invoice: p.invoice.clone(),
                amount: p.amount,
                left_to_pay: payment::left_to_pay(&after),
            }
            .render();
            ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(AxumJson(rejected)),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
