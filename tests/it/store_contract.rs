//! The store contract: the same cases on the embedded backend, on DynamoDB (moto), and on the
//! contended model of DynamoDB (`store::contended`).

use serde_json::json;
use store::{CancelReason, Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp};

crate::helpers::all_backends!(
    put_then_get_round_trips_every_attribute_type,
    conditional_put_fails_when_the_item_exists_and_changes_nothing,
    attribute_condition_guards_a_delete,
    attributes_condition_compares_whole_values_and_absence,
    expired_item_counts_as_absent_for_not_exists_or_expired,
    transaction_rolls_back_as_a_whole_and_names_the_failing_action,
    transaction_over_the_limit_or_with_a_key_twice_is_refused,
    query_by_sort_key_range_and_prefix_follows_pages,
    query_descending_follows_pages_backwards,
    index_query_follows_pages_in_index_order,
    moving_an_item_in_the_index_leaves_no_stale_entry,
    counter_stops_at_its_upper_bound,
    concurrent_counter_increments_never_exceed_the_bound,
    counter_over_its_bound_cancels_the_whole_transaction,
    counters_move_together_under_their_conditions,
    absent_marks_and_bounds_hold_on_a_missing_item,
    a_lower_bound_holds_only_on_an_attribute_that_high,
    item_over_400_kb_is_refused,
    malformed_cursor_is_refused,
    empty_sort_key_bounds_are_refused,
    query_up_to_a_sort_key,
    batch_read_returns_the_items_that_exist_over_many_batches,
);

fn item(pk: &str, sk: &str) -> Item {
    Item::new(Key::new(pk, sk))
}

async fn put_then_get_round_trips_every_attribute_type(store: Store) {
    let mut it = item("T#a#C#lea", "CHILD").with_gsi1(Key::new("T#a#IDX", "lea")).with_ttl(4_102_444_800);
    it.attrs.insert("name".into(), json!("Léa"));
    it.attrs.insert("count".into(), json!(42));
    it.attrs.insert("negative".into(), json!(-7));
    it.attrs.insert("flag".into(), json!(true));
    it.attrs.insert("nested".into(), json!({"a": [1, "deux", {"b": false}]}));
    it.attrs.insert("empty_list".into(), json!([]));
    store.put(it.clone(), None).await.unwrap();
    let back = store.get(&it.key).await.unwrap().expect("stored");
    assert_eq!(back, it);
    assert_eq!(store.get(&Key::new("T#a#C#lea", "OTHER")).await.unwrap(), None);
}

async fn conditional_put_fails_when_the_item_exists_and_changes_nothing(store: Store) {
    let mut first = item("T#a#X", "1");
    first.attrs.insert("v".into(), json!("first"));
    store.put(first.clone(), Some(Cond::NotExists)).await.unwrap();
    let mut second = first.clone();
    second.attrs.insert("v".into(), json!("second"));
    assert_eq!(store.put(second, Some(Cond::NotExists)).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.get(&first.key).await.unwrap(), Some(first.clone()));
    // Exists holds now, and fails on an absent key.
    store.put(first.clone(), Some(Cond::Exists)).await.unwrap();
    assert_eq!(store.put(item("T#a#X", "2"), Some(Cond::Exists)).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.get(&Key::new("T#a#X", "2")).await.unwrap(), None);
}

async fn attribute_condition_guards_a_delete(store: Store) {
    let mut it = item("T#a#R", "1");
    it.attrs.insert("status".into(), json!("pending"));
    store.put(it.clone(), None).await.unwrap();
    let wrong = Cond::AttrEquals { name: "status".into(), value: json!("accepted") };
    assert_eq!(store.delete(&it.key, Some(wrong)).await, Err(StoreError::ConditionFailed));
    assert!(store.get(&it.key).await.unwrap().is_some());
    let right = Cond::AttrEquals { name: "status".into(), value: json!("pending") };
    store.delete(&it.key, Some(right)).await.unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), None);
    // Deleting what is absent is not an error without a condition.
    store.delete(&it.key, None).await.unwrap();
}

