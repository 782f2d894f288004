//! The `calendar` function: « Mes réservations ». The children a caller may book for, the
//! week grid (« Semaine 22 du 31/05/2021 au 04/06/2021 », a row per unit, a cell per weekday)
//! for one child or a whole family, the month, the period preview, and the family's private
//! iCalendar feed.

mod feed;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json as AxumJson, Router};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use domain::booking::Booking;
use domain::cells::{ActionKind, Cell, CellFacts, CellState, cell};
use domain::config::{Activity, Town};
use domain::family::{Child, Family};
use domain::period::Pattern;
use domain::{ActivityId, Cents, ChildId, FamilyRef, SiteId, UnitId};
use edge::http::auth::{AuthState, Caller};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use store::repo::{self, Towns};

/// The most weeks one grid request may ask for.
pub const MAX_WEEKS: u32 = 12;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/calendar/children", get(children))
        .route("/api/towns/{town}/calendar/children/{child}/weeks", get(child_weeks))
        .route("/api/towns/{town}/calendar/children/{child}/month", get(child_month))
        .route("/api/towns/{town}/calendar/families/{family}/weeks", get(family_weeks))
        .route("/api/towns/{town}/calendar/children/{child}/period-preview", post(period_preview))
        .route("/api/towns/{town}/calendar/families/{family}/feed", post(feed::create).delete(feed::revoke))
        .route("/api/towns/{town}/calendar/feeds/{token}", get(feed::serve))
        .with_state(state)
}

async fn town_of(state: &AppState, caller: &Caller) -> Result<Arc<Town>, Problem> {
    http::load_town(&state.towns, &caller.town).await
}

fn unknown_child() -> Problem {
    Problem::not_found("unknown_child", "Cet enfant est introuvable.")
}

/// The families the caller may book for.
async fn families_of(state: &AppState, caller: &Caller) -> Result<Vec<Family>, Problem> {
    let store = &state.auth.store;
    if caller.session.role.is_staff() {
        return Ok(repo::all_families(store, &caller.town).await?);
    }
    let mut out = Vec::new();
    for f in &caller.session.families {
        if let Some(family) = repo::get_family(store, &caller.town, f).await? {
            out.push(family);
        }
    }
    Ok(out)
}

/// A child the caller may book for, with the caller's family of that child (which prices it);
/// anyone else's child is "not found", whether it exists or not.
async fn child_of(state: &AppState, caller: &Caller, raw: &str) -> Result<(Child, Family), Problem> {
    let id = ChildId::parse(raw).map_err(|_| unknown_child())?;
    let family =
        families_of(state, caller).await?.into_iter().find(|f| f.children.contains(&id)).ok_or_else(unknown_child)?;
    let child = repo::get_child(&state.auth.store, &caller.town, &id).await?.ok_or_else(unknown_child)?;
    Ok((child, family))
}

#[derive(Serialize)]
struct Enrolled {
    activity: ActivityId,
    name: String,
    site: SiteId,
    site_name: String,
}

#[derive(Serialize)]
struct BookableChild {
    id: ChildId,
    first_name: String,
    last_name: String,
    family: FamilyRef,
    activities: Vec<Enrolled>,
}

