//! « Mes demandes »: files go straight to the local S3 server (which checks signatures like S3),
//! are checked at confirmation, decided by staff, emailed about, kept apart between families
//! and towns, withdrawn and purged.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal};
use domain::{FamilyRef, TownId};
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const SOPHIE: &str = "sophie.martin@exemple.fr";
const CLAIRE: &str = "claire.bernard@exemple.fr";

/// A small valid PDF and PNG (a 1×1 grey pixel).
pub(crate) fn pdf() -> Vec<u8> {
    let mut v = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    v.extend(std::iter::repeat_n(b'x', 2000));
    v.extend(b"\n%%EOF\n");
    v
}
fn png() -> Vec<u8> {
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0\x3a\x7e\x9b\x55\0\0\0\x0aIDAT\x78\x9c\x63\x60\0\0\0\x02\0\x01\x48\xaf\xa4\x71\0\0\0\0IEND\xae\x42\x60\x82"
        .to_vec()
}

async fn login(p: &TestPortal, email: &str) -> Browser {
    p.login(TOWN, email, PASSWORD).await.unwrap()
}

fn docs_of(family: &str) -> String {
    format!("/api/towns/{TOWN}/families/{family}/documents")
}

/// Asks to send a file; the reply.
async fn start(p: &TestPortal, b: &Browser, family: &str, body: Value) -> crate::helpers::Reply {
    p.send("POST", &docs_of(family), Some(body), b, &[]).await
}

fn certificate(bytes: &[u8]) -> Value {
    json!({
        "kind": "certificat-absence", "child": "lea-martin", "file_name": "Certificat Léa.pdf",
        "content_type": "application/pdf", "size": bytes.len(),
        "absence": {"from": "2026-11-16", "to": "2026-11-20"}
    })
}

