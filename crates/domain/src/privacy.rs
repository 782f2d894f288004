//! A family's personal data: how long it is kept after the family left, which records outlive
//! it (anonymised), and how a record is anonymised. Pure; `services::privacy` reads and writes.
//! `docs/privacy.md` is the processing register entry these rules implement.

use super::family::{Child, Family};
use super::{ChildId, FamilyRef, TownId};
use chrono::{Datelike, Months, NaiveDate};
use serde_json::Value;
use std::collections::BTreeMap;

/// Accounting records (invoices, credit notes, payments and their receipts, direct-debit
/// mandates, contests of invoice lines, régularisations of billed months) are kept ten years after the end of their year, as the
/// public accounting rules require; the family's other data is erased sooner.
pub const ACCOUNTING_YEARS: u32 = 10;

/// The sort-key prefixes of a family's records that are accounting records: kept, anonymised,
/// when the family's data is erased.
pub const KEPT_PREFIXES: [&str; 6] = ["INV#", "AV#", "PAY#", "CONTEST#", "MANDATE", "REGUL#"];

/// What replaces a personal text in a kept record.
pub const REDACTED: &str = "[anonymisé]";

/// The day a closed family's personal data is erased: `months` after it was closed.
pub fn erase_on(closed_on: NaiveDate, months: u32) -> NaiveDate {
    closed_on.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The last day an accounting record of `date` must be kept: the end of its year plus
/// [`ACCOUNTING_YEARS`].
pub fn accounting_kept_until(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year() + ACCOUNTING_YEARS as i32, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Whether a family record's sort key is an accounting record (kept, anonymised).
pub fn is_kept(sk: &str) -> bool {
    KEPT_PREFIXES.iter().any(|p| sk.starts_with(p))
}

/// The reference a family's kept records move to: stable (a rerun finds the same), and telling
/// nothing about the family.
pub fn anonymous_ref(town: &TownId, family: &FamilyRef) -> FamilyRef {
    let digest = crate::digest(&format!("{town}/{family}"));
    FamilyRef::parse(&format!("anonyme-{}", &digest[..12])).unwrap_or_else(|_| family.clone())
}

fn short_digest(town: &TownId, what: &str) -> String {
    crate::digest(&format!("{town}/{what}"))[..12].to_owned()
}

/// What a child's id becomes in the kept records: an id that still parses, telling nothing.
pub fn anonymous_child(town: &TownId, child: &ChildId) -> ChildId {
    ChildId::parse(&format!("anonyme-{}", short_digest(town, &format!("child/{child}"))))
        .unwrap_or_else(|_| child.clone())
}

/// What a guardian's email becomes in the kept records: an address that still parses as one,
/// at a domain that cannot exist (`.invalid`, RFC 2606).
pub fn anonymous_email(town: &TownId, email: &str) -> String {
    format!("anonyme-{}@anonyme.invalid", short_digest(town, &format!("email/{}", email.to_lowercase())))
}

/// The family's own identifiers: its reference, its children's ids and its guardians' emails.
/// They select its entries in the town's trail and billing records (never words of its name:
/// « Paul Martin » is not the Martins), and each has its pseudonym in the kept records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct References {
    /// Each identifier and what it becomes when the family is erased.
    pseudonyms: BTreeMap<String, String>,
}

impl References {
    pub fn of(town: &TownId, family: &Family) -> References {
        let mut pseudonyms = BTreeMap::new();
        pseudonyms.insert(family.reference.to_string(), anonymous_ref(town, &family.reference).to_string());
        for c in &family.children {
            pseudonyms.insert(c.to_string(), anonymous_child(town, c).to_string());
        }
        for g in &family.guardians {
            let email = g.email.as_str().to_lowercase();
            pseudonyms.insert(email.clone(), anonymous_email(town, &email));
        }
        References { pseudonyms }
    }

    fn is_one(&self, text: &str) -> bool {
        self.pseudonyms.contains_key(text) || self.pseudonyms.contains_key(&text.to_lowercase())
    }

    /// Whether a record (an audit entry, a debit, a PayFiP operation) is the family's: its
    /// target names one of its identifiers (`families/<ref>/mandate`, `child/<id>`,
    /// `account/<email>`…), or one of its fields is exactly one of them (`"family": "<ref>"`,
    /// `"child": "<id>"`, `"by": "<email>"`).
    pub fn own(&self, v: &Value) -> bool {
        if v["target"].as_str().is_some_and(|t| t.split('/').any(|part| self.is_one(part))) {
            return true;
        }
        match v {
            Value::String(s) => self.is_one(s),
            Value::Array(a) => a.iter().any(|x| self.own(x)),
            Value::Object(m) => m.values().any(|x| self.own(x)),
            _ => false,
        }
    }

    /// The family's part of one of its records, as its export shows it: the whole record when
    /// its target names the family; else (a register, a billing run: one entry for many
    /// families) the lists of records keep only the family's own.
    pub fn part(&self, v: &Value) -> Value {
        if v["target"].as_str().is_some_and(|t| t.split('/').any(|part| self.is_one(part))) {
            return v.clone();
        }
        self.prune(v)
    }

    fn prune(&self, v: &Value) -> Value {
        match v {
            Value::Array(a) if a.iter().any(|x| x.is_array() || x.is_object()) => {
                Value::Array(a.iter().filter(|x| self.own(x)).map(|x| self.prune(x)).collect())
            }
            Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), self.prune(x))).collect()),
            other => other.clone(),
        }
    }

    /// What `text` becomes in a kept record: its pseudonym when it is exactly one identifier
    /// (ids and emails stay valid ids and emails), else `None`.
    fn pseudonym(&self, text: &str) -> Option<&str> {
        self.pseudonyms.get(text).or_else(|| self.pseudonyms.get(&text.to_lowercase())).map(String::as_str)
    }
}

