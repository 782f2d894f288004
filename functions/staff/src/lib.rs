//! The `staff` function: the town's back office for the days themselves. The queue of requests
//! waiting for a decision (manual units, waiting lists, cancellation requests), decided one or
//! many at once with the guardians emailed; the attendance list of a day, site and unit (with
//! the health and diet notes staff need, and nothing more), as JSON or as a CSV French
//! spreadsheets open, and its marks; the kitchen's counts for a week; the town's configuration;
//! families' search and corrections ([`families`]). Every decision, mark and correction is in
//! the audit trail.

use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json as AxumJson, Router};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shared::audit;
use shared::domain::account::Role;
use shared::domain::booking::{Attendance, Booking, BookingStatus, ChangedBy};
use shared::domain::config::{Town, TownConfig};
use shared::domain::family::{Child, Family};
use shared::domain::{ActivityId, Cents, ChildId, FamilyRef, SiteId, UnitId};
use shared::http::auth::{AuthState, Staff};
use shared::http::{self, Json, Problem};
use shared::mail::outbox::Mail;
use shared::mail::templates::{self, Section};
use shared::store::repo::{self, Towns};
use shared::store::{Cond, Store, StoreError, WriteOp, keys};
use std::collections::{BTreeMap, HashMap, HashSet};

mod families;

/// The longest range of the requests queue.
pub const MAX_QUEUE_DAYS: i64 = 120;
/// Decisions per request: a family's decisions, its email and audit entry fit one transaction.
pub const MAX_DECISIONS: usize = 40;
/// Marks per request, and per transaction.
pub const MAX_MARKS: usize = 400;
const MARKS_PER_TRANSACTION: usize = 45;
/// Days read at once from the index.
const CONCURRENT_DAYS: usize = 8;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(s: &AppState) -> AuthState {
        s.auth.clone()
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/staff/requests", get(requests))
        .route("/api/towns/{town}/staff/requests/decisions", axum::routing::post(decide))
        .route("/api/towns/{town}/staff/attendance", get(attendance).post(mark))
        .route("/api/towns/{town}/staff/kitchen", get(kitchen))
        .route("/api/towns/{town}/staff/config", get(config).put(update_config))
        .route("/api/towns/{town}/staff/families", get(families::search))
        .route("/api/towns/{town}/staff/families/{family}", get(families::records).put(families::update_family))
        .route("/api/towns/{town}/staff/children/{child}", axum::routing::put(families::update_child))
        .with_state(state)
}

fn bad_query() -> Problem {
    Problem::bad_request("invalid_query", "Les paramètres de la demande sont incorrects.")
}

fn today(state: &AppState, town: &Town) -> NaiveDate {
    state.auth.clock.now().with_timezone(&town.tz()).date_naive()
}

fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// The bookings of each day, read a few days at once.
async fn bookings_of_days(store: &Store, town: &Town, days: &[NaiveDate]) -> Result<Vec<Booking>, StoreError> {
    let reads: Vec<_> = days
        .iter()
        .map(|d| {
            let (store, town, date) = (store.clone(), town.id().clone(), *d);
            async move { repo::bookings_on(&store, &town, date).await }
        })
        .collect();
    let results: Vec<_> = futures::stream::iter(reads).buffered(CONCURRENT_DAYS).collect().await;
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

async fn children_by_id(store: &Store, town: &Town) -> Result<HashMap<ChildId, Child>, StoreError> {
    Ok(repo::all_children(store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect())
}

fn unit_name(town: &Town, unit: &UnitId) -> String {
    town.unit(unit).map_or_else(|| unit.to_string(), |(_, u)| u.name.clone())
}

// ----- The requests queue -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    from: Option<String>,
    to: Option<String>,
    activity: Option<String>,
    site: Option<String>,
}

#[derive(Serialize)]
struct Request {
    child: ChildId,
    first_name: String,
    last_name: String,
    family: FamilyRef,
    activity: ActivityId,
    site: SiteId,
    unit: UnitId,
    unit_name: String,
    date: NaiveDate,
    /// `pending` (« demande en cours ») or `cancel_requested` (« demande d'annulation »).
    status: BookingStatus,
    waiting_list: bool,
    price: Cents,
    requested_at: DateTime<Utc>,
}

/// The requests waiting for a decision, by date, filtered by activity and site.
async fn requests(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<Request>>, Problem> {
    let Query(q) = query.map_err(|_| bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = today(&state, &town);
    let from = match q.from.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("from"))?,
        None => today,
    };
    let to = match q.to.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("to"))?,
        None => from.checked_add_days(Days::new(62)).unwrap_or(from),
    };
    if to < from || (to - from).num_days() > MAX_QUEUE_DAYS {
        return Err(Problem::unprocessable(
            "invalid_range",
            format!("La période va d'une date à une date postérieure, sur {MAX_QUEUE_DAYS} jours au plus."),
        )
        .field("to"));
    }
    let store = &state.auth.store;
    let children = children_by_id(store, &town).await?;
    let mut out: Vec<Request> = bookings_of_days(store, &town, &days(from, to))
        .await?
        .into_iter()
        .filter(|b| matches!(b.status, BookingStatus::Pending | BookingStatus::CancelRequested))
        .filter(|b| q.activity.as_deref().is_none_or(|a| b.activity.as_str() == a))
        .filter(|b| q.site.as_deref().is_none_or(|s| b.site.as_str() == s))
        .map(|b| {
            let child = children.get(&b.child);
            Request {
                first_name: child.map(|c| c.first_name.clone()).unwrap_or_default(),
                last_name: child.map(|c| c.last_name.clone()).unwrap_or_default(),
                unit_name: unit_name(&town, &b.unit),
                child: b.child,
                family: b.family,
                activity: b.activity,
                site: b.site,
                unit: b.unit,
                date: b.date,
                status: b.status,
                waiting_list: b.waiting_list,
                price: b.price,
                requested_at: b.updated_at,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.date, &a.unit, &a.last_name, &a.first_name).cmp(&(b.date, &b.unit, &b.last_name, &b.first_name))
    });
    Ok(AxumJson(out))
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
struct Decision {
    child: ChildId,
    unit: UnitId,
    date: NaiveDate,
    accept: bool,
    /// Required to refuse: the guardian reads it.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decisions {
    decisions: Vec<Decision>,
}

