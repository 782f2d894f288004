//! The `towns` function: what anyone may know of a town (its services, units, prices and
//! calendar days), and the operator's provisioning of a town's configuration.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json as AxumJson, Router};
use chrono::NaiveDate;
use domain::calendar::DayFacts;
use domain::config::{Activity, NotOffered, Site, TimeZone, Town, TownConfig};
use domain::{ActivityId, UnitId};
use edge::http::auth::OperatorKey;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::repo::Towns;

/// The longest range of days one request may ask for.
pub const MAX_DAYS: i64 = 62;

#[derive(Clone)]
pub struct AppState {
    pub towns: Towns,
    operator: OperatorKey,
    contact: Option<Contact>,
}

/// Where « Vous êtes une mairie ? Contactez-nous » messages go.
#[derive(Clone)]
pub struct Contact {
    pub to: domain::family::Email,
    pub clock: edge::clock::Clock,
    /// See [`edge::http::auth::client_address`].
    pub trusted_proxies: u8,
}

impl AppState {
    pub fn new(towns: Towns, operator: OperatorKey) -> AppState {
        AppState { towns, operator, contact: None }
    }

    /// Accepts contact messages for the operator at `contact.to`.
    pub fn with_contact(mut self, contact: Contact) -> AppState {
        self.contact = Some(contact);
        self
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/openapi.yaml", get(openapi))
        .route("/api/towns/{town}", get(town_summary))
        .route("/api/towns/{town}/days", get(days))
        .route("/api/towns/{town}/days/{date}", get(day))
        .route("/api/operator/towns/{town}", put(provision))
        .route("/api/contact", axum::routing::post(contact))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    AxumJson(serde_json::json!({ "status": "ok", "store": state.towns.store().backend_name() }))
}

/// The API's OpenAPI document (`docs/openapi.yaml`, checked in CI against the routes).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/yaml; charset=utf-8")], OPENAPI)
}

async fn load(state: &AppState, raw: &str) -> Result<Arc<Town>, Problem> {
    http::load_town_from_path(&state.towns, raw).await
}

/// The town as anyone may read it (the home page, the parents' booking pages): its services,
/// units, prices and whom to call. A projection, field by field: the régie's PayFiP account,
/// SEPA creditor id, IBAN and BIC, and whatever the configuration grows next, stay with staff.
#[derive(Debug, Serialize)]
pub struct PublicTown {
    id: domain::TownId,
    name: String,
    time_zone: TimeZone,
    sites: Vec<Site>,
    activities: Vec<Activity>,
    billing: PublicBilling,
}

/// The régie's contact, as the pages show it.
#[derive(Debug, Serialize)]
struct PublicBilling {
    regie: String,
    address: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<String>,
    issuer: String,
    how_to_pay: Vec<String>,
    court: String,
}

impl PublicTown {
    pub fn of(c: &TownConfig) -> PublicTown {
        let b = &c.billing;
        PublicTown {
            id: c.id.clone(),
            name: c.name.clone(),
            time_zone: c.time_zone,
            sites: c.sites.clone(),
            activities: c.activities.clone(),
            billing: PublicBilling {
                regie: b.regie.clone(),
                address: b.address.clone(),
                phone: b.phone.clone(),
                email: b.email.clone(),
                hours: b.hours.clone(),
                issuer: b.issuer.clone(),
                how_to_pay: b.how_to_pay.clone(),
                court: b.court.clone(),
            },
        }
    }
}

async fn town_summary(
    State(state): State<AppState>,
    Path(town): Path<String>,
) -> Result<AxumJson<PublicTown>, Problem> {
    Ok(AxumJson(PublicTown::of(load(&state, &town).await?.config())))
}

/// One unit's offer on a day.
#[derive(Serialize)]
struct UnitDay {
    activity: ActivityId,
    unit: UnitId,
    offered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_offered: Option<NotOffered>,
}

#[derive(Serialize)]
struct Day {
    #[serde(flatten)]
    facts: DayFacts,
    units: Vec<UnitDay>,
}

fn day_of(town: &Town, date: NaiveDate) -> Day {
    let units = town
        .config()
        .activities
        .iter()
        .flat_map(|a| a.units.iter().map(move |u| (a, u)))
        .map(|(a, u)| {
            let offer = town.offering(a, u, date);
            UnitDay { activity: a.id.clone(), unit: u.id.clone(), offered: offer.is_ok(), not_offered: offer.err() }
        })
        .collect();
    Day { facts: town.calendar().day(date), units }
}

async fn day(
    State(state): State<AppState>,
    Path((town, date)): Path<(String, String)>,
) -> Result<AxumJson<Day>, Problem> {
    let town = load(&state, &town).await?;
    Ok(AxumJson(day_of(&town, http::date(&date)?)))
}

#[derive(Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

