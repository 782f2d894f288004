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
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, gate, keys};

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
    let (store, clock) = (p.store.clone(), p.clock.clone());
    let line = Line { child: c.id.clone(), unit: id(UNIT), date: wednesday(), action: ActionKind::Add };
    let a = ask(town, f, &format!("file-{}", f.reference), Mode::Guardian, f.guardians[0].email.as_str());
    tokio::spawn(async move { engine::run(&store, &clock, &a, vec![line]).await.expect("an answer") })
}

/// With the day's lease held by the test, each of `who` validates its Wednesday in turn, each
/// waiting in the queue before the next starts: the lease, and the validations running.
async fn queue_up(p: &TestPortal, who: &[(Family, Child)]) -> (Key, Vec<tokio::task::JoinHandle<Answer>>) {
    let town = town_now(&p.store).await;
    let lease = hold(&p.store, wednesday()).await;
    let mut runs = Vec::new();
    for (n, (f, c)) in who.iter().enumerate() {
        runs.push(validating(p, &town, f, c));
        until_queued(&p.store, wednesday(), n + 1).await;
    }
    (lease, runs)
}

/// Whether a round handed family `f`'s chunk back to its worker (a worker that stopped waiting
/// leaves no such mark: it withdraws its entry).
async fn handed_back(store: &Store, f: &Family) -> bool {
    let q = Query::table(
        keys::family_partition(&town_id(), &f.reference),
        SkRange::Prefix(format!("VAL#file-{}#", f.reference)),
    );
    store.query(&q).await.unwrap().items.iter().any(|i| i.key.sk.contains("#S#"))
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
    let (lease, runs) = queue_up(&p, &fams).await;
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
    let (lease, runs) = queue_up(&p, &fams).await;
    let admin = admin(&p).await;
    edit_config(&p, &admin, closing(wednesday(), "Sortie annulée")).await;
    store.delete(&lease, None).await.unwrap();
    for r in runs {
        let a = r.await.unwrap();
        assert_eq!(refusal(&a), Some("closed"), "{a:?}");
    }
    for (f, _) in &fams {
        assert!(handed_back(&store, f).await, "the round met the closure and handed {} back", f.reference);
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
    let (lease, mut runs) = queue_up(&p, &[fams[0].clone(), fams[0].clone()]).await;
    store.delete(&lease, None).await.unwrap();
    let (a, b) = (runs.remove(0).await.unwrap(), runs.remove(0).await.unwrap());
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
    let (lease, mut runs) = queue_up(&p, &fams).await;
    let (f, c) = &fams[0];
    book(&store, f, c, "alsh", CENTRE, UNIT, wednesday(), None).await;
    store.delete(&lease, None).await.unwrap();
    let (a, b) = (runs.remove(0).await.unwrap(), runs.remove(0).await.unwrap());
    assert_eq!(refusal(&a), Some("changed_meanwhile"), "{a:?}");
    assert_eq!(status(&b), Some(BookingStatus::Confirmed), "{b:?}");
    assert!(handed_back(&store, &fams[0].0).await, "the round met the booking and handed it back");
    assert!(!handed_back(&store, &fams[1].0).await, "the other family's chunk applied by the round");
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

/// What a round that turned additions into requests relies on (`gate::still_turning_away`):
/// someone still waiting, or no place freed since it read the counter. Every store refuses the
/// round's counter once a place was freed or the queue emptied, and applies it when others
/// joined the queue or took places meanwhile; with the counter's own bound, as the round sends it.
pub(super) async fn a_round_turning_families_away_is_refused_only_by_a_freed_place(store: Store) {
    let key = keys::capacity(&town_id(), &id(UNIT), &id(CENTRE), wednesday());
    let plain =
        |add: (&str, i64)| WriteOp::Counters { key: key.clone(), add: vec![(add.0.to_owned(), add.1)], cond: None };
    let turned_away = |read: gate::Read| WriteOp::Counters {
        key: key.clone(),
        add: vec![("waiting".to_owned(), 1)],
        cond: Some(Cond::All(vec![
            Cond::AtMost { name: "taken".into(), value: 5 },
            gate::still_turning_away(read).expect("a condition"),
        ])),
    };
    let refused = |r: Result<(), StoreError>| matches!(r, Err(StoreError::TransactionCanceled { .. }));
    store.transact(vec![plain(("taken", 2))]).await.unwrap();
    // Read full (2 taken); someone else takes a place meanwhile: still turned away.
    store.transact(vec![plain(("taken", 1))]).await.unwrap();
    store.transact(vec![turned_away(Some((Some(2), None)))]).await.unwrap();
    // Read with someone waiting; another joins: still turned away. The queue emptied: refused.
    store.transact(vec![turned_away(Some((Some(3), Some(1))))]).await.unwrap();
    store.transact(vec![plain(("waiting", -2))]).await.unwrap();
    assert!(refused(store.transact(vec![turned_away(Some((Some(3), Some(2))))]).await), "the queue emptied");
    // Read full (3 taken); a place freed meanwhile: refused.
    store.transact(vec![plain(("taken", -1))]).await.unwrap();
    assert!(refused(store.transact(vec![turned_away(Some((Some(3), Some(0))))]).await), "a place freed");
    let item = store.get(&key).await.unwrap().unwrap();
    assert_eq!((item.attrs["taken"].as_i64(), item.attrs["waiting"].as_i64()), (Some(2), Some(0)));
}

crate::helpers::all_backends!(
    a_round_turning_families_away_is_refused_only_by_a_freed_place,
    families_waiting_in_a_days_queue_are_served_in_order_of_arrival,
    a_closure_saved_while_families_wait_in_the_queue_turns_them_away,
    a_validation_submitted_twice_while_queued_is_applied_once,
    a_booking_changed_while_its_chunk_waits_is_handed_back_and_the_others_applied,
    a_day_whose_holder_died_is_taken_over_once_its_lease_expired,
);
