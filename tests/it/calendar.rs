//! « Mes réservations »: the week grid with every cell state, the period preview, ownership.
//! The test clock is Thursday 26 November 2026, 10:00 in Paris.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal};
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn sophie(p: &TestPortal) -> Browser {
    p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

fn cells(grid: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for week in grid["weeks"].as_array().unwrap() {
        for row in week["rows"].as_array().unwrap() {
            for c in row["cells"].as_array().unwrap() {
                let mut c = c.clone();
                c["unit"] = row["unit"].clone();
                out.push(c);
            }
        }
    }
    out
}

fn find<'a>(cells: &'a [Value], unit: &str, date: &str) -> &'a Value {
    cells.iter().find(|c| c["unit"] == unit && c["date"] == date).unwrap_or_else(|| panic!("no cell {unit} {date}"))
}

#[tokio::test]
async fn week_grid_has_the_seed_shape_and_deadlines() {
    let p = portal().await;
    let b = sophie(&p).await;
    let r = p
        .get(
            &format!(
                "/api/towns/{TOWN}/calendar/children/lea-martin/weeks?activity=restauration&from=2026-11-30&weeks=2"
            ),
            Some(&b),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let weeks = r.json["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0]["label"], "Semaine 49 du 30/11/2026 au 04/12/2026");
    assert_eq!(weeks[0]["iso_week"], 49);
    assert_eq!(weeks[0]["days"].as_array().unwrap().len(), 5);
    assert_eq!(weeks[0]["rows"][0]["name"], "Cantine");
    let all = cells(&r.json);
    // Monday 30 November was booked in the demo; its cancel deadline (Thursday 26, 23:59) is open.
    let monday = find(&all, "cantine", "2026-11-30");
    assert_eq!(monday["state"], "confirmed");
    assert_eq!(monday["cancel_deadline"], "2026-11-26T22:59:00Z");
    assert_eq!(monday["action"], json!({"kind": "cancel", "price": 0}));
    assert_eq!(find(&all, "cantine", "2026-12-02")["reason"], "not_running_that_day");
    // Monday 7 December: bookable until Thursday 3 December, 23:59; the family's QF bracket price.
    let next = find(&all, "cantine", "2026-12-07");
    assert_eq!(next["state"], "bookable");
    assert_eq!(next["add_deadline"], "2026-12-03T22:59:00Z");
    assert_eq!(next["action"], json!({"kind": "add", "price": 250}));
    assert_eq!(next["late_add_price"], 350);
    assert_eq!(next["late_cancel_price"], 250);
    p.stop().await;
}

#[tokio::test]
async fn the_demo_shows_every_state_of_the_legend() {
    let p = portal().await;
    let b = sophie(&p).await;
    let mut seen = BTreeSet::new();
    for (activity, from, weeks) in [
        ("restauration", "2026-11-16", 12),
        ("periscolaire", "2026-11-16", 12),
        ("alsh", "2026-11-16", 12),
        ("alsh", "2027-02-15", 2),
    ] {
        let r = p
            .get(
                &format!(
                    "/api/towns/{TOWN}/calendar/families/martin/weeks?activity={activity}&from={from}&weeks={weeks}"
                ),
                Some(&b),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        for grid in r.json.as_array().unwrap() {
            for c in cells(grid) {
                let state = c["state"].as_str().unwrap().to_owned();
                let detail = match state.as_str() {
                    "not_offered" | "locked" => format!("{state}:{}", c["reason"].as_str().unwrap()),
                    "absent" => format!("absent:{}", c["justified"]),
                    _ => state,
                };
                seen.insert(detail);
            }
        }
    }
    for want in [
        "bookable",
        "locked:deadline_passed",
        "locked:not_open_yet",
        "locked:full",
        "pending",
        "confirmed",
        "cancel_requested",
        "refused",
        "present",
        "absent:false",
        "absent:true",
        "not_offered:not_running_that_day",
        "not_offered:school_holiday",
        "not_offered:public_holiday",
        "not_offered:closure",
        "not_offered:not_enrolled",
    ] {
        assert!(seen.contains(want), "{want} missing from {seen:?}");
    }
    p.stop().await;
}

#[tokio::test]
async fn children_lists_what_each_child_may_book() {
    let p = portal().await;
    let b = sophie(&p).await;
    let r = p.get(&format!("/api/towns/{TOWN}/calendar/children"), Some(&b)).await;
    let kids = r.json.as_array().unwrap();
    assert_eq!(kids.len(), 3);
    let jade = kids.iter().find(|k| k["id"] == "jade-martin").unwrap();
    assert_eq!(jade["activities"].as_array().unwrap().len(), 2);
    assert_eq!(jade["activities"][0]["site_name"], "Groupe scolaire Jules Ferry");
    p.stop().await;
}

#[tokio::test]
async fn a_guardian_asking_for_another_familys_child_learns_nothing() {
    let p = portal().await;
    let b = sophie(&p).await;
    let other = p
        .get(&format!("/api/towns/{TOWN}/calendar/children/noe-bernard-petit/weeks?activity=restauration"), Some(&b))
        .await;
    let none =
        p.get(&format!("/api/towns/{TOWN}/calendar/children/personne/weeks?activity=restauration"), Some(&b)).await;
    assert_problem(&other, 404, "unknown_child");
    assert_eq!(other.json, none.json);
    let fam =
        p.get(&format!("/api/towns/{TOWN}/calendar/families/bernard/weeks?activity=restauration"), Some(&b)).await;
    assert_problem(&fam, 404, "unknown_family");
    // Both separated parents see Noé, each priced with their own family's quotient.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let thomas = p.login(TOWN, "thomas.petit@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let uri = format!(
        "/api/towns/{TOWN}/calendar/children/noe-bernard-petit/weeks?activity=restauration&from=2026-12-07&weeks=1"
    );
    let by_claire = cells(&p.get(&uri, Some(&claire)).await.json);
    let by_thomas = cells(&p.get(&uri, Some(&thomas)).await.json);
    assert_eq!(find(&by_claire, "cantine", "2026-12-07")["price"], 100, "QF 540");
    assert_eq!(find(&by_thomas, "cantine", "2026-12-07")["price"], 380, "QF unknown");
    p.stop().await;
}

#[tokio::test]
async fn period_preview_lists_booked_and_skipped_dates_and_writes_nothing() {
    let p = portal().await;
    let b = sophie(&p).await;
    let body = json!({
        "activity": "periscolaire", "action": "add", "from": "2026-11-30", "to": "2027-07-02",
        "units": ["peri-soir"], "weekdays": ["Tue"]
    });
    let uri = format!("/api/towns/{TOWN}/calendar/children/hugo-martin/period-preview");
    let r = p.post(&uri, body.clone(), Some(&b)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let lines = r.json["lines"].as_array().unwrap();
    let skipped = r.json["skipped"].as_array().unwrap();
    // 31 Tuesdays from 1 December to 29 June: 1 December is already booked, the holidays skip.
    assert!(skipped.iter().any(|s| s["date"] == "2026-12-01" && s["state"] == "confirmed"));
    assert!(skipped.iter().any(|s| s["date"] == "2026-12-22" && s["reason"] == "school_holiday"));
    assert!(lines.iter().all(|l| l["price"] == 250));
    assert_eq!(r.json["total"], 250 * lines.len());
    assert_eq!(lines.len() + skipped.len(), 31);
    // Nothing written: the grid still shows 8 December bookable.
    let grid = p
        .get(
            &format!(
                "/api/towns/{TOWN}/calendar/children/hugo-martin/weeks?activity=periscolaire&from=2026-12-07&weeks=1"
            ),
            Some(&b),
        )
        .await;
    assert_eq!(find(&cells(&grid.json), "peri-soir", "2026-12-08")["state"], "bookable");

    let every_other = json!({
        "activity": "periscolaire", "action": "add", "from": "2027-01-04", "to": "2027-01-31",
        "units": ["peri-soir"], "weekdays": ["Mon"], "every_weeks": 2
    });
    let r = p.post(&uri, every_other, Some(&b)).await;
    let dates: Vec<&str> = r.json["lines"].as_array().unwrap().iter().map(|l| l["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2027-01-04", "2027-01-18"]);

    let cancel = json!({
        "activity": "periscolaire", "action": "cancel", "from": "2026-11-30", "to": "2026-12-04",
        "units": ["peri-soir"], "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"]
    });
    let r = p.post(&uri, cancel, Some(&b)).await;
    let dates: Vec<&str> = r.json["lines"].as_array().unwrap().iter().map(|l| l["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-30", "2026-12-01", "2026-12-03", "2026-12-04"]);
    assert_eq!(r.json["total"], 0, "cancelling within the deadline costs nothing");
    p.stop().await;
}

#[tokio::test]
async fn calendar_bad_input_is_a_clear_4xx() {
    let p = portal().await;
    let b = sophie(&p).await;
    let base = format!("/api/towns/{TOWN}/calendar/children/lea-martin");
    assert_problem(&p.get(&format!("{base}/weeks"), Some(&b)).await, 400, "missing_activity");
    assert_problem(&p.get(&format!("{base}/weeks?activity=piscine"), Some(&b)).await, 404, "unknown_activity");
    assert_problem(
        &p.get(&format!("{base}/weeks?activity=restauration&weeks=52"), Some(&b)).await,
        400,
        "invalid_weeks",
    );
    assert_problem(
        &p.get(&format!("{base}/weeks?activity=restauration&from=2026-02-30"), Some(&b)).await,
        400,
        "invalid_date",
    );
    assert_problem(
        &p.get(&format!("{base}/weeks?activity=restauration&couleur=bleu"), Some(&b)).await,
        400,
        "invalid_query",
    );
    assert_problem(
        &p.get(&format!("{base}/month?activity=restauration&month=2026-13"), Some(&b)).await,
        400,
        "invalid_month",
    );
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/calendar/children/jade-martin/weeks?activity=alsh"), Some(&b)).await,
        422,
        "not_enrolled",
    );
    let preview_uri = format!("{base}/period-preview");
    let preview = |body: Value| p.post(&preview_uri, body, Some(&b));
    let bad_range = json!({"activity": "restauration", "action": "add", "from": "2027-01-10", "to": "2027-01-01", "units": ["cantine"], "weekdays": ["Mon"]});
    let r = preview(bad_range).await;
    assert_problem(&r, 422, "invalid_period");
    assert_eq!(r.json["field"], "to");
    let foreign_unit = json!({"activity": "restauration", "action": "add", "from": "2027-01-04", "to": "2027-01-10", "units": ["alsh-mercredi"], "weekdays": ["Mon"]});
    assert_problem(&preview(foreign_unit).await, 422, "unknown_unit");
    let bad_day = json!({"activity": "restauration", "action": "add", "from": "2027-01-04", "to": "2027-01-10", "units": ["cantine"], "weekdays": ["Lundi"]});
    assert_problem(&preview(bad_day).await, 422, "invalid_body");
    assert_problem(&p.get(&format!("{base}/weeks?activity=restauration"), None).await, 401, "unauthenticated");
    p.stop().await;
}

#[tokio::test]
async fn the_month_view_covers_the_month() {
    let p = portal().await;
    let b = sophie(&p).await;
    let r = p
        .get(
            &format!("/api/towns/{TOWN}/calendar/children/lea-martin/month?activity=restauration&month=2027-03"),
            Some(&b),
        )
        .await;
    assert_eq!(r.status, 200);
    let weeks = r.json["weeks"].as_array().unwrap();
    assert_eq!(weeks.first().unwrap()["monday"], "2027-03-01");
    assert_eq!(weeks.last().unwrap()["monday"], "2027-03-29");
    p.stop().await;
}

#[tokio::test]
async fn a_family_grid_costs_one_bookings_query_per_child() {
    let p = portal().await;
    let b = sophie(&p).await;
    let uri =
        format!("/api/towns/{TOWN}/calendar/families/martin/weeks?activity=restauration&from=2026-11-30&weeks=12");
    p.get(&uri, Some(&b)).await; // the town configuration is now cached
    let before = p.store.calls();
    let r = p.get(&uri, Some(&b)).await;
    let calls = p.store.calls() - before;
    assert_eq!(r.json.as_array().unwrap().len(), 3);
    // The session, the family, then per child: the child, its bookings over the 12 weeks, and
    // the canteen's places taken (the only unit with a capacity).
    assert_eq!(calls, 2 + 3 * 3, "storage calls per grid");
    p.stop().await;
}

#[tokio::test]
async fn a_family_subscribes_to_its_confirmed_bookings_and_can_revoke_the_feed() {
    let p = portal().await;
    let b = sophie(&p).await;
    let created = p.post(&format!("/api/towns/{TOWN}/calendar/families/martin/feed"), json!({}), Some(&b)).await;
    assert_eq!(created.status, 201, "{:?}", created.json);
    let path = created.json["path"].as_str().unwrap().to_owned();
    let feed = crate::helpers::call(&p.router, "GET", &path, &[], None).await;
    assert_eq!(feed.status, 200);
    assert!(feed.content_type.starts_with("text/calendar"));
    let ics = String::from_utf8(crate::helpers::raw_body(&p.router, &path).await).unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR"));
    assert!(ics.contains("PRODID:-//Espace Famille//Réservations//FR"), "our own PRODID: {ics}");
    // The canteen runs 11:30 to 13:30 (its `hours` in the demo town): a timed event in Paris
    // time, the zone defined in the feed, the booking's state in the description.
    assert!(ics.contains("SUMMARY:Léa\u{202f}: Cantine 11\u{a0}h\u{a0}30 – 13\u{a0}h\u{a0}30"), "{ics}");
    assert!(ics.contains("DTSTART;TZID=Europe/Paris:20261130T113000"), "{ics}");
    assert!(ics.contains("DTEND;TZID=Europe/Paris:20261130T133000"), "{ics}");
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"), "{ics}");
    assert!(ics.replace("\r\n ", "").contains("Réservation confirmée."), "the state, lines unfolded: {ics}");
    assert!(!ics.contains("20261221"), "a pending request is not in the calendar");
    // A new feed revokes the old one; revoking leaves none.
    let again = p.post(&format!("/api/towns/{TOWN}/calendar/families/martin/feed"), json!({}), Some(&b)).await;
    assert_problem(&crate::helpers::call(&p.router, "GET", &path, &[], None).await, 404, "unknown_feed");
    let newer = again.json["path"].as_str().unwrap().to_owned();
    let revoke = crate::helpers::call(
        &p.router,
        "DELETE",
        &format!("/api/towns/{TOWN}/calendar/families/martin/feed"),
        &[("cookie", &b.cookie), ("x-csrf-token", &b.csrf)],
        None,
    )
    .await;
    assert_eq!(revoke.status, 204);
    assert_problem(&crate::helpers::call(&p.router, "GET", &newer, &[], None).await, 404, "unknown_feed");
    // Another family's feed cannot be made.
    let other = p.post(&format!("/api/towns/{TOWN}/calendar/families/bernard/feed"), json!({}), Some(&b)).await;
    assert_problem(&other, 404, "unknown_family");
    p.stop().await;
}