async fn attributes_condition_compares_whole_values_and_absence(store: Store) {
    let mut it = item("T#a#C#lea", "CHILD");
    it.attrs.insert("first_name".into(), json!("Léa"));
    it.attrs.insert("enrolments".into(), json!([{"activity": "alsh", "units": ["a", "b"]}]));
    store.put(it.clone(), None).await.unwrap();
    let read = |extra: &[(&str, serde_json::Value)]| {
        let mut attrs = it.attrs.clone();
        attrs.insert("school".into(), serde_json::Value::Null);
        for (k, v) in extra {
            attrs.insert((*k).into(), v.clone());
        }
        Cond::AttrsEqual(attrs)
    };
    let mut next = it.clone();
    next.attrs.insert("first_name".into(), json!("Léna"));
    // A list that differs in one nested element, or an attribute said absent that is there,
    // or a missing item: the condition fails and nothing is written.
    let other_units = read(&[("enrolments", json!([{"activity": "alsh", "units": ["a"]}]))]);
    assert_eq!(store.put(next.clone(), Some(other_units)).await, Err(StoreError::ConditionFailed));
    let absent_name = read(&[("first_name", serde_json::Value::Null)]);
    assert_eq!(store.put(next.clone(), Some(absent_name)).await, Err(StoreError::ConditionFailed));
    let mut elsewhere = next.clone();
    elsewhere.key = Key::new("T#a#C#absent", "CHILD");
    assert_eq!(store.put(elsewhere, Some(read(&[]))).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.get(&it.key).await.unwrap(), Some(it.clone()));
    // As read: the write goes through, and the same condition no longer holds afterwards.
    store.put(next.clone(), Some(read(&[]))).await.unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), Some(next.clone()));
    assert_eq!(store.put(it.clone(), Some(read(&[]))).await, Err(StoreError::ConditionFailed));
}

async fn expired_item_counts_as_absent_for_not_exists_or_expired(store: Store) {
    let now = 1_800_000_000;
    let expired = item("T#a#IDEM", "k1").with_ttl(now - 1);
    store.put(expired.clone(), None).await.unwrap();
    let fresh = item("T#a#IDEM", "k1").with_ttl(now + 86_400);
    store.put(fresh.clone(), Some(Cond::NotExistsOrExpired { now })).await.unwrap();
    assert_eq!(
        store.put(fresh.clone(), Some(Cond::NotExistsOrExpired { now })).await,
        Err(StoreError::ConditionFailed)
    );
    store.put(item("T#a#IDEM", "k2"), Some(Cond::NotExistsOrExpired { now })).await.unwrap();
    let back = store.get(&fresh.key).await.unwrap().unwrap();
    assert!(back.is_live(now) && !back.is_live(now + 86_400));
}

