//! « Actualités »: staff publish, pin, schedule, expire, edit and delete; everyone reads; a
//! closure closes the dates for booking; roles and towns are kept apart; every action audited.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, call};
use serde_json::{Value, json};

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

/// The demo portal without its demo articles (these tests count the articles they write).
async fn portal() -> TestPortal {
    let p = crate::helpers::portal().await;
    let town = domain::TownId::parse(TOWN).unwrap();
    for id in ["demo-bienvenue", "demo-tarifs"] {
        p.store.delete(&news::article_key(&town, id), Some(store::Cond::Exists)).await.expect("a demo article");
    }
    p
}

async fn agent(p: &TestPortal) -> Browser {
    p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap()
}
async fn admin(p: &TestPortal) -> Browser {
    p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap()
}

fn article(title: &str) -> Value {
    json!({"title": title, "body": "Texte de l'actualité.", "category": "information"})
}

async fn publish(p: &TestPortal, b: &Browser, body: Value) -> crate::helpers::Reply {
    p.send("POST", &format!("/api/towns/{TOWN}/staff/news"), Some(body), b, &[]).await
}

async fn titles(p: &TestPortal, query: &str) -> Vec<String> {
    let r = p.get(&format!("/api/towns/{TOWN}/news{query}"), None).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["items"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn published_news_shows_pinned_first_then_newest_and_hides_scheduled_and_expired() {
    let p = portal().await;
    let a = agent(&p).await;
    assert_eq!(publish(&p, &a, article("Menus de décembre")).await.status, 201);
    p.clock.advance(chrono::TimeDelta::minutes(1));
    let mut pinned = article("Nouveau règlement intérieur");
    pinned["pinned"] = json!(true);
    pinned["category"] = json!("reglement");
    assert_eq!(publish(&p, &a, pinned).await.status, 201);
    p.clock.advance(chrono::TimeDelta::minutes(1));
    assert_eq!(publish(&p, &a, article("Tarifs 2027")).await.status, 201);
    let mut later = article("Inscriptions ALSH de février");
    later["publish_at"] = json!("2026-12-01T07:00:00Z");
    later["expires_at"] = json!("2026-12-20T07:00:00Z");
    assert_eq!(publish(&p, &a, later).await.status, 201);

    // Anyone reads them, without logging in: pinned first, then the newest.
    assert_eq!(titles(&p, "").await, ["Nouveau règlement intérieur", "Tarifs 2027", "Menus de décembre"]);
    let page2 = p.get(&format!("/api/towns/{TOWN}/news?per_page=2&page=2"), None).await;
    assert_eq!((page2.json["total"].clone(), page2.json["pages"].clone()), (json!(3), json!(2)));
    assert_eq!(page2.json["items"][0]["title"], "Menus de décembre");
    // Scheduled: shown from its date, until it expires.
    p.clock.set(chrono::DateTime::parse_from_rfc3339("2026-12-01T07:00:00Z").unwrap().to_utc());
    assert_eq!(titles(&p, "").await[1], "Inscriptions ALSH de février");
    p.clock.set(chrono::DateTime::parse_from_rfc3339("2026-12-20T07:00:00Z").unwrap().to_utc());
    assert!(!titles(&p, "").await.contains(&"Inscriptions ALSH de février".to_owned()));
    // Staff still see it, marked expired.
    let a = agent(&p).await;
    let all = p.get(&format!("/api/towns/{TOWN}/staff/news"), Some(&a)).await;
    let expired =
        all.json["items"].as_array().unwrap().iter().find(|x| x["title"] == "Inscriptions ALSH de février").unwrap();
    assert_eq!(expired["status"], "expired");
    p.stop().await;
}

#[tokio::test]
async fn the_body_is_markdown_rendered_without_scripts() {
    let p = portal().await;
    let a = agent(&p).await;
    let body = "**Important** : <script>alert('x')</script> [règlement](https://ville.example/r.pdf) [piège](javascript:alert(1))";
    let r = publish(&p, &a, json!({"title": "Rentrée", "body": body, "category": "information"})).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let id = r.json["id"].as_str().unwrap();
    let one = p.get(&format!("/api/towns/{TOWN}/news/{id}"), None).await;
    let html = one.json["html"].as_str().unwrap();
    assert!(html.contains("<strong>Important</strong>"), "{html}");
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script"), "{html}");
    assert!(
        html.contains("<a href=\"https://ville.example/r.pdf\">règlement</a>") && !html.contains("javascript"),
        "{html}"
    );
    p.stop().await;
}

/// Léa's canteen on Monday 14 December.
async fn cell(p: &TestPortal, b: &Browser) -> Value {
    let uri =
        format!("/api/towns/{TOWN}/calendar/children/lea-martin/weeks?activity=restauration&from=2026-12-14&weeks=1");
    p.get(&uri, Some(b)).await.json["weeks"][0]["rows"][0]["cells"][0].clone()
}

#[tokio::test]
async fn an_exceptional_closure_closes_the_dates_for_booking_until_it_is_deleted() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    assert_eq!(cell(&p, &sophie).await["state"], "bookable");
    let closure = json!({
        "title": "Grève du lundi 14 décembre", "body": "La cantine sera fermée.", "category": "fermeture",
        "close_booking": {"from": "2026-12-14", "to": "2026-12-14"}
    });
    // Closing dates changes the town's calendar: administrators only.
    let a = agent(&p).await;
    assert_problem(&publish(&p, &a, closure.clone()).await, 403, "forbidden");
    let m = admin(&p).await;
    let r = publish(&p, &m, closure).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let c = cell(&p, &sophie).await;
    assert_eq!((c["state"].as_str(), c["reason"].as_str()), (Some("not_offered"), Some("closure")), "{c:?}");
    assert_eq!(c["detail"], "Grève du lundi 14 décembre");
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_problem(
        &p.send("DELETE", &format!("/api/towns/{TOWN}/staff/news/{id}"), None, &a, &[]).await,
        403,
        "forbidden",
    );
    // (The trail is ordered by time; the test clock stands still unless moved.)
    p.clock.advance(chrono::TimeDelta::seconds(1));
    let del = p.send("DELETE", &format!("/api/towns/{TOWN}/staff/news/{id}"), None, &m, &[]).await;
    assert_eq!(del.status, 204);
    assert_eq!(cell(&p, &sophie).await["state"], "bookable");
    // Every step is in the audit trail, for the administrator only.
    let log = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&m)).await;
    let actions: Vec<&str> =
        log.json["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    // (The demo town starts with last month billed: its `invoices.finalise` is older.)
    assert_eq!(actions.iter().filter(|a| a.starts_with("news.")).collect::<Vec<_>>(), [&"news.delete", &"news.create"]);
    assert_eq!(log.json["entries"][0]["by"], "mairie@villeneuve-les-tilleuls.fr");
    assert_eq!(log.json["entries"][0]["before"]["title"], "Grève du lundi 14 décembre");
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&a)).await, 403, "forbidden");
    p.stop().await;
}

