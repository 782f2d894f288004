//! End-to-end scenarios through the stack twin, every request through its HTTP front (CloudFront,
//! API Gateway's payload 2.0), each function its own process, AWS played by moto, and the
//! notifier woken as in AWS: by the table's stream (its `Outbox` event, filtered) and by SNS (its
//! `DeliveryEvents`), the twin started without `--fast` so that its minute schedule cannot be
//! what sent an email. A password reset's email reaches SES within the stream's latency; a
//! parent books and validates a day (its confirmation email read back from SES), cancels it,
//! downloads an invoice's PDF (a binary body, base64 through API Gateway), sends a document
//! straight to S3 and has it checked; a staff route answers the agent, refuses a guardian (403),
//! an unknown town is a 404 (the agent's session a 401 there) as is a family not in the town; malformed input is a problem+json 4xx, not a 500; a hard
//! bounce published on the topic reaches the notifier, and the agents see the address as
//! undeliverable. Needs the functions' binaries and moto (`common::Twin::start`).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "a test: a failure is the test failing; figures printed"
)]

mod common;

use common::{Session, Twin, http, wait_for};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOWN: &str = "villeneuve-les-tilleuls";
const SOPHIE: &str = "sophie.martin@exemple.fr";
const PASSWORD: &str = "tilleuls-demo-2026";

