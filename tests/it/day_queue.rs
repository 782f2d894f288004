//! A busy day's queue (functions/basket/src/engine/queue.rs): a guardian's additions to a day
//! of a unit with places and a waiting list wait on the day, in order of arrival, and whoever
//! holds the day's lease applies them together. Each ordering is made explicit by the store:
//! the test holds the day's lease, so that the chunks wait in the queue; it waits until they
//! are there (a condition, not a time), plays the event in between, then frees the lease, and
//! a waiting worker takes it. The invariants are the orderings' own (`settled`): each counter
//! equals its bookings, nothing holds a place on a closed day, and first come, first served.

use crate::helpers::{TestPortal, portal_on};
use crate::operations::{admin, book, booking, edit_config, families, id, town_id};
use crate::orderings::{ask, closing, refusal, settled, sweep, town_now, validate, wednesday, with_waiting_list};
use basket::check::{Line, Mode};
use basket::engine::{self, Answer, LineOutcome};
use chrono::{NaiveDate, Utc};
use domain::booking::BookingStatus;
use domain::cells::ActionKind;
use domain::family::{Child, Family};
use store::{Item, Key, Query, SkRange, Store, StoreError, WriteOp, gate, keys};

const CENTRE: &str = "centre-les-tilleuls";
const UNIT: &str = "alsh-mercredi";

/// Holds `date`'s lease as a worker would, for as long as the test needs.
async fn hold(store: &Store, date: NaiveDate) -> Key {
    let lease = engine::day_lease(&town_id(), date);
    let mut item = Item::new(lease.clone()).with_ttl(Utc::now().timestamp() + 3600);
    item.attrs.insert("nonce".into(), "the test".into());
    store.put(item, None).await.unwrap();
    lease
}

/// The chunks waiting in `date`'s queue.
async fn queued(store: &Store, date: NaiveDate) -> usize {
    let q = Query::table(keys::day_queue(&town_id(), date), SkRange::Prefix(keys::DAY_QUEUE_PREFIX.into()));
    store.query(&q).await.unwrap().items.len()
}

/// Waits until `n` chunks wait in `date`'s queue.
async fn until_queued(store: &Store, date: NaiveDate, n: usize) {
    for _ in 0..100_000 {
        if queued(store, date).await == n {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("{n} chunks never waited in the queue");
}

/// Family `f`'s validation of `c`'s Wednesday, running (its answer awaited later).
fn validating(
    p: &TestPortal,
    town: &std::sync::Arc<domain::config::Town>,
    f: &Family,
    c: &Child,
) -> tokio::task::JoinHandle<Answer> {
    let (store, clock, town, f, c) = (p.store.clone(), p.clock.clone(), town.clone(), f.clone(), c.clone());
    tokio::spawn(async move { validate_one(&store, &clock, &town, &f, &c, &format!("file-{}", f.reference)).await })
}

async fn validate_one(
    store: &Store,
    clock: &edge::clock::Clock,
    town: &std::sync::Arc<domain::config::Town>,
    f: &Family,
    c: &Child,
    key: &str,
) -> Answer {
    let line = Line { child: c.id.clone(), unit: id(UNIT), date: wednesday(), action: ActionKind::Add };
    let a = ask(town, f, key, Mode::Guardian, f.guardians[0].email.as_str());
    engine::run(store, clock, &a, vec![line]).await.expect("an answer")
}

fn status(a: &Answer) -> Option<BookingStatus> {
    (a.lines[0].result == LineOutcome::Applied).then_some(a.lines[0].status).flatten()
}

/// Three families queue on a day with two places left; the lease freed, they are served in
/// the order they arrived: the first two placed, the third on the waiting list.
pub(super) async fn families_waiting_in_a_days_queue_are_served_in_order_of_arrival(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 2).await;
    let fams = families(&store, "file", 3, &[("alsh", CENTRE)]).await;
    let town = town_now(&store).await;
    let lease = hold(&store, wednesday()).await;
    let mut runs = Vec::new();
    for (n, (f, c)) in fams.iter().enumerate() {
        runs.push(validating(&p, &town, f, c));
        until_queued(&store, wednesday(), n + 1).await;
    }
    store.delete(&lease, None).await.unwrap();
    let mut answers = Vec::new();
    for r in runs {
        answers.push(r.await.unwrap());
    }
    let got: Vec<_> = answers.iter().map(status).collect();
    let expected = [Some(BookingStatus::Confirmed), Some(BookingStatus::Confirmed), Some(BookingStatus::Pending)];
    assert_eq!(got, expected, "{answers:?}");
    assert!(booking(&store, &fams[2].1, UNIT, wednesday()).await.is_waiting());
    assert_eq!(queued(&store, wednesday()).await, 0, "the queue is empty");
    settled(&store, UNIT, CENTRE, wednesday(), false).await;
    p.stop().await;
}

/// The day closes while two families wait in its queue: the round's transaction meets the
/// closure's mark, both chunks are handed back, and each validation is told the day closed.
pub(super) async fn a_closure_saved_while_families_wait_in_the_queue_turns_them_away(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 5).await;
    let fams = families(&store, "ferme", 2, &[("alsh", CENTRE)]).await;
    let town = town_now(&store).await;
    let lease = hold(&store, wednesday()).await;
    let mut runs = Vec::new();
    for (n, (f, c)) in fams.iter().enumerate() {
        runs.push(validating(&p, &town, f, c));
        until_queued(&store, wednesday(), n + 1).await;
    }
    let admin = admin(&p).await;
    edit_config(&p, &admin, closing(wednesday(), "Sortie annulée")).await;
    store.delete(&lease, None).await.unwrap();
    for r in runs {
        let a = r.await.unwrap();
        assert_eq!(refusal(&a), Some("closed"), "{a:?}");
    }
    sweep(&p).await;
    settled(&store, UNIT, CENTRE, wednesday(), true).await;
    p.stop().await;
}