async fn transaction_rolls_back_as_a_whole_and_names_the_failing_action(store: Store) {
    store.put(item("T#a#B", "taken"), None).await.unwrap();
    let ops = vec![
        WriteOp::Put { item: item("T#a#B", "new-1"), cond: Some(Cond::NotExists) },
        WriteOp::Add { key: Key::new("T#a#CAP", "d1"), attr: "count".into(), by: 1, max: Some(10) },
        WriteOp::Put { item: item("T#a#B", "taken"), cond: Some(Cond::NotExists) },
        WriteOp::Delete { key: Key::new("T#a#B", "new-2"), cond: None },
    ];
    let err = store.transact(ops).await.unwrap_err();
    assert_eq!(err, StoreError::TransactionCanceled { index: 2, reason: CancelReason::ConditionFailed });
    assert_eq!(store.get(&Key::new("T#a#B", "new-1")).await.unwrap(), None, "first put rolled back");
    assert_eq!(store.get(&Key::new("T#a#CAP", "d1")).await.unwrap(), None, "counter rolled back");
    // A Check alone can cancel too; then a clean transaction applies everything.
    let check = vec![
        WriteOp::Put { item: item("T#a#B", "new-1"), cond: None },
        WriteOp::Check { key: Key::new("T#a#B", "absent"), cond: Cond::Exists },
    ];
    assert_eq!(
        store.transact(check).await.unwrap_err(),
        StoreError::TransactionCanceled { index: 1, reason: CancelReason::ConditionFailed }
    );
    let ok = vec![
        WriteOp::Put { item: item("T#a#B", "new-1"), cond: Some(Cond::NotExists) },
        WriteOp::Delete { key: Key::new("T#a#B", "taken"), cond: Some(Cond::Exists) },
        WriteOp::Add { key: Key::new("T#a#CAP", "d1"), attr: "count".into(), by: 2, max: Some(10) },
    ];
    store.transact(ok).await.unwrap();
    assert!(store.get(&Key::new("T#a#B", "new-1")).await.unwrap().is_some());
    assert_eq!(store.get(&Key::new("T#a#B", "taken")).await.unwrap(), None);
    let counter = store.get(&Key::new("T#a#CAP", "d1")).await.unwrap().unwrap();
    assert_eq!(counter.attrs["count"], json!(2));
}

async fn transaction_over_the_limit_or_with_a_key_twice_is_refused(store: Store) {
    let many: Vec<WriteOp> =
        (0..101).map(|i| WriteOp::Put { item: item("T#a#M", &format!("{i:03}")), cond: None }).collect();
    assert!(matches!(store.transact(many).await, Err(StoreError::Invalid(_))));
    let hundred: Vec<WriteOp> =
        (0..100).map(|i| WriteOp::Put { item: item("T#a#M", &format!("{i:03}")), cond: None }).collect();
    store.transact(hundred).await.unwrap();
    let twice = vec![
        WriteOp::Put { item: item("T#a#N", "1"), cond: None },
        WriteOp::Delete { key: Key::new("T#a#N", "1"), cond: None },
    ];
    assert!(matches!(store.transact(twice).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.get(&Key::new("T#a#N", "1")).await.unwrap(), None);
}

async fn fill_calendar(store: &Store) {
    let mut ops = Vec::new();
    for day in 1..=30 {
        let mut it = item("T#a#C#lea", &format!("B#2026-09-{day:02}#cantine"));
        it.attrs.insert("day".into(), json!(day));
        ops.push(WriteOp::Put { item: it, cond: None });
    }
    ops.push(WriteOp::Put { item: item("T#a#C#lea", "CHILD"), cond: None });
    ops.push(WriteOp::Put { item: item("T#a#C#hugo", "B#2026-09-10#cantine"), cond: None });
    store.transact(ops).await.unwrap();
}

async fn collect_pages(store: &Store, q: Query) -> (Vec<String>, usize) {
    let mut q = q;
    let mut sks = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.query(&q).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= q.limit);
        sks.extend(page.items.into_iter().map(|i| i.key.sk));
        match page.next {
            Some(c) => q = q.after(Some(c)),
            None => return (sks, pages),
        }
    }
}

async fn query_by_sort_key_range_and_prefix_follows_pages(store: Store) {
    fill_calendar(&store).await;
    let q = Query::table("T#a#C#lea", SkRange::Between("B#2026-09-07".into(), "B#2026-09-18~".into())).limit(4);
    let (sks, pages) = collect_pages(&store, q).await;
    let want: Vec<String> = (7..=18).map(|d| format!("B#2026-09-{d:02}#cantine")).collect();
    assert_eq!(sks, want);
    assert!(pages >= 3, "12 items by 4 take at least 3 pages");
    let (all_bookings, _) =
        collect_pages(&store, Query::table("T#a#C#lea", SkRange::Prefix("B#".into())).limit(7)).await;
    assert_eq!(all_bookings.len(), 30);
    let (everything, _) = collect_pages(&store, Query::table("T#a#C#lea", SkRange::All)).await;
    assert_eq!(everything.len(), 31);
    assert_eq!(everything.last().map(String::as_str), Some("CHILD"));
    let all = store.query_all(&Query::table("T#a#C#hugo", SkRange::Prefix("B#".into())).limit(1)).await.unwrap();
    assert_eq!(all.len(), 1);
}

