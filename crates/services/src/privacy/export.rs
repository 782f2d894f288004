//! A family's export (GDPR articles 15 and 20): everything the town holds about it.

use super::subject::{MAX_AUDIT_ENTRIES, subject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::FamilyRef;
use domain::config::Town;
use serde_json::Value;
use std::collections::BTreeMap;
use store::accounts::{self};
use store::{Query, SkRange, Store, StoreError, keys};

/// Everything the town holds about a family (GDPR articles 15 and 20): its record, its
/// guardians' accounts (without their password's hash), its children and their files (as the
/// family sees them), every booking with its
/// history, its documents' metadata, its invoices, credit notes, payments, contests and mandate,
/// the emails sent to its guardians, and its audit entries (found by its identifiers:
/// [`rules::References::own`]).
pub async fn export(
    store: &Store,
    town: &Town,
    reference: &FamilyRef,
    now: DateTime<Utc>,
) -> Result<Option<Value>, StoreError> {
    let id = town.id();
    let Some(s) = subject(store, id, reference).await? else { return Ok(None) };
    let mut accounts_out = Vec::new();
    let mut emails = Vec::new();
    // What bounces and complaints taught of each address.
    let mut addresses = Vec::new();
    for g in &s.family.guardians {
        if let Some(a) = accounts::get_account(store, id, &g.email).await? {
            accounts_out.push(serde_json::json!({
                "email": a.email, "first_name": a.first_name, "last_name": a.last_name, "status": a.status,
                "created_at": a.created_at, "families": a.families, "holiday_reminders": !a.no_reminders,
            }));
        }
        if let Some(a) = store.get(&keys::mail_address(id, &g.email)).await? {
            addresses.push(Value::Object(a.attrs));
        }
        for index in keys::mails_to_all(id, g.email.as_str()) {
            for m in store.query_all(&Query::gsi1(index, SkRange::All)).await? {
                emails.push(Value::Object(m.attrs));
            }
        }
    }
    let mut bookings = Vec::new();
    for c in &s.children {
        let (pk, _, _) = keys::bookings_between(id, &c.id, NaiveDate::MIN, NaiveDate::MIN);
        for i in store.query_all(&Query::table(pk, SkRange::Prefix("B#".into()))).await? {
            if i.attrs.get("family").and_then(Value::as_str) == Some(reference.as_str()) {
                bookings.push(Value::Object(i.attrs));
            }
        }
    }
    let mut records: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let names = [
        ("DOC#", "documents"),
        ("ENROL#", "enrolments"),
        ("INV#", "invoices"),
        ("AV#", "credit_notes"),
        ("PAY#", "payments"),
        ("CONTEST#", "contests"),
        ("REGUL#", "regularisations"),
        ("MANDATE", "mandate"),
        ("CLOSED", "closing"),
    ];
    for i in store.query_all(&Query::table(keys::family_partition(id, reference), SkRange::All)).await? {
        if let Some((_, name)) = names.iter().find(|(p, _)| i.key.sk.starts_with(p)) {
            let mut v = Value::Object(i.attrs);
            if let Some(m) = v.as_object_mut() {
                // Where a document's file is kept is the town's business, not the family's.
                m.remove("object");
            }
            records.entry(name).or_default().push(v);
        }
    }
    let mut journal = Vec::new();
    let mut q = Query::table(keys::audit(id), SkRange::All).descending().limit(1000);
    let mut read = 0;
    loop {
        let page = store.query(&q).await?;
        read += page.items.len();
        for i in page.items {
            let v = Value::Object(i.attrs);
            if s.refs.own(&v) {
                journal.push(s.refs.part(&v));
            }
        }
        match page.next {
            Some(c) if read < MAX_AUDIT_ENTRIES => q.cursor = Some(c),
            _ => break,
        }
    }
    let mut child_files = Vec::new();
    for c in &s.children {
        if let Some(r) = store::child_files::get(store, id, &c.id).await? {
            let file = r.file.seen_by_family(reference);
            child_files.push(
                serde_json::json!({"child": c.id, "version": r.version, "updated_at": r.updated_at, "file": file}),
            );
        }
    }
    let mut out = serde_json::json!({
        "exported_at": now,
        "town": { "id": id, "name": town.config().name },
        "family": s.family,
        "accounts": accounts_out,
        "children": s.children,
        "child_files": child_files,
        "bookings": bookings,
        "emails": emails,
        "email_addresses": addresses,
        "audit": journal,
    });
    if let Some(m) = out.as_object_mut() {
        for (name, _) in names.iter().map(|(p, n)| (*n, p)) {
            m.insert(name.to_owned(), Value::Array(records.remove(name).unwrap_or_default()));
        }
    }
    Ok(Some(out))
}
