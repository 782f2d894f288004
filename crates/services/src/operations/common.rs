//! What the operations share: their context, who the portal's own changes are by, and the
//! lines of their emails.

use crate::mail::templates::BookedDay;
use domain::booking::Booking;
use domain::config::Town;
use domain::{ChildId, FamilyRef, TownId};
use std::collections::{BTreeSet, HashMap};
use store::repo;
use store::{Store, StoreError};

/// Who the portal's own changes are by, in histories and the audit trail.
pub const SYSTEM: &str = "liste d'attente";

/// Where links in the emails lead, and the store.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub public_url: &'a str,
}

/// The id of a job's email to one guardian: the same if the job runs again (so it is sent
/// once), and naming nobody (it is part of a key).
pub(super) fn mail_id(kind: &str, job: &str, family: &FamilyRef, email: &str) -> String {
    format!("{kind}-{}", &store::secret::digest(&format!("{job}/{family}/{email}"))[..32])
}

pub(super) async fn child_names<'a>(
    store: &Store,
    town: &TownId,
    children: impl Iterator<Item = &'a ChildId>,
) -> Result<HashMap<ChildId, String>, StoreError> {
    let mut names = HashMap::new();
    for c in children.collect::<BTreeSet<_>>() {
        if let Some(child) = repo::get_child(store, town, c).await? {
            names.insert(c.clone(), child.first_name);
        }
    }
    Ok(names)
}

/// The booking as an email lists it: « lundi 14/12/2026 – Léa – Cantine ».
pub(super) fn day(town: &Town, b: &Booking, names: &HashMap<ChildId, String>) -> BookedDay {
    let unit = town.unit(&b.unit).map_or_else(|| b.unit.to_string(), |(_, u)| u.name.clone());
    let child = names.get(&b.child).cloned().unwrap_or_else(|| b.child.to_string());
    BookedDay { date: b.date, child, unit }
}
