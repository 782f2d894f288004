//! The subset of YAML `docs/openapi.yaml` is written in (block mappings and sequences, flow
//! `{…}` and `[…]`, quoted and plain scalars, `|` and `>-` block texts), read into JSON so that
//! tests can walk the document's schemas. Scalars stay strings: the tests compare names.

use serde_json::{Map, Value};

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// The document as JSON; panics on what this subset does not read (a test fixture).
pub fn parse(doc: &str) -> Value {
    let lines: Vec<Line> = doc
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| Line { indent: l.len() - l.trim_start().len(), text: l.trim() })
        .collect();
    let mut i = 0;
    block(&lines, &mut i, 0)
}

fn block(lines: &[Line], i: &mut usize, indent: usize) -> Value {
    if *i < lines.len() && lines[*i].text.starts_with("- ") {
        let mut seq = Vec::new();
        while *i < lines.len() && lines[*i].indent == indent && lines[*i].text.starts_with("- ") {
            let rest = &lines[*i].text[2..];
            match split_key(rest) {
                Some(_) if !rest.starts_with('{') => {
                    // `- key: value` then the mapping's other keys two columns further.
                    let inner = indent + 2;
                    let first = Line { indent: inner, text: rest };
                    let mut own: Vec<Line> = vec![first];
                    let mut j = *i + 1;
                    while j < lines.len() && lines[j].indent > indent {
                        own.push(Line { indent: lines[j].indent, text: lines[j].text });
                        j += 1;
                    }
                    let mut k = 0;
                    seq.push(mapping(&own, &mut k, inner));
                    *i = j;
                }
                _ => {
                    seq.push(flow_or_plain(rest));
                    *i += 1;
                }
            }
        }
        Value::Array(seq)
    } else {
        mapping(lines, i, indent)
    }
}

fn mapping(lines: &[Line], i: &mut usize, indent: usize) -> Value {
    let mut map = Map::new();
    while *i < lines.len() && lines[*i].indent == indent && !lines[*i].text.starts_with("- ") {
        let (key, rest) = split_key(lines[*i].text).unwrap_or_else(|| panic!("not a key: {}", lines[*i].text));
        *i += 1;
        let value = if rest.is_empty() {
            match lines.get(*i) {
                Some(next) if next.indent > indent || (next.indent == indent && next.text.starts_with("- ")) => {
                    block(lines, i, next.indent)
                }
                _ => Value::Null,
            }
        } else if matches!(rest, "|" | "|-" | ">" | ">-") {
            let mut text = Vec::new();
            while *i < lines.len() && lines[*i].indent > indent {
                text.push(lines[*i].text);
                *i += 1;
            }
            Value::String(text.join(if rest.starts_with('|') { "\n" } else { " " }))
        } else {
            let mut v = flow_or_plain(rest);
            // A plain text continued on the next lines.
            while *i < lines.len() && lines[*i].indent > indent {
                if let Value::String(s) = &mut v {
                    s.push(' ');
                    s.push_str(lines[*i].text);
                }
                *i += 1;
            }
            v
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

/// `key: rest` (the key unquoted), or `None` when the text is not a mapping entry.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, after) = if let Some(q) = text.strip_prefix('"') {
        let end = q.find('"')?;
        (q[..end].to_owned(), &q[end + 1..])
    } else if let Some(q) = text.strip_prefix('\'') {
        let end = q.find('\'')?;
        (q[..end].to_owned(), &q[end + 1..])
    } else {
        let at = text.find(": ").or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
        if text[..at].starts_with(['{', '[', '"', '\'']) {
            return None;
        }
        (text[..at].to_owned(), &text[at..])
    };
    let rest = after.strip_prefix(':')?;
    Some((key, rest.trim()))
}

fn flow_or_plain(text: &str) -> Value {
    if text.starts_with('{') || text.starts_with('[') || text.starts_with('"') || text.starts_with('\'') {
        let chars: Vec<char> = text.chars().collect();
        let mut at = 0;
        flow(&chars, &mut at)
    } else {
        Value::String(text.to_owned())
    }
}

fn skip_spaces(c: &[char], at: &mut usize) {
    while *at < c.len() && c[*at].is_whitespace() {
        *at += 1;
    }
}

fn flow(c: &[char], at: &mut usize) -> Value {
    skip_spaces(c, at);
    match c.get(*at) {
        Some('{') => {
            *at += 1;
            let mut map = Map::new();
            loop {
                skip_spaces(c, at);
                match c.get(*at) {
                    Some('}') => {
                        *at += 1;
                        break;
                    }
                    Some(',') => *at += 1,
                    Some(_) => {
                        let key = match flow_scalar(c, at, true) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        skip_spaces(c, at);
                        if c.get(*at) == Some(&':') {
                            *at += 1;
                        }
                        map.insert(key, flow(c, at));
                    }
                    None => break,
                }
            }
            Value::Object(map)
        }
        Some('[') => {
            *at += 1;
            let mut seq = Vec::new();
            loop {
                skip_spaces(c, at);
                match c.get(*at) {
                    Some(']') => {
                        *at += 1;
                        break;
                    }
                    Some(',') => *at += 1,
                    Some(_) => seq.push(flow(c, at)),
                    None => break,
                }
            }
            Value::Array(seq)
        }
        _ => flow_scalar(c, at, false),
    }
}

fn flow_scalar(c: &[char], at: &mut usize, key: bool) -> Value {
    skip_spaces(c, at);
    if let Some(&q) = c.get(*at).filter(|q| **q == '"' || **q == '\'') {
        *at += 1;
        let start = *at;
        while *at < c.len() && c[*at] != q {
            *at += 1;
        }
        let s: String = c[start..*at].iter().collect();
        *at += 1;
        return Value::String(s);
    }
    let start = *at;
    while *at < c.len() {
        let ch = c[*at];
        if ch == ',' || ch == '}' || ch == ']' || (key && ch == ':') {
            break;
        }
        if ch == ':' && c.get(*at + 1).is_some_and(|n| n.is_whitespace()) {
            break;
        }
        *at += 1;
    }
    Value::String(c[start..*at].iter().collect::<String>().trim().to_owned())
}

#[test]
fn reads_the_openapi_documents_layout() {
    let doc = parse(towns::OPENAPI);
    let days = &doc["paths"]["/api/towns/{town}/days"]["get"];
    assert_eq!(days["parameters"][1]["name"], "from");
    assert_eq!(days["parameters"][1]["schema"]["format"], "date");
    assert_eq!(days["responses"]["404"]["$ref"], "#/components/responses/Problem");
    assert!(doc["components"]["schemas"].as_object().unwrap().len() > 20);
    assert!(doc["info"]["description"].as_str().unwrap().contains("x-csrf-token"));
}