/// « Sélectionnez l'enfant » and « Sélectionnez le service / le site ».
async fn children(State(state): State<AppState>, caller: Caller) -> Result<AxumJson<Vec<BookableChild>>, Problem> {
    let town = town_of(&state, &caller).await?;
    let mut out = Vec::new();
    for family in families_of(&state, &caller).await? {
        for id in &family.children {
            let Some(child) = repo::get_child(&state.auth.store, &caller.town, id).await? else { continue };
            let mut activities: Vec<Enrolled> = Vec::new();
            for e in &child.enrolments {
                let Some(a) = town.config().activities.iter().find(|a| a.id == e.activity) else { continue };
                if activities.iter().any(|x| x.activity == e.activity && x.site == e.site) {
                    continue;
                }
                let site_name =
                    town.config().sites.iter().find(|s| s.id == e.site).map(|s| s.name.clone()).unwrap_or_default();
                activities.push(Enrolled {
                    activity: a.id.clone(),
                    name: a.name.clone(),
                    site: e.site.clone(),
                    site_name,
                });
            }
            out.push(BookableChild {
                id: child.id.clone(),
                first_name: child.first_name,
                last_name: child.last_name,
                family: family.reference.clone(),
                activities,
            });
        }
    }
    Ok(AxumJson(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeeksQuery {
    activity: Option<String>,
    from: Option<String>,
    weeks: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthQuery {
    activity: Option<String>,
    /// `AAAA-MM`
    month: Option<String>,
}

#[derive(Serialize)]
struct Row {
    unit: UnitId,
    name: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Week {
    iso_year: i32,
    iso_week: u32,
    /// « Semaine 49 du 30/11/2026 au 04/12/2026 »
    label: String,
    monday: NaiveDate,
    friday: NaiveDate,
    days: Vec<NaiveDate>,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct ChildGrid {
    child: ChildId,
    first_name: String,
    activity: ActivityId,
    activity_name: String,
    site: SiteId,
    weeks: Vec<Week>,
}

fn activity_of<'a>(town: &'a Town, raw: Option<&str>) -> Result<&'a Activity, Problem> {
    let raw = raw.ok_or_else(|| {
        Problem::bad_request("missing_activity", "Choisissez le service (paramètre « activity »).").field("activity")
    })?;
    town.config().activities.iter().find(|a| a.id.as_str() == raw).ok_or_else(|| {
        Problem::not_found("unknown_activity", "Ce service n'existe pas dans la commune.").field("activity")
    })
}

/// The site shown above a grid: that of the child's enrolment in the activity that covers the
/// range (or the latest one); a child never enrolled in the activity has no grid. Each cell is
/// placed by [`Child::site_for`].
fn site_of(child: &Child, activity: &Activity, from: NaiveDate, to: NaiveDate) -> Result<SiteId, Problem> {
    let mut enrolments: Vec<_> = child.enrolments.iter().filter(|e| e.activity == activity.id).collect();
    enrolments.sort_by_key(|e| (e.from <= to && e.to >= from, e.to));
    enrolments.last().map(|e| e.site.clone()).ok_or_else(|| {
        Problem::unprocessable(
            "not_enrolled",
            format!("{} n'est pas inscrit(e) à ce service : contactez la mairie.", child.first_name),
        )
        .field("activity")
    })
}

/// The cells of one child for one activity over `days`, each at the site
/// [`Child::site_for`] places it (as the basket does), with one query for the bookings and one
/// per unit with a capacity and site.
async fn cells_for(
    state: &AppState,
    town: &Town,
    activity: &Activity,
    child: &Child,
    family: &Family,
    days: &[NaiveDate],
) -> Result<HashMap<(UnitId, NaiveDate), Cell>, Problem> {
    let (Some(&from), Some(&to)) = (days.first(), days.last()) else { return Ok(HashMap::new()) };
    let store = &state.auth.store;
    let bookings: HashMap<(UnitId, NaiveDate), Booking> = repo::bookings(store, town.id(), &child.id, from, to)
        .await?
        .into_iter()
        .map(|b| ((b.unit.clone(), b.date), b))
        .collect();
    let now = state.auth.clock.now();
    let mut out = HashMap::new();
    for unit in &activity.units {
        let sites: Vec<(NaiveDate, SiteId)> =
            days.iter().filter_map(|&d| child.site_for(activity, &unit.id, d).map(|s| (d, s))).collect();
        let mut taken: HashMap<(SiteId, NaiveDate), i64> = HashMap::new();
        if unit.capacity.is_some() {
            let distinct: HashSet<&SiteId> = sites.iter().map(|(_, s)| s).collect();
            for site in distinct {
                for (date, n) in repo::places_claimed(store, town.id(), &unit.id, site, from, to).await? {
                    taken.insert((site.clone(), date), n);
                }
            }
        }
        for (date, site) in &sites {
            let facts = CellFacts {
                town,
                activity,
                unit,
                site,
                child,
                family,
                date: *date,
                booking: bookings.get(&(unit.id.clone(), *date)),
                taken: taken.get(&(site.clone(), *date)).copied().unwrap_or(0),
                now,
            };
            out.insert((unit.id.clone(), *date), cell(&facts));
        }
    }
    Ok(out)
}

async fn grid(
    state: &AppState,
    town: &Town,
    activity: &Activity,
    child: &Child,
    family: &Family,
    first_monday: NaiveDate,
    weeks: u32,
) -> Result<ChildGrid, Problem> {
    let mondays: Vec<NaiveDate> =
        (0..weeks).filter_map(|w| first_monday.checked_add_days(Days::new(u64::from(w) * 7))).collect();
    let days: Vec<NaiveDate> =
        mondays.iter().flat_map(|m| (0..5).filter_map(move |i| m.checked_add_days(Days::new(i)))).collect();
    let last = days.last().copied().unwrap_or(first_monday);
    let site = site_of(child, activity, first_monday, last)?;
    let mut cells = cells_for(state, town, activity, child, family, &days).await?;
    let weeks = mondays
        .iter()
        .map(|&monday| {
            let week_days: Vec<NaiveDate> = (0..5).filter_map(|i| monday.checked_add_days(Days::new(i))).collect();
            let friday = week_days.last().copied().unwrap_or(monday);
            let iso = monday.iso_week();
            Week {
                iso_year: iso.year(),
                iso_week: iso.week(),
                label: format!(
                    "Semaine {} du {} au {}",
                    iso.week(),
                    monday.format("%d/%m/%Y"),
                    friday.format("%d/%m/%Y")
                ),
                monday,
                friday,
                rows: activity
                    .units
                    .iter()
                    .map(|u| Row {
                        unit: u.id.clone(),
                        name: u.name.clone(),
                        cells: week_days.iter().filter_map(|d| cells.remove(&(u.id.clone(), *d))).collect(),
                    })
                    .collect(),
                days: week_days,
            }
        })
        .collect();
    Ok(ChildGrid {
        child: child.id.clone(),
        first_name: child.first_name.clone(),
        activity: activity.id.clone(),
        activity_name: activity.name.clone(),
        site,
        weeks,
    })
}

/// The Monday of `from`'s week (default: this week, in the town's time zone), and the count.
fn weeks_of(state: &AppState, town: &Town, q: &WeeksQuery) -> Result<(NaiveDate, u32), Problem> {
    let from = match q.from.as_deref() {
        Some(raw) => http::date(raw)?,
        None => town.today(state.auth.clock.now()),
    };
    let weeks = q.weeks.unwrap_or(4);
    if !(1..=MAX_WEEKS).contains(&weeks) {
        return Err(Problem::bad_request(
            "invalid_weeks",
            format!("Le nombre de semaines doit être compris entre 1 et {MAX_WEEKS}."),
        )
        .field("weeks"));
    }
    Ok((from.week(Weekday::Mon).first_day(), weeks))
}

async fn child_weeks(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, child)): Path<(String, String)>,
    query: Result<Query<WeeksQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<ChildGrid>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = town_of(&state, &caller).await?;
    let (child, family) = child_of(&state, &caller, &child).await?;
    let activity = activity_of(&town, q.activity.as_deref())?;
    let (monday, weeks) = weeks_of(&state, &town, &q)?;
    Ok(AxumJson(grid(&state, &town, activity, &child, &family, monday, weeks).await?))
}

async fn child_month(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, child)): Path<(String, String)>,
    query: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<ChildGrid>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = town_of(&state, &caller).await?;
    let (child, family) = child_of(&state, &caller, &child).await?;
    let activity = activity_of(&town, q.activity.as_deref())?;
    let first = match q.month.as_deref() {
        Some(raw) => http::date(&format!("{raw}-01")).map_err(|_| {
            Problem::bad_request(
                "invalid_month",
                format!(
                    "Le mois « {} » n'est pas valide : écrivez-le AAAA-MM.",
                    raw.chars().take(20).collect::<String>()
                ),
            )
            .field("month")
        })?,
        None => town.today(state.auth.clock.now()).with_day(1).unwrap_or_default(),
    };
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
    let last = next.pred_opt().unwrap_or(first);
    let monday = first.week(Weekday::Mon).first_day();
    let weeks = u32::try_from((last - monday).num_days() / 7 + 1).unwrap_or(6);
    Ok(AxumJson(grid(&state, &town, activity, &child, &family, monday, weeks).await?))
}