async fn query_descending_follows_pages_backwards(store: Store) {
    fill_calendar(&store).await;
    let q = Query::table("T#a#C#lea", SkRange::Prefix("B#2026-09-2".into())).limit(3).descending();
    let (sks, _) = collect_pages(&store, q).await;
    let want: Vec<String> = (20..=29).rev().map(|d| format!("B#2026-09-{d:02}#cantine")).collect();
    assert_eq!(sks, want);
}

async fn index_query_follows_pages_in_index_order(store: Store) {
    for (i, child) in ["zoe", "adam", "lina", "noe", "emma"].iter().enumerate() {
        let it = item(&format!("T#a#C#{child}"), "B#2026-10-05#cantine")
            .with_gsi1(Key::new("T#a#DAY#2026-10-05#ecole", format!("cantine#{child}")));
        store.put(it, None).await.unwrap();
        let other = item(&format!("T#a#C#{child}"), "B#2026-10-06#cantine")
            .with_gsi1(Key::new("T#a#DAY#2026-10-06#ecole", format!("cantine#{i}")));
        store.put(other, None).await.unwrap();
    }
    let q = Query::gsi1("T#a#DAY#2026-10-05#ecole", SkRange::Prefix("cantine#".into())).limit(2);
    let mut q2 = q.clone();
    let mut pks = Vec::new();
    loop {
        let page = store.query(&q2).await.unwrap();
        pks.extend(page.items.iter().map(|i| i.key.pk.clone()));
        match page.next {
            Some(c) => q2 = q2.after(Some(c)),
            None => break,
        }
    }
    assert_eq!(pks, ["T#a#C#adam", "T#a#C#emma", "T#a#C#lina", "T#a#C#noe", "T#a#C#zoe"]);
}

async fn moving_an_item_in_the_index_leaves_no_stale_entry(store: Store) {
    let it = item("T#a#R", "1").with_gsi1(Key::new("T#a#PENDING", "2026-10-05#1"));
    store.put(it.clone(), None).await.unwrap();
    let moved = item("T#a#R", "1").with_gsi1(Key::new("T#a#DONE", "2026-10-05#1"));
    store.put(moved, None).await.unwrap();
    assert!(store.query_all(&Query::gsi1("T#a#PENDING", SkRange::All)).await.unwrap().is_empty());
    assert_eq!(store.query_all(&Query::gsi1("T#a#DONE", SkRange::All)).await.unwrap().len(), 1);
    store.delete(&it.key, None).await.unwrap();
    assert!(store.query_all(&Query::gsi1("T#a#DONE", SkRange::All)).await.unwrap().is_empty());
}

async fn counter_stops_at_its_upper_bound(store: Store) {
    let key = Key::new("T#a#CAP#alsh", "2026-10-21");
    assert_eq!(store.add(&key, "taken", 1, Some(3)).await, Ok(1));
    assert_eq!(store.add(&key, "taken", 2, Some(3)).await, Ok(3));
    assert_eq!(store.add(&key, "taken", 1, Some(3)).await, Err(StoreError::ConditionFailed));
    assert_eq!(store.add(&key, "taken", -1, Some(3)).await, Ok(2));
    assert_eq!(store.add(&key, "taken", 5, None).await, Ok(7));
    assert!(matches!(store.add(&key, "taken", 4, Some(3)).await, Err(StoreError::Invalid(_))));
}

