//! The `towns` router: public facts, provisioning, and every kind of bad input answered with
//! problem+json and nothing written.

use crate::helpers::{Reply, assert_problem, call, embedded_store};
use axum::Router;
use serde_json::{Value, json};
use std::time::Duration;
use store::repo::Towns;

const TOKEN: &str = "un-jeton-exploitant-de-test";
const TOWN: &str = "villeneuve-les-tilleuls";

fn app() -> (Router, tempfile::TempDir) {
    let (store, dir) = embedded_store();
    let state = towns::AppState::new(
        Towns::new(store, Duration::from_secs(60)),
        edge::http::auth::OperatorKey::new(Some(TOKEN)),
    );
    (edge::http::finish(towns::router(state)), dir)
}

fn demo_config() -> Value {
    serde_json::from_str(local_portal::DEMO_TOWN).unwrap()
}

async fn provision(router: &Router, town: &str, body: Vec<u8>, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        router,
        "PUT",
        &format!("/api/operator/towns/{town}"),
        &[("content-type", "application/json"), ("authorization", &auth)],
        Some(body),
    )
    .await
}

async fn town_is_absent(router: &Router) {
    assert_problem(&call(router, "GET", &format!("/api/towns/{TOWN}"), &[], None).await, 404, "unknown_town");
}

#[tokio::test]
async fn provisioned_town_is_served_and_updated() {
    let (router, _dir) = app();
    let reply = provision(&router, TOWN, demo_config().to_string().into_bytes(), TOKEN).await;
    assert_eq!(reply.status, 201, "{:?}", reply.json);
    assert_eq!(reply.json["created"], true);
    let got = call(&router, "GET", &format!("/api/towns/{TOWN}"), &[], None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["name"], "Villeneuve-les-Tilleuls");
    assert_eq!(got.json["activities"].as_array().unwrap().len(), 4);

    let mut renamed = demo_config();
    renamed["name"] = json!("Villeneuve");
    let again = provision(&router, TOWN, renamed.to_string().into_bytes(), TOKEN).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["created"], false);
    assert_eq!(call(&router, "GET", &format!("/api/towns/{TOWN}"), &[], None).await.json["name"], "Villeneuve");
}

