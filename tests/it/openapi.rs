//! The OpenAPI document against the code: every documented operation is routed by the local
//! portal (`scripts/check_openapi.py` checks the document is valid and matches the template).

use crate::helpers::{call, portal};

/// (method, path) of every operation, read from the document's own layout: paths at two
/// spaces of indentation, methods at four.
pub(crate) fn operations(doc: &str) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    let mut path = None;
    for line in doc.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if line.starts_with("components:") {
            path = None;
        } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')))
            && ["get", "post", "put", "delete", "patch"].contains(&m)
        {
            ops.push((m.to_uppercase(), p.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn openapi_routes_are_all_served() {
    let p = portal().await;
    let ops = operations(towns::OPENAPI);
    assert!(ops.len() >= 22, "{ops:?}");
    for (method, path) in ops {
        let uri = crate::helpers::concrete_path(&path, crate::helpers::TOWN, "martin");
        let r = call(&p.router, &method, &uri, &[], None).await;
        let code = r.json["code"].as_str().unwrap_or_default();
        assert!(code != "not_found" && code != "method_not_allowed", "{method} {uri} is not routed ({})", r.status);
    }
    let served = call(&p.router, "GET", "/api/openapi.yaml", &[], None).await;
    assert_eq!(served.status, 200);
    assert!(served.content_type.starts_with("application/yaml"));
    p.stop().await;
}
