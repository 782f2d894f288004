//! The school year for a town of 5,000 children (2,000 families of two or three, two families
//! in three having sent their 2027-2028 enrolment): the campaign's dashboard read whole, page
//! after page (JSON), the rollover's dry run, the run (calls until finished) and the run again
//! (a finished run writes nothing). Prints, once, each step's time and storage calls on the
//! embedded store, through the local portal's router as the browser calls it.
//! Run: `cargo bench -p e2e --bench school_year` (a debug build: `cargo test -p e2e --bench
//! school_year` runs it too, slower).
#![allow(clippy::expect_used, clippy::print_stdout, reason = "a benchmark's fixtures and report")]

use axum::Router;
use axum::body::Body;
use domain::family::{Child, Family};
use domain::school_year::{ChildAnswer, ChildLevel, FamilyEnrolment, Level, SchoolYear};
use domain::{ChildId, FamilyRef};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::Instant;
use store::{Item, Store, WriteOp, keys, repo};
use tower::ServiceExt;

const FAMILIES: usize = 2_000;
const TOWN: &str = "villeneuve-les-tilleuls";

async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    session: Option<&(String, String)>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some((cookie, csrf)) = session {
        req = req.header("cookie", cookie).header("x-csrf-token", csrf);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or_default().to_owned());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(c) = cookie {
        json["__cookie"] = json!(c);
    }
    (status, json)
}

async fn login(router: &Router, email: &str) -> (String, String) {
    let body = json!({"email": email, "password": local_portal::DEMO_PASSWORD});
    let (status, json) = call(router, "POST", &format!("/api/towns/{TOWN}/auth/login"), None, Some(body)).await;
    assert_eq!(status, 200, "{json}");
    (json["__cookie"].as_str().expect("cookie").to_owned(), json["csrf_token"].as_str().expect("csrf").to_owned())
}

/// 2,000 families, 5,000 children (CE1 in 2026-2027, at the canteen), two in three enrolled.
async fn town_of_5000(store: &Store, template: &Child) -> usize {
    let town = domain::TownId::parse(TOWN).expect("town");
    let closing = SchoolYear::parse("2026-2027").expect("year");
    let at = chrono::DateTime::parse_from_rfc3339("2027-06-01T08:00:00Z").expect("t").to_utc();
    let mut ops = Vec::new();
    let mut children = 0;
    for i in 0..FAMILIES {
        let reference = FamilyRef::parse(&format!("famille-{i:04}")).expect("ref");
        let ids: Vec<ChildId> = (0..if i % 2 == 0 { 3 } else { 2 })
            .map(|k| ChildId::parse(&format!("enfant-{i:04}-{k}")).expect("id"))
            .collect();
        for id in &ids {
            let child = Child {
                id: id.clone(),
                level: Some(ChildLevel { level: Level::CE1, year: closing }),
                ..template.clone()
            };
            ops.push(WriteOp::put(repo::child_item(&town, &child).expect("child")));
            children += 1;
        }
        let family = Family {
            address: Vec::new(),
            reference: reference.clone(),
            name: format!("Famille {i}"),
            resident: true,
            quotient_familial: None,
            guardians: Vec::new(),
            children: ids.clone(),
        };
        ops.push(WriteOp::put(repo::family_item(&town, &family).expect("family")));
        if i % 3 != 0 {
            let enrolment = FamilyEnrolment {
                year: closing.next(),
                children: ids
                    .iter()
                    .map(|c| ChildAnswer {
                        child: c.clone(),
                        confirmed: true,
                        activities: vec![domain::ActivityId::parse("restauration").expect("id")],
                    })
                    .collect(),
                rules: Some(domain::school_year::RulesAccepted {
                    version: "2027-2028 v1".into(),
                    by: domain::family::Email::parse("parent@exemple.fr").expect("email"),
                    at,
                }),
                submitted_at: Some(at),
                corrections: None,
                version: 1,
            };
            let item = Item::from_value(keys::enrolment(&town, &reference, closing.next()), &enrolment).expect("item");
            ops.push(WriteOp::put(item));
        }
        if ops.len() >= 80 {
            store.transact(std::mem::take(&mut ops)).await.expect("write");
        }
    }
    if !ops.is_empty() {
        store.transact(ops).await.expect("write");
    }
    children
}

