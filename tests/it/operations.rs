//! Town operations end to end: a closure cancelling what it closes, a waiting list moving under
//! concurrency, a sick child reported before the register, a family's data exported and erased.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal_on};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::booking::{Actor, Booking, BookingStatus, ChangedBy, Slot, Terms};
use domain::family::{Child, Family};
use domain::{Cents, TownId};
use serde_json::{Value, json};
use store::{Store, WriteOp, keys, repo};

const PASSWORD: &str = "tilleuls-demo-2026";

pub(super) fn town_id() -> TownId {
    TownId::parse(TOWN).unwrap()
}

pub(super) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(super) fn id<T: TryFrom<String>>(raw: &str) -> T {
    T::try_from(raw.to_owned()).ok().expect("an id")
}

pub(super) async fn admin(p: &TestPortal) -> Browser {
    p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("admin")
}

/// `n` families `{prefix}01…`, one guardian and one child each, the child enrolled in
/// `activities` at their demo sites for the school year.
pub(super) async fn families(
    store: &Store,
    prefix: &str,
    n: usize,
    activities: &[(&str, &str)],
) -> Vec<(Family, Child)> {
    let mut out = Vec::new();
    for i in 1..=n {
        let reference = format!("{prefix}{i:02}");
        let child: Child = serde_json::from_value(json!({
            "id": format!("{reference}-enfant"), "first_name": format!("Enfant{i:02}"), "last_name": reference.to_uppercase(),
            "birth_date": "2018-05-01",
            "enrolments": activities.iter().map(|(a, s)| json!({"activity": a, "site": s, "from": "2026-09-01", "to": "2027-08-31"})).collect::<Vec<_>>()
        }))
        .unwrap();
        let family: Family = serde_json::from_value(json!({
            "reference": reference, "name": format!("Famille {reference}"), "resident": true, "quotient_familial": 900,
            "guardians": [{"first_name": "Parent", "last_name": reference.to_uppercase(), "email": format!("{reference}@exemple.fr")}],
            "children": [child.id]
        }))
        .unwrap();
        repo::put_child(store, &town_id(), &child).await.unwrap();
        repo::put_family(store, &town_id(), &family).await.unwrap();
        out.push((family, child));
    }
    out
}

/// A booking written as the basket writes it: the booking and its place.
#[allow(clippy::too_many_arguments)]
pub(super) async fn book(
    store: &Store,
    f: &Family,
    c: &Child,
    activity: &str,
    site: &str,
    unit: &str,
    date: NaiveDate,
    waiting_at: Option<DateTime<Utc>>,
) {
    let slot = Slot {
        child: c.id.clone(),
        family: f.reference.clone(),
        activity: id(activity),
        site: id(site),
        unit: id(unit),
        date,
    };
    let waiting = waiting_at.is_some();
    let status = if waiting { BookingStatus::Pending } else { BookingStatus::Confirmed };
    let terms = Terms { status, price: Cents::new(300).unwrap(), late: false, waiting_list: waiting, rule: None };
    let at = waiting_at.unwrap_or_else(|| "2026-11-20T08:00:00Z".parse().unwrap());
    let actor = Actor { by: "parent@exemple.fr", role: ChangedBy::Guardian, at };
    let b = Booking::book(None, slot, terms, actor);
    let mut ops = vec![repo::booking_write(&town_id(), &b, None).unwrap()];
    // A place taken, or a place in the queue.
    ops.push(WriteOp::Add {
        key: keys::capacity(&town_id(), &b.unit, &b.site, date),
        attr: if waiting { "waiting" } else { "taken" }.into(),
        by: 1,
        max: None,
    });
    store.transact(ops).await.unwrap();
}

pub(super) async fn taken(store: &Store, unit: &str, site: &str, date: NaiveDate) -> i64 {
    let got = repo::places_taken(store, &town_id(), &id(unit), &id(site), date, date).await.unwrap();
    got.get(&date).copied().unwrap_or(0)
}

pub(super) async fn booking(store: &Store, child: &Child, unit: &str, date: NaiveDate) -> Booking {
    store.get(&keys::booking(&town_id(), &child.id, date, &id(unit))).await.unwrap().unwrap().to_value().unwrap()
}

/// Changes the configuration as the administrator does, from the version read.
pub(super) async fn edit_config(p: &TestPortal, admin: &Browser, change: impl FnOnce(&mut Value)) -> Value {
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let view = p.get(&uri, Some(admin)).await.json;
    let mut config = view["config"].clone();
    change(&mut config);
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), admin, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

fn mails_with<'a>(mails: &'a [local_portal::devmail::Sent], subject: &str) -> Vec<&'a local_portal::devmail::Sent> {
    mails.iter().filter(|m| m.content.subject.contains(subject)).collect()
}

