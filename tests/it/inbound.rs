//! Documents by email, end to end through the local twin of SES receiving (`POST
//! /dev/mail/inbound`: the message stored under `inbound/`, then `InboundMailFunction`'s own
//! code): Sophie emails Léa's certificate for yesterday's reported absence, it is in « Mes
//! demandes », in the agent's queue and matched to the day; a spoofed message is answered once
//! and stores nothing; each kind of bad input gets its outcome and leaves nothing behind.

use crate::helpers::{TOWN, TestPortal, call, portal_on};
use crate::operations::{booking, d, ensure_booked};
use serde_json::{Value, json};
use store::Store;

crate::helpers::both_backends!(
    a_certificate_by_email_lands_in_mes_demandes_matched_to_the_reported_day,
    bad_messages_store_nothing_and_get_one_answer,
);

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const SOPHIE: &str = "sophie.martin@exemple.fr";
const TO: &str = "justificatifs@villeneuve-les-tilleuls.fr";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes().chunks(76).map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap())).collect()
}

/// A message from `from` with `subject`, a text body and attachments (name, type, bytes).
fn eml(from: &str, subject: &str, body: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: {TO}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    for (name, ctype, bytes) in files {
        m.push_str(&format!(
            "--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            b64(bytes)
        ));
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

/// Posts the message to the twin; its outcome (`Debug` of `documents::inbound::Outcome`).
async fn receive(p: &TestPortal, raw: Vec<u8>, query: &str) -> String {
    let r =
        call(&p.router, "POST", &format!("/dev/mail/inbound{query}"), &[("content-type", "message/rfc822")], Some(raw))
            .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json["outcome"].as_str().unwrap().to_owned()
}

async fn documents_of(p: &TestPortal, family: &str) -> Vec<Value> {
    let staff = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let r = p.get(&format!("/api/towns/{TOWN}/families/{family}/documents"), Some(&staff)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json.as_array().unwrap().clone()
}

async fn answers_to(p: &TestPortal, to: &str) -> usize {
    p.deliver()
        .await
        .iter()
        .filter(|m| m.to.as_str() == to && m.content.subject.starts_with("Envoyer un document au service enfance"))
        .count()
}

async fn a_certificate_by_email_lands_in_mes_demandes_matched_to_the_reported_day(store: Store) {
    let p = portal_on(store.clone()).await;
    let tue = d("2026-12-01");
    let lea = ensure_booked(&store, "martin", "lea-martin", "restauration", "ecole-jules-ferry", "cantine", tue).await;
    // Tuesday 7:30: Sophie reports Léa ill (« Mon enfant est malade »).
    p.clock.set("2026-12-01T06:30:00Z".parse().unwrap());
    let sophie = p.login(TOWN, SOPHIE, PASSWORD).await.unwrap();
    let r = p
        .post(
            &format!("/api/towns/{TOWN}/families/martin/absences"),
            json!({"child": "lea-martin", "from": tue, "reason": "Fièvre"}),
            Some(&sophie),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // Wednesday morning she emails the certificate for « hier ».
    p.clock.set("2026-12-02T08:00:00Z".parse().unwrap());
    let raw = eml(
        "Sophie Martin <sophie.martin@exemple.fr>",
        "Certificat médical",
        "Bonjour,\r\nveuillez trouver le certificat de Léa, absente hier.\r\nSophie Martin",
        &[("Certificat Léa.pdf", "application/pdf", &crate::documents::pdf())],
    );
    let outcome = receive(&p, raw.clone(), "").await;
    assert!(outcome.starts_with("Filed"), "{outcome}");

    let docs = documents_of(&p, "martin").await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    let doc = &docs[0];
    assert_eq!(doc["kind"], "certificat-absence");
    assert_eq!(doc["child"], "lea-martin");
    assert_eq!(doc["status"], "pending");
    assert_eq!(doc["absence"], json!({"from": "2026-12-01", "to": "2026-12-01"}));
    assert_eq!(doc["sent_by"], SOPHIE);
    assert_eq!(doc["file_name"], "Certificat Léa.pdf");
    assert_eq!(doc["justified_bookings"], 1, "the reported day is justified at once");
    assert_eq!(
        booking(&store, &lea, "cantine", tue).await.attendance,
        Some(domain::booking::Attendance::AbsentJustified)
    );
    // In the agent's queue, downloadable as any document.
    let staff = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/documents"), Some(&staff)).await;
    assert_eq!(queue.status, 200, "{:?}", queue.json);
    assert!(queue.json.to_string().contains(doc["id"].as_str().unwrap()), "{:?}", queue.json);
    let (bytes, _) = {
        let url = format!("/api/towns/{TOWN}/families/martin/documents/{}/download", doc["id"].as_str().unwrap());
        let r = p.get(&url, Some(&staff)).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        (r.json["url"].as_str().unwrap().to_owned(), ())
    };
    assert!(bytes.contains("documents/"), "{bytes}");
    // Sophie is told what was filed.
    let mails = p.deliver().await;
    let ack =
        mails.iter().find(|m| m.to.as_str() == SOPHIE && m.content.subject.starts_with("Document reçu")).expect("ack");
    assert!(
        ack.content.text.contains(
            "Certificat médical justifiant une absence – Léa – Certificat Léa.pdf (absence du 01/12/2026 au 01/12/2026)"
        ),
        "{}",
        ack.content.text
    );
    crate::helpers::assert_french_typography("acknowledgement", &ack.content.text);
    // The raw message is gone from the bucket.
    assert!(p.files.list("inbound/").await.unwrap().is_empty());
    p.stop().await;
}

/// The twin's watched folder: an `.eml` dropped there runs the POST's path (every verdict
/// `PASS`), then moves to `done/` beside its outcome; a file still being written waits.
#[tokio::test]
async fn a_message_dropped_in_the_watched_folder_is_received_as_a_posted_one() {
    let p = crate::helpers::portal().await;
    let dir = p.inbound_dir().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    let raw = eml(
        "Sophie Martin <sophie.martin@exemple.fr>",
        "Attestation d’assurance de Léa",
        "Bonjour,\r\nvoici l’attestation d’assurance scolaire de Léa.\r\nSophie Martin",
        &[("assurance.pdf", "application/pdf", &crate::documents::pdf())],
    );
    let dropped = dir.join("assurance.eml");
    std::fs::write(&dropped, &raw).unwrap();
    std::fs::write(dir.join("notes.txt"), b"pas un message").unwrap();
    // Just written (it may still be being copied): left for the next pass.
    assert_eq!(p.feed_dropped().await, []);
    assert!(dropped.exists());
    // Written two seconds ago: received, moved, its outcome beside it.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    std::fs::File::options().write(true).open(&dropped).unwrap().set_modified(past).unwrap();
    let read = p.feed_dropped().await;
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0].0, "assurance.eml");
    assert!(read[0].1.starts_with("Filed"), "{read:?}");
    assert!(!dropped.exists() && dir.join("done/assurance.eml").exists());
    let outcome: Value = serde_json::from_slice(&std::fs::read(dir.join("done/assurance.eml.json")).unwrap()).unwrap();
    assert_eq!(outcome["outcome"], read[0].1.as_str());
    assert!(dir.join("notes.txt").exists(), "only .eml files are read");
    let docs = documents_of(&p, "martin").await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!((docs[0]["file_name"].as_str(), docs[0]["child"].as_str()), (Some("assurance.pdf"), Some("lea-martin")));
    // Nothing twice.
    assert_eq!(p.feed_dropped().await, []);
    assert!(p.files.list("inbound/").await.unwrap().is_empty(), "the raw message is gone from the bucket");
    p.stop().await;
}

async fn bad_messages_store_nothing_and_get_one_answer(store: Store) {
    let p = portal_on(store).await;
    let pdf = crate::documents::pdf();
    let before = documents_of(&p, "martin").await.len();
    // Sophie's address, but DMARC failed: a spoofed From. Answered once, not twice the same day.
    let spoofed = eml(SOPHIE, "Certificat Léa", "hier", &[("c.pdf", "application/pdf", &pdf)]);
    let o = receive(&p, spoofed.clone(), "?dmarc=FAIL&spf=FAIL").await;
    assert!(o.contains("answered: true") && o.contains("sender not authenticated"), "{o}");
    let o = receive(&p, spoofed, "?dmarc=FAIL&spf=FAIL").await;
    assert!(o.contains("answered: false"), "{o}");
    assert_eq!(answers_to(&p, SOPHIE).await, 1);
    // An unknown address gets the very same answer (no enumeration).
    let o =
        receive(&p, eml("inconnu@exemple.org", "Certificat", "hier", &[("c.pdf", "application/pdf", &pdf)]), "").await;
    assert!(o.contains("answered: true") && o.contains("not a guardian"), "{o}");
    let mails = p.deliver().await;
    let text = |to: &str| {
        mails.iter().find(|m| m.to.as_str() == to && m.content.subject.starts_with("Envoyer")).unwrap().content.clone()
    };
    assert_eq!(text(SOPHIE), text("inconnu@exemple.org"));
    // A zip renamed .pdf, from a real guardian: no usable attachment.
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00bomb".repeat(10);
    let o = receive(
        &p,
        eml("julien.martin@exemple.fr", "Certificat", "hier", &[("certificat.pdf", "application/pdf", &zip)]),
        "",
    )
    .await;
    assert!(o.contains("no usable attachment"), "{o}");
    // Control characters in the headers and the file name.
    let raw = eml("camille@exemple.org", "Certificat\x07\x1b[31m", "x", &[("c\x01.pdf", "application/pdf", &pdf)]);
    let o = receive(&p, raw, "").await;
    assert!(o.starts_with("Answered"), "{o}");
    // 200 attachments, a 40 MB message, malformed MIME.
    let many: Vec<(&str, &str, &[u8])> = (0..200).map(|_| ("c.pdf", "application/pdf", pdf.as_slice())).collect();
    let o = receive(&p, eml("dominique@exemple.org", "Certificat", "x", &many), "").await;
    assert!(o.contains("too many parts") && o.contains("answered: true"), "{o}");
    let mut big = eml("claude@exemple.org", "Certificat", "x", &[]);
    big.extend(std::iter::repeat_n(b'a', 40 * 1024 * 1024));
    let o = receive(&p, big, "").await;
    assert!(o.contains("message too large") && o.contains("answered: true"), "{o}");
    let o = receive(&p, b"\x00\x01garbage with no header\r\n".to_vec(), "").await;
    assert!(o.contains("NoTown") || o.contains("answered: false"), "{o}");

    assert_eq!(documents_of(&p, "martin").await.len(), before, "nothing filed");
    assert!(p.files.list("inbound/").await.unwrap().is_empty(), "no raw message kept");
    assert!(p.files.list("documents/").await.unwrap().is_empty(), "no file kept");
    p.stop().await;
}
