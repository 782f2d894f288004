//! The staff back office: the requests queue and its decisions, attendance and its CSV, the
//! kitchen's counts, and every staff route refused to guardians and to another town's staff.
//! The demo (clock: Thursday 26 November 2026) has Hugo's holiday requests: Monday 21 December
//! pending, Wednesday 23 December a cancellation request.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

async fn agent(p: &TestPortal) -> Browser {
    p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap()
}

async fn cell(p: &TestPortal, b: &Browser, child: &str, activity: &str, unit: &str, date: &str) -> Value {
    let uri = format!("/api/towns/{TOWN}/calendar/children/{child}/weeks?activity={activity}&from={date}&weeks=1");
    let r = p.get(&uri, Some(b)).await;
    for row in r.json["weeks"][0]["rows"].as_array().unwrap() {
        if row["unit"] == unit {
            for c in row["cells"].as_array().unwrap() {
                if c["date"] == date {
                    return c.clone();
                }
            }
        }
    }
    panic!("no cell {unit} {date}: {:?}", r.json)
}

#[tokio::test]
async fn a_decision_changes_the_guardians_cell_and_sends_one_email_each() {
    let p = portal().await;
    let a = agent(&p).await;
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/requests?activity=alsh"), Some(&a)).await;
    assert_eq!(queue.status, 200, "{:?}", queue.json);
    let seen: Vec<(&str, &str, &str)> = queue
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["child"].as_str().unwrap(), r["date"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("hugo-martin", "2026-12-21", "pending"), ("hugo-martin", "2026-12-23", "cancel_requested")]);
    assert_eq!(queue.json[0]["first_name"], "Hugo");

    // A refusal needs a reason; one bad decision refuses the lot.
    let uri = format!("/api/towns/{TOWN}/staff/requests/decisions");
    let bad = json!({"decisions": [
        {"child": "hugo-martin", "unit": "alsh-vacances", "date": "2026-12-21", "accept": true},
        {"child": "hugo-martin", "unit": "alsh-vacances", "date": "2026-12-23", "accept": false}
    ]});
    let r = p.send("POST", &uri, Some(bad), &a, &[]).await;
    assert_problem(&r, 422, "decisions_refused");
    assert_eq!(r.json["decisions"][0]["index"], 1);
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    assert_eq!(cell(&p, &sophie, "hugo-martin", "alsh", "alsh-vacances", "2026-12-21").await["state"], "pending");

    let good = json!({"decisions": [
        {"child": "hugo-martin", "unit": "alsh-vacances", "date": "2026-12-21", "accept": true},
        {"child": "hugo-martin", "unit": "alsh-vacances", "date": "2026-12-23", "accept": false, "reason": "Le séjour est déjà payé."}
    ]});
    let r = p.send("POST", &uri, Some(good.clone()), &a, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json[0]["status"], "confirmed");
    assert_eq!(r.json[1]["status"], "confirmed", "a refused cancellation keeps the booking");
    assert_eq!(cell(&p, &sophie, "hugo-martin", "alsh", "alsh-vacances", "2026-12-21").await["state"], "confirmed");
    assert_eq!(cell(&p, &sophie, "hugo-martin", "alsh", "alsh-vacances", "2026-12-23").await["state"], "confirmed");
    let mails = p.deliver().await;
    let decisions: Vec<_> =
        mails.iter().filter(|m| m.content.subject.starts_with("Décision sur vos demandes")).collect();
    let mut to: Vec<&str> = decisions.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["julien.martin@exemple.fr", "sophie.martin@exemple.fr"], "one email per guardian");
    let text = &decisions[0].content.text;
    assert!(text.contains("Demandes validées") && text.contains("lundi 21/12/2026 – Hugo"), "{text}");
    assert!(text.contains("Le séjour est déjà payé."), "{text}");
    // Decided requests leave the queue; deciding again is refused.
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/requests?activity=alsh"), Some(&a)).await;
    assert_eq!(queue.json, json!([]));
    assert_problem(&p.send("POST", &uri, Some(good), &a, &[]).await, 422, "decisions_refused");
    p.stop().await;
}

#[tokio::test]
async fn a_refused_request_shows_its_reason_in_the_calendar() {
    let p = portal().await;
    let a = agent(&p).await;
    let uri = format!("/api/towns/{TOWN}/staff/requests/decisions");
    let refuse = json!({"decisions": [{"child": "hugo-martin", "unit": "alsh-vacances", "date": "2026-12-21", "accept": false, "reason": "Complet pour son âge."}]});
    assert_eq!(p.send("POST", &uri, Some(refuse), &a, &[]).await.status, 200);
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let c = cell(&p, &sophie, "hugo-martin", "alsh", "alsh-vacances", "2026-12-21").await;
    assert_eq!((c["state"].as_str(), c["reason"].as_str()), (Some("refused"), Some("Complet pour son âge.")));
    p.stop().await;
}

