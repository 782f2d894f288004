//! Stored data outlives the code: the shapes items were stored in (`tests/fixtures/stored/
//! <kind>/v<n>*.json`, as stored, keys included) still read through today's read paths, upgraded
//! to today's structs; and a kind's migration job (`store::migrate`) rewrites its items on both
//! backends, in bounded resumable steps, never over a write made since it read them.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{ChildId, FamilyRef, TownId};
use serde_json::{Value, json};
use store::migrate::{self, Outcome};
use store::schema::{Kind, Schema, VERSION_ATTR};
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, keys, repo};

crate::helpers::both_backends!(
    scan_pages_through_every_item_once,
    a_shape_change_is_migrated_in_bounded_steps_and_moves_the_index,
    a_migration_never_overwrites_a_write_made_since_its_read,
    a_migration_interrupted_resumes_from_its_cursor,
    invoices_without_version_are_migrated_so_their_changes_hold,
    counters_created_by_an_update_carry_their_kinds_version,
    a_moved_counter_never_overwrites_one_started_since,
);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/stored");

/// A fixture as stored.
fn fixture(kind: &str, name: &str) -> Item {
    let path = format!("{FIXTURES}/{kind}/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Item::unflatten(serde_json::from_str(&text).expect("fixture JSON")).expect("a stored item")
}

fn town() -> TownId {
    TownId::parse("villeneuve-les-tilleuls").unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-09-01T08:00:00Z").unwrap().to_utc()
}

#[test]
fn every_fixture_is_of_the_kind_its_folder_names_and_upgrades() {
    let mut seen = 0;
    for dir in std::fs::read_dir(FIXTURES).expect("fixtures") {
        let dir = dir.unwrap().path();
        let kind = Kind::parse(dir.file_name().unwrap().to_str().unwrap()).expect("a kind's folder");
        for file in std::fs::read_dir(&dir).unwrap() {
            let name = file.unwrap().path().file_stem().unwrap().to_str().unwrap().to_owned();
            let item = fixture(kind.name(), &name);
            assert_eq!(Kind::of(&item.key), Some(kind), "{name}");
            let version: u32 = name.trim_start_matches('v').split('-').next().unwrap().parse().expect("v<n>");
            assert_eq!(item.stored_version().unwrap(), version, "{}/{name}", kind.name());
            let up = item.upgraded(Schema::production()).expect("upgrades");
            assert_eq!(up.stored_version().unwrap(), kind.current(), "{}/{name}", kind.name());
            seen += 1;
        }
    }
    assert!(seen >= 20, "{seen} fixtures");
}

/// Every fixture on a fresh embedded store, as stored.
async fn stored_fixtures() -> (Store, tempfile::TempDir) {
    let (store, dir) = crate::helpers::embedded_store();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let kind = entry.unwrap().file_name().into_string().unwrap();
        for file in std::fs::read_dir(format!("{FIXTURES}/{kind}")).unwrap() {
            let name = file.unwrap().path().file_stem().unwrap().to_str().unwrap().to_owned();
            if name == "v1" {
                store.put(fixture(&kind, &name), None).await.unwrap();
            }
        }
    }
    (store, dir)
}

