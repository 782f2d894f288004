//! The quotient familial from the CAF through API Particulier (issue 28, part 4), on every
//! backend, against the local twin of the API (the same client as the real one): Thomas Petit
//! gives his consent from « Mon compte » with his identity as the CAF knows it; the agent
//! fetches the Petits' QF (480, CNAF, November 2026), which becomes the family's quotient. The
//! Bernards' identity is not found: nothing changes and the message says their certificate's
//! quotient (540) stays; a provider down says to try again. A withdrawn consent forgets the
//! identity and stops the fetching. Guardians cannot fetch, nor touch another family.

use crate::helpers::{TOWN, assert_problem, portal_on};
use serde_json::{Value, json};
use store::Store;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

fn thomas() -> Value {
    json!({"birth_name": "Petit", "first_names": ["Thomas", "Louis"], "sex": "M", "birth_date": "1985-04-12",
           "birth_country": "99100", "birth_commune": "95500"})
}

/// The price Thomas sees for Noé's canteen on Monday 7 December.
async fn noes_canteen_price_for_thomas(p: &crate::helpers::TestPortal, thomas: &crate::helpers::Browser) -> Value {
    let uri = api("/calendar/children/noe-bernard-petit/weeks?activity=restauration&from=2026-12-07&weeks=1");
    let grid = p.get(&uri, Some(thomas)).await.json;
    let cantine = grid["weeks"][0]["rows"].as_array().and_then(|r| r.iter().find(|r| r["unit"] == "cantine")).cloned();
    cantine
        .and_then(|r| {
            r["cells"].as_array().and_then(|c| c.iter().find(|c| c["date"] == "2026-12-07")).map(|c| c["price"].clone())
        })
        .unwrap_or(Value::Null)
}

async fn the_qf_of_the_petits_is_fetched_from_the_api_twin(store: Store) {
    let p = portal_on(store).await;
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let dad = p.login(TOWN, "thomas.petit@exemple.fr", PASSWORD).await.unwrap();
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let fetch = api("/staff/families/petit/qf");
    let consent = api("/families/petit/qf/consent");

    assert_problem(&p.post(&fetch, json!({}), Some(&agent)).await, 409, "no_qf_consent");
    let mut no_commune = thomas();
    no_commune["birth_commune"] = Value::Null;
    let r = p.send("PUT", &consent, Some(no_commune), &dad, &[]).await;
    assert_problem(&r, 422, "invalid_identity");
    assert_eq!(r.json["field"], "birth_commune");
    let shown = p.get(&api("/families/petit/qf"), Some(&dad)).await;
    assert_eq!((shown.status, shown.json.get("consent")), (200, None), "nothing written: {:?}", shown.json);
    assert_eq!(p.send("PUT", &consent, Some(thomas()), &claire, &[]).await.status, 404, "not her family");

    let given = p.send("PUT", &consent, Some(thomas()), &dad, &[]).await;
    assert_eq!(given.status, 200, "{:?}", given.json);
    assert_eq!(given.json["consent"]["given_by"], "thomas.petit@exemple.fr");
    assert_eq!(given.json["consent"]["by_staff"], false);
    assert_eq!(p.post(&fetch, json!({}), Some(&dad)).await.status, 403, "staff fetch");

    assert_eq!(noes_canteen_price_for_thomas(&p, &dad).await, 380, "no QF yet: the base price");
    let fetched = p.post(&fetch, json!({}), Some(&agent)).await;
    assert_eq!(fetched.status, 200, "{:?}", fetched.json);
    assert_eq!((fetched.json["quotient_familial"].as_u64(), fetched.json["source"].as_str()), (Some(480), Some("caf")));
    assert_eq!(fetched.json["fetched"]["provider"], "CNAF");
    assert_eq!(fetched.json["fetched"]["month"], "2026-11");
    assert_eq!(fetched.json["fetched"]["fetched_at"], "2026-11-26T09:00:00Z");
    let mine = p.get(&api("/families/petit/qf"), Some(&dad)).await;
    assert_eq!((mine.json["quotient_familial"].as_u64(), mine.json["source"].as_str()), (Some(480), Some("caf")));
    assert_eq!(noes_canteen_price_for_thomas(&p, &dad).await, 100, "QF 480: the bracket up to 600");

    // The Bernards: an identity the CAF does not know; their certificate's 540 stays.
    let mut claire_id = thomas();
    claire_id["birth_name"] = json!("Bernard");
    claire_id["first_names"] = json!(["Claire"]);
    claire_id["sex"] = json!("F");
    let r = p.send("PUT", &api("/families/bernard/qf/consent"), Some(claire_id.clone()), &agent, &[]).await;
    assert_eq!((r.status, &r.json["consent"]["by_staff"]), (200, &json!(true)), "{:?}", r.json);
    let missing = p.post(&api("/staff/families/bernard/qf"), json!({}), Some(&agent)).await;
    assert_problem(&missing, 404, "qf_not_found");
    let title = missing.json["title"].as_str().unwrap();
    assert!(title.contains("reste celui de l’attestation déposée (540)"), "{title}");
    let bernard = p.get(&api("/families/bernard/qf"), Some(&claire)).await;
    assert_eq!(
        (bernard.json["quotient_familial"].as_u64(), bernard.json["source"].as_str()),
        (Some(540), Some("certificate"))
    );
    claire_id["birth_name"] = json!("Indisponible");
    p.send("PUT", &api("/families/bernard/qf/consent"), Some(claire_id), &agent, &[]).await;
    assert_problem(&p.post(&api("/staff/families/bernard/qf"), json!({}), Some(&agent)).await, 502, "qf_unavailable");

    // Thomas withdraws: the identity is forgotten, the QF fetched stays, no more fetching.
    let revoked = p.send("DELETE", &consent, None, &dad, &[]).await;
    assert_eq!(revoked.status, 200, "{:?}", revoked.json);
    assert!(revoked.json["consent"]["revoked_at"].is_string() && revoked.json["consent"].get("identity").is_none());
    assert_eq!(revoked.json["quotient_familial"], 480);
    assert_problem(&p.post(&fetch, json!({}), Some(&agent)).await, 409, "no_qf_consent");
    assert_problem(&p.send("DELETE", &consent, None, &dad, &[]).await, 409, "no_qf_consent");
    p.stop().await;
}

