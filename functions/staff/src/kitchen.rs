//! The kitchen's counts: the children expected per day, site and unit over a week.

use crate::{AppState, children_by_id, today, unit_name};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use chrono::{Days, NaiveDate, Weekday};
use domain::family::MealCount;
use domain::{SiteId, UnitId};
use edge::http::auth::Staff;
use edge::http::{self, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KitchenQuery {
    /// Any day of the week wanted (default: next week).
    week: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Count {
    site: SiteId,
    unit: UnitId,
    unit_name: String,
    /// The children expected, and among them each special diet and each PAI.
    #[serde(flatten)]
    meals: MealCount,
}

#[derive(Serialize)]
pub(crate) struct KitchenDay {
    date: NaiveDate,
    counts: Vec<Count>,
}

/// The children expected per day, site and unit, Monday to Friday of a week (booked and holding
/// a place: validated requests, pending ones of manual units, cancellations not yet decided),
/// with the meals without pork, the vegetarian ones and the PAIs among them (from the children's
/// records).
pub(crate) async fn kitchen(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<KitchenQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<KitchenDay>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let day = match q.week.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("week"))?,
        None => today(&state, &town).checked_add_days(Days::new(7)).unwrap_or_default(),
    };
    let monday = day.week(Weekday::Mon).first_day();
    let week: Vec<NaiveDate> = (0..5).filter_map(|i| monday.checked_add_days(Days::new(i))).collect();
    let bookings = store::repo::bookings_of_days(&state.auth.store, town.id(), week.iter().copied()).await?;
    let children = children_by_id(&state.auth.store, &town).await?;
    let out = week
        .iter()
        .map(|date| {
            let mut counts: BTreeMap<(SiteId, UnitId), MealCount> = BTreeMap::new();
            for b in bookings.iter().filter(|b| &b.date == date && b.holds_place()) {
                counts.entry((b.site.clone(), b.unit.clone())).or_default().add(children.get(&b.child));
            }
            KitchenDay {
                date: *date,
                counts: counts
                    .into_iter()
                    .map(|((site, unit), meals)| Count { unit_name: unit_name(&town, &unit), site, unit, meals })
                    .collect(),
            }
        })
        .collect();
    Ok(AxumJson(out))
}
