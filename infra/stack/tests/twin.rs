//! The stack twin end to end: started from template.yaml with the demo town and a fast clock,
//! the post-deployment smoke test passes through it (scripts/smoke), a password reset's email
//! reaches SES (moto) through the notifier's own process, and every scheduled function is woken
//! and answers without error. Needs every function's binary (`cargo build --workspace
//! --bins`) and moto (.venv, scripts/test installs it): without them the test says so and passes,
//! unless EF_REQUIRE_STACK is set (scripts/test sets it).

#![allow(clippy::expect_used, reason = "a test: a failure is the test failing")]

mod common;

use common::{Twin, curl_json};
use std::time::{Duration, Instant};

#[test]
fn the_smoke_test_passes_through_the_twin_and_the_schedules_fire() {
    let Some(twin) = Twin::start(&["--fast", "2", "--idle", "5"]) else { return };
    let (root, base) = (common::root(), twin.base.clone());
    let smoke = std::process::Command::new(root.join("scripts/smoke")).arg(&base).output().expect("scripts/smoke runs");
    let out = String::from_utf8_lossy(&smoke.stdout);
    assert!(smoke.status.success(), "scripts/smoke through the twin:\n{out}");
    // A password reset's email goes from the accounts function's outbox to SES (moto)
    // through the notifier (woken by the stream, or its schedule).
    let reset = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "content-type: application/json"])
        .args(["--data", r#"{"email": "sophie.martin@exemple.fr"}"#])
        .arg(format!("{base}/api/towns/villeneuve-les-tilleuls/auth/password-reset"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&reset.stdout), "202");
    let moto = twin.moto();
    let started = Instant::now();
    loop {
        let sent = common::sent_by_moto(&moto);
        if sent.contains("sophie.martin@exemple.fr") && sent.contains("mairie@espace-famille.test") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no email to Sophie Martin reached SES: {sent}");
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every scheduled function woken at least once, none failing.
    let scheduled = [
        "OperationsFunction",
        "PaymentsFunction",
        "NotifierFunction",
        "CampaignRemindersFunction",
        "DocumentsPurgeFunction",
    ];
    let started = Instant::now();
    loop {
        let counts = curl_json(&format!("{base}/__stack/counts"));
        let errors = common::failed(&counts);
        assert!(errors.is_empty(), "functions failed through the twin: {errors:?}");
        let by_schedule = counts["NotifierFunction"]["by_event"]["EveryMinute"].as_u64().unwrap_or(0) > 0;
        if by_schedule && scheduled.iter().all(|f| counts[f]["invocations"].as_u64().unwrap_or(0) > 0) {
            assert!(counts["TownsFunction"]["cold_starts"].as_u64().unwrap_or(0) >= 1);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the schedules did not all fire: {counts}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