/// A strike on Monday 15 and Tuesday 16 March 2027: 40 bookings of 12 families (the canteen
/// both days, morning care on Monday, evening care on Monday for four of them). Staff see the
/// count first; the closure cancels all 40 (never billed), frees 40 places, emails each family
/// once with its child's days, and the cells say « annulé par la commune ». Reopening the days
/// rebooks nothing and tells the 12 families so.
pub(super) async fn a_closure_cancels_forty_bookings_of_twelve_families(store: Store) {
    let p = portal_on(store.clone()).await;
    let (mon, tue) = (d("2027-03-15"), d("2027-03-16"));
    let school = "ecole-jules-ferry";
    let fams = families(&store, "greve", 12, &[("restauration", school), ("periscolaire", school)]).await;
    for (i, (f, c)) in fams.iter().enumerate() {
        book(&store, f, c, "restauration", school, "cantine", mon, None).await;
        book(&store, f, c, "restauration", school, "cantine", tue, None).await;
        book(&store, f, c, "periscolaire", school, "peri-matin", mon, None).await;
        if i < 4 {
            book(&store, f, c, "periscolaire", school, "peri-soir", mon, None).await;
        }
    }
    assert_eq!(taken(&store, "cantine", school, mon).await, 12);
    let admin = admin(&p).await;
    p.deliver().await;
    let closures = json!([{"date": mon, "reason": "Grève du 15/03"}, {"date": tue, "reason": "Grève du 15/03"}]);
    let impact =
        p.post(&format!("/api/towns/{TOWN}/staff/closures/impact"), json!({"closures": closures}), Some(&admin)).await;
    assert_eq!(impact.status, 200, "{:?}", impact.json);
    assert_eq!((impact.json["bookings"].as_u64(), impact.json["families"].as_u64()), (Some(40), Some(12)));
    assert_eq!(taken(&store, "cantine", school, mon).await, 12, "the count changes nothing");

    let saved = edit_config(&p, &admin, |c| {
        c["closures"].as_array_mut().unwrap().extend(closures.as_array().unwrap().iter().cloned());
    })
    .await;
    assert_eq!(saved["closed"]["cancelled"], 40, "{saved:?}");
    assert_eq!(saved["closed"]["families"], 12);
    assert_eq!(taken(&store, "cantine", school, mon).await, 0);
    assert_eq!(taken(&store, "cantine", school, tue).await, 0);
    let mails = p.deliver().await;
    let closed = mails_with(&mails, "Fermeture\u{202f}: réservations annulées");
    assert_eq!(closed.len(), 12, "one email per family");
    let first = closed.iter().find(|m| m.to.as_str() == "greve01@exemple.fr").unwrap();
    assert!(first.content.text.contains("Grève du 15/03"), "{}", first.content.text);
    assert!(first.content.text.contains("ne seront pas facturées"));
    assert_eq!(first.content.text.matches("Enfant01").count(), 4, "its four days: {}", first.content.text);
    for (f, c) in &fams {
        let b = booking(&store, c, "cantine", mon).await;
        assert_eq!(
            (b.status, b.late_cancel, b.cancelled_by_town.as_deref()),
            (BookingStatus::Cancelled, false, Some("Grève du 15/03")),
            "{}",
            f.reference
        );
    }
    // The cell, as a guardian's grid shows it.
    let cells = domain::cells::cell(&domain::cells::CellFacts {
        town: &store::repo::Towns::new(store.clone(), std::time::Duration::from_secs(0))
            .get(&town_id())
            .await
            .unwrap()
            .unwrap(),
        activity: &saved_activity(&saved, "restauration"),
        unit: &saved_unit(&saved, "cantine"),
        site: &id(school),
        child: &fams[0].1,
        family: &fams[0].0,
        date: mon,
        booking: Some(&booking(&store, &fams[0].1, "cantine", mon).await),
        taken: 0,
        now: p.clock.now(),
    });
    assert_eq!(serde_json::to_value(&cells).unwrap()["state"], "cancelled_by_town");
    // Saving the same closures again cancels nothing more and sends nothing.
    edit_config(&p, &admin, |c| c["name"] = c["name"].clone()).await;
    assert!(mails_with(&p.deliver().await, "Fermeture").len() == 12);

    // Reopened: told, not rebooked.
    edit_config(&p, &admin, |c| {
        c["closures"].as_array_mut().unwrap().retain(|x| x["reason"] != "Grève du 15/03");
    })
    .await;
    let mails = p.deliver().await;
    let reopened = mails_with(&mails, "Réouverture");
    assert_eq!(reopened.len(), 12);
    assert!(reopened[0].content.text.contains("ne sont pas rétablies"));
    assert_eq!(booking(&store, &fams[0].1, "cantine", mon).await.status, BookingStatus::Cancelled);
    assert_eq!(taken(&store, "cantine", school, mon).await, 0);
    p.stop().await;
}

fn saved_activity(saved: &Value, id: &str) -> domain::config::Activity {
    let a = saved["config"]["activities"].as_array().unwrap().iter().find(|a| a["id"] == id).unwrap();
    serde_json::from_value(a.clone()).unwrap()
}