async fn family_weeks(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    query: Result<Query<WeeksQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<ChildGrid>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = town_of(&state, &caller).await?;
    let reference = caller.family(&family)?;
    let family = repo::get_family(&state.auth.store, &caller.town, &reference)
        .await?
        .ok_or_else(edge::http::auth::unknown_family)?;
    let activity = activity_of(&town, q.activity.as_deref())?;
    let (monday, weeks) = weeks_of(&state, &town, &q)?;
    let mut grids = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(&state.auth.store, &caller.town, id).await? else { continue };
        if child.enrolments.iter().any(|e| e.activity == activity.id) {
            grids.push(grid(&state, &town, activity, &child, &family, monday, weeks).await?);
        }
    }
    Ok(AxumJson(grids))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    activity: ActivityId,
    action: ActionKind,
    from: NaiveDate,
    to: NaiveDate,
    units: Vec<UnitId>,
    weekdays: Vec<Weekday>,
    #[serde(default)]
    every_weeks: Option<u8>,
}

#[derive(Serialize)]
struct PreviewLine {
    date: NaiveDate,
    unit: UnitId,
    price: Cents,
}

#[derive(Serialize)]
struct Skipped {
    date: NaiveDate,
    unit: UnitId,
    #[serde(flatten)]
    state: CellState,
    /// Until when the day could have been cancelled online (a booked day past it is skipped
    /// by a cancellation).
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// What the skipped day costs when it stays booked past its cancellation deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    late_cancel_price: Option<Cents>,
}