#[tokio::test]
async fn an_edit_needs_the_current_version() {
    let p = portal().await;
    let a = agent(&p).await;
    let created = publish(&p, &a, article("Menus")).await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/towns/{TOWN}/staff/news/{id}");
    let mut edit = article("Menus de décembre");
    edit["version"] = json!(1);
    let r = p.send("PUT", &uri, Some(edit.clone()), &a, &[]).await;
    assert_eq!((r.status, r.json["version"].clone()), (200, json!(2)), "{:?}", r.json);
    // Someone else's edit came first: refused, nothing changed.
    let stale = p.send("PUT", &uri, Some(edit), &a, &[]).await;
    assert_problem(&stale, 409, "article_changed");
    assert_eq!(titles(&p, "").await, ["Menus de décembre"]);
    p.stop().await;
}

#[tokio::test]
async fn bad_articles_get_a_clear_4xx_and_change_nothing() {
    let p = portal().await;
    let a = agent(&p).await;
    let m = admin(&p).await;
    // The demo town starts with last month billed and published: those two entries, and nothing
    // more, are there.
    let before = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&m)).await.json;
    assert_eq!(before["entries"].as_array().map(Vec::len), Some(2));
    let long = "x".repeat(151);
    let cases = [
        (json!({"title": "", "body": "x", "category": "information"}), 422, "invalid_article", "title"),
        (json!({"title": long, "body": "x", "category": "information"}), 422, "invalid_article", "title"),
        (json!({"title": "A\nB", "body": "x", "category": "information"}), 422, "invalid_article", "title"),
        (json!({"title": "A", "body": " ", "category": "information"}), 422, "invalid_article", "body"),
        (json!({"title": "A", "body": "x", "category": "potins"}), 422, "invalid_body", "category"),
        (json!({"title": "A", "body": "x", "category": "information", "auteur": "moi"}), 422, "invalid_body", ""),
        (
            json!({"title": "A", "body": "x", "category": "information", "publish_at": "2026-12-01T00:00:00Z", "expires_at": "2026-11-30T00:00:00Z"}),
            422,
            "invalid_article",
            "expires_at",
        ),
        (
            json!({"title": "A", "body": "x", "category": "information", "close_booking": {"from": "2026-12-14", "to": "2026-12-14"}}),
            422,
            "invalid_article",
            "close_booking",
        ),
    ];
    for (body, status, code, field) in cases {
        let r = publish(&p, &a, body).await;
        assert_problem(&r, status, code);
        if !field.is_empty() {
            assert_eq!(r.json["field"], field, "{:?}", r.json);
        }
    }
    let closure = |from: &str, to: &str, activities: Value| json!({"title": "F", "body": "x", "category": "fermeture", "close_booking": {"from": from, "to": to, "activities": activities}});
    for (body, field) in [
        (closure("2026-11-02", "2026-11-03", json!([])), "close_booking.from"),
        (closure("2026-12-14", "2026-12-10", json!([])), "close_booking.to"),
        (closure("2026-12-01", "2027-03-01", json!([])), "close_booking.to"),
        (closure("2026-12-14", "2026-12-14", json!(["piscine"])), "close_booking.activities"),
    ] {
        let r = publish(&p, &m, body).await;
        assert_problem(&r, 422, "invalid_article");
        assert_eq!(r.json["field"], field);
    }
    let r = call(
        &p.router,
        "POST",
        &format!("/api/towns/{TOWN}/staff/news"),
        &[("cookie", &a.cookie), ("x-csrf-token", &a.csrf), ("content-type", "application/json")],
        Some(b"{".to_vec()),
    )
    .await;
    assert_problem(&r, 400, "invalid_json");
    assert_problem(
        &p.send("PUT", &format!("/api/towns/{TOWN}/staff/news/inconnue"), Some(article("A")), &a, &[]).await,
        404,
        "unknown_article",
    );
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/news/..%2F..%2Fetc"), None).await, 404, "unknown_article");
    assert_problem(&p.get(&format!("/api/towns/{TOWN}/news?per_page=500"), None).await, 400, "invalid_per_page");
    assert_eq!(titles(&p, "").await, Vec::<String>::new(), "nothing was published");
    let log = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&m)).await;
    assert_eq!(log.json["entries"], before["entries"], "nothing was audited");
    p.stop().await;
}