async fn concurrent_counter_increments_never_exceed_the_bound(store: Store) {
    let key = Key::new("T#a#CAP#alsh", "2026-10-22");
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.add(&key, "taken", 1, Some(10)).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(store.get(&key).await.unwrap().unwrap().attrs["taken"], json!(10));
}

async fn counter_over_its_bound_cancels_the_whole_transaction(store: Store) {
    let cap = Key::new("T#a#CAP#alsh", "2026-10-23");
    store.add(&cap, "taken", 10, Some(10)).await.unwrap();
    let ops = vec![
        WriteOp::Put { item: item("T#a#C#lea", "B#2026-10-23#alsh"), cond: Some(Cond::NotExists) },
        WriteOp::Add { key: cap.clone(), attr: "taken".into(), by: 1, max: Some(10) },
    ];
    assert_eq!(
        store.transact(ops).await,
        Err(StoreError::TransactionCanceled { index: 1, reason: CancelReason::OverLimit })
    );
    assert_eq!(store.get(&Key::new("T#a#C#lea", "B#2026-10-23#alsh")).await.unwrap(), None);
}

/// A unit-day's places and queue move in one action, bounded by the capacity and the queue.
async fn counters_move_together_under_their_conditions(store: Store) {
    let cap = Key::new("T#a#CAP#alsh", "2026-10-24");
    let take = |n: i64, cond: Option<Cond>| WriteOp::Counters {
        key: cap.clone(),
        add: vec![("taken".into(), n), ("waiting".into(), -n)],
        cond,
    };
    let within = |max: i64| {
        Some(Cond::All(vec![
            Cond::AtMost { name: "taken".into(), value: max },
            Cond::AtMost { name: "waiting".into(), value: 5 },
        ]))
    };
    // A missing item counts as zeros, and is created.
    store.transact(vec![take(2, within(1))]).await.unwrap();
    let got = store.get(&cap).await.unwrap().unwrap();
    assert_eq!((got.attrs["taken"].clone(), got.attrs["waiting"].clone()), (json!(2), json!(-2)));
    // taken = 2 is over a bound of 1: the whole transaction is cancelled as over the limit.
    let ops = vec![
        WriteOp::Put { item: item("T#a#C#noe", "B#2026-10-24#alsh"), cond: Some(Cond::NotExists) },
        take(1, within(1)),
    ];
    assert_eq!(
        store.transact(ops).await,
        Err(StoreError::TransactionCanceled { index: 1, reason: CancelReason::OverLimit })
    );
    assert_eq!(store.get(&Key::new("T#a#C#noe", "B#2026-10-24#alsh")).await.unwrap(), None);
    // Someone waiting blocks a condition on an empty queue.
    let queued = WriteOp::Counters { key: cap.clone(), add: vec![("waiting".into(), 3)], cond: None };
    store.transact(vec![queued]).await.unwrap();
    let empty_queue = Some(Cond::AtMost { name: "waiting".into(), value: 0 });
    let newcomer = WriteOp::Counters { key: cap.clone(), add: vec![("taken".into(), 1)], cond: empty_queue };
    assert!(matches!(store.transact(vec![newcomer]).await, Err(StoreError::TransactionCanceled { index: 0, .. })));
    assert_eq!(store.get(&cap).await.unwrap().unwrap().attrs["taken"], json!(2));
}

