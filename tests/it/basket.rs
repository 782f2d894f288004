//! « Mon panier »: lines added by week and by period, validated once against deadlines,
//! capacity and duplicates; staff late changes; booking history. The test clock starts on
//! Thursday 26 November 2026, 10:00 in Paris.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, call, portal};
use basket::check::{Line, Mode};
use basket::engine::{self, Ask, LineOutcome, Outcome, Recipient};
use chrono::{DateTime, NaiveDate, Utc};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::{Child, Email, Enrollment, Family, Guardian};
use domain::{ActivityId, ChildId, FamilyRef, SiteId, UnitId};
use edge::clock::Clock;
use serde_json::{Value, json};
use std::sync::Arc;
use store::repo;
use store::{Store, keys};

const MARTIN: &str = "/api/towns/villeneuve-les-tilleuls/families/martin";

async fn sophie(p: &TestPortal) -> Browser {
    p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

fn line(child: &str, unit: &str, date: &str, action: &str) -> Value {
    json!({"child": child, "unit": unit, "date": date, "action": action})
}

async fn add(p: &TestPortal, b: &Browser, lines: Vec<Value>) -> crate::helpers::Reply {
    p.send("POST", &format!("{MARTIN}/basket/lines"), Some(json!({ "lines": lines })), b, &[]).await
}

async fn validate(p: &TestPortal, b: &Browser, key: &str, body: Value) -> crate::helpers::Reply {
    p.send("POST", &format!("{MARTIN}/basket/validate"), Some(body), b, &[("idempotency-key", key)]).await
}

async fn basket(p: &TestPortal, b: &Browser) -> Value {
    let r = p.get(&format!("{MARTIN}/basket"), Some(b)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

/// The state of one cell of a child's week grid.
async fn cell_state(p: &TestPortal, b: &Browser, child: &str, activity: &str, unit: &str, date: &str) -> Value {
    let uri = format!("/api/towns/{TOWN}/calendar/children/{child}/weeks?activity={activity}&from={date}&weeks=1");
    let r = p.get(&uri, Some(b)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    for row in r.json["weeks"][0]["rows"].as_array().unwrap() {
        if row["unit"] == unit {
            for c in row["cells"].as_array().unwrap() {
                if c["date"] == date {
                    return c["state"].clone();
                }
            }
        }
    }
    panic!("no cell {child} {unit} {date}")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test]
async fn a_week_basket_is_priced_validated_once_and_confirmed_by_email() {
    let p = portal().await;
    let b = sophie(&p).await;
    assert_eq!(basket(&p, &b).await["lines"], json!([]), "« Votre panier est vide »");
    let r = add(
        &p,
        &b,
        vec![
            line("lea-martin", "cantine", "2026-12-07", "add"),
            line("lea-martin", "cantine", "2026-12-08", "add"),
            line("lea-martin", "cantine", "2026-12-10", "add"),
            line("hugo-martin", "peri-soir", "2026-12-07", "add"),
            // Confirmed in the demo; cancellable until tonight 23:59.
            line("hugo-martin", "peri-soir", "2026-11-30", "cancel"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["lines"].as_array().unwrap().len(), 5);
    assert_eq!(r.json["invalid"], 0);
    // The Martins' quotient familial (850) puts them in the 2,50 € bracket for both units.
    assert_eq!(r.json["total"], 4 * 250);
    let cancel = r.json["lines"].as_array().unwrap().iter().find(|l| l["action"] == "cancel").unwrap().clone();
    assert_eq!((cancel["price"].clone(), cancel["refund"].clone()), (json!(0), json!(250)));
    assert_eq!(r.json["lines"][0]["first_name"], "Hugo", "date order: the cancellation of 30/11 first");

    // The basket follows the guardian to another device (another session).
    let phone = sophie(&p).await;
    let seen = basket(&p, &phone).await;
    assert_eq!(seen["revision"], r.json["revision"]);

    let key = "4f9c1d2e-0000-4000-8000-000000000001";
    let body = json!({"basket_revision": seen["revision"]});
    let first = validate(&p, &phone, key, body.clone()).await;
    assert_eq!(first.status, 200, "{:?}", first.json);
    assert_eq!(first.json["outcome"], "applied");
    assert_eq!((first.json["applied"].clone(), first.json["refused"].clone()), (json!(5), json!(0)));
    assert_eq!(first.json["total"], 1000);
    assert!(first.json["lines"].as_array().unwrap().iter().all(|l| l["result"] == "applied"));

    assert_eq!(cell_state(&p, &b, "lea-martin", "restauration", "cantine", "2026-12-07").await, "confirmed");
    assert_eq!(cell_state(&p, &b, "hugo-martin", "periscolaire", "peri-soir", "2026-11-30").await, "bookable");
    assert_eq!(basket(&p, &b).await["lines"], json!([]), "validated lines leave the basket");

    // A retry (double click, lost answer) gets the first answer and applies nothing twice.
    let again = validate(&p, &b, key, body).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json, first.json);
    let history = p.get(&format!("{MARTIN}/bookings?from=2026-12-07&to=2026-12-07&child=lea-martin"), Some(&b)).await;
    assert_eq!(history.json.as_array().unwrap().len(), 1);
    assert_eq!(history.json[0]["history"].as_array().unwrap().len(), 1, "{:?}", history.json);
    assert_eq!(history.json[0]["history"][0]["by"], "sophie.martin@exemple.fr");
    assert_eq!(history.json[0]["history"][0]["role"], "guardian");

    // The same key with another body is a client bug: refused, nothing done.
    let reused = validate(&p, &b, key, json!({"basket_revision": "autre", "apply_valid": true})).await;
    assert_problem(&reused, 422, "idempotency_key_reused");

    let mails = p.deliver().await;
    let confirmations: Vec<_> = mails.iter().filter(|m| m.content.subject.starts_with("Confirmation")).collect();
    assert_eq!(confirmations.len(), 1, "one email per validation");
    let text = &confirmations[0].content.text;
    assert_eq!(confirmations[0].to.as_str(), "sophie.martin@exemple.fr");
    assert!(text.contains("Bonjour Sophie,"), "{text}");
    assert!(text.contains("lundi 07/12/2026 – Léa – Cantine – 2,50\u{a0}€"), "{text}");
    assert!(text.contains("lundi 30/11/2026 – Hugo – ") && text.contains("annulée"), "{text}");
    assert!(text.contains("Montant de ces changements\u{202f}: 10,00\u{a0}€."), "{text}");
    // The days booked, as the iCal feed writes them, for the phone's calendar; not the
    // cancellation. The Message-ID names the outbox item and the town.
    let sent = confirmations[0];
    let message_id = sent.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with("<val-") && message_id.ends_with(".villeneuve-les-tilleuls@espace-famille.localhost>")
    );
    assert_eq!(sent.attachments.len(), 1);
    let ics = &sent.attachments[0];
    assert_eq!((ics.name.as_str(), ics.content_type.as_str()), ("reservations.ics", "text/calendar"));
    let ics = String::from_utf8(ics.bytes.clone()).unwrap();
    let lines: Vec<String> = ics.replace("\r\n ", "").split("\r\n").map(str::to_owned).collect();
    assert!(lines.contains(&"METHOD:PUBLISH".to_owned()), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 4, "{ics}");
    for day in ["2026-12-07", "2026-12-08", "2026-12-10"] {
        let uid = format!("UID:villeneuve-les-tilleuls-lea-martin-{day}-cantine@espace-famille");
        assert!(lines.contains(&uid), "{uid}: {ics}");
    }
    assert!(
        lines.contains(&"UID:villeneuve-les-tilleuls-hugo-martin-2026-12-07-peri-soir@espace-famille".to_owned()),
        "{ics}"
    );
    // Timed with the unit's hours in the town's time zone, as in the feed.
    assert!(lines.contains(&"SUMMARY:Léa\u{202f}: Cantine 11\u{a0}h\u{a0}30 – 13\u{a0}h\u{a0}30".to_owned()), "{ics}");
    assert!(lines.contains(&"DTSTART;TZID=Europe/Paris:20261207T113000".to_owned()), "{ics}");
    assert!(!ics.contains("2026-11-30") && !ics.contains("20261130"), "the cancelled day is not in it: {ics}");
    // /dev/mail offers it for download, as a mail client saves it.
    let got = call(&p.router, "GET", &format!("/dev/mail/{}/attachments/0", sent.id), &[], None).await;
    assert_eq!((got.status, got.content_type.as_str()), (200, "text/calendar"));
    assert_eq!(got.headers["content-disposition"], "attachment; filename=\"reservations.ics\"");
    let missing = call(&p.router, "GET", &format!("/dev/mail/{}/attachments/1", sent.id), &[], None).await;
    assert_eq!(missing.status, 404);
    p.stop().await;
}

#[tokio::test]
async fn a_line_validated_one_second_before_its_deadline_passes_and_one_second_after_is_refused() {
    let p = portal().await;
    // Monday 7 December can be booked until Thursday 3 December, 23:59 in Paris.
    p.clock.set(at("2026-12-03T22:58:59Z"));
    let b = sophie(&p).await;
    assert_eq!(add(&p, &b, vec![line("lea-martin", "cantine", "2026-12-07", "add")]).await.status, 200);
    let rev = basket(&p, &b).await["revision"].clone();
    let ok = validate(&p, &b, "deadline-test-key-0001", json!({"basket_revision": rev})).await;
    assert_eq!(ok.json["outcome"], "applied", "{:?}", ok.json);

    assert_eq!(add(&p, &b, vec![line("lea-martin", "etude-dirigee", "2026-12-07", "add")]).await.status, 200);
    let rev = basket(&p, &b).await["revision"].clone();
    p.clock.advance(chrono::TimeDelta::seconds(2));
    let late = validate(&p, &b, "deadline-test-key-0002", json!({"basket_revision": rev})).await;
    assert_problem(&late, 422, "lines_refused");
    assert_eq!(late.json["lines"][0]["error"]["code"], "deadline_passed");
    assert!(late.json["lines"][0]["error"]["message"].as_str().unwrap().contains("03/12/2026 à 23\u{a0}h\u{a0}59"));
    let history = p.get(&format!("{MARTIN}/bookings?from=2026-12-07&to=2026-12-07"), Some(&b)).await;
    let units: Vec<&str> = history.json.as_array().unwrap().iter().map(|x| x["unit"].as_str().unwrap()).collect();
    assert_eq!(units, ["cantine"], "the late line wrote nothing");
    // It stays in the basket, marked, until the guardian removes it.
    let left = basket(&p, &b).await;
    assert_eq!(left["invalid"], 1);
    assert_eq!(left["lines"][0]["error"]["code"], "deadline_passed");
    let r =
        p.send("DELETE", &format!("{MARTIN}/basket/lines/lea-martin/etude-dirigee/2026-12-07"), None, &b, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["lines"], json!([]));
    p.stop().await;
}

#[tokio::test]
async fn a_basket_with_a_refused_line_applies_nothing_unless_the_guardian_chooses_the_valid_ones() {
    let p = portal().await;
    let b = sophie(&p).await;
    add(
        &p,
        &b,
        vec![line("lea-martin", "cantine", "2026-12-07", "add"), line("lea-martin", "cantine", "2026-12-08", "add")],
    )
    .await;
    let rev = basket(&p, &b).await["revision"].clone();
    // Meanwhile, on another device, the other guardian books 8 December.
    let julien = p.login(TOWN, "julien.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    add(&p, &julien, vec![line("lea-martin", "cantine", "2026-12-08", "add")]).await;
    let jrev = basket(&p, &julien).await["revision"].clone();
    assert_eq!(validate(&p, &julien, "julien-validation-0001", json!({"basket_revision": jrev})).await.status, 200);

    let all = validate(&p, &b, "sophie-validation-0001", json!({"basket_revision": rev})).await;
    assert_problem(&all, 422, "lines_refused");
    assert_eq!(all.json["outcome"], "rejected");
    let results: Vec<(&str, &str)> = all.json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["date"].as_str().unwrap(), l["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results, [("2026-12-07", "not_applied"), ("2026-12-08", "refused")]);
    assert_eq!(all.json["lines"][1]["error"]["code"], "already_booked");
    assert_eq!(cell_state(&p, &b, "lea-martin", "restauration", "cantine", "2026-12-07").await, "bookable");

    // Her explicit choice: apply the valid line (a new request, so a new key).
    let some = validate(&p, &b, "sophie-validation-0002", json!({"basket_revision": rev, "apply_valid": true})).await;
    assert_eq!(some.status, 200, "{:?}", some.json);
    assert_eq!(some.json["outcome"], "partially_applied");
    assert_eq!((some.json["applied"].clone(), some.json["refused"].clone()), (json!(1), json!(1)));
    assert_eq!(cell_state(&p, &b, "lea-martin", "restauration", "cantine", "2026-12-07").await, "confirmed");
    let left = basket(&p, &b).await;
    assert_eq!(left["lines"].as_array().unwrap().len(), 1, "the refused line stays, with its reason");
    assert_eq!(left["lines"][0]["error"]["code"], "already_booked");
    p.stop().await;
}

#[tokio::test]
async fn a_manual_unit_makes_a_request_and_its_cancellation_a_cancellation_request() {
    let p = portal().await;
    let b = sophie(&p).await;
    add(&p, &b, vec![line("lea-martin", "alsh-vacances", "2026-12-21", "add")]).await;
    let rev = basket(&p, &b).await["revision"].clone();
    let r = validate(&p, &b, "manual-unit-key-00001", json!({"basket_revision": rev})).await;
    assert_eq!(r.json["lines"][0]["status"], "pending", "{:?}", r.json);
    assert_eq!(cell_state(&p, &b, "lea-martin", "alsh", "alsh-vacances", "2026-12-21").await, "pending");
    // Withdrawing a request that waits for staff cancels it at once.
    add(&p, &b, vec![line("lea-martin", "alsh-vacances", "2026-12-21", "cancel")]).await;
    let rev = basket(&p, &b).await["revision"].clone();
    let r = validate(&p, &b, "manual-unit-key-00002", json!({"basket_revision": rev})).await;
    assert_eq!(r.json["lines"][0]["status"], "cancelled", "{:?}", r.json);
    p.stop().await;
}

#[tokio::test]
async fn a_period_adds_every_bookable_date_and_says_why_it_skips_the_others() {
    let p = portal().await;
    let b = sophie(&p).await;
    let period = json!({
        "child": "lea-martin", "activity": "restauration", "action": "add",
        "from": "2026-12-01", "to": "2027-01-31", "units": ["cantine"], "weekdays": ["Tue"]
    });
    let r = p.send("POST", &format!("{MARTIN}/basket/period"), Some(period.clone()), &b, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // Tuesdays 8, 15 December and 5, 12, 19, 26 January; 1 December is booked already, 22
    // and 29 December are holidays.
    assert_eq!(r.json["added"], 6);
    let skipped: Vec<(&str, &str)> = r.json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["date"].as_str().unwrap(), s["error"]["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [("2026-12-01", "already_booked"), ("2026-12-22", "not_offered"), ("2026-12-29", "not_offered")]
    );
    assert!(r.json["skipped"][1]["error"]["message"].as_str().unwrap().starts_with("Vacances scolaires"));
    assert_eq!(r.json["basket"]["total"], 6 * 250);
    // The same period again adds nothing.
    let r = p.send("POST", &format!("{MARTIN}/basket/period"), Some(period), &b, &[]).await;
    assert_eq!(r.json["added"], 0);
    assert_eq!(
        r.json["skipped"].as_array().unwrap().iter().filter(|s| s["error"]["code"] == "already_in_basket").count(),
        6
    );
    let cleared = p.send("DELETE", &format!("{MARTIN}/basket"), None, &b, &[]).await;
    assert_eq!(cleared.status, 204);
    assert_eq!(basket(&p, &b).await["lines"], json!([]));
    p.stop().await;
}

#[tokio::test]
async fn another_familys_child_is_refused_exactly_like_a_child_that_does_not_exist() {
    let p = portal().await;
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let bernard = "/api/towns/villeneuve-les-tilleuls/families/bernard";
    let mut errors = Vec::new();
    for child in ["lea-martin", "enfant-inconnu"] {
        let r = p
            .send(
                "POST",
                &format!("{bernard}/basket/lines"),
                Some(json!({"lines": [line(child, "cantine", "2026-12-07", "add")]})),
                &claire,
                &[],
            )
            .await;
        assert_problem(&r, 422, "lines_refused");
        errors.push(r.json["lines"][0]["error"].clone());
    }
    assert_eq!(errors[0]["code"], "unknown_child");
    assert_eq!(errors[0], errors[1]);
    // Nor can she reach the Martins' basket.
    let r = p.send("POST", &format!("{MARTIN}/basket/lines"), Some(json!({"lines": []})), &claire, &[]).await;
    assert_problem(&r, 404, "unknown_family");
    p.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_leaves_the_basket_as_it_was() {
    let p = portal().await;
    let b = sophie(&p).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"lines": [line("lea-martin", "piscine", "2026-12-07", "add")]}), 422, "lines_refused"),
        (json!({"lines": [line("lea-martin", "cantine", "2026-11-02", "add")]}), 422, "lines_refused"),
        (json!({"lines": [line("lea-martin", "cantine", "2026-13-45", "add")]}), 422, "invalid_date"),
        (json!({"lines": [line("lea-martin", "cantine", "2026-12-07", "reserve")]}), 422, "invalid_body"),
        (
            json!({"lines": [line("lea-martin", "cantine", "2026-12-07", "add"), line("lea-martin", "cantine", "2026-12-07", "add")]}),
            422,
            "lines_refused",
        ),
        (json!({"lines": [], "extra": 1}), 422, "invalid_body"),
        (json!({"lines": []}), 422, "no_lines"),
        (json!({"lines": vec![line("lea-martin", "cantine", "2026-12-07", "add"); 2001]}), 422, "too_many_lines"),
        (json!({"lines": vec![line("lea-martin", "cantine", "2026-12-07", "add"); 100_000]}), 413, "body_too_large"),
    ];
    for (body, status, code) in cases {
        let r = p.send("POST", &format!("{MARTIN}/basket/lines"), Some(body), &b, &[]).await;
        assert_problem(&r, status, code);
        assert_eq!(basket(&p, &b).await["lines"], json!([]), "{code}: nothing added");
    }
    let unknown = add(&p, &b, vec![line("lea-martin", "piscine", "2026-12-07", "add")]).await;
    assert_eq!(unknown.json["lines"][0]["error"]["code"], "unknown_unit");
    let past = add(&p, &b, vec![line("lea-martin", "cantine", "2026-11-02", "add")]).await;
    assert_eq!(past.json["lines"][0]["error"]["code"], "deadline_passed");
    let dup = add(
        &p,
        &b,
        vec![line("lea-martin", "cantine", "2026-12-07", "add"), line("lea-martin", "cantine", "2026-12-07", "add")],
    )
    .await;
    assert!(dup.json["lines"].as_array().unwrap().iter().any(|l| l["error"]["code"] == "duplicate_line"));
    let bad_date = add(&p, &b, vec![line("lea-martin", "cantine", "2026-13-45", "add")]).await;
    assert_eq!(bad_date.json["field"], "lines[0].date");

    // Validation: the key is required and well formed; the basket must be the one seen.
    let r = p.send("POST", &format!("{MARTIN}/basket/validate"), Some(json!({"basket_revision": "x"})), &b, &[]).await;
    assert_problem(&r, 400, "missing_idempotency_key");
    assert_problem(&validate(&p, &b, "court", json!({"basket_revision": "x"})).await, 400, "invalid_idempotency_key");
    assert_problem(
        &validate(&p, &b, "empty-basket-key-0001", json!({"basket_revision": "x"})).await,
        422,
        "empty_basket",
    );
    add(&p, &b, vec![line("lea-martin", "cantine", "2026-12-07", "add")]).await;
    let stale = validate(&p, &b, "stale-basket-key-0001", json!({"basket_revision": "ancienne"})).await;
    assert_problem(&stale, 409, "basket_changed");
    assert_eq!(cell_state(&p, &b, "lea-martin", "restauration", "cantine", "2026-12-07").await, "bookable");
    p.stop().await;
}

#[tokio::test]
async fn staff_make_late_changes_at_the_late_prices_and_the_family_sees_who_did_what() {
    let p = portal().await;
    // Monday 30 November, 9:00: Tuesday 1 December is past every deadline for parents.
    p.clock.set(at("2026-11-30T08:00:00Z"));
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let b = sophie(&p).await;
    let too_late = add(&p, &b, vec![line("jade-martin", "cantine", "2026-12-01", "add")]).await;
    assert_eq!(too_late.json["lines"][0]["error"]["code"], "deadline_passed");

    let staff_uri = format!("/api/towns/{TOWN}/staff/families/martin/bookings");
    let body = json!({"lines": [
        line("jade-martin", "cantine", "2026-12-01", "add"),
        line("lea-martin", "etude-dirigee", "2026-12-01", "add"),
        line("lea-martin", "cantine", "2026-12-01", "cancel"),
    ]});
    let forbidden =
        p.send("POST", &staff_uri, Some(body.clone()), &b, &[("idempotency-key", "staff-change-key-0001")]).await;
    assert_problem(&forbidden, 403, "forbidden");
    // The price before confirming (issue 31 §7): the same verdicts and prices, nothing written.
    let preview_uri = format!("{staff_uri}/preview");
    assert_problem(&p.send("POST", &preview_uri, Some(body.clone()), &b, &[]).await, 403, "forbidden");
    let mut with_a_fault = body.clone();
    with_a_fault["lines"].as_array_mut().unwrap().push(line("jade-martin", "cantine", "2028-06-01", "add"));
    let before = cell_state(&p, &b, "jade-martin", "restauration", "cantine", "2026-12-01").await;
    let preview = p.send("POST", &preview_uri, Some(with_a_fault), &agent, &[]).await;
    assert_eq!(preview.status, 200, "{:?}", preview.json);
    let previewed: Vec<(i64, bool)> = preview.json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["price"].as_i64().unwrap(), l["late"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(previewed, [(350, true), (1000, true), (250, true), (0, false)], "{:?}", preview.json);
    assert_eq!(preview.json["lines"][3]["error"]["code"], "too_far_ahead", "{:?}", preview.json);
    assert_eq!(preview.json["total"], 350 + 1000 + 250, "the refused line costs nothing");
    assert_eq!(cell_state(&p, &b, "jade-martin", "restauration", "cantine", "2026-12-01").await, before);
    assert_ne!(before, "confirmed");
    let told = p.deliver().await;
    assert!(
        !told.iter().any(|m| m.content.subject.starts_with("Modification de vos réservations")),
        "a preview tells no one"
    );
    let r =
        p.send("POST", &staff_uri, Some(body.clone()), &agent, &[("idempotency-key", "staff-change-key-0001")]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let by_unit = |child: &str, unit: &str| -> Value {
        r.json["lines"].as_array().unwrap().iter().find(|l| l["child"] == child && l["unit"] == unit).unwrap().clone()
    };
    // Canteen: 2,50 € + 1 €; supervised study: a flat 10 €; a late cancellation stays billed.
    assert_eq!(by_unit("jade-martin", "cantine")["price"], 350);
    assert_eq!(by_unit("jade-martin", "cantine")["late"], true);
    assert_eq!(by_unit("lea-martin", "etude-dirigee")["price"], 1000);
    assert_eq!(by_unit("lea-martin", "cantine")["price"], 250);
    assert_eq!(by_unit("lea-martin", "cantine")["status"], "cancelled");
    assert_eq!(r.json["total"], 350 + 1000 + 250);

    assert_eq!(cell_state(&p, &b, "jade-martin", "restauration", "cantine", "2026-12-01").await, "confirmed");
    let h = p.get(&format!("{MARTIN}/bookings?from=2026-12-01&to=2026-12-01"), Some(&b)).await;
    let lea = h.json.as_array().unwrap().iter().find(|x| x["child"] == "lea-martin" && x["unit"] == "cantine").unwrap();
    assert_eq!(lea["late_cancel"], true);
    let last = lea["history"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (
            last["by"].as_str(),
            last["role"].as_str(),
            last["from"].as_str(),
            last["to"].as_str(),
            last["late"].as_bool()
        ),
        (Some("agent@villeneuve-les-tilleuls.fr"), Some("staff"), Some("confirmed"), Some("cancelled"), Some(true))
    );
    let mails = p.deliver().await;
    let mut told: Vec<&str> = mails
        .iter()
        .filter(|m| m.content.subject.starts_with("Modification de vos réservations"))
        .map(|m| m.to.as_str())
        .collect();
    told.sort();
    assert_eq!(told, ["julien.martin@exemple.fr", "sophie.martin@exemple.fr"], "both guardians are told, once");
    let text = &mails.iter().find(|m| m.content.subject.starts_with("Modification")).unwrap().content.text;
    assert!(text.contains("3,50\u{a0}€ (ajout hors délai, tarif majoré)"), "{text}");
    assert!(text.contains("annulation hors délai, facturée 2,50\u{a0}€"), "{text}");
    // In the audit trail once (a retry answers the same and records nothing), with its lines.
    let retry = p.send("POST", &staff_uri, Some(body), &agent, &[("idempotency-key", "staff-change-key-0001")]).await;
    assert_eq!((retry.status, &retry.json["total"]), (200, &r.json["total"]));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let log = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&admin)).await;
    let changes: Vec<&Value> =
        log.json["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "bookings.staff_change").collect();
    assert_eq!(changes.len(), 1, "{:?}", log.json);
    assert_eq!(changes[0]["by"], "agent@villeneuve-les-tilleuls.fr");
    assert_eq!(changes[0]["target"], "family/martin");
    assert_eq!(changes[0]["after"].as_array().map(Vec::len), Some(3));
    p.stop().await;
}

// ----- The engine on both backends: the race for the last places, and a crash halfway. -----

crate::helpers::both_backends!(
    fifty_validations_race_for_the_last_ten_places,
    a_school_year_basket_interrupted_halfway_completes_exactly_on_retry,
    a_validation_whose_planner_died_is_taken_over_after_its_lease,
);

async fn demo_in(store: &Store) -> (Arc<Town>, local_portal::DemoFamilies) {
    local_portal::demo_town_only(store).await.expect("demo town")
}

fn ask(town: &Arc<Town>, family: &Family, key: &str) -> Ask {
    let g = &family.guardians[0];
    Ask {
        town: town.clone(),
        family: family.clone(),
        by: g.email.clone(),
        mode: Mode::Guardian,
        key: key.to_owned(),
        fingerprint: format!("fingerprint-of-{key}"),
        apply_valid: false,
        notify: vec![Recipient { email: g.email.clone(), first_name: g.first_name.clone() }],
        basket: None,
        public_url: "http://portail.test".into(),
    }
}

async fn fifty_validations_race_for_the_last_ten_places(store: Store) {
    let (town, _) = demo_in(&store).await;
    let clock = Clock::manual(at("2026-11-26T09:00:00Z"));
    let alsh = ActivityId::parse("alsh").unwrap();
    let site = SiteId::parse("centre-les-tilleuls").unwrap();
    let unit = UnitId::parse("alsh-mercredi").unwrap();
    // Fifty children of one large family, all enrolled at the leisure centre.
    let children: Vec<ChildId> = (1..=50).map(|i| ChildId::parse(&format!("enfant-{i:02}")).unwrap()).collect();
    for id in &children {
        let child = Child {
            id: id.clone(),
            first_name: format!("Enfant {id}"),
            last_name: "Nombreuse".into(),
            birth_date: NaiveDate::from_ymd_opt(2018, 5, 1).unwrap(),
            school: None,
            class: None,
            level: None,
            health_notes: None,
            diet: Default::default(),
            pai: false,
            enrolments: vec![Enrollment {
                activity: alsh.clone(),
                site: site.clone(),
                units: vec![],
                from: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2027, 8, 31).unwrap(),
                hold: None,
            }],
        };
        repo::put_child(&store, town.id(), &child).await.unwrap();
    }
    let family = Family {
        address: Vec::new(),
        reference: FamilyRef::parse("nombreuse").unwrap(),
        name: "Nombreuse".into(),
        guardians: vec![Guardian {
            first_name: "Camille".into(),
            last_name: "Nombreuse".into(),
            email: Email::parse("camille@exemple.fr").unwrap(),
            phone: None,
        }],
        children: children.clone(),
        resident: true,
        quotient_familial: None,
    };
    repo::put_family(&store, town.id(), &family).await.unwrap();
    let (activity, u) = town.unit(&unit).unwrap();
    let wednesday = (8..100)
        .map(|i| NaiveDate::from_ymd_opt(2026, 11, 26).unwrap() + chrono::Days::new(i))
        .find(|d| town.offering(activity, u, *d).is_ok())
        .unwrap();
    let capacity = i64::from(town.unit(&unit).unwrap().1.capacity.unwrap());
    let counter = keys::capacity(town.id(), &unit, &site, wednesday);
    store.add(&counter, "taken", capacity - 10, None).await.unwrap();

    let runs = children.iter().enumerate().map(|(i, child)| {
        let (store, clock, ask) =
            (store.clone(), clock.clone(), ask(&town, &family, &format!("race-key-{i:04}-xxxxxx")));
        let lines = vec![Line { child: child.clone(), unit: unit.clone(), date: wednesday, action: ActionKind::Add }];
        tokio::spawn(async move { engine::run(&store, &clock, &ask, lines).await })
    });
    let answers: Vec<engine::Answer> =
        futures::future::join_all(runs).await.into_iter().map(|r| r.unwrap().expect("an answer")).collect();
    let won = answers.iter().filter(|a| a.outcome == Outcome::Applied).count();
    let codes: std::collections::BTreeSet<_> =
        answers.iter().flat_map(|a| a.lines.iter().filter_map(|l| l.error.as_ref().map(|e| e.code.clone()))).collect();
    assert!(codes.iter().all(|c| c == "full"), "{codes:?}");
    assert_eq!(won, 10, "exactly the ten free places are taken ({})", store.backend_name());
    for lost in answers.iter().filter(|a| a.outcome != Outcome::Applied) {
        assert_eq!(lost.outcome, Outcome::Rejected);
        assert_eq!(lost.lines[0].error.as_ref().unwrap().code, "full");
    }
    let taken = store.get(&counter).await.unwrap().unwrap().attrs["taken"].as_i64().unwrap();
    assert_eq!(taken, capacity);
    let mut booked = 0;
    for child in &children {
        booked += repo::bookings(&store, town.id(), child, wednesday, wednesday).await.unwrap().len();
    }
    assert_eq!(booked, 10, "one booking per place, none for the losers");
}

async fn a_school_year_basket_interrupted_halfway_completes_exactly_on_retry(store: Store) {
    let (town, data) = demo_in(&store).await;
    // Before the school year: every date of the year is still open.
    let clock = Clock::manual(at("2026-08-20T08:00:00Z"));
    let family = data.families.iter().find(|f| f.reference.as_str() == "martin").unwrap().clone();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let lines = local_portal::demo_basket(&town, &data, "martin", day(2026, 9, 1), day(2027, 7, 2), day(2026, 8, 20));
    assert!(lines.len() > 1000, "{} lines", lines.len());
    let ask = ask(&town, &family, "school-year-key-000001");

    // The store fails after three transactions: the plan is stored, a few chunks applied.
    let crashed = engine::run(&store.failing_after(3), &clock, &ask, lines.clone()).await;
    let Err(problem) = crashed else {
        let codes: std::collections::BTreeSet<_> =
            crashed.unwrap().lines.into_iter().filter_map(|l| l.error.map(|e| (l.unit, e.code))).collect();
        panic!("the injected fault surfaces; refusals: {codes:?}");
    };
    assert_eq!(problem.status, 503);
    let mut partial = 0;
    for c in &family.children {
        partial += repo::bookings(&store, town.id(), c, lines[0].date, NaiveDate::from_ymd_opt(2027, 7, 2).unwrap())
            .await
            .unwrap()
            .len();
    }
    assert!(partial > 0 && partial < lines.len(), "stopped halfway: {partial} of {}", lines.len());

    // The client retries with the same key: the rest is applied, nothing twice.
    clock.advance(chrono::TimeDelta::seconds(5));
    let answer = engine::run(&store, &clock, &ask, lines.clone()).await.expect("completed");
    assert_eq!(answer.outcome, Outcome::Applied, "{:?}", answer.lines.iter().find(|l| l.error.is_some()));
    assert_eq!(answer.applied, lines.len());
    let mut booked = std::collections::BTreeSet::new();
    let mut per_day: std::collections::BTreeMap<(UnitId, NaiveDate), i64> = Default::default();
    for c in &family.children {
        for b in repo::bookings(&store, town.id(), c, lines[0].date, NaiveDate::from_ymd_opt(2027, 7, 2).unwrap())
            .await
            .unwrap()
        {
            assert_eq!(b.history.len(), 1, "applied once: {:?}", b);
            assert_eq!(b.version, 1);
            *per_day.entry((b.unit.clone(), b.date)).or_default() += i64::from(b.holds_place());
            booked.insert((b.child, b.unit, b.date));
        }
    }
    let asked: std::collections::BTreeSet<_> =
        lines.iter().map(|l| (l.child.clone(), l.unit.clone(), l.date)).collect();
    assert_eq!(booked, asked, "the bookings are exactly the basket");
    // The places counters agree with the bookings (counted once each).
    for ((unit, date), n) in per_day {
        let (activity, u) = town.unit(&unit).unwrap();
        if u.capacity.is_some() {
            let key = keys::capacity(town.id(), &unit, &activity.sites[0], date);
            let taken = store.get(&key).await.unwrap().map_or(0, |i| i.attrs["taken"].as_i64().unwrap());
            assert_eq!(taken, n, "{unit} {date}");
        }
    }
    // A third call answers the same, from what was stored.
    let again = engine::run(&store, &clock, &ask, Vec::new()).await.unwrap();
    assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&answer).unwrap());
    assert!(answer.lines.iter().all(|l| l.result == LineOutcome::Applied));
    // One confirmation email, whatever the retries.
    let mails = store.query_all(&store::Query::gsi1(keys::OUTBOX_PENDING, store::SkRange::All)).await.unwrap();
    assert_eq!(mails.len(), 1);
}

async fn a_validation_whose_planner_died_is_taken_over_after_its_lease(store: Store) {
    let (town, data) = demo_in(&store).await;
    let clock = Clock::manual(at("2026-08-20T08:00:00Z"));
    let family = data.families.iter().find(|f| f.reference.as_str() == "martin").unwrap().clone();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let lines = local_portal::demo_basket(&town, &data, "martin", day(2026, 9, 7), day(2026, 9, 11), day(2026, 8, 20));
    let ask = ask(&town, &family, "planner-died-key-0001");
    // The claim is written, then the process dies: the plan is never stored, the claim stays.
    let died = engine::run(&store.failing_writes_after(1), &clock, &ask, lines.clone()).await;
    assert_eq!(died.expect_err("the injected fault").status, 503);
    // A retry within the lease waits for the planner (not tested: 20 s); after it, a retry
    // without the lines cannot know them, and says so; one with them takes the key over.
    clock.advance(chrono::TimeDelta::seconds(40));
    let blind = engine::run(&store, &clock, &ask, Vec::new()).await;
    assert_eq!(blind.expect_err("no lines to plan").code, "validation_interrupted");
    let answer = engine::run(&store, &clock, &ask, lines.clone()).await.expect("taken over");
    assert_eq!((answer.outcome, answer.applied), (Outcome::Applied, lines.len()));
    let again = engine::run(&store, &clock, &ask, Vec::new()).await.expect("replayed");
    assert_eq!(again.applied, lines.len());
}
