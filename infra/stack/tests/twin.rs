//! The stack twin end to end: started from template.yaml with the demo town and a fast clock,
//! the post-deployment smoke test passes through it (scripts/smoke), a password reset's email
//! reaches SES (moto) through the notifier's own process, and every scheduled function is woken
//! and answers without error. Needs every function's binary (`cargo build --workspace
//! --bins`) and moto (.venv, scripts/test installs it): without them the test says so and passes,
//! unless EF_REQUIRE_STACK is set (scripts/test sets it).

#![allow(clippy::expect_used, reason = "a test: a failure is the test failing")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
#[allow(clippy::print_stderr, reason = "says why the test did not run")]
fn the_smoke_test_passes_through_the_twin_and_the_schedules_fire() {
    let twin = PathBuf::from(env!("CARGO_BIN_EXE_espace-famille-stack"));
    let bins = twin.parent().expect("the binaries' folder").to_owned();
    let root = root();
    let missing: Vec<&str> = ["towns", "accounts", "calendar", "operations", "notifier"]
        .into_iter()
        .filter(|b| !bins.join(b).exists())
        .collect();
    let python = root.join(".venv/bin/python");
    if !missing.is_empty() || !python.exists() {
        assert!(
            std::env::var_os("EF_REQUIRE_STACK").is_none(),
            "the twin needs every function's binary (missing: {missing:?}; cargo build --workspace --bins) and moto in .venv"
        );
        eprintln!("SKIPPED: the stack twin (missing binaries {missing:?} or .venv)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = std::process::Command::new(&twin)
        .current_dir(&root)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--demo", "--fast", "2", "--idle", "5"])
        .arg("--bin-dir")
        .arg(&bins)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the twin starts");
    let result = std::panic::catch_unwind(|| {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "the twin did not listen within two minutes");
            std::thread::sleep(Duration::from_millis(200));
        }
        let smoke =
            std::process::Command::new(root.join("scripts/smoke")).arg(&base).output().expect("scripts/smoke runs");
        let out = String::from_utf8_lossy(&smoke.stdout);
        assert!(smoke.status.success(), "scripts/smoke through the twin:\n{out}");
        // A password reset's email goes from the accounts function's outbox to SES (moto)
        // through the notifier, woken by its schedule.
        let reset = std::process::Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
            ])
            .args(["--data", r#"{"email": "sophie.martin@exemple.fr"}"#])
            .arg(format!("{base}/api/towns/villeneuve-les-tilleuls/auth/password-reset"))
            .output()
            .expect("curl");
        assert_eq!(String::from_utf8_lossy(&reset.stdout), "202");
        let moto = curl_json(&format!("{base}/__stack/aws"))["endpoint"].as_str().unwrap_or_default().to_owned();
        let started = Instant::now();
        loop {
            let data = curl_json(&format!("{moto}/moto-api/data.json"));
            // SES v2 Raw content: moto keeps it as `RawMessage` (`source`, `destinations`, `raw_data`).
            let sent = data["ses"]["RawMessage"].to_string();
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
            let errors: Vec<String> = counts
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, c)| c["errors"].as_u64().unwrap_or(0) > 0)
                .map(|(f, c)| format!("{f}: {c}"))
                .collect();
            assert!(errors.is_empty(), "functions failed through the twin: {errors:?}");
            if scheduled.iter().all(|f| counts[f]["invocations"].as_u64().unwrap_or(0) > 0) {
                assert!(counts["TownsFunction"]["cold_starts"].as_u64().unwrap_or(0) >= 1);
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the schedules did not all fire: {counts}");
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn curl_json(url: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl").args(["-sS", url]).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}
