//! A family as its guardians (or the town's staff) see it, the outbox's parked emails, and the
//! operator's creation of staff accounts.

use super::{AppState, link_email, load_town, parse_email};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::account::Role;
use domain::family::{Child, Family};
use edge::auth::accounts::{Account, AccountStatus, Purpose};
use edge::http::auth::{Caller, OperatorKey, unknown_family};
use edge::http::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::repo;

#[derive(Serialize)]
pub struct FamilyView {
    #[serde(flatten)]
    family: Family,
    children_details: Vec<Child>,
}

/// A family: its own guardians and the town's staff may read it; anyone else is told it does
/// not exist (whether it does or not).
pub async fn family(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<axum::Json<FamilyView>, Problem> {
    let reference = caller.family(&family)?;
    let store = &state.auth.store;
    let family = repo::get_family(store, &caller.town, &reference).await?.ok_or_else(unknown_family)?;
    let mut children_details = Vec::with_capacity(family.children.len());
    for id in &family.children {
        if let Some(c) = repo::get_child(store, &caller.town, id).await? {
            children_details.push(c);
        }
    }
    Ok(axum::Json(FamilyView { family, children_details }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
}

/// Creates a staff account, pending until its activation link is used (operator only).
pub async fn create_staff(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(town): Path<String>,
    body: Result<Json<NewStaff>, Problem>,
) -> Result<Response, Problem> {
    if !state.operator.allows(&headers).await {
        return Ok(OperatorKey::denied());
    }
    let town = load_town(&state, &town).await?;
    let Json(b) = body?;
    if !b.role.is_staff() {
        return Err(
            Problem::unprocessable("invalid_role", "Le rôle doit être « agent » ou « town_admin ».").field("role")
        );
    }
    for (field, value) in [("first_name", &b.first_name), ("last_name", &b.last_name)] {
        if value.trim().is_empty() || value.chars().count() > 200 {
            return Err(
                Problem::unprocessable("invalid_name", "Le nom doit faire entre 1 et 200 caractères.").field(field)
            );
        }
    }
    let email = parse_email(&b.email)?;
    let account = Account {
        email,
        first_name: b.first_name.trim().to_owned(),
        last_name: b.last_name.trim().to_owned(),
        role: b.role,
        families: Vec::new(),
        status: AccountStatus::Pending,
        password_hash: None,
        created_at: state.auth.clock.now(),
        credentials: 0,
        version: 0,
        no_reminders: false,
    };
    let mut ops = vec![account.clone().save(town.id())?];
    ops.extend(link_email(&state, &town, &account, Purpose::Activation)?);
    ops.push(
        store::audit::Entry {
            at: account.created_at,
            by: "exploitant".into(),
            action: "staff.create".into(),
            target: format!("account/{}", account.email),
            before: None,
            after: Some(serde_json::json!({
                "email": account.email,
                "first_name": account.first_name,
                "last_name": account.last_name,
                "role": account.role,
            })),
        }
        .record(town.id())?,
    );
    match state.auth.store.transact(ops).await {
        Ok(()) => {
            Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "email": account.email, "status": "pending" })))
                .into_response())
        }
        Err(store::StoreError::TransactionCanceled { index: 0, .. }) => {
            Err(Problem::new(StatusCode::CONFLICT, "account_exists", "Un compte existe déjà pour cette adresse."))
        }
        Err(e) => Err(e.into()),
    }
}