#[tokio::test]
async fn the_kitchen_counts_equal_the_bookings_of_the_week() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    // More bookings that week (Monday 7 December): three children at the canteen.
    let lines: Vec<Value> = ["lea-martin", "hugo-martin", "jade-martin"]
        .iter()
        .flat_map(|c| {
            ["2026-12-07", "2026-12-08", "2026-12-10"]
                .map(|d| json!({"child": c, "unit": "cantine", "date": d, "action": "add"}))
        })
        .collect();
    let martin = format!("/api/towns/{TOWN}/families/martin");
    assert_eq!(
        p.send("POST", &format!("{martin}/basket/lines"), Some(json!({"lines": lines})), &sophie, &[]).await.status,
        200
    );
    let rev = p.get(&format!("{martin}/basket"), Some(&sophie)).await.json["revision"].clone();
    let v = p
        .send(
            "POST",
            &format!("{martin}/basket/validate"),
            Some(json!({"basket_revision": rev})),
            &sophie,
            &[("idempotency-key", "kitchen-test-key-0001")],
        )
        .await;
    assert_eq!(v.status, 200, "{:?}", v.json);

    let a = agent(&p).await;
    for week in ["2026-11-30", "2026-12-07"] {
        let k = p.get(&format!("/api/towns/{TOWN}/staff/kitchen?week={week}"), Some(&a)).await;
        assert_eq!(k.status, 200, "{:?}", k.json);
        // The same figures from every family's own bookings (a shared child counted once).
        let monday = chrono::NaiveDate::parse_from_str(week, "%Y-%m-%d").unwrap();
        let friday = monday + chrono::Days::new(4);
        let mut expected: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for family in ["martin", "bernard", "petit", "nguyen"] {
            let uri = format!("/api/towns/{TOWN}/families/{family}/bookings?from={monday}&to={friday}");
            for b in p.get(&uri, Some(&a)).await.json.as_array().unwrap() {
                let holds = matches!(b["status"].as_str(), Some("confirmed" | "cancel_requested"))
                    || (b["status"] == "pending" && b["waiting_list"] == false);
                if holds {
                    let key = (b["date"].as_str().unwrap().to_owned(), b["unit"].as_str().unwrap().to_owned());
                    expected.entry(key).or_default().insert(b["child"].as_str().unwrap().to_owned());
                }
            }
        }
        let mut counted = BTreeMap::new();
        for day in k.json.as_array().unwrap() {
            for c in day["counts"].as_array().unwrap() {
                counted.insert(
                    (day["date"].as_str().unwrap().to_owned(), c["unit"].as_str().unwrap().to_owned()),
                    c["count"].as_u64().unwrap() as usize,
                );
            }
        }
        let expected: BTreeMap<_, _> = expected.into_iter().map(|(k, v)| (k, v.len())).collect();
        assert!(!expected.is_empty());
        assert_eq!(counted, expected, "week of {week}");
    }
    let k = p.get(&format!("/api/towns/{TOWN}/staff/kitchen?week=2026-12-09"), Some(&a)).await;
    let monday = &k.json[0]["counts"];
    assert_eq!(monday[0]["unit"], "cantine");
    assert_eq!(monday[0]["count"], 3, "three children at the canteen on Monday 7 December");
    // Among them Hugo, whose record says PAI; no meal without pork nor vegetarian.
    assert_eq!(
        (&monday[0]["pai"], &monday[0]["sans_porc"], &monday[0]["vegetarien"]),
        (&json!(1), &json!(0), &json!(0))
    );
    p.stop().await;
}

