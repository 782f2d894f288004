//! A family that left: staff close it (its bookings from today on are cancelled, its data is
//! erased after the town's delay), and see beforehand what the erasure will delete and keep.

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::State;
use domain::FamilyRef;
use edge::http::auth::{Admin, Staff, unknown_family};
use edge::http::{self, Path, Problem};
use store::repo;

/// Closes a family (the town's administrator).
pub(crate) async fn close(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, reference)): Path<(String, String)>,
) -> Result<AxumJson<services::privacy::Closed>, Problem> {
    let reference = FamilyRef::parse(&reference).map_err(|_| unknown_family())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown_family)?;
    let ctx = services::operations::Ctx { store, public_url: &state.public_url };
    let closed =
        services::privacy::close(ctx, &town, &family, caller.session.email.as_str(), state.auth.clock.now()).await?;
    Ok(AxumJson(closed))
}

/// The erasure's dry run: what it would delete, anonymise and keep, now; nothing is written.
pub(crate) async fn erasure(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, reference)): Path<(String, String)>,
) -> Result<AxumJson<services::privacy::Erasure>, Problem> {
    let reference = FamilyRef::parse(&reference).map_err(|_| unknown_family())?;
    let store = &state.auth.store;
    repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown_family)?;
    let dry = services::privacy::plan(store, &caller.town, &reference).await?.report;
    Ok(AxumJson(dry))
}
