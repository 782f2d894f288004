//! « Créer mon espace famille » end to end, on both stores: a new family asks for an account;
//! staff accept it (the family and its children are created, the activation email goes out as
//! for an imported family, the guardian activates, signs in and sees the children) or refuse it
//! (the reason is emailed); a request from an email the town knows answers the same, in the
//! same time, and creates nothing; bad input is refused naming the field, nothing stored; a
//! guardian and another town are refused on the staff routes. The proof of address goes to S3
//! as a document does, is checked by its content, opened by staff and deleted by the decision;
//! for a request that is not stored it is checked the same and kept nowhere.

use crate::helpers::{TOWN, TestPortal, assert_problem, other_town_admin, portal_on};
use serde_json::{Value, json};
use std::time::Instant;
use store::{Query, SkRange, Store, keys};

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const AGENT: &str = "agent@villeneuve-les-tilleuls.fr";
const SOPHIE: &str = "sophie.martin@exemple.fr";
const NADIA: &str = "nadia.benali@exemple.fr";

crate::helpers::both_backends!(
    a_request_accepted_creates_the_family_and_its_guardian_signs_in,
    a_request_refused_is_emailed_with_the_reason,
    a_known_email_gets_the_same_answer_and_no_new_account,
    bad_input_is_refused_naming_the_field_and_nothing_is_stored,
    guardians_and_other_towns_are_refused_on_the_staff_routes,
    the_proof_of_address_is_checked_opened_by_staff_and_deleted_by_the_decision,
    a_proof_that_is_not_the_file_announced_is_refused_and_deleted,
);

/// The proof of address the form sends: a small PDF.
fn proof_pdf() -> Vec<u8> {
    b"%PDF-1.7\nFacture EDF, 12 rue des Ecoles\n%%EOF\n".to_vec()
}