#[tokio::test]
async fn attendance_lists_marks_and_exports_as_a_french_spreadsheet() {
    let p = portal().await;
    let a = agent(&p).await;
    // Last week in the demo: Léa at the canteen on Monday, present.
    let r = p.get(&format!("/api/towns/{TOWN}/staff/attendance?date=2026-11-16&unit=cantine"), Some(&a)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json[0]["first_name"], "Léa");
    assert_eq!(r.json[0]["attendance"], "present");
    // Today nobody is booked: marking Noé absent is refused; Jade and Hugo came without a booking.
    let uri = format!("/api/towns/{TOWN}/staff/attendance");
    let bad =
        json!({"date": "2026-11-26", "unit": "cantine", "marks": [{"child": "noe-bernard-petit", "mark": "absent"}]});
    let r = p.send("POST", &uri, Some(bad), &a, &[]).await;
    assert_problem(&r, 422, "marks_refused");
    let future =
        json!({"date": "2026-12-07", "unit": "cantine", "marks": [{"child": "jade-martin", "mark": "present"}]});
    assert_problem(&p.send("POST", &uri, Some(future), &a, &[]).await, 422, "future_date");
    let marks = json!({"date": "2026-11-26", "unit": "cantine", "marks": [
        {"child": "jade-martin", "mark": "present_unbooked"},
        {"child": "hugo-martin", "mark": "present_unbooked"}
    ]});
    let r = p.send("POST", &uri, Some(marks), &a, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let names: Vec<&str> = r.json.as_array().unwrap().iter().map(|x| x["first_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Hugo", "Jade"]);
    assert_eq!(r.json[0]["health_notes"], "Allergie à l'arachide (PAI)");
    assert_eq!(r.json[0]["late"], true);
    // The late addition is priced with the late rule and in the family's history.
    let h = p
        .get(
            &format!("/api/towns/{TOWN}/families/martin/bookings?from=2026-11-26&to=2026-11-26&child=jade-martin"),
            Some(&a),
        )
        .await;
    assert_eq!(
        (h.json[0]["price"].clone(), h.json[0]["late"].clone(), h.json[0]["attendance"].clone()),
        (json!(350), json!(true), json!("present"))
    );

    let csv =
        crate::helpers::raw_get(&p.router, &format!("{uri}?date=2026-11-26&unit=cantine&format=csv"), &a.cookie).await;
    assert_eq!(&csv.0[..3], b"\xEF\xBB\xBF", "UTF-8 with BOM");
    assert!(csv.1.starts_with("text/csv"));
    let text = String::from_utf8(csv.0[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Nom;Prénom;Classe;Santé et régime;Réservation;Présence");
    assert_eq!(lines[1], "Martin;Hugo;CE1;Allergie à l'arachide (PAI);réservé (hors délai);présent");
    assert_eq!(lines.len(), 3);
    p.stop().await;
}

#[tokio::test]
async fn every_staff_route_refuses_guardians_and_another_towns_staff() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let town_b = crate::helpers::other_town_admin(&p).await;

    let ops = crate::openapi::operations(towns::OPENAPI);
    let staff_ops: Vec<_> = ops.iter().filter(|(_, path)| path.starts_with("/api/towns/{town}/staff/")).collect();
    assert!(staff_ops.len() >= 11, "{staff_ops:?}");
    for (method, path) in staff_ops {
        let uri = path
            .replace("{town}", TOWN)
            .replace("{family}", "martin")
            .replace("{child}", "lea-martin")
            .replace("{id}", "inconnue");
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let r = p.send(method, &uri, body.clone(), &sophie, &[]).await;
        assert_problem(&r, 403, "forbidden");
        let r = p.send(method, &uri, body, &town_b, &[]).await;
        assert_problem(&r, 401, "unauthenticated");
    }
    p.stop().await;
}

#[tokio::test]
async fn the_administrator_changes_prices_for_the_future_and_cannot_rewrite_the_past() {
    let p = portal().await;
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let a = agent(&p).await;
    let current = p.get(&uri, Some(&a)).await;
    assert_eq!(current.status, 200, "{:?}", current.json);
    assert_eq!(current.json["today"], "2026-11-26", "the town's today, for the forms");
    let version = current.json["version"].clone();
    let mut config = current.json["config"].clone();
    // The canteen's bracket of the Martins (QF 850): 2,50 € → 2,60 €.
    let cantine = config["activities"][0]["units"][0].clone();
    assert_eq!(cantine["id"], "cantine");
    config["activities"][0]["units"][0]["price"]["qf_brackets"][1]["price"] = json!(260);
    let body = json!({"version": version, "config": config});
    assert_problem(&p.send("PUT", &uri, Some(body.clone()), &a, &[]).await, 403, "forbidden");
    let m = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let r = p.send("PUT", &uri, Some(body.clone()), &m, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["version"], version.as_u64().unwrap() + 1);
    // New bookings at the new price; the booking already made keeps its own.
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    assert_eq!(cell(&p, &sophie, "lea-martin", "restauration", "cantine", "2026-12-07").await["action"]["price"], 260);
    assert_eq!(cell(&p, &sophie, "lea-martin", "restauration", "cantine", "2026-11-30").await["price"], 250);
    // The same version again: someone changed it meanwhile.
    assert_problem(&p.send("PUT", &uri, Some(body), &m, &[]).await, 409, "config_changed");

    let fresh = p.get(&uri, Some(&m)).await;
    let v = fresh.json["version"].clone();
    let base = fresh.json["config"].clone();
    let mut no_unit = base.clone();
    no_unit["activities"][0]["units"] = json!([]);
    let mut past_closure = base.clone();
    past_closure["closures"] = json!([{"date": "2026-11-02", "reason": "Rattrapage"}]);
    let mut bad_price = base.clone();
    bad_price["activities"][0]["units"][0]["price"]["base"] = json!(-5);
    let mut bad_deadline = base.clone();
    bad_deadline["activities"][1]["units"][0]["add_deadline"]["unit"] = json!("lunes");
    for (config, code, field) in [
        (no_unit, "invalid_configuration", "config.activities"),
        (past_closure, "invalid_configuration", "config.closures"),
        (bad_price, "invalid_body", "config.activities[0].units[0].price.base"),
        (bad_deadline, "invalid_body", "config.activities[1].units[0].add_deadline.unit"),
    ] {
        let r = p.send("PUT", &uri, Some(json!({"version": v, "config": config})), &m, &[]).await;
        assert_problem(&r, 422, code);
        assert_eq!(r.json["field"], field, "{:?}", r.json);
    }
    assert_eq!(p.get(&uri, Some(&m)).await.json["version"], v, "nothing changed");
    let log = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&m)).await;
    assert_eq!(log.json["entries"][0]["action"], "config.update");
    p.stop().await;
}

