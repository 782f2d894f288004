//! What the back office reads about itself: the audit trail of every staff action (town
//! administrators only) and the emails that could not be sent.

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use edge::http::auth::{Admin, Staff};
use edge::http::{self, Problem};
use serde::{Deserialize, Serialize};
use services::mail::outbox;
use store::StoreError;
use store::audit;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub(crate) struct AuditPage {
    entries: Vec<audit::Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The town's audit trail, newest first: town administrators only.
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    Admin(caller): Admin,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<AuditPage>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::bad_request("invalid_limit", "Le nombre d'entrées par page va de 1 à 200.").field("limit"));
    }
    let cursor = q.cursor.as_deref().map(store::Cursor::from_client);
    let (entries, next) = audit::page(&state.auth.store, &caller.town, limit, cursor).await.map_err(|e| match e {
        StoreError::Invalid(_) => {
            Problem::bad_request("invalid_cursor", "Le curseur de pagination est invalide.").field("cursor")
        }
        e => e.into(),
    })?;
    Ok(AxumJson(AuditPage { entries, next: next.map(|c| c.as_str().to_owned()) }))
}

#[derive(Serialize)]
pub(crate) struct ParkedMail {
    id: String,
    to: String,
    subject: String,
    attempts: u32,
    last_error: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The town's emails that could not be sent after every retry.
pub(crate) async fn parked(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<AxumJson<Vec<ParkedMail>>, Problem> {
    let mails = outbox::parked(&state.auth.store, &caller.town).await?;
    Ok(AxumJson(
        mails
            .into_iter()
            .map(|m| ParkedMail {
                id: m.id,
                to: m.to.to_string(),
                subject: m.content.subject,
                attempts: m.attempts,
                last_error: m.last_error,
                created_at: m.created_at,
            })
            .collect(),
    ))
}
