//! The school year end to end, on both stores: the administrator opens the 2027-2028 campaign
//! (the demo's, ready to open), the Martins answer it step by step, staff follow it on the
//! dashboard (JSON, filtered, CSV), the rollover's dry run and run (twice: once), and the new
//! year's bookings open or stay closed with the reason. Every staff route is refused to
//! guardians and to another town; bad input is a 4xx naming the field and writes nothing.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, both_backends, portal_on};
use serde_json::{Value, json};
use store::Store;

both_backends!(
    a_campaign_goes_from_its_opening_to_the_new_years_bookings,
    staff_routes_are_refused_to_guardians_and_other_towns,
    bad_input_names_the_field_and_writes_nothing,
);

const YEAR: &str = "2027-2028";

fn staff_uri(path: &str) -> String {
    format!("/api/towns/{TOWN}/staff/school-years/{path}")
}

fn family_uri() -> String {
    format!("/api/towns/{TOWN}/families/martin/enrolments/{YEAR}")
}

fn campaign() -> Value {
    serde_json::from_str(local_portal::DEMO_CAMPAIGN).unwrap()
}

async fn as_user(p: &TestPortal, email: &str) -> Browser {
    p.login(TOWN, email, local_portal::DEMO_PASSWORD).await.unwrap()
}

async fn admin(p: &TestPortal) -> Browser {
    as_user(p, "mairie@villeneuve-les-tilleuls.fr").await
}

async fn open_campaign(p: &TestPortal, admin: &Browser) {
    let r = p.send("PUT", &staff_uri(&format!("{YEAR}/campaign")), Some(campaign()), admin, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

fn answers(with_rules: bool, submit: bool) -> Value {
    let mut v = json!({
        "children": [
            {"child": "lea-martin", "confirmed": true, "activities": ["alsh"]},
            {"child": "hugo-martin", "confirmed": true, "activities": ["restauration", "alsh"]},
            {"child": "jade-martin", "confirmed": true, "activities": ["etude"]}
        ],
        "submit": submit
    });
    if with_rules {
        v["accept_rules"] = json!("2027-2028 v1");
    }
    v
}

fn row<'a>(dashboard: &'a Value, child: &str) -> &'a Value {
    dashboard["rows"].as_array().unwrap().iter().find(|r| r["child"] == child).unwrap()
}

