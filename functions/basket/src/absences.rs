//! « Mon enfant est malade »: a guardian reports an absence for today or the coming days, past
//! the deadlines too (a range past the town's window is shortened to it). The bookings stay
//! billed; the answer says which days can still be cancelled online for free; the service sees
//! the report on its attendance list; a medical certificate sent within the town's delay after
//! each day makes it « absence justifiée » (see the documents function).

use crate::{AppState, own_family};
use axum::Json as AxumJson;
use axum::extract::State;
use chrono::NaiveDate;
use domain::ChildId;
use domain::booking::Booking;
use domain::operations::{self as rules, ReportRefused};
use edge::http::auth::Caller;
use edge::http::{Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::audit;
use store::{StoreError, repo};

/// Bookings one report's transaction writes (with its audit entry).
const REPORTS_PER_TRANSACTION: usize = 90;
/// The longest reason a guardian may give.
const MAX_REASON_CHARS: usize = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AbsenceReport {
    child: String,
    from: NaiveDate,
    /// Default: `from`.
    #[serde(default)]
    to: Option<NaiveDate>,
    reason: String,
}

#[derive(Serialize)]
pub(crate) struct Reported {
    /// The first and last day reported: `to` is earlier than asked when the range ran past the
    /// town's window.
    from: NaiveDate,
    to: NaiveDate,
    /// The days and units reported absent.
    bookings: Vec<ReportedDay>,
    /// Until when a medical certificate makes them all unbilled (the earliest of the days'
    /// deadlines).
    certificate_until: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
pub(crate) struct ReportedDay {
    date: NaiveDate,
    unit: domain::UnitId,
    unit_name: String,
    /// What the day is billed unless cancelled or justified.
    price: domain::Cents,
    /// Until when the guardian can still cancel the day online, for free (absent: past it).
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellable_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reports a child absent on the confirmed days of `from..=to` whose register is not taken.
pub(crate) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<AbsenceReport>, Problem>,
) -> Result<AxumJson<Reported>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let Json(req) = body?;
    let child = ChildId::parse(&req.child).ok().filter(|c| family.children.contains(c)).ok_or_else(|| {
        Problem::unprocessable("unknown_child", "Cet enfant ne fait pas partie de la famille.").field("child")
    })?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Problem::unprocessable(
            "invalid_reason",
            format!("Indiquez le motif de l'absence ({MAX_REASON_CHARS} caractères au plus)."),
        )
        .field("reason"));
    }
    let now = state.auth.clock.now();
    let settings = &town.config().operations;
    let (from, to) = rules::report_range(settings, town.today(now), req.from, req.to.unwrap_or(req.from))?;
    let store = &state.auth.store;
    let by = caller.session.email.as_str();
    let booked = repo::bookings(store, town.id(), &child, from, to).await?;
    let changes: Vec<(Booking, Booking)> = booked
        .into_iter()
        .filter(|b| b.family == family.reference)
        .filter_map(|b| b.report_absence(reason, by, now).map(|a| (b, a)))
        .collect();
    if changes.is_empty() {
        return Err(ReportRefused::NothingBooked.into());
    }
    let entry = |chunk: &[(Booking, Booking)]| audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "absence.report".into(),
        target: format!("child/{child}"),
        before: None,
        after: Some(serde_json::json!({
            "reason": reason,
            "days": chunk.iter().map(|(_, a)| (a.date, &a.unit)).collect::<Vec<_>>(),
        })),
    };
    match repo::write_changes(store, town.id(), &changes, REPORTS_PER_TRANSACTION, entry).await {
        Ok(_) => {}
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::new(
                axum::http::StatusCode::CONFLICT,
                "bookings_changed",
                "Des réservations de l'enfant viennent d'être modifiées : recommencez.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let unit = |u: &domain::UnitId| town.unit(u).map(|(_, x)| x);
    let tz = town.tz();
    let delay = settings.certificate_delay();
    let days: Vec<ReportedDay> = changes
        .iter()
        .map(|(_, a)| ReportedDay {
            date: a.date,
            unit: a.unit.clone(),
            unit_name: unit(&a.unit).map_or_else(|| a.unit.to_string(), |x| x.name.clone()),
            price: a.price,
            cancellable_until: unit(&a.unit)
                .map(|x| x.cancel_deadline.instant_for(a.date, town.calendar(), tz))
                .filter(|deadline| now < *deadline),
        })
        .collect();
    // The days that stay billed decide when the certificate is due (the others can still be
    // cancelled); the earliest of their deadlines, so that one certificate covers them all.
    let deadline = |d: &ReportedDay| rules::certificate_deadline(now, d.date, delay, tz);
    let certificate_until = days
        .iter()
        .filter(|d| d.cancellable_until.is_none())
        .map(deadline)
        .min()
        .or_else(|| days.iter().map(deadline).min())
        .unwrap_or(now + delay);
    Ok(AxumJson(Reported { from, to, bookings: days, certificate_until }))
}
