//! The children's files deleted at the end of their keeping (docs/privacy.md): the daily
//! school-year job (`schoolyear::retention::purge_files`) keeps a file through the calendar year
//! that follows the child's last booking, deletes it with its versions on the 1st of January
//! after, audited, and leaves the child's record and its bookings;
//! a guardian's change racing the deletion keeps the file. On the three stores.

use crate::helpers::{TOWN, portal_on};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use domain::{ChildId, TownId};
use serde_json::json;
use store::{Store, child_files, repo};

crate::helpers::all_backends!(a_file_is_kept_through_the_next_year_then_deleted_with_its_versions);

fn midnight_in_paris(day: NaiveDate) -> chrono::DateTime<Utc> {
    // 00:30 in Paris is the day before in UTC: the town's day counts, not UTC's.
    chrono_tz::Europe::Paris
        .from_local_datetime(&day.and_hms_opt(0, 30, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

async fn a_file_is_kept_through_the_next_year_then_deleted_with_its_versions(store: Store) {
    let p = portal_on(store).await;
    let town_id = TownId::parse(TOWN).unwrap();
    let lea = ChildId::parse("lea-martin").unwrap();
    // Sophie changes Léa's file: two versions kept.
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/families/martin/children/lea-martin/file");
    let read = p.get(&uri, Some(&sophie)).await;
    let mut file = read.json["file"].clone();
    file["health"]["doctor"] = json!({"name": "Dr Henri Morel", "phone": "01 23 45 67 89"});
    let saved = p.send("PUT", &uri, Some(json!({"version": 1, "file": file})), &sophie, &[]).await;
    assert_eq!(saved.status, 200, "{:?}", saved.json);
    assert_eq!(child_files::versions(&p.store, &town_id, &lea).await.unwrap().len(), 2);

    // Léa's last booking, whatever the demo books: the file lives until the 1st of January two
    // years after it (the year of the booking, then the whole next one).
    let last = child_files::last_booking(&p.store, &town_id, &lea).await.unwrap().expect("Léa is booked");
    let (from, to) = (NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2100, 12, 31).unwrap());
    let all = repo::bookings(&p.store, &town_id, &lea, from, to).await.unwrap();
    assert_eq!(Some(last), all.iter().map(|b| b.date).max(), "the last key is the last booking");
    let deletion = NaiveDate::from_ymd_opt(last.year() + 2, 1, 1).unwrap();
    let (town, _) = repo::stored_town(&p.store, &town_id).await.unwrap().unwrap();
    // The job runs as its Lambda, held to that function's policy.
    let jobs = p.store_of("CampaignRemindersFunction");

    // The day before (in Paris, just after midnight): kept, by every run.
    let eve = deletion.pred_opt().unwrap();
    for _ in 0..2 {
        assert_eq!(schoolyear::retention::purge_files(&jobs, &town, midnight_in_paris(eve)).await.unwrap(), 0);
    }
    assert!(child_files::get(&p.store, &town_id, &lea).await.unwrap().is_some());

    // A guardian's change between the job's read and its deletion keeps the file.
    let stale = child_files::get(&p.store, &town_id, &lea).await.unwrap().unwrap();
    let mut newer = stale.clone();
    newer.version += 1;
    p.store.transact(child_files::writes(&town_id, Some(&stale), &newer, None).unwrap()).await.unwrap();
    let versions = child_files::versions(&p.store, &town_id, &lea).await.unwrap();
    assert!(p.store.transact(child_files::deletion(&town_id, &stale, &versions)).await.is_err());
    assert!(child_files::get(&p.store, &town_id, &lea).await.unwrap().is_some());

    // On the day: deleted with its versions, once, audited; the record and bookings stay.
    let now = midnight_in_paris(deletion);
    assert_eq!(schoolyear::retention::purge_files(&jobs, &town, now).await.unwrap(), 1);
    assert_eq!(schoolyear::retention::purge_files(&jobs, &town, now).await.unwrap(), 0, "idempotent");
    assert!(child_files::get(&p.store, &town_id, &lea).await.unwrap().is_none());
    assert!(child_files::versions(&p.store, &town_id, &lea).await.unwrap().is_empty());
    assert!(repo::get_child(&p.store, &town_id, &lea).await.unwrap().is_some(), "the child's record stays");
    assert_eq!(child_files::last_booking(&p.store, &town_id, &lea).await.unwrap(), Some(last));
    let (entries, _) = store::audit::page(&p.store, &town_id, 50, None).await.unwrap();
    let deleted: Vec<_> = entries.iter().filter(|e| e.action == "child_file.delete").collect();
    assert_eq!(deleted.len(), 1, "{entries:?}");
    assert_eq!(deleted[0].target, "children/lea-martin/file");
    // The guardian reads an empty file, and may fill it again.
    let read = p.get(&uri, Some(&sophie)).await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert!(read.json["file"]["health"]["doctor"].is_null(), "{:?}", read.json);
}