/// The texts that identify a family and its children: what anonymisation removes from a kept
/// record. Longest first, so that « Léa Martin » goes before « Martin ».
pub fn personal_texts(family: &Family, children: &[Child]) -> Vec<String> {
    let mut texts: Vec<String> = vec![family.name.clone(), family.reference.to_string()];
    // The street lines; a « 95000 Villeneuve-les-Tilleuls » line is everyone's in the town.
    let postcode_line =
        |l: &str| l.len() > 6 && l.as_bytes()[..5].iter().all(u8::is_ascii_digit) && l.as_bytes()[5] == b' ';
    texts.extend(family.address.iter().filter(|l| !postcode_line(l)).cloned());
    for g in &family.guardians {
        texts.extend([g.first_name.clone(), g.last_name.clone(), g.email.to_string()]);
        texts.extend(g.phone.iter().cloned());
        texts.push(format!("{} {}", g.first_name, g.last_name));
    }
    for c in children {
        texts.extend([c.id.to_string(), c.first_name.clone(), c.last_name.clone()]);
        texts.push(format!("{} {}", c.first_name, c.last_name));
    }
    // A text of one or two letters would scrub every word it is part of.
    texts.retain(|t| t.trim().chars().count() >= 3);
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    texts.dedup();
    texts
}

/// `s` with every occurrence of the `texts` replaced by [`REDACTED`] (case-insensitive where
/// lower-casing keeps the byte offsets, which covers French names).
pub fn redact(s: &str, texts: &[String]) -> String {
    let mut out = s.to_owned();
    for t in texts {
        out = replace_ci(&out, t);
    }
    out
}

/// Whether `s[at..at + len]` stands as a word: no letter or digit just before or after (so
/// that « Martin » is found in « Sophie Martin » and « sophie.martin@… » but not in « Martinez »).
fn whole_word(s: &str, at: usize, len: usize) -> bool {
    let before = s[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    let after = s[at + len..].chars().next().is_none_or(|c| !c.is_alphanumeric());
    before && after
}

/// The byte offsets where `t` occurs in `s` as a whole word, case-insensitively where
/// lower-casing keeps the byte offsets (else exactly).
fn occurrences(s: &str, t: &str) -> Vec<usize> {
    let (ls, lt) = (s.to_lowercase(), t.to_lowercase());
    let (hay, needle) = if ls.len() == s.len() && lt.len() == t.len() { (ls.as_str(), lt.as_str()) } else { (s, t) };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|h| h.find(needle)) {
        let at = from + i;
        if s.is_char_boundary(at) && s.is_char_boundary(at + t.len()) && whole_word(s, at, t.len()) {
            out.push(at);
            from = at + t.len();
        } else {
            from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
        }
        if needle.is_empty() {
            break;
        }
    }
    out
}