#[derive(Serialize)]
struct DecisionResult {
    child: ChildId,
    unit: UnitId,
    date: NaiveDate,
    /// The booking's status after the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<BookingStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What one decision writes.
struct Decided {
    decision: Decision,
    before: Booking,
    after: Booking,
    /// +1 takes a place (a waiting list accepted), -1 frees one.
    places: i64,
    capacity: Option<u32>,
}

/// Accepts or refuses requests, one or many at once; each family's decisions are applied
/// together with its email and audit entry. All the decisions are checked first: one that
/// cannot apply (unknown, already decided, a refusal without reason, twice) refuses the lot.
async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<Decisions>, Problem>,
) -> Result<AxumJson<Vec<DecisionResult>>, Problem> {
    let Json(Decisions { decisions }) = body?;
    if decisions.is_empty() || decisions.len() > MAX_DECISIONS {
        return Err(Problem::unprocessable(
            "invalid_decisions",
            format!("Une décision porte sur 1 à {MAX_DECISIONS} demandes."),
        )
        .field("decisions"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut decided = Vec::new();
    for (i, d) in decisions.iter().enumerate() {
        let reason = d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let error = if !seen.insert((d.child.clone(), d.unit.clone(), d.date)) {
            Some("Cette demande figure deux fois.".to_owned())
        } else if !d.accept && reason.is_none_or(|r| r.chars().count() > 500) {
            Some("Indiquez la raison du refus (500 caractères au plus) : la famille la lira.".to_owned())
        } else {
            match store.get(&keys::booking(town.id(), &d.child, d.date, &d.unit)).await? {
                None => Some("Cette demande est introuvable.".to_owned()),
                Some(item) => {
                    let before: Booking = item.to_value()?;
                    match apply_decision(&town, &before, d, reason, by, now) {
                        Ok(x) => {
                            decided.push(x);
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            }
        };
        if let Some(e) = error {
            errors.push(serde_json::json!({"index": i, "child": d.child, "unit": d.unit, "date": d.date, "error": e}));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(
            "decisions_refused",
            "Certaines décisions ne peuvent pas s'appliquer : aucune n'a été enregistrée.",
        )
        .with("decisions", serde_json::Value::Array(errors)));
    }
    let mut by_family: BTreeMap<FamilyRef, Vec<Decided>> = BTreeMap::new();
    for d in decided {
        by_family.entry(d.after.family.clone()).or_default().push(d);
    }
    let children = children_by_id(store, &town).await?;
    let mut results = Vec::new();
    for (family, group) in by_family {
        let family = repo::get_family(store, town.id(), &family).await?;
        let outcome = apply_family(&state, &town, family.as_ref(), &group, &children, by, now).await;
        for d in &group {
            results.push(DecisionResult {
                child: d.decision.child.clone(),
                unit: d.decision.unit.clone(),
                date: d.decision.date,
                status: outcome.as_ref().ok().map(|_| d.after.status),
                error: outcome.as_ref().err().cloned(),
            });
        }
    }
    Ok(AxumJson(results))
}

fn apply_decision(
    town: &Town,
    before: &Booking,
    d: &Decision,
    reason: Option<&str>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Decided, String> {
    let capacity = town.unit(&before.unit).and_then(|(_, u)| u.capacity);
    let mut after = before.clone();
    let held = before.holds_place();
    let to = match (before.status, d.accept) {
        (BookingStatus::Pending, true) => BookingStatus::Confirmed,
        (BookingStatus::Pending, false) => BookingStatus::Refused,
        (BookingStatus::CancelRequested, true) => BookingStatus::Cancelled,
        (BookingStatus::CancelRequested, false) => BookingStatus::Confirmed,
        _ => return Err("Cette demande a déjà été traitée.".to_owned()),
    };
    if to == BookingStatus::Refused {
        after.refusal_reason = reason.map(str::to_owned);
    }
    after.waiting_list = false;
    after.change(to, now, by, ChangedBy::Staff, false);
    let places = match (held, after.holds_place()) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    };
    Ok(Decided {
        decision: d.clone(),
        before: before.clone(),
        after,
        places: if capacity.is_some() { places } else { 0 },
        capacity,
    })
}

/// One family's decisions in one transaction: bookings, places, audit entry, email.
async fn apply_family(
    state: &AppState,
    town: &Town,
    family: Option<&Family>,
    group: &[Decided],
    children: &HashMap<ChildId, Child>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let run = async {
        let mut ops = Vec::new();
        let mut counters: BTreeMap<(UnitId, SiteId, NaiveDate), (i64, Option<u32>)> = BTreeMap::new();
        for d in group {
            let cond = Cond::AttrEquals { name: "version".into(), value: serde_json::Value::from(d.before.version) };
            ops.push(WriteOp::Put { item: repo::booking_item(town.id(), &d.after)?, cond: Some(cond) });
            if d.places != 0 {
                let c = counters
                    .entry((d.after.unit.clone(), d.after.site.clone(), d.after.date))
                    .or_insert((0, d.capacity));
                c.0 += d.places;
            }
        }
        for ((unit, site, date), (by_n, capacity)) in counters {
            if by_n != 0 {
                let max = capacity.filter(|_| by_n > 0).map(i64::from);
                ops.push(WriteOp::Add {
                    key: keys::capacity(town.id(), &unit, &site, date),
                    attr: "taken".into(),
                    by: by_n,
                    max,
                });
            }
        }
        let entry = audit::Entry {
            at: now,
            by: by.to_owned(),
            action: "requests.decide".into(),
            target: format!("family/{}", group[0].after.family),
            before: serde_json::to_value(group.iter().map(|d| &d.before).collect::<Vec<_>>()).ok(),
            after: serde_json::to_value(group.iter().map(|d| &d.after).collect::<Vec<_>>()).ok(),
        };
        ops.push(entry.record(town.id())?);
        for g in family.map(|f| f.guardians.as_slice()).unwrap_or_default() {
            let content = decision_email(state, town, &g.first_name, group, children);
            ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
        }
        state.auth.store.transact(ops).await
    };
    match run.await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { reason: shared::store::CancelReason::OverLimit, .. }) => {
            Err("Plus de place ce jour-là : la demande ne peut pas être validée.".to_owned())
        }
        Err(StoreError::TransactionCanceled { .. }) => {
            Err("Cette demande vient d'être modifiée : rechargez la liste.".to_owned())
        }
        Err(e) => {
            tracing::warn!(error = %e, "decision not applied");
            Err("Le service est momentanément indisponible : réessayez.".to_owned())
        }
    }
}

fn french_date(d: NaiveDate) -> String {
    const DAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
    format!("{} {}", DAYS[d.weekday().num_days_from_monday() as usize], d.format("%d/%m/%Y"))
}

fn decision_email(
    state: &AppState,
    town: &Town,
    first_name: &str,
    group: &[Decided],
    children: &HashMap<ChildId, Child>,
) -> shared::mail::outbox::Content {
    let mut sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for d in group {
        let child = children.get(&d.after.child).map_or_else(|| d.after.child.to_string(), |c| c.first_name.clone());
        let line = format!("{} – {} – {}", french_date(d.after.date), child, unit_name(town, &d.after.unit));
        let (title, line) = match (d.before.status, d.after.status) {
            (BookingStatus::Pending, BookingStatus::Confirmed) => ("Demandes validées", line),
            (BookingStatus::Pending, _) => {
                ("Demandes refusées", format!("{line} – {}", d.after.refusal_reason.as_deref().unwrap_or_default()))
            }
            (_, BookingStatus::Cancelled) => ("Annulations acceptées", line),
            _ => (
                "Annulations refusées (la réservation est maintenue)",
                format!("{line} – {}", d.decision.reason.as_deref().unwrap_or_default()),
            ),
        };
        sections.entry(title).or_default().push(line);
    }
    let sections: Vec<Section> =
        sections.into_iter().map(|(title, lines)| Section { title: title.to_owned(), lines }).collect();
    templates::summary(
        &town.config().name,
        "Décision sur vos demandes",
        first_name,
        "Le service enfance a examiné vos demandes :",
        &sections,
        &[],
        &format!("{}/reservations.html", state.public_url),
    )
}

// ----- Attendance -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttendanceQuery {
    date: Option<String>,
    unit: Option<String>,
    site: Option<String>,
    format: Option<String>,
}

#[derive(Serialize)]
struct Present {
    child: ChildId,
    last_name: String,
    first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<String>,
    /// Allergies and diet notes, and nothing more.
    #[serde(skip_serializing_if = "Option::is_none")]
    health_notes: Option<String>,
    status: BookingStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance: Option<Attendance>,
    late: bool,
}

/// The unit and site a query names (the site defaults to the unit's activity's only one).
fn unit_and_site(town: &Town, unit: Option<&str>, site: Option<&str>) -> Result<(UnitId, SiteId), Problem> {
    let unit = unit.ok_or_else(|| {
        Problem::bad_request("missing_unit", "Choisissez la prestation (paramètre « unit »).").field("unit")
    })?;
    let (activity, u) = town
        .config()
        .activities
        .iter()
        .find_map(|a| a.units.iter().find(|u| u.id.as_str() == unit).map(|u| (a, u)))
        .ok_or_else(|| {
            Problem::not_found("unknown_unit", "Cette prestation n'existe pas dans la commune.").field("unit")
        })?;
    let site = match site {
        Some(s) => activity.sites.iter().find(|x| x.as_str() == s),
        None if activity.sites.len() == 1 => activity.sites.first(),
        None => {
            return Err(Problem::bad_request("missing_site", "Choisissez le site (paramètre « site »).").field("site"));
        }
    }
    .ok_or_else(|| Problem::not_found("unknown_site", "Ce site n'accueille pas cette prestation.").field("site"))?;
    Ok((u.id.clone(), site.clone()))
}

async fn attendance_list(
    state: &AppState,
    town: &Town,
    date: NaiveDate,
    unit: &UnitId,
    site: &SiteId,
) -> Result<Vec<Present>, Problem> {
    let store = &state.auth.store;
    let children = children_by_id(store, town).await?;
    let mut out: Vec<Present> = repo::bookings_on(store, town.id(), date)
        .await?
        .into_iter()
        .filter(|b| &b.unit == unit && &b.site == site && (b.holds_place() || b.attendance.is_some()))
        .map(|b| {
            let c = children.get(&b.child);
            Present {
                last_name: c.map(|c| c.last_name.clone()).unwrap_or_default(),
                first_name: c.map(|c| c.first_name.clone()).unwrap_or_default(),
                class: c.and_then(|c| c.class.clone()),
                health_notes: c.and_then(|c| c.health_notes.clone()),
                child: b.child,
                status: b.status,
                attendance: b.attendance,
                late: b.late,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.last_name, &a.first_name).cmp(&(&b.last_name, &b.first_name)));
    Ok(out)
}

/// The list of a day, site and unit: JSON, or `format=csv` (UTF-8 with BOM, `;`).
async fn attendance(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<AttendanceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let date = match q.date.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("date"))?,
        None => today(&state, &town),
    };
    let (unit, site) = unit_and_site(&town, q.unit.as_deref(), q.site.as_deref())?;
    let list = attendance_list(&state, &town, date, &unit, &site).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(AxumJson(list).into_response()),
        Some("csv") => csv_response(&town, date, &unit, &site, &list),
        Some(_) => Err(Problem::bad_request("invalid_format", "Le format est « json » ou « csv ».").field("format")),
    }
}

fn presence_fr(a: Option<Attendance>) -> &'static str {
    match a {
        None => "",
        Some(Attendance::Present) => "présent",
        Some(Attendance::Absent) => "absent",
        Some(Attendance::AbsentJustified) => "absent (justifié)",
    }
}