fn saved_unit(saved: &Value, id: &str) -> domain::config::Unit {
    let u = saved["config"]["activities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["units"].as_array().unwrap().iter())
        .find(|u| u["id"] == id)
        .unwrap();
    serde_json::from_value(u.clone()).unwrap()
}

/// Wednesday 17 March 2027 at the leisure centre, made 30 places with a waiting list: 30
/// booked, 35 waiting. Staff cancel the 30 at once (30 concurrent requests): exactly the first
/// 30 waiting, in order of arrival, get the places; the last 5 still wait; the unit is never
/// over its capacity; each promoted family is emailed.
pub(super) async fn thirty_concurrent_cancellations_promote_the_first_thirty_in_order(store: Store) {
    let p = portal_on(store.clone()).await;
    let (wed, centre) = (d("2027-03-17"), "centre-les-tilleuls");
    let admin = admin(&p).await;
    edit_config(&p, &admin, |c| {
        for a in c["activities"].as_array_mut().unwrap() {
            for u in a["units"].as_array_mut().unwrap() {
                if u["id"] == "alsh-mercredi" {
                    u["capacity"] = json!(30);
                    u["waiting_list"] = json!(true);
                }
            }
        }
    })
    .await;
    let booked = families(&store, "inscrit", 30, &[("alsh", centre)]).await;
    let waiting = families(&store, "attente", 35, &[("alsh", centre)]).await;
    for (f, c) in &booked {
        book(&store, f, c, "alsh", centre, "alsh-mercredi", wed, None).await;
    }
    let t0: DateTime<Utc> = "2026-11-21T08:00:00Z".parse().unwrap();
    // Arrival order is not the reference order: the 35 joined in reverse.
    for (i, (f, c)) in waiting.iter().rev().enumerate() {
        book(&store, f, c, "alsh", centre, "alsh-mercredi", wed, Some(t0 + Duration::minutes(i as i64))).await;
    }
    assert_eq!(taken(&store, "alsh-mercredi", centre, wed).await, 30);
    p.deliver().await;

    let tasks: Vec<_> = booked
        .iter()
        .map(|(f, c)| {
            let (router, admin) = (p.router.clone(), admin.clone());
            let uri = format!("/api/towns/{TOWN}/staff/families/{}/bookings", f.reference);
            let body = json!({"lines": [{"child": c.id, "unit": "alsh-mercredi", "date": wed, "action": "cancel"}]});
            let key = format!("annulation-{}-0000001", f.reference);
            tokio::spawn(async move {
                let hs = [
                    ("cookie", admin.cookie.as_str()),
                    ("x-csrf-token", admin.csrf.as_str()),
                    ("content-type", "application/json"),
                    ("idempotency-key", key.as_str()),
                ];
                crate::helpers::call(&router, "POST", &uri, &hs, Some(body.to_string().into_bytes())).await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.json);
    }
    assert_eq!(taken(&store, "alsh-mercredi", centre, wed).await, 30, "full again, never over");
    // The first 30 to arrive are the last 30 references (they joined in reverse).
    for (i, (f, c)) in waiting.iter().enumerate() {
        let b = booking(&store, c, "alsh-mercredi", wed).await;
        if i < 5 {
            assert!(b.is_waiting(), "{} joined last: still waiting", f.reference);
        } else {
            assert_eq!((b.status, b.waiting_list), (BookingStatus::Confirmed, false), "{}", f.reference);
        }
    }
    let mails = p.deliver().await;
    assert_eq!(mails_with(&mails, "Liste d’attente\u{202f}: réservation validée").len(), 30);
    // The requests that handed their promotion over left their jobs for the sweep: it finds
    // nothing more to give, and nothing is left due.
    let towns = repo::Towns::new(store.clone(), std::time::Duration::from_secs(0));
    let operations = p.store_of("OperationsFunction");
    let ctx = services::operations::Ctx { store: &operations, public_url: "http://portail.test" };
    services::operations::sweep(ctx, &towns, p.clock.now()).await.unwrap();
    assert_eq!(taken(&store, "alsh-mercredi", centre, wed).await, 30);
    for (f, c) in waiting.iter().take(5) {
        assert!(booking(&store, c, "alsh-mercredi", wed).await.is_waiting(), "{} still waits", f.reference);
    }
    let due = store.query(&store::Query::gsi1(keys::JOBS_DUE, store::SkRange::All)).await.unwrap();
    assert!(due.items.is_empty(), "{:?}", due.items);

    // Two more places: the sweep gives them to the next two to have arrived.
    edit_config(&p, &admin, |c| {
        for a in c["activities"].as_array_mut().unwrap() {
            for u in a["units"].as_array_mut().unwrap() {
                if u["id"] == "alsh-mercredi" {
                    u["capacity"] = json!(32);
                }
            }
        }
    })
    .await;
    assert!(booking(&store, &waiting[4].1, "alsh-mercredi", wed).await.is_waiting(), "the sweep does it");
    services::operations::sweep(ctx, &towns, p.clock.now()).await.unwrap();
    assert_eq!(taken(&store, "alsh-mercredi", centre, wed).await, 32);
    for (i, (f, c)) in waiting.iter().enumerate().take(5) {
        let b = booking(&store, c, "alsh-mercredi", wed).await;
        assert_eq!(b.is_waiting(), i < 3, "{}", f.reference);
    }
    p.stop().await;
}

/// The child's confirmed booking of `unit` on `date` (the demo's, or one made now).
pub(super) async fn ensure_booked(
    store: &Store,
    family: &str,
    child: &str,
    activity: &str,
    site: &str,
    unit: &str,
    date: NaiveDate,
) -> Child {
    let f = repo::get_family(store, &town_id(), &id(family)).await.unwrap().unwrap();
    let c = repo::get_child(store, &town_id(), &id(child)).await.unwrap().unwrap();
    let key = keys::booking(&town_id(), &c.id, date, &id(unit));
    match store.get(&key).await.unwrap() {
        Some(item) => {
            let b: Booking = item.to_value().unwrap();
            assert_eq!((b.status, b.attendance), (BookingStatus::Confirmed, None), "the demo's booking");
        }
        None => book(store, &f, &c, activity, site, unit, date, None).await,
    }
    c
}

/// Thursday 3 December at 7:30, past every deadline: Sophie reports Léa and Hugo ill for the
/// day. At 8:00 the canteen's register shows both reports; the bookings are still billed.
/// Léa's certificate comes 30 hours later: her day is « absence justifiée », unbilled. Hugo's
/// comes after the town's 48 hours: his day stays billed. Out-of-window and repeated reports
/// get clear 4xx answers.
pub(super) async fn a_sick_child_reported_at_7_30_is_on_the_8_00_register_and_a_certificate_in_time_unbills_it(
    store: Store,
) {
    let p = portal_on(store.clone()).await;
    let (thu, school) = (d("2026-12-03"), "ecole-jules-ferry");
    let lea = ensure_booked(&store, "martin", "lea-martin", "restauration", school, "cantine", thu).await;
    let hugo = ensure_booked(&store, "martin", "hugo-martin", "restauration", school, "cantine", thu).await;
    p.clock.set("2026-12-03T06:30:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let uri = format!("/api/towns/{TOWN}/families/martin/absences");
    let mut reported = Vec::new();
    for child in [&lea, &hugo] {
        let r = p.post(&uri, json!({"child": child.id, "from": thu, "reason": "Fièvre"}), Some(&sophie)).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        let days = r.json["bookings"].as_array().unwrap().clone();
        assert!(days.iter().any(|b| b["unit"] == "cantine" && b["date"] == "2026-12-03"), "{:?}", r.json);
        reported.push(days.len());
    }
    let again = p.post(&uri, json!({"child": lea.id, "from": thu, "reason": "Fièvre"}), Some(&sophie)).await;
    assert_problem(&again, 422, "nothing_to_report");
    let far = p.post(&uri, json!({"child": lea.id, "from": "2026-12-20", "reason": "Fièvre"}), Some(&sophie)).await;
    assert_problem(&far, 422, "outside_report_window");
    let past = p.post(&uri, json!({"child": lea.id, "from": "2026-12-02", "reason": "Fièvre"}), Some(&sophie)).await;
    assert_problem(&past, 422, "outside_report_window");
    let other = p.post(&uri, json!({"child": "noe-bernard-petit", "from": thu, "reason": "x"}), Some(&sophie)).await;
    assert_problem(&other, 422, "unknown_child");
    let empty = p.post(&uri, json!({"child": lea.id, "from": thu, "reason": "  "}), Some(&sophie)).await;
    assert_problem(&empty, 422, "invalid_reason");

    p.clock.set("2026-12-03T07:00:00Z".parse().unwrap());
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("agent");
    let list = p.get(&format!("/api/towns/{TOWN}/staff/attendance?date={thu}&unit=cantine"), Some(&agent)).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    let row = |child: &str| list.json.as_array().unwrap().iter().find(|r| r["child"] == child).cloned().unwrap();
    for child in ["lea-martin", "hugo-martin"] {
        let r = row(child);
        assert_eq!(r["absence_report"]["reason"], "Fièvre", "{r:?}");
        assert!(r.get("attendance").is_none(), "the register is not taken yet");
    }
    let billed_as_booked = booking(&store, &lea, "cantine", thu).await;
    assert_eq!((billed_as_booked.status, billed_as_booked.late_cancel), (BookingStatus::Confirmed, false));

    let cert = |child: &str, first: &str| {
        let bytes = crate::documents::pdf();
        json!({"kind": "certificat-absence", "child": child, "file_name": format!("Certificat {first}.pdf"),
               "content_type": "application/pdf", "size": bytes.len(), "absence": {"from": thu, "to": thu}})
    };
    p.clock.set("2026-12-04T12:30:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let doc =
        crate::documents::send_file(&p, &sophie, "martin", cert("lea-martin", "Léa"), crate::documents::pdf()).await;
    assert_eq!(doc["justified_bookings"].as_u64(), Some(reported[0] as u64), "every reported day of Léa: {doc:?}");
    assert_eq!(
        booking(&store, &lea, "cantine", thu).await.attendance,
        Some(domain::booking::Attendance::AbsentJustified)
    );
    // Hugo's comes too late: 48 hours after Thursday 3 ended (Saturday 5 at midnight in Paris).
    p.clock.set("2026-12-05T23:01:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let late =
        crate::documents::send_file(&p, &sophie, "martin", cert("hugo-martin", "Hugo"), crate::documents::pdf()).await;
    assert!(late.get("justified_bookings").is_none_or(Value::is_null), "{late:?}");
    assert_eq!(booking(&store, &hugo, "cantine", thu).await.attendance, None, "billed as booked");
    // Staff refuse Léa's certificate after all: her reported days are billed again.
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("agent");
    let uri = format!("/api/towns/{TOWN}/staff/documents/martin/{}/decision", doc["id"].as_str().unwrap());
    let refused = p.post(&uri, json!({"decision": "refuse", "reason": "Illisible"}), Some(&agent)).await;
    assert_eq!(refused.status, 200, "{:?}", refused.json);
    assert_eq!(booking(&store, &lea, "cantine", thu).await.attendance, Some(domain::booking::Attendance::Absent));
    p.stop().await;
}

/// The configuration that closes a day was saved, then the request died before cancelling
/// anything: the job saved with it is still due, and the scheduled sweep does the work, once.
pub(super) async fn a_closure_a_crash_interrupted_is_finished_by_the_sweep(store: Store) {
    let p = portal_on(store.clone()).await;
    let (day, school) = (d("2027-03-18"), "ecole-jules-ferry");
    let fams = families(&store, "panne", 3, &[("restauration", school)]).await;
    for (f, c) in &fams {
        book(&store, f, c, "restauration", school, "cantine", day, None).await;
    }
    let towns = repo::Towns::new(store.clone(), std::time::Duration::from_secs(0));
    let (town, version) = towns.get_versioned(&town_id()).await.unwrap().unwrap();
    let mut config = town.config().clone();
    let closure = domain::calendar::Closure { date: day, reason: "Dégât des eaux".into(), activities: vec![] };
    config.closures.push(closure.clone());
    let closed = domain::config::Town::try_from(config).unwrap();
    let job =
        services::operations::Job::Close { closures: vec![closure], by: "mairie@villeneuve-les-tilleuls.fr".into() };
    let op = services::operations::job_op(&town_id(), &job, p.clock.now()).unwrap();
    towns.replace(&closed, version, vec![op]).await.unwrap();
    assert_eq!(booking(&store, &fams[0].1, "cantine", day).await.status, BookingStatus::Confirmed, "nothing ran yet");
    p.deliver().await;
    let operations = p.store_of("OperationsFunction");
    let ctx = services::operations::Ctx { store: &operations, public_url: "http://portail.test" };
    assert_eq!(services::operations::sweep(ctx, &towns, p.clock.now()).await.unwrap(), 1);
    for (_, c) in &fams {
        assert_eq!(booking(&store, c, "cantine", day).await.cancelled_by_town.as_deref(), Some("Dégât des eaux"));
    }
    assert_eq!(taken(&store, "cantine", school, day).await, 0);
    assert_eq!(services::operations::sweep(ctx, &towns, p.clock.now()).await.unwrap(), 0, "done: nothing due");
    let mails = p.deliver().await;
    assert_eq!(mails_with(&mails, "Fermeture\u{202f}: réservations annulées").len(), 3);
    p.stop().await;
}

/// The winter holidays' leisure centre: when its bookings open, the families with children
/// enrolled who booked nothing get one email per guardian, except Sophie, who turned the
/// reminders off; a few days before the deadline, a second one; never twice; a family that
/// booked gets none.
pub(super) async fn holiday_reminders_go_once_to_families_who_booked_nothing_unless_turned_off(store: Store) {
    let p = portal_on(store.clone()).await;
    let towns = repo::Towns::new(store.clone(), std::time::Duration::from_secs(0));
    let town = towns.get(&town_id()).await.unwrap().unwrap();
    let today = town.today(p.clock.now());
    let periods = domain::operations::holiday_bookings(&town, today, 120);
    let winter = periods
        .iter()
        .find(|h| h.activity.as_str() == "alsh" && h.opens_at.is_some())
        .expect("a holiday period ahead")
        .clone();
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let off = p
        .send(
            "PUT",
            &format!("/api/towns/{TOWN}/auth/preferences"),
            Some(json!({"holiday_reminders": false})),
            &sophie,
            &[],
        )
        .await;
    assert_eq!((off.status, &off.json["holiday_reminders"]), (200, &json!(false)), "{:?}", off.json);
    let bad = p
        .send(
            "PUT",
            &format!("/api/towns/{TOWN}/auth/preferences"),
            Some(json!({"holiday_reminders": "non"})),
            &sophie,
            &[],
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.json);
    // One family of two enrolled children books a day of the period: it gets nothing.
    let fams = families(&store, "vacances", 2, &[("alsh", "centre-les-tilleuls")]).await;
    book(&store, &fams[0].0, &fams[0].1, "alsh", "centre-les-tilleuls", winter.units[0].as_str(), winter.first, None)
        .await;
    p.deliver().await;

    let operations = p.store_of("OperationsFunction");

    let ctx = services::operations::Ctx { store: &operations, public_url: "http://portail.test" };
    let opening = winter.opens_at.unwrap() + Duration::hours(8);
    p.clock.set(opening);
    let sent = services::operations::remind(ctx, &town, opening).await.unwrap();
    assert!(sent > 0);
    assert_eq!(services::operations::remind(ctx, &town, opening + Duration::hours(1)).await.unwrap(), 0, "never twice");
    let mails = p.deliver().await;
    let opened = mails_with(&mails, "les réservations sont ouvertes");
    assert_eq!(opened.len(), sent);
    let to: Vec<&str> = opened.iter().map(|m| m.to.as_str()).collect();
    assert!(to.contains(&"vacances02@exemple.fr"), "{to:?}");
    assert!(!to.contains(&"vacances01@exemple.fr"), "a family that booked: {to:?}");
    assert!(!to.contains(&"sophie.martin@exemple.fr"), "turned off: {to:?}");
    assert!(to.contains(&"julien.martin@exemple.fr"), "the other guardian still gets it: {to:?}");

    // Julien turns them off from the email in one click, as his mail client does (RFC 8058).
    let julien = opened.iter().find(|m| m.to.as_str() == "julien.martin@exemple.fr").unwrap();
    // The headers as the message carries them.
    let header = julien.header("List-Unsubscribe").expect("a reminder carries its one-click link");
    let one_click = header.strip_prefix('<').and_then(|h| h.strip_suffix('>')).expect("<url>").to_owned();
    assert_eq!(julien.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    let path = one_click.strip_prefix("http://portail.test").expect("a link to the portal").to_owned();
    assert!(
        julien.content.text.contains(&format!("http://portail.test/desabonnement.html?commune={TOWN}#jeton=")),
        "the text links its page: {}",
        julien.content.text
    );
    let get = crate::helpers::call(&p.router, "GET", &path, &[], None).await;
    assert_eq!(get.status, 405, "a link checker's GET changes nothing");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for _ in 0..2 {
        let off =
            crate::helpers::call(&p.router, "POST", &path, &form, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
        assert_eq!(off.status, 200, "{:?}", off.json);
        assert_eq!(off.json, json!({"email": "j…@exemple.fr", "holiday_reminders": false}));
    }
    let forged = format!("/api/towns/{TOWN}/unsubscribe/{}", "A".repeat(43));
    assert_problem(
        &crate::helpers::call(&p.router, "POST", &forged, &form, None).await,
        404,
        "unsubscribe_link_unknown",
    );
    let short = format!("/api/towns/{TOWN}/unsubscribe/abc");
    assert_problem(
        &crate::helpers::call(&p.router, "POST", &short, &form, None).await,
        404,
        "unsubscribe_link_unknown",
    );

    let deadline = winter.deadline - Duration::days(2);
    p.clock.set(deadline);
    let again = services::operations::remind(ctx, &town, deadline).await.unwrap();
    assert_eq!(again, sent - 1, "the deadline's reminder, to the same guardians but Julien");
    assert_eq!(services::operations::remind(ctx, &town, deadline + Duration::hours(2)).await.unwrap(), 0);
    p.clock.set(deadline + Duration::hours(3));
    let second = p.deliver().await;
    let second = mails_with(&second, "réservez avant le");
    assert_eq!(second.len(), sent - 1);
    assert!(second.iter().all(|m| m.to.as_str() != "julien.martin@exemple.fr"));
    // The page's « Recevoir à nouveau les rappels »: on again, for him only.
    let on = crate::helpers::call(&p.router, "POST", &format!("{path}/undo"), &[], None).await;
    assert_eq!(on.json, json!({"email": "j…@exemple.fr", "holiday_reminders": true}), "{:?}", on.json);
    let accounts = store::accounts::all_accounts(&store, &town_id()).await.unwrap();
    let off: Vec<&str> = accounts.iter().filter(|a| a.no_reminders).map(|a| a.email.as_str()).collect();
    assert_eq!(off, ["sophie.martin@exemple.fr"], "Sophie turned them off herself");
    p.stop().await;
}

/// Every booking of the Martins' children, as stored.
async fn martin_bookings(store: &Store) -> Vec<Booking> {
    let mut all = Vec::new();
    for child in ["lea-martin", "hugo-martin", "jade-martin"] {
        let got = repo::bookings(store, &town_id(), &id(child), d("2000-01-01"), d("2100-12-31")).await.unwrap();
        all.extend(got.into_iter().filter(|b| b.family.as_str() == "martin"));
    }
    all
}

/// The Martins take their data with them: the JSON holds every booking they have (with its
/// history), their invoices and emails; the archive has the same as CSV files a spreadsheet
/// opens. The administrator closes the family: its future bookings are cancelled, the dry run
/// says what the erasure will do and changes nothing. A year later the erasure leaves no
/// personal field in the store; the invoices are kept, anonymised, amounts intact.
pub(super) async fn the_martins_export_everything_and_erasure_leaves_nothing_personal(store: Store) {
    let p = portal_on(store.clone()).await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.expect("Sophie");
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.expect("Claire");
    p.deliver().await;
    let export = p.get(&format!("/api/towns/{TOWN}/families/martin/export"), Some(&sophie)).await;
    assert_eq!(export.status, 200, "{:?}", export.json);
    let stored = martin_bookings(&store).await;
    assert!(!stored.is_empty());
    let exported = export.json["bookings"].as_array().unwrap();
    assert_eq!(exported.len(), stored.len(), "every booking");
    for b in &stored {
        let found = exported.iter().find(|x| {
            x["child"] == b.child.as_str() && x["unit"] == b.unit.as_str() && x["date"] == b.date.to_string()
        });
        assert_eq!(found.map(|x| x["history"].as_array().unwrap().len()), Some(b.history.len()), "{b:?}");
    }
    let invoices = export.json["invoices"].as_array().unwrap().clone();
    assert!(!invoices.is_empty(), "the demo's invoices");
    assert_eq!(export.json["children"].as_array().unwrap().len(), 3);
    assert!(export.json["accounts"].to_string().contains("sophie.martin@exemple.fr"));
    assert!(!export.json.to_string().contains("password_hash") && !export.json.to_string().contains("argon2"));
    let other = p.get(&format!("/api/towns/{TOWN}/families/martin/export"), Some(&claire)).await;
    assert_problem(&other, 404, "unknown_family");

    let archive =
        p.send("POST", &format!("/api/towns/{TOWN}/families/martin/export/archive"), None, &sophie, &[]).await;
    assert_eq!(archive.status, 201, "{:?}", archive.json);
    let bytes = reqwest::get(archive.json["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("reservations.csv").unwrap(), &mut csv).unwrap();
    assert_eq!(csv.lines().count(), stored.len() + 1, "a header and a row per booking");
    assert!(zip.by_name("donnees.json").is_ok() && zip.by_name("factures.csv").is_ok());

    // Closed by the administrator (not an agent).
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.expect("agent");
    let close_uri = format!("/api/towns/{TOWN}/staff/families/martin/close");
    assert_problem(&p.post(&close_uri, json!({}), Some(&agent)).await, 403, "forbidden");
    let admin = admin(&p).await;
    let closed = p.post(&close_uri, json!({}), Some(&admin)).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json);
    let erase_on = d(closed.json["closing"]["erase_on"].as_str().unwrap());
    assert_eq!(erase_on, d("2027-11-26"));
    let today = d("2026-11-26");
    let live_ahead = martin_bookings(&store)
        .await
        .into_iter()
        .filter(|b| b.date >= today && b.is_live() && b.attendance.is_none())
        .count();
    assert_eq!(live_ahead, 0, "no booking left from today on");
    let dry = p.get(&format!("/api/towns/{TOWN}/staff/families/martin/erasure"), Some(&admin)).await;
    assert_eq!(dry.status, 200, "{:?}", dry.json);
    assert_eq!(dry.json["accounts_deleted"], 2, "{:?}", dry.json);
    assert_eq!(dry.json["children_deleted"], 3);
    assert_eq!(dry.json["bookings_deleted"].as_u64(), Some(stored.len() as u64));
    assert!(dry.json["records_anonymised"].as_u64().unwrap() as usize >= invoices.len());
    assert_eq!(martin_bookings(&store).await.len(), stored.len(), "the dry run changes nothing");

    let family = repo::get_family(&store, &town_id(), &id("martin")).await.unwrap().unwrap();
    let mut children = Vec::new();
    for c in &family.children {
        children.push(repo::get_child(&store, &town_id(), c).await.unwrap().unwrap());
    }
    let texts = domain::privacy::personal_texts(&family, &children);
    // A holiday reminder the Martins were sent names them in its marker's key.
    let marker = store::Item::new(keys::holiday_reminder(&town_id(), "2027-02-08#alsh#ouverture", &id("martin")));
    store.put(marker, None).await.unwrap();
    // Not yet due: nothing happens.
    assert_eq!(
        documents::erase_due(&p.store_of("DocumentsPurgeFunction"), &p.files, p.clock.now(), None).await.unwrap(),
        0
    );
    let later: DateTime<Utc> = "2027-11-27T06:00:00Z".parse().unwrap();
    p.clock.set(later);
    assert_eq!(documents::erase_due(&p.store_of("DocumentsPurgeFunction"), &p.files, later, None).await.unwrap(), 1);
    assert_eq!(
        documents::erase_due(&p.store_of("DocumentsPurgeFunction"), &p.files, later, None).await.unwrap(),
        0,
        "once"
    );
    let left: Vec<_> = store
        .scan_all(later.timestamp())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| {
            let whole = json!({"pk": i.key.pk, "sk": i.key.sk, "gsi1": i.gsi1.as_ref().map(|g| format!("{}/{}", g.pk, g.sk)), "attrs": i.attrs});
            domain::privacy::mentions(&whole, &texts)
        })
        .map(|i| format!("{}/{}", i.key.pk, i.key.sk))
        .collect();
    assert!(left.is_empty(), "personal data left: {left:?}");
    let anonymous = domain::privacy::anonymous_ref(&town_id(), &id("martin"));
    let kept = store
        .query_all(&store::Query::table(
            keys::family_partition(&town_id(), &anonymous),
            store::SkRange::Prefix("INV#".into()),
        ))
        .await
        .unwrap();
    assert_eq!(kept.len(), invoices.len(), "the invoices are kept");
    let total = |v: &[Value]| v.iter().map(|i| i["total"].as_i64().unwrap()).sum::<i64>();
    let kept_values: Vec<Value> = kept.iter().map(|i| Value::Object(i.attrs.clone())).collect();
    assert_eq!(total(&kept_values), total(&invoices), "amounts intact");
    assert!(p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.is_err(), "the account is gone");
    p.stop().await;
}

/// The winter holidays' first day at the leisure centre (a manual unit), made one place with
/// its waiting list: staff refuse the request holding the place; the first waiting request is
/// offered it for the town's 48 hours (held, for staff to decide); left undecided, the offer
/// lapses at the sweep, the request is refused with the reason and the next one is offered.
pub(super) async fn an_offer_left_undecided_passes_to_the_next_request(store: Store) {
    let p = portal_on(store.clone()).await;
    let centre = "centre-les-tilleuls";
    let admin = admin(&p).await;
    edit_config(&p, &admin, |c| {
        for a in c["activities"].as_array_mut().unwrap() {
            for u in a["units"].as_array_mut().unwrap() {
                if u["id"] == "alsh-vacances" {
                    u["capacity"] = json!(1);
                }
            }
        }
    })
    .await;
    let towns = repo::Towns::new(store.clone(), std::time::Duration::from_secs(0));
    let town = towns.get(&town_id()).await.unwrap().unwrap();
    let winter = domain::operations::holiday_bookings(&town, town.today(p.clock.now()), 120)
        .into_iter()
        .find(|h| h.activity.as_str() == "alsh")
        .expect("holidays ahead");
    let day = winter.first + chrono::Days::new(3);
    let fams = families(&store, "offre", 3, &[("alsh", centre)]).await;
    // The first holds the place with a request; the two others wait, in order.
    let (f0, c0) = &fams[0];
    let slot = Slot {
        child: c0.id.clone(),
        family: f0.reference.clone(),
        activity: id("alsh"),
        site: id(centre),
        unit: id("alsh-vacances"),
        date: day,
    };
    let terms = Terms {
        status: BookingStatus::Pending,
        price: Cents::new(1200).unwrap(),
        late: false,
        waiting_list: false,
        rule: None,
    };
    let holding = Booking::book(
        None,
        slot,
        terms,
        Actor { by: "offre01@exemple.fr", role: ChangedBy::Guardian, at: p.clock.now() },
    );
    store
        .transact(vec![
            repo::booking_write(&town_id(), &holding, None).unwrap(),
            WriteOp::Add {
                key: keys::capacity(&town_id(), &holding.unit, &holding.site, day),
                attr: "taken".into(),
                by: 1,
                max: None,
            },
        ])
        .await
        .unwrap();
    let t0: DateTime<Utc> = "2026-11-25T08:00:00Z".parse().unwrap();
    for (i, (f, c)) in fams[1..].iter().enumerate() {
        book(&store, f, c, "alsh", centre, "alsh-vacances", day, Some(t0 + Duration::minutes(i as i64))).await;
    }
    let refuse = json!({"decisions": [{"child": c0.id, "unit": "alsh-vacances", "date": day, "accept": false, "reason": "Dossier incomplet"}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/requests/decisions"), refuse, Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let offered = booking(&store, &fams[1].1, "alsh-vacances", day).await;
    assert_eq!((offered.status, offered.waiting_list, offered.holds_place()), (BookingStatus::Pending, false, true));
    let until = offered.offer_until.expect("an offer's deadline");
    assert_eq!(until, p.clock.now() + Duration::hours(48));
    assert!(booking(&store, &fams[2].1, "alsh-vacances", day).await.is_waiting());
    assert_eq!(taken(&store, "alsh-vacances", centre, day).await, 1);

    let operations = p.store_of("OperationsFunction");

    let ctx = services::operations::Ctx { store: &operations, public_url: "http://portail.test" };
    assert_eq!(services::operations::sweep(ctx, &towns, until - Duration::minutes(1)).await.unwrap(), 0, "not due yet");
    p.clock.set(until + Duration::minutes(5));
    assert_eq!(services::operations::sweep(ctx, &towns, until + Duration::minutes(5)).await.unwrap(), 1);
    let lapsed = booking(&store, &fams[1].1, "alsh-vacances", day).await;
    assert_eq!(lapsed.status, BookingStatus::Refused);
    assert!(lapsed.refusal_reason.as_deref().unwrap().contains("pas été confirmée à temps"));
    let next = booking(&store, &fams[2].1, "alsh-vacances", day).await;
    assert_eq!((next.status, next.waiting_list), (BookingStatus::Pending, false), "offered in turn");
    assert!(next.offer_until.is_some());
    assert_eq!(taken(&store, "alsh-vacances", centre, day).await, 1, "never over the one place");
    let mails = p.deliver().await;
    assert_eq!(mails_with(&mails, "Liste d’attente\u{202f}: une place se libère").len(), 2);
    assert_eq!(mails_with(&mails, "Liste d’attente\u{202f}: demande non retenue").len(), 1);
    p.stop().await;
}

/// A family with more bookings than one transaction holds (45 over 15 closed days): all are
/// cancelled, in several transactions, and it gets one email listing them all.
pub(super) async fn a_closure_of_many_days_cancels_in_chunks_and_emails_once(store: Store) {
    let p = portal_on(store.clone()).await;
    let school = "ecole-jules-ferry";
    let fams = families(&store, "longue", 1, &[("restauration", school), ("periscolaire", school)]).await;
    let (f, c) = &fams[0];
    let days: Vec<NaiveDate> = d("2027-03-01")
        .iter_days()
        .filter(|x| chrono::Datelike::weekday(x).num_days_from_monday() < 5)
        .take(15)
        .collect();
    for day in &days {
        for (activity, unit) in
            [("restauration", "cantine"), ("periscolaire", "peri-matin"), ("periscolaire", "peri-soir")]
        {
            book(&store, f, c, activity, school, unit, *day, None).await;
        }
    }
    let admin = admin(&p).await;
    p.deliver().await;
    let saved = edit_config(&p, &admin, |cfg| {
        let list = cfg["closures"].as_array_mut().unwrap();
        for day in &days {
            list.push(json!({"date": day, "reason": "Travaux de la cantine"}));
        }
    })
    .await;
    assert_eq!(
        (saved["closed"]["cancelled"].as_u64(), saved["closed"]["families"].as_u64()),
        (Some(45), Some(1)),
        "{saved:?}"
    );
    for day in &days {
        assert_eq!(booking(&store, c, "peri-soir", *day).await.status, BookingStatus::Cancelled);
    }
    let mails = p.deliver().await;
    let sent = mails_with(&mails, "Fermeture\u{202f}: réservations annulées");
    assert_eq!(sent.len(), 1, "one email");
    assert_eq!(sent[0].content.text.matches("– Enfant01 –").count(), 45, "every day listed: {}", sent[0].content.text);
    p.stop().await;
}

crate::helpers::both_backends!(
    a_closure_of_many_days_cancels_in_chunks_and_emails_once,
    an_offer_left_undecided_passes_to_the_next_request,
    the_martins_export_everything_and_erasure_leaves_nothing_personal,
    holiday_reminders_go_once_to_families_who_booked_nothing_unless_turned_off,
    a_closure_a_crash_interrupted_is_finished_by_the_sweep,
    a_closure_cancels_forty_bookings_of_twelve_families,
    thirty_concurrent_cancellations_promote_the_first_thirty_in_order,
    a_sick_child_reported_at_7_30_is_on_the_8_00_register_and_a_certificate_in_time_unbills_it,
);
