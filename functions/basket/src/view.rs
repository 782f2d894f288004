//! « Mon panier » as the family reads it: each line checked now, with its price and the total;
//! emptying it.

use crate::{AppState, basket, basket_key, check, own_family};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use check::{Line, Mode, Refusal};
use chrono::{DateTime, NaiveDate, Utc};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::Family;
use domain::{Cents, ChildId, UnitId};
use edge::http::auth::Caller;
use edge::http::{Path, Problem};
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
pub(crate) struct LineView {
    child: ChildId,
    first_name: String,
    unit: UnitId,
    unit_name: String,
    date: NaiveDate,
    action: ActionKind,
    /// What the line costs if validated now (a cancellation within the deadline: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Cents>,
    /// For a cancellation: the price of the booking that will no longer be billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<Cents>,
    /// Why the line cannot be validated now (the deadline passed while it waited, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Refusal>,
}

#[derive(Serialize)]
pub(crate) struct BasketView {
    /// Send it back to validate: the basket validated is the basket seen.
    revision: Option<String>,
    lines: Vec<LineView>,
    /// What the valid lines cost.
    total: Cents,
    /// Lines that cannot be validated now.
    invalid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

/// Each line checked now, in date order, with its price and the total.
pub(crate) async fn render(
    state: &AppState,
    town: Arc<Town>,
    family: Family,
    b: &basket::Stored,
) -> Result<BasketView, Problem> {
    let now = state.auth.clock.now();
    let mut facts = check::load(&state.auth.store, town.clone(), family, &b.lines).await?;
    let mut lines: Vec<&Line> = b.lines.iter().collect();
    lines.sort_by(|a, b| (a.date, &a.child, &a.unit).cmp(&(b.date, &b.child, &b.unit)));
    let mut out = BasketView {
        revision: (!b.revision.is_empty()).then(|| b.revision.clone()),
        lines: Vec::new(),
        total: Cents::ZERO,
        invalid: 0,
        expires_at: b.expires_at(),
    };
    for l in lines {
        let verdict = facts.check(l, Mode::Guardian, "", now);
        let (price, refund, error) = match verdict {
            Ok(e) => {
                out.total += e.price;
                let refund = (l.action == ActionKind::Cancel).then_some(e.booking.price);
                (Some(e.price), refund, None)
            }
            Err(r) => {
                out.invalid += 1;
                (None, None, Some(r))
            }
        };
        out.lines.push(LineView {
            first_name: facts.first_name(&l.child),
            unit_name: town.unit(&l.unit).map_or_else(|| l.unit.to_string(), |(_, u)| u.name.clone()),
            child: l.child.clone(),
            unit: l.unit.clone(),
            date: l.date,
            action: l.action,
            price,
            refund,
            error,
        });
    }
    Ok(out)
}

pub(crate) async fn view(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<BasketView>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let b = basket::load(&state.auth.store, &basket_key(&caller, &family.reference), state.auth.clock.now()).await?;
    Ok(AxumJson(render(&state, town, family, &b).await?))
}

pub(crate) async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let (_, family) = own_family(&state, &caller, &family).await?;
    state.auth.store.delete(&basket_key(&caller, &family.reference), None).await?;
    Ok(StatusCode::NO_CONTENT)
}
