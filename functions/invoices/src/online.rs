//! PayFiP's two calls back to the portal: the notification it sends to `urlnotif` when a payment
//! ends, and the family's return through `urlredirect`. Neither is trusted: each only names an
//! operation, which [`settle::settle`] asks PayFiP about before recording anything. A forged
//! return, a replayed or doubled notification record nothing more than PayFiP says.

use crate::AppState;
use crate::settle::{self, Settled};
use axum::Json as AxumJson;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use edge::http::{self, Path, Problem};
use serde::{Deserialize, Serialize};

/// What PayFiP sends: the operation's id (`idop`; the other fields, if any, are ignored).
#[derive(Deserialize)]
pub struct Callback {
    #[serde(alias = "idOp")]
    pub idop: Option<String>,
}

/// The longest `idOp` PayFiP gives (they are 36 characters).
const MAX_IDOP: usize = 64;

fn idop(form: Result<Form<Callback>, axum::extract::rejection::FormRejection>) -> Result<String, Problem> {
    let missing =
        || Problem::bad_request("invalid_idop", "Identifiant d'opération PayFiP manquant ou invalide.").field("idop");
    let Form(c) = form.map_err(|_| missing())?;
    let id =
        c.idop.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty() && s.len() <= MAX_IDOP).ok_or_else(missing)?;
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(missing());
    }
    Ok(id)
}

fn unknown_operation() -> Problem {
    Problem::not_found("unknown_operation", "Cette opération de paiement est introuvable.")
}

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "payfip_unavailable",
        "Le paiement en ligne n'est pas proposé par cette commune.",
    )
}

#[derive(Serialize)]
pub struct Notified {
    pub state: Settled,
}

/// PayFiP's notification (`urlnotif`): the portal asks PayFiP for the result and records it.
pub async fn notification(
    State(state): State<AppState>,
    Path((town,)): Path<(String,)>,
    form: Result<Form<Callback>, axum::extract::rejection::FormRejection>,
) -> Result<AxumJson<Notified>, Problem> {
    let town = http::load_town_from_path(&state.towns, &town).await?;
    let idop = idop(form)?;
    let gateway = state.payfip.as_ref().ok_or_else(unavailable)?;
    let now = state.auth.clock.now();
    let settled = settle::settle((&state.auth.store, &state.public_url, gateway), &town, &idop, now)
        .await?
        .ok_or_else(unknown_operation)?;
    Ok(AxumJson(Notified { state: settled }))
}

/// The family back from PayFiP (`urlredirect`): the portal asks PayFiP (never the browser) and
/// sends the family to « Mes factures », which says how it went.
pub async fn back(
    State(state): State<AppState>,
    Path((town,)): Path<(String,)>,
    form: Result<Form<Callback>, axum::extract::rejection::FormRejection>,
) -> Result<Response, Problem> {
    let town = http::load_town_from_path(&state.towns, &town).await?;
    let idop = idop(form)?;
    let gateway = state.payfip.as_ref().ok_or_else(unavailable)?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let op = settle::operation(store, town.id(), &idop).await?.ok_or_else(unknown_operation)?;
    // PayFiP not answering, or the store busy, is no reason to strand the family: the page says
    // « en cours » and the reconciliation finishes the job.
    let settled = match settle::settle((store, &state.public_url, gateway), &town, &idop, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(unknown_operation()),
        Err(p) => {
            tracing::warn!(idop, code = p.code, "PayFiP return not settled now; the reconciliation will");
            Settled::Pending
        }
    };
    let to = format!(
        "{}/factures.html?commune={}&paiement={}&mois={}",
        state.public_url,
        town.id(),
        settled.code(),
        op.month
    );
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
}
