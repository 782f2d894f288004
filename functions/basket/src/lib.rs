//! The `basket` function: « Mon panier ». A guardian ticks and unticks cells (or a whole
//! period) into a basket kept on the server, sees each line's price and the total, and
//! validates it: every line is checked again and applied exactly once ([`engine`]). Staff make
//! the late changes parents cannot, at the late prices. Every booking keeps its history.

mod absences;
pub mod basket;
pub mod check;
mod edit;
pub mod engine;
mod history;
mod validate;
mod view;

use axum::Router;
use axum::routing::{delete, get, post};
use domain::FamilyRef;
use domain::config::Town;
use domain::family::Family;
use edge::http::auth::{AuthState, Caller};
use edge::http::{self, Problem};
use std::sync::Arc;
use store::repo::{self, Towns};
use store::{Key, keys};

/// The most lines one staff request changes.
pub const MAX_STAFF_LINES: usize = 500;
/// The longest range of one history request.
pub const MAX_HISTORY_DAYS: i64 = 400;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    let family = "/api/towns/{town}/families/{family}";
    Router::new()
        .route(&format!("{family}/basket"), get(view::view).delete(view::clear))
        .route(&format!("{family}/basket/lines"), post(edit::add_lines))
        .route(&format!("{family}/basket/lines/{{child}}/{{unit}}/{{date}}"), delete(edit::remove_line))
        .route(&format!("{family}/basket/period"), post(edit::add_period))
        .route(&format!("{family}/basket/validate"), post(validate::validate))
        .route(&format!("{family}/bookings"), get(history::history))
        .route(&format!("{family}/absences"), post(absences::report))
        .route("/api/towns/{town}/staff/families/{family}/bookings", post(validate::staff_changes))
        .route("/api/towns/{town}/staff/families/{family}/bookings/preview", post(validate::staff_preview))
        .with_state(state)
}

/// The town and family of a request the caller may read; anyone else's family is "not found".
pub(crate) async fn family_of(state: &AppState, caller: &Caller, raw: &str) -> Result<(Arc<Town>, Family), Problem> {
    load_family(state, caller, caller.family(raw)?).await
}

/// The town and family of a change only the family's guardians make (staff have their routes).
pub(crate) async fn own_family(state: &AppState, caller: &Caller, raw: &str) -> Result<(Arc<Town>, Family), Problem> {
    load_family(state, caller, caller.own_family(raw)?).await
}

pub(crate) async fn load_family(
    state: &AppState,
    caller: &Caller,
    reference: FamilyRef,
) -> Result<(Arc<Town>, Family), Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let family = repo::get_family(&state.auth.store, &caller.town, &reference)
        .await?
        .ok_or_else(edge::http::auth::unknown_family)?;
    Ok((town, family))
}

pub(crate) fn basket_key(caller: &Caller, family: &FamilyRef) -> Key {
    keys::basket(&caller.town, family, &caller.session.email)
}