/// The state of Hugo's canteen cell on the first Monday of the new year, and its reason.
async fn september_cell(p: &TestPortal, sophie: &Browser, child: &str, activity: &str) -> Value {
    let uri = format!("/api/towns/{TOWN}/calendar/children/{child}/month?month=2027-09&activity={activity}");
    let r = p.get(&uri, Some(sophie)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    find_cell(&r.json, "2027-09-06").unwrap_or_else(|| panic!("no cell for 6 September: {}", r.json))
}

fn find_cell(v: &Value, date: &str) -> Option<Value> {
    match v {
        Value::Object(m) if m.get("date").and_then(Value::as_str) == Some(date) && m.contains_key("state") => {
            Some(v.clone())
        }
        Value::Object(m) => m.values().find_map(|x| find_cell(x, date)),
        Value::Array(a) => a.iter().find_map(|x| find_cell(x, date)),
        _ => None,
    }
}

async fn a_campaign_goes_from_its_opening_to_the_new_years_bookings(store: Store) {
    let p = portal_on(store).await;
    let admin = admin(&p).await;
    open_campaign(&p, &admin).await;
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;

    // Before the opening day: nothing to do on the home page.
    let home = format!("/api/towns/{TOWN}/families/martin/enrolments");
    assert_eq!(p.get(&home, Some(&sophie)).await.json, json!([]));
    p.clock.set("2027-06-01T08:00:00Z".parse().unwrap());
    // (Sessions do not outlive months: each jump of the clock logs in again.)
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;
    let open = p.get(&home, Some(&sophie)).await;
    assert_eq!(open.json[0]["label"], "Inscriptions 2027-2028\u{202f}: à compléter");

    // Step by step: the children confirmed (kept), then the rules and the sending.
    let first = p.send("PUT", &family_uri(), Some(answers(false, false)), &sophie, &[]).await;
    assert_eq!((first.status, first.json["step"].as_str()), (200, Some("rules")), "{:?}", first.json);
    let resumed = p.get(&family_uri(), Some(&sophie)).await;
    assert_eq!(resumed.json["step"], "rules");
    assert_eq!(resumed.json["enrolment"]["children"][1]["activities"], json!(["restauration", "alsh"]));
    let sent = p.send("PUT", &family_uri(), Some(answers(true, true)), &sophie, &[]).await;
    assert_eq!(sent.json["step"], "done", "{:?}", sent.json);
    assert_eq!(p.get(&home, Some(&sophie)).await.json[0]["label"], "Inscriptions 2027-2028\u{202f}: envoyé");

    // The dashboard: Hugo's insurance is missing, Jade's study needs nothing.
    let agent = as_user(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let board = p.get(&staff_uri(&format!("{YEAR}/dashboard")), Some(&agent)).await;
    assert_eq!(board.status, 200, "{:?}", board.json);
    assert_eq!(row(&board.json, "hugo-martin")["status"], "waiting_for_document");
    assert_eq!(row(&board.json, "hugo-martin")["missing"], json!(["attestation d’assurance manquante"]));
    assert_eq!(row(&board.json, "jade-martin")["status"], "complete");
    let complete = p.get(&staff_uri(&format!("{YEAR}/dashboard?status=complete")), Some(&agent)).await;
    let children: Vec<&str> =
        complete.json["rows"].as_array().unwrap().iter().map(|r| r["child"].as_str().unwrap()).collect();
    assert_eq!(children, ["jade-martin"]);
    let (bytes, _) =
        crate::helpers::raw_get(&p.router, &staff_uri(&format!("{YEAR}/dashboard?format=csv")), &agent.cookie).await;
    let text = String::from_utf8_lossy(&bytes).to_string();
    assert!(text.contains("martin;Famille Martin;hugo-martin;Hugo;Martin;CE1;en attente d’un document;attestation d’assurance manquante"), "{text}");

    // Staff ask for a correction (audited); the family sees it, sends again, and it is gone.
    let ask = staff_uri(&format!("{YEAR}/families/martin/corrections"));
    let empty = p.send("POST", &ask, Some(json!({"reason": "  "})), &agent, &[]).await;
    assert_eq!((empty.status, empty.json["field"].as_str()), (422, Some("reason")));
    let asked = p.send("POST", &ask, Some(json!({"reason": "Précisez l’allergie de Hugo."})), &agent, &[]).await;
    assert_eq!(asked.status, 200, "{:?}", asked.json);
    let board = p.get(&staff_uri(&format!("{YEAR}/dashboard?status=corrections_asked")), Some(&agent)).await;
    assert_eq!(board.json["rows"].as_array().unwrap().len(), 3);
    let seen = p.get(&family_uri(), Some(&sophie)).await;
    assert_eq!(seen.json["enrolment"]["corrections"]["reason"], "Précisez l’allergie de Hugo.");
    assert_eq!(seen.json["step"], "submit");
    let again = p.send("PUT", &family_uri(), Some(answers(false, true)), &sophie, &[]).await;
    assert_eq!((again.status, again.json["step"].as_str()), (200, Some("done")), "{:?}", again.json);
    let trail = store::audit::page(&p.store, &domain::TownId::parse(TOWN).unwrap(), 50, None).await.unwrap().0;
    assert!(trail.iter().any(|e| e.action == "enrolment.corrections" && e.target == "enrolment/2027-2028/martin"));

    // The rollover: not before its day; the dry run lists; the run moves everyone once.
    let rollover = staff_uri("2026-2027/rollover");
    let admin = as_user(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    assert_problem(&p.send("POST", &rollover, None, &admin, &[]).await, 409, "rollover_too_early");
    p.clock.set("2027-07-16T08:00:00Z".parse().unwrap());
    let admin = as_user(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let dry = p.get(&rollover, Some(&admin)).await;
    assert_eq!(dry.status, 200, "{:?}", dry.json);
    let martin = dry.json["families"].as_array().unwrap().iter().find(|f| f["family"] == "martin").unwrap().clone();
    let lea = martin["children"].as_array().unwrap().iter().find(|c| c["child"] == "lea-martin").unwrap();
    assert_eq!(lea["level"], json!({"change": "leaves", "from": "CM2"}));
    let hugo = martin["children"].as_array().unwrap().iter().find(|c| c["child"] == "hugo-martin").unwrap();
    assert_eq!(hugo["level"], json!({"change": "moves", "from": "CE1", "to": "CE2"}));
    assert_eq!(hugo["started"], json!(["restauration", "alsh"]));
    let before_run = store::repo::get_child(
        &p.store,
        &domain::TownId::parse(TOWN).unwrap(),
        &domain::ChildId::parse("hugo-martin").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(before_run.level.unwrap().level, domain::school_year::Level::CE1, "the dry run writes nothing");

    let run = p.send("POST", &rollover, None, &admin, &[]).await;
    assert_eq!(run.status, 200, "{:?}", run.json);
    assert!(run.json["finished_at"].is_string());
    let town = domain::TownId::parse(TOWN).unwrap();
    let after_once = store::repo::all_children(&p.store, &town).await.unwrap();
    let again = p.send("POST", &rollover, None, &admin, &[]).await;
    assert_eq!(again.json, run.json, "a finished run answers its totals");
    assert_eq!(store::repo::all_children(&p.store, &town).await.unwrap(), after_once, "twice is once");
    let hugo = after_once.iter().find(|c| c.id.as_str() == "hugo-martin").unwrap();
    assert_eq!(hugo.level.unwrap().level, domain::school_year::Level::CE2);
    let lea = after_once.iter().find(|c| c.id.as_str() == "lea-martin").unwrap();
    assert_eq!(lea.level, None, "after CM2, Léa leaves the school units");
    let trail = store::audit::page(&p.store, &town, 50, None).await.unwrap().0;
    assert!(trail.iter().any(|e| e.action == "rollover.finish"), "audited");

    // The new year's bookings: Hugo's canteen waits for his insurance, Jade is not enrolled
    // at the canteen, Hugo's leisure centre needs the insurance too.
    p.clock.set("2027-08-20T08:00:00Z".parse().unwrap());
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;
    let cell = september_cell(&p, &sophie, "hugo-martin", "restauration").await;
    assert_eq!(cell["state"], "not_offered", "{cell}");
    assert_eq!(cell["reason"], "file_incomplete", "{cell}");
    assert_eq!(cell["detail"], "Dossier 2027-2028 incomplet\u{202f}: attestation d’assurance manquante", "{cell}");
    let jade = september_cell(&p, &sophie, "jade-martin", "restauration").await;
    assert_eq!(jade["reason"], "not_enrolled", "{jade}");

    // Hugo's insurance sent, then accepted by the agent: his September canteen opens at once,
    // without waiting for the family's next step.
    let pdf = crate::documents::pdf();
    let body = json!({"kind": "assurance", "child": "hugo-martin", "file_name": "Assurance Hugo.pdf",
        "content_type": "application/pdf", "size": pdf.len()});
    let doc = crate::documents::send_file(&p, &sophie, "martin", body, pdf).await;
    let waiting = september_cell(&p, &sophie, "hugo-martin", "restauration").await;
    assert_eq!(waiting["reason"], "file_incomplete", "not before staff accept it: {waiting}");
    let agent = as_user(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let decision = format!("/api/towns/{TOWN}/staff/documents/martin/{}/decision", doc["id"].as_str().unwrap());
    let accepted = p.send("POST", &decision, Some(json!({"decision": "accept"})), &agent, &[]).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    let open = september_cell(&p, &sophie, "hugo-martin", "restauration").await;
    assert_eq!(open["state"], "bookable", "{open}");
    p.stop().await;
}

async fn staff_routes_are_refused_to_guardians_and_other_towns(store: Store) {
    let p = portal_on(store).await;
    let admin = admin(&p).await;
    open_campaign(&p, &admin).await;
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;
    let agent = as_user(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let town_b = crate::helpers::other_town_admin(&p).await;
    let routes: [(&str, String, Option<Value>); 6] = [
        ("GET", staff_uri(&format!("{YEAR}/campaign")), None),
        ("PUT", staff_uri(&format!("{YEAR}/campaign")), Some(campaign())),
        ("GET", staff_uri(&format!("{YEAR}/dashboard")), None),
        ("POST", staff_uri(&format!("{YEAR}/families/martin/corrections")), Some(json!({"reason": "Pièce illisible"}))),
        ("GET", staff_uri("2026-2027/rollover"), None),
        ("POST", staff_uri("2026-2027/rollover"), None),
    ];
    for (method, uri, body) in &routes {
        assert_problem(&p.send(method, uri, body.clone(), &sophie, &[]).await, 403, "forbidden");
        assert_problem(&p.send(method, uri, body.clone(), &town_b, &[]).await, 401, "unauthenticated");
    }
    // The administrator's routes are refused to an agent.
    for (method, uri, body) in [&routes[1], &routes[4], &routes[5]] {
        assert_problem(&p.send(method, uri, body.clone(), &agent, &[]).await, 403, "forbidden");
    }
    // A family's enrolment is its own: another family's is unknown, staff use their routes.
    let claire = as_user(&p, "claire.bernard@exemple.fr").await;
    assert_problem(&p.get(&family_uri(), Some(&claire)).await, 404, "unknown_family");
    assert_problem(
        &p.send("PUT", &family_uri(), Some(answers(false, false)), &claire, &[]).await,
        404,
        "unknown_family",
    );
    assert_problem(&p.get(&family_uri(), Some(&agent)).await, 403, "staff_use_staff_routes");
    p.stop().await;
}

async fn bad_input_names_the_field_and_writes_nothing(store: Store) {
    let p = portal_on(store).await;
    let admin = admin(&p).await;
    let town = domain::TownId::parse(TOWN).unwrap();
    let year = domain::school_year::SchoolYear::parse(YEAR).unwrap();
    let bad: [(&str, Value, u16, &str); 5] = [
        ("offers[0].activity", json!({"activity": "piscine"}), 422, "unknown_activity"),
        ("closes_on", json!("2026-01-01"), 422, "invalid_campaign_dates"),
        ("rules_version", json!(""), 422, "invalid_rules_version"),
        ("rollover_on", json!("2027-10-01"), 422, "invalid_rollover_day"),
        ("reminders", json!(["2028-01-01"]), 422, "invalid_reminders"),
    ];
    for (field, value, status, code) in bad {
        let mut c = campaign();
        match field {
            "offers[0].activity" => c["offers"][0] = value,
            f => c[f] = value,
        }
        let r = p.send("PUT", &staff_uri(&format!("{YEAR}/campaign")), Some(c), &admin, &[]).await;
        assert_problem(&r, status, code);
        assert_eq!(r.json["field"], field, "{:?}", r.json);
    }
    let r = p.send("PUT", &staff_uri("2027-2029/campaign"), Some(campaign()), &admin, &[]).await;
    assert_problem(&r, 400, "invalid_school_year");
    assert!(schoolyear::get_campaign(&p.store, &town, year).await.unwrap().is_none(), "nothing written");

    open_campaign(&p, &admin).await;
    p.clock.set("2027-06-01T08:00:00Z".parse().unwrap());
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;
    let admin = as_user(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let mut wrong = answers(true, false);
    wrong["children"][1]["activities"] = json!(["restauration", "piscine"]);
    let r = p.send("PUT", &family_uri(), Some(wrong), &sophie, &[]).await;
    assert_problem(&r, 422, "activity_not_offered");
    assert_eq!(r.json["field"], "children[1].activities[1]");
    let r = p.send("PUT", &family_uri(), Some(json!({"children": [], "accept_rules": "v0"})), &sophie, &[]).await;
    assert_eq!((r.status, r.json["field"].as_str()), (422, Some("accept_rules")));
    let r = p.send("PUT", &family_uri(), Some(json!({"children": [], "submit": true})), &sophie, &[]).await;
    assert_eq!((r.status, r.json["field"].as_str()), (422, Some("submit")));
    let family = domain::FamilyRef::parse("martin").unwrap();
    assert!(schoolyear::get_enrolment(&p.store, &town, &family, year).await.unwrap().is_none(), "nothing written");
    let board = staff_uri(&format!("{YEAR}/dashboard?cursor=nimporte"));
    assert_problem(&p.get(&board, Some(&admin)).await, 400, "invalid_cursor");
    let board = staff_uri(&format!("{YEAR}/dashboard?status=joyeux"));
    assert_problem(&p.get(&board, Some(&admin)).await, 400, "invalid_query");
    p.stop().await;
}

/// The reminders on the town's days: to the families whose enrolment needs action, whatever
/// their reminders setting, never twice a day; not to a family whose enrolment is complete.
#[tokio::test]
async fn reminders_go_on_the_towns_days_once_a_day_to_families_with_something_to_do() {
    let p = crate::helpers::portal().await;
    let admin = admin(&p).await;
    open_campaign(&p, &admin).await;
    let town = store::repo::Towns::new(p.store.clone(), std::time::Duration::from_secs(1))
        .get(&domain::TownId::parse(TOWN).unwrap())
        .await
        .unwrap()
        .unwrap();
    p.clock.set("2027-06-07T07:00:00Z".parse().unwrap());
    let sophie = as_user(&p, "sophie.martin@exemple.fr").await;
    let mut jade_only = answers(true, true);
    jade_only["children"][1]["activities"] = json!(["etude"]);
    jade_only["children"][0]["activities"] = json!([]);
    assert_eq!(p.send("PUT", &family_uri(), Some(jade_only), &sophie, &[]).await.status, 200);
    let sent = schoolyear::reminders::remind(
        &p.store_of("CampaignRemindersFunction"),
        &town,
        "http://portail.test",
        p.clock.now(),
    )
    .await
    .unwrap();
    let again = schoolyear::reminders::remind(
        &p.store_of("CampaignRemindersFunction"),
        &town,
        "http://portail.test",
        p.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(again, 0, "never twice a day");
    let mails = p.deliver().await;
    let reminders: Vec<_> = mails.iter().filter(|m| m.content.subject.starts_with("Inscriptions 2027-2028")).collect();
    assert_eq!(reminders.len(), sent);
    assert!(reminders.iter().all(|m| !m.to.as_str().starts_with("sophie")), "the Martins' enrolment is complete");
    assert!(reminders.iter().any(|m| m.to.as_str() == "claire.bernard@exemple.fr"), "{reminders:?}");
    // Not a reminder day: nothing.
    p.clock.set("2027-06-08T07:00:00Z".parse().unwrap());
    assert_eq!(
        schoolyear::reminders::remind(
            &p.store_of("CampaignRemindersFunction"),
            &town,
            "http://portail.test",
            p.clock.now()
        )
        .await
        .unwrap(),
        0
    );
    p.stop().await;
}