/// Calls `uri` page after page (`next`), counting rows (or families) and storage calls.
async fn pages(
    router: &Router,
    store: &Store,
    session: &(String, String),
    uri: &str,
    key: &str,
) -> (usize, usize, u64, f64) {
    let (calls, start) = (store.calls(), Instant::now());
    let (mut items, mut n, mut cursor) = (0, 0, None::<String>);
    loop {
        let page = match &cursor {
            Some(c) => format!("{uri}?cursor={c}"),
            None => uri.to_owned(),
        };
        let (status, json) = call(router, "GET", &page, Some(session), None).await;
        assert_eq!(status, 200, "{json}");
        items += json[key].as_array().map_or(0, Vec::len);
        n += 1;
        match json["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    (items, n, store.calls() - calls, start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z").expect("t").to_utc();
    let clock = edge::clock::Clock::manual(start);
    let portal = local_portal::build(&local_portal::Options::demo(dir.path(), clock.clone())).await.expect("portal");
    let (router, store) = (portal.router.clone(), portal.store.clone());
    let demo: local_portal::DemoFamilies = domain::json::parse(local_portal::DEMO_FAMILIES.as_bytes()).expect("demo");
    let template = demo.children.iter().find(|c| c.id.as_str() == "hugo-martin").expect("hugo").clone();
    let t = Instant::now();
    let children = town_of_5000(&store, &template).await;
    println!("fixture: {FAMILIES} families, {children} children written in {:.1} s", t.elapsed().as_secs_f64());

    let admin = login(&router, "mairie@villeneuve-les-tilleuls.fr").await;
    let campaign: Value = serde_json::from_str(local_portal::DEMO_CAMPAIGN).expect("campaign");
    let uri = format!("/api/towns/{TOWN}/staff/school-years/2027-2028/campaign");
    assert_eq!(call(&router, "PUT", &uri, Some(&admin), Some(campaign)).await.0, 200);

    clock.set("2027-06-02T08:00:00Z".parse().expect("t"));
    let admin = login(&router, "mairie@villeneuve-les-tilleuls.fr").await;
    let board = format!("/api/towns/{TOWN}/staff/school-years/2027-2028/dashboard");
    let (rows, n, calls, secs) = pages(&router, &store, &admin, &board, "rows").await;
    println!(
        "dashboard: {rows} rows in {n} pages, {calls} storage calls, {secs:.2} s ({:.0} ms a page)",
        secs * 1000.0 / n as f64
    );

    clock.set("2027-07-16T08:00:00Z".parse().expect("t"));
    let admin = login(&router, "mairie@villeneuve-les-tilleuls.fr").await;
    let rollover = format!("/api/towns/{TOWN}/staff/school-years/2026-2027/rollover");
    let (families, n, calls, secs) = pages(&router, &store, &admin, &rollover, "families").await;
    println!("rollover dry run: {families} families listed in {n} pages, {calls} storage calls, {secs:.2} s");

    for label in ["rollover run", "rollover run again"] {
        let (calls, transactions, t) = (store.calls(), store.transactions(), Instant::now());
        let mut n = 0;
        let last = loop {
            let (status, json) = call(&router, "POST", &rollover, Some(&admin), None).await;
            assert_eq!(status, 200, "{json}");
            n += 1;
            if json["finished_at"].is_string() {
                break json;
            }
        };
        println!(
            "{label}: {n} calls, {} children changed, {} storage calls ({} transactions), {:.2} s",
            last["children_changed"],
            store.calls() - calls,
            store.transactions() - transactions,
            t.elapsed().as_secs_f64()
        );
    }
    portal.stop().await;
}
