//! The orders the store decides: a closure against validations in flight, a freed place against
//! a newcomer. Each ordering is played once in sequence (the store's order made explicit) and
//! once racing (`tokio::spawn`), and the same invariant is checked after everything settled:
//! no booking holds a place on a closed day, each day's counter equals the bookings holding a
//! place and the requests waiting, nobody overtakes an earlier waiting request, and no newcomer
//! on a unit with a waiting list is refused `full`. Never a sleep: the store orders the steps.

use crate::helpers::{Browser, TOWN, TestPortal, portal_on};
use crate::operations::{admin, book, booking, d, edit_config, families, id, town_id};
use basket::check::{Line, Mode};
use basket::engine::{self, Answer, Ask, LineOutcome, Recipient};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::booking::{Actor, Booking, BookingStatus, ChangedBy};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::{Child, Email, Family};
use serde_json::{Value, json};
use std::sync::Arc;
use store::repo::{self, Towns};
use store::{Store, WriteOp, keys};

const SCHOOL: &str = "ecole-jules-ferry";
const CENTRE: &str = "centre-les-tilleuls";

/// The town as a request that read it before the closure holds it (a Lambda's cached copy,
/// or a validation planned a moment before the administrator saved).
pub(super) async fn town_now(store: &Store) -> Arc<Town> {
    Towns::new(store.clone(), std::time::Duration::ZERO).get(&town_id()).await.unwrap().unwrap()
}

pub(super) fn ask(town: &Arc<Town>, family: &Family, key: &str, mode: Mode, by: &str) -> Ask {
    let g = &family.guardians[0];
    Ask {
        town: town.clone(),
        family: family.clone(),
        by: Email::parse(by).unwrap(),
        mode,
        key: key.to_owned(),
        fingerprint: format!("fingerprint-of-{key}"),
        apply_valid: false,
        notify: vec![Recipient { email: g.email.clone(), first_name: g.first_name.clone() }],
        basket: None,
        public_url: "http://portail.test".into(),
    }
}

/// A guardian's validation of one line, planned with `town`.
pub(super) async fn validate(
    p: &TestPortal,
    town: &Arc<Town>,
    f: &Family,
    c: &Child,
    unit: &str,
    date: NaiveDate,
) -> Answer {
    let key = format!("ordre-{}-{unit}-{date}", f.reference);
    let by = f.guardians[0].email.to_string();
    let line = Line { child: c.id.clone(), unit: id(unit), date, action: ActionKind::Add };
    engine::run(&p.store, &p.clock, &ask(town, f, &key, Mode::Guardian, &by), vec![line]).await.expect("an answer")
}

/// The closure as the administrator saves it: the configuration's new closed day.
pub(super) fn closing(date: NaiveDate, reason: &str) -> impl FnOnce(&mut Value) {
    let closure = json!({"date": date, "reason": reason});
    move |c: &mut Value| c["closures"].as_array_mut().unwrap().push(closure)
}

/// The scheduled sweep, as the `operations` Lambda runs it.
pub(super) async fn sweep(p: &TestPortal) {
    let towns = Towns::new(p.store.clone(), std::time::Duration::ZERO);
    let operations = p.store_of("OperationsFunction");
    let ctx = services::operations::Ctx { store: &operations, public_url: "http://portail.test" };
    services::operations::sweep(ctx, &towns, p.clock.now()).await.unwrap();
}

/// A unit's day once everything settled: its bookings, and the invariant checked — the
/// counter's `taken` equals the bookings holding a place, its `waiting` the requests waiting,
/// and on a closed day nothing holds a place.
pub(super) async fn settled(store: &Store, unit: &str, site: &str, date: NaiveDate, closed: bool) -> Vec<Booking> {
    let day: Vec<Booking> = repo::bookings_on(store, &town_id(), date)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.unit.as_str() == unit && b.site.as_str() == site)
        .collect();
    let counter = store.get(&keys::capacity(&town_id(), &id(unit), &id(site), date)).await.unwrap();
    let attr = |n: &str| counter.as_ref().and_then(|i| i.attrs.get(n)).and_then(Value::as_i64).unwrap_or(0);
    let holding = day.iter().filter(|b| b.holds_place()).count() as i64;
    let waiting = day.iter().filter(|b| b.is_waiting()).count() as i64;
    assert_eq!(attr("taken"), holding, "{unit} {date}: the counter equals the bookings holding a place");
    assert_eq!(attr("waiting"), waiting, "{unit} {date}: the counter's queue equals the waiting requests");
    if closed {
        let live: Vec<_> = day.iter().filter(|b| b.holds_place()).map(|b| b.child.to_string()).collect();
        assert!(live.is_empty(), "{unit} {date} is closed, yet booked for {live:?}");
    }
    day
}

