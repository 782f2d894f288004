//! The attendance list of a day, site and unit (JSON, or a CSV for French spreadsheets) and
//! its marks.

use crate::{AppState, MARKS_PER_TRANSACTION, MAX_MARKS, children_by_id, today};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::attendance::{MarkKind, Marked, Register};
use domain::booking::{Actor, Attendance, Booking, BookingStatus, ChangedBy};
use domain::config::Town;
use domain::{ChildId, SiteId, UnitId};
use edge::http::auth::{Caller, Staff};
use edge::http::csv::Export;
use edge::http::{self, Json, Problem};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::audit;
use store::{Store, StoreError, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttendanceQuery {
    date: Option<String>,
    unit: Option<String>,
    site: Option<String>,
    format: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Present {
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
    /// An absence the family reported (« Mon enfant est malade »), before the register.
    #[serde(skip_serializing_if = "Option::is_none")]
    absence_report: Option<domain::booking::AbsenceReport>,
    /// A medical certificate justified the day: not billed whatever the register marks (a
    /// « présent » mark on it is shown to staff as such).
    justified: bool,
    /// The allergy / PAI mark and what to do, from the child's validated file (for the roles
    /// the town names for health data).
    #[serde(skip_serializing_if = "Option::is_none")]
    health_mark: Option<domain::child_file::marks::HealthMark>,
}

/// The unit and site a query names (the site defaults to the unit's activity's only one).
pub(crate) fn unit_and_site(town: &Town, unit: Option<&str>, site: Option<&str>) -> Result<(UnitId, SiteId), Problem> {
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

pub(crate) async fn attendance_list(
    state: &AppState,
    town: &Town,
    caller: &Caller,
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
                justified: b.justification.is_some(),
                absence_report: b.absence_report,
                health_mark: None,
            }
        })
        .collect();
    let mut marks = crate::child_files::health_marks(state, town, caller, date, out.iter().map(|p| &p.child)).await?;
    for p in &mut out {
        p.health_mark = marks.remove(&p.child);
    }
    out.sort_by(|a, b| (&a.last_name, &a.first_name).cmp(&(&b.last_name, &b.first_name)));
    Ok(out)
}

/// The list of a day, site and unit: JSON, or `format=csv` (UTF-8 with BOM, `;`).
pub(crate) async fn attendance(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<AttendanceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let date = match q.date.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("date"))?,
        None => today(&state, &town),
    };
    let (unit, site) = unit_and_site(&town, q.unit.as_deref(), q.site.as_deref())?;
    let list = attendance_list(&state, &town, &caller, date, &unit, &site).await?;
    if http::wants_csv(q.format.as_deref())? {
        csv_response(&town, date, &unit, &site, &list)
    } else {
        Ok(AxumJson(list).into_response())
    }
}

pub(crate) fn presence_fr(a: Option<Attendance>) -> &'static str {
    match a {
        None => "",
        Some(Attendance::Present) => "présent",
        Some(Attendance::Absent) => "absent",
        Some(Attendance::AbsentJustified) => "absent (justifié)",
    }
}

/// The presence as the CSV writes it; a « présent » mark on a day a certificate justified says so.
fn presence_text(p: &Present) -> String {
    match p.attendance {
        Some(Attendance::Present) if p.justified => "présent (absence justifiée par certificat, non facturée)".into(),
        a => presence_fr(a).into(),
    }
}

pub(crate) fn status_fr(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Pending => "demande en cours",
        BookingStatus::Confirmed => "réservé",
        BookingStatus::CancelRequested => "annulation demandée",
        BookingStatus::Refused => "refusé",
        BookingStatus::Cancelled => "annulé",
    }
}

