//! The week grid of a family of three children over four weeks, on the embedded store, through
//! the local portal's router (session lookup, family, children, bookings, places taken, cells).
//! Run: `cargo bench -p e2e --bench calendar`.

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn grid(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z").expect("date").to_utc();
    let opts = local_portal::Options::demo(dir.path(), edge::clock::Clock::manual(start));
    let portal = rt.block_on(local_portal::build(&opts)).expect("portal");
    let router = portal.router.clone();
    let login = serde_json::json!({"email": "sophie.martin@exemple.fr", "password": local_portal::DEMO_PASSWORD});
    let cookie = rt.block_on(async {
        let req = http::Request::post("/api/towns/villeneuve-les-tilleuls/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(login.to_string()))
            .expect("request");
        let res = router.clone().oneshot(req).await.expect("login");
        res.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned()
    });
    let uri = "/api/towns/villeneuve-les-tilleuls/calendar/families/martin/weeks?activity=restauration&from=2026-11-30&weeks=4";
    c.bench_function("family week grid, 3 children x 4 weeks (embedded)", |b| {
        b.to_async(&rt).iter(|| async {
            let req = http::Request::get(uri).header("cookie", &cookie).body(Body::empty()).expect("request");
            let res = router.clone().oneshot(req).await.expect("grid");
            assert_eq!(res.status(), 200);
            res.into_body().collect().await.expect("body").to_bytes().len()
        })
    });
    rt.block_on(portal.stop());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = grid
}
criterion_main!(benches);
