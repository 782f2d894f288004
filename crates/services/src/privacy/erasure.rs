//! Erasing a closed family after its retention period: the plan (what it deletes, moves and
//! keeps, the dry run staff see) and its application.

use super::closing::closing;
use super::subject::{MAX_AUDIT_ENTRIES, Subject, subject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::privacy as rules;
use domain::{ChildId, FamilyRef, TownId};
use serde::Serialize;
use serde_json::Value;
use store::accounts::{self, Account};
use store::audit;
use store::repo;
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};

/// Deletes (or moves) per transaction.
const WRITES_PER_TRANSACTION: usize = 50;

/// What an erasure deletes and keeps: its dry run, and its report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Erasure {
    pub family: String,
    pub erase_on: Option<NaiveDate>,
    /// Accounts deleted (the guardian has no other family), and kept (another family).
    pub accounts_deleted: usize,
    pub accounts_kept: usize,
    pub children_deleted: usize,
    /// A child shared with another household keeps its record.
    pub children_kept: usize,
    pub bookings_deleted: usize,
    /// The documents' files (their S3 keys), deleted with their records.
    pub files: Vec<String>,
    /// The family's other records deleted (record, basket, feed, documents…).
    pub records_deleted: usize,
    /// Accounting records kept ten years, anonymised, under `anonymous_reference`.
    pub records_anonymised: usize,
    pub anonymous_reference: String,
    pub emails_deleted: usize,
    /// Audit entries and billing records of the town that mentioned the family, anonymised.
    pub entries_anonymised: usize,
}

/// What erasing a family will do, read now: its report (the dry run staff see, nothing written)
/// and what [`apply`] acts on.
pub struct Plan {
    pub report: Erasure,
    reference: FamilyRef,
    /// `None`: erased already, but perhaps for its closing marker (a crash at the very end).
    todo: Option<Todo>,
}

/// The items an erasure deletes, moves or anonymises.
struct Todo {
    subject: Subject,
    /// Records of the town's own partitions that mention the family: anonymised in place.
    mentioned: Vec<Item>,
    mails: Vec<Item>,
    markers: Vec<Key>,
    accounts_deleted: Vec<Account>,
    accounts_kept: Vec<Account>,
    child_items: Vec<Item>,
    /// The family's accounting records: moved under its anonymous reference.
    kept: Vec<Item>,
    /// The family's other records: deleted.
    gone: Vec<Item>,
    feeds: Vec<Key>,
}