/// What the browser does with the upload it was given: a PUT straight to S3.
async fn put(upload: &Value, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
    assert_eq!(upload["method"], "PUT");
    reqwest::Client::new()
        .put(upload["url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// Sends a file the whole way: ask, PUT, confirm; the confirmed document.
pub(crate) async fn send_file(p: &TestPortal, b: &Browser, family: &str, body: Value, bytes: Vec<u8>) -> Value {
    let started = start(p, b, family, body.clone()).await;
    assert_eq!(started.status, 201, "{:?}", started.json);
    let put = put(&started.json["upload"], body["content_type"].as_str().unwrap(), bytes).await;
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap_or_default());
    let id = started.json["document"]["id"].as_str().unwrap();
    let confirmed = p.send("POST", &format!("{}/{id}/confirm", docs_of(family)), None, b, &[]).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.json);
    confirmed.json
}

fn town() -> TownId {
    TownId::parse(TOWN).unwrap()
}

#[tokio::test]
async fn a_guardian_sends_a_pdf_and_a_photo_staff_accept_one_refuse_the_other_and_the_family_is_told() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let settings = p.get(&format!("/api/towns/{TOWN}/documents/settings"), Some(&sophie)).await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.json["max_bytes"], 10 * 1024 * 1024);
    assert!(settings.json["kinds"].as_array().unwrap().iter().any(|k| k["id"] == "certificat-absence"));

    let cert = send_file(&p, &sophie, "martin", certificate(&pdf()), pdf()).await;
    assert_eq!((cert["status"].as_str(), cert["child_name"].as_str()), (Some("pending"), Some("Léa Martin")));
    p.clock.advance(chrono::TimeDelta::minutes(1));
    let yearly =
        json!({"kind": "dossier-annuel", "file_name": "dossier.png", "content_type": "image/png", "size": png().len()});
    let photo = send_file(&p, &sophie, "martin", yearly, png()).await;
    // Confirming again is harmless.
    let again = p
        .send("POST", &format!("{}/{}/confirm", docs_of("martin"), photo["id"].as_str().unwrap()), None, &sophie, &[])
        .await;
    assert_eq!((again.status, again.json["status"].as_str()), (200, Some("pending")));

    // Staff see both waiting, open the certificate, accept it; refuse the photo with a reason.
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/documents"), Some(&agent)).await;
    assert_eq!(queue.status, 200);
    let names: Vec<_> = queue.json.as_array().unwrap().iter().map(|d| d["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Certificat Léa.pdf", "dossier.png"]);
    assert_eq!(queue.json[0]["family_name"], "Famille Martin");
    let cert_id = cert["id"].as_str().unwrap();
    let link = p.get(&format!("{}/{cert_id}/download", docs_of("martin")), Some(&agent)).await;
    assert_eq!(link.status, 200, "{:?}", link.json);
    let got = reqwest::get(link.json["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf());

    let decide = |id: &str, body: Value| {
        let uri = format!("/api/towns/{TOWN}/staff/documents/martin/{id}/decision");
        let (p, agent) = (&p, &agent);
        async move { p.send("POST", &uri, Some(body), agent, &[]).await }
    };
    let accepted = decide(cert_id, json!({"decision": "accept"})).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    // Léa was booked at the canteen on 16, 17 and 19 November (present, absent, absent with a
    // certificate already): the certificate justifies the 17th only.
    assert_eq!(accepted.json["justified_bookings"], 1);
    let lea = domain::ChildId::parse("lea-martin").unwrap();
    let week =
        store::repo::bookings(&p.store, &town(), &lea, "2026-11-16".parse().unwrap(), "2026-11-20".parse().unwrap())
            .await
            .unwrap();
    let marks: Vec<_> = week.iter().map(|b| (b.date.to_string(), b.attendance)).collect();
    use domain::booking::Attendance::*;
    assert_eq!(
        marks,
        [
            ("2026-11-16".to_owned(), Some(Present)),
            ("2026-11-17".to_owned(), Some(AbsentJustified)),
            ("2026-11-19".to_owned(), Some(AbsentJustified))
        ]
    );
    let refuse_without_reason = decide(photo["id"].as_str().unwrap(), json!({"decision": "refuse"})).await;
    assert_problem(&refuse_without_reason, 422, "reason_required");
    let refused =
        decide(photo["id"].as_str().unwrap(), json!({"decision": "refuse", "reason": "Le dossier n'est pas signé."}))
            .await;
    assert_eq!(refused.status, 200);
    assert_problem(&decide(cert_id, json!({"decision": "refuse", "reason": "x"})).await, 409, "document_decided");

    // The guardian sees both outcomes, the reason, and was emailed (both guardians, twice).
    let mine = p.get(&docs_of("martin"), Some(&sophie)).await;
    let seen: Vec<_> = mine
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["file_name"].as_str().unwrap(), d["status"].as_str().unwrap(), d["reason"].as_str()))
        .collect();
    assert!(seen.contains(&("Certificat Léa.pdf", "accepted", None)), "{seen:?}");
    assert!(seen.contains(&("dossier.png", "refused", Some("Le dossier n'est pas signé."))), "{seen:?}");
    let mails = p.deliver().await;
    let subjects = |to: &str| -> Vec<String> {
        mails.iter().filter(|m| m.to.as_str() == to).map(|m| m.content.subject.clone()).collect()
    };
    for to in [SOPHIE, "julien.martin@exemple.fr"] {
        let s = subjects(to);
        assert_eq!(s.iter().filter(|s| s.starts_with("Document accepté")).count(), 1, "{s:?}");
        assert_eq!(s.iter().filter(|s| s.starts_with("Document refusé")).count(), 1, "{s:?}");
    }
    let refusal = mails.iter().find(|m| m.content.subject.starts_with("Document refusé")).unwrap();
    assert!(refusal.content.text.contains("Motif\u{202f}: Le dossier n'est pas signé."), "{}", refusal.content.text);
    assert!(refusal.content.text.contains("/demandes.html"));

    // The accepted certificate expires for nobody (no validity); the town's audit has both.
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let audit = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&admin)).await;
    let actions: Vec<_> =
        audit.json["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "documents.decide").count(), 2, "{actions:?}");
    assert!(actions.contains(&"attendance.justify"));
}

