//! Login, logout, the current session, activation, and password reset.

use super::{AppState, MAILS_PER_ADDRESS_PER_HOUR, link_email, load_town, parse_email};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::FamilyRef;
use domain::account::{Password, Role};
use domain::config::Town;
use edge::auth::accounts::{self, Account, AccountStatus, Purpose, Redeemed, Session};
use edge::auth::{password, session};
use edge::http::auth::{Caller, ClientAddr};
use edge::http::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

/// The session as the pages see it.
#[derive(Serialize)]
struct SessionView {
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    families: Vec<FamilyRef>,
    /// To send back in `x-csrf-token` on every state-changing request.
    csrf_token: String,
    expires_at: DateTime<Utc>,
    /// Whether the guardian gets the holiday booking reminders.
    holiday_reminders: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    holiday_reminders: bool,
}

/// The caller's email preferences (the holiday booking reminders, on or off).
pub async fn preferences(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<edge::http::Json<Preferences>, Problem>,
) -> Result<Response, Problem> {
    let edge::http::Json(p) = body?;
    let store = &state.auth.store;
    for _ in 0..5 {
        let account = accounts::get_account(store, &caller.town, &caller.session.email)
            .await?
            .ok_or_else(edge::http::auth::unauthenticated)?;
        let mut changed = account.clone();
        changed.no_reminders = !p.holiday_reminders;
        match store.transact(vec![changed.save(&caller.town)?]).await {
            Ok(()) => {
                let mut saved = account;
                saved.no_reminders = !p.holiday_reminders;
                return Ok(no_store(axum::Json(view(&saved, &caller.session)).into_response()));
            }
            Err(store::StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(StatusCode::CONFLICT, "account_changed", "Votre compte vient d'être modifié : recommencez."))
}

fn view(account: &Account, s: &Session) -> SessionView {
    SessionView {
        email: account.email.to_string(),
        first_name: account.first_name.clone(),
        last_name: account.last_name.clone(),
        role: s.role,
        families: s.families.clone(),
        csrf_token: s.csrf.clone(),
        expires_at: (s.created_at + session::ABSOLUTE).min(s.last_seen_at + session::IDLE),
        holiday_reminders: !account.no_reminders,
    }
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Opens a session for `account`, ending the one this browser had (rotation at login).
async fn open_session(
    state: &AppState,
    town: &Town,
    account: &Account,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let store = &state.auth.store;
    if let Some(old) =
        headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(session::from_cookie_header)
    {
        accounts::delete_session(store, town.id(), &old).await?;
    }
    let (token, s) = accounts::create_session(store, town.id(), account, state.auth.clock.now()).await?;
    let mut res = axum::Json(view(account, &s)).into_response();
    let cookie =
        HeaderValue::from_str(&session::set_cookie(town.id().as_str(), &token)).map_err(|e| Problem::internal(&e))?;
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    let hint =
        HeaderValue::from_str(&session::set_hint_cookie(town.id().as_str())).map_err(|e| Problem::internal(&e))?;
    res.headers_mut().append(header::SET_COOKIE, hint);
    Ok(no_store(res))
}

fn invalid_credentials() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "Adresse e-mail ou mot de passe incorrect.")
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Path(town): Path<String>,
    body: Result<Json<Credentials>, Problem>,
) -> Result<Response, Problem> {
    let town = load_town(&state, &town).await?;
    let Json(c) = body?;
    let email = parse_email(&c.email)?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    if let Some(until) = accounts::throttled_until(store, town.id(), &email, &address, now, state.throttle).await? {
        let wait = (until - now).num_seconds().max(1);
        let at = until.with_timezone(&town.tz()).format("%Hh%M");
        let mut res = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("Trop de tentatives de connexion. Réessayez après {at}, ou choisissez un nouveau mot de passe avec « Mot de passe oublié »."),
        )
        .into_response();
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(res);
    }
    let account = accounts::get_account(store, town.id(), &email).await?;
    let stored = account.as_ref().filter(|a| a.status == AccountStatus::Active).and_then(|a| a.password_hash.clone());
    let ok = password::verify(c.password, stored).await;
    match account {
        Some(account) if ok => open_session(&state, &town, &account, &headers).await,
        _ => {
            accounts::record_failure(store, town.id(), &email, &address, now).await?;
            Err(invalid_credentials())
        }
    }
}

pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    accounts::delete_session(&state.auth.store, &caller.town, &caller.token).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    let cookie =
        HeaderValue::from_str(&session::clear_cookie(caller.town.as_str())).map_err(|e| Problem::internal(&e))?;
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    let hint =
        HeaderValue::from_str(&session::clear_hint_cookie(caller.town.as_str())).map_err(|e| Problem::internal(&e))?;
    res.headers_mut().append(header::SET_COOKIE, hint);
    Ok(res)
}

