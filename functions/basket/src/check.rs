//! Reading what a family's lines depend on, once: the children, each child's bookings over its
//! lines' dates (one query per child), the places taken or asked for on the waiting list per unit
//! with a capacity and site (one query each). The verdicts are the domain's ([`domain::basket`]).

use chrono::NaiveDate;
pub use domain::basket::{Effect, Facts, HORIZON_DAYS, Line, Mode, Refusal};
use domain::config::Town;
use domain::family::Family;
use domain::{ChildId, SiteId, UnitId};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Store, StoreError, repo};

/// Reads what `lines` need. Children of other families are not read.
pub async fn load(store: &Store, town: Arc<Town>, family: Family, lines: &[Line]) -> Result<Facts, StoreError> {
    let mut ranges: BTreeMap<ChildId, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for l in lines.iter().filter(|l| family.children.contains(&l.child)) {
        widen(ranges.entry(l.child.clone()).or_insert((l.date, l.date)), l.date);
    }
    let mut children = HashMap::new();
    let mut bookings = Vec::new();
    for (id, (from, to)) in &ranges {
        let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
        bookings.extend(repo::bookings(store, town.id(), id, *from, *to).await?);
        children.insert(id.clone(), child);
    }
    let mut places: BTreeMap<(UnitId, SiteId), (NaiveDate, NaiveDate)> = BTreeMap::new();
    for l in lines {
        let Some((activity, unit)) = town.unit(&l.unit) else { continue };
        let Some(child) = children.get(&l.child) else { continue };
        let Some(site) = unit.capacity.and(child.site_for(activity, &unit.id, l.date)) else { continue };
        widen(places.entry((unit.id.clone(), site)).or_insert((l.date, l.date)), l.date);
    }
    let mut taken = HashMap::new();
    for ((unit, site), (from, to)) in places {
        for (date, n) in repo::places_claimed(store, town.id(), &unit, &site, from, to).await? {
            taken.insert((unit.clone(), site.clone(), date), n);
        }
    }
    Ok(Facts::new(town, family, children, bookings, taken))
}

fn widen(range: &mut (NaiveDate, NaiveDate), date: NaiveDate) {
    range.0 = range.0.min(date);
    range.1 = range.1.max(date);
}
