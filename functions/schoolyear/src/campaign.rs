//! The campaign by the administrator: opened (or changed) for a school year, read by staff.

use super::{AppState, audit_entry, get_campaign, no_campaign, year};
use axum::Json as AxumJson;
use axum::extract::State;
use domain::school_year::{Campaign, CampaignInput};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Json, Path, Problem};
use store::{Cond, Item, WriteOp, keys};

/// The campaign of the year.
pub(crate) async fn read(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, y)): Path<(String, String)>,
) -> Result<AxumJson<Campaign>, Problem> {
    let y = year(&y)?;
    let c = get_campaign(&state.auth.store, &caller.town, y).await?.ok_or_else(|| no_campaign(y))?;
    Ok(AxumJson(c))
}

/// Opens the year's campaign, or changes it: checked whole against the town, written with its
/// audit entry, only over the campaign read (409 if another administrator changed it meanwhile).
pub(crate) async fn open(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, y)): Path<(String, String)>,
    body: Result<Json<CampaignInput>, Problem>,
) -> Result<AxumJson<Campaign>, Problem> {
    let y = year(&y)?;
    let Json(input) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let campaign = input.check(y, &town, town.today(now))?;
    let before = get_campaign(store, town.id(), y).await?;
    let cond = match &before {
        None => Cond::NotExists,
        Some(b) => Cond::AttrsEqual(match serde_json::to_value(b).map_err(|e| Problem::internal(&e))? {
            serde_json::Value::Object(m) => m,
            _ => return Err(Problem::internal(&"a campaign is a map")),
        }),
    };
    let (action, old) = match &before {
        None => ("campaign.open", None),
        Some(b) => ("campaign.update", Some(serde_json::to_value(b).map_err(|e| Problem::internal(&e))?)),
    };
    let after = serde_json::to_value(&campaign).map_err(|e| Problem::internal(&e))?;
    let entry = audit_entry(caller.session.email.as_str(), action, format!("campaign/{y}"), old, Some(after), now);
    let item = Item::from_value(keys::campaign(town.id(), y), &campaign)?;
    store.transact(vec![WriteOp::Put { item, cond: Some(cond) }, entry.record(town.id())?]).await?;
    Ok(AxumJson(campaign))
}