/// A lower bound holds only on an item whose attribute is at least that high: never on a
/// missing item or attribute. With an upper bound on another attribute, on a counter's move.
async fn a_lower_bound_holds_only_on_an_attribute_that_high(store: Store) {
    let cap = Key::new("T#a#CAP#alsh", "2026-10-25");
    let at_least = |name: &str, value: i64| Cond::AtLeast { name: name.into(), value };
    let queue = |cond: Cond| WriteOp::Counters { key: cap.clone(), add: vec![("waiting".into(), 1)], cond: Some(cond) };
    let refused = |r: Result<(), StoreError>| matches!(r, Err(StoreError::TransactionCanceled { index: 0, .. }));
    assert!(refused(store.transact(vec![queue(at_least("taken", 0))]).await), "no item");
    let taken = WriteOp::Counters { key: cap.clone(), add: vec![("taken".into(), 2)], cond: None };
    store.transact(vec![taken]).await.unwrap();
    assert!(refused(store.transact(vec![queue(at_least("waiting", 0))]).await), "no such attribute");
    assert!(refused(store.transact(vec![queue(at_least("taken", 3))]).await), "below the bound");
    let both = Cond::All(vec![at_least("taken", 2), Cond::AtMost { name: "waiting".into(), value: 0 }]);
    store.transact(vec![queue(both)]).await.unwrap();
    store.transact(vec![queue(at_least("waiting", 1))]).await.unwrap();
    let got = store.get(&cap).await.unwrap().unwrap();
    assert_eq!((got.attrs["taken"].clone(), got.attrs["waiting"].clone()), (json!(2), json!(2)));
}

/// A mark not set, on an item that does not exist or lacks it; a version bound likewise.
async fn absent_marks_and_bounds_hold_on_a_missing_item(store: Store) {
    let day = Key::new("T#a#DAYS", "2026-12-14");
    let open = Cond::All(vec![Cond::Absent { name: "closed".into() }, Cond::Absent { name: "closed_alsh".into() }]);
    store.transact(vec![WriteOp::Check { key: day.clone(), cond: open.clone() }]).await.unwrap();
    let mut marked = item("T#a#DAYS", "2026-12-14");
    marked.attrs.insert("version".into(), json!(4));
    marked.attrs.insert("closed_alsh".into(), json!("Grève"));
    store.put(marked.clone(), Some(Cond::AtMost { name: "version".into(), value: 4 })).await.unwrap();
    let booking = WriteOp::Put { item: item("T#a#C#lea", "B#2026-12-14#alsh"), cond: None };
    let ops = vec![booking, WriteOp::Check { key: day.clone(), cond: open }];
    assert_eq!(
        store.transact(ops).await,
        Err(StoreError::TransactionCanceled { index: 1, reason: CancelReason::ConditionFailed })
    );
    // Another activity's mark does not close this one's.
    let cantine =
        Cond::All(vec![Cond::Absent { name: "closed".into() }, Cond::Absent { name: "closed_cantine".into() }]);
    store.transact(vec![WriteOp::Check { key: day.clone(), cond: cantine }]).await.unwrap();
    // An older configuration never overwrites a later one's marks.
    let mut older = item("T#a#DAYS", "2026-12-14");
    older.attrs.insert("version".into(), json!(3));
    assert_eq!(
        store.put(older, Some(Cond::AtMost { name: "version".into(), value: 3 })).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get(&day).await.unwrap().unwrap().attrs["closed_alsh"], json!("Grève"));
}

async fn item_over_400_kb_is_refused(store: Store) {
    let mut big = item("T#a#BIG", "1");
    big.attrs.insert("blob".into(), json!("x".repeat(410 * 1024)));
    assert!(matches!(store.put(big.clone(), None).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.transact(vec![WriteOp::Put { item: big, cond: None }]).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.get(&Key::new("T#a#BIG", "1")).await.unwrap(), None);
}

async fn malformed_cursor_is_refused(store: Store) {
    let q = Query::table("T#a#C#lea", SkRange::All).after(Some(store::Cursor::from_client("%%%not-a-cursor")));
    assert!(matches!(store.query(&q).await, Err(StoreError::Invalid(_))));
}

async fn empty_sort_key_bounds_are_refused(store: Store) {
    for sk in
        [SkRange::Prefix(String::new()), SkRange::Between(String::new(), "B#9".into()), SkRange::UpTo(String::new())]
    {
        assert!(
            matches!(store.query(&Query::gsi1("T#a#IDX", sk.clone())).await, Err(StoreError::Invalid(_))),
            "{sk:?}"
        );
    }
}

async fn query_up_to_a_sort_key(store: Store) {
    fill_calendar(&store).await;
    let (sks, _) =
        collect_pages(&store, Query::table("T#a#C#lea", SkRange::UpTo("B#2026-09-03~".into())).limit(2)).await;
    assert_eq!(sks, ["B#2026-09-01#cantine", "B#2026-09-02#cantine", "B#2026-09-03#cantine"]);
}

#[tokio::test]
async fn embedded_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let store = Store::embedded(store::embedded::EmbeddedStore::open(&path).unwrap());
        store.put(item("T#a#X", "kept"), Some(Cond::NotExists)).await.unwrap();
    }
    let store = Store::embedded(store::embedded::EmbeddedStore::open(&path).unwrap());
    assert!(store.get(&Key::new("T#a#X", "kept")).await.unwrap().is_some());
}

