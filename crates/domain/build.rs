//! Compiles the national school-holiday table (`data/school_holidays_fr.csv`) into Rust, so a
//! malformed row fails the build instead of a request.
#![allow(clippy::expect_used, clippy::panic, reason = "a malformed holiday table fails the build, by design")]

use std::{env, fs, path::Path};

fn parse_date(s: &str, line: usize) -> String {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 4
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    assert!(ok, "school_holidays_fr.csv line {line}: bad date {s:?}");
    let n = |p: &str| p.trim_start_matches('0').parse::<u32>().unwrap_or(0);
    format!("({}, {}, {})", n(parts[0]), n(parts[1]), n(parts[2]))
}

fn main() {
    let src = "data/school_holidays_fr.csv";
    println!("cargo::rerun-if-changed={src}");
    let text = fs::read_to_string(src).expect("read school_holidays_fr.csv");
    let mut out = String::from("&[\n");
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.splitn(6, ',').collect();
        assert!(cols.len() == 6, "school_holidays_fr.csv line {}: expected 6 columns", i + 1);
        let zone = cols[1];
        assert!(matches!(zone, "A" | "B" | "C"), "line {}: zone {zone:?}", i + 1);
        let first_back =
            if cols[4].is_empty() { "None".to_string() } else { format!("Some({})", parse_date(cols[4], i + 1)) };
        out.push_str(&format!(
            "    RawPeriod {{ zone: {:?}, name: {:?}, first_day_off: {}, first_day_back: {} }},\n",
            zone,
            cols[2],
            parse_date(cols[3], i + 1),
            first_back
        ));
    }
    out.push_str("]\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("school_holidays.rs");
    fs::write(dest, out).expect("write school_holidays.rs");
}
