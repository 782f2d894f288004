//! A family's bookings with their history, over a range of dates.

use crate::{AppState, MAX_HISTORY_DAYS, family_of};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::booking::{Attendance, Booking, BookingStatus, Change};
use domain::{Cents, ChildId, FamilyRef, SiteId, UnitId};
use edge::http::auth::Caller;
use edge::http::{self, Path, Problem};
use serde::{Deserialize, Serialize};
use store::repo::{self};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    from: Option<String>,
    to: Option<String>,
    child: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct BookingView {
    child: ChildId,
    unit: UnitId,
    site: SiteId,
    date: NaiveDate,
    status: BookingStatus,
    /// Absent for a shared child's booking made by the other household (as are its history
    /// and refusal reason): a family sees that the day is taken, not who made it nor its cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Cents>,
    late: bool,
    late_cancel: bool,
    waiting_list: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance: Option<Attendance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal_reason: Option<String>,
    updated_at: DateTime<Utc>,
    history: Vec<Change>,
    /// Booked by the other household of a shared child.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    other_household: bool,
}

impl BookingView {
    /// The booking as `family` reads it (staff read every booking whole).
    fn for_family(b: Booking, family: &FamilyRef, staff: bool) -> BookingView {
        let mine = staff || &b.family == family;
        BookingView {
            child: b.child,
            unit: b.unit,
            site: b.site,
            date: b.date,
            status: b.status,
            price: mine.then_some(b.price),
            late: b.late,
            late_cancel: b.late_cancel,
            waiting_list: b.waiting_list,
            attendance: b.attendance,
            refusal_reason: b.refusal_reason.filter(|_| mine),
            updated_at: b.updated_at,
            history: if mine { b.history } else { Vec::new() },
            other_household: !mine,
        }
    }
}

/// The family's bookings over a range (default: a month back, two months ahead), each with
/// its changes: who, when, from which state.
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<BookingView>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let (town, family) = family_of(&state, &caller, &family).await?;
    let today = town.today(state.auth.clock.now());
    let from = match q.from.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("from"))?,
        None => today.checked_sub_days(Days::new(31)).unwrap_or(today),
    };
    let to = match q.to.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("to"))?,
        None => today.checked_add_days(Days::new(62)).unwrap_or(today),
    };
    if to < from || (to - from).num_days() > MAX_HISTORY_DAYS {
        return Err(Problem::unprocessable(
            "invalid_range",
            format!("La période demandée doit aller d'une date à une date postérieure, sur {MAX_HISTORY_DAYS} jours au plus."),
        )
        .field("to"));
    }
    let children: Vec<&ChildId> = match q.child.as_deref() {
        Some(raw) => vec![
            family
                .children
                .iter()
                .find(|c| c.as_str() == raw)
                .ok_or_else(|| Problem::not_found("unknown_child", "Cet enfant est introuvable.").field("child"))?,
        ],
        None => family.children.iter().collect(),
    };
    let mut out = Vec::new();
    for c in children {
        let staff = caller.session.role.is_staff();
        out.extend(
            repo::bookings(&state.auth.store, town.id(), c, from, to)
                .await?
                .into_iter()
                .map(|b| BookingView::for_family(b, &family.reference, staff)),
        );
    }
    out.sort_by(|a, b| (a.date, &a.child, &a.unit).cmp(&(b.date, &b.child, &b.unit)));
    Ok(AxumJson(out))
}