fn replace_ci(s: &str, t: &str) -> String {
    let found = occurrences(s, t);
    if found.is_empty() {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = 0;
    for at in found {
        out.push_str(&s[rest..at]);
        out.push_str(REDACTED);
        rest = at + t.len();
    }
    out.push_str(&s[rest..]);
    out
}

/// Anonymises a stored record in place: a string that is exactly one of the family's
/// identifiers becomes its pseudonym (so that a kept invoice's child id, family reference and
/// email still parse: the record stays a valid record of its type), and every other string
/// (at any depth, map keys included) has the family's texts redacted.
pub fn anonymise(v: &mut Value, texts: &[String], refs: &References) {
    match v {
        Value::String(s) => {
            *s = match refs.pseudonym(s) {
                Some(p) => p.to_owned(),
                None => redact(s, texts),
            };
        }
        Value::Array(a) => a.iter_mut().for_each(|x| anonymise(x, texts, refs)),
        Value::Object(m) => {
            let entries = std::mem::take(m);
            for (k, mut x) in entries {
                anonymise(&mut x, texts, refs);
                m.insert(redact(&k, texts), x);
            }
        }
        _ => {}
    }
}

/// Whether any of the texts still appears in `v`, as a whole word (what the erasure looks
/// for, and what its test checks is gone).
pub fn mentions(v: &Value, texts: &[String]) -> bool {
    let s = v.to_string();
    texts.iter().any(|t| !occurrences(&s, t).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{child, d, family};
    use serde_json::json;

    #[test]
    fn a_family_is_erased_months_after_it_closed_and_its_accounts_kept_ten_years() {
        assert_eq!(erase_on(d(2027, 7, 10), 12), d(2028, 7, 10));
        assert_eq!(accounting_kept_until(d(2026, 11, 30)), d(2036, 12, 31));
        assert!(is_kept("INV#2026-11") && is_kept("PAY#Q-2026-000001") && is_kept("MANDATE"));
        assert!(is_kept("REGUL#2026-11-17.lea-martin.cantine.v3"), "money still owed either way is kept");
        assert!(!is_kept("DOC#123") && !is_kept("FAMILY") && !is_kept("BASKET#x"));
    }

    #[test]
    fn anonymising_removes_every_name_email_and_id_and_keeps_the_amounts() {
        let (f, c) = (family(), child());
        let texts = personal_texts(&f, std::slice::from_ref(&c));
        let town = TownId::parse("ville").unwrap();
        let anonymous = anonymous_ref(&town, &f.reference);
        assert!(anonymous.as_str().starts_with("anonyme-"));
        let refs = References::of(&town, &f);
        let mut invoice = json!({
            "family": "martin", "name": "MARTIN", "payer": "Sophie Martin, 12 rue x",
            "lines": [{"child": c.id.as_str(), "label": "Léa – Cantine", "amount": 250}],
            "to": f.guardians[0].email.as_str(), "total": 250
        });
        anonymise(&mut invoice, &texts, &refs);
        assert!(!mentions(&invoice, &texts), "{invoice}");
        assert_eq!(invoice["family"], anonymous.as_str());
        // Ids stay ids: the kept invoice still reads as an invoice.
        let child = invoice["lines"][0]["child"].as_str().unwrap();
        assert_eq!(ChildId::parse(child), Ok(anonymous_child(&town, &c.id)));
        assert!(crate::family::Email::parse(invoice["to"].as_str().unwrap()).is_ok(), "{invoice}");
        assert_eq!((invoice["total"].as_i64(), invoice["lines"][0]["amount"].as_i64()), (Some(250), Some(250)));
        assert_eq!(invoice["lines"][0]["label"], "[anonymisé] – Cantine");
        assert_eq!(redact("Famille MARTIN", &["Martin".into()]), "Famille [anonymisé]");
        assert_eq!(
            redact("Famille Martinez, sophie.martin@x.fr", &["Martin".into()]),
            "Famille Martinez, sophie.[anonymisé]@x.fr"
        );
        assert!(!mentions(&json!({"name": "Famille Martinez"}), &["martin".into()]), "another family's name");
        assert!(mentions(&json!({"target": "family/martin"}), &["martin".into()]));
    }

    #[test]
    fn a_familys_records_are_found_by_its_identifiers_never_by_words_of_its_name() {
        let (f, c) = (family(), child());
        let refs = References::of(&TownId::parse("ville").unwrap(), &f);
        let email = f.guardians[0].email.as_str();
        for own in [
            json!({"target": format!("families/{}/mandate", f.reference)}),
            json!({"target": format!("child/{}", c.id)}),
            json!({"target": format!("account/{email}")}),
            json!({"target": "attendance/2026-12-01/ecole/cantine", "after": {"marks": [{"child": c.id.as_str()}]}}),
            json!({"target": "x", "by": email.to_uppercase()}),
        ] {
            assert!(refs.own(&own), "{own}");
        }
        let run = json!({"target": "invoices/2026-10", "after": [["bernard", "2026-000001"], [f.reference.as_str(), "2026-000002"]]});
        assert!(refs.own(&run));
        assert_eq!(refs.part(&run)["after"], json!([[f.reference.as_str(), "2026-000002"]]), "the family's line only");
        for foreign in [
            json!({"target": "families/famille-paul/mandate", "after": {"holder": "Paul Martin"}}),
            json!({"target": "invoices/bernard/2026-10", "after": {"reason": format!("comme {}", c.first_name)}}),
            json!({"target": "families/martinez/mandate", "after": {"family": "martinez"}}),
        ] {
            assert!(!refs.own(&foreign), "{foreign}");
        }
    }
}
