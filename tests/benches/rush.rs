//! The opening rush on the contended store: 1,000 families validating their summer within a
//! minute, 200 grid reads and 50 cancellations meanwhile (tests/rush.rs). Prints the figures
//! and every broken invariant. Run: `cargo bench -p e2e --bench rush` (`EF_RUSH_FAMILIES=…`
//! for another size, `EF_RUSH_LATENCY_MS=…` for another store latency).

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
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
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
