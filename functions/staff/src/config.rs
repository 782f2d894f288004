//! The town's configuration, read by staff and replaced by its administrator.

use crate::{AppState, today};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shared::audit;
use shared::domain::account::Role;
use shared::domain::config::{Town, TownConfig};
use shared::http::auth::Staff;
use shared::http::{self, Json, Problem};
use shared::store::StoreError;

#[derive(Serialize)]
pub(crate) struct ConfigView {
    version: u64,
    /// The town's today, for the forms (past closures cannot change).
    today: NaiveDate,
    config: TownConfig,
}

/// The town's configuration and its version (staff).
pub(crate) async fn config(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<ConfigView>, Problem> {
    let (town, version) = state.towns.get_versioned(&caller.town).await?.ok_or_else(http::unknown_town)?;
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigUpdate {
    /// The version that was read.
    version: u64,
    config: TownConfig,
}

/// Replaces the town's configuration (town administrator): checked like the configuration file
/// (field paths, French messages), and like a change (see [`TownConfig::check_change`]); prices, deadlines
/// and capacities apply to bookings made from now on (a booking keeps its price).
pub(crate) async fn update_config(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<ConfigUpdate>, Problem>,
) -> Result<AxumJson<ConfigView>, Problem> {
    if caller.session.role != Role::TownAdmin {
        return Err(
            shared::http::auth::forbidden().detail("La configuration de la commune est réservée à son administrateur.")
        );
    }
    let Json(update) = body?;
    let (current, version) = state.towns.get_versioned(&caller.town).await?.ok_or_else(http::unknown_town)?;
    let conflict = || {
        Problem::new(
            StatusCode::CONFLICT,
            "config_changed",
            "La configuration a été modifiée entre-temps : rechargez-la avant de l'enregistrer.",
        )
    };
    if update.version != version {
        return Err(conflict());
    }
    current
        .config()
        .check_change(&update.config, today(&state, &current))
        .map_err(|e| Problem::unprocessable("invalid_configuration", e.message).field(format!("config.{}", e.path)))?;
    let town = Town::try_from(update.config).map_err(|e| {
        Problem::unprocessable("invalid_configuration", "La configuration de la commune est incorrecte.")
            .detail(e.message)
            .field(format!("config.{}", e.path))
    })?;
    let entry = audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.to_string(),
        action: "config.update".into(),
        target: format!("town/{}", caller.town),
        before: serde_json::to_value(current.config()).ok(),
        after: serde_json::to_value(town.config()).ok(),
    };
    let version = match state.towns.replace(&town, version, vec![entry.record(town.id())?]).await {
        Ok(v) => v,
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    };
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone() }))
}