#[tokio::test]
async fn the_signed_url_refuses_another_type_another_length_tampering_and_expiry() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let body = pdf();
    let started = start(&p, &sophie, "martin", certificate(&body)).await;
    assert_eq!(started.status, 201, "{:?}", started.json);
    let upload = &started.json["upload"];
    let url = upload["url"].as_str().unwrap();
    // The key is the server's, under the town and the family; the type and the length are signed.
    assert!(url.contains(&format!("/documents/uploads/{TOWN}/martin/")), "{url}");
    assert!(url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), "{url}");
    assert_eq!(upload["headers"]["content-type"], "application/pdf");

    assert_eq!(put(upload, "image/png", body.clone()).await.status(), 403, "another type");
    let mut longer = body.clone();
    longer.push(b'\n');
    assert_eq!(put(upload, "application/pdf", longer).await.status(), 403, "another length");
    let tampered = json!({"method": "PUT", "url": url.replace("/martin/", "/bernard/")});
    assert_eq!(put(&tampered, "application/pdf", body.clone()).await.status(), 403, "another key");
    let sig = url.rfind("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[sig..sig + 1] == "0" { "1" } else { "0" };
    let forged = json!({"method": "PUT", "url": format!("{}{flipped}{}", &url[..sig], &url[sig + 1..])});
    assert_eq!(put(&forged, "application/pdf", body.clone()).await.status(), 403, "another signature");
    // Nothing arrived: confirming says so.
    let id = started.json["document"]["id"].as_str().unwrap();
    let early = p.send("POST", &format!("{}/{id}/confirm", docs_of("martin")), None, &sophie, &[]).await;
    assert_problem(&early, 409, "file_not_received");

    // An expired URL (the same signing code with a one-second life).
    let mut short = p.files.clone();
    short.url_ttl = Duration::from_secs(1);
    let key = edge::files::Files::upload_key(&town(), &FamilyRef::parse("martin").unwrap(), "expiry-test");
    let presigned = short.presign_put(&key, domain::documents::FileType::Pdf, body.len() as u64).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let late = json!({"method": "PUT", "url": presigned.url});
    assert_eq!(put(&late, "application/pdf", body.clone()).await.status(), 403, "expired");
    assert_eq!(short.head(&key).await.unwrap(), None);

    // The right file with the right URL goes through.
    assert_eq!(put(upload, "application/pdf", body).await.status(), 200);
}

#[tokio::test]
async fn a_file_that_is_not_what_it_claims_is_rejected_at_confirmation_and_deleted() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".repeat(10);
    let body = json!({"kind": "dossier-annuel", "file_name": "dossier.pdf", "content_type": "application/pdf", "size": exe.len()});
    let started = start(&p, &sophie, "martin", body).await;
    assert_eq!(started.status, 201);
    assert_eq!(put(&started.json["upload"], "application/pdf", exe).await.status(), 200, "S3 takes any bytes");
    let id = started.json["document"]["id"].as_str().unwrap();
    let confirmed = p.send("POST", &format!("{}/{id}/confirm", docs_of("martin")), None, &sophie, &[]).await;
    assert_problem(&confirmed, 422, "file_content_mismatch");
    assert!(confirmed.json["title"].as_str().unwrap().contains("n’est pas un PDF valide"));
    let key = edge::files::Files::upload_key(&town(), &FamilyRef::parse("martin").unwrap(), id);
    assert_eq!(p.files.head(&key).await.unwrap(), None, "the file is deleted");
    assert_problem(&p.get(&format!("{}/{id}", docs_of("martin")), Some(&sophie)).await, 404, "unknown_document");
    assert_eq!(p.get(&docs_of("martin"), Some(&sophie)).await.json, json!([]));
}

