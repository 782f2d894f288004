//! The yearly tax certificate for childcare: a household's certificate for a year that is over,
//! drawn from its invoices and the payments received that year (rules in [`domain::tax`], PDF
//! in [`crate::pdf::certificate`]), in « Mes factures » — a guardian reads their own household's,
//! staff any household's of their town; and its publication (town administrator): each
//! household with a certificate is emailed once, [`PER_CALL`] households a call (the page calls
//! again until none is left), each household's emails written with its mark in one transaction.

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use domain::billing::Invoice;
use domain::config::{TaxCertificateSettings, Town};
use domain::family::Family;
use domain::payment::Payment;
use domain::tax::Certificate;
use domain::{FamilyRef, TownId};
use edge::http::auth::{Admin, Caller};
use edge::http::{self, Path, Problem};
use serde::Serialize;
use services::mail::outbox::Mail;
use services::mail::templates::tax::TaxCertificateReady;
use store::{Cond, Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Households one publication call handles.
pub const PER_CALL: usize = 50;

fn none_for(year: i32) -> Problem {
    Problem::not_found(
        "no_tax_certificate",
        format!(
            "Aucune attestation fiscale pour {year}\u{202F}: aucune somme payée pour la garde d'un enfant de moins de 6 ans."
        ),
    )
}

/// A past year from the path.
fn past_year(year: &str, today: NaiveDate) -> Result<i32, Problem> {
    match year.parse::<i32>() {
        Ok(y) if year.len() == 4 && (2000..today.year()).contains(&y) => Ok(y),
        Ok(y) if year.len() == 4 && y >= today.year() => Err(Problem::not_found(
            "year_not_over",
            "L'attestation fiscale d'une année est disponible à partir du 1er janvier suivant.",
        )),
        _ => Err(Problem::bad_request("invalid_year", "L'année s'écrit sur quatre chiffres (AAAA).")),
    }
}

fn settings(town: &Town) -> Result<&TaxCertificateSettings, Problem> {
    town.config().billing.tax_certificate.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            "tax_certificates_unconfigured",
            "La commune n'a pas configuré l'attestation fiscale (billing.tax_certificate).",
        )
    })
}

/// A household's certificate for `year`, from the store.
async fn certificate_of(
    store: &Store,
    town: &TownId,
    household: &Family,
    year: i32,
    settings: &TaxCertificateSettings,
) -> Result<Certificate, StoreError> {
    let mut children = Vec::new();
    for id in &household.children {
        children.extend(repo::get_child(store, town, id).await?);
    }
    let partition = keys::family_partition(town, &household.reference);
    let of = |prefix: &str| Query::table(partition.clone(), SkRange::Prefix(prefix.into()));
    let invoices: Vec<Invoice> = Item::decode_listed(&store.query_all(&of(keys::INVOICE_PREFIX)).await?);
    let payments: Vec<Payment> = Item::decode_listed(&store.query_all(&of(keys::PAYMENT_PREFIX)).await?);
    Ok(domain::tax::certificate(year, household, &children, &invoices, &payments, settings))
}

/// The household's certificate for `year` (a past year), as a PDF.
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, year)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let reference = caller.family(&family)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = town.today(state.auth.clock.now());
    let y = past_year(&year, today)?;
    let settings = town.config().billing.tax_certificate.as_ref().ok_or_else(|| none_for(y))?;
    let store = &state.auth.store;
    let household = repo::get_family(store, town.id(), &reference).await?.ok_or_else(|| none_for(y))?;
    let cert = certificate_of(store, town.id(), &household, y, settings).await?;
    if cert.children.is_empty() {
        return Err(none_for(y));
    }
    let bytes = crate::pdf::certificate(town.config(), &household, &cert, &settings.signatory, today)
        .map_err(|e| Problem::internal(&e))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"attestation-fiscale-{}.pdf\"", cert.number)),
        ],
        bytes,
    )
        .into_response())
}

/// What a publication call did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// Households emailed by this call.
    pub emailed: usize,
    /// Households this call found with nothing to certify.
    pub without: usize,
    /// Left for the next call.
    pub remaining: usize,
}

/// The mark of a household's publication.
#[derive(Serialize)]
struct Mark<'a> {
    number: &'a str,
    total: domain::Cents,
    at: chrono::DateTime<chrono::Utc>,
}

/// Publishes the year's certificates (town administrator): each household with one is emailed,
/// once; call again while `remaining` is not 0.
pub async fn publish(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, year)): Path<(String, String)>,
) -> Result<AxumJson<Published>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let y = past_year(&year, town.today(now))?;
    let settings = settings(&town)?;
    let store = &state.auth.store;
    let sent: std::collections::BTreeSet<String> = store
        .query_all(&Query::table(keys::tax_certificates_sent(town.id(), y), SkRange::All))
        .await?
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    let mut families = repo::all_families(store, town.id()).await?;
    families.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut out = Published::default();
    for household in families.iter().filter(|f| !sent.contains(f.reference.as_str())) {
        if out.emailed + out.without == PER_CALL {
            out.remaining += 1;
            continue;
        }
        let cert = certificate_of(store, town.id(), household, y, settings).await?;
        let ops = publication(&state, &town, household, &cert, now)?;
        match store.transact(ops).await {
            Ok(()) if cert.children.is_empty() => out.without += 1,
            Ok(()) => out.emailed += 1,
            // Another call published it meanwhile.
            Err(StoreError::TransactionCanceled { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let entry = store::audit::Entry {
        at: now,
        by: caller.session.email.to_string(),
        action: "invoices.tax_certificates_publish".into(),
        target: format!("tax-certificates/{y}"),
        before: None,
        after: serde_json::to_value(&out).ok(),
    };
    store.transact(vec![entry.record(town.id())?]).await?;
    Ok(AxumJson(out))
}

/// A household's mark, and an email to each guardian when it has a certificate.
fn publication(
    state: &AppState,
    town: &Town,
    household: &Family,
    cert: &Certificate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<WriteOp>, StoreError> {
    let reference: &FamilyRef = &household.reference;
    let mark = Mark { number: &cert.number, total: cert.total, at: now };
    let mut ops = vec![WriteOp::Put {
        item: Item::from_value(keys::tax_certificate_sent(town.id(), cert.year, reference), &mark)?,
        cond: Some(Cond::NotExists),
    }];
    if cert.children.is_empty() {
        return Ok(ops);
    }
    for g in &household.guardians {
        let content = TaxCertificateReady {
            town: town.config().name.clone(),
            first_name: g.first_name.clone(),
            public_url: state.public_url.clone(),
            year: cert.year,
            number: cert.number.clone(),
            children: cert.children.iter().map(|c| c.name.clone()).collect(),
            total: cert.total,
        }
        .render();
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    Ok(ops)
}
