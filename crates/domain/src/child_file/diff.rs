//! What changed between two versions of a file, field by field (`people.pickup[1].phone`:
//! before, after), so that staff check a difference rather than re-read the file.

use super::ChildFile;
use serde::Serialize;
use serde_json::Value;

/// One field that changed: added (no `before`), removed (no `after`) or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The field's path in the file.
    pub field: String,
    /// The part it belongs to, in French: « Santé », « Personnes », « Autorisations », « Assurance ».
    pub part: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// The part of a field, in French.
pub fn part_label(field: &str) -> &'static str {
    match field.split(['.', '[']).next() {
        Some("health") => "Santé",
        Some("people") => "Personnes",
        Some("consents") => "Autorisations",
        _ => "Assurance",
    }
}

/// The fields that differ from `old` to `new`, in the file's order.
pub fn diff(old: &ChildFile, new: &ChildFile) -> Vec<Change> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(String::new(), Some(&a), Some(&b), &mut out);
    out
}

fn walk(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Change>) {
    let join = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().collect();
            keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
            for k in keys {
                walk(join(k), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            for i in 0..x.len().max(y.len()) {
                walk(format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (a, b) if a != b => {
            let blank = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
            let (before, after) = (blank(a), blank(b));
            if before.is_some() || after.is_some() {
                out.push(Change { part: part_label(&path), field: path, before, after });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_file::{Allergy, AllergyKind, Person};
    use serde_json::json;

    fn person(name: &str, phone: &str) -> Person {
        Person { name: name.into(), relationship: "grand-mère".into(), phone: phone.into() }
    }

    #[test]
    fn a_changed_phone_and_an_added_person_are_two_changes() {
        let mut old = ChildFile::default();
        old.people.pickup.push(person("Jeanne Martin", "06 12 34 56 78"));
        let mut new = old.clone();
        new.people.pickup[0].phone = "06 99 34 56 78".into();
        new.people.pickup.push(person("Paul Roux", "07 11 22 33 44"));
        let changes = diff(&old, &new);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].field, "people.pickup[0].phone");
        assert_eq!(changes[0].part, "Personnes");
        assert_eq!(
            (changes[0].before.clone(), changes[0].after.clone()),
            (Some(json!("06 12 34 56 78")), Some(json!("06 99 34 56 78")))
        );
        assert_eq!(changes[1].field, "people.pickup[1]");
        assert_eq!(changes[1].before, None);
        assert_eq!(changes[1].after.as_ref().unwrap()["name"], "Paul Roux");
    }

    #[test]
    fn a_removed_allergy_shows_what_it_was_and_equal_files_have_no_change() {
        let mut old = ChildFile::default();
        let a = Allergy { kind: AllergyKind::Food, name: "arachide".into(), what_to_do: "éviction".into() };
        old.health.allergies.push(a);
        assert!(diff(&old, &old).is_empty());
        let changes = diff(&old, &ChildFile::default());
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].field.as_str(), changes[0].part), ("health.allergies[0]", "Santé"));
        assert_eq!(changes[0].before.as_ref().unwrap()["name"], "arachide");
        assert_eq!(changes[0].after, None);
    }
}
