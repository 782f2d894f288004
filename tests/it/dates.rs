//! One strict date everywhere a date enters: every date and date-time field of the OpenAPI
//! document (request bodies, query and path parameters), sent a signed or a five-digit year,
//! is a 4xx problem+json that changes nothing; and a date of that kind stored before the rule
//! existed does not break the list or the file that reads it.

use crate::helpers::{Browser, TOWN, TestPortal, portal};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const BAD_DATES: [&str; 3] = ["-2026-01-01", "+020260-01-01", "+99999-12-31"];
const BAD_INSTANTS: [&str; 3] = ["+99999-12-31T00:00:00Z", "-2026-01-01T08:00:00Z", "+020260-01-01T00:00:00+01:00"];

/// `$ref` resolved against the document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => {
            let path = r.trim_start_matches("#/").split('/').fold(doc, |at, part| &at[part]);
            resolve(doc, path)
        }
        None => v,
    }
}

/// Where a JSON body holds a date: (path of keys, `date` or `date-time`); `"[]"` is an array.
fn date_fields(doc: &Value, schema: &Value, at: Vec<String>, depth: usize, out: &mut Vec<(Vec<String>, String)>) {
    let schema = resolve(doc, schema);
    if depth > 6 {
        return;
    }
    if let Some(f) = schema["format"].as_str().filter(|f| *f == "date" || *f == "date-time") {
        out.push((at.clone(), f.to_owned()));
    }
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            let mut next = at.clone();
            next.push(k.clone());
            date_fields(doc, v, next, depth + 1, out);
        }
    }
    if !schema["items"].is_null() {
        let mut next = at.clone();
        next.push("[]".into());
        date_fields(doc, &schema["items"], next, depth + 1, out);
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for s in schema[combinator].as_array().into_iter().flatten() {
            date_fields(doc, s, at.clone(), depth + 1, out);
        }
    }
}

/// A body holding `value` at `path`, and nothing else.
fn body_at(path: &[String], value: &str) -> Value {
    match path.split_first() {
        None => Value::String(value.to_owned()),
        Some((k, rest)) if k == "[]" => json!([body_at(rest, value)]),
        Some((k, rest)) => json!({ k.as_str(): body_at(rest, value) }),
    }
}

/// What the store holds that a refused request must not change (sessions and login counters
/// move with every request).
async fn snapshot(p: &TestPortal) -> BTreeSet<String> {
    let volatile = ["#SESSION", "#FAIL#", "#LEASE#"];
    p.store
        .scan_all(p.clock.now().timestamp())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| !volatile.iter().any(|v| i.key.pk.contains(v)))
        .map(|i| format!("{}/{} {}", i.key.pk, i.key.sk, Value::Object(i.attrs)))
        .collect()
}

