//! Staff's queue of régularisations (« Régularisations à traiter »): what changed after billing
//! (a certificate accepted, a request of a billed month decided) and the credit notes carried to
//! a family's next invoice. Any staff member reads it; the administrator issues a régularisation
//! that gives money back at once as a credit note on the invoice it cites, or marks a carried
//! amount refunded by the régie. What is left open is settled by the family's next invoice
//! (`run.rs`). Rules in [`domain::regularisation`].

use crate::AppState;
use crate::corrections::{self, Purpose, regularisation_closed};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use domain::credit::CreditNote;
use domain::regularisation::{Regularisation, What};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Path, Problem};
use serde::Serialize;
use store::audit;
use store::{regularisations, repo};

#[derive(Serialize)]
pub struct QueueEntry {
    pub family_name: String,
    /// « Régularisation facture 2026-000012 : absence justifiée du 15/12 (Léa Martin, Cantine) »
    pub label: String,
    #[serde(flatten)]
    pub regularisation: Regularisation,
}

/// The town's open régularisations, oldest first, with the family's name.
pub async fn queue(State(state): State<AppState>, Staff(caller): Staff) -> Result<AxumJson<Vec<QueueEntry>>, Problem> {
    let store = &state.auth.store;
    let open = regularisations::open(store, &caller.town).await?;
    let families = repo::all_families(store, &caller.town).await?;
    Ok(AxumJson(
        open.into_iter()
            .map(|r| QueueEntry {
                family_name: corrections::name_of(&families, &r.family),
                label: format!("Régularisation {} : {}", r.cites(), r.label()),
                regularisation: r,
            })
            .collect(),
    ))
}

/// The open régularisation `id` of a family that gives money back, or the problem why not.
async fn giving_back(
    state: &AppState,
    caller: &edge::http::auth::Caller,
    family: &str,
    id: &str,
) -> Result<Regularisation, Problem> {
    let reference = caller.family(family)?;
    let r = regularisations::get(&state.auth.store, &caller.town, &reference, id)
        .await?
        .ok_or_else(|| Problem::not_found("unknown_regularisation", "Cette régularisation est introuvable."))?;
    if !r.is_open() {
        return Err(regularisation_closed());
    }
    if !r.gives_back() {
        return Err(Problem::unprocessable(
            "regularisation_not_credit",
            "Cette régularisation est due par la famille : elle sera facturée sur sa prochaine facture.",
        ));
    }
    Ok(r)
}

/// Issues a régularisation that gives money back at once, as a credit note on the invoice it
/// cites (town administrator); emailed as credit notes are.
pub async fn credit_note(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<(StatusCode, AxumJson<CreditNote>), Problem> {
    let r = giving_back(&state, &caller, &family, &id).await?;
    if !matches!(r.what, What::Booking { .. }) || r.invoice.is_none() {
        return Err(Problem::unprocessable(
            "regularisation_not_credit",
            "Cette régularisation ne cite pas de facture à corriger : elle sera déduite de la prochaine facture, ou remboursée.",
        ));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let note = corrections::issue(
        (&state.auth.store, &state.public_url),
        &town,
        &r.family,
        r.month,
        &[],
        &format!("Régularisation : {}", r.label()),
        Purpose::Regularisation(&r),
        now,
        caller.session.email.as_str(),
    )
    .await?;
    Ok((StatusCode::CREATED, AxumJson(note)))
}

/// Marks what a régularisation still gives back as refunded by the régie (town administrator):
/// no later invoice deducts it. Audited.
pub async fn refund(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<AxumJson<Regularisation>, Problem> {
    let r = giving_back(&state, &caller, &family, &id).await?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let after = r.refunded(town.today(now), by);
    let entry = audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.refund".into(),
        target: format!("invoices/{}/{}", r.family, r.month),
        before: serde_json::to_value(&r).ok(),
        after: serde_json::to_value(&after).ok(),
    };
    let ops = vec![regularisations::settle(town.id(), &r, &after)?, entry.record(town.id())?];
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(AxumJson(after)),
        Err(store::StoreError::TransactionCanceled { .. }) => Err(regularisation_closed()),
        Err(e) => Err(e.into()),
    }
}
