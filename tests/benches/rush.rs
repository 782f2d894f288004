//! The opening rush on the contended store: 1,000 families validating their summer within a
//! minute, 200 grid reads and 50 cancellations meanwhile (tests/rush.rs). Prints the figures
//! and every broken invariant. Run: `cargo bench -p e2e --bench rush` (`EF_RUSH_FAMILIES=…`
//! for another size, `EF_RUSH_LATENCY_MS=…` for another store latency).
//!
//! `EF_RUSH_TIME=store` plays it on tokio's paused clock: time passes only while every task
//! waits (on the store's latency, a backoff, an arrival), never while one computes. What it
//! measures is then the design on the model store — its latencies, conflicts and waits — as if
//! each request had a processor of its own, as each Lambda invocation does; by default the
//! clock is the machine's, and a thousand requests share its cores with the store.

#[path = "../rush.rs"]
mod rush;

fn main() {
    let mut r = rush::Rush::opening();
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = var("EF_RUSH_FAMILIES") {
        let scale = n as f64 / r.families as f64;
        r.families = n as usize;
        r.readers = ((r.readers as f64 * scale).round() as usize).max(1);
        r.cancellers = ((r.cancellers as f64 * scale).round() as usize).max(1);
    }
    if let Some(ms) = var("EF_RUSH_LATENCY_MS") {
        r.contention.latency = std::time::Duration::from_millis(ms);
        r.contention.jitter = std::time::Duration::from_millis(ms);
    }
    let store_time = std::env::var("EF_RUSH_TIME").is_ok_and(|v| v == "store");
    let rt = if store_time {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    }
    .expect("runtime");
    println!("clock: {}", if store_time { "the store's (paused between calls)" } else { "the machine's" });
    let report = rt.block_on(rush::run(&r));
    println!("{}", report.summary());
    let violations = report.violations();
    println!(
        "invariants: {}",
        if violations.is_empty() { "all kept".to_owned() } else { format!("{} broken", violations.len()) }
    );
    for v in violations.iter().take(20) {
        println!("  {v}");
    }
}