#[tokio::test]
async fn every_documented_date_refuses_a_signed_or_five_digit_year_and_changes_nothing() {
    let p = portal().await;
    let doc = crate::yaml::parse(towns::OPENAPI);
    let pw = local_portal::DEMO_PASSWORD;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", pw).await.unwrap();
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", pw).await.unwrap();
    let anonymous = Browser { cookie: String::new(), csrf: String::new() };
    let operator = format!("Bearer {}", local_portal::LOCAL_OPERATOR_TOKEN);
    let before = snapshot(&p).await;
    let mut tried = 0;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let who = if path.contains("/staff/") {
                &admin
            } else if op["security"].is_null() || path.starts_with("/api/operator") {
                &anonymous
            } else {
                &sophie
            };
            let extra: Vec<(&str, &str)> =
                if path.starts_with("/api/operator") { vec![("authorization", operator.as_str())] } else { vec![] };
            let base = crate::helpers::concrete_path(path, TOWN, "martin")
                .replace("{month}", "2026-10")
                .replace("{number}", "Q-2026-000001");
            let mut cases: Vec<(String, Option<Value>, String)> = Vec::new();
            let params = op["parameters"].as_array().into_iter().flatten().map(|x| resolve(&doc, x));
            for param in params {
                let format = param["schema"]["format"].as_str().unwrap_or_default();
                let name = param["name"].as_str().unwrap_or_default();
                let bad: &[&str] = match format {
                    "date" => &BAD_DATES,
                    "date-time" => &BAD_INSTANTS,
                    _ => continue,
                };
                for value in bad {
                    let encoded = value.replace('+', "%2B");
                    let uri = match param["in"].as_str() {
                        Some("path") => base.replace("2026-12-01", &encoded),
                        Some("query") => format!("{base}?{name}={encoded}"),
                        _ => continue,
                    };
                    cases.push((uri, None, format!("{name}={value}")));
                }
            }
            let body = resolve(&doc, &op["requestBody"]);
            let schema = &body["content"]["application/json"]["schema"];
            if !schema.is_null() {
                let mut fields = Vec::new();
                date_fields(&doc, schema, Vec::new(), 0, &mut fields);
                for (at, format) in fields {
                    let bad: &[&str] = if format == "date" { &BAD_DATES } else { &BAD_INSTANTS };
                    for value in bad {
                        cases.push((base.clone(), Some(body_at(&at, value)), format!("{}={value}", at.join("."))));
                    }
                }
            }
            for (uri, body, what) in cases {
                tried += 1;
                let r = p.send(&method.to_uppercase(), &uri, body.clone(), who, &extra).await;
                let refused = (400..500).contains(&r.status) && r.content_type == "application/problem+json";
                // A body is refused for its date, not for what else it lacks.
                let for_the_date = body.is_none() || r.json["code"] != "invalid_body";
                if !refused || !for_the_date {
                    wrong.push(format!("{method} {path} {what}: {} {}", r.status, r.json));
                }
            }
        }
    }
    assert!(tried > 100, "the document's dates were all tried: {tried}");
    assert!(wrong.is_empty(), "dates accepted or not refused as dates:\n{}", wrong.join("\n"));
    let after = snapshot(&p).await;
    let changed: Vec<&String> = after.symmetric_difference(&before).collect();
    assert!(changed.is_empty(), "refused requests changed the store: {changed:#?}");
    p.stop().await;
}

#[test]
fn the_town_configuration_read_from_its_file_holds_to_the_same_dates() {
    for bad in BAD_DATES {
        let mut config: Value = serde_json::from_str(local_portal::DEMO_TOWN).unwrap();
        config["closures"] = json!([{"date": bad, "reason": "Grève"}]);
        let err = domain::config::Town::parse(config.to_string().as_bytes()).unwrap_err();
        assert!(err.path.starts_with("closures[0]"), "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn a_mandate_stored_with_a_signed_year_does_not_break_the_debit_file() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let mandate = format!("/api/towns/{TOWN}/staff/invoices/families/bernard/mandate");
    let form = json!({"rum": "VLT-2026-0001", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "BDFEFRPP",
                      "holder": "Claire Bernard", "signed_on": "-2026-01-01"});
    let refused = p.send("PUT", &mandate, Some(form.clone()), &admin, &[]).await;
    crate::helpers::assert_problem(&refused, 422, "invalid_date");
    // Written before the rule: the mandate as the store kept it.
    let t = domain::TownId::parse(TOWN).unwrap();
    let key = store::keys::mandate(&t, &domain::FamilyRef::parse("bernard").unwrap());
    let good = json!({"rum": "VLT-2026-0001", "iban": "FR7630006000011234567890189", "bic": "BDFEFRPP",
                      "holder": "Claire Bernard", "signed_on": "2026-11-20", "sequence": "FRST",
                      "recorded_by": "agent@villeneuve-les-tilleuls.fr", "recorded_at": "2026-11-26T09:00:00Z"});
    let mut stored: domain::debit::Mandate = serde_json::from_value(good).unwrap();
    stored.signed_on = chrono::NaiveDate::from_ymd_opt(-2026, 1, 1).unwrap();
    p.store.put(store::Item::from_value(key, &stored).unwrap(), None).await.unwrap();
    let run = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-10/debits");
    let collected = p.post(&run, json!({}), Some(&admin)).await;
    assert!(collected.status < 500, "{} {:?}", collected.status, collected.json);
    let file = p.get(&run, Some(&admin)).await;
    assert!(file.status < 500, "the debit file: {} {:?}", file.status, file.json);
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/bernard"), Some(&admin)).await;
    assert_eq!(account.status, 200, "{:?}", account.json);
    p.stop().await;
}
