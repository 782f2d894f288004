//! The key design, in one place: every key starts with the town id (`T#<town>`), so one
//! town's data never mixes with another's. `docs/store.md` lists the access patterns.

use super::Key;
use crate::domain::{ChildId, FamilyRef, TownId};

fn town(t: &TownId) -> String {
    format!("T#{t}")
}

/// The town's configuration document.
pub fn town_config(t: &TownId) -> Key {
    Key::new(town(t), "CONFIG")
}

/// A family's record.
pub fn family(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(format!("{}#F#{f}", town(t)), "FAMILY")
}

/// The index partition listing a town's families, by reference (`gsi1`).
pub fn families_of_town(t: &TownId) -> String {
    format!("{}#FAMILIES", town(t))
}
pub fn family_in_town(t: &TownId, f: &FamilyRef) -> Key {
    Key::new(families_of_town(t), format!("F#{f}"))
}

/// A child's record; the child's bookings will share its partition (`B#<date>#<unit>`), so
/// the calendar of one child over a date range is one query.
pub fn child(t: &TownId, c: &ChildId) -> Key {
    Key::new(format!("{}#C#{c}", town(t)), "CHILD")
}
