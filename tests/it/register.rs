//! A justified absence survives the register (issue 25, defect 3): Léa (the testers' Lucas) is
//! reported ill on Monday 7 and Tuesday 8 December (canteen both days, étude on the 7th), her
//! certificate comes within the town's delay (three days justified at once); staff then take
//! the registers and mark her absent: her days stay « absence justifiée », 0 € billed. Marking
//! her present keeps the justification and flags it; only refusing the certificate undoes it.
//! Every register mark's audit entry records the value before.

use crate::helpers::{Browser, TOWN, TestPortal, portal_on};
use chrono::NaiveDate;
use domain::TownId;
use domain::billing::{self, Billed};
use domain::booking::{Actor, Attendance, Booking, BookingStatus, ChangedBy, Slot, Terms};
use domain::{Cents, ChildId};
use serde_json::{Value, json};
use store::{Store, WriteOp, keys, repo};

const PASSWORD: &str = "tilleuls-demo-2026";
const SCHOOL: &str = "ecole-jules-ferry";

fn town_id() -> TownId {
    TownId::parse(TOWN).unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn id<T: TryFrom<String>>(raw: &str) -> T {
    T::try_from(raw.to_owned()).ok().expect("an id")
}

/// Léa's confirmed booking of `unit` on `date`: the demo's, or one written as the basket does.
async fn booked(store: &Store, activity: &str, unit: &str, date: NaiveDate) {
    let key = keys::booking(&town_id(), &id::<ChildId>("lea-martin"), date, &id(unit));
    if let Some(item) = store.get(&key).await.unwrap() {
        let b: Booking = item.to_value().unwrap();
        assert_eq!((b.status, b.attendance), (BookingStatus::Confirmed, None), "the demo's booking");
        return;
    }
    let slot = Slot {
        child: id("lea-martin"),
        family: id("martin"),
        activity: id(activity),
        site: id(SCHOOL),
        unit: id(unit),
        date,
    };
    let terms = Terms {
        status: BookingStatus::Confirmed,
        price: Cents::new(250).unwrap(),
        late: false,
        waiting_list: false,
        rule: None,
    };
    let actor = Actor {
        by: "sophie.martin@exemple.fr",
        role: ChangedBy::Guardian,
        at: "2026-11-20T08:00:00Z".parse().unwrap(),
    };
    let b = Booking::book(None, slot, terms, actor);
    let place = WriteOp::Add {
        key: keys::capacity(&town_id(), &b.unit, &b.site, date),
        attr: "taken".into(),
        by: 1,
        max: None,
    };
    store.transact(vec![repo::booking_write(&town_id(), &b, None).unwrap(), place]).await.unwrap();
}

async fn booking(store: &Store, unit: &str, date: NaiveDate) -> Booking {
    let key = keys::booking(&town_id(), &id::<ChildId>("lea-martin"), date, &id(unit));
    store.get(&key).await.unwrap().unwrap().to_value().unwrap()
}

/// What the invoice would bill for Léa's booking, by the billing rules.
async fn billed(store: &Store, unit: &str, date: NaiveDate) -> Billed {
    let town = domain::config::Town::parse(local_portal::DEMO_TOWN.as_bytes()).unwrap();
    let family = repo::get_family(store, &town_id(), &id("martin")).await.unwrap().unwrap();
    let (_, u) = town.unit(&id(unit)).unwrap();
    billing::bill(&booking(store, unit, date).await, u, &family)
}

async fn mark(p: &TestPortal, agent: &Browser, date: &str, unit: &str, mark: &str) -> Value {
    let body = json!({"date": date, "unit": unit, "marks": [{"child": "lea-martin", "mark": mark}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/attendance"), body, Some(agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json.as_array().unwrap().iter().find(|row| row["child"] == "lea-martin").cloned().unwrap()
}

pub(super) async fn a_justified_absence_stays_justified_whatever_the_register_marks_afterwards(store: Store) {
    let p = portal_on(store.clone()).await;
    let (mon, tue) = (d("2026-12-07"), d("2026-12-08"));
    booked(&store, "restauration", "cantine", mon).await;
    booked(&store, "restauration", "cantine", tue).await;
    booked(&store, "etude", "etude-dirigee", mon).await;
    // Monday 7:00: Sophie reports Léa ill for two days.
    p.clock.set("2026-12-07T06:00:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let report = json!({"child": "lea-martin", "from": mon, "to": tue, "reason": "Varicelle"});
    let r = p.post(&format!("/api/towns/{TOWN}/families/martin/absences"), report, Some(&sophie)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // Monday noon: the certificate, within the delay: the three days are justified at once.
    p.clock.set("2026-12-07T11:00:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let bytes = crate::documents::pdf();
    let cert = json!({"kind": "certificat-absence", "child": "lea-martin", "file_name": "Certificat Léa.pdf",
                      "content_type": "application/pdf", "size": bytes.len(), "absence": {"from": mon, "to": tue}});
    let doc = crate::documents::send_file(&p, &sophie, "martin", cert, bytes).await;
    assert_eq!(doc["justified_bookings"], 3, "{doc:?}");

    // Tuesday evening, staff take the registers of both days: Léa absent.
    p.clock.set("2026-12-08T17:00:00Z".parse().unwrap());
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("agent");
    for (date, unit) in [("2026-12-07", "cantine"), ("2026-12-07", "etude-dirigee"), ("2026-12-08", "cantine")] {
        let row = mark(&p, &agent, date, unit, "absent").await;
        assert_eq!(row["attendance"], "absent_justified", "{date} {unit}: {row:?}");
        assert_eq!(row["justified"], true, "{row:?}");
    }
    for (unit, date) in [("cantine", mon), ("etude-dirigee", mon), ("cantine", tue)] {
        assert_eq!(billed(&store, unit, date).await, Billed::Justified, "{unit} {date}: 0 € billed");
        assert!(booking(&store, unit, date).await.justification.is_some(), "the certificate's own fact");
    }
    // The audit entry of a mark says what it was before.
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("admin");
    let trail = p.get(&format!("/api/towns/{TOWN}/staff/audit?limit=20"), Some(&admin)).await;
    let marked = trail.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "attendance.mark" && e["target"] == "attendance/2026-12-08/ecole-jules-ferry/cantine")
        .cloned()
        .unwrap_or_else(|| panic!("{:?}", trail.json));
    assert_eq!(marked["before"], json!([["lea-martin", "absent_justified"]]), "{marked:?}");
    assert_eq!(marked["after"], json!([["lea-martin", "absent_justified"]]), "{marked:?}");

    // Marked present on a justified day: the register says so, the justification stays (0 €),
    // and the row flags it for staff.
    let row = mark(&p, &agent, "2026-12-08", "cantine", "present").await;
    assert_eq!((row["attendance"].as_str(), row["justified"].as_bool()), (Some("present"), Some(true)), "{row:?}");
    assert_eq!(billed(&store, "cantine", tue).await, Billed::Justified);

    // Only staff refusing the certificate undoes it: the days are billed as the register says.
    let uri = format!("/api/towns/{TOWN}/staff/documents/martin/{}/decision", doc["id"].as_str().unwrap());
    let refused = p.post(&uri, json!({"decision": "refuse", "reason": "Illisible"}), Some(&agent)).await;
    assert_eq!(refused.status, 200, "{:?}", refused.json);
    let monday = booking(&store, "cantine", mon).await;
    assert_eq!((monday.attendance, monday.justification), (Some(Attendance::Absent), None));
    assert!(matches!(billed(&store, "cantine", mon).await, Billed::Line { .. }));
    assert_eq!(booking(&store, "cantine", tue).await.attendance, Some(Attendance::Present));
    assert!(matches!(billed(&store, "cantine", tue).await, Billed::Line { .. }));
    p.stop().await;
}

crate::helpers::both_backends!(a_justified_absence_stays_justified_whatever_the_register_marks_afterwards);