fn status_fr(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Pending => "demande en cours",
        BookingStatus::Confirmed => "réservé",
        BookingStatus::CancelRequested => "annulation demandée",
        BookingStatus::Refused => "refusé",
        BookingStatus::Cancelled => "annulé",
    }
}

fn csv_response(
    town: &Town,
    date: NaiveDate,
    unit: &UnitId,
    site: &SiteId,
    list: &[Present],
) -> Result<Response, Problem> {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(vec![0xEF, 0xBB, 0xBF]);
    let internal = |e: csv::Error| Problem::internal(&e);
    w.write_record(["Nom", "Prénom", "Classe", "Santé et régime", "Réservation", "Présence"]).map_err(internal)?;
    for p in list {
        let status =
            if p.late { format!("{} (hors délai)", status_fr(p.status)) } else { status_fr(p.status).to_owned() };
        w.write_record([
            p.last_name.as_str(),
            p.first_name.as_str(),
            p.class.as_deref().unwrap_or_default(),
            p.health_notes.as_deref().unwrap_or_default(),
            status.as_str(),
            presence_fr(p.attendance),
        ])
        .map_err(internal)?;
    }
    let bytes = w.into_inner().map_err(|e| Problem::internal(&e.to_string()))?;
    let name = format!("pointage-{}-{}-{}-{date}.csv", town.id(), site, unit);
    let mut res = (StatusCode::OK, bytes).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MarkKind {
    Present,
    Absent,
    AbsentJustified,
    /// Came without a booking: booked now, at the late price.
    PresentUnbooked,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkLine {
    child: ChildId,
    mark: MarkKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Marks {
    date: NaiveDate,
    unit: String,
    #[serde(default)]
    site: Option<String>,
    marks: Vec<MarkLine>,
}

/// Takes attendance: present, absent, absent with a justification, or present without a
/// booking (a late addition at the unit's late price). Every mark is checked first.
async fn mark(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<Marks>, Problem>,
) -> Result<AxumJson<Vec<Present>>, Problem> {
    let Json(m) = body?;
    if m.marks.is_empty() || m.marks.len() > MAX_MARKS {
        return Err(Problem::unprocessable("invalid_marks", format!("Un pointage compte de 1 à {MAX_MARKS} enfants."))
            .field("marks"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let (unit_id, site) = unit_and_site(&town, Some(&m.unit), m.site.as_deref())?;
    let Some((activity, unit)) = town.unit(&unit_id) else { return Err(http::unknown_town()) };
    if m.date > today(&state, &town) {
        return Err(Problem::unprocessable("future_date", "On ne pointe pas un jour à venir.").field("date"));
    }
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let existing: HashMap<ChildId, Booking> = repo::bookings_on(store, town.id(), m.date)
        .await?
        .into_iter()
        .filter(|b| b.unit == unit_id && b.site == site)
        .map(|b| (b.child.clone(), b))
        .collect();
    let families = repo::all_families(store, town.id()).await?;
    let children = children_by_id(store, &town).await?;
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut writes: Vec<(Option<u64>, Booking, i64)> = Vec::new();
    for (i, line) in m.marks.iter().enumerate() {
        let fail = |e: &str| serde_json::json!({"index": i, "child": line.child, "error": e});
        if !seen.insert(line.child.clone()) {
            errors.push(fail("Cet enfant figure deux fois dans le pointage."));
            continue;
        }
        let live = existing.get(&line.child).filter(|b| b.holds_place() || b.attendance.is_some());
        match (line.mark, live) {
            (MarkKind::PresentUnbooked, Some(_)) => {
                errors.push(fail("Cet enfant est déjà inscrit ce jour-là : pointez-le présent."))
            }
            (MarkKind::PresentUnbooked, None) => {
                let (Some(child), Some(family)) =
                    (children.get(&line.child), families.iter().find(|f| f.children.contains(&line.child)))
                else {
                    errors.push(fail("Cet enfant est introuvable."));
                    continue;
                };
                if let Err(why) = town.offering_at(activity, unit, &site, m.date) {
                    errors.push(fail(&why.french()));
                    continue;
                }
                let normal = unit.price.for_family(family.resident, family.quotient_familial);
                let previous = existing.get(&line.child);
                let mut b = previous.cloned().unwrap_or_else(|| Booking {
                    child: child.id.clone(),
                    family: family.reference.clone(),
                    activity: activity.id.clone(),
                    site: site.clone(),
                    unit: unit_id.clone(),
                    date: m.date,
                    status: BookingStatus::Cancelled,
                    price: normal,
                    late: true,
                    attendance: None,
                    refusal_reason: None,
                    waiting_list: false,
                    late_cancel: false,
                    updated_at: now,
                    version: 0,
                    history: Vec::new(),
                });
                b.price = unit.late_addition.apply(normal);
                b.late = true;
                b.late_cancel = false;
                b.waiting_list = false;
                b.attendance = Some(Attendance::Present);
                b.change(BookingStatus::Confirmed, now, by, ChangedBy::Staff, true);
                writes.push((previous.map(|p| p.version), b, i64::from(unit.capacity.is_some())));
            }
            (_, None) => {
                errors.push(fail("Cet enfant n'est pas inscrit ce jour-là : pointez-le « présent sans réservation »."))
            }
            (kind, Some(b)) => {
                let mut after = b.clone();
                after.attendance = Some(match kind {
                    MarkKind::Present => Attendance::Present,
                    MarkKind::Absent => Attendance::Absent,
                    _ => Attendance::AbsentJustified,
                });
                after.updated_at = now;
                after.version += 1;
                writes.push((Some(b.version), after, 0));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(
            "marks_refused",
            "Certains pointages ne peuvent pas s'appliquer : aucun n'a été enregistré.",
        )
        .with("marks", serde_json::Value::Array(errors)));
    }
    // Marks set a value: a retry after a partial failure applies the rest and changes nothing twice.
    for chunk in writes.chunks(MARKS_PER_TRANSACTION) {
        let mut ops = Vec::new();
        let mut added = 0;
        for (version, b, places) in chunk {
            let cond = match version {
                Some(v) => Cond::AttrEquals { name: "version".into(), value: serde_json::Value::from(*v) },
                None => Cond::NotExists,
            };
            ops.push(WriteOp::Put { item: repo::booking_item(town.id(), b)?, cond: Some(cond) });
            added += places;
        }
        if added > 0 {
            ops.push(WriteOp::Add {
                key: keys::capacity(town.id(), &unit_id, &site, m.date),
                attr: "taken".into(),
                by: added,
                max: None,
            });
        }
        let entry = audit::Entry {
            at: now,
            by: by.to_owned(),
            action: "attendance.mark".into(),
            target: format!("attendance/{}/{}/{}", m.date, site, unit_id),
            before: None,
            after: serde_json::to_value(chunk.iter().map(|(_, b, _)| (&b.child, b.attendance)).collect::<Vec<_>>())
                .ok(),
        };
        ops.push(entry.record(town.id())?);
        match store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { .. }) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "attendance_changed",
                    "Le pointage vient d'être modifié par ailleurs : rechargez la liste.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(AxumJson(attendance_list(&state, &town, m.date, &unit_id, &site).await?))
}

// ----- Kitchen counts -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KitchenQuery {
    /// Any day of the week wanted (default: next week).
    week: Option<String>,
}

#[derive(Serialize)]
struct Count {
    site: SiteId,
    unit: UnitId,
    unit_name: String,
    count: usize,
}

#[derive(Serialize)]
struct KitchenDay {
    date: NaiveDate,
    counts: Vec<Count>,
}

/// The children expected per day, site and unit, Monday to Friday of a week (booked and holding
/// a place: validated requests, pending ones of manual units, cancellations not yet decided).
async fn kitchen(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<KitchenQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<KitchenDay>>, Problem> {
    let Query(q) = query.map_err(|_| bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let day = match q.week.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("week"))?,
        None => today(&state, &town).checked_add_days(Days::new(7)).unwrap_or_default(),
    };
    let monday = day.week(Weekday::Mon).first_day();
    let week: Vec<NaiveDate> = (0..5).filter_map(|i| monday.checked_add_days(Days::new(i))).collect();
    let bookings = bookings_of_days(&state.auth.store, &town, &week).await?;
    let out = week
        .iter()
        .map(|date| {
            let mut counts: BTreeMap<(SiteId, UnitId), usize> = BTreeMap::new();
            for b in bookings.iter().filter(|b| &b.date == date && b.holds_place()) {
                *counts.entry((b.site.clone(), b.unit.clone())).or_default() += 1;
            }
            KitchenDay {
                date: *date,
                counts: counts
                    .into_iter()
                    .map(|((site, unit), count)| Count { unit_name: unit_name(&town, &unit), site, unit, count })
                    .collect(),
            }
        })
        .collect();
    Ok(AxumJson(out))
}

// ----- The town's configuration -----

#[derive(Serialize)]
struct ConfigView {
    version: u64,
    /// The town's today, for the forms (past closures cannot change).
    today: NaiveDate,
    config: TownConfig,
}

/// The town's configuration and its version (staff).
async fn config(State(state): State<AppState>, Staff(caller): Staff) -> Result<AxumJson<ConfigView>, Problem> {
    let (town, version) = state.towns.get_versioned(&caller.town).await?.ok_or_else(http::unknown_town)?;
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigUpdate {
    /// The version that was read.
    version: u64,
    config: TownConfig,
}

fn config_error(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem::unprocessable("invalid_configuration", message).field(field)
}

/// What a change may not touch: the past stays as it was billed, and nothing that bookings
/// point to disappears.
fn check_change(before: &TownConfig, after: &TownConfig, today: NaiveDate) -> Result<(), Problem> {
    if after.id != before.id {
        return Err(config_error("config.id", "L'identifiant de la commune ne change pas."));
    }
    if after.time_zone != before.time_zone || after.school_holiday_zone != before.school_holiday_zone {
        return Err(config_error(
            "config.school_holiday_zone",
            "Le fuseau horaire et la zone de vacances scolaires se changent avec l'exploitant du portail.",
        ));
    }
    for site in &before.sites {
        if !after.sites.iter().any(|s| s.id == site.id) {
            return Err(config_error(
                "config.sites",
                format!("Le site « {} » ne peut pas être supprimé : des réservations y renvoient.", site.name),
            ));
        }
    }
    for a in &before.activities {
        let Some(kept) = after.activities.iter().find(|x| x.id == a.id) else {
            return Err(config_error(
                "config.activities",
                format!("Le service « {} » ne peut pas être supprimé : des réservations y renvoient.", a.name),
            ));
        };
        for u in &a.units {
            if !kept.units.iter().any(|x| x.id == u.id) {
                return Err(config_error(
                    "config.activities",
                    format!("La prestation « {} » ne peut pas être supprimée : des réservations y renvoient.", u.name),
                ));
            }
        }
    }
    let past = |c: &TownConfig| {
        let mut closures: Vec<String> = c
            .closures
            .iter()
            .filter(|x| x.date < today)
            .map(|x| serde_json::to_string(x).unwrap_or_default())
            .collect();
        closures.sort();
        let mut holidays: Vec<String> = c
            .extra_public_holidays
            .iter()
            .filter(|x| x.date < today)
            .map(|x| serde_json::to_string(x).unwrap_or_default())
            .collect();
        holidays.sort();
        (closures, holidays)
    };
    if past(before) != past(after) {
        return Err(config_error(
            "config.closures",
            "Les fermetures et jours fériés passés ne peuvent plus être modifiés.",
        ));
    }
    Ok(())
}

/// Replaces the town's configuration (town administrator): checked like the configuration file
/// (field paths, French messages), and like a change (see [`check_change`]); prices, deadlines
/// and capacities apply to bookings made from now on (a booking keeps its price).
async fn update_config(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<ConfigUpdate>, Problem>,
) -> Result<AxumJson<ConfigView>, Problem> {
    if caller.session.role != Role::TownAdmin {
        return Err(
            shared::http::auth::forbidden().detail("La configuration de la commune est réservée à son administrateur.")
        );
    }
    let Json(update) = body?;
    let (current, version) = state.towns.get_versioned(&caller.town).await?.ok_or_else(http::unknown_town)?;
    let conflict = || {
        Problem::new(
            StatusCode::CONFLICT,
            "config_changed",
            "La configuration a été modifiée entre-temps : rechargez-la avant de l'enregistrer.",
        )
    };
    if update.version != version {
        return Err(conflict());
    }
    check_change(current.config(), &update.config, today(&state, &current))?;
    let town = Town::try_from(update.config).map_err(|e| {
        Problem::unprocessable("invalid_configuration", "La configuration de la commune est incorrecte.")
            .detail(e.message)
            .field(format!("config.{}", e.path))
    })?;
    let entry = audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.to_string(),
        action: "config.update".into(),
        target: format!("town/{}", caller.town),
        before: serde_json::to_value(current.config()).ok(),
        after: serde_json::to_value(town.config()).ok(),
    };
    let version = match state.towns.replace(&town, version, vec![entry.record(town.id())?]).await {
        Ok(v) => v,
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    };
    Ok(AxumJson(ConfigView { version, today: today(&state, &town), config: town.config().clone() }))
}