async fn days(
    State(state): State<AppState>,
    Path(town): Path<String>,
    query: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<Day>>, Problem> {
    let town = load(&state, &town).await?;
    let Ok(Query(range)) = query else {
        return Err(edge::http::bad_query());
    };
    let missing = || Problem::bad_request("missing_range", "Indiquez les dates « from » et « to » (AAAA-MM-JJ).");
    let from = http::date(range.from.as_deref().ok_or_else(missing)?)?;
    let to = http::date(range.to.as_deref().ok_or_else(missing)?)?;
    let span = (to - from).num_days();
    if !(0..MAX_DAYS).contains(&span) {
        return Err(Problem::bad_request(
            "invalid_range",
            format!("La période doit aller de « from » à « to » inclus, sur au plus {MAX_DAYS} jours."),
        )
        .field(if span < 0 { "to" } else { "from" }));
    }
    Ok(AxumJson(from.iter_days().take_while(|d| *d <= to).map(|d| day_of(&town, d)).collect()))
}

#[derive(Serialize)]
struct Provisioned {
    id: String,
    name: String,
    created: bool,
}

/// Creates or replaces a town's configuration (platform operator only).
async fn provision(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(town): Path<String>,
    body: Result<Json<TownConfig>, Problem>,
) -> Result<Response, Problem> {
    if !state.operator.allows(&headers).await {
        return Ok(OperatorKey::denied());
    }
    let id = http::town_id(&town).map_err(|_| {
        Problem::bad_request(
            "invalid_town_id",
            "L'identifiant de commune ne doit contenir que des minuscules sans accent, des chiffres, « - » ou « _ ».",
        )
    })?;
    let Json(config) = body?;
    if config.id != id {
        return Err(Problem::unprocessable(
            "town_id_mismatch",
            "L'identifiant de la commune dans le document ne correspond pas à l'adresse.",
        )
        .field("id"));
    }
    let town = Town::try_from(config).map_err(|e| {
        Problem::unprocessable("invalid_configuration", "La configuration de la commune est incorrecte.")
            .detail(e.message)
            .field(e.path)
    })?;
    let created = state.towns.put(&town).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let body = Provisioned { id: town.id().to_string(), name: town.config().name.clone(), created };
    Ok((status, AxumJson(body)).into_response())
}

/// Contact messages per client address and hour.
pub const CONTACTS_PER_HOUR: i64 = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactRequest {
    town: String,
    name: String,
    email: String,
    #[serde(default)]
    phone: Option<String>,
    message: String,
    /// Left empty by people; robots fill it in (the form hides it).
    #[serde(default)]
    website: Option<String>,
}

fn text_field(
    value: &str,
    field: &str,
    label: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, Problem> {
    let v = value.trim();
    let n = v.chars().count();
    let bad_char = v.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if n < min || n > max || bad_char {
        return Err(
            Problem::unprocessable("invalid_contact", format!("{label} : de {min} à {max} caractères.")).field(field)
        );
    }
    Ok(v.to_owned())
}

/// « Vous êtes une mairie ? Contactez-nous »: a message to the portal's operator, through the
/// outbox. Public, limited per address; a robot filling the hidden field is told "thank you"
/// and nothing is sent.
async fn contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Result<Json<ContactRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<serde_json::Value>), Problem> {
    let Some(contact) = &state.contact else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "contact_unavailable",
            "Le formulaire de contact n'est pas disponible : écrivez-nous directement.",
        ));
    };
    let Json(r) = body?;
    let town = text_field(&r.town, "town", "Commune", 2, 100, false)?;
    let name = text_field(&r.name, "name", "Nom", 2, 100, false)?;
    let email = domain::family::Email::parse(r.email.trim())
        .map_err(|m| Problem::unprocessable("invalid_contact", m.to_string()).field("email"))?;
    let phone = match r.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(text_field(p, "phone", "Téléphone", 6, 30, false)?),
        None => None,
    };
    let message = text_field(&r.message, "message", "Message", 10, 5000, true)?;
    let thanks = serde_json::json!({"message": "Merci : votre message a été transmis. Nous vous répondrons à l'adresse indiquée."});
    if r.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Ok((StatusCode::ACCEPTED, AxumJson(thanks)));
    }
    let store = state.towns.store();
    let now = contact.clock.now();
    let portal = domain::TownId::parse("portail").map_err(|e| Problem::internal(&e))?;
    let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let address = edge::http::auth::client_address(&headers, peer, contact.trusted_proxies);
    if !edge::auth::accounts::count_in_hour(store, &portal, &format!("CONTACT#{address}"), now, Some(CONTACTS_PER_HOUR))
        .await?
    {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_messages",
            "Trop de messages envoyés depuis cette adresse : réessayez dans une heure.",
        ));
    }
    let content =
        services::mail::templates::portal::TownContact { town, name, email: email.to_string(), phone, message }
            .render();
    let mail = services::mail::outbox::Mail::new(&portal, &contact.to, content, now);
    store.transact(vec![mail.enqueue()?]).await?;
    Ok((StatusCode::ACCEPTED, AxumJson(thanks)))
}
