//! The family import of 10,000 rows (5,000 families of two children, 5,000 new guardians) on
//! the embedded store, through the local portal's router: a dry run (parse, check every row,
//! compare with what is stored), and a first import into a fresh store (about 25,000 items in
//! 250 transactions). Run: `cargo bench -p e2e --bench import`.

use axum::Router;
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const HEADER: &str = "famille_reference;famille_nom;quotient_familial;responsable1_prenom;responsable1_nom;responsable1_email;enfant_id;enfant_prenom;enfant_nom;enfant_naissance;inscriptions;inscription_debut;inscription_fin";

fn file() -> String {
    let mut csv = String::from(HEADER);
    for i in 0..10_000u32 {
        let f = i / 2;
        csv.push_str(&format!(
            "\nF{f:05};Famille {f};640;Alex;Nom{f};parent{f}@exemple.fr;E{f:05}-{};Enfant;Nom{f};12/05/2018;restauration@ecole-jules-ferry;01/09/2026;03/07/2027",
            i % 2
        ));
    }
    csv
}

struct Staff {
    router: Router,
    cookie: String,
    csrf: String,
    _dir: tempfile::TempDir,
}

async fn staff() -> Staff {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = local_portal::Options::demo(dir.path(), edge::clock::Clock::system());
    let portal = local_portal::build(&opts).await.expect("portal");
    let login =
        serde_json::json!({"email": "agent@villeneuve-les-tilleuls.fr", "password": local_portal::DEMO_PASSWORD});
    let req = http::Request::post("/api/towns/villeneuve-les-tilleuls/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(login.to_string()))
        .expect("request");
    let res = portal.router.clone().oneshot(req).await.expect("login");
    let cookie = res.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let body: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.expect("body").to_bytes()).expect("json");
    Staff {
        router: portal.router.clone(),
        cookie,
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
        _dir: dir,
    }
}

async fn import(s: &Staff, csv: &str, query: &str) {
    let req = http::Request::post(format!("/api/towns/villeneuve-les-tilleuls/staff/families/import{query}"))
        .header("content-type", "text/csv")
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .body(Body::from(csv.to_owned()))
        .expect("request");
    let res = s.router.clone().oneshot(req).await.expect("import");
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.expect("body");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let csv = file();
    let checked = rt.block_on(staff());
    c.bench_function("import 10,000 rows, dry run (embedded)", |b| {
        b.to_async(&rt).iter(|| import(&checked, &csv, "?dry_run=true"))
    });
    let csv = &csv;
    c.bench_function("import 10,000 rows into a fresh store (embedded)", |b| {
        // A fresh store per iteration, set up outside the timed part.
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let s = rt.block_on(staff());
                let start = Instant::now();
                rt.block_on(import(&s, csv, ""));
                timed += start.elapsed();
            }
            timed
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
