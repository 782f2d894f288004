//! The children's files deleted when the privacy register says (`domain::child_file::retention`):
//! each night, in every town, the file and its versions of each child whose last use of the
//! service ended long enough ago. Run by the daily school-year Lambda (`campaign-reminders`) and
//! the local portal's hourly jobs; idempotent (a file deleted is not found again), a guardian's
//! change racing the deletion keeps the file (the deletion is conditioned on the version read).

use chrono::{DateTime, Utc};
use domain::child_file::{FileRecord, retention};
use domain::config::Town;
use store::{Store, StoreError, keys, repo};

/// Files read per batch (DynamoDB's BatchGetItem takes 100 keys).
const BATCH: usize = 100;

/// Deletes the files of `town` whose keeping ended by its today at `now`; how many.
pub async fn purge_files(store: &Store, town: &Town, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let today = town.today(now);
    let kept = town.config().child_file.kept_years_after_last_use;
    let children = repo::all_children(store, town.id()).await?;
    let mut deleted = 0;
    for chunk in children.chunks(BATCH) {
        let wanted: Vec<_> = chunk.iter().map(|c| keys::child_file(town.id(), &c.id)).collect();
        for item in store.get_many(&wanted).await? {
            let Ok(record) = item.to_value::<FileRecord>() else {
                // A file the code cannot read is left for a person, never deleted blindly.
                tracing::warn!(town = %town.id(), key = ?item.key, "a child's file could not be read");
                continue;
            };
            let last_booking = store::child_files::last_booking(store, town.id(), &record.child).await?;
            let changed = record.updated_at.with_timezone(&town.tz()).date_naive();
            let last_use = retention::last_use(last_booking, changed);
            if !retention::is_due(last_use, kept, today) {
                continue;
            }
            let versions = store::child_files::versions(store, town.id(), &record.child).await?;
            let mut ops = store::child_files::deletion(town.id(), &record, &versions);
            ops.push(
                store::audit::Entry {
                    at: now,
                    by: "conservation".into(),
                    action: "child_file.delete".into(),
                    target: format!("children/{}/file", record.child),
                    before: Some(serde_json::json!({ "version": record.version, "last_use": last_use })),
                    after: None,
                }
                .record(town.id())?,
            );
            match store.transact(ops).await {
                Ok(()) => deleted += 1,
                // Changed by a guardian meanwhile: kept, and seen again tomorrow.
                Err(StoreError::TransactionCanceled { index: 0, .. } | StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if deleted > 0 {
        tracing::info!(town = %town.id(), deleted, "children's files deleted at the end of their keeping");
    }
    Ok(deleted)
}