/// Reads what erasing `reference` would do now; writes nothing.
pub async fn plan(store: &Store, town: &TownId, reference: &FamilyRef) -> Result<Plan, StoreError> {
    let mut out = Erasure { family: reference.to_string(), ..Erasure::default() };
    out.erase_on = closing(store, town, reference).await?.map(|c| c.erase_on);
    let Some(s) = subject(store, town, reference).await? else {
        return Ok(Plan { report: out, reference: reference.clone(), todo: None });
    };
    out.anonymous_reference = s.anonymous.to_string();
    let others = repo::all_families(store, town).await?;
    let shared_child = |c: &ChildId| others.iter().any(|f| &f.reference != reference && f.children.contains(c));

    // Town partitions that hold the family's records among others': the audit trail, the
    // billing runs (debits), PayFiP operations; the family's own (by its identifiers, never by
    // words of its name) are anonymised in place.
    let mut town_items = Vec::new();
    let audit_q = Query::table(keys::audit(town), SkRange::All).descending().limit(1000);
    let mut q = audit_q;
    let mut read = 0;
    loop {
        let page = store.query(&q).await?;
        read += page.items.len();
        town_items.extend(page.items);
        match page.next {
            Some(c) if read < MAX_AUDIT_ENTRIES => q.cursor = Some(c),
            _ => break,
        }
    }
    for pk in [keys::invoice_runs(town), keys::payfip_operation(town, "x").pk] {
        town_items.extend(store.query_all(&Query::table(pk, SkRange::All)).await?);
    }
    let mentioned: Vec<Item> = town_items.into_iter().filter(|i| s.refs.own(&Value::Object(i.attrs.clone()))).collect();
    out.entries_anonymised = mentioned.len();

    // Emails sent to the guardians, parked ones, and those still waiting to be sent (sent
    // after the erasure, they would be indexed under the address again).
    let mut mails = Vec::new();
    for g in &s.family.guardians {
        for index in keys::mails_to_all(town, g.email.as_str()) {
            mails.extend(store.query_all(&Query::gsi1(index, SkRange::All)).await?);
        }
    }
    let emails: Vec<&str> = s.family.guardians.iter().map(|g| g.email.as_str()).collect();
    let ours = |m: &Item| {
        m.attrs.get("town").and_then(Value::as_str) == Some(town.as_str())
            && m.attrs.get("to").and_then(Value::as_str).is_some_and(|to| emails.contains(&to))
    };
    for m in store.query_all(&Query::gsi1(keys::outbox_parked(town), SkRange::All)).await? {
        if ours(&m) {
            mails.push(m);
        }
    }
    for m in store.query_all(&Query::gsi1(keys::OUTBOX_PENDING, SkRange::All)).await? {
        if ours(&m) {
            mails.push(m);
        }
    }
    out.emails_deleted = mails.len();
    // Markers that name the family in their key (the holiday reminders sent to it).
    let suffix = format!("#{reference}");
    let markers: Vec<Key> = store
        .query_all(&Query::table(keys::holiday_reminder(town, "x", reference).pk, SkRange::All))
        .await?
        .into_iter()
        .filter(|i| i.key.sk.ends_with(&suffix))
        .map(|i| i.key)
        .collect();

    // Accounts.
    let mut accounts_del: Vec<Account> = Vec::new();
    let mut accounts_upd: Vec<Account> = Vec::new();
    for g in &s.family.guardians {
        if let Some(a) = accounts::get_account(store, town, &g.email).await? {
            if a.families.iter().all(|f| f == reference) {
                accounts_del.push(a);
            } else {
                accounts_upd.push(a);
            }
        }
    }
    out.accounts_deleted = accounts_del.len();
    out.accounts_kept = accounts_upd.len();
    // What bounces and complaints taught of an address that leaves with the family (not of
    // one a guardian keeps for another family).
    let mut markers = markers;
    for g in &s.family.guardians {
        if !accounts_upd.iter().any(|a| a.email == g.email)
            && store.get(&keys::mail_address(town, &g.email)).await?.is_some()
        {
            markers.push(keys::mail_address(town, &g.email));
        }
    }

    // Children and bookings.
    let mut child_items = Vec::new();
    for c in &s.children {
        let partition = keys::child(town, &c.id).pk;
        let items = store.query_all(&Query::table(partition, SkRange::All)).await?;
        if shared_child(&c.id) {
            out.children_kept += 1;
            // Only this family's bookings of the child go.
            let ours: Vec<Item> = items
                .into_iter()
                .filter(|i| {
                    i.key.sk.starts_with("B#")
                        && i.attrs.get("family").and_then(Value::as_str) == Some(reference.as_str())
                })
                .collect();
            out.bookings_deleted += ours.len();
            child_items.extend(ours);
        } else {
            out.children_deleted += 1;
            out.bookings_deleted += items.iter().filter(|i| i.key.sk.starts_with("B#")).count();
            child_items.extend(items);
        }
    }

    // The family's partition: accounting records move, the rest goes.
    let family_items = store.query_all(&Query::table(keys::family_partition(town, reference), SkRange::All)).await?;
    let (kept, gone): (Vec<Item>, Vec<Item>) = family_items.into_iter().partition(|i| rules::is_kept(&i.key.sk));
    out.records_anonymised = kept.len();
    out.records_deleted = gone.iter().filter(|i| i.key.sk != "CLOSED").count();
    out.files = gone
        .iter()
        .filter(|i| i.key.sk.starts_with(keys::DOCUMENT_PREFIX))
        .filter_map(|i| i.attrs.get("object").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let feeds: Vec<Key> = gone
        .iter()
        .filter(|i| i.key.sk == "FEED")
        .filter_map(|i| i.attrs.get("digest").and_then(Value::as_str).map(|d| keys::calendar_feed(town, d)))
        .collect();
    let todo = Todo {
        subject: s,
        mentioned,
        mails,
        markers,
        accounts_deleted: accounts_del,
        accounts_kept: accounts_upd,
        child_items,
        kept,
        gone,
        feeds,
    };
    Ok(Plan { report: out, reference: reference.clone(), todo: Some(todo) })
}

/// Erases what `plan` found: the town's records that mention the family anonymised, its
/// emails, accounts (or its place in a shared one), children's records and bookings deleted,
/// its accounting records moved under its anonymous reference, and last its closing marker
/// with the audit entry. Answers the report.
pub async fn apply(store: &Store, town: &TownId, plan: Plan, now: DateTime<Utc>) -> Result<Erasure, StoreError> {
    let Plan { report: out, reference, todo } = plan;
    let reference = &reference;
    let Some(todo) = todo else {
        if out.erase_on.is_some() {
            store.delete(&keys::family_closed(town, reference), None).await?;
        }
        return Ok(out);
    };
    let Todo {
        subject: s,
        mentioned,
        mails,
        markers,
        accounts_deleted: accounts_del,
        accounts_kept: accounts_upd,
        child_items,
        kept,
        gone,
        feeds,
    } = todo;

    let rekey = |k: &Key| Key {
        pk: k
            .pk
            .split('#')
            .map(|p| if p == reference.as_str() { s.anonymous.as_str() } else { p })
            .collect::<Vec<_>>()
            .join("#"),
        sk: k
            .sk
            .split('#')
            .map(|p| if p == reference.as_str() { s.anonymous.as_str() } else { p })
            .collect::<Vec<_>>()
            .join("#"),
    };
    let anonymised = |i: &Item| -> Item {
        let mut v = Value::Object(i.attrs.clone());
        rules::anonymise(&mut v, &s.texts, &s.refs);
        let attrs = match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        Item { key: rekey(&i.key), gsi1: i.gsi1.as_ref().map(rekey), ttl: i.ttl, attrs }
    };
    let mut ops: Vec<WriteOp> = Vec::new();
    for i in &mentioned {
        ops.push(WriteOp::put(anonymised(i)));
    }
    for m in &mails {
        ops.push(WriteOp::delete(m.key.clone()));
    }
    for a in &accounts_upd {
        let mut changed = a.clone();
        changed.families.retain(|f| f != reference);
        ops.push(changed.save(town)?);
    }
    for a in &accounts_del {
        ops.push(WriteOp::delete(keys::account(town, &a.email)));
    }
    for i in &child_items {
        ops.push(WriteOp::delete(i.key.clone()));
    }
    for k in feeds.into_iter().chain(markers) {
        ops.push(WriteOp::delete(k));
    }
    for chunk in ops.chunks(WRITES_PER_TRANSACTION) {
        store.transact(chunk.to_vec()).await?;
    }
    for a in &accounts_del {
        accounts::revoke_sessions(store, town, &a.email).await?;
        accounts::forget_unsubscribe_links(store, town, &a.email).await?;
    }
    // Each accounting record moves in one transaction: never lost, never twice.
    for i in &kept {
        let moved = anonymised(i);
        store.transact(vec![WriteOp::put(moved), WriteOp::delete(i.key.clone())]).await?;
    }
    let rest: Vec<WriteOp> =
        gone.iter().filter(|i| i.key.sk != "CLOSED").map(|i| WriteOp::delete(i.key.clone())).collect();
    for chunk in rest.chunks(WRITES_PER_TRANSACTION) {
        store.transact(chunk.to_vec()).await?;
    }
    // Last: the closing marker (a crash before it leaves the erasure due, and it runs again),
    // with the audit entry, which names the family by its anonymous reference only.
    let report = Erasure { files: Vec::new(), family: s.anonymous.to_string(), ..out.clone() };
    let entry = audit::Entry {
        at: now,
        by: "effacement".into(),
        action: "family.erase".into(),
        target: format!("family/{}", s.anonymous),
        before: None,
        after: serde_json::to_value(&report).ok(),
    };
    store
        .transact(vec![
            WriteOp::Delete { key: keys::family_closed(town, reference), cond: Some(Cond::Exists) },
            entry.record(town)?,
        ])
        .await?;
    Ok(out)
}
