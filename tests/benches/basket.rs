//! Validating a basket through the engine: a 20-line week (the Martins' three children) and a
//! whole school year (about 1,300 lines), each on a fresh store so that every run books the
//! same lines. Prints, per basket, the storage calls and transactions it took.
//! Run: `cargo bench -p e2e --bench basket` (with `AWS_ENDPOINT_URL` set to a moto server, the
//! call counts are also measured on DynamoDB).

use basket::check::{Line, Mode};
use basket::engine::{self, Ask, Outcome, Recipient};
use chrono::NaiveDate;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use edge::clock::Clock;
use store::Store;
use store::embedded::EmbeddedStore;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

/// A fresh store with the demo town, and the Martins' first `max` lines from `from` to `to`.
async fn setup(store: Store, from: NaiveDate, to: NaiveDate, max: usize) -> (Store, Ask, Vec<Line>) {
    let (town, data) = local_portal::demo_town_only(&store).await.expect("demo");
    let family = data.families.iter().find(|f| f.reference.as_str() == "martin").expect("martin").clone();
    let mut lines = local_portal::demo_basket(&town, &data, "martin", from, to, day(2026, 8, 20));
    lines.truncate(max);
    let g = family.guardians[0].clone();
    let ask = Ask {
        town,
        family,
        by: g.email.clone(),
        mode: Mode::Guardian,
        key: "bench-validation-key-0001".into(),
        fingerprint: "bench".into(),
        apply_valid: false,
        notify: vec![Recipient { email: g.email, first_name: g.first_name }],
        basket: None,
        public_url: "http://portail.test".into(),
    };
    (store, ask, lines)
}

fn embedded() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::embedded(EmbeddedStore::open(&dir.path().join("store.redb")).expect("store"));
    (store, dir)
}

async fn validate(store: &Store, ask: &Ask, lines: Vec<Line>) {
    let clock = Clock::manual(chrono::DateTime::parse_from_rfc3339("2026-08-20T08:00:00Z").expect("t").to_utc());
    let answer = engine::run(store, &clock, ask, lines).await.expect("validated");
    assert_eq!(answer.outcome, Outcome::Applied);
}

/// Prints the calls one validation makes on `store`.
async fn count(name: &str, store: Store, (from, to, max): (NaiveDate, NaiveDate, usize)) {
    let (store, ask, lines) = setup(store, from, to, max).await;
    let n = lines.len();
    let (calls, transactions) = (store.calls(), store.transactions());
    let started = std::time::Instant::now();
    validate(&store, &ask, lines).await;
    println!(
        "{name} on {}: {n} lines, {} storage calls, {} transactions, {:?} once",
        store.backend_name(),
        store.calls() - calls,
        store.transactions() - transactions,
        started.elapsed()
    );
}

fn baskets(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // 20 of the 30 lines of the Martins' week of 7 September; their whole school year.
    let week = (day(2026, 9, 7), day(2026, 9, 11), 20);
    let year = (day(2026, 9, 1), day(2027, 7, 2), usize::MAX);
    rt.block_on(async {
        count("week basket", embedded().0, week).await;
        count("school-year basket", embedded().0, year).await;
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            for (name, basket) in [("week basket", week), ("school-year basket", year)] {
                let table = format!("ef-bench-{}-{}", std::process::id(), basket.2.min(9999));
                let dynamo = store::dynamo::DynamoStore::for_emulator(&endpoint, table).await;
                dynamo.create_table().await.expect("table");
                count(name, Store::dynamo(dynamo), basket).await;
            }
        }
    });
    // Fresh stores are prepared on another runtime: the bencher's own is busy timing.
    let setup_rt = tokio::runtime::Runtime::new().expect("runtime");
    for (name, (from, to, max)) in
        [("validate a week basket, 20 lines (embedded)", week), ("validate a school-year basket (embedded)", year)]
    {
        c.bench_function(name, |b| {
            b.to_async(&rt).iter_batched(
                || {
                    let (store, dir) = embedded();
                    let (store, ask, lines) = std::thread::scope(|s| {
                        s.spawn(|| setup_rt.block_on(setup(store, from, to, max))).join().expect("setup")
                    });
                    (store, ask, lines, dir)
                },
                |(store, ask, lines, _dir)| async move { validate(&store, &ask, lines).await },
                BatchSize::PerIteration,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = baskets
}
criterion_main!(benches);