/// The monthly refresh: the Petits consented but nobody fetched; the daily run fetches their
/// QF (none before: a change, logged), then leaves them alone until next month.
async fn the_refresh_fetches_consenting_families_once_a_month(store: Store) {
    let p = portal_on(store).await;
    let dad = p.login(TOWN, "thomas.petit@exemple.fr", PASSWORD).await.unwrap();
    let given = p.send("PUT", &api("/families/petit/qf/consent"), Some(thomas()), &dad, &[]).await;
    assert_eq!(given.status, 200, "{:?}", given.json);
    let (url, twin) = local_portal::qf_twin::Twin.serve().await.unwrap();
    let client = services::qf::ApiParticulier::new(&url, local_portal::qf_twin::TOKEN);
    let towns = store::repo::Towns::new(p.store.clone(), std::time::Duration::from_secs(1));
    let town = towns.get(&domain::TownId::parse(TOWN).unwrap()).await.unwrap().unwrap();
    // The job runs as its Lambda, held to that function's policy.
    let job = p.store_of("QfRefreshFunction");
    let run = || staff::qf::refresh(&job, &town, &client, "http://localhost", p.clock.now());
    let first = run().await.unwrap();
    assert_eq!((first.fetched, first.changed, first.failed), (1, 1, 0), "the Petits only: {first:?}");
    // Thomas is told, once, in the same transaction as the change.
    let mails = p.deliver().await;
    let told: Vec<_> =
        mails.iter().filter(|m| m.content.subject.starts_with("Votre quotient familial a été mis à jour")).collect();
    assert_eq!(told.len(), 1, "{mails:?}");
    assert_eq!(told[0].to.as_str(), "thomas.petit@exemple.fr");
    assert!(told[0].content.text.contains("Nouveau quotient familial\u{202f}: 480"), "{}", told[0].content.text);
    let mine = p.get(&api("/families/petit/qf"), Some(&dad)).await;
    assert_eq!((mine.json["quotient_familial"].as_u64(), mine.json["source"].as_str()), (Some(480), Some("caf")));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let journal = p.get(&api("/staff/audit"), Some(&admin)).await;
    assert!(journal.json.to_string().contains("qf.refresh"), "{:?}", journal.json);
    let again = run().await.unwrap();
    assert_eq!(again.fetched, 0, "already fetched this month");
    p.clock.set("2026-12-02T09:00:00Z".parse().unwrap());
    let december = run().await.unwrap();
    assert_eq!((december.fetched, december.changed), (1, 0), "fetched again, same value: not logged");
    let told = p
        .deliver()
        .await
        .iter()
        .filter(|m| m.content.subject.starts_with("Votre quotient familial a été mis à jour"))
        .count();
    assert_eq!(told, 1, "no change, no new email");
    twin.abort();
    p.stop().await;
}