/// What the page does after the request's answer: the PUT straight to S3, then the check.
async fn send_proof(p: &TestPortal, answer: &Value, content_type: &str, bytes: Vec<u8>) -> crate::helpers::Reply {
    let upload = &answer["upload"];
    assert_eq!(upload["method"], "PUT", "{answer:?}");
    let put = reqwest::Client::new()
        .put(upload["url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap_or_default());
    confirm(p, answer["id"].as_str().unwrap()).await
}

async fn confirm(p: &TestPortal, id: &str) -> crate::helpers::Reply {
    p.post(&format!("{}/{id}/proof", submit_uri()), json!({}), None).await
}

fn request(email: &str) -> Value {
    json!({
        "guardians": [{"first_name": "Nadia", "last_name": "Benali", "email": email, "phone": "06 12 34 56 78"}],
        "children": [
            {"first_name": "Inès", "last_name": "Benali", "birth_date": "2019-04-02", "level": "CE1"},
            {"first_name": "Sami", "last_name": "Benali", "birth_date": "2023-01-15", "level": ""}
        ],
        "address": {"street": "12 rue des Écoles", "postcode": "59000", "city": "Villeneuve-les-Tilleuls"},
        "proof": {"file_name": "Facture EDF.pdf", "content_type": "application/pdf", "size": proof_pdf().len()},
        "message": "Nous venons d’emménager."
    })
}

fn submit_uri() -> String {
    format!("/api/towns/{TOWN}/auth/account-request")
}

fn staff(path: &str) -> String {
    format!("/api/towns/{TOWN}/staff/account-requests{path}")
}

async fn stored_requests(store: &Store) -> usize {
    let town = domain::TownId::parse(TOWN).unwrap();
    store.query_all(&Query::gsi1(keys::account_requests_pending(&town), SkRange::All)).await.unwrap().len()
}

async fn pending(p: &TestPortal) -> Vec<Value> {
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let r = p.get(&staff(""), Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json.as_array().unwrap().clone()
}

async fn a_request_accepted_creates_the_family_and_its_guardian_signs_in(store: Store) {
    let p = portal_on(store).await;
    let r = p.post(&submit_uri(), request(NADIA), None).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    assert!(p.login(TOWN, NADIA, PASSWORD).await.is_err(), "no account before staff accept");
    let list = pending(&p).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["guardians"][0]["phone"], "06 12 34 56 78");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let accepted = p.post(&staff(&format!("/{id}/accept")), json!({}), Some(&agent)).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    assert_eq!(accepted.json["status"], "accepted");
    let family = accepted.json["family"].as_str().unwrap().to_owned();
    let again = p.post(&staff(&format!("/{id}/accept")), json!({}), Some(&agent)).await;
    assert_eq!(again.status, 200, "accepting twice answers the same");
    let refused = p.post(&staff(&format!("/{id}/refuse")), json!({"reason": "non"}), Some(&agent)).await;
    assert_problem(&refused, 409, "request_decided");
    assert!(pending(&p).await.is_empty(), "an accepted request leaves the list");

    let mails = p.deliver().await;
    let activations: Vec<_> = mails.iter().filter(|m| m.to.as_str() == NADIA).collect();
    assert_eq!(activations.len(), 1, "one activation email, however often accepted");
    assert!(activations[0].content.subject.starts_with("Activez votre Espace Famille"));
    let token = p.link_token(NADIA).await;
    let r = p
        .post(
            &format!("/api/towns/{TOWN}/auth/activate"),
            json!({"token": token, "password": "une famille bien arrivée"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let nadia = p.login(TOWN, NADIA, "une famille bien arrivée").await.unwrap();
    let r = p.get(&format!("/api/towns/{TOWN}/families/{family}"), Some(&nadia)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let text = r.json.to_string();
    assert!(text.contains("Inès") && text.contains("Sami"), "{text}");
    assert!(text.contains("12 rue des Écoles"), "the address is the family's: {text}");

    let town = domain::TownId::parse(TOWN).unwrap();
    let (entries, _) = store::audit::page(&p.store, &town, 50, None).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.action == "account_request.accept").count(), 1, "audited once");
    p.stop().await;
}

async fn a_request_refused_is_emailed_with_the_reason(store: Store) {
    let p = portal_on(store).await;
    assert_eq!(p.post(&submit_uri(), request(NADIA), None).await.status, 202);
    let id = pending(&p).await[0]["id"].as_str().unwrap().to_owned();
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let r = p.post(&staff(&format!("/{id}/refuse")), json!({"reason": ""}), Some(&agent)).await;
    assert_problem(&r, 422, "required_field");
    assert_eq!(r.json["field"], "reason");
    let r = p
        .post(
            &staff(&format!("/{id}/refuse")),
            json!({"reason": "Votre adresse n’est pas sur la commune."}),
            Some(&agent),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["status"], "refused");
    let r = p.post(&staff(&format!("/{id}/accept")), json!({}), Some(&agent)).await;
    assert_problem(&r, 409, "request_decided");
    // Kept 30 days after the decision, then deleted by the store (its time to live).
    let town = domain::TownId::parse(TOWN).unwrap();
    let item = p.store.get(&keys::account_request(&town, &id)).await.unwrap().unwrap();
    let decided = p.clock.now() + chrono::TimeDelta::days(30);
    assert_eq!(item.ttl, Some(decided.timestamp()));
    assert!(item.gsi1.is_none(), "no longer listed as pending");
    let mails = p.deliver().await;
    let to_nadia: Vec<_> = mails.iter().filter(|m| m.to.as_str() == NADIA).collect();
    assert_eq!(to_nadia.len(), 1);
    assert!(to_nadia[0].content.text.contains("Votre adresse n’est pas sur la commune."));
    assert!(p.login(TOWN, NADIA, PASSWORD).await.is_err());
    let town = domain::TownId::parse(TOWN).unwrap();
    let (entries, _) = store::audit::page(&p.store, &town, 50, None).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "account_request.refuse"));
    p.stop().await;
}

async fn a_known_email_gets_the_same_answer_and_no_new_account(store: Store) {
    let p = portal_on(store).await;
    let started = Instant::now();
    let unknown = p.post(&submit_uri(), request(NADIA), None).await;
    let unknown_time = started.elapsed();
    let started = Instant::now();
    let known = p.post(&submit_uri(), request(SOPHIE), None).await;
    let known_time = started.elapsed();
    assert_eq!((unknown.status, &unknown.json["message"]), (known.status, &known.json["message"]), "the same answer");
    assert_eq!(unknown.content_type, known.content_type);
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.extend(v["upload"].as_object().unwrap().keys().map(|k| format!("upload.{k}")));
        keys.sort();
        keys
    };
    assert_eq!(shape(&unknown.json), shape(&known.json), "the same fields, an upload offered to both");
    for t in [unknown_time, known_time] {
        assert!(t.as_millis() >= 300, "each answer takes the equal answer time: {t:?}");
    }
    assert!(unknown_time.abs_diff(known_time).as_millis() < 250, "{unknown_time:?} / {known_time:?}");
    assert_eq!(stored_requests(&p.store).await, 1, "only the unknown family's request is stored");
    // The proof of address: the same check and the same answer for both; kept for the stored one only.
    let started = Instant::now();
    let unknown_proof = send_proof(&p, &unknown.json, "application/pdf", proof_pdf()).await;
    let unknown_time = started.elapsed();
    let started = Instant::now();
    let known_proof = send_proof(&p, &known.json, "application/pdf", proof_pdf()).await;
    let known_time = started.elapsed();
    assert_eq!((unknown_proof.status, &unknown_proof.json), (200, &known_proof.json), "{:?}", known_proof.json);
    assert!(unknown_time.abs_diff(known_time).as_millis() < 250, "{unknown_time:?} / {known_time:?}");
    let town = domain::TownId::parse(TOWN).unwrap();
    let kept = |id: &str| edge::files::Files::request_proof_key(&town, id);
    assert!(p.files.head(&kept(unknown.json["id"].as_str().unwrap())).await.unwrap().is_some());
    assert!(p.files.head(&kept(known.json["id"].as_str().unwrap())).await.unwrap().is_none(), "kept nowhere");
    let upload = edge::files::Files::request_proof_upload_key(&town, known.json["id"].as_str().unwrap());
    assert!(p.files.head(&upload).await.unwrap().is_none(), "the upload is deleted once checked");
    let mails = p.deliver().await;
    let to_sophie: Vec<_> = mails.iter().filter(|m| m.to.as_str() == SOPHIE).collect();
    assert_eq!(to_sophie.len(), 1, "the known address is told by email, with its link");
    assert!(to_sophie[0].content.text.contains("mot-de-passe.html"), "{}", to_sophie[0].content.text);
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    let session = p.get(&format!("/api/towns/{TOWN}/auth/session"), Some(&sophie)).await;
    assert_eq!(session.json["families"], json!(["martin"]), "no new family for a known account");
    p.stop().await;
}

async fn bad_input_is_refused_naming_the_field_and_nothing_is_stored(store: Store) {
    let p = portal_on(store).await;
    let cases: [(&str, Value, &str); 5] = [
        ("/guardians/0/phone", json!("12 34"), "guardians.0.phone"),
        ("/guardians/0/email", json!("pas-un-email"), "guardians.0.email"),
        ("/children/1/birth_date", json!("15/01/2023"), "children.1.birth_date"),
        ("/address/postcode", json!("ABCDE"), "address.postcode"),
        ("/message", json!("x".repeat(1001)), "message"),
    ];
    for (pointer, value, field) in cases {
        let mut body = request(NADIA);
        *body.pointer_mut(pointer).unwrap() = value;
        let r = p.post(&submit_uri(), body, None).await;
        assert_eq!(r.status, 422, "{field}: {:?}", r.json);
        assert_eq!(r.json["field"], field);
    }
    for (pointer, value, field) in [
        ("/proof", Value::Null, "proof"),
        ("/proof/content_type", json!("text/html"), "proof.content_type"),
        ("/proof/size", json!(11 * 1024 * 1024), "proof.size"),
        ("/proof/file_name", json!("../../secret.pdf"), "proof.file_name"),
    ] {
        let mut body = request(NADIA);
        *body.pointer_mut(pointer).unwrap() = value;
        let r = p.post(&submit_uri(), body, None).await;
        assert_eq!(r.status, 422, "{field}: {:?}", r.json);
        assert_eq!(r.json["field"], field);
    }
    let mut body = request(NADIA);
    body["surprise"] = json!(1);
    assert_eq!(p.post(&submit_uri(), body, None).await.status, 422, "unknown fields are refused");
    assert_eq!(stored_requests(&p.store).await, 0, "nothing stored");
    assert!(p.deliver().await.iter().all(|m| m.to.as_str() != NADIA), "nothing sent");
    p.stop().await;
}

async fn guardians_and_other_towns_are_refused_on_the_staff_routes(store: Store) {
    let p = portal_on(store).await;
    assert_eq!(p.post(&submit_uri(), request(NADIA), None).await.status, 202);
    let id = pending(&p).await[0]["id"].as_str().unwrap().to_owned();
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    assert_eq!(p.get(&staff(""), Some(&sophie)).await.status, 403);
    for action in ["accept", "refuse"] {
        let r = p.post(&staff(&format!("/{id}/{action}")), json!({"reason": "x"}), Some(&sophie)).await;
        assert_eq!(r.status, 403, "a guardian may not {action}");
    }
    let r = p.get(&staff(&format!("/{id}/proof")), Some(&sophie)).await;
    assert_eq!(r.status, 403, "a guardian may not open a proof of address");
    let other = other_town_admin(&p).await;
    let r = p.get(&format!("/api/towns/autre-ville/staff/account-requests/{id}/proof"), Some(&other)).await;
    assert_eq!(r.status, 404, "another town may not open it: {:?}", r.json);
    let r = p.get(&staff(""), Some(&other)).await;
    assert!(matches!(r.status, 401 | 403 | 404), "another town's staff: {}", r.status);
    let r = p.get("/api/towns/autre-ville/staff/account-requests", Some(&other)).await;
    assert_eq!(r.json, json!([]), "another town sees none of this town's requests");
    for action in ["accept", "refuse"] {
        let r = p
            .post(
                &format!("/api/towns/autre-ville/staff/account-requests/{id}/{action}"),
                json!({"reason": "x"}),
                Some(&other),
            )
            .await;
        assert_eq!(r.status, 404, "another town may not {action}: {:?}", r.json);
    }
    assert_eq!(pending(&p).await.len(), 1, "still pending");
    p.stop().await;
}

async fn the_proof_of_address_is_checked_opened_by_staff_and_deleted_by_the_decision(store: Store) {
    let p = portal_on(store).await;
    let answer = p.post(&submit_uri(), request(NADIA), None).await;
    assert_eq!(answer.status, 202, "{:?}", answer.json);
    let id = answer.json["id"].as_str().unwrap().to_owned();
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    // Before the family sends it: nothing to check, nothing to open.
    assert_problem(&confirm(&p, &id).await, 409, "file_not_received");
    assert_problem(&p.get(&staff(&format!("/{id}/proof")), Some(&agent)).await, 404, "proof_not_received");
    assert_eq!(pending(&p).await[0]["proof"]["received_at"], Value::Null);

    let r = send_proof(&p, &answer.json, "application/pdf", proof_pdf()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["message"], "Votre justificatif de domicile est bien reçu.");
    let listed = pending(&p).await;
    assert_eq!(listed[0]["proof"]["file_name"], "Facture EDF.pdf");
    assert_eq!(listed[0]["proof"]["received_at"], json!(p.clock.now()));
    let link = p.get(&staff(&format!("/{id}/proof")), Some(&agent)).await;
    assert_eq!(link.status, 200, "{:?}", link.json);
    let got = reqwest::get(link.json["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), proof_pdf(), "staff read what the family sent");

    let accepted = p.post(&staff(&format!("/{id}/accept")), json!({}), Some(&agent)).await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    let town = domain::TownId::parse(TOWN).unwrap();
    let kept = edge::files::Files::request_proof_key(&town, &id);
    assert!(p.files.head(&kept).await.unwrap().is_none(), "deleted once decided");
    assert_problem(&p.get(&staff(&format!("/{id}/proof")), Some(&agent)).await, 404, "proof_not_received");
    p.stop().await;
}

async fn a_proof_that_is_not_the_file_announced_is_refused_and_deleted(store: Store) {
    let p = portal_on(store).await;
    // A page announced as a PDF, of the announced length.
    let page = b"%PDF-<html><script>alert(1)</script></html>".to_vec();
    let mut body = request(NADIA);
    body["proof"]["size"] = json!(page.len());
    let answer = p.post(&submit_uri(), body, None).await;
    assert_eq!(answer.status, 202, "{:?}", answer.json);
    let id = answer.json["id"].as_str().unwrap().to_owned();
    let r = send_proof(&p, &answer.json, "application/pdf", page).await;
    assert_problem(&r, 422, "file_content_mismatch");
    let town = domain::TownId::parse(TOWN).unwrap();
    assert!(p.files.head(&edge::files::Files::request_proof_upload_key(&town, &id)).await.unwrap().is_none());
    assert!(p.files.head(&edge::files::Files::request_proof_key(&town, &id)).await.unwrap().is_none());
    assert_eq!(pending(&p).await[0]["proof"]["received_at"], Value::Null, "still waiting for a good copy");
    // An id that is no request's, or not an id at all: the same answer as a missing upload.
    assert_problem(&confirm(&p, &"0".repeat(32)).await, 409, "file_not_received");
    assert_problem(&confirm(&p, "pas-un-identifiant").await, 409, "file_not_received");
    p.stop().await;
}
