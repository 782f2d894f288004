//! The child's file end to end, on both stores: a guardian fills and corrects it, staff see
//! what changed since they last validated, validate it (the child's record takes its diet, PAI
//! and health notes; the register shows the allergy mark) or ask for a correction (emailed);
//! the health part is read only by the roles the town names, each read in the audit trail;
//! another family, another town, a guardian on staff routes and staff on the guardian's route
//! are refused. The demo (clock: Thursday 26 November 2026) has Léa's file, validated, with a
//! kiwi allergy.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, other_town_admin, portal_on};
use chrono::{Days, NaiveDate};
use domain::{ChildId, TownId};
use serde_json::{Value, json};
use store::{Store, repo};

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const ADMIN: &str = "mairie@villeneuve-les-tilleuls.fr";
const AGENT: &str = "agent@villeneuve-les-tilleuls.fr";
const SOPHIE: &str = "sophie.martin@exemple.fr";

crate::helpers::both_backends!(
    a_guardian_changes_the_file_and_staff_validate_only_what_changed,
    bad_input_is_refused_naming_the_field_and_nothing_is_written,
    a_correction_is_asked_with_a_reason_and_emailed_to_the_guardians,
    other_families_towns_and_roles_are_refused_on_every_route,
    a_staff_role_without_the_health_right_reads_no_health_data,
    the_fiche_sanitaire_of_a_child_and_of_a_group_for_an_outing,
);

async fn login(p: &TestPortal, email: &str) -> Browser {
    p.login(TOWN, email, PASSWORD).await.unwrap()
}

fn own(family: &str, child: &str) -> String {
    format!("/api/towns/{TOWN}/families/{family}/children/{child}/file")
}

fn staff(path: &str) -> String {
    format!("/api/towns/{TOWN}/staff/{path}")
}

/// Audit entries of `action`, newest first.
async fn audited(p: &TestPortal, action: &str) -> Vec<store::audit::Entry> {
    let town = TownId::parse(TOWN).unwrap();
    let (entries, _) = store::audit::page(&p.store, &town, 200, None).await.unwrap();
    entries.into_iter().filter(|e| e.action == action).collect()
}

/// Léa's first canteen day booked from today.
async fn lea_canteen_day(store: &Store) -> NaiveDate {
    let town = TownId::parse(TOWN).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let lea = ChildId::parse("lea-martin").unwrap();
    let bookings =
        repo::bookings(store, &town, &lea, today, today.checked_add_days(Days::new(30)).unwrap()).await.unwrap();
    bookings.iter().find(|b| b.unit.as_str() == "cantine" && b.holds_place()).expect("a canteen day").date
}