/// The line's refusal code, if refused.
pub(super) fn refusal(a: &Answer) -> Option<&str> {
    a.lines[0].error.as_ref().map(|e| e.code.as_str())
}

/// Monday 15 March 2027: a school day, bookable on the test clock (26 November 2026), with no
/// demo booking.
fn monday() -> NaiveDate {
    d("2027-03-15")
}

/// The closure is saved first; a validation planned on the town as it was before (in flight,
/// or on a cached configuration) reaches the store after it: refused, « Ce jour est fermé ».
pub(super) async fn a_validation_reaching_the_store_after_the_closure_is_refused(store: Store) {
    let p = portal_on(store.clone()).await;
    let fams = families(&store, "apres", 1, &[("restauration", SCHOOL)]).await;
    let before = town_now(&store).await;
    let admin = admin(&p).await;
    edit_config(&p, &admin, closing(monday(), "Grève du 15/03")).await;

    let (f, c) = &fams[0];
    let answer = validate(&p, &before, f, c, "cantine", monday()).await;
    assert_eq!(refusal(&answer), Some("closed"), "{answer:?}");
    let message = &answer.lines[0].error.as_ref().unwrap().message;
    assert!(message.starts_with("Ce jour est fermé\u{202f}: Grève du 15/03"), "{message}");
    assert_eq!(answer.applied, 0);
    sweep(&p).await;
    settled(&store, "cantine", SCHOOL, monday(), true).await;
    p.stop().await;
}

/// The validation lands first: the closure, saved after, cancels it (never billed).
pub(super) async fn a_validation_landing_before_the_closure_is_cancelled_by_it(store: Store) {
    let p = portal_on(store.clone()).await;
    let fams = families(&store, "avant", 1, &[("restauration", SCHOOL)]).await;
    let town = town_now(&store).await;
    let (f, c) = &fams[0];
    let answer = validate(&p, &town, f, c, "cantine", monday()).await;
    assert_eq!(answer.lines[0].result, LineOutcome::Applied, "{answer:?}");
    let admin = admin(&p).await;
    edit_config(&p, &admin, closing(monday(), "Grève du 15/03")).await;
    let b = booking(&store, c, "cantine", monday()).await;
    assert_eq!((b.status, b.cancelled_by_town.as_deref()), (BookingStatus::Cancelled, Some("Grève du 15/03")));
    settled(&store, "cantine", SCHOOL, monday(), true).await;
    p.stop().await;
}

