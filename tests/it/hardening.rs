//! What a security review asks: staff act through their own routes, a shared child's other
//! household sees a day taken and nothing more, security headers on every answer, bounded
//! sizes, refused control characters and impossible dates, revoked links, safe CSV cells.
//! The test clock starts on Thursday 26 November 2026, 10:00 in Paris.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal};
use serde_json::{Value, json};

async fn login(p: &TestPortal, email: &str) -> Browser {
    p.login(TOWN, email, local_portal::DEMO_PASSWORD).await.unwrap()
}

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

#[tokio::test]
async fn staff_are_refused_on_the_parents_routes_that_change_a_family() {
    let p = portal().await;
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let line = json!({"lines": [{"child": "lea-martin", "unit": "cantine", "date": "2026-12-07", "action": "add"}]});
    let writes: [(&str, String, Option<Value>); 6] = [
        ("POST", api("/families/martin/basket/lines"), Some(line)),
        ("DELETE", api("/families/martin/basket"), None),
        ("POST", api("/families/martin/basket/validate"), Some(json!({"basket_revision": ""}))),
        (
            "POST",
            api("/families/martin/documents"),
            Some(json!({"kind": "dispense", "file_name": "a.pdf", "content_type": "application/pdf", "size": 10})),
        ),
        ("POST", api("/calendar/families/martin/feed"), None),
        ("POST", api("/calendar/families/personne/feed"), None),
    ];
    for (method, uri, body) in writes {
        let r = p.send(method, &uri, body, &agent, &[("idempotency-key", "0123456789abcdef0123")]).await;
        assert_problem(&r, 403, "staff_use_staff_routes");
    }
    // Reads stay open to staff: they see the whole town.
    let r = p.get(&api("/families/martin/bookings"), Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // The parents' own feed still works after the refused attempts.
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    let feed = p.send("POST", &api("/calendar/families/martin/feed"), None, &sophie, &[]).await;
    assert_eq!(feed.status, 201, "{:?}", feed.json);
    p.stop().await;
}

/// One cell of Noé's canteen week.
async fn noe_cell(p: &TestPortal, b: &Browser, date: &str) -> Value {
    let r = p
        .get(
            &api(&format!("/calendar/children/noe-bernard-petit/weeks?activity=restauration&from={date}&weeks=1")),
            Some(b),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["weeks"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["unit"] == "cantine")
        .and_then(|row| row["cells"].as_array().unwrap().iter().find(|c| c["date"] == date).cloned())
        .expect("the cell")
}

#[tokio::test]
async fn a_shared_childs_other_household_sees_the_day_taken_but_not_who_nor_at_what_price() {
    let p = portal().await;
    let claire = login(&p, "claire.bernard@exemple.fr").await;
    let thomas = login(&p, "thomas.petit@exemple.fr").await;
    let line = |action: &str| json!({"lines": [{"child": "noe-bernard-petit", "unit": "cantine", "date": "2026-12-07", "action": action}]});
    let added = p.send("POST", &api("/families/bernard/basket/lines"), Some(line("add")), &claire, &[]).await;
    assert_eq!(added.status, 200, "{:?}", added.json);
    let done = p
        .send(
            "POST",
            &api("/families/bernard/basket/validate"),
            Some(json!({"basket_revision": added.json["revision"]})),
            &claire,
            &[("idempotency-key", "noe-0000-0000-0000-0001")],
        )
        .await;
    assert_eq!(done.json["outcome"], "applied", "{:?}", done.json);

    let mine = noe_cell(&p, &claire, "2026-12-07").await;
    assert_eq!((mine["state"].as_str(), mine["price"].as_i64()), (Some("confirmed"), Some(100)));
    let theirs = noe_cell(&p, &thomas, "2026-12-07").await;
    assert_eq!(theirs["state"], "confirmed", "Thomas sees the day is taken: {theirs}");
    for hidden in ["price", "late_cancel_price", "late_add_price", "action"] {
        assert!(theirs.get(hidden).is_none(), "{hidden} leaks to the other household: {theirs}");
    }
    let list = p.get(&api("/families/petit/bookings?from=2026-12-07&to=2026-12-07"), Some(&thomas)).await;
    let b = &list.json[0];
    assert_eq!((b["status"].as_str(), b["other_household"].as_bool()), (Some("confirmed"), Some(true)), "{b}");
    assert!(b.get("price").is_none() && b["history"] == json!([]), "{b}");
    assert!(!list.json.to_string().contains("claire.bernard"), "no email of the other household: {}", list.json);
    let own = p.get(&api("/families/bernard/bookings?from=2026-12-07&to=2026-12-07"), Some(&claire)).await;
    assert_eq!(own.json[0]["price"], 100);

    // Thomas can neither cancel Claire's booking nor book the day again.
    for action in ["cancel", "add"] {
        let r = p.send("POST", &api("/families/petit/basket/lines"), Some(line(action)), &thomas, &[]).await;
        assert_problem(&r, 422, "lines_refused");
        assert_eq!(r.json["lines"][0]["error"]["code"], "booked_by_other_household", "{:?}", r.json);
    }
    p.stop().await;
}

/// The tokens of every link emailed to `to` so far, oldest first.
async fn link_tokens(p: &TestPortal, to: &str) -> Vec<String> {
    p.deliver()
        .await
        .iter()
        .filter(|m| m.to.as_str() == to)
        .filter_map(|m| m.content.text.split("#jeton=").nth(1)?.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn setting_a_password_revokes_every_older_link() {
    let p = portal().await;
    let sophie = "sophie.martin@exemple.fr";
    for _ in 0..2 {
        let r = p.post(&api("/auth/password-reset"), json!({"email": sophie}), None).await;
        assert_eq!(r.status, 202);
    }
    let tokens = link_tokens(&p, sophie).await;
    assert_eq!(tokens.len(), 2);
    let uri = api("/auth/password-reset/confirm");
    let confirm = |token: &str, password: &str| p.post(&uri, json!({"token": token, "password": password}), None);
    assert_eq!(confirm(&tokens[1], "un jardin en hiver").await.status, 200);
    assert_problem(&confirm(&tokens[0], "une autre saison").await, 404, "link_invalid");
    assert!(p.login(TOWN, sophie, "une autre saison").await.is_err(), "the older link set nothing");
    assert!(p.login(TOWN, sophie, "un jardin en hiver").await.is_ok());

    // A pending guardian's activation links: the one used revokes the others.
    let nguyen = "linh.nguyen@exemple.fr";
    let again = p.post(&api("/auth/activation-link"), json!({"email": nguyen}), None).await;
    assert_eq!(again.status, 202);
    let tokens = link_tokens(&p, nguyen).await;
    assert_eq!(tokens.len(), 2, "the demo's activation email and the new one");
    let uri = api("/auth/activate");
    let activate = |token: &str| p.post(&uri, json!({"token": token, "password": "un jardin en hiver"}), None);
    assert_eq!(activate(&tokens[1]).await.status, 200);
    assert_problem(&activate(&tokens[0]).await, 404, "link_invalid");
    p.stop().await;
}

#[tokio::test]
async fn the_attendance_export_writes_formulas_as_text() {
    let p = portal().await;
    let town = domain::TownId::parse(TOWN).unwrap();
    let lea = domain::ChildId::parse("lea-martin").unwrap();
    let mut child = store::repo::get_child(&p.store, &town, &lea).await.unwrap().unwrap();
    child.last_name = "=HYPERLINK(\"http://pirate.example\",\"Martin\")".into();
    child.health_notes = Some("@SUM(A1)".into());
    store::repo::put_child(&p.store, &town, &child).await.unwrap();
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    // Léa's canteen on the Monday of last week, in the demo.
    let uri = api("/staff/attendance?date=2026-11-16&unit=cantine&format=csv");
    let (bytes, _) = crate::helpers::raw_get(&p.router, &uri, &agent.cookie).await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("'=HYPERLINK("), "{text}");
    assert!(text.contains("'@SUM(A1)"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with('=') || l.contains(";=") || l.contains(";@")), "{text}");
    p.stop().await;
}

#[tokio::test]
async fn an_article_that_renders_too_large_is_refused_and_a_long_one_stays_editable() {
    let p = portal().await;
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let article = |body: String| json!({"title": "Règlement", "body": body, "category": "reglement"});
    let nested = p.post(&api("/staff/news"), article(">".repeat(19_000)), Some(&agent)).await;
    assert_problem(&nested, 422, "article_too_complex");
    assert_eq!(nested.json["field"], "body");
    // A table of empty cells: nine bytes of HTML for each character.
    let table = format!("{}|\n{}|\n{}", "|a".repeat(90), "|-".repeat(90), format!("{}\n", "|".repeat(91)).repeat(200));
    assert_problem(&p.post(&api("/staff/news"), article(table), Some(&agent)).await, 422, "article_too_complex");
    let news = p.get(&api("/staff/news"), Some(&agent)).await;
    assert!(!news.json.to_string().contains("Règlement"), "nothing was stored");

    // The longest plain article, in accented text (two bytes a letter), created then edited:
    // its audit entries hold it before and after.
    let long = "é".repeat(19_990);
    let created = p.post(&api("/staff/news"), article(long.clone()), Some(&agent)).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let mut edited = article(format!("{long}ù"));
    edited["version"] = created.json["version"].clone();
    let r = p.send("PUT", &api(&format!("/staff/news/{id}")), Some(edited), &agent, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    p.stop().await;
}

#[tokio::test]
async fn a_configuration_too_large_to_store_is_refused_with_a_reason() {
    let p = portal().await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let current = p.get(&api("/staff/config"), Some(&admin)).await;
    let mut config = current.json["config"].clone();
    config["name"] = json!("x".repeat(200 * 1024));
    let body = json!({"version": current.json["version"], "config": config});
    let r = p.send("PUT", &api("/staff/config"), Some(body), &admin, &[]).await;
    assert_problem(&r, 422, "invalid_configuration");
    assert!(r.json["detail"].as_str().unwrap_or_default().contains("150 Ko"), "{:?}", r.json);
    let after = p.get(&api("/staff/config"), Some(&admin)).await;
    assert_eq!(after.json["version"], current.json["version"], "nothing changed");
    p.stop().await;
}

#[tokio::test]
async fn control_characters_direction_overrides_and_impossible_dates_are_refused_everywhere() {
    let p = portal().await;
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let upload = |file_name: &str, absence: Value| {
        json!({"kind": "certificat-medical", "child": "lea-martin", "file_name": file_name,
               "content_type": "application/pdf", "size": 1000, "absence": absence})
    };
    let fine = json!({"from": "2026-11-23", "to": "2026-11-24"});
    let cases = [
        (
            api("/families/martin/documents"),
            upload("a\u{202E}fdp.exe", fine.clone()),
            &sophie,
            "invalid_characters",
            "file_name",
        ),
        (
            api("/families/martin/documents"),
            upload("certificat.pdf", json!({"from": "9999-01-01", "to": "9999-01-02"})),
            &sophie,
            "invalid_date",
            "absence.from",
        ),
        (
            api("/staff/news"),
            json!({"title": "Menu", "body": "Semaine\u{0} 48", "category": "information"}),
            &admin,
            "invalid_characters",
            "body",
        ),
        (
            api("/staff/news"),
            json!({"title": "Menu", "body": "Semaine 48", "category": "information", "publish_at": "9999-12-31T08:00:00Z"}),
            &admin,
            "invalid_date",
            "publish_at",
        ),
        (
            api("/staff/news"),
            json!({"title": "Grève", "body": "Fermé", "category": "fermeture", "close_booking": {"from": "0000-01-01", "to": "0000-01-02"}}),
            &admin,
            "invalid_date",
            "close_booking.from",
        ),
        (
            api("/families/martin/basket/lines"),
            json!({"lines": [{"child": "lea\u{7}", "unit": "cantine", "date": "2026-12-07", "action": "add"}]}),
            &sophie,
            "invalid_characters",
            "lines[0].child",
        ),
    ];
    for (uri, body, who, code, field) in cases {
        let r = p.post(&uri, body, Some(who)).await;
        assert_problem(&r, 422, code);
        assert_eq!(r.json["field"], field, "{:?}", r.json);
    }
    assert!(p.get(&api("/families/martin/documents"), Some(&sophie)).await.json.as_array().unwrap().is_empty());
    // Query parameters outside their documented bounds.
    assert_problem(&p.get(&api("/staff/audit?limit=0"), Some(&admin)).await, 400, "invalid_limit");
    assert_problem(&p.get(&api("/staff/audit?limit=201"), Some(&admin)).await, 400, "invalid_limit");
    assert_problem(&p.get(&api("/news?page=0"), None).await, 400, "invalid_page");
    p.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_personal_ones_are_not_stored() {
    let p = portal().await;
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    let page = crate::helpers::call(&p.router, "GET", "/reservations.html", &[], None).await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("connect-src 'self' http://127.0.0.1:"), "uploads go to the local S3 server: {csp}");
    let family = p.get(&api("/families/martin"), Some(&sophie)).await;
    assert_eq!(family.status, 200);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("content-security-policy", edge::http::headers::API_POLICY),
    ] {
        assert_eq!(family.headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    assert!(family.headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    // Each Lambda's router as it is deployed, errors included.
    for (name, router) in p.functions() {
        let r = crate::helpers::call(router, "GET", "/api/nulle-part", &[], None).await;
        assert_eq!(r.status, 404, "{name}");
        assert_eq!(r.headers.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"), "{name}");
        assert_eq!(r.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{name}");
    }
    p.stop().await;
}

/// Every operation of the OpenAPI document with the status codes it documents.
fn documented_operations() -> Vec<(String, String, Vec<String>)> {
    let doc = towns::OPENAPI;
    let ops = crate::openapi::operations(doc);
    let mut out = Vec::new();
    let lines: Vec<&str> = doc.lines().collect();
    for (method, path) in ops {
        let start = lines.iter().position(|l| *l == format!("  {path}:")).expect("path");
        let op = (start + 1..lines.len())
            .find(|&i| lines[i] == format!("    {}:", method.to_lowercase()))
            .expect("operation");
        let end = (op + 1..lines.len()).find(|&i| !lines[i].starts_with("      ")).unwrap_or(lines.len());
        let codes = lines[op..end]
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix('"')?.split('"').next().map(str::to_owned))
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        out.push((method, path, codes));
    }
    out
}

#[tokio::test]
async fn every_route_is_closed_to_no_session_another_family_and_another_town() {
    let p = portal().await;
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    let town_b = crate::helpers::other_town_admin(&p).await;
    let ops = documented_operations();
    // Login's 401 is a wrong password, not a missing session.
    let protected: Vec<_> = ops
        .iter()
        .filter(|(_, path, codes)| codes.iter().any(|c| c == "401") && !path.ends_with("/auth/login"))
        .collect();
    assert!(protected.len() >= 45, "{}", protected.len());
    let mut open = Vec::new();
    for (method, path, _) in &protected {
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let uri = crate::helpers::concrete_path(path, TOWN, "martin");
        let anonymous =
            p.send(method, &uri, body.clone(), &Browser { cookie: String::new(), csrf: String::new() }, &[]).await;
        if anonymous.status != 401 {
            open.push(format!("{method} {path}: {} without a session", anonymous.status));
        }
        // Another town's session does not exist here.
        let other_town = p.send(method, &uri, body.clone(), &town_b, &[]).await;
        if other_town.status != 401 {
            open.push(format!("{method} {path}: {} with another town's session", other_town.status));
        }
        // Another family's records, as Sophie: not found, like a family that does not exist.
        if path.contains("{family}") && !path.contains("/staff/") && !path.starts_with("/api/operator") {
            let theirs =
                p.send(method, &crate::helpers::concrete_path(path, TOWN, "bernard"), body, &sophie, &[]).await;
            if !(theirs.status == 404 || theirs.status == 403) || theirs.json["code"] == "not_found" {
                open.push(format!("{method} {path}: {} {} on another family", theirs.status, theirs.json["code"]));
            }
        }
    }
    assert!(open.is_empty(), "routes open to the wrong caller:\n{}", open.join("\n"));
    p.stop().await;
}

/// The town's configuration as anyone reads it: what the parents' pages use (the town's name,
/// its sites, activities and units, whom to call), never the régie's accounts.
#[tokio::test]
async fn the_public_town_configuration_shows_no_account_of_the_regie() {
    let p = portal().await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let staff = p.get(&api("/staff/config"), Some(&admin)).await;
    let billing = &staff.json["config"]["billing"];
    let secrets = [
        &billing["payfip"]["numcli"],
        &billing["direct_debit"]["iban"],
        &billing["direct_debit"]["bic"],
        &billing["direct_debit"]["creditor_id"],
    ];
    assert!(secrets.iter().all(|s| s.as_str().is_some_and(|s| s.len() >= 6)), "the demo town has them: {billing}");
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    for who in [None, Some(&sophie)] {
        let public = p.get(&api(""), who).await;
        assert_eq!(public.status, 200, "{:?}", public.json);
        let body = public.json.to_string();
        for s in secrets {
            assert!(!body.contains(s.as_str().unwrap()), "{s} is public: {body}");
        }
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<String>>();
        let allowed = ["activities", "billing", "id", "name", "sites", "time_zone"];
        assert!(keys(&public.json).iter().all(|k| allowed.contains(&k.as_str())), "{:?}", keys(&public.json));
        let contact = ["address", "court", "email", "hours", "how_to_pay", "issuer", "phone", "regie"];
        let billing_keys = keys(&public.json["billing"]);
        assert!(billing_keys.iter().all(|k| contact.contains(&k.as_str())), "{billing_keys:?}");
        // What the pages read is there.
        assert_eq!(public.json["name"], "Villeneuve-les-Tilleuls");
        assert!(public.json["activities"][0]["units"][0]["name"].is_string());
        assert!(public.json["billing"]["regie"].is_string());
    }
    p.stop().await;
}