async fn batch_read_returns_the_items_that_exist_over_many_batches(store: Store) {
    // 150 days, one partition each, every other one stored: two batches of at most 100 keys.
    let days: Vec<Key> = (0..150).map(|d| Key::new(format!("T#a#CAP#alsh#centre#{d:03}"), format!("{d:03}"))).collect();
    for (n, key) in days.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
        let mut i = Item::new(key.clone());
        i.attrs.insert("taken".into(), json!(n));
        store.put(i, None).await.unwrap();
    }
    let calls = store.calls();
    let mut got = store.get_many(&days).await.unwrap();
    assert_eq!(store.calls() - calls, 2, "one call per hundred keys");
    got.sort_by(|a, b| a.key.sk.cmp(&b.key.sk));
    assert_eq!(got.len(), 75);
    assert!(got.iter().all(|i| i.attrs["taken"] == json!(i.key.sk.parse::<u64>().unwrap())));
    assert_eq!(store.get_many(&[]).await.unwrap(), vec![]);
    let twice = [days[0].clone(), days[0].clone()];
    assert!(matches!(store.get_many(&twice).await, Err(StoreError::Invalid(_))));
}

/// A cursor only goes on the query it came from: one made for another partition (a client
/// forging it, another town's) is refused, never a page of that partition. (On DynamoDB the
/// service refuses such a start key; the embedded store read from it across partitions.)
#[tokio::test]
async fn a_cursor_of_another_partition_is_refused() {
    let (store, _dir) = crate::helpers::embedded_store();
    for (town, n) in [("T#a", 3), ("T#b", 3)] {
        for i in 0..n {
            let it = item(&format!("{town}#F#f{i}"), "FAMILY")
                .with_gsi1(Key::new(format!("{town}#FAMILIES"), format!("F#f{i}")));
            store.put(it, None).await.unwrap();
        }
    }
    // A page of town a's index, and its cursor.
    let a = store.query(&Query::gsi1("T#a#FAMILIES", SkRange::All).limit(1)).await.unwrap();
    let cursor = a.next.unwrap();
    // Used on town b's index: refused, not b's families after a's key.
    let b = store.query(&Query::gsi1("T#b#FAMILIES", SkRange::All).after(Some(cursor.clone()))).await;
    assert!(matches!(b, Err(StoreError::Invalid(_))), "{b:?}");
    let t = store.query(&Query::table("T#b#F#f0", SkRange::All).after(Some(cursor))).await;
    assert!(matches!(t, Err(StoreError::Invalid(_))), "{t:?}");
    // A table page's cursor, on another partition: refused too.
    for sk in ["B#1", "B#2"] {
        store.put(item("T#a#C#lea", sk), None).await.unwrap();
    }
    let page = store.query(&Query::table("T#a#C#lea", SkRange::All).limit(1)).await.unwrap();
    let t = store.query(&Query::table("T#b#C#lea", SkRange::All).after(page.next)).await;
    assert!(matches!(t, Err(StoreError::Invalid(_))), "{t:?}");
}