#[tokio::test]
async fn guardians_and_other_towns_staff_reach_no_news_staff_route() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let town_b = crate::helpers::other_town_admin(&p).await;
    let published = publish(&p, &agent(&p).await, article("Pour la ville A")).await;
    let id = published.json["id"].as_str().unwrap().to_owned();

    let routes: [(&str, String, Option<Value>); 5] = [
        ("GET", format!("/api/towns/{TOWN}/staff/news"), None),
        ("POST", format!("/api/towns/{TOWN}/staff/news"), Some(article("Intrus"))),
        ("PUT", format!("/api/towns/{TOWN}/staff/news/{id}"), Some(article("Intrus"))),
        ("DELETE", format!("/api/towns/{TOWN}/staff/news/{id}"), None),
        ("GET", format!("/api/towns/{TOWN}/staff/audit"), None),
    ];
    for (method, uri, body) in routes {
        assert_problem(&p.send(method, &uri, body.clone(), &sophie, &[]).await, 403, "forbidden");
        assert_problem(&p.send(method, &uri, body, &town_b, &[]).await, 401, "unauthenticated");
    }
    // Town B's news list is its own.
    assert_eq!(p.get("/api/towns/autre-ville/news", None).await.json["total"], 0);
    assert_eq!(titles(&p, "").await, ["Pour la ville A"]);
    p.stop().await;
}

