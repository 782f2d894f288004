//! The kitchen's counts: the children expected per day, site and unit over a week, and for
//! staff the town names for health data, the children among them with an allergy or a PAI and
//! what to do (from their validated files; the read is audited).

use crate::child_files::{health_read, validated_files};
use crate::{AppState, children_by_id, today, unit_name};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use chrono::{Days, NaiveDate, Weekday};
use domain::ChildId;
use domain::child_file::marks::{self, HealthMark};
use domain::family::MealCount;
use domain::{SiteId, UnitId};
use edge::http::auth::Staff;
use edge::http::{self, Problem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::BTreeSet;

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

/// A child expected that day with an allergy or a PAI in force, and what to do.
#[derive(Serialize)]
pub(crate) struct Flagged {
    child: ChildId,
    first_name: String,
    last_name: String,
    site: SiteId,
    unit: UnitId,
    unit_name: String,
    #[serde(flatten)]
    mark: HealthMark,
}

#[derive(Serialize)]
pub(crate) struct KitchenDay {
    date: NaiveDate,
    counts: Vec<Count>,
    /// Only for roles the town names for health data (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    health: Vec<Flagged>,
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
    let expected: BTreeSet<&ChildId> = bookings.iter().filter(|b| b.holds_place()).map(|b| &b.child).collect();
    let files = validated_files(&state, &town, &caller, expected.into_iter()).await?;
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    let out: Vec<KitchenDay> = week
        .iter()
        .map(|date| {
            let mut counts: BTreeMap<(SiteId, UnitId), MealCount> = BTreeMap::new();
            let mut health = Vec::new();
            for b in bookings.iter().filter(|b| &b.date == date && b.holds_place()) {
                counts.entry((b.site.clone(), b.unit.clone())).or_default().add(children.get(&b.child));
                let Some(mark) = files.get(&b.child).and_then(|f| marks::mark(f, *date)) else { continue };
                let Some(child) = children.get(&b.child) else { continue };
                shown.insert(b.child.as_str());
                health.push(Flagged {
                    child: b.child.clone(),
                    first_name: child.first_name.clone(),
                    last_name: child.last_name.clone(),
                    site: b.site.clone(),
                    unit: b.unit.clone(),
                    unit_name: unit_name(&town, &b.unit),
                    mark,
                });
            }
            health.sort_by(|a, b| {
                (&a.unit_name, &a.last_name, &a.first_name).cmp(&(&b.unit_name, &b.last_name, &b.first_name))
            });
            KitchenDay {
                date: *date,
                counts: counts
                    .into_iter()
                    .map(|((site, unit), meals)| Count { unit_name: unit_name(&town, &unit), site, unit, meals })
                    .collect(),
                health,
            }
        })
        .collect();
    if !shown.is_empty() {
        let entry = health_read(
            &caller,
            state.auth.clock.now(),
            format!("kitchen/{monday}"),
            serde_json::json!({"marks": shown}),
        );
        state.auth.store.transact(vec![entry.record(town.id())?]).await?;
    }
    Ok(AxumJson(out))
}
