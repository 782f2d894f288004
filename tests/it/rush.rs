//! A small opening rush on the contended store (tests/rush.rs): 50 families in two seconds,
//! grid reads and cancellations meanwhile. Checks the invariants, not the timings: no 5xx, no
//! day over capacity, every acknowledged line stored, every refusal with its reason, first come
//! first served on the waiting list, one confirmation email per validation.

#[path = "../rush.rs"]
mod harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_rush_on_a_store_that_conflicts_keeps_every_invariant() {
    let report = harness::run(&harness::Rush::small()).await;
    println!("{}", report.summary());
    let violations = report.violations();
    assert!(violations.is_empty(), "{} broken invariants:\n{}", violations.len(), violations.join("\n"));
    assert!(report.validations.len() >= 50, "every family validated");
}

/// The rush (1,000 families in a minute): its figures, by hand (`cargo test -p e2e
/// --test it rush::the_opening -- --ignored --nocapture`); the benchmark prints the same.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a minute and more: run by hand, or `cargo bench -p e2e --bench rush`"]
async fn the_opening_rush() {
    let mut rush = harness::Rush::opening();
    if let Some(n) = std::env::var("EF_RUSH_FAMILIES").ok().and_then(|v| v.parse().ok()) {
        rush.families = n;
    }
    let report = harness::run(&rush).await;
    println!("{}", report.summary());
    let violations = report.violations();
    println!("{} broken invariants", violations.len());
    for v in violations.iter().take(10) {
        println!("  {v}");
    }
}

/// The same rush, smaller (20 families in ten seconds, `EF_RUSH_FAMILIES` to change), on DynamoDB (moto): the backend keeps
/// every invariant the model store says it does, where moto can tell (moto runs one request at
/// a time, so its transactions never conflict: this checks the code paths and the invariants,
/// not the contention). By hand: `scripts/test -p e2e --test it -- rush::a_rush_on_dynamodb
/// --ignored --nocapture`; figures in docs/performance.md.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a minute or two on moto: run by hand"]
async fn a_rush_on_dynamodb() {
    let Some(store) = crate::helpers::dynamo_store().await else { return };
    let mut rush = harness::Rush::opening();
    rush.families = std::env::var("EF_RUSH_FAMILIES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    rush.readers = rush.families / 5;
    rush.cancellers = rush.families / 20;
    rush.burst = std::time::Duration::from_secs(2);
    rush.window = std::time::Duration::from_secs(10);
    rush.capacity = 12;
    let report = harness::run_on(&rush, Some(store)).await;
    println!("{}", report.summary());
    let violations = report.violations();
    assert!(violations.is_empty(), "{} broken invariants:\n{}", violations.len(), violations.join("\n"));
    assert_eq!(report.validations.iter().filter(|v| !v.cancel).count(), rush.families, "every family validated");
}
