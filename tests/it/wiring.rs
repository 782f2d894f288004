//! The SAM template against the code, function by function: every `HttpApi` event of a
//! function is served by *that* function's router (as its `main.rs` serves it in Lambda), and
//! no function's router serves an event the template gives to another. A route attached to the
//! wrong Lambda passes every test of the merged local router, and would answer 404 in AWS.

use crate::helpers::{call, portal};

const TEMPLATE: &str = include_str!("../../template.yaml");

/// (function, method, path) of every `HttpApi` event, read from the template's layout: resources
/// at two spaces under `Resources:`, one event per line.
fn events(template: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut resource = None;
    let mut in_resources = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_resources = line.starts_with("Resources:");
            continue;
        }
        if !in_resources {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            resource = Some(name.to_owned());
        } else if line.contains("Type: HttpApi")
            && let Some(r) = &resource
        {
            let field = |key: &str| {
                line.split(key).nth(1).map(|rest| {
                    let rest = rest.trim_start();
                    match rest.strip_prefix('"') {
                        Some(quoted) => quoted.split('"').next().unwrap_or(""),
                        None => rest.split([' ', ',', '}']).next().unwrap_or(""),
                    }
                    .to_owned()
                })
            };
            let (Some(path), Some(method)) = (field("Path:"), field("Method:")) else {
                panic!("an HttpApi event without path or method: {line}")
            };
            out.push((r.clone(), method, path));
        }
    }
    out
}

/// Whether the router answered from a route (any status) rather than its fallbacks.
fn routed(r: &crate::helpers::Reply) -> bool {
    let code = r.json["code"].as_str().unwrap_or_default();
    !(code == "not_found" || code == "method_not_allowed")
}

#[test]
fn the_template_lists_every_function_and_its_events() {
    let events = events(TEMPLATE);
    assert!(events.len() >= 50, "{events:?}");
    let functions: std::collections::BTreeSet<&str> = events.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(
        functions.into_iter().collect::<Vec<_>>(),
        [
            "AccountsFunction",
            "BasketFunction",
            "CalendarFunction",
            "DocumentsFunction",
            "InvoicesFunction",
            "NewsFunction",
            "SchoolYearFunction",
            "StaffFunction",
            "TownsFunction"
        ]
    );
}

#[tokio::test]
async fn each_function_serves_its_own_events_and_no_other() {
    let p = portal().await;
    let events = events(TEMPLATE);
    let mut wrong = Vec::new();
    for (name, router) in p.functions() {
        for (function, method, path) in &events {
            let r =
                call(router, method, &crate::helpers::concrete_path(path, crate::helpers::TOWN, "martin"), &[], None)
                    .await;
            let own = function == name;
            if own != routed(&r) {
                wrong.push(format!(
                    "{method} {path}: template says {function}, {name}'s router {}",
                    if own { "does not serve it" } else { "serves it too" }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "template.yaml and the functions' routers disagree:\n{}", wrong.join("\n"));
    p.stop().await;
}
