//! The town's configuration, read by staff and replaced by its administrator.

use crate::{AppState, today};
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::calendar::Closure;
use domain::config::{Town, TownConfig};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Json, Problem};
use serde::{Deserialize, Serialize};
use services::operations::{self, Job};
use store::StoreError;
use store::audit;

#[derive(Serialize)]
pub(crate) struct ConfigView {
    version: u64,
    /// The town's today, for the forms (past closures cannot change).
    today: NaiveDate,
    config: TownConfig,
    /// What the change's new closures cancelled (bookings and families emailed).
    #[serde(skip_serializing_if = "Option::is_none")]
    closed: Option<operations::Closed>,
}

/// The town's configuration and its version (staff).
pub(crate) async fn config(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<ConfigView>, Problem> {
    let (town, version) = state.towns.get_versioned(&caller.town).await?.ok_or_else(http::unknown_town)?;
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone(), closed: None }))
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
    Admin(caller): Admin,
    body: Result<Json<ConfigUpdate>, Problem>,
) -> Result<AxumJson<ConfigView>, Problem> {
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
    let now = state.auth.clock.now();
    // Closures that cancel, reopenings that tell, capacities that move the waiting lists:
    // recorded with the change, then run now (the scheduled sweep finishes what a crash stops).
    let jobs = operations::config_jobs(&current, &town, caller.session.email.as_str(), today(&state, &town));
    let mut extra = vec![entry.record(town.id())?];
    for job in &jobs {
        extra.push(operations::job_op(town.id(), job, now)?);
    }
    let version = match state.towns.replace(&town, version, extra).await {
        Ok(v) => v,
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    };
    let closed = run_jobs(&state, &town, &jobs, now).await;
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone(), closed }))
}

/// Runs a configuration change's jobs now; what its closures cancelled. A job that fails is
/// left to the scheduled sweep (the change itself is saved).
pub(crate) async fn run_jobs(
    state: &AppState,
    town: &Town,
    jobs: &[Job],
    now: chrono::DateTime<chrono::Utc>,
) -> Option<operations::Closed> {
    let ctx = operations::Ctx { store: &state.auth.store, public_url: &state.public_url };
    let mut closed = None;
    for job in jobs {
        // A raised capacity looks a year ahead, day by day: the sweep does it (within minutes),
        // not the administrator's request.
        if matches!(job, Job::Raise { .. }) {
            continue;
        }
        match operations::run(ctx, town, job, now).await {
            Ok(Some(c)) => closed = Some(c),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, ?job, "job left to the sweep"),
        }
    }
    closed
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImpactQuery {
    closures: Vec<Closure>,
}

/// What closing these days would cancel (staff see it before confirming).
pub(crate) async fn closure_impact(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<ImpactQuery>, Problem>,
) -> Result<AxumJson<operations::Impact>, Problem> {
    let Json(q) = body?;
    if q.closures.is_empty() || q.closures.len() > domain::news::MAX_CLOSURE_DAYS as usize {
        return Err(Problem::unprocessable(
            "invalid_closures",
            format!("Indiquez de 1 à {} jours de fermeture.", domain::news::MAX_CLOSURE_DAYS),
        )
        .field("closures"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    Ok(AxumJson(operations::impact(&state.auth.store, &town, &q.closures, state.auth.clock.now()).await?))
}