/// A staff edit landing between the refresh's read of a family and its write is not lost: the
/// run's write is conditioned on the family as read, so it reads the family again and sets the
/// CAF's quotient on what staff wrote (issue 28, the refresh's lost update).
async fn a_staff_edit_during_the_refresh_is_kept(store: Store) {
    let p = portal_on(store).await;
    let town = domain::TownId::parse(TOWN).unwrap();
    let reference = domain::FamilyRef::parse("petit").unwrap();
    // The run reads the Petits...
    let read = store::repo::get_family(&p.store, &town, &reference).await.unwrap().unwrap();
    // ...staff correct their name and residence from the family's record meanwhile...
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let uri = api("/staff/families/petit");
    let record = p.get(&uri, Some(&agent)).await.json["family"].clone();
    let guardians: Vec<serde_json::Value> = record["guardians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| json!({"email": g["email"], "first_name": g["first_name"], "last_name": g["last_name"], "phone": g["phone"]}))
        .collect();
    let body = json!({"etag": record["etag"], "name": "Famille Petit-Durand", "resident": false,
        "quotient_familial": record["quotient_familial"], "guardians": guardians});
    let edit = p.send("PUT", &uri, Some(body), &agent, &[]).await;
    assert_eq!(edit.status, 200, "{:?}", edit.json);
    // ...then the run writes what the CAF answered, as its Lambda.
    let mut rec = staff::qf::Record::default();
    rec.fetched = Some(domain::qf::Fetched {
        value: 480,
        provider: "CNAF".into(),
        month: domain::Month::parse("2026-11").unwrap(),
        fetched_at: p.clock.now(),
    });
    let job = p.store_of("QfRefreshFunction");
    let towns = store::repo::Towns::new(p.store.clone(), std::time::Duration::from_secs(1));
    let config = towns.get(&town).await.unwrap().unwrap();
    let changed =
        staff::qf::keep_refreshed(&job, (&config, "http://localhost"), read, &rec, p.clock.now()).await.unwrap();
    assert!(changed);
    let after = store::repo::get_family(&p.store, &town, &reference).await.unwrap().unwrap();
    assert_eq!(
        (after.name.as_str(), after.resident, after.quotient_familial),
        ("Famille Petit-Durand", false, Some(480)),
        "staff's edit kept, the CAF's quotient set"
    );
    p.stop().await;
}

/// Thomas asks for the Petits' QF himself from « Mon compte » (the same call as staff's); a
/// second ask the same day answers what was obtained without asking the CAF again; staff use
/// their route, another family's guardian is refused.
async fn a_guardian_fetches_the_familys_qf_from_mon_compte(store: Store) {
    let p = portal_on(store).await;
    let dad = p.login(TOWN, "thomas.petit@exemple.fr", PASSWORD).await.unwrap();
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let own = api("/families/petit/qf/fetch");
    assert_problem(&p.post(&own, json!({}), Some(&dad)).await, 409, "no_qf_consent");
    assert_eq!(p.send("PUT", &api("/families/petit/qf/consent"), Some(thomas()), &dad, &[]).await.status, 200);
    assert_eq!(p.post(&own, json!({}), Some(&claire)).await.status, 404, "not her family");
    assert_problem(&p.post(&own, json!({}), Some(&agent)).await, 403, "staff_use_staff_routes");
    assert_eq!(p.post(&own, json!({}), None).await.status, 401);

    let fetched = p.post(&own, json!({}), Some(&dad)).await;
    assert_eq!(fetched.status, 200, "{:?}", fetched.json);
    assert_eq!((fetched.json["quotient_familial"].as_u64(), fetched.json["source"].as_str()), (Some(480), Some("caf")));
    assert_eq!(noes_canteen_price_for_thomas(&p, &dad).await, 100, "QF 480: the bracket up to 600");
    p.clock.set(p.clock.now() + chrono::TimeDelta::hours(2));
    let dad = p.login(TOWN, "thomas.petit@exemple.fr", PASSWORD).await.unwrap();
    let again = p.post(&own, json!({}), Some(&dad)).await;
    assert_eq!((again.status, &again.json["fetched"]), (200, &fetched.json["fetched"]), "the morning's answer");
    let town = domain::TownId::parse(TOWN).unwrap();
    let (trail, _) = store::audit::page(&p.store, &town, 50, None).await.unwrap();
    let asks: Vec<_> = trail.iter().filter(|e| e.action == "qf.fetch" && e.target == "family/petit").collect();
    assert_eq!(asks.len(), 1, "the CAF asked once that day: {asks:?}");
    assert_eq!(asks[0].by, "thomas.petit@exemple.fr");
    p.stop().await;
}

crate::helpers::all_backends!(
    a_guardian_fetches_the_familys_qf_from_mon_compte,
    the_qf_of_the_petits_is_fetched_from_the_api_twin,
    the_refresh_fetches_consenting_families_once_a_month,
    a_staff_edit_during_the_refresh_is_kept
);
