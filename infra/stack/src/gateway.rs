//! API Gateway HTTP API's side of a Lambda proxy integration: which function's route a
//! request matches (as API Gateway picks the most specific), the payload 2.0 event it builds,
//! and the response it turns back into HTTP.
//!
//! The event as documented in « Working with AWS Lambda proxy integrations for HTTP APIs »:
//! `version`, `routeKey`, `rawPath`, `rawQueryString`, `cookies` (the `Cookie` header split, and
//! not among the headers), `headers` (names in lower case, repeated values joined by commas),
//! `queryStringParameters` (repeated values joined by commas), `pathParameters`,
//! `requestContext` (`http.method`, `http.path`, `http.protocol`, `http.sourceIp`,
//! `http.userAgent`, `stage`, `requestId`, `time`, `timeEpoch`…), `body` and `isBase64Encoded`.

use crate::template::Route;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A route matched: its key (`GET /api/towns/{town}`) and the path's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route_key: String,
    pub parameters: BTreeMap<String, String>,
}

/// How specific a route is: API Gateway prefers literal segments, then parameters, then a
/// greedy `{proxy+}`, then `$default`.
fn specificity(path: &str) -> (usize, usize, usize) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let literal = segments.iter().filter(|s| !s.starts_with('{')).count();
    let params = segments.iter().filter(|s| s.starts_with('{') && !s.ends_with("+}")).count();
    (usize::from(!path.ends_with("+}")), literal, params)
}

/// The path parameters of `path` under `template`, if it matches.
pub fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut out = BTreeMap::new();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            let rest = p.get(i..)?.join("/");
            if rest.is_empty() {
                return None;
            }
            out.insert(name.to_owned(), percent_decode(&rest));
            return Some(out);
        }
        let actual = p.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if actual.is_empty() {
                return None;
            }
            out.insert(name.to_owned(), percent_decode(actual));
        } else if seg != actual {
            return None;
        }
    }
    (t.len() == p.len()).then_some(out)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A route's precedence: not greedy, literal segments, parameters, a method of its own.
type Rank = (usize, usize, usize, bool);

/// The route among `routes` (function, route) a request goes to, as API Gateway chooses it.
pub fn route<'a>(routes: &'a [(String, Route)], method: &str, path: &str) -> Option<(&'a str, Matched)> {
    let mut best: Option<(Rank, &'a str, Matched)> = None;
    for (function, r) in routes {
        if r.path == "$default" {
            continue;
        }
        let method_ok = r.method == "ANY" || r.method.eq_ignore_ascii_case(method);
        if !method_ok {
            continue;
        }
        let Some(parameters) = match_path(&r.path, path) else { continue };
        let (greedy, literal, params) = specificity(&r.path);
        let rank = (greedy, literal, params, r.method != "ANY");
        if best.as_ref().is_none_or(|(b, _, _)| rank > *b) {
            best = Some((rank, function, Matched { route_key: format!("{} {}", r.method, r.path), parameters }));
        }
    }
    if let Some((_, f, m)) = best {
        return Some((f, m));
    }
    routes
        .iter()
        .find(|(_, r)| r.path == "$default")
        .map(|(f, _)| (f.as_str(), Matched { route_key: "$default".into(), parameters: BTreeMap::new() }))
}

/// Whether API Gateway passes a body of this type as text.
fn textual(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("javascript")
        || ct.starts_with("application/x-www-form-urlencoded")
}

/// What the request brings to the event.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Every header, in order, as received (names in any case).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub source_ip: &'a str,
    pub request_id: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    pub account: &'a str,
    pub api_id: &'a str,
    pub domain: &'a str,
}

/// The payload 2.0 event of `r` for the route `m`.
pub fn event(r: &Request<'_>, m: &Matched) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in r.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            continue;
        }
        headers.entry(name).and_modify(|v| v.push_str(&format!(",{value}"))).or_insert_with(|| value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in r.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        query.entry(k).and_modify(|x| x.push_str(&format!(",{v}"))).or_insert(v);
    }
    let text = textual(headers.get("content-type").map(String::as_str)) && std::str::from_utf8(r.body).is_ok();
    let (body, base64) = if r.body.is_empty() {
        (Value::Null, false)
    } else if text {
        (Value::String(String::from_utf8_lossy(r.body).into_owned()), false)
    } else {
        (Value::String(STANDARD.encode(r.body)), true)
    };
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let mut e = Map::new();
    e.insert("version".into(), json!("2.0"));
    e.insert("routeKey".into(), json!(m.route_key));
    e.insert("rawPath".into(), json!(r.path));
    e.insert("rawQueryString".into(), json!(r.query));
    if !cookies.is_empty() {
        e.insert("cookies".into(), json!(cookies));
    }
    e.insert("headers".into(), json!(headers));
    if !query.is_empty() {
        e.insert("queryStringParameters".into(), json!(query));
    }
    if !m.parameters.is_empty() {
        e.insert("pathParameters".into(), json!(m.parameters));
    }
    e.insert(
        "requestContext".into(),
        json!({
            "accountId": r.account,
            "apiId": r.api_id,
            "domainName": r.domain,
            "domainPrefix": r.domain.split('.').next().unwrap_or(r.domain),
            "http": {
                "method": r.method,
                "path": r.path,
                "protocol": "HTTP/1.1",
                "sourceIp": r.source_ip,
                "userAgent": user_agent,
            },
            "requestId": r.request_id,
            "routeKey": m.route_key,
            "stage": "$default",
            "time": r.now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": r.now.timestamp_millis(),
        }),
    );
    if !body.is_null() {
        e.insert("body".into(), body);
    }
    e.insert("isBase64Encoded".into(), json!(base64));
    Value::Object(e)
}

fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// A function's answer as HTTP: status, headers (`cookies` as `Set-Cookie`), body (decoded when
/// `isBase64Encoded`).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads a payload 2.0 response. As API Gateway does, an answer without `statusCode` is a
/// 200 JSON body of the whole answer.
pub fn response(answer: &[u8]) -> Result<Response, String> {
    let v: Value = serde_json::from_slice(answer).map_err(|e| format!("the function's answer is not JSON: {e}"))?;
    let Some(status) = v.get("statusCode").and_then(Value::as_u64) else {
        return Ok(Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: answer.to_vec(),
        });
    };
    let mut headers = Vec::new();
    if let Some(h) = v.get("headers").and_then(Value::as_object) {
        for (k, x) in h {
            headers.push((k.clone(), x.as_str().map_or_else(|| x.to_string(), str::to_owned)));
        }
    }
    if let Some(h) = v.get("multiValueHeaders").and_then(Value::as_object) {
        for (k, xs) in h {
            for x in xs.as_array().into_iter().flatten() {
                headers.push((k.clone(), x.as_str().unwrap_or_default().to_owned()));
            }
        }
    }
    for c in v.get("cookies").and_then(Value::as_array).into_iter().flatten() {
        headers.push(("set-cookie".into(), c.as_str().unwrap_or_default().to_owned()));
    }
    let body = match v.get("body").and_then(Value::as_str) {
        None => Vec::new(),
        Some(b) if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            STANDARD.decode(b).map_err(|e| format!("a base64 body that does not decode: {e}"))?
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    Ok(Response { status: u16::try_from(status).map_err(|_| "a status out of range")?, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<(String, Route)> {
        let r = |f: &str, m: &str, p: &str| (f.to_owned(), Route { method: m.into(), path: p.into() });
        vec![
            r("Towns", "GET", "/api/towns/{town}"),
            r("Towns", "GET", "/api/towns/{town}/days/{date}"),
            r("Staff", "GET", "/api/towns/{town}/staff/config"),
            r("Proxy", "ANY", "/files/{proxy+}"),
            r("Default", "ANY", "$default"),
        ]
    }

    #[test]
    fn the_most_specific_route_wins_and_default_takes_the_rest() {
        let rs = routes();
        let (f, m) = route(&rs, "GET", "/api/towns/ville/days/2026-12-07").expect("route");
        assert_eq!(f, "Towns");
        assert_eq!(m.parameters["date"], "2026-12-07");
        assert_eq!(route(&rs, "GET", "/api/towns/ville/staff/config").expect("route").0, "Staff");
        let (f, m) = route(&rs, "PUT", "/files/a/b%20c").expect("route");
        assert_eq!((f, m.parameters["proxy"].as_str()), ("Proxy", "a/b c"));
        assert_eq!(route(&rs, "POST", "/api/towns/ville").expect("route").0, "Default");
    }

    #[test]
    fn cookies_apart_headers_joined_binary_bodies_in_base64() {
        let headers = vec![
            ("Cookie".to_owned(), "a=1; b=2".to_owned()),
            ("X-Forwarded-For".to_owned(), "1.2.3.4".to_owned()),
            ("x-forwarded-for".to_owned(), "5.6.7.8".to_owned()),
            ("content-type".to_owned(), "application/pdf".to_owned()),
        ];
        let r = Request {
            method: "POST",
            path: "/p",
            query: "x=1&x=2&y=a+b",
            headers: &headers,
            body: &[0xff, 0x00],
            source_ip: "9.9.9.9",
            request_id: "r",
            now: chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            account: "1",
            api_id: "api",
            domain: "api.example",
        };
        let e = event(&r, &Matched { route_key: "POST /p".into(), parameters: BTreeMap::new() });
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["headers"]["x-forwarded-for"], "1.2.3.4,5.6.7.8");
        assert_eq!(e["queryStringParameters"], json!({"x": "1,2", "y": "a b"}));
        assert_eq!((e["body"].as_str(), e["isBase64Encoded"].as_bool()), (Some("/wA="), Some(true)));
        assert_eq!(e["requestContext"]["http"]["sourceIp"], "9.9.9.9");
    }

    #[test]
    fn cookies_become_set_cookie_and_base64_bodies_bytes() {
        let r = response(br#"{"statusCode": 201, "headers": {"content-type": "application/pdf"}, "cookies": ["s=1; HttpOnly", "t=2"], "body": "JVBERg==", "isBase64Encoded": true}"#)
            .expect("response");
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"%PDF");
        assert_eq!(r.headers.iter().filter(|(k, _)| k == "set-cookie").count(), 2);
    }
}
