//! A family's data over the store: its export (everything the town holds about it), its
//! closure when it leaves, and its erasure after the retention period (with a dry run). The
//! rules are in `domain::privacy`; `docs/privacy.md` is the register entry.

use chrono::{DateTime, NaiveDate, Utc};
use domain::booking::{Actor, Booking, BookingStatus, ChangedBy};
use domain::config::Town;
use domain::family::{Child, Family};
use domain::privacy as rules;
use domain::{ChildId, FamilyRef, TownId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use store::accounts::{self, Account};
use store::audit;
use store::repo;
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};

/// Deletes (or moves) per transaction.
const WRITES_PER_TRANSACTION: usize = 50;
/// Bookings a closing cancels per transaction: each may touch its own counter and its
/// waiting list's job (three actions), within DynamoDB's 100.
const CANCELS_PER_TRANSACTION: usize = 30;
/// The most audit entries one erasure reads (newest first); older ones are past the trail's
/// own retention.
const MAX_AUDIT_ENTRIES: usize = 50_000;

/// A family the town closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    pub closed_on: NaiveDate,
    pub by: String,
    /// When its personal data is erased.
    pub erase_on: NaiveDate,
}

pub async fn closing(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Option<Closing>, StoreError> {
    store.get(&keys::family_closed(town, family)).await?.map(|i| i.to_value()).transpose()
}

/// What closing a family did.
#[derive(Debug, Clone, Serialize)]
pub struct Closed {
    pub closing: Closing,
    /// Its bookings from the closing day on, cancelled (not billed).
    pub cancelled: usize,
}

/// Closes a family that left: its bookings from today on are cancelled (not billed, places
/// freed for the waiting lists), and its data is erased `erase_after_months` later. The
/// guardians keep their access until then (to read and pay their invoices, to export).
/// Closing again is harmless.
pub async fn close(
    ctx: crate::operations::Ctx<'_>,
    town: &Town,
    family: &Family,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Closed, StoreError> {
    let store = ctx.store;
    let today = town.today(now);
    let months = town.config().operations.erase_after_months;
    let closing = match closing(store, town.id(), &family.reference).await? {
        Some(c) => c,
        None => Closing { closed_on: today, by: by.to_owned(), erase_on: rules::erase_on(today, months) },
    };
    let actor = Actor { by, role: ChangedBy::Staff, at: now };
    let mut changes: Vec<(Booking, Booking)> = Vec::new();
    for child in &family.children {
        let far = today.checked_add_days(chrono::Days::new(800)).unwrap_or(today);
        for b in repo::bookings(store, town.id(), child, today, far).await? {
            if b.family == family.reference && b.is_live() && b.attendance.is_none() {
                let after = b.cancel(BookingStatus::Cancelled, false, actor);
                changes.push((b, after));
            }
        }
    }
    let mut promotions = Vec::new();
    for chunk in changes.chunks(CANCELS_PER_TRANSACTION) {
        let mut ops = Vec::new();
        let mut moves = Vec::new();
        for (before, after) in chunk {
            ops.push(repo::booking_write(town.id(), after, Some(before.version))?);
            moves.push(store::gate::Move::of(Some(before), after));
        }
        // The places freed and the waiting requests taken off their queues.
        for g in store::gate::guards(town, &moves, store::gate::Arrival::FromQueue) {
            ops.push(g.op);
            let store::gate::Guarded::Counter { unit, site, date, .. } = g.what else { continue };
            if g.taken >= 0 {
                continue;
            }
            if let Some(op) = crate::operations::promote_op(town, &unit, &site, date, now) {
                ops.push(op);
                promotions.push(crate::operations::Job::Promote { unit, site, date });
            }
        }
        store.transact(ops).await?;
    }
    let marker = Item::from_value(keys::family_closed(town.id(), &family.reference), &closing)?
        .with_gsi1(Key::new(keys::families_closed(town.id()), format!("{}#{}", closing.erase_on, family.reference)));
    let entry = audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "family.close".into(),
        target: format!("family/{}", family.reference),
        before: None,
        after: serde_json::to_value(&closing).ok(),
    };
    store.transact(vec![WriteOp::Put { item: marker, cond: None }, entry.record(town.id())?]).await?;
    for job in &promotions {
        if let Err(e) = crate::operations::run(ctx, town, job, now).await {
            tracing::warn!(error = %e, ?job, "waiting list left to the sweep");
        }
    }
    Ok(Closed { closing, cancelled: changes.len() })
}

/// The closed families whose erasure day has come.
pub async fn due(store: &Store, town: &TownId, today: NaiveDate) -> Result<Vec<FamilyRef>, StoreError> {
    let q = Query::gsi1(keys::families_closed(town), SkRange::UpTo(format!("{today}#~")));
    let items = store.query_all(&q).await?;
    Ok(items.iter().filter_map(|i| FamilyRef::parse(i.key.pk.rsplit("#F#").next()?).ok()).collect())
}

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

struct Subject {
    family: Family,
    children: Vec<Child>,
    texts: Vec<String>,
    refs: rules::References,
    anonymous: FamilyRef,
}

async fn subject(store: &Store, town: &TownId, reference: &FamilyRef) -> Result<Option<Subject>, StoreError> {
    let Some(family) = repo::get_family(store, town, reference).await? else { return Ok(None) };
    let mut children = Vec::new();
    for c in &family.children {
        if let Some(child) = repo::get_child(store, town, c).await? {
            children.push(child);
        }
    }
    let texts = rules::personal_texts(&family, &children);
    let refs = rules::References::of(town, &family);
    let anonymous = rules::anonymous_ref(town, reference);
    Ok(Some(Subject { family, children, texts, refs, anonymous }))
}

/// What erasing `reference` would do now (`apply` false: the dry run, nothing written), or does.
pub async fn erase(
    store: &Store,
    town: &TownId,
    reference: &FamilyRef,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<Erasure, StoreError> {
    let mut out = Erasure { family: reference.to_string(), ..Erasure::default() };
    out.erase_on = closing(store, town, reference).await?.map(|c| c.erase_on);
    let Some(s) = subject(store, town, reference).await? else {
        // Erased already, but for its closing marker (a crash at the very end).
        if apply && out.erase_on.is_some() {
            store.delete(&keys::family_closed(town, reference), None).await?;
        }
        return Ok(out);
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
    if !apply {
        return Ok(out);
    }

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
        ops.push(WriteOp::Put { item: anonymised(i), cond: None });
    }
    for m in &mails {
        ops.push(WriteOp::Delete { key: m.key.clone(), cond: None });
    }
    for a in &accounts_upd {
        let mut changed = a.clone();
        changed.families.retain(|f| f != reference);
        ops.push(changed.save(town)?);
    }
    for a in &accounts_del {
        ops.push(WriteOp::Delete { key: keys::account(town, &a.email), cond: None });
    }
    for i in &child_items {
        ops.push(WriteOp::Delete { key: i.key.clone(), cond: None });
    }
    for k in feeds.into_iter().chain(markers) {
        ops.push(WriteOp::Delete { key: k, cond: None });
    }
    for chunk in ops.chunks(WRITES_PER_TRANSACTION) {
        store.transact(chunk.to_vec()).await?;
    }
    for a in &accounts_del {
        accounts::revoke_sessions(store, town, &a.email).await?;
    }
    // Each accounting record moves in one transaction: never lost, never twice.
    for i in &kept {
        let moved = anonymised(i);
        store
            .transact(vec![
                WriteOp::Put { item: moved, cond: None },
                WriteOp::Delete { key: i.key.clone(), cond: None },
            ])
            .await?;
    }
    let rest: Vec<WriteOp> = gone
        .iter()
        .filter(|i| i.key.sk != "CLOSED")
        .map(|i| WriteOp::Delete { key: i.key.clone(), cond: None })
        .collect();
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

/// Everything the town holds about a family (GDPR articles 15 and 20): its record, its
/// guardians' accounts (without their password's hash), its children, every booking with its
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
    for g in &s.family.guardians {
        if let Some(a) = accounts::get_account(store, id, &g.email).await? {
            accounts_out.push(serde_json::json!({
                "email": a.email, "first_name": a.first_name, "last_name": a.last_name, "status": a.status,
                "created_at": a.created_at, "families": a.families, "holiday_reminders": !a.no_reminders,
            }));
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
    let mut out = serde_json::json!({
        "exported_at": now,
        "town": { "id": id, "name": town.config().name },
        "family": s.family,
        "accounts": accounts_out,
        "children": s.children,
        "bookings": bookings,
        "emails": emails,
        "audit": journal,
    });
    if let Some(m) = out.as_object_mut() {
        for (name, _) in names.iter().map(|(p, n)| (*n, p)) {
            m.insert(name.to_owned(), Value::Array(records.remove(name).unwrap_or_default()));
        }
    }
    Ok(Some(out))
}