async fn a_guardian_changes_the_file_and_staff_validate_only_what_changed(store: Store) {
    let p = portal_on(store).await;
    let sophie = login(&p, SOPHIE).await;
    let read = p.get(&own("martin", "lea-martin"), Some(&sophie)).await;
    assert_eq!(read.status, 200, "{:?}", read.json);
    assert_eq!((read.json["version"].as_u64(), read.json["status"].as_str()), (Some(1), Some("validated")));
    assert_eq!(read.json["file"]["health"]["allergies"][0]["name"], "kiwi");

    // Sophie corrects the allergy and adds a pick-up person, the phone typed her way.
    let mut file = read.json["file"].clone();
    file["health"]["allergies"][0] =
        json!({"kind": "food", "name": "kiwi et mangue", "what_to_do": "Ni kiwi ni mangue."});
    file["people"]["pickup"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Paul Roux", "relationship": "voisin", "phone": "+33 7 11 22 33 44"}));
    let saved =
        p.send("PUT", &own("martin", "lea-martin"), Some(json!({"version": 1, "file": file})), &sophie, &[]).await;
    assert_eq!(saved.status, 200, "{:?}", saved.json);
    assert_eq!((saved.json["version"].as_u64(), saved.json["status"].as_str()), (Some(2), Some("to_check")));
    assert_eq!(saved.json["file"]["people"]["pickup"][1]["phone"], "07 11 22 33 44");
    assert_eq!(saved.json["file"]["consents"][0]["on"], "2026-11-26", "a consent unchanged keeps its day");

    // The agent's queue lists it; the review shows the two changes, not the file again.
    let agent = login(&p, AGENT).await;
    let queue = p.get(&staff("child-files"), Some(&agent)).await;
    assert_eq!(queue.status, 200);
    let queued: Vec<&str> = queue.json.as_array().unwrap().iter().map(|q| q["child"].as_str().unwrap()).collect();
    assert_eq!(queued, ["lea-martin"]);
    assert!(queue.json[0].get("file").is_none(), "no health data in the queue");
    let before = audited(&p, "child_file.read_health").await.len();
    let review = p.get(&staff("children/lea-martin/file/review"), Some(&agent)).await;
    assert_eq!(review.status, 200, "{:?}", review.json);
    let fields: Vec<&str> =
        review.json["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["health.allergies[0].name", "health.allergies[0].what_to_do", "people.pickup[1]"]);
    assert_eq!(review.json["changes"][0]["before"], "kiwi");
    assert_eq!(review.json["validated_version"], 1);
    assert_eq!(review.json["versions"].as_array().unwrap().len(), 2);
    let reads = audited(&p, "child_file.read_health").await;
    assert_eq!(reads.len(), before + 1, "the review's read is audited");
    assert!(reads.iter().any(|e| e.by == AGENT && e.target == "child/lea-martin/file"), "{reads:?}");

    // Validating an older version is refused; the version read is validated.
    let old =
        p.send("POST", &staff("children/lea-martin/file/validate"), Some(json!({"version": 1})), &agent, &[]).await;
    assert_problem(&old, 409, "file_changed_meanwhile");
    let ok =
        p.send("POST", &staff("children/lea-martin/file/validate"), Some(json!({"version": 2})), &agent, &[]).await;
    assert_eq!(ok.status, 200, "{:?}", ok.json);
    assert_eq!(ok.json["status"], "validated");
    assert!(p.get(&staff("child-files"), Some(&agent)).await.json.as_array().unwrap().is_empty());
    let again = p.get(&staff("children/lea-martin/file/review"), Some(&agent)).await;
    assert!(again.json["changes"].as_array().unwrap().is_empty(), "nothing changed since");
    assert_eq!(audited(&p, "child_file.validate").await[0].by, AGENT);

    // The child's record and the register take the validated file.
    let town = TownId::parse(TOWN).unwrap();
    let lea = repo::get_child(&p.store, &town, &ChildId::parse("lea-martin").unwrap()).await.unwrap().unwrap();
    assert_eq!(lea.health_notes.as_deref(), Some("Allergie alimentaire\u{202f}: kiwi et mangue."));
    let day = lea_canteen_day(&p.store).await;
    let register =
        p.get(&staff(&format!("attendance?date={day}&unit=cantine&site=ecole-jules-ferry")), Some(&agent)).await;
    assert_eq!(register.status, 200, "{:?}", register.json);
    let row = register.json.as_array().unwrap().iter().find(|r| r["child"] == "lea-martin").expect("Léa").clone();
    assert_eq!(row["health_mark"]["allergies"], json!(["kiwi et mangue (alimentaire)"]));
    assert_eq!(row["health_mark"]["what_to_do"][0], "kiwi et mangue\u{202f}: Ni kiwi ni mangue.");
    let register_reads: Vec<_> = audited(&p, "child_file.read_health")
        .await
        .into_iter()
        .filter(|e| e.target == format!("register/{day}"))
        .collect();
    assert_eq!(register_reads.len(), 1, "the register's marks are a health read");
    assert_eq!(register_reads[0].after, Some(json!({"marks": ["lea-martin"]})));

    // The kitchen's counts name her that day, with what to do; also a health read.
    let kitchen = p.get(&staff(&format!("kitchen?week={day}")), Some(&agent)).await;
    assert_eq!(kitchen.status, 200, "{:?}", kitchen.json);
    let that_day =
        kitchen.json.as_array().unwrap().iter().find(|d| d["date"] == day.to_string()).expect("the day").clone();
    let flagged = that_day["health"].as_array().expect("the day's allergies and PAI");
    let lea =
        flagged.iter().find(|f| f["child"] == "lea-martin" && f["unit"] == "cantine").expect("Léa at the canteen");
    assert_eq!((lea["first_name"].as_str(), lea["unit_name"].as_str()), (Some("Léa"), Some("Cantine")));
    assert_eq!(lea["allergies"], json!(["kiwi et mangue (alimentaire)"]));
    assert_eq!(lea["what_to_do"][0], "kiwi et mangue\u{202f}: Ni kiwi ni mangue.");
    let monday = day.week(chrono::Weekday::Mon).first_day();
    let kitchen_reads: Vec<_> = audited(&p, "child_file.read_health")
        .await
        .into_iter()
        .filter(|e| e.target == format!("kitchen/{monday}"))
        .collect();
    assert_eq!(kitchen_reads.len(), 1, "the kitchen's marks are a health read");
    assert_eq!(kitchen_reads[0].after, Some(json!({"marks": ["lea-martin"]})));

    // The pick-up list of the group that day: who may take Léa home.
    let pickups = p.get(&staff(&format!("pickups?date={day}&unit=cantine&site=ecole-jules-ferry")), Some(&agent)).await;
    assert_eq!(pickups.status, 200, "{:?}", pickups.json);
    let lea = pickups.json.as_array().unwrap().iter().find(|r| r["child"] == "lea-martin").expect("Léa").clone();
    assert_eq!(lea["pickup"][1]["name"], "Paul Roux");
    assert_eq!((lea["validated"].as_bool(), lea["goes_home_alone"].as_bool()), (Some(true), Some(false)));
    assert!(lea.get("health").is_none());

    // The family's export holds the file, as the family sees it.
    let export = p.get(&format!("/api/towns/{TOWN}/families/martin/export"), Some(&sophie)).await;
    assert_eq!(export.status, 200);
    let files = export.json["child_files"].as_array().unwrap();
    assert_eq!(
        (files.len(), files[0]["child"].as_str(), files[0]["version"].as_u64()),
        (1, Some("lea-martin"), Some(2))
    );
    assert_eq!(files[0]["file"]["health"]["allergies"][0]["name"], "kiwi et mangue");
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_written(store: Store) {
    let p = portal_on(store).await;
    let sophie = login(&p, SOPHIE).await;
    let read = p.get(&own("martin", "lea-martin"), Some(&sophie)).await;
    let put = |file: Value, version: u64| {
        let sophie = sophie.clone();
        let p = &p;
        async move {
            p.send("PUT", &own("martin", "lea-martin"), Some(json!({"version": version, "file": file})), &sophie, &[])
                .await
        }
    };
    let with = |path: &[&str], value: Value| {
        let mut f = read.json["file"].clone();
        let mut at = &mut f;
        for k in &path[..path.len() - 1] {
            at = match k.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*k],
            };
        }
        at[path[path.len() - 1]] = value;
        f
    };
    let cases = [
        (with(&["people", "pickup", "0", "phone"], json!("12 34")), 422, "invalid_phone", "people.pickup[0].phone"),
        (with(&["people", "pickup", "0", "name"], json!("  ")), 422, "field_required", "people.pickup[0].name"),
        (with(&["health", "dtp_booster"], json!("2030-01-01")), 422, "date_out_of_range", "health.dtp_booster"),
        (with(&["health", "doctor", "name"], json!("x".repeat(101))), 422, "field_too_long", "health.doctor.name"),
        (with(&["insurance", "valid_until"], json!("2026-02-30")), 422, "", ""),
    ];
    for (file, status, code, field) in cases {
        let r = put(file, 1).await;
        assert_eq!(r.status, status, "{:?}", r.json);
        if !code.is_empty() {
            assert_problem(&r, status, code);
            assert_eq!(r.json["field"], field, "{:?}", r.json);
        }
    }
    let r = put(read.json["file"].clone(), 0).await;
    assert_problem(&r, 409, "file_changed_meanwhile");
    let r = p
        .send("PUT", &own("martin", "lea-martin"), Some(json!({"version": 1, "file": {"blood": "A"}})), &sophie, &[])
        .await;
    assert!(r.status == 400 || r.status == 422, "{:?}", r.json);
    let after = p.get(&own("martin", "lea-martin"), Some(&sophie)).await;
    assert_eq!(after.json["version"], 1, "nothing written");
    assert_eq!(after.json["file"], read.json["file"]);
}

async fn a_correction_is_asked_with_a_reason_and_emailed_to_the_guardians(store: Store) {
    let p = portal_on(store).await;
    let sophie = login(&p, SOPHIE).await;
    let mut file = p.get(&own("martin", "jade-martin"), Some(&sophie)).await.json["file"].clone();
    assert_eq!(file["health"]["allergies"], json!([]), "Jade has no file yet");
    file["health"]["doctor"] = json!({"name": "Dr Morel", "phone": "0123456789"});
    let r = p.send("PUT", &own("martin", "jade-martin"), Some(json!({"version": 0, "file": file})), &sophie, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let admin = login(&p, ADMIN).await;
    let uri = staff("children/jade-martin/file/correction");
    let none = p.send("POST", &uri, Some(json!({"version": 1, "reason": " "})), &admin, &[]).await;
    assert_problem(&none, 422, "invalid_reason");
    let reason = "Le rappel DTP manque.";
    let r = p.send("POST", &uri, Some(json!({"version": 1, "reason": reason})), &admin, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!((r.json["status"].as_str(), r.json["reason"].as_str()), (Some("correction_asked"), Some(reason)));
    let mails = p.deliver().await;
    let mut to: Vec<&str> =
        mails.iter().filter(|m| m.content.subject.starts_with("Fiche de Jade")).map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["julien.martin@exemple.fr", "sophie.martin@exemple.fr"]);
    let mail = mails.iter().find(|m| m.content.subject.starts_with("Fiche de Jade")).unwrap();
    assert!(mail.content.text.contains(reason), "{}", mail.content.text);
    let seen = p.get(&own("martin", "jade-martin"), Some(&sophie)).await;
    assert_eq!(seen.json["reason"], reason, "the guardian sees why");
    assert_eq!(audited(&p, "child_file.correction").await.len(), 1);
}

async fn other_families_towns_and_roles_are_refused_on_every_route(store: Store) {
    let p = portal_on(store).await;
    let claire = login(&p, "claire.bernard@exemple.fr").await;
    let sophie = login(&p, SOPHIE).await;
    let agent = login(&p, AGENT).await;
    let body = json!({"version": 1, "file": {}});
    // Another family's child, by its family or by one's own.
    assert_problem(&p.get(&own("martin", "lea-martin"), Some(&claire)).await, 404, "unknown_family");
    assert_problem(&p.get(&own("bernard", "lea-martin"), Some(&claire)).await, 404, "unknown_child");
    assert_problem(
        &p.send("PUT", &own("bernard", "lea-martin"), Some(body.clone()), &claire, &[]).await,
        404,
        "unknown_child",
    );
    assert_problem(&p.get(&own("martin", "noe-bernard-petit"), Some(&sophie)).await, 404, "unknown_child");
    // Staff use their own routes.
    assert_problem(&p.get(&own("martin", "lea-martin"), Some(&agent)).await, 403, "staff_use_staff_routes");
    // A guardian on every staff route.
    let staff_gets = [
        "child-files",
        "children/lea-martin/file",
        "children/lea-martin/file/health",
        "children/lea-martin/file/review",
        "pickups?unit=cantine&site=ecole-jules-ferry",
    ];
    for path in staff_gets {
        assert_problem(&p.get(&staff(path), Some(&sophie)).await, 403, "forbidden");
    }
    for path in ["children/lea-martin/file/validate", "children/lea-martin/file/correction"] {
        assert_problem(
            &p.send("POST", &staff(path), Some(json!({"version": 1})), &sophie, &[]).await,
            403,
            "forbidden",
        );
    }
    // Another town's administrator: Léa does not exist there.
    let other = other_town_admin(&p).await;
    let theirs = |path: &str| format!("/api/towns/autre-ville/staff/{path}");
    for path in ["children/lea-martin/file", "children/lea-martin/file/health", "children/lea-martin/file/review"] {
        assert_problem(&p.get(&theirs(path), Some(&other)).await, 404, "unknown_child");
    }
    let v =
        p.send("POST", &theirs("children/lea-martin/file/validate"), Some(json!({"version": 1})), &other, &[]).await;
    assert_problem(&v, 404, "unknown_child");
    assert!(p.get(&theirs("child-files"), Some(&other)).await.json.as_array().unwrap().is_empty());
    // A session of this town is no session in the other.
    assert_problem(&p.get(&theirs("children/lea-martin/file"), Some(&agent)).await, 401, "unauthenticated");
}

async fn a_staff_role_without_the_health_right_reads_no_health_data(store: Store) {
    let p = portal_on(store).await;
    let admin = login(&p, ADMIN).await;
    let uri = staff("config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    config["child_file"] = json!({"health_readers": ["town_admin"]});
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let agent = login(&p, AGENT).await;
    let reads = audited(&p, "child_file.read_health").await.len();
    for path in ["children/lea-martin/file/health", "children/lea-martin/file/review"] {
        assert_problem(&p.get(&staff(path), Some(&agent)).await, 403, "health_reserved");
    }
    for path in ["children/lea-martin/file/validate", "children/lea-martin/file/correction"] {
        let r = p.send("POST", &staff(path), Some(json!({"version": 1, "reason": "x"})), &agent, &[]).await;
        assert_problem(&r, 403, "health_reserved");
    }
    let file = p.get(&staff("children/lea-martin/file"), Some(&agent)).await;
    assert_eq!(file.status, 200, "{:?}", file.json);
    assert!(file.json["file"].get("health").is_none() && file.json["health_included"] == false);
    assert_eq!(file.json["file"]["people"]["pickup"][0]["name"], "Jeanne Martin");
    let day = lea_canteen_day(&p.store).await;
    let register =
        p.get(&staff(&format!("attendance?date={day}&unit=cantine&site=ecole-jules-ferry")), Some(&agent)).await;
    assert!(register.json.as_array().unwrap().iter().all(|r| r.get("health_mark").is_none()), "{:?}", register.json);
    let kitchen = p.get(&staff(&format!("kitchen?week={day}")), Some(&agent)).await;
    assert_eq!(kitchen.status, 200, "{:?}", kitchen.json);
    assert!(kitchen.json.as_array().unwrap().iter().all(|d| d.get("health").is_none()), "{:?}", kitchen.json);
    assert_eq!(audited(&p, "child_file.read_health").await.len(), reads, "nothing read, nothing audited");
    // The administrator, named, reads it; the read is audited.
    let health = p.get(&staff("children/lea-martin/file/health"), Some(&admin)).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json["allergies"][0]["name"], "kiwi");
    assert!(audited(&p, "child_file.read_health").await.iter().any(|e| e.by == ADMIN));
    // A guardian in the list of health readers is refused by the configuration's check.
    config["child_file"] = json!({"health_readers": ["guardian"]});
    let view = p.get(&uri, Some(&admin)).await.json;
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_problem(&r, 422, "invalid_configuration");
    assert_eq!(r.json["field"], "config.child_file.health_readers");
}

async fn the_fiche_sanitaire_of_a_child_and_of_a_group_for_an_outing(store: Store) {
    let p = portal_on(store).await;
    let agent = login(&p, AGENT).await;
    let (pdf, _) = crate::helpers::raw_get(&p.router, &staff("children/lea-martin/file/sheet"), &agent.cookie).await;
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    crate::helpers::keep_pdf("sheet", &pdf);
    let facts = crate::helpers::assert_accessible_pdf(&pdf, "Fiche sanitaire de liaison — Léa Martin");
    crate::helpers::assert_structure(
        &facts,
        &["Sect", "P", "H1", "H2", "P", "H3", "P", "H3", "H4", "P", "H3", "P", "H3", "P"],
    );
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
    crate::helpers::assert_french_typography("the fiche sanitaire PDF", &text);
    for said in [
        "FICHE SANITAIRE DE LIAISON",
        "Léa Martin",
        "Allergie alimentaire\u{202f}: kiwi",
        "Conduite à tenir\u{202f}: Pas de kiwi",
        "Jeanne Martin (grand-mère) — 06 12 34 56 78",
        "Médecin traitant\u{202f}: Dr Élise Morel",
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    let day = lea_canteen_day(&p.store).await;
    let uri = staff(&format!("outing-sheets?date={day}&unit=cantine&site=ecole-jules-ferry"));
    let (pdf, _) = crate::helpers::raw_get(&p.router, &uri, &agent.cookie).await;
    crate::helpers::keep_pdf("group-sheets", &pdf);
    let facts = crate::helpers::assert_accessible_pdf(
        &pdf,
        &format!("Fiches sanitaires de liaison — Cantine — {}", domain::fr::date(day)),
    );
    let sections = facts.structure.iter().filter(|s| *s == "Sect").count();
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the group's PDF parses");
    assert!(text.contains("Léa Martin") && text.contains("kiwi"), "{text}");
    let group = p.get(&staff(&format!("pickups?date={day}&unit=cantine&site=ecole-jules-ferry")), Some(&agent)).await;
    let n = group.json.as_array().unwrap().len();
    assert_eq!(text.matches("FICHE SANITAIRE DE LIAISON").count(), n, "a sheet per child of the group: {text}");
    assert_eq!(sections, n, "a section per child: {:?}", facts.structure);
    let reads = audited(&p, "child_file.read_health").await;
    assert!(reads.iter().any(|e| e.target == "child/lea-martin/file"), "{reads:?}");
    assert!(reads.iter().any(|e| e.target == format!("outing/{day}/cantine/ecole-jules-ferry")), "{reads:?}");
    // A guardian, another town, a role without the health right.
    let sophie = login(&p, SOPHIE).await;
    assert_problem(&p.get(&staff("children/lea-martin/file/sheet"), Some(&sophie)).await, 403, "forbidden");
    assert_problem(&p.get(&uri, Some(&sophie)).await, 403, "forbidden");
    let other = other_town_admin(&p).await;
    let theirs = "/api/towns/autre-ville/staff/children/lea-martin/file/sheet";
    assert_problem(&p.get(theirs, Some(&other)).await, 404, "unknown_child");
    let admin = login(&p, ADMIN).await;
    let view = p.get(&staff("config"), Some(&admin)).await.json;
    let mut config = view["config"].clone();
    config["child_file"] = json!({"health_readers": ["town_admin"]});
    let r =
        p.send("PUT", &staff("config"), Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200);
    assert_problem(&p.get(&staff("children/lea-martin/file/sheet"), Some(&agent)).await, 403, "health_reserved");
    assert_problem(&p.get(&uri, Some(&agent)).await, 403, "health_reserved");
}