#[tokio::test]
async fn day_facts_say_why_a_unit_is_not_offered() {
    let (router, _dir) = app();
    provision(&router, TOWN, demo_config().to_string().into_bytes(), TOKEN).await;
    let day = |d: &'static str| {
        let router = router.clone();
        async move { call(&router, "GET", &format!("/api/towns/{TOWN}/days/{d}"), &[], None).await.json }
    };
    let unit = |v: &Value, id: &str| v["units"].as_array().unwrap().iter().find(|u| u["unit"] == id).cloned().unwrap();

    let friday = day("2026-12-18").await;
    assert_eq!(friday["kind"], "school_day");
    assert_eq!(unit(&friday, "cantine")["offered"], true);
    assert_eq!(unit(&friday, "alsh-mercredi")["not_offered"]["reason"], "not_running_that_day");

    let closed_wednesday = day("2026-12-09").await;
    assert_eq!(closed_wednesday["closures"][0]["activities"][0], "alsh");
    assert_eq!(unit(&closed_wednesday, "alsh-mercredi")["not_offered"]["reason"], "closure");
    assert!(
        unit(&closed_wednesday, "alsh-mercredi")["not_offered"]["detail"].as_str().unwrap().contains("pédagogique")
    );

    let wednesday = day("2026-12-16").await;
    assert_eq!(wednesday["kind"], "wednesday");
    assert_eq!(unit(&wednesday, "alsh-mercredi")["offered"], true);
    assert_eq!(unit(&wednesday, "cantine")["offered"], false);

    let christmas_holidays = day("2026-12-22").await;
    assert_eq!(christmas_holidays["school_holiday"], "Vacances de Noël");
    assert_eq!(unit(&christmas_holidays, "alsh-vacances")["offered"], true);
    assert_eq!(unit(&christmas_holidays, "cantine")["not_offered"]["reason"], "school_holiday");

    let armistice = day("2026-11-11").await;
    assert_eq!(armistice["public_holiday"], "Armistice 1918");
    assert_eq!(armistice["working_day"], false);
    assert_eq!(unit(&armistice, "cantine")["not_offered"]["name"], "Armistice 1918");

    let saturday = day("2026-12-19").await;
    assert_eq!(unit(&saturday, "cantine")["not_offered"]["reason"], "weekend");

    let range = call(&router, "GET", &format!("/api/towns/{TOWN}/days?from=2026-12-14&to=2026-12-20"), &[], None).await;
    assert_eq!(range.status, 200);
    assert_eq!(range.json.as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn unknown_town_is_a_404() {
    let (router, _dir) = app();
    assert_problem(&call(&router, "GET", "/api/towns/nulle-part", &[], None).await, 404, "unknown_town");
    assert_problem(
        &call(&router, "GET", "/api/towns/NULLE%20PART/days/2026-12-01", &[], None).await,
        404,
        "unknown_town",
    );
}

#[tokio::test]
async fn invalid_dates_are_400s() {
    let (router, _dir) = app();
    provision(&router, TOWN, demo_config().to_string().into_bytes(), TOKEN).await;
    for bad in ["2026-02-30", "01-09-2026", "2026-9-1", "demain", "1850-01-01"] {
        let r = call(&router, "GET", &format!("/api/towns/{TOWN}/days/{bad}"), &[], None).await;
        assert_problem(&r, 400, "invalid_date");
        assert!(r.json["title"].as_str().unwrap().contains("AAAA-MM-JJ"));
    }
    assert_problem(
        &call(&router, "GET", &format!("/api/towns/{TOWN}/days?from=2026-12-01"), &[], None).await,
        400,
        "missing_range",
    );
    assert_problem(
        &call(&router, "GET", &format!("/api/towns/{TOWN}/days?from=2026-12-10&to=2026-12-01"), &[], None).await,
        400,
        "invalid_range",
    );
    assert_problem(
        &call(&router, "GET", &format!("/api/towns/{TOWN}/days?from=2026-01-01&to=2026-12-31"), &[], None).await,
        400,
        "invalid_range",
    );
}

#[tokio::test]
async fn provisioning_needs_the_operator_token() {
    let (router, _dir) = app();
    let body = demo_config().to_string().into_bytes();
    assert_problem(&provision(&router, TOWN, body.clone(), "mauvais-jeton-de-test-long").await, 401, "unauthorized");
    let r = call(
        &router,
        "PUT",
        &format!("/api/operator/towns/{TOWN}"),
        &[("content-type", "application/json")],
        Some(body),
    )
    .await;
    assert_problem(&r, 401, "unauthorized");
    town_is_absent(&router).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_changes_nothing() {
    let (router, _dir) = app();
    assert_problem(&provision(&router, TOWN, b"{\"id\": \"villeneuve".to_vec(), TOKEN).await, 400, "invalid_json");
    let auth = format!("Bearer {TOKEN}");
    let r = call(
        &router,
        "PUT",
        &format!("/api/operator/towns/{TOWN}"),
        &[("content-type", "text/plain"), ("authorization", &auth)],
        Some(b"x".to_vec()),
    )
    .await;
    assert_problem(&r, 415, "unsupported_media_type");
    town_is_absent(&router).await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_changes_nothing() {
    let (router, _dir) = app();
    let mut cfg = demo_config();
    cfg["name"] = json!("x".repeat(1024 * 1024 + 1));
    assert_problem(&provision(&router, TOWN, cfg.to_string().into_bytes(), TOKEN).await, 413, "body_too_large");
    town_is_absent(&router).await;
}

#[tokio::test]
async fn a_malformed_configuration_names_the_field_and_changes_nothing() {
    let (router, _dir) = app();
    let mut cfg = demo_config();
    cfg["activities"][3]["units"][0]["add_deadline"]["unit"] = json!("weeks");
    let r = provision(&router, TOWN, cfg.to_string().into_bytes(), TOKEN).await;
    assert_problem(&r, 422, "invalid_body");
    assert_eq!(r.json["field"], "activities[3].units[0].add_deadline.unit");
    assert!(r.json["detail"].as_str().unwrap().contains("working_days"), "{:?}", r.json);

    let mut cfg = demo_config();
    cfg["activities"][0]["units"][0]["capacity"] = json!(0);
    let r = provision(&router, TOWN, cfg.to_string().into_bytes(), TOKEN).await;
    assert_problem(&r, 422, "invalid_configuration");
    assert_eq!(r.json["field"], "activities[0].units[0].capacity");

    let r = provision(&router, "autre-commune", demo_config().to_string().into_bytes(), TOKEN).await;
    assert_problem(&r, 422, "town_id_mismatch");
    town_is_absent(&router).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problems() {
    let (router, _dir) = app();
    assert_problem(&call(&router, "GET", "/api/nothing-here", &[], None).await, 404, "not_found");
    assert_problem(&call(&router, "DELETE", &format!("/api/towns/{TOWN}"), &[], None).await, 405, "method_not_allowed");
}