/// The testers' round: thirty families validating the canteen of one Monday while the
/// administrator closes it. Each booking lands before the closure and is cancelled by it, or
/// reaches the store after it and is refused; none survives on the closed day.
pub(super) async fn thirty_families_validating_while_the_day_closes_leave_nothing_on_it(store: Store) {
    let p = portal_on(store.clone()).await;
    let fams = families(&store, "course", 30, &[("restauration", SCHOOL)]).await;
    let before = town_now(&store).await;
    let admin = admin(&p).await;
    let uri = format!("/api/towns/{TOWN}/staff/config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    closing(monday(), "Grève du 15/03")(&mut config);
    let body = json!({"version": view["version"], "config": config}).to_string().into_bytes();

    let mut runs = Vec::new();
    let mut closure = None;
    for (i, (f, c)) in fams.iter().enumerate() {
        let (p_store, clock, town) = (p.store.clone(), p.clock.clone(), before.clone());
        let key = format!("course-{}-0001", f.reference);
        let a = ask(&town, f, &key, Mode::Guardian, f.guardians[0].email.as_str());
        let line = Line { child: c.id.clone(), unit: id("cantine"), date: monday(), action: ActionKind::Add };
        runs.push(tokio::spawn(async move { engine::run(&p_store, &clock, &a, vec![line]).await }));
        if i == 10 {
            let (router, admin, uri, body) = (p.router.clone(), admin.clone(), uri.clone(), body.clone());
            closure = Some(tokio::spawn(async move { put_config(&router, &admin, &uri, body).await }));
        }
    }
    let answers: Vec<Answer> =
        futures::future::join_all(runs).await.into_iter().map(|r| r.unwrap().expect("an answer")).collect();
    let saved = closure.unwrap().await.unwrap();
    assert_eq!(saved.status, 200, "{:?}", saved.json);
    assert_eq!(answers.len(), 30);
    sweep(&p).await;
    let day = settled(&store, "cantine", SCHOOL, monday(), true).await;
    let (mut landed, mut refused) = (0, 0);
    for a in &answers {
        match refusal(a) {
            None => landed += 1,
            Some("closed") => refused += 1,
            Some(other) => panic!("refused as {other}: {a:?}"),
        }
    }
    let ours = |b: &&Booking| b.family.as_str().starts_with("course");
    let cancelled = day.iter().filter(ours).filter(|b| b.cancelled_by_town.is_some()).count();
    assert_eq!(cancelled, landed, "every booking that landed was cancelled by the closure");
    assert_eq!(landed + refused, 30);
    p.stop().await;
}

async fn put_config(router: &axum::Router, admin: &Browser, uri: &str, body: Vec<u8>) -> crate::helpers::Reply {
    let hs = [
        ("cookie", admin.cookie.as_str()),
        ("x-csrf-token", admin.csrf.as_str()),
        ("content-type", "application/json"),
    ];
    crate::helpers::call(router, "PUT", uri, &hs, Some(body)).await
}

/// Wednesday 17 March 2027 at the leisure centre (no demo booking that day).
pub(super) fn wednesday() -> NaiveDate {
    d("2027-03-17")
}

/// The Wednesday unit made `capacity` places with a waiting list.
pub(super) async fn with_waiting_list(p: &TestPortal, capacity: u32) {
    let admin = admin(p).await;
    edit_config(p, &admin, |c| {
        for a in c["activities"].as_array_mut().unwrap() {
            for u in a["units"].as_array_mut().unwrap() {
                if u["id"] == "alsh-mercredi" {
                    u["capacity"] = json!(capacity);
                    u["waiting_list"] = json!(true);
                }
            }
        }
    })
    .await;
}

/// When the `i`-th waiting request joined the list (before the test's newcomers).
fn queued(i: usize) -> DateTime<Utc> {
    "2026-11-21T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(i as i64)
}

/// A place is freed (its transaction committed) and, before the waiting list moves, a newcomer
/// validates: the newcomer joins the queue behind the earlier request, which gets the place.
pub(super) async fn a_newcomer_after_a_freed_place_queues_behind_the_waiting_request(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 3).await;
    let booked = families(&store, "place", 3, &[("alsh", CENTRE)]).await;
    let waiting = families(&store, "attend", 1, &[("alsh", CENTRE)]).await;
    let newcomer = families(&store, "nouveau", 1, &[("alsh", CENTRE)]).await;
    for (f, c) in &booked {
        book(&store, f, c, "alsh", CENTRE, "alsh-mercredi", wednesday(), None).await;
    }
    book(&store, &waiting[0].0, &waiting[0].1, "alsh", CENTRE, "alsh-mercredi", wednesday(), Some(queued(0))).await;
    let town = town_now(&store).await;

    // The cancellation's request dies right after its transaction: its promotion job is left
    // for the sweep, the place is free.
    let cancelled = staff_cancel_without_promotion(&p, &booked[0].0, &booked[0].1).await;
    assert_eq!(cancelled.status, BookingStatus::Cancelled);

    let (f, c) = &newcomer[0];
    let answer = validate(&p, &town, f, c, "alsh-mercredi", wednesday()).await;
    assert_eq!(answer.lines[0].result, LineOutcome::Applied, "{answer:?}");
    assert_eq!(answer.lines[0].status, Some(BookingStatus::Pending), "the newcomer joins the queue: {answer:?}");
    sweep(&p).await;
    let first = booking(&store, &waiting[0].1, "alsh-mercredi", wednesday()).await;
    assert_eq!(first.status, BookingStatus::Confirmed, "the earlier request gets the freed place");
    assert!(booking(&store, c, "alsh-mercredi", wednesday()).await.is_waiting(), "the newcomer waits");
    settled(&store, "alsh-mercredi", CENTRE, wednesday(), false).await;
    p.stop().await;
}

/// What a staff cancellation writes in its transaction (the booking, the freed place, the
/// waiting list's job), left there as if its request died before running the job.
async fn staff_cancel_without_promotion(p: &TestPortal, f: &Family, c: &Child) -> Booking {
    let town = town_now(&p.store).await;
    let before = booking(&p.store, c, "alsh-mercredi", wednesday()).await;
    let now = p.clock.now();
    let actor = Actor { by: "mairie@villeneuve-les-tilleuls.fr", role: ChangedBy::Staff, at: now };
    let after = before.cancel(BookingStatus::Cancelled, false, actor);
    let (unit, site) = (id("alsh-mercredi"), id(CENTRE));
    let ops = vec![
        repo::booking_write(&town_id(), &after, Some(before.version)).unwrap(),
        WriteOp::Add {
            key: keys::capacity(&town_id(), &unit, &site, wednesday()),
            attr: "taken".into(),
            by: -1,
            max: None,
        },
        services::operations::promote_op(&town, &unit, &site, wednesday(), now).expect("a waiting list"),
    ];
    p.store.transact(ops).await.unwrap();
    assert_eq!(f.reference, after.family);
    after
}