pub async fn current(State(state): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    let account = accounts::get_account(&state.auth.store, &caller.town, &caller.session.email)
        .await?
        .ok_or_else(edge::http::auth::unauthenticated)?;
    Ok(no_store(axum::Json(view(&account, &caller.session)).into_response()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    token: String,
    password: String,
}

fn link_invalid() -> Problem {
    Problem::not_found(
        "link_invalid",
        "Ce lien n'est plus valable : il a déjà servi ou il est incomplet. Demandez-en un nouveau.",
    )
}

fn link_expired() -> Problem {
    Problem::new(
        StatusCode::GONE,
        "link_expired",
        "Ce lien a expiré. Demandez-en un nouveau : il vous sera envoyé par e-mail.",
    )
}

/// Sets a password from an emailed link, then logs the guardian in.
async fn set_password(
    state: &AppState,
    town: &str,
    body: Result<Json<NewPassword>, Problem>,
    purpose: Purpose,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let town = load_town(state, town).await?;
    let Json(b) = body?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    match accounts::peek(store, town.id(), &b.token, purpose, now).await? {
        Redeemed::Invalid => return Err(link_invalid()),
        Redeemed::Expired => return Err(link_expired()),
        Redeemed::Done(_) => {}
    }
    let password = Password::parse(&b.password)?;
    let hash = password::hash(password).await;
    match accounts::redeem(store, town.id(), &b.token, purpose, now, hash).await? {
        Redeemed::Done(account) => open_session(state, &town, &account, headers).await,
        Redeemed::Expired => Err(link_expired()),
        Redeemed::Invalid => Err(link_invalid()),
    }
}

pub async fn activate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(town): Path<String>,
    body: Result<Json<NewPassword>, Problem>,
) -> Result<Response, Problem> {
    set_password(&state, &town, body, Purpose::Activation, &headers).await
}

pub async fn confirm_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(town): Path<String>,
    body: Result<Json<NewPassword>, Problem>,
) -> Result<Response, Problem> {
    set_password(&state, &town, body, Purpose::Reset, &headers).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailOnly {
    email: String,
}

/// Sends the link an account needs (activation while pending, reset once active) unless the
/// account does not exist, `only` excludes its status, or the address got too many already.
pub(crate) async fn send_link(
    state: &AppState,
    town: &Town,
    raw_email: &str,
    only: Option<AccountStatus>,
) -> Result<(), Problem> {
    let email = parse_email(raw_email)?;
    let store = &state.auth.store;
    let Some(account) = accounts::get_account(store, town.id(), &email).await? else {
        return Ok(());
    };
    if only.is_some_and(|s| s != account.status) {
        return Ok(());
    }
    let now = state.auth.clock.now();
    let subject = format!("MAILS#{email}");
    if !accounts::count_in_hour(store, town.id(), &subject, now, Some(MAILS_PER_ADDRESS_PER_HOUR)).await? {
        tracing::warn!(town = %town.id(), "link emails capped for an address this hour");
        return Ok(());
    }
    let purpose = if account.status == AccountStatus::Pending { Purpose::Activation } else { Purpose::Reset };
    store.transact(link_email(state, town, &account, purpose)?).await?;
    Ok(())
}

/// Sends the link an email's account needs, answering the same, in the same time, whether the
/// email has an account or not.
async fn link_request(
    state: &AppState,
    town: &str,
    body: Result<Json<EmailOnly>, Problem>,
    only: Option<AccountStatus>,
) -> Result<Response, Problem> {
    let started = Instant::now();
    let town = load_town(state, town).await?;
    let Json(b) = body?;
    let outcome = send_link(state, &town, &b.email, only).await;
    tokio::time::sleep_until(started + state.equal_answer_time).await;
    outcome?;
    let body = serde_json::json!({
        "message": "Si un compte correspond à cette adresse, un e-mail vient de lui être envoyé. Pensez à regarder dans les indésirables."
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

/// A new activation link, for an account still pending.
pub async fn resend_activation(
    State(state): State<AppState>,
    Path(town): Path<String>,
    body: Result<Json<EmailOnly>, Problem>,
) -> Result<Response, Problem> {
    link_request(&state, &town, body, Some(AccountStatus::Pending)).await
}

/// A reset link (or an activation link, for an account never activated).
pub async fn request_reset(
    State(state): State<AppState>,
    Path(town): Path<String>,
    body: Result<Json<EmailOnly>, Problem>,
) -> Result<Response, Problem> {
    link_request(&state, &town, body, None).await
}
