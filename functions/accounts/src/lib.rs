//! The `accounts` function: who may sign in, and as whom. Staff import the town's families
//! (each new guardian gets an activation email through the outbox); guardians activate their
//! account from the emailed link, log in and out, reset a forgotten password and read their
//! family's record; the platform operator creates a town's first staff accounts. It serves
//! `/auth/*` (and a new family's request for an account, a reminder's one-click unsubscribe), `/families/{family}`, `/staff/account-requests` (and its children's files), `/staff/families/import` and `/api/operator/towns/{town}/staff`.

mod child_file;
mod emails;
mod import;
mod request;
mod signin;
mod staff;
mod unsubscribe;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::TimeDelta;
use domain::config::Town;
use domain::delivery::MailKind;
use domain::family::Email;
use edge::auth::accounts::{self, Account, Purpose, Throttle};
use edge::http::auth::{AuthState, OperatorKey};
use edge::http::{self, Problem};
use services::mail::outbox::Mail;
use services::mail::templates::accounts::{Activation, PasswordReset};
use std::sync::Arc;
use std::time::Duration;
use store::WriteOp;
use store::repo::Towns;

/// The largest family file accepted (10 MiB, API Gateway's payload limit).
pub const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// How long a password reset link stays valid.
pub const RESET_LINK: TimeDelta = TimeDelta::hours(1);
/// Activation and reset emails sent to one address in an hour, at most.
pub const MAILS_PER_ADDRESS_PER_HOUR: i64 = 5;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// Where the portal's pages are served, for the links in emails (no trailing slash).
    pub public_url: String,
    pub throttle: Throttle,
    pub operator: OperatorKey,
    /// Requests that must not reveal whether an email exists all take at least this long.
    pub equal_answer_time: Duration,
    /// The documents bucket: a new family's proof of address.
    pub files: edge::files::Files,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/auth/login", post(signin::login))
        .route("/api/towns/{town}/auth/logout", post(signin::logout))
        .route("/api/towns/{town}/auth/session", get(signin::current))
        .route("/api/towns/{town}/auth/preferences", axum::routing::put(signin::preferences))
        .route("/api/towns/{town}/auth/activate", post(signin::activate))
        .route("/api/towns/{town}/auth/activation-link", post(signin::resend_activation))
        .route("/api/towns/{town}/auth/password-reset", post(signin::request_reset))
        .route("/api/towns/{town}/auth/password-reset/confirm", post(signin::confirm_reset))
        .route("/api/towns/{town}/auth/account-request", post(request::submit))
        .route("/api/towns/{town}/auth/account-request/{id}/proof", post(request::confirm_proof))
        .route("/api/towns/{town}/unsubscribe/{token}", post(unsubscribe::unsubscribe))
        .route("/api/towns/{town}/unsubscribe/{token}/undo", post(unsubscribe::undo))
        .route("/api/towns/{town}/staff/account-requests", get(request::pending))
        .route("/api/towns/{town}/staff/account-requests/{id}/proof", get(request::proof))
        .route("/api/towns/{town}/staff/account-requests/{id}/accept", post(request::accept))
        .route("/api/towns/{town}/staff/account-requests/{id}/refuse", post(request::refuse))
        .route("/api/towns/{town}/families/{family}", get(staff::family))
        .route("/api/towns/{town}/auth/emails", get(emails::my_emails))
        .route("/api/towns/{town}/staff/families/{family}/emails", get(emails::family_emails))
        .route("/api/towns/{town}/staff/families/{family}/activation", post(emails::resend_activation))
        .route("/api/towns/{town}/staff/mail/undeliverable", get(emails::undeliverable))
        .route(
            "/api/towns/{town}/families/{family}/children/{child}/file",
            get(child_file::read).put(child_file::update),
        )
        .route(
            "/api/towns/{town}/staff/families/import",
            post(import::import).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES)),
        )
        .route("/api/operator/towns/{town}/staff", post(staff::create_staff))
        .with_state(state)
}

async fn load_town(state: &AppState, raw: &str) -> Result<Arc<Town>, Problem> {
    http::load_town_from_path(&state.towns, raw).await
}

/// The link an email carries: the page, the town, and the secret in the fragment (never sent
/// to a server, so never in an access log or a `Referer`).
fn link(state: &AppState, page: &str, town: &Town, secret: &str) -> String {
    format!("{}/{page}?commune={}#jeton={secret}", state.public_url, town.id())
}

/// The writes that give `account` a new activation (or reset) link and queue its email.
pub fn link_email(state: &AppState, town: &Town, account: &Account, purpose: Purpose) -> Result<Vec<WriteOp>, Problem> {
    let now = state.auth.clock.now();
    let valid_for = match purpose {
        Purpose::Activation => TimeDelta::days(i64::from(town.config().activation_link_days)),
        Purpose::Reset => RESET_LINK,
    };
    let (secret, token) = accounts::new_token(town.id(), account, purpose, now, valid_for)?;
    let name = &town.config().name;
    let content = match purpose {
        Purpose::Activation => Activation {
            town: name.clone(),
            first_name: account.first_name.clone(),
            link: link(state, "activation.html", town, &secret),
            expires: now + valid_for,
            tz: town.tz(),
        }
        .render(),
        Purpose::Reset => PasswordReset {
            town: name.clone(),
            first_name: account.first_name.clone(),
            link: link(state, "mot-de-passe.html", town, &secret),
            expires: now + valid_for,
            tz: town.tz(),
        }
        .render(),
    };
    Ok(vec![token, Mail::new(town.id(), &account.email, content, now).of_kind(MailKind::Account).enqueue()?])
}

fn parse_email(raw: &str) -> Result<Email, Problem> {
    Ok(Email::parse(raw)?)
}
