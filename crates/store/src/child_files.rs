//! Stored children's files ([`domain::child_file`]): in the child's partition, apart from the
//! child's record, the file as it stands (`FILE`, listed in the town's queue of files to check
//! while a guardian's change waits for staff) and its last versions (`FILE#V#<n>`). Every write is
//! conditioned on the version read, with the version it adds and the one it drops in the same
//! transaction.

use super::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};
use domain::child_file::{FileRecord, FileVersion, Status};
use domain::{ChildId, TownId};

fn item(town: &TownId, r: &FileRecord) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::child_file(town, &r.child), r)?;
    Ok(if r.status == Status::ToCheck {
        let sk = format!("{}#{}", r.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), r.child);
        item.with_gsi1(Key::new(keys::child_files_to_check(town), sk))
    } else {
        item
    })
}

/// The file of a child, if a guardian ever filled it.
pub async fn get(store: &Store, town: &TownId, child: &ChildId) -> Result<Option<FileRecord>, StoreError> {
    store.get(&keys::child_file(town, child)).await?.map(|i| i.to_value()).transpose()
}

/// The writes of `after` over `before` (as read): the record, conditioned on the version read,
/// and for a guardian's change the new version and the deletion of the one that falls out of
/// the history.
pub fn writes(
    town: &TownId,
    before: Option<&FileRecord>,
    after: &FileRecord,
    version: Option<&FileVersion>,
) -> Result<Vec<WriteOp>, StoreError> {
    let read = before.map(|r| u64::from(r.version));
    let mut ops = vec![WriteOp::Put { item: item(town, after)?, cond: Some(Cond::at_version(read)) }];
    if let Some(v) = version {
        let key = keys::child_file_version(town, &v.child, v.version);
        ops.push(WriteOp::Put { item: Item::from_value(key, v)?, cond: Some(Cond::NotExists) });
        if let Some(old) = after.dropped_version() {
            ops.push(WriteOp::delete(keys::child_file_version(town, &after.child, old)));
        }
    }
    Ok(ops)
}

/// The versions kept of a child's file, newest first.
pub async fn versions(store: &Store, town: &TownId, child: &ChildId) -> Result<Vec<FileVersion>, StoreError> {
    let pk = keys::child_file(town, child).pk;
    let q = Query::table(pk, SkRange::Prefix(keys::CHILD_FILE_VERSION_PREFIX.into())).descending();
    Ok(Item::decode_listed(&store.query_all(&q).await?))
}

/// The files waiting for staff, oldest change first, at most `limit`.
pub async fn to_check(store: &Store, town: &TownId, limit: usize) -> Result<Vec<FileRecord>, StoreError> {
    let q = Query::gsi1(keys::child_files_to_check(town), SkRange::All).limit(limit);
    Ok(Item::decode_listed(&store.query(&q).await?.items))
}

/// The writes deleting a child's file and the versions kept of it, the file conditioned on the
/// version read (a guardian's change in between keeps it): at most 21 items, one transaction.
pub fn deletion(town: &TownId, record: &FileRecord, versions: &[FileVersion]) -> Vec<WriteOp> {
    let mut ops = vec![WriteOp::Delete {
        key: keys::child_file(town, &record.child),
        cond: Some(Cond::version(u64::from(record.version))),
    }];
    ops.extend(versions.iter().map(|v| WriteOp::delete(keys::child_file_version(town, &v.child, v.version))));
    ops
}

/// The day of the child's latest booking, whatever its state, if it was ever booked: the last
/// key of its bookings in its partition (one read).
pub async fn last_booking(
    store: &Store,
    town: &TownId,
    child: &ChildId,
) -> Result<Option<chrono::NaiveDate>, StoreError> {
    let pk = keys::child(town, child).pk;
    let q = Query::table(pk, SkRange::Prefix(keys::BOOKING_PREFIX.into())).descending().limit(1);
    let page = store.query(&q).await?;
    Ok(page.items.first().and_then(|i| booking_date(&i.key.sk)))
}

/// The date of a booking's sort key (`B#<date>#<unit>`).
fn booking_date(sk: &str) -> Option<chrono::NaiveDate> {
    sk.strip_prefix(keys::BOOKING_PREFIX)?.split('#').next()?.parse().ok()
}