/// Sixty newcomers on a unit of ten places with a waiting list, at once: ten get a place, the
/// fifty others a place in the queue; nobody is refused `full`.
pub(super) async fn sixty_newcomers_on_a_unit_with_a_waiting_list_are_never_refused_full(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 10).await;
    let fams = families(&store, "soixante", 60, &[("alsh", CENTRE)]).await;
    let town = town_now(&store).await;
    let runs = fams.iter().map(|(f, c)| {
        let (s, clock, town) = (p.store.clone(), p.clock.clone(), town.clone());
        let a = ask(&town, f, &format!("soixante-{}-01", f.reference), Mode::Guardian, f.guardians[0].email.as_str());
        let line = Line { child: c.id.clone(), unit: id("alsh-mercredi"), date: wednesday(), action: ActionKind::Add };
        tokio::spawn(async move { engine::run(&s, &clock, &a, vec![line]).await })
    });
    let answers: Vec<Answer> =
        futures::future::join_all(runs).await.into_iter().map(|r| r.unwrap().expect("an answer")).collect();
    let refused: Vec<_> = answers.iter().filter_map(refusal).collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    sweep(&p).await;
    let day = settled(&store, "alsh-mercredi", CENTRE, wednesday(), false).await;
    assert_eq!(day.iter().filter(|b| b.status == BookingStatus::Confirmed).count(), 10);
    assert_eq!(day.iter().filter(|b| b.is_waiting()).count(), 50);
    p.stop().await;
}

/// Ten booked, ten waiting; five cancellations race ten newcomers. The five freed places go to
/// the first five to have queued; every newcomer waits behind the others.
pub(super) async fn cancellations_racing_newcomers_give_the_places_to_the_earliest_requests(store: Store) {
    let p = portal_on(store.clone()).await;
    with_waiting_list(&p, 10).await;
    let booked = families(&store, "tenu", 10, &[("alsh", CENTRE)]).await;
    let waiting = families(&store, "file", 10, &[("alsh", CENTRE)]).await;
    let newcomers = families(&store, "arrive", 10, &[("alsh", CENTRE)]).await;
    for (f, c) in &booked {
        book(&store, f, c, "alsh", CENTRE, "alsh-mercredi", wednesday(), None).await;
    }
    // They joined in the reverse of their references' order.
    for (i, (f, c)) in waiting.iter().rev().enumerate() {
        book(&store, f, c, "alsh", CENTRE, "alsh-mercredi", wednesday(), Some(queued(i))).await;
    }
    let town = town_now(&store).await;
    let mut runs = Vec::new();
    for i in 0..10 {
        let (s, clock, town) = (p.store.clone(), p.clock.clone(), town.clone());
        let (f, c) = newcomers[i].clone();
        let a = ask(&town, &f, &format!("arrive-{}-01", f.reference), Mode::Guardian, f.guardians[0].email.as_str());
        let line = Line { child: c.id.clone(), unit: id("alsh-mercredi"), date: wednesday(), action: ActionKind::Add };
        runs.push(tokio::spawn(async move { engine::run(&s, &clock, &a, vec![line]).await }));
        if i < 5 {
            let (s, clock, town) = (p.store.clone(), p.clock.clone(), town.clone());
            let (f, c) = booked[i].clone();
            let a =
                ask(&town, &f, &format!("annule-{}-01", f.reference), Mode::Staff, "mairie@villeneuve-les-tilleuls.fr");
            let line =
                Line { child: c.id.clone(), unit: id("alsh-mercredi"), date: wednesday(), action: ActionKind::Cancel };
            runs.push(tokio::spawn(async move { engine::run(&s, &clock, &a, vec![line]).await }));
        }
    }
    for r in futures::future::join_all(runs).await {
        let a = r.unwrap().expect("an answer");
        assert_eq!(refusal(&a), None, "{a:?}");
    }
    sweep(&p).await;
    settled(&store, "alsh-mercredi", CENTRE, wednesday(), false).await;
    // The first five to arrive are the last five references.
    for (i, (f, c)) in waiting.iter().enumerate() {
        let b = booking(&store, c, "alsh-mercredi", wednesday()).await;
        assert_eq!(b.status == BookingStatus::Confirmed, i >= 5, "{} ({:?})", f.reference, b.status);
    }
    for (f, c) in &newcomers {
        assert!(booking(&store, c, "alsh-mercredi", wednesday()).await.is_waiting(), "{} waits", f.reference);
    }
    p.stop().await;
}

crate::helpers::both_backends!(
    a_validation_reaching_the_store_after_the_closure_is_refused,
    a_validation_landing_before_the_closure_is_cancelled_by_it,
    thirty_families_validating_while_the_day_closes_leave_nothing_on_it,
    a_newcomer_after_a_freed_place_queues_behind_the_waiting_request,
    sixty_newcomers_on_a_unit_with_a_waiting_list_are_never_refused_full,
    cancellations_racing_newcomers_give_the_places_to_the_earliest_requests,
);
