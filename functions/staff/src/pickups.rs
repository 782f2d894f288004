//! The pick-up list of a group on a day, from the children's files: who may take each child
//! home, who must never, whom to call (no health data).

use crate::attendance::unit_and_site;
use crate::{AppState, children_by_id, today};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use domain::ChildId;
use domain::child_file::{ConsentKind, People};
use edge::http::auth::Staff;
use edge::http::{self, Problem};
use serde::{Deserialize, Serialize};
use store::{child_files, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickupQuery {
    date: Option<String>,
    unit: Option<String>,
    site: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Pickup {
    child: ChildId,
    last_name: String,
    first_name: String,
    /// Whether staff validated the version shown (the latest a guardian saved).
    validated: bool,
    /// Whether a guardian consented to the child going home alone.
    goes_home_alone: bool,
    #[serde(flatten)]
    people: People,
}

/// GET: the children of a group (unit and site) on a day with who may pick each up (an
/// identity document is asked at the gate), who must never, and the emergency contacts.
pub(crate) async fn pickups(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<PickupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<Pickup>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let date = match q.date.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("date"))?,
        None => today(&state, &town),
    };
    let (unit, site) = unit_and_site(&town, q.unit.as_deref(), q.site.as_deref())?;
    let store = &state.auth.store;
    let children = children_by_id(store, &town).await?;
    let mut out = Vec::new();
    for b in repo::bookings_on(store, town.id(), date).await? {
        if b.unit != unit || b.site != site || !b.holds_place() {
            continue;
        }
        let record = child_files::get(store, town.id(), &b.child).await?;
        let c = children.get(&b.child);
        out.push(Pickup {
            last_name: c.map(|c| c.last_name.clone()).unwrap_or_default(),
            first_name: c.map(|c| c.first_name.clone()).unwrap_or_default(),
            validated: record.as_ref().is_some_and(|r| r.validated.as_ref().is_some_and(|v| v.version == r.version)),
            goes_home_alone: record
                .as_ref()
                .and_then(|r| r.file.consent(ConsentKind::GoHomeAlone))
                .is_some_and(|c| c.given),
            people: record.map(|r| r.file.people).unwrap_or_default(),
            child: b.child,
        });
    }
    out.sort_by(|a, b| (&a.last_name, &a.first_name).cmp(&(&b.last_name, &b.first_name)));
    Ok(AxumJson(out))
}
