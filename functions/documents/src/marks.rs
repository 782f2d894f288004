//! An absence's bookings re-marked when a document justifies or reports it: in transactions
//! with their audit entries, and for a billed month with the régularisation each change makes.

use crate::{AppState, MARKS_PER_TRANSACTION};
use axum::http::StatusCode;
use domain::ChildId;
use domain::booking::Booking;
use domain::config::Town;
use domain::documents::Absence;
use edge::http::Problem;
use store::audit;
use store::{StoreError, regularisations, repo};

/// A booking as read, and as changed.
type Changed = (Booking, Booking);

/// Changes the attendance of the child's bookings of the absence that `pick` changes; how many
/// it changed. A booking of a billed month changes too, but its invoice does not: the change
/// writes, in the same transaction, the régularisation it makes (the difference with what the
/// invoice billed, proposed to staff and settled once, `docs/billing.md`). `action` names the
/// audit entries.
pub(crate) async fn remark(
    state: &AppState,
    town: &Town,
    child: &ChildId,
    absence: Absence,
    (by, action): (&str, &str),
    pick: impl Fn(&Booking) -> Option<Booking>,
) -> Result<usize, Problem> {
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let bookings = repo::bookings(store, town.id(), child, absence.from, absence.to).await?;
    let month = |d: chrono::NaiveDate| d.format("%Y-%m").to_string();
    // One query per month the absence touches.
    let mut billed = std::collections::BTreeMap::new();
    for b in &bookings {
        if let std::collections::btree_map::Entry::Vacant(e) = billed.entry(month(b.date)) {
            e.insert(repo::month_billed(store, town.id(), b.date).await?);
        }
    }
    let (in_billed, marked): (Vec<Changed>, Vec<Changed>) = bookings
        .into_iter()
        .filter_map(|b| pick(&b).map(|a| (b, a)))
        .partition(|(b, _)| billed.get(&month(b.date)).copied().unwrap_or(false));
    let entry = |chunk: &[(Booking, Booking)]| audit::Entry {
        at: now,
        by: by.to_owned(),
        action: action.into(),
        target: format!("child/{child}"),
        before: None,
        after: serde_json::to_value(chunk.iter().map(|(b, _)| (b.date, &b.unit)).collect::<Vec<_>>()).ok(),
    };
    let changed = || {
        Problem::new(
            StatusCode::CONFLICT,
            "bookings_changed",
            "Des réservations de l'enfant viennent d'être modifiées : recommencez.",
        )
    };
    let mut done = match repo::write_changes(store, town.id(), &marked, MARKS_PER_TRANSACTION, &entry).await {
        Ok(done) => done,
        Err(StoreError::TransactionCanceled { .. }) => return Err(changed()),
        Err(e) => return Err(e.into()),
    };
    for change in &in_billed {
        let mut ops = regularisations::billed_changes(store, town, &[(&change.0, &change.1)], (now, by)).await?;
        ops.push(entry(std::slice::from_ref(change)).record(town.id())?);
        match store.transact(ops).await {
            Ok(()) => done += 1,
            Err(StoreError::TransactionCanceled { .. }) => return Err(changed()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}