/// Sends `bytes` with the upload the portal gave, as the browser does.
async fn put_file(upload: &Value, content_type: &str, bytes: Vec<u8>) -> u16 {
    let url = upload["url"].as_str().unwrap();
    reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn staff_attach_files_to_an_article_and_logged_in_readers_download_them() {
    let p = portal().await;
    let a = agent(&p).await;
    let created = publish(&p, &a, article("Menus de décembre")).await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let attachments = format!("/api/towns/{TOWN}/staff/news/{id}/attachments");
    let menu = b"%PDF-1.7\nle menu de decembre\n%%EOF\n".to_vec();
    let started = p
        .send(
            "POST",
            &attachments,
            Some(json!({"file_name": "Menus décembre.pdf", "content_type": "application/pdf", "size": menu.len()})),
            &a,
            &[],
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.json);
    let file = started.json["id"].as_str().unwrap().to_owned();
    assert!(started.json["upload"]["url"].as_str().unwrap().contains(&format!("/uploads/{TOWN}/-news/{id}/")));
    assert_eq!(put_file(&started.json["upload"], "image/png", menu.clone()).await, 403, "the type is signed");
    assert_eq!(put_file(&started.json["upload"], "application/pdf", menu.clone()).await, 200);
    let confirmed = p.send("POST", &format!("{attachments}/{file}/confirm"), None, &a, &[]).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.json);
    assert_eq!(confirmed.json["version"], 2);
    let again = p.send("POST", &format!("{attachments}/{file}/confirm"), None, &a, &[]).await;
    assert_eq!(again.json["attachments"].as_array().unwrap().len(), 1, "confirming twice adds it once");

    // Everyone sees that there is a file; only logged-in readers get it.
    let public = p.get(&format!("/api/towns/{TOWN}/news/{id}"), None).await;
    assert_eq!(
        public.json["attachments"],
        json!([{"id": file, "file_name": "Menus décembre.pdf", "content_type": "application/pdf", "size": menu.len()}])
    );
    let download = format!("/api/towns/{TOWN}/news/{id}/attachments/{file}");
    assert_problem(&p.get(&download, None).await, 401, "unauthenticated");
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let link = p.get(&download, Some(&sophie)).await;
    assert_eq!(link.status, 200, "{:?}", link.json);
    let got = reqwest::get(link.json["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(got.bytes().await.unwrap().to_vec(), menu);
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/news/{id}/attachments/inconnue"), Some(&sophie)).await,
        404,
        "unknown_attachment",
    );

    // A file that is not what it claims is refused and deleted; bad input changes nothing.
    let fake = b"MZ\x90\x00 not a picture".to_vec();
    let s = p
        .send(
            "POST",
            &attachments,
            Some(json!({"file_name": "photo.png", "content_type": "image/png", "size": fake.len()})),
            &a,
            &[],
        )
        .await;
    assert_eq!(put_file(&s.json["upload"], "image/png", fake).await, 200);
    let bad = p.send("POST", &format!("{attachments}/{}/confirm", s.json["id"].as_str().unwrap()), None, &a, &[]).await;
    assert_problem(&bad, 422, "file_content_mismatch");
    for (body, code) in [
        (json!({"file_name": "a/b.pdf", "content_type": "application/pdf", "size": 10}), "invalid_file_name"),
        (json!({"file_name": "a.gif", "content_type": "image/gif", "size": 10}), "unsupported_file_type"),
        (json!({"file_name": "a.pdf", "content_type": "application/pdf", "size": 0}), "empty_file"),
        (
            json!({"file_name": "a.pdf", "content_type": "application/pdf", "size": 10 * 1024 * 1024 + 1}),
            "file_too_large",
        ),
    ] {
        assert_problem(&p.send("POST", &attachments, Some(body), &a, &[]).await, 422, code);
    }
    let sophie_tries = p
        .send(
            "POST",
            &attachments,
            Some(json!({"file_name": "a.pdf", "content_type": "application/pdf", "size": 10})),
            &sophie,
            &[],
        )
        .await;
    assert_problem(&sophie_tries, 403, "forbidden");
    let still = p.get(&format!("/api/towns/{TOWN}/news/{id}"), None).await;
    assert_eq!(still.json["attachments"].as_array().unwrap().len(), 1);

    // Removing it deletes the file too (audited); so does deleting the article.
    let object = edge::files::Files::news_key(&domain::TownId::parse(TOWN).unwrap(), &id, &file);
    assert!(p.files.head(&object).await.unwrap().is_some());
    let removed = p.send("DELETE", &format!("{attachments}/{file}"), None, &a, &[]).await;
    assert_eq!((removed.status, removed.json["attachments"].clone()), (200, Value::Null));
    assert_eq!(p.files.head(&object).await.unwrap(), None);
    let admin = admin(&p).await;
    let audit = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&admin)).await;
    let actions: Vec<_> =
        audit.json["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"news.attach") && actions.contains(&"news.detach"), "{actions:?}");
    let s = p
        .send(
            "POST",
            &attachments,
            Some(json!({"file_name": "règlement.pdf", "content_type": "application/pdf", "size": menu.len()})),
            &a,
            &[],
        )
        .await;
    assert_eq!(put_file(&s.json["upload"], "application/pdf", menu).await, 200);
    let second = s.json["id"].as_str().unwrap();
    assert_eq!(p.send("POST", &format!("{attachments}/{second}/confirm"), None, &a, &[]).await.status, 200);
    assert_eq!(p.send("DELETE", &format!("/api/towns/{TOWN}/staff/news/{id}"), None, &a, &[]).await.status, 204);
    let kept = edge::files::Files::news_key(&domain::TownId::parse(TOWN).unwrap(), &id, second);
    assert_eq!(p.files.head(&kept).await.unwrap(), None);
}
