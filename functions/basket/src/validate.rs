//! Validating: the guardian's basket or staff's late changes, under the client's idempotency key,
//! applied once by the [`crate::engine`].

use crate::edit::too_many;
use crate::{AppState, MAX_STAFF_LINES, basket, basket_key, check, engine, family_of, own_family};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use check::{Line, Mode};
use chrono::{Datelike, NaiveDate};
use edge::http::auth::{Caller, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::repo::{self};

/// The client's `Idempotency-Key`: 16 to 64 letters, digits, `-` or `_` (a UUID fits).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let raw = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if raw.is_empty() {
        return Err(Problem::bad_request(
            "missing_idempotency_key",
            "L'en-tête Idempotency-Key est obligatoire pour valider (une valeur unique par validation).",
        )
        .field("Idempotency-Key"));
    }
    if !(16..=64).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Problem::bad_request(
            "invalid_idempotency_key",
            "L'en-tête Idempotency-Key doit compter 16 à 64 lettres, chiffres, « - » ou « _ ».",
        )
        .field("Idempotency-Key"));
    }
    Ok(raw.to_owned())
}

pub(crate) fn fingerprint(parts: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(parts).unwrap_or_default();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer to a validation: 200 when lines were applied, 422 when nothing was.
pub(crate) fn respond(answer: engine::Answer) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    if answer.outcome == engine::Outcome::Rejected {
        return Err(Problem::unprocessable(
            "lines_refused",
            "Certaines lignes ne peuvent pas être validées : rien n'a été enregistré. Retirez-les ou validez seulement les autres.",
        )
        .with("outcome", serde_json::json!("rejected"))
        .with("idempotency_key", serde_json::json!(answer.idempotency_key))
        .with("refused", serde_json::json!(answer.refused))
        .with("lines", serde_json::to_value(&answer.lines).unwrap_or_default()));
    }
    Ok((StatusCode::OK, AxumJson(answer)))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidateRequest {
    /// The basket's revision as the guardian saw it.
    basket_revision: String,
    /// Apply the valid lines when some are refused (otherwise: all or nothing).
    #[serde(default)]
    apply_valid: bool,
}

/// Validates the basket exactly once per idempotency key.
pub(crate) async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<ValidateRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let key = idempotency_key(&headers)?;
    let Json(r) = body?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let basket_key = basket_key(&caller, &family.reference);
    let ask = engine::Ask {
        town: town.clone(),
        by: caller.session.email.clone(),
        mode: Mode::Guardian,
        key: key.clone(),
        fingerprint: fingerprint(&("basket", &caller.session.email, &r)),
        apply_valid: r.apply_valid,
        notify: vec![engine::Recipient {
            email: caller.session.email.clone(),
            first_name: family
                .guardians
                .iter()
                .find(|g| g.email == caller.session.email)
                .map(|g| g.first_name.clone())
                .unwrap_or_default(),
        }],
        basket: Some(basket_key.clone()),
        public_url: state.public_url.clone(),
        family: family.clone(),
    };
    // A retry is answered from what the first attempt stored, whatever the basket is now (its
    // lines are passed along only while it is still the basket that was validated).
    let b = basket::load(store, &basket_key, now).await?;
    if engine::exists(store, &town, &family.reference, &key, now).await? {
        let lines = if b.revision == r.basket_revision { b.lines } else { Vec::new() };
        return respond(engine::run(store, &state.auth.clock, &ask, lines).await?);
    }
    if b.lines.is_empty() {
        return Err(Problem::unprocessable("empty_basket", "Votre panier est vide."));
    }
    if b.revision != r.basket_revision {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "basket_changed",
            "Votre panier a changé depuis l'affichage de la page (sur un autre appareil ?) : vérifiez-le puis validez à nouveau.",
        )
        .field("basket_revision"));
    }
    respond(engine::run(store, &state.auth.clock, &ask, b.lines).await?)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffRequest {
    lines: Vec<Line>,
    #[serde(default)]
    apply_valid: bool,
}

/// Refuses staff lines before anything is read: none, too many, or in a month already billed.
async fn staff_lines_allowed(state: &AppState, town: &domain::config::Town, lines: &[Line]) -> Result<(), Problem> {
    if lines.is_empty() {
        return Err(Problem::unprocessable("no_lines", "Indiquez au moins une ligne.").field("lines"));
    }
    if lines.len() > MAX_STAFF_LINES {
        return Err(too_many(MAX_STAFF_LINES));
    }
    let months: std::collections::BTreeSet<(i32, u32)> =
        lines.iter().map(|l| (l.date.year(), l.date.month())).collect();
    for (year, month) in months {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        if repo::month_billed(&state.auth.store, town.id(), first).await? {
            return Err(http::month_billed());
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewRequest {
    lines: Vec<Line>,
}

/// One line as it would be applied now: its price (late or not), or why it would be refused.
#[derive(Serialize)]
pub(crate) struct PreviewLine {
    child: domain::ChildId,
    unit: domain::UnitId,
    date: NaiveDate,
    action: domain::cells::ActionKind,
    price: domain::Cents,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    late: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<check::Refusal>,
}

#[derive(Serialize)]
pub(crate) struct Preview {
    /// What the lines that would be applied cost.
    total: domain::Cents,
    lines: Vec<PreviewLine>,
}

/// What staff's late changes would do and cost, checked as [`staff_changes`] checks them, with
/// nothing written: the price is shown before the agent confirms.
pub(crate) async fn staff_preview(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<PreviewRequest>, Problem>,
) -> Result<AxumJson<Preview>, Problem> {
    let (town, family) = family_of(&state, &caller, &family).await?;
    let Json(r) = body?;
    staff_lines_allowed(&state, &town, &r.lines).await?;
    let now = state.auth.clock.now();
    let mut facts = check::load(&state.auth.store, town.clone(), family, &r.lines).await?;
    let lines: Vec<PreviewLine> = r
        .lines
        .iter()
        .map(|l| {
            let verdict = facts.check(l, Mode::Staff, caller.session.email.as_str(), now);
            let (price, late, error) = match verdict {
                Ok(effect) => (effect.price, effect.late, None),
                Err(refusal) => (domain::Cents::ZERO, false, Some(refusal)),
            };
            PreviewLine {
                child: l.child.clone(),
                unit: l.unit.clone(),
                date: l.date,
                action: l.action,
                price,
                late,
                error,
            }
        })
        .collect();
    let total = lines.iter().filter(|l| l.error.is_none()).fold(domain::Cents::ZERO, |sum, l| sum + l.price);
    Ok(AxumJson(Preview { total, lines }))
}

/// Staff changes past the deadlines, priced with the late rules; the family is emailed.
pub(crate) async fn staff_changes(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<StaffRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    let (town, family) = family_of(&state, &caller, &family).await?;
    let key = idempotency_key(&headers)?;
    let Json(r) = body?;
    staff_lines_allowed(&state, &town, &r.lines).await?;
    let ask = engine::Ask {
        town,
        by: caller.session.email.clone(),
        mode: Mode::Staff,
        key,
        fingerprint: fingerprint(&("staff", &caller.session.email, &r)),
        apply_valid: r.apply_valid,
        notify: family
            .guardians
            .iter()
            .map(|g| engine::Recipient { email: g.email.clone(), first_name: g.first_name.clone() })
            .collect(),
        basket: None,
        public_url: state.public_url.clone(),
        family,
    };
    respond(engine::run(&state.auth.store, &state.auth.clock, &ask, r.lines).await?)
}