pub(crate) fn csv_response(
    town: &Town,
    date: NaiveDate,
    unit: &UnitId,
    site: &SiteId,
    list: &[Present],
) -> Result<Response, Problem> {
    let mut export = Export::new(&["Nom", "Prénom", "Classe", "Santé et régime", "Réservation", "Présence"])?;
    for p in list {
        let status =
            if p.late { format!("{} (hors délai)", status_fr(p.status)) } else { status_fr(p.status).to_owned() };
        export.row(&[
            p.last_name.as_str(),
            p.first_name.as_str(),
            p.class.as_deref().unwrap_or_default(),
            p.health_notes.as_deref().unwrap_or_default(),
            status.as_str(),
            &presence_text(p),
        ])?;
    }
    export.into_response(&format!("pointage-{}-{}-{}-{date}.csv", town.id(), site, unit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MarkLine {
    child: ChildId,
    mark: MarkKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Marks {
    date: NaiveDate,
    unit: String,
    #[serde(default)]
    site: Option<String>,
    marks: Vec<MarkLine>,
}

/// Takes attendance: present, absent, absent with a justification, or present without a
/// booking (a late addition at the unit's late price). Every mark is checked first.
pub(crate) async fn mark(
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
    if repo::month_billed(store, town.id(), m.date).await? {
        return Err(http::month_billed());
    }
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
    let register = Register {
        town: &town,
        activity,
        unit,
        site: &site,
        date: m.date,
        bookings: &existing,
        children: &children,
        families: &families,
    };
    let marks: Vec<(ChildId, MarkKind)> = m.marks.iter().map(|l| (l.child.clone(), l.mark)).collect();
    let writes = register.mark(&marks, Actor { by, role: ChangedBy::Staff, at: now }).map_err(|refused| {
        let lines = refused
            .iter()
            .map(|r| serde_json::json!({"index": r.index, "child": r.child, "error": r.reason}))
            .collect();
        Problem::unprocessable(
            "marks_refused",
            "Certains pointages ne peuvent pas s'appliquer : aucun n'a été enregistré.",
        )
        .with("marks", serde_json::Value::Array(lines))
    })?;
    write_marks(store, &town, (m.date, &unit_id, &site), &writes, by, now).await?;
    Ok(AxumJson(attendance_list(&state, &town, &caller, m.date, &unit_id, &site).await?))
}

/// Writes the marks of a register, a few dozen per transaction with their audit entry. Marks set
/// a value: a retry after a partial failure applies the rest and changes nothing twice.
async fn write_marks(
    store: &Store,
    town: &Town,
    (date, unit, site): (NaiveDate, &UnitId, &SiteId),
    writes: &[Marked],
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), Problem> {
    for chunk in writes.chunks(MARKS_PER_TRANSACTION) {
        let mut closed_at = None;
        let mut ops = Vec::new();
        for m in chunk {
            ops.push(repo::booking_write(town.id(), &m.booking, m.expected_version)?);
        }
        let added: i64 = chunk.iter().map(|m| m.places).sum();
        if added > 0 {
            // A child present without a booking is booked now: the day must not be closed.
            let activities = chunk.iter().filter(|m| m.places > 0).map(|m| &m.booking.activity);
            closed_at = Some(ops.len());
            ops.push(store::gate::open_check(town.id(), date, activities));
            ops.push(repo::move_places(town.id(), (unit, site), date, added));
        }
        let before: Vec<_> = chunk.iter().map(|m| (&m.booking.child, m.before)).collect();
        let marks: Vec<_> = chunk.iter().map(|m| (&m.booking.child, m.booking.attendance)).collect();
        let entry = audit::Entry {
            at: now,
            by: by.to_owned(),
            action: "attendance.mark".into(),
            target: format!("attendance/{date}/{site}/{unit}"),
            before: serde_json::to_value(before).ok(),
            after: serde_json::to_value(marks).ok(),
        };
        ops.push(entry.record(town.id())?);
        match store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { index, .. }) if Some(index) == closed_at => {
                let activity = chunk.iter().map(|m| &m.booking.activity).next();
                let reason = match activity {
                    Some(a) => store::gate::closed_reason(store, town.id(), date, a).await?,
                    None => None,
                };
                return Err(Problem::unprocessable("closed", store::gate::closed_message(reason.as_deref())));
            }
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
    Ok(())
}
