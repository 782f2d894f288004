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