#[tokio::test]
async fn families_and_towns_are_kept_apart() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let claire = login(&p, CLAIRE).await;
    let cert = send_file(&p, &sophie, "martin", certificate(&pdf()), pdf()).await;
    let id = cert["id"].as_str().unwrap();

    // Claire (famille Bernard) can neither send for the Martins nor reach their document.
    assert_problem(&start(&p, &claire, "martin", certificate(&pdf())).await, 404, "unknown_family");
    assert_problem(&p.get(&format!("{}/{id}/download", docs_of("martin")), Some(&claire)).await, 404, "unknown_family");
    assert_problem(
        &p.get(&format!("{}/{id}/download", docs_of("bernard")), Some(&claire)).await,
        404,
        "unknown_document",
    );
    let confirm = p.send("POST", &format!("{}/{id}/confirm", docs_of("bernard")), None, &claire, &[]).await;
    assert_problem(&confirm, 404, "unknown_document");
    assert_problem(
        &p.send("DELETE", &format!("{}/{id}", docs_of("bernard")), None, &claire, &[]).await,
        404,
        "unknown_document",
    );
    // Nor for a child of another family, nor choose the key.
    let mut other_child = certificate(&pdf());
    other_child["child"] = json!("lea-martin");
    assert_problem(&start(&p, &claire, "bernard", other_child).await, 422, "unknown_child");
    let mut with_key = certificate(&pdf());
    with_key["child"] = json!("noe-bernard-petit");
    with_key["key"] = json!("documents/villeneuve-les-tilleuls/martin/x");
    assert_eq!(start(&p, &claire, "bernard", with_key).await.status, 422);
    // Guardians get 403 on staff routes; town B's administrator sees nothing of town A.
    let staff_list = format!("/api/towns/{TOWN}/staff/documents");
    assert_problem(&p.get(&staff_list, Some(&claire)).await, 403, "forbidden");
    let other = crate::helpers::other_town_admin(&p).await;
    assert_problem(&p.get(&staff_list, Some(&other)).await, 401, "unauthenticated");
    assert_problem(&p.get(&format!("{}/{id}/download", docs_of("martin")), Some(&other)).await, 401, "unauthenticated");
    let theirs = p.get("/api/towns/autre-ville/staff/documents", Some(&other)).await;
    assert_eq!((theirs.status, theirs.json.clone()), (200, json!([])));
    // Without a session, nothing at all.
    assert_problem(&p.get(&docs_of("martin"), None).await, 401, "unauthenticated");
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_leave_nothing_behind() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let good =
        json!({"kind": "dossier-annuel", "file_name": "dossier.pdf", "content_type": "application/pdf", "size": 1000});
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    let cases = [
        (with("kind", json!("passeport")), 422, "unknown_kind"),
        (with("kind", json!("../x")), 422, "unknown_kind"),
        (with("size", json!(0)), 422, "empty_file"),
        (with("size", json!(10 * 1024 * 1024 + 1)), 422, "file_too_large"),
        (with("file_name", json!("../../etc/passwd")), 422, "invalid_file_name"),
        (with("file_name", json!("C:\\dossier.pdf")), 422, "invalid_file_name"),
        // Control characters are refused at the edge, in every field of every body.
        (with("file_name", json!("dossier\u{0}.pdf")), 422, "invalid_characters"),
        (with("file_name", json!("dos\nsier.pdf")), 422, "invalid_file_name"),
        (with("file_name", json!("")), 422, "invalid_file_name"),
        (with("content_type", json!("image/gif")), 422, "unsupported_file_type"),
        (with("content_type", json!("application/x-msdownload")), 422, "unsupported_file_type"),
        (with("child", json!("lea-martin")), 422, "child_not_expected"),
        (with("kind", json!("dispense-medicale")), 422, "child_required"),
        (with("kind", json!("certificat-absence")), 422, "child_required"),
    ];
    for (body, status, code) in cases {
        let r = start(&p, &sophie, "martin", body.clone()).await;
        assert_problem(&r, status, code);
        assert!(r.json["field"].is_string(), "{body}: {:?}", r.json);
    }
    let mut no_absence = certificate(&pdf());
    no_absence.as_object_mut().unwrap().remove("absence");
    assert_problem(&start(&p, &sophie, "martin", no_absence).await, 422, "absence_required");
    let mut long_absence = certificate(&pdf());
    long_absence["absence"] = json!({"from": "2026-11-01", "to": "2026-12-15"});
    assert_problem(&start(&p, &sophie, "martin", long_absence).await, 422, "invalid_absence");
    assert_eq!(start(&p, &sophie, "martin", with("size", json!(-1))).await.status, 422);
    assert_eq!(start(&p, &sophie, "martin", with("size", json!("1000"))).await.status, 422);
    let no_csrf = crate::helpers::call(
        &p.router,
        "POST",
        &docs_of("martin"),
        &[("cookie", sophie.cookie.as_str()), ("content-type", "application/json")],
        Some(good.to_string().into_bytes()),
    )
    .await;
    assert_problem(&no_csrf, 403, "csrf_token_invalid");
    // Nothing was recorded.
    let stored = p
        .store
        .query_all(&store::Query::table(format!("T#{TOWN}#F#martin"), store::SkRange::Prefix("DOC#".into())))
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}