/// The same validation submitted twice (a client retrying) while its chunk waits: both
/// workers queue it, the chunk is applied once, and both get the same answer.
pub(super) async fn a_validation_submitted_twice_while_queued_is_applied_once(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 5).await;
    let fams = families(&store, "deux", 1, &[("alsh", CENTRE)]).await;
    let town = town_now(&store).await;
    let (f, c) = fams[0].clone();
    let lease = hold(&store, wednesday()).await;
    let first = validating(&p, &town, &f, &c);
    until_queued(&store, wednesday(), 1).await;
    let second = validating(&p, &town, &f, &c);
    until_queued(&store, wednesday(), 2).await;
    store.delete(&lease, None).await.unwrap();
    let (a, b) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(status(&a), Some(BookingStatus::Confirmed), "{a:?}");
    assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap(), "the same answer");
    let day = settled(&store, UNIT, CENTRE, wednesday(), false).await;
    assert_eq!(day.iter().filter(|b| b.holds_place()).count(), 1, "one place taken");
    p.stop().await;
}

/// A family's day is booked elsewhere while its chunk waits (staff, another device): the
/// round meets the booking's changed version, hands that chunk back, and applies the others;
/// the family is told the day changed meanwhile.
pub(super) async fn a_booking_changed_while_its_chunk_waits_is_handed_back_and_the_others_applied(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 5).await;
    let fams = families(&store, "change", 2, &[("alsh", CENTRE)]).await;
    let town = town_now(&store).await;
    let lease = hold(&store, wednesday()).await;
    let mut runs = Vec::new();
    for (n, (f, c)) in fams.iter().enumerate() {
        runs.push(validating(&p, &town, f, c));
        until_queued(&store, wednesday(), n + 1).await;
    }
    let (f, c) = &fams[0];
    book(&store, f, c, "alsh", CENTRE, UNIT, wednesday(), None).await;
    store.delete(&lease, None).await.unwrap();
    let (a, b) = (runs.remove(0).await.unwrap(), runs.remove(0).await.unwrap());
    assert_eq!(refusal(&a), Some("changed_meanwhile"), "{a:?}");
    assert_eq!(status(&b), Some(BookingStatus::Confirmed), "{b:?}");
    settled(&store, UNIT, CENTRE, wednesday(), false).await;
    p.stop().await;
}

/// A holder died with the day's lease: once the lease has expired (its record still there, as
/// DynamoDB's TTL deletion lags), the next family's worker takes the day and is served.
pub(super) async fn a_day_whose_holder_died_is_taken_over_once_its_lease_expired(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 5).await;
    let fams = families(&store, "reprise", 1, &[("alsh", CENTRE)]).await;
    let lease = engine::day_lease(&town_id(), wednesday());
    let mut item = Item::new(lease).with_ttl(Utc::now().timestamp() - 1);
    item.attrs.insert("nonce".into(), "a holder that died".into());
    store.put(item, None).await.unwrap();
    let town = town_now(&store).await;
    let (f, c) = &fams[0];
    let a = validate(&p, &town, f, c, UNIT, wednesday()).await;
    assert_eq!(status(&a), Some(BookingStatus::Confirmed), "{a:?}");
    assert_eq!(queued(&store, wednesday()).await, 0);
    settled(&store, UNIT, CENTRE, wednesday(), false).await;
    p.stop().await;
}

/// What a round that turned additions into requests relies on: the counter as it read it.
/// Every store refuses the round's counter once a place was freed (or the counter appeared),
/// and applies it when the counter is as read, absent attributes included.
pub(super) async fn a_counter_as_read_holds_only_while_it_is_unchanged(store: Store) {
    let key = keys::capacity(&town_id(), &id(UNIT), &id(CENTRE), wednesday());
    let counters = |add: (&str, i64), read: gate::Read| WriteOp::Counters {
        key: key.clone(),
        add: vec![(add.0.to_owned(), add.1)],
        cond: Some(gate::as_read(read)),
    };
    let refused = |r: Result<(), StoreError>| matches!(r, Err(StoreError::TransactionCanceled { .. }));
    store.transact(vec![counters(("taken", 1), None)]).await.unwrap();
    assert!(refused(store.transact(vec![counters(("waiting", 1), None)]).await), "no longer absent");
    store.transact(vec![counters(("taken", -1), Some((Some(1), None)))]).await.unwrap();
    assert!(refused(store.transact(vec![counters(("waiting", 1), Some((Some(1), None)))]).await), "a place freed");
    store.transact(vec![counters(("waiting", 1), Some((Some(0), None)))]).await.unwrap();
    let item = store.get(&key).await.unwrap().unwrap();
    assert_eq!((item.attrs["taken"].as_i64(), item.attrs["waiting"].as_i64()), (Some(0), Some(1)));
}

crate::helpers::all_backends!(
    a_counter_as_read_holds_only_while_it_is_unchanged,
    families_waiting_in_a_days_queue_are_served_in_order_of_arrival,
    a_closure_saved_while_families_wait_in_the_queue_turns_them_away,
    a_validation_submitted_twice_while_queued_is_applied_once,
    a_booking_changed_while_its_chunk_waits_is_handed_back_and_the_others_applied,
    a_day_whose_holder_died_is_taken_over_once_its_lease_expired,
);