#[tokio::test]
async fn the_past_shapes_read_through_todays_read_paths() {
    let (store, _dir) = stored_fixtures().await;
    let t = town();
    let (config, version) = repo::stored_town(&store, &t).await.unwrap().expect("the town");
    assert_eq!((config.id(), version > 0), (&t, true));
    let contacts: Vec<_> =
        config.config().activities.iter().map(|a| a.contact.as_ref().map(|c| c.name.as_str())).collect();
    assert_eq!(contacts, [None, None, None, Some("Accueil de loisirs Les Tilleuls")], "a service's own contact");

    let bernard = FamilyRef::parse("bernard").unwrap();
    let family = repo::get_family(&store, &t, &bernard).await.unwrap().expect("family");
    assert_eq!((family.name.as_str(), family.quotient_familial), ("Famille Bernard", Some(540)));
    let hugo = repo::get_child(&store, &t, &ChildId::parse("hugo-martin").unwrap()).await.unwrap().expect("child");
    assert_eq!(hugo.first_name, "Hugo");
    let file = store::child_files::get(&store, &t, &hugo.id).await.unwrap().expect("Hugo's file");
    assert_eq!((file.version, file.file.health.allergies[0].name.as_str()), (1, "arachide"));
    let queued = store::child_files::to_check(&store, &t, 10).await.unwrap();
    assert_eq!(queued.len(), 1, "in the queue of files to check");
    assert_eq!(store::child_files::versions(&store, &t, &hugo.id).await.unwrap()[0].version, 1);

    let lea = ChildId::parse("lea-martin").unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
    let bookings = repo::bookings(&store, &t, &lea, day, day).await.unwrap();
    assert_eq!(bookings.len(), 1);
    assert_eq!((bookings[0].version, bookings[0].price.get()), (2, 380));
    assert_eq!(repo::bookings_on(&store, &t, day).await.unwrap().len(), 1, "in its day's index");

    let email = domain::family::Email::parse("mairie@autre-ville.fr").unwrap();
    let other = TownId::parse("autre-ville").unwrap();
    let account = store::accounts::get_account(&store, &other, &email).await.unwrap().expect("account");
    assert_eq!(account.first_name, "Léon");

    let martin = FamilyRef::parse("martin").unwrap();
    let regul = store::regularisations::of_family(&store, &t, &martin, "").await.unwrap();
    assert_eq!(regul.len(), 1);
    assert_eq!((regul[0].delta, regul[0].version), (-250, 0));
    assert_eq!(store::regularisations::open(&store, &t).await.unwrap().len(), 1);

    let (entries, _) = store::audit::page(&store, &t, 10, None).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "attendance.mark");

    // Capacity counters and day marks moved to a partition per day (v2): read after their
    // migration, which the operator runs before the new code serves (docs/store.md).
    for kind in [Kind::Capacity, Kind::Day] {
        let p = migrate_to_the_end(&store, Schema::production(), kind, 7).await;
        assert_eq!((p.upgraded, p.changed_meanwhile), (1, 0), "{kind:?}");
    }
    let marks = store::gate::closed_reason(
        &store,
        &t,
        NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        &domain::ActivityId::parse("alsh").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(marks.as_deref(), Some("Grève"));
    let claimed = repo::places_claimed(
        &store,
        &t,
        &domain::UnitId::parse("alsh-vacances").unwrap(),
        &domain::SiteId::parse("centre-les-tilleuls").unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(claimed.values().copied().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn the_past_shapes_decode_as_todays_structs() {
    let note: domain::credit::CreditNote = fixture("credit_note", "v1").to_value().unwrap();
    assert_eq!((note.number.as_str(), note.total.get()), ("AV-2026-000001", 300));
    let pay: domain::payment::Payment = fixture("payment", "v1").to_value().unwrap();
    assert_eq!((pay.number.as_str(), pay.amount.get()), ("Q-2026-000001", 1000));
    let mandate: domain::debit::Mandate = fixture("mandate", "v1").to_value().unwrap();
    assert_eq!(mandate.rum, "VLT-2026-0001");
    let debit: domain::debit::Debit = fixture("debit", "v1").to_value().unwrap();
    assert_eq!(debit.invoice, "2026-000001");
    let op: domain::payfip::Operation = fixture("payfip_operation", "v1").to_value().unwrap();
    assert_eq!(op.refdet, "2026000002");
    let mail: services::mail::outbox::Mail = fixture("mail", "v1").to_value().unwrap();
    assert_eq!(mail.to.as_str(), "claire.bernard@exemple.fr");
    let article: news::Article = fixture("article", "v1").to_value().unwrap();
    assert_eq!(article.title, "Inscriptions ALSH de février");
    let session: store::accounts::Session = fixture("session", "v1").to_value().unwrap();
    assert_eq!(session.email.as_str(), "mairie@autre-ville.fr");
}

#[test]
fn an_invoice_of_today_reads_as_stored() {
    let invoice: domain::billing::Invoice = fixture("invoice", "v1").to_value().unwrap();
    assert_eq!((invoice.version, invoice.paid.get(), invoice.total.get()), (3, 100, 300));
    assert!(invoice.debit.is_some());
}

#[test]
fn an_invoice_from_before_payments_reads_at_version_0_with_nothing_paid() {
    let item = fixture("invoice", "v1-without-version");
    assert!(!item.attrs.contains_key("version"));
    let invoice: domain::billing::Invoice = item.to_value().unwrap();
    assert_eq!((invoice.version, invoice.paid.get(), invoice.credited.get()), (0, 0, 0));
    assert!(invoice.deductions.is_empty() && invoice.debit.is_none() && invoice.online.is_none());
    assert_eq!(invoice.lines[0].child_name, "Noé Bernard-Petit");
}

/// A test-only shape change of families: v2 keeps the phone of the first guardian in a
/// `contact` map and lists the family in the index by name (a query that needs the migration).
fn family_v2(mut v: Value) -> Result<Value, String> {
    let map = v.as_object_mut().ok_or("a map")?;
    let phone = map.remove("phone").unwrap_or(Value::Null);
    map.insert("contact".into(), json!({ "phone": phone }));
    let name = map.get("name").and_then(Value::as_str).ok_or("a name")?.to_owned();
    let pk = map.get("pk").and_then(Value::as_str).ok_or("a pk")?.to_owned();
    let town = pk.split('#').nth(1).ok_or("a town")?;
    map.insert("gsi1pk".into(), json!(format!("T#{town}#BYNAME")));
    map.insert("gsi1sk".into(), json!(format!("{name}#{pk}")));
    Ok(v)
}

fn test_schema() -> Schema {
    Schema::default().with_step(Kind::Family, family_v2)
}

/// A family as stored at v1 (no version attribute).
fn old_family(n: usize) -> Item {
    let reference = format!("f{n:02}");
    Item::unflatten(json!({
        "pk": format!("T#ville#F#{reference}"), "sk": "FAMILY",
        "gsi1pk": "T#ville#FAMILIES", "gsi1sk": format!("F#{reference}"),
        "reference": reference, "name": format!("Famille {n:02}"), "phone": format!("01 00 00 00 {n:02}"),
    }))
    .unwrap()
}

async fn put_old_families(store: &Store, n: usize) {
    for i in 0..n {
        store.put(old_family(i), None).await.unwrap();
    }
    // Other kinds, which the migration leaves alone.
    for i in 0..5 {
        store.put(Item::new(Key::new(format!("T#ville#C#c{i}"), "CHILD")), None).await.unwrap();
    }
}

async fn migrate_to_the_end(store: &Store, schema: &Schema, kind: Kind, page: usize) -> migrate::Progress {
    for _ in 0..200 {
        let p = migrate::step(store, schema, kind, page, now()).await.unwrap();
        if p.done {
            return p;
        }
    }
    panic!("the migration does not end");
}

async fn scan_pages_through_every_item_once(store: Store) {
    for i in 0..23 {
        store.put(Item::new(Key::new(format!("T#a#X{}", i % 4), format!("{i:03}"))), None).await.unwrap();
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = store.scan(5, cursor.as_ref()).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.into_iter().map(|i| i.key));
        pages += 1;
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!((seen.len(), pages >= 5), (23, true));
}

async fn a_shape_change_is_migrated_in_bounded_steps_and_moves_the_index(store: Store) {
    put_old_families(&store, 12).await;
    let schema = test_schema();
    let first = migrate::step(&store, &schema, Kind::Family, 4, now()).await.unwrap();
    assert_eq!((first.scanned, first.done, first.to), (4, false, 2), "one page per step");
    let p = migrate_to_the_end(&store, &schema, Kind::Family, 4).await;
    assert_eq!((p.upgraded, p.changed_meanwhile), (12, 0));
    assert!(p.steps >= 5, "{} steps", p.steps);
    let by_name = store.query_all(&Query::gsi1("T#ville#BYNAME", SkRange::All)).await.unwrap();
    assert_eq!(by_name.len(), 12, "the new index holds every family");
    let one = store.get(&Key::new("T#ville#F#f03", "FAMILY")).await.unwrap().unwrap();
    assert_eq!(one.attrs.get("contact"), Some(&json!({"phone": "01 00 00 00 03"})));
    assert_eq!((one.attrs.get(VERSION_ATTR), one.attrs.get("phone")), (Some(&json!(2)), None));
    assert!(store.query_all(&Query::gsi1("T#ville#FAMILIES", SkRange::All)).await.unwrap().is_empty());
    let child = store.get(&Key::new("T#ville#C#c1", "CHILD")).await.unwrap().unwrap();
    assert_eq!(child.attrs.get(VERSION_ATTR), Some(&json!(1)), "other kinds untouched");

    // Done: running it again reads nothing and writes nothing; the progress is listed.
    let calls = store.calls();
    let again = migrate::step(&store, &schema, Kind::Family, 4, now()).await.unwrap();
    assert_eq!((again, store.calls() - calls), (p.clone(), 1));
    assert_eq!(migrate::all(&store).await.unwrap(), vec![p]);
    for item in store.query_all(&Query::gsi1("T#ville#BYNAME", SkRange::All)).await.unwrap() {
        assert_eq!(migrate::rewrite(&store, &schema, Kind::Family, &item).await.unwrap(), Outcome::Untouched);
    }
}

async fn a_migration_never_overwrites_a_write_made_since_its_read(store: Store) {
    put_old_families(&store, 2).await;
    let schema = test_schema();
    let read = store.get(&old_family(0).key).await.unwrap().unwrap();
    // Written meanwhile by a writer of the older code (still v1, another phone)...
    let mut changed = read.clone();
    changed.attrs.insert("phone".into(), json!("06 11 11 11 11"));
    store.put(changed.clone(), None).await.unwrap();
    assert_eq!(migrate::rewrite(&store, &schema, Kind::Family, &read).await.unwrap(), Outcome::ChangedMeanwhile);
    assert_eq!(store.get(&read.key).await.unwrap(), Some(changed.clone()));
    // ... or by one of this code (stamped).
    let mut stamped = changed.clone();
    stamped.attrs.insert(VERSION_ATTR.into(), json!(1));
    store.put(stamped.clone(), None).await.unwrap();
    assert_eq!(migrate::rewrite(&store, &schema, Kind::Family, &changed).await.unwrap(), Outcome::ChangedMeanwhile);
    assert_eq!(store.get(&read.key).await.unwrap(), Some(stamped));
    // ... or deleted: not written back.
    let gone = store.get(&old_family(1).key).await.unwrap().unwrap();
    store.delete(&gone.key, None).await.unwrap();
    assert_eq!(migrate::rewrite(&store, &schema, Kind::Family, &gone).await.unwrap(), Outcome::ChangedMeanwhile);
    assert_eq!(store.get(&gone.key).await.unwrap(), None);
}

async fn a_migration_interrupted_resumes_from_its_cursor(store: Store) {
    put_old_families(&store, 9).await;
    let schema = test_schema();
    migrate::step(&store, &schema, Kind::Family, 5, now()).await.unwrap();
    // The next step dies after two rewrites: its progress is not written.
    let dying = store.failing_writes_after(2);
    let died = migrate::step(&dying, &schema, Kind::Family, 5, now()).await;
    assert!(matches!(died, Err(StoreError::Unavailable(_))), "{died:?}");
    let p = migrate_to_the_end(&store, &schema, Kind::Family, 5).await;
    let families = store.query_all(&Query::gsi1("T#ville#BYNAME", SkRange::All)).await.unwrap();
    assert_eq!(families.len(), 9);
    assert_eq!(p.upgraded, 9 - 2, "the two rewritten before the crash are not counted twice, nor redone");
}

async fn invoices_without_version_are_migrated_so_their_changes_hold(store: Store) {
    let old = fixture("invoice", "v1-without-version");
    store.put(old.clone(), None).await.unwrap();
    let read: domain::billing::Invoice = store.get(&old.key).await.unwrap().unwrap().to_value().unwrap();
    assert_eq!(read.version, 0);
    // Every change of an invoice is conditioned on the version read: before the migration,
    // the stored invoice has none, and the change can never be made.
    let mut paid = read.clone();
    paid.version = 1;
    let index = old.gsi1.clone().expect("in its month's index");
    let write = |i: &domain::billing::Invoice| Item::from_value(old.key.clone(), i).unwrap().with_gsi1(index.clone());
    assert_eq!(store.put(write(&paid), Some(Cond::version(read.version))).await, Err(StoreError::ConditionFailed));

    let p = migrate_to_the_end(&store, Schema::production(), Kind::Invoice, 100).await;
    assert_eq!((p.upgraded, p.to), (1, 2));
    let stored = store.get(&old.key).await.unwrap().unwrap();
    assert_eq!((stored.attrs.get("version"), stored.attrs.get(VERSION_ATTR)), (Some(&json!(0)), Some(&json!(2))));
    assert_eq!(stored.gsi1, old.gsi1, "still in its month's index");
    store.put(write(&paid), Some(Cond::version(read.version))).await.unwrap();
    let month = store
        .query_all(&Query::gsi1(
            keys::invoices_of_month(&town(), domain::Month::parse("2026-10").unwrap()),
            SkRange::All,
        ))
        .await;
    assert_eq!(month.unwrap().len(), 1);
}

async fn counters_created_by_an_update_carry_their_kinds_version(store: Store) {
    let t = town();
    let (unit, site) = (domain::UnitId::parse("cantine").unwrap(), domain::SiteId::parse("ecole").unwrap());
    let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let cap = keys::capacity(&t, &unit, &site, day);
    store.add(&cap, "taken", 1, Some(10)).await.unwrap();
    let counters = keys::capacity(&t, &unit, &site, day.succ_opt().unwrap());
    let add = vec![("taken".to_owned(), 1), ("waiting".to_owned(), 2)];
    store.transact(vec![store::WriteOp::Counters { key: counters.clone(), add, cond: None }]).await.unwrap();
    for key in [cap, counters] {
        let item = store.get(&key).await.unwrap().unwrap();
        assert_eq!(item.attrs.get(VERSION_ATTR), Some(&json!(Kind::Capacity.current())), "{key:?}");
    }
    // A counter of a key the project does not write has none.
    store.add(&Key::new("T#a#X", "n"), "n", 1, None).await.unwrap();
    assert_eq!(store.get(&Key::new("T#a#X", "n")).await.unwrap().unwrap().attrs.get(VERSION_ATTR), None);
}

/// A counter the new code started on a day before the migration moved the old one is never
/// overwritten: both stay, counted for the operator.
async fn a_moved_counter_never_overwrites_one_started_since(store: Store) {
    let old = fixture("capacity", "v1");
    store.put(old.clone(), None).await.unwrap();
    let moved = store::schema::relocated(&old.key).expect("a v1 key moves");
    let mut started = Item::new(moved.clone());
    started.attrs.insert("taken".into(), json!(3));
    store.put(started, None).await.unwrap();
    let p = migrate_to_the_end(&store, Schema::production(), Kind::Capacity, 10).await;
    assert_eq!((p.upgraded, p.changed_meanwhile), (0, 1));
    assert_eq!(store.get(&moved).await.unwrap().unwrap().attrs["taken"], json!(3));
    assert!(store.get(&old.key).await.unwrap().is_some(), "the old one stays for the operator");
}