#[tokio::test]
async fn a_guardian_withdraws_a_pending_document_and_decided_ones_are_purged_after_their_retention() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let yearly = || json!({"kind": "dossier-annuel", "file_name": "dossier.png", "content_type": "image/png", "size": png().len()});
    let first = send_file(&p, &sophie, "martin", yearly(), png()).await;
    let id = first["id"].as_str().unwrap();
    let kept = edge::files::Files::document_key(&town(), &FamilyRef::parse("martin").unwrap(), id);
    assert!(p.files.head(&kept).await.unwrap().is_some());
    assert_eq!(p.send("DELETE", &format!("{}/{id}", docs_of("martin")), None, &sophie, &[]).await.status, 204);
    assert_eq!(p.files.head(&kept).await.unwrap(), None);
    assert_eq!(p.get(&docs_of("martin"), Some(&sophie)).await.json, json!([]));

    // Accepted for a year, kept 365 more days by default; refused, kept 30 days.
    let accepted = send_file(&p, &sophie, "martin", yearly(), png()).await;
    let refused = send_file(&p, &sophie, "martin", yearly(), png()).await;
    let decision = |id: &str| format!("/api/towns/{TOWN}/staff/documents/martin/{id}/decision");
    let a = p
        .send("POST", &decision(accepted["id"].as_str().unwrap()), Some(json!({"decision": "accept"})), &admin, &[])
        .await;
    assert_eq!(
        (a.json["valid_until"].as_str(), a.json["delete_on"].as_str()),
        (Some("2027-11-26"), Some("2028-11-25"))
    );
    let r = p
        .send(
            "POST",
            &decision(refused["id"].as_str().unwrap()),
            Some(json!({"decision": "refuse", "reason": "Illisible."})),
            &admin,
            &[],
        )
        .await;
    assert_eq!(r.json["delete_on"], "2026-12-26");
    let withdraw = p
        .send("DELETE", &format!("{}/{}", docs_of("martin"), accepted["id"].as_str().unwrap()), None, &sophie, &[])
        .await;
    assert_problem(&withdraw, 409, "document_decided");

    let purge = format!("/api/towns/{TOWN}/staff/documents/purge");
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    assert_problem(&p.send("POST", &purge, None, &agent, &[]).await, 403, "forbidden");
    assert_eq!(p.send("POST", &purge, None, &admin, &[]).await.json["deleted"], 0);
    p.clock.advance(chrono::TimeDelta::days(31));
    // (Sessions do not last that long: log in again after each jump.)
    let (sophie, admin) = (login(&p, SOPHIE).await, login(&p, "mairie@villeneuve-les-tilleuls.fr").await);
    assert_eq!(p.send("POST", &purge, None, &admin, &[]).await.json["deleted"], 1);
    let left: Vec<_> = p
        .get(&docs_of("martin"), Some(&sophie))
        .await
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(left, [accepted["id"].clone()]);
    // A year later the accepted one shows as expired; another year, it is gone with its file.
    p.clock.advance(chrono::TimeDelta::days(366));
    let sophie = login(&p, SOPHIE).await;
    let shown = p.get(&docs_of("martin"), Some(&sophie)).await;
    assert_eq!(shown.json[0]["status"], "expired");
    p.clock.advance(chrono::TimeDelta::days(366));
    let (sophie, admin) = (login(&p, SOPHIE).await, login(&p, "mairie@villeneuve-les-tilleuls.fr").await);
    assert_eq!(p.send("POST", &purge, None, &admin, &[]).await.json["deleted"], 1);
    assert_eq!(p.get(&docs_of("martin"), Some(&sophie)).await.json, json!([]));
    let file = edge::files::Files::document_key(
        &town(),
        &FamilyRef::parse("martin").unwrap(),
        accepted["id"].as_str().unwrap(),
    );
    assert_eq!(p.files.head(&file).await.unwrap(), None);
    // Staff deletion is audited.
    let again = send_file(&p, &sophie, "martin", yearly(), png()).await;
    let del = format!("/api/towns/{TOWN}/staff/documents/martin/{}", again["id"].as_str().unwrap());
    assert_eq!(p.send("DELETE", &del, None, &admin, &[]).await.status, 204);
    let audit = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&admin)).await;
    assert_eq!(audit.json["entries"][0]["action"], "documents.delete");
}