#[derive(Serialize)]
struct Preview {
    action: ActionKind,
    lines: Vec<PreviewLine>,
    skipped: Vec<Skipped>,
    total: Cents,
}

/// « Réserver en vue Période »: what a pattern would add or cancel, what it skips and why, and
/// the total. Nothing is written.
async fn period_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, child)): Path<(String, String)>,
    body: Result<Json<PreviewRequest>, Problem>,
) -> Result<AxumJson<Preview>, Problem> {
    let town = town_of(&state, &caller).await?;
    let (child, family) = child_of(&state, &caller, &child).await?;
    let Json(r) = body?;
    let activity = activity_of(&town, Some(r.activity.as_str()))?;
    let pattern = Pattern {
        from: r.from,
        to: r.to,
        units: r.units,
        weekdays: r.weekdays,
        every_weeks: r.every_weeks.unwrap_or(1),
    };
    pattern.check_for(activity)?;
    let days = pattern.dates();
    site_of(&child, activity, pattern.from, pattern.to)?;
    let cells = cells_for(&state, &town, activity, &child, &family, &days).await?;
    let mut preview = Preview { action: r.action, lines: Vec::new(), skipped: Vec::new(), total: Cents::ZERO };
    for date in &days {
        for unit in &pattern.units {
            let Some(c) = cells.get(&(unit.clone(), *date)) else { continue };
            match &c.action {
                Some(a) if a.kind == r.action => {
                    preview.total += a.price;
                    preview.lines.push(PreviewLine { date: *date, unit: unit.clone(), price: a.price });
                }
                _ => {
                    // A booked day a cancellation skips: until when it could have been
                    // cancelled, and what it costs now that it stays.
                    let stays = r.action == ActionKind::Cancel
                        && matches!(
                            c.state,
                            CellState::Confirmed | CellState::Pending | CellState::AbsenceReported { .. }
                        );
                    preview.skipped.push(Skipped {
                        date: *date,
                        unit: unit.clone(),
                        state: c.state.clone(),
                        cancel_deadline: c.cancel_deadline.filter(|_| stays),
                        late_cancel_price: c.late_cancel_price.filter(|_| stays),
                    });
                }
            }
        }
    }
    Ok(AxumJson(preview))
}
