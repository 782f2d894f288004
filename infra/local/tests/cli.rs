//! The `espace-famille-local` binary's options. (Also makes `cargo test --workspace` build the
//! binary with the workspace's features, for the browser tests that start it.)

use std::process::Command;

#[test]
fn the_binary_lists_its_options_in_its_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_espace-famille-local")).arg("--help").output().expect("the binary runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in ["--addr", "--data-dir", "--reset", "--no-demo", "--frozen-clock", "--web-dir"] {
        assert!(help.contains(option), "{option} in\n{help}");
    }
}

#[test]
fn a_bad_frozen_clock_is_refused_before_anything_starts() {
    let out = Command::new(env!("CARGO_BIN_EXE_espace-famille-local"))
        .args(["--frozen-clock", "jeudi", "--addr", "127.0.0.1:0", "--data-dir", "/nonexistent/never-created"])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frozen-clock"));
}