/// The name a document is kept and downloaded under ends with its checked type's extension,
/// whatever the device called it; a file is checked whole (an HTML page that starts with
/// `%PDF`, a PDF cut short, a PNG without its end are not what they claim).
#[tokio::test]
async fn a_documents_name_takes_its_checked_types_extension_and_the_whole_file_is_checked() {
    let p = portal().await;
    let sophie = login(&p, SOPHIE).await;
    let named = |name: &str, content_type: &str, size: usize| json!({"kind": "dossier-annuel", "file_name": name, "content_type": content_type, "size": size});
    let cases = [
        ("certificat.html", "application/pdf", pdf(), "certificat.pdf"),
        ("x.svg", "application/pdf", pdf(), "x.pdf"),
        ("x.exe", "application/pdf", pdf(), "x.pdf"),
        ("Dossier.PDF", "application/pdf", pdf(), "Dossier.pdf"),
        ("photo", "image/png", png(), "photo.png"),
        ("photo.jpeg.html", "image/png", png(), "photo.jpeg.png"),
    ];
    for (name, content_type, bytes, kept) in cases {
        let doc = send_file(&p, &sophie, "martin", named(name, content_type, bytes.len()), bytes).await;
        assert_eq!(doc["file_name"], kept, "{name}");
        let id = doc["id"].as_str().unwrap();
        let link = p.get(&format!("{}/{id}/download", docs_of("martin")), Some(&sophie)).await;
        let got = reqwest::get(link.json["url"].as_str().unwrap()).await.unwrap();
        let disposition = got.headers()["content-disposition"].to_str().unwrap().to_owned();
        let encoded = percent_encode(kept);
        assert!(disposition.ends_with(&format!("''{encoded}")), "{name}: {disposition}");
    }
    let html = b"%PDF-1.7\n<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n%%EOF\n";
    let mut cut = pdf();
    cut.truncate(cut.len() - 7);
    let mut endless_png = png();
    endless_png.truncate(endless_png.len() - 12);
    let mut jpeg_head_only = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    jpeg_head_only.extend(b"<html><script>x</script></html>");
    let refused = [
        ("certificat.pdf", "application/pdf", html.to_vec()),
        ("coupe.pdf", "application/pdf", cut),
        ("photo.png", "image/png", endless_png),
        ("photo.jpg", "image/jpeg", jpeg_head_only),
    ];
    for (name, content_type, bytes) in refused {
        let started = start(&p, &sophie, "martin", named(name, content_type, bytes.len())).await;
        assert_eq!(started.status, 201, "{:?}", started.json);
        assert_eq!(put(&started.json["upload"], content_type, bytes).await.status(), 200);
        let id = started.json["document"]["id"].as_str().unwrap();
        let confirmed = p.send("POST", &format!("{}/{id}/confirm", docs_of("martin")), None, &sophie, &[]).await;
        assert_problem(&confirmed, 422, "file_content_mismatch");
    }
    p.stop().await;
}

fn percent_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
