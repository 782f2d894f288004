//! The `schoolyear` function: the yearly enrolment campaign and the rollover. The
//! administrator opens a school year's campaign ([`campaign`]); each family's guardians answer
//! it step by step, resumable ([`family`]); staff follow it on a dashboard, as JSON or CSV, a
//! page of families at a time, and ask for corrections ([`dashboard`]); the administrator rolls
//! the year over, dry run first, a bounded chunk per call ([`rollover`]). The rules are in
//! `domain::school_year`; what a child's enrolment lacks is asked in one place
//! (`services::school_year`, shared with the functions that accept documents and validate files).

use axum::Router;
use axum::routing::{get, post};
use domain::school_year::SchoolYear;
use edge::http::Problem;
use edge::http::auth::AuthState;
use store::StoreError;

mod campaign;
mod dashboard;
mod family;
pub mod reminders;
pub mod retention;
pub mod rollover;

/// Families per dashboard page (their children, enrolments and documents are read with them).
pub const FAMILIES_PER_PAGE: usize = 100;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: store::repo::Towns,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    let staff = "/api/towns/{town}/staff/school-years/{year}";
    Router::new()
        .route("/api/towns/{town}/families/{family}/enrolments", get(family::open_campaigns))
        .route("/api/towns/{town}/families/{family}/enrolments/{year}", get(family::read).put(family::answer))
        .route(&format!("{staff}/campaign"), get(campaign::read).put(campaign::open))
        .route(&format!("{staff}/dashboard"), get(dashboard::dashboard))
        .route(&format!("{staff}/families/{{family}}/corrections"), post(dashboard::ask_corrections))
        .route(&format!("{staff}/rollover"), get(rollover::dry_run).post(rollover::run))
        .with_state(state)
}

/// The daily school-year jobs in every town (the `campaign-reminders` Lambda, the local
/// portal's hourly jobs): the campaigns' reminders due today and the children's files at the end
/// of their keeping. Answers (emails queued, files deleted).
pub async fn daily(
    store: &store::Store,
    towns: &store::repo::Towns,
    public_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(usize, usize), StoreError> {
    let (mut sent, mut deleted) = (0, 0);
    for id in store::repo::town_ids(store).await? {
        let Some(town) = towns.get(&id).await? else { continue };
        sent += reminders::remind(store, &town, public_url, now).await?;
        deleted += retention::purge_files(store, &town, now).await?;
    }
    Ok((sent, deleted))
}

/// The school year a path names.
pub(crate) fn year(raw: &str) -> Result<SchoolYear, Problem> {
    Ok(SchoolYear::parse(raw)?)
}

/// A cursor the client sent that the store cannot use: 400, not 500.
pub(crate) fn bad_cursor(e: StoreError) -> Problem {
    match e {
        StoreError::Invalid(_) => {
            Problem::bad_request("invalid_cursor", "Le curseur de pagination est invalide.").field("cursor")
        }
        e => e.into(),
    }
}

pub(crate) fn no_campaign(year: SchoolYear) -> Problem {
    Problem::not_found("no_campaign", format!("Aucune campagne d’inscription pour {year}."))
}

pub use services::school_year::{get_campaign, get_enrolment};

/// The audit entry of a staff action.
pub(crate) fn audit_entry(
    by: &str,
    action: &str,
    target: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    at: chrono::DateTime<chrono::Utc>,
) -> store::audit::Entry {
    store::audit::Entry { at, by: by.to_owned(), action: action.to_owned(), target, before, after }
}
