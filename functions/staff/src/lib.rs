//! The `staff` function: the town's back office for the days themselves. The queue of requests
//! waiting for a decision (manual units, waiting lists, cancellation requests), decided one or
//! many at once with the guardians emailed; the attendance list of a day, site and unit (with
//! the health and diet notes staff need, and nothing more), as JSON or as a CSV French
//! spreadsheets open, and its marks; the kitchen's counts for a week; the CAF's hours of a year
//! or a month ([`caf`]); the town's configuration;
//! families' search and corrections ([`families`]); children's files: their review, health
//! reads restricted and audited, the pick-up list ([`child_files`], [`pickups`]). Every decision, mark and correction is in
//! the audit trail.

use axum::Router;
use axum::routing::get;
use chrono::NaiveDate;
use domain::config::Town;
use domain::family::Child;
use domain::{ChildId, UnitId};
use edge::http::auth::AuthState;
use std::collections::HashMap;
use store::repo::{self, Towns};
use store::{Store, StoreError};

mod attendance;
mod caf;
mod child_files;
mod config;
mod families;
mod kitchen;
mod pickups;
mod privacy;
pub mod qf;
mod requests;
mod sheets;
mod trail;

/// The longest range of the requests queue.
pub const MAX_QUEUE_DAYS: i64 = 120;
/// Decisions per request: a family's decisions (each with its counter and its waiting list's job), its
/// email and audit entry fit one transaction.
pub const MAX_DECISIONS: usize = 30;
/// Marks per request, and per transaction.
pub const MAX_MARKS: usize = 400;
const MARKS_PER_TRANSACTION: usize = 45;
#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
    /// API Particulier, for the quotient familial from the CAF; none: not connected.
    pub qf: Option<services::qf::ApiParticulier>,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/staff/requests", get(requests::requests))
        .route("/api/towns/{town}/staff/requests/decisions", axum::routing::post(requests::decide))
        .route("/api/towns/{town}/staff/attendance", get(attendance::attendance).post(attendance::mark))
        .route("/api/towns/{town}/staff/kitchen", get(kitchen::kitchen))
        .route("/api/towns/{town}/staff/caf-hours", get(caf::caf_hours))
        .route("/api/towns/{town}/families/{family}/qf", get(qf::show))
        .route("/api/towns/{town}/families/{family}/qf/consent", axum::routing::put(qf::consent).delete(qf::revoke))
        .route("/api/towns/{town}/families/{family}/qf/fetch", axum::routing::post(qf::fetch_own))
        .route("/api/towns/{town}/staff/families/{family}/qf", axum::routing::post(qf::fetch))
        .route("/api/towns/{town}/staff/config", get(config::config).put(config::update_config))
        .route("/api/towns/{town}/staff/closures/impact", axum::routing::post(config::closure_impact))
        .route("/api/towns/{town}/staff/audit", get(trail::audit_log))
        .route("/api/towns/{town}/staff/outbox/parked", get(trail::parked))
        .route("/api/towns/{town}/staff/families", get(families::search))
        .route("/api/towns/{town}/staff/families/{family}", get(families::records).put(families::update_family))
        .route("/api/towns/{town}/staff/children/{child}", axum::routing::put(families::update_child))
        .route("/api/towns/{town}/staff/families/{family}/close", axum::routing::post(privacy::close))
        .route("/api/towns/{town}/staff/families/{family}/erasure", get(privacy::erasure))
        .route("/api/towns/{town}/staff/child-files", get(child_files::queue))
        .route("/api/towns/{town}/staff/pickups", get(pickups::pickups))
        .route("/api/towns/{town}/staff/outing-sheets", get(sheets::group_sheets))
        .route("/api/towns/{town}/staff/children/{child}/file/sheet", get(sheets::child_sheet))
        .route("/api/towns/{town}/staff/children/{child}/file", get(child_files::file))
        .route("/api/towns/{town}/staff/children/{child}/file/health", get(child_files::health))
        .route("/api/towns/{town}/staff/children/{child}/file/review", get(child_files::review))
        .route("/api/towns/{town}/staff/children/{child}/file/validate", axum::routing::post(child_files::validate))
        .route("/api/towns/{town}/staff/children/{child}/file/correction", axum::routing::post(child_files::correction))
        .with_state(state)
}

pub(crate) fn today(state: &AppState, town: &Town) -> NaiveDate {
    town.today(state.auth.clock.now())
}

pub(crate) fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

pub(crate) async fn children_by_id(store: &Store, town: &Town) -> Result<HashMap<ChildId, Child>, StoreError> {
    Ok(repo::all_children(store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect())
}

pub(crate) fn unit_name(town: &Town, unit: &UnitId) -> String {
    town.unit(unit).map_or_else(|| unit.to_string(), |(_, u)| u.name.clone())
}