fn problem(a: &common::Answer, status: u16, what: &str) -> Value {
    assert_eq!(a.status, status, "{what}: {}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("application/problem+json"), "{what}");
    let p = a.json();
    assert!(p["code"].as_str().is_some_and(|c| !c.is_empty()) && p["title"].is_string(), "{what}: {p}");
    p
}

/// The first day Léa's canteen can still be booked, from this week on: (unit, date).
fn bookable_day(sophie: &Session<'_>) -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    let monday = today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()));
    let grid = sophie.get(&format!(
        "/api/towns/{TOWN}/calendar/children/lea-martin/weeks?activity=restauration&from={monday}&weeks=6"
    ));
    assert_eq!(grid.status, 200, "{}", String::from_utf8_lossy(&grid.body));
    let grid = grid.json();
    for week in grid["weeks"].as_array().into_iter().flatten() {
        for row in week["rows"].as_array().into_iter().flatten() {
            for cell in row["cells"].as_array().into_iter().flatten() {
                if cell["state"] == "bookable" && cell["action"]["kind"] == "add" {
                    return (
                        row["unit"].as_str().unwrap_or_default().to_owned(),
                        cell["date"].as_str().unwrap_or_default().to_owned(),
                    );
                }
            }
        }
    }
    panic!("no bookable day in six weeks: {grid}")
}

/// Léa's grid cell for `unit` on `date`.
fn cell(sophie: &Session<'_>, unit: &str, date: &str) -> Value {
    let grid = sophie
        .get(&format!("/api/towns/{TOWN}/calendar/children/lea-martin/weeks?activity=restauration&from={date}&weeks=1"))
        .json();
    grid["weeks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|w| w["rows"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["unit"] == unit)
        .flat_map(|r| r["cells"].as_array().cloned().unwrap_or_default())
        .find(|c| c["date"] == date)
        .unwrap_or(Value::Null)
}

/// Validates Sophie's basket as it is now.
fn validate(sophie: &Session<'_>, key: &str) -> Value {
    let basket = sophie.get(&format!("/api/towns/{TOWN}/families/martin/basket")).json();
    let r = sophie.send(
        "POST",
        &format!("/api/towns/{TOWN}/families/martin/basket/validate"),
        Some(json!({"basket_revision": basket["revision"]})),
        &[("idempotency-key", key)],
    );
    assert_eq!(r.status, 200, "the basket validated: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

#[test]
fn end_to_end_scenarios_through_the_twin_with_the_stream_and_sns_events() {
    let Some(twin) = Twin::start(&["--idle", "30"]) else { return };
    let moto = twin.moto();

    // The stream: a password reset's email, queued by the accounts function, reaches SES through
    // the notifier woken by the table's stream (its `Outbox` event), well before its minute
    // schedule has fired once.
    let asked = Instant::now();
    let reset = http(
        "POST",
        &format!("{}/api/towns/{TOWN}/auth/password-reset", twin.base),
        &[("content-type", "application/json")],
        Some(json!({"email": SOPHIE}).to_string().as_bytes()),
        &[],
    );
    assert_eq!(reset.status, 202);
    wait_for(Duration::from_secs(20), "the reset email in SES", || {
        twin.sent(&moto).contains("Réinitialisation").then_some(())
    });
    let latency = asked.elapsed();
    let notifier = twin.counts()["NotifierFunction"].clone();
    assert!(notifier["by_event"]["Outbox"].as_u64().unwrap_or(0) >= 1, "woken by the stream: {notifier}");
    assert_eq!(notifier["by_event"]["EveryMinute"].as_u64().unwrap_or(0), 0, "not by the schedule: {notifier}");
    eprintln!("password reset to SES through the stream: {} ms", latency.as_millis());

    // A parent books and validates a day; the confirmation reaches SES.
    let sophie = Session::login(&twin, TOWN, SOPHIE, PASSWORD);
    let (unit, date) = bookable_day(&sophie);
    let line = |action: &str| json!({"lines": [{"child": "lea-martin", "unit": unit, "date": date, "action": action}]});
    let added = sophie.post(&format!("/api/towns/{TOWN}/families/martin/basket/lines"), line("add"));
    assert_eq!(added.status, 200, "{}", String::from_utf8_lossy(&added.body));
    let validated = Instant::now();
    let done = validate(&sophie, "twin-journey-booking-0001");
    assert_eq!((done["applied"].as_u64(), done["refused"].as_u64()), (Some(1), Some(0)), "{done}");
    wait_for(Duration::from_secs(20), "the booking confirmation in SES", || {
        twin.sent(&moto).contains("Confirmation de vos réservations").then_some(())
    });
    eprintln!("booking confirmation to SES through the stream: {} ms", validated.elapsed().as_millis());
    // She cancels the day.
    let booked = cell(&sophie, &unit, &date);
    assert_eq!(booked["action"]["kind"], "cancel", "the booked day can be cancelled: {booked}");
    let cancel = sophie.post(&format!("/api/towns/{TOWN}/families/martin/basket/lines"), line("cancel"));
    assert_eq!(cancel.status, 200, "{}", String::from_utf8_lossy(&cancel.body));
    let done = validate(&sophie, "twin-journey-cancel-00001");
    assert_eq!(done["applied"].as_u64(), Some(1), "{done}");
    let after = cell(&sophie, &unit, &date);
    assert_eq!(after["action"]["kind"], "add", "the cancelled day is bookable again: {after}");

    // An invoice's PDF (last month, billed by the demo): bytes through API Gateway's base64.
    let invoices = sophie.get(&format!("/api/towns/{TOWN}/families/martin/invoices")).json();
    let month = invoices[0]["month"].as_str().expect("an invoice of the Martins").to_owned();
    let pdf = sophie.get(&format!("/api/towns/{TOWN}/families/martin/invoices/{month}/pdf"));
    assert_eq!((pdf.status, pdf.header("content-type")), (200, Some("application/pdf")));
    assert!(pdf.body.starts_with(b"%PDF-"), "a PDF");
    assert!(pdf.body.trim_ascii_end().ends_with(b"%%EOF"), "the whole PDF, {} bytes", pdf.body.len());

    // A document straight to S3 (a presigned PUT to moto behind the twin's HTTPS), then checked.
    let bytes = [b"%PDF-1.7\n".as_slice(), &[b'x'; 2000], b"\n%%EOF\n"].concat();
    let docs = format!("/api/towns/{TOWN}/families/martin/documents");
    let body = json!({"kind": "dossier-annuel", "file_name": "dossier.pdf", "content_type": "application/pdf", "size": bytes.len()});
    let started = sophie.post(&docs, body);
    assert_eq!(started.status, 201, "{}", String::from_utf8_lossy(&started.body));
    let started = started.json();
    let upload = &started["upload"];
    assert_eq!(upload["method"], "PUT");
    let ca = twin.ca_file();
    let put = http(
        "PUT",
        upload["url"].as_str().expect("a presigned URL"),
        &[("content-type", "application/pdf")],
        Some(&bytes),
        &["--cacert", ca.to_str().unwrap_or_default()],
    );
    assert_eq!(put.status, 200, "the upload to S3: {}", String::from_utf8_lossy(&put.body));
    let id = started["document"]["id"].as_str().expect("the document's id");
    let confirmed = sophie.post(&format!("{docs}/{id}/confirm"), json!({}));
    assert_eq!(confirmed.status, 200, "the document checked: {}", String::from_utf8_lossy(&confirmed.body));

    // A staff route: the agent's, refused to a guardian (403), and nothing of another town.
    let agent = Session::login(&twin, TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD);
    let found = agent.get(&format!("/api/towns/{TOWN}/staff/families?q=martin"));
    assert_eq!(found.status, 200, "{}", String::from_utf8_lossy(&found.body));
    assert!(found.json().to_string().contains("martin"), "the Martins found: {}", found.json());
    problem(&sophie.get(&format!("/api/towns/{TOWN}/staff/families?q=martin")), 403, "a guardian on a staff route");
    // Another town: unknown, and a session is one town's.
    let unknown = http("GET", &format!("{}/api/towns/ville-inconnue", twin.base), &[], None, &[]);
    problem(&unknown, 404, "an unknown town");
    problem(&agent.get("/api/towns/ville-inconnue/staff/families?q=martin"), 401, "the agent's session elsewhere");
    problem(&agent.get(&format!("/api/towns/{TOWN}/staff/families/famille-inconnue")), 404, "no such family");

    // Malformed input: problem+json 4xx through the gateway, never a 500.
    let lines = format!("/api/towns/{TOWN}/families/martin/basket/lines");
    let bad = json!({"lines": [{"child": "lea-martin", "unit": "cantine", "date": "2026-13-45", "action": "add"}]});
    assert_eq!(problem(&sophie.post(&lines, bad), 422, "an impossible date")["code"], "invalid_date");
    let garbled = http(
        "POST",
        &format!("{}{lines}", twin.base),
        &[("content-type", "application/json"), ("cookie", sophie.cookie()), ("x-csrf-token", sophie.csrf())],
        Some(b"{\"lines\": [" as &[u8]),
        &[],
    );
    assert!((400..500).contains(&garbled.status), "a truncated body: {}", garbled.status);
    problem(&garbled, garbled.status, "a truncated body");

    // SNS: SES's hard bounce of the reset email, published on the configuration set's topic,
    // reaches the notifier; the agents then see the address as undeliverable.
    let mail = sent_mail(&moto, SOPHIE, "Réinitialisation");
    let outcome =
        domain::delivery::Outcome::Bounced { permanent: true, diagnostic: Some("smtp; 550 5.1.1 user unknown".into()) };
    let event = services::mail::deliverability::twin_event(&mail, &outcome, chrono::Utc::now()).to_string();
    let published =
        http("POST", &format!("{}/__stack/sns/MailEventsTopic", twin.base), &[], Some(event.as_bytes()), &[]);
    assert_eq!(published.status, 200, "{}", String::from_utf8_lossy(&published.body));
    assert_eq!(published.json()["failed"], json!([]), "delivered to the notifier");
    let notifier = twin.counts()["NotifierFunction"].clone();
    assert_eq!(notifier["by_event"]["DeliveryEvents"].as_u64(), Some(1), "{notifier}");
    let undeliverable = agent.get(&format!("/api/towns/{TOWN}/staff/mail/undeliverable"));
    assert_eq!(undeliverable.status, 200);
    assert!(
        undeliverable.json().as_array().into_iter().flatten().any(|a| a["email"] == SOPHIE),
        "Sophie's address marked: {}",
        undeliverable.json()
    );

    eprintln!("the notifier through the twin: {}", twin.counts()["NotifierFunction"]);
    // Nothing failed on the way.
    let failed = common::failed(&twin.counts());
    assert!(failed.is_empty(), "functions failed through the twin: {failed:?}");
}

/// The email to `to` whose subject contains `subject`, as the outbox keeps it once sent (read
/// from the table in moto, as SES's event names it by its tags).
fn sent_mail(moto: &str, to: &str, subject: &str) -> services::mail::outbox::Mail {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let store = store::Store::dynamo(store::dynamo::DynamoStore::for_emulator(moto, "espace-famille-Table").await);
        let town = domain::TownId::parse(TOWN).expect("town");
        let q = store::Query::gsi1(store::keys::mails_to(&town, to), store::SkRange::All);
        let items = store.query_all(&q).await.expect("the emails to the address");
        items
            .iter()
            .filter_map(|i| i.to_value::<services::mail::outbox::Mail>().ok())
            .find(|m| m.content.subject.contains(subject))
            .unwrap_or_else(|| panic!("no sent email « {subject} » to {to} among {}", items.len()))
    })
}
