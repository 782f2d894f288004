//! The emails a family was sent and what became of them: staff see each guardian's emails with
//! their state and the address's notice (« Adresse e-mail invalide (rejetée le …) »), list the
//! town's undeliverable addresses (« Aujourd'hui »), and resend an activation link once the
//! address is corrected; a guardian sees the emails sent to them (« Mon compte »).

use super::{AppState, link_email, load_town, parse_email};
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::delivery::AddressState;
use domain::family::Email;
use domain::{FamilyRef, TownId};
use edge::auth::accounts::{AccountStatus, Purpose};
use edge::http::auth::{Caller, Staff, unknown_family};
use edge::http::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use serde_json::json;
use services::mail::deliverability;
use services::mail::outbox::Mail;
use store::{Query, SkRange, Store, StoreError, keys, repo};

/// Emails listed per address, newest first.
pub const LISTED: usize = 50;

#[derive(Serialize)]
pub struct SentEmail {
    id: String,
    subject: String,
    created_at: DateTime<Utc>,
    /// `pending`, `sent`, `parked`, `suppressed`.
    status: services::mail::outbox::MailStatus,
    /// `delivered`, `delayed`, `bounced`, `complained`, `suppressed`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<domain::delivery::DeliveryState>,
    /// « envoyé », « remis », « rejeté », « plainte »…
    state: &'static str,
}

/// The newest emails sent to `email`.
async fn sent_to(store: &Store, town: &TownId, email: &Email) -> Result<Vec<SentEmail>, StoreError> {
    let mut mails: Vec<Mail> = Vec::new();
    for index in keys::mails_to_all(town, email.as_str()) {
        let q = Query::gsi1(index, SkRange::All).descending().limit(LISTED);
        for item in store.query(&q).await?.items {
            mails.push(item.to_value()?);
        }
    }
    mails.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    mails.truncate(LISTED);
    Ok(mails
        .into_iter()
        .map(|m| SentEmail {
            state: m.state_in_french(),
            id: m.id,
            subject: m.content.subject,
            created_at: m.created_at,
            status: m.status,
            delivery: m.delivery,
        })
        .collect())
}

#[derive(Serialize)]
pub struct GuardianEmails {
    email: Email,
    first_name: String,
    last_name: String,
    #[serde(flatten)]
    address: AddressState,
    /// « Adresse e-mail invalide (rejetée le 03/12/2026) » when it bounced.
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<String>,
    /// Whether an activation link can be sent (the account waits for it).
    activation_pending: bool,
    emails: Vec<SentEmail>,
}

/// `GET /staff/families/{family}/emails`.
pub async fn family_emails(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
) -> Result<axum::Json<Vec<GuardianEmails>>, Problem> {
    let town = load_town(&state, caller.town.as_str()).await?;
    let store = &state.auth.store;
    let reference = FamilyRef::parse(&family).map_err(|_| unknown_family())?;
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown_family)?;
    let mut out = Vec::new();
    for g in &family.guardians {
        let address = deliverability::address(store, town.id(), &g.email).await?;
        let account = store::accounts::get_account(store, town.id(), &g.email).await?;
        out.push(GuardianEmails {
            notice: address.staff_notice(town.tz()),
            address,
            activation_pending: account.is_some_and(|a| a.status == AccountStatus::Pending),
            emails: sent_to(store, town.id(), &g.email).await?,
            email: g.email.clone(),
            first_name: g.first_name.clone(),
            last_name: g.last_name.clone(),
        });
    }
    Ok(axum::Json(out))
}

/// One line of the agents' « Adresses e-mail invalides » list.
#[derive(Serialize)]
pub struct Undeliverable {
    email: Email,
    families: Vec<FamilyRef>,
    notice: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostic: Option<String>,
}

/// `GET /staff/mail/undeliverable`: the town's addresses that bounced, oldest first.
pub async fn undeliverable(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<axum::Json<Vec<Undeliverable>>, Problem> {
    let town = load_town(&state, caller.town.as_str()).await?;
    let list = deliverability::undeliverable(&state.auth.store, town.id()).await?;
    Ok(axum::Json(
        list.into_iter()
            .map(|a| Undeliverable {
                notice: a.state.staff_notice(town.tz()),
                diagnostic: a.state.diagnostic,
                email: a.email,
                families: a.families,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    email: String,
}

/// `POST /staff/families/{family}/activation`: a new activation link to a guardian of the
/// family whose account still waits for it, after staff corrected (or checked) the address;
/// what bounces taught of the address is forgotten, so the link is sent.
pub async fn resend_activation(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<Resend>, Problem>,
) -> Result<axum::Json<serde_json::Value>, Problem> {
    let town = load_town(&state, caller.town.as_str()).await?;
    let store = &state.auth.store;
    let Json(b) = body?;
    let email = parse_email(&b.email)?;
    let reference = FamilyRef::parse(&family).map_err(|_| unknown_family())?;
    let family = repo::get_family(store, town.id(), &reference).await?.ok_or_else(unknown_family)?;
    let not_here = || {
        Problem::unprocessable("not_a_guardian", "Cette adresse n'est pas celle d'un responsable de la famille.")
            .field("email")
    };
    if !family.guardians.iter().any(|g| g.email == email) {
        return Err(not_here());
    }
    let account = store::accounts::get_account(store, town.id(), &email).await?.ok_or_else(not_here)?;
    if account.status != AccountStatus::Pending {
        return Err(Problem::new(
            axum::http::StatusCode::CONFLICT,
            "account_already_active",
            "Ce compte est déjà activé : le responsable peut demander un nouveau mot de passe depuis la page de connexion.",
        ));
    }
    let mut ops = vec![deliverability::forget(town.id(), &email)];
    ops.extend(link_email(&state, &town, &account, Purpose::Activation)?);
    ops.push(
        store::audit::Entry {
            at: state.auth.clock.now(),
            by: caller.session.email.as_str().to_owned(),
            action: "account.activation_resent".into(),
            target: format!("family/{reference}"),
            before: None,
            after: Some(json!({ "email": email })),
        }
        .record(town.id())?,
    );
    store.transact(ops).await?;
    Ok(axum::Json(json!({ "email": email, "sent": true })))
}

/// `GET /auth/emails`: the emails sent to the signed-in person's address.
pub async fn my_emails(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, Problem> {
    let store = &state.auth.store;
    let email = &caller.session.email;
    let address = deliverability::address(store, &caller.town, email).await?;
    Ok(axum::Json(json!({
        "email": email,
        "undeliverable": address.undeliverable(),
        "emails": sent_to(store, &caller.town, email).await?,
    })))
}