#[tokio::test]
async fn staff_find_a_family_by_any_name_without_minding_accents() {
    let p = portal().await;
    let a = agent(&p).await;
    let search = |q: &str| format!("/api/towns/{TOWN}/staff/families?q={q}");
    let refs = |r: &crate::helpers::Reply| -> Vec<String> {
        r.json.as_array().unwrap().iter().map(|f| f["reference"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(refs(&p.get(&search("lea"), Some(&a)).await), ["martin"]);
    assert_eq!(refs(&p.get(&search("NOE"), Some(&a)).await), ["bernard", "petit"]);
    assert_eq!(refs(&p.get(&search("julien.martin@exemple.fr"), Some(&a)).await), ["martin"]);
    assert_eq!(refs(&p.get(&search("martin%20hugo"), Some(&a)).await), ["martin"]);
    assert_eq!(p.get(&search("personne"), Some(&a)).await.json, json!([]));
    assert_problem(&p.get(&search("x"), Some(&a)).await, 400, "invalid_search");
    let hit = p.get(&search("nguyen"), Some(&a)).await;
    assert_eq!(hit.json[0]["children"][0]["first_name"], "Emma");
    // Linh Nguyen has not activated (a new link makes sense), Sophie Martin has.
    assert_eq!(hit.json[0]["guardians"][0]["activated"], false);
    assert_eq!(p.get(&search("sophie"), Some(&a)).await.json[0]["guardians"][0]["activated"], true);
    p.stop().await;
}

#[tokio::test]
async fn staff_correct_a_child_and_a_family_once_and_only_with_valid_data() {
    let p = portal().await;
    let a = agent(&p).await;
    let records = format!("/api/towns/{TOWN}/staff/families/martin");
    let child_uri = format!("/api/towns/{TOWN}/staff/children/lea-martin");
    let read = p.get(&records, Some(&a)).await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!(read.json["family"]["quotient_familial"], 850);
    let lea = read.json["children"].as_array().unwrap().iter().find(|c| c["id"] == "lea-martin").unwrap().clone();
    assert_eq!(lea["enrolments"].as_array().unwrap().len(), 3);
    let etag = lea["etag"].clone();
    let edit = |changes: Value| {
        let mut body = lea.clone();
        body.as_object_mut().unwrap().remove("id");
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // Bad input: a clear 4xx naming the field, and nothing changed.
    let not_at_this_site =
        json!([{"activity": "alsh", "site": "ecole-jules-ferry", "from": "2026-12-01", "to": "2027-07-02"}]);
    for (body, status, code, field) in [
        (edit(json!({"first_name": "  "})), 422, "invalid_record", "first_name"),
        (edit(json!({"birth_date": "2027-01-01"})), 422, "invalid_record", "birth_date"),
        (edit(json!({"enrolments": not_at_this_site})), 422, "invalid_record", "enrolments[0]"),
        (edit(json!({"health_notes": "x".repeat(1001)})), 422, "invalid_record", "health_notes"),
        (edit(json!({"pointure": 32})), 422, "invalid_body", ""),
        (edit(json!({"diet": "halal"})), 422, "invalid_body", "diet"),
        (edit(json!({"birth_date": "14/03/2016"})), 422, "invalid_body", "birth_date"),
    ] {
        let r = p.send("PUT", &child_uri, Some(body), &a, &[]).await;
        assert_problem(&r, status, code);
        if !field.is_empty() {
            assert_eq!(r.json["field"], field, "{:?}", r.json);
        }
    }
    let r = p.send("PUT", &format!("/api/towns/{TOWN}/staff/children/personne"), Some(edit(json!({}))), &a, &[]).await;
    assert_problem(&r, 404, "unknown_child");
    // Léa's canteen bookings to come keep the canteen enrolment.
    let enrolments = lea["enrolments"].as_array().unwrap().clone();
    let without_canteen: Vec<Value> = enrolments.iter().filter(|e| e["activity"] != "restauration").cloned().collect();
    let r = p.send("PUT", &child_uri, Some(edit(json!({"enrolments": without_canteen}))), &a, &[]).await;
    assert_problem(&r, 409, "bookings_outside_enrolments");
    assert_eq!(p.get(&records, Some(&a)).await.json, read.json, "nothing changed");

    // A real correction: notes, class, and an evening care enrolment from December.
    let mut more = enrolments.clone();
    more.push(json!({"activity": "periscolaire", "site": "ecole-jules-ferry", "units": ["peri-soir"], "from": "2026-12-01", "to": "2027-07-02"}));
    let body = edit(json!({"class": "CM1", "health_notes": " Sans porc ", "diet": "sans_porc", "enrolments": more}));
    let r = p.send("PUT", &child_uri, Some(body.clone()), &a, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["health_notes"], "Sans porc");
    assert_eq!((r.json["diet"].as_str(), r.json.get("pai")), (Some("sans_porc"), None));
    assert_ne!(r.json["etag"], etag);
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let soir = cell(&p, &sophie, "lea-martin", "periscolaire", "peri-soir", "2026-12-07").await;
    assert!(soir["action"].is_object(), "bookable now: {soir:?}");
    // The same etag again: someone changed the record meanwhile.
    let r = p.send("PUT", &child_uri, Some(body), &a, &[]).await;
    assert_problem(&r, 409, "record_changed");

    // The family: quotient familial (prices follow) and a guardian's name and phone.
    let family = p.get(&records, Some(&a)).await.json["family"].clone();
    let mut guardians = family["guardians"].clone();
    guardians[0]["last_name"] = json!("Martin-Durand");
    guardians[0]["phone"] = json!("06 12 34 56 78");
    let update = json!({"etag": family["etag"], "name": family["name"], "resident": true, "quotient_familial": 1200, "guardians": guardians});
    let mut swapped = update.clone();
    swapped["guardians"][0]["email"] = json!("autre@exemple.fr");
    let mut huge = update.clone();
    huge["quotient_familial"] = json!(1_000_000);
    for (body, field) in [(swapped, "guardians"), (huge, "quotient_familial")] {
        let r = p.send("PUT", &records, Some(body), &a, &[]).await;
        assert_problem(&r, 422, "invalid_record");
        assert_eq!(r.json["field"], field);
    }
    let r = p.send("PUT", &records, Some(update.clone()), &a, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["guardians"][0]["phone"], "06 12 34 56 78");
    assert_problem(&p.send("PUT", &records, Some(update), &a, &[]).await, 409, "record_changed");
    assert_eq!(cell(&p, &sophie, "lea-martin", "restauration", "cantine", "2026-12-07").await["action"]["price"], 380);
    let who = guardians[0]["email"].as_str().unwrap();
    let account = edge::auth::accounts::get_account(
        &p.store,
        &domain::TownId::parse(TOWN).unwrap(),
        &domain::family::Email::parse(who).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(account.last_name, "Martin-Durand");

    // Both corrections are in the audit trail, with what they changed.
    let m = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let log = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&m)).await;
    let entries = log.json["entries"].as_array().unwrap();
    let child = entries.iter().find(|e| e["action"] == "child.update").expect("child.update");
    assert_eq!(child["target"], "child/lea-martin");
    assert_eq!(child["by"], "agent@villeneuve-les-tilleuls.fr");
    assert_eq!((child["before"]["class"].clone(), child["after"]["class"].clone()), (json!("CM2"), json!("CM1")));
    let fam = entries.iter().find(|e| e["action"] == "family.update").expect("family.update");
    assert_eq!(
        (fam["before"]["quotient_familial"].clone(), fam["after"]["quotient_familial"].clone()),
        (json!(850), json!(1200))
    );
    p.stop().await;
}
