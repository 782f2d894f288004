//! A family erased with its whole accounting history (invoices, credit notes, payments, a
//! mandate and its debit), among families whose names and messages look like its own: the
//! export and the erasure take the family's own entries only, every staff page and export still
//! answers afterwards, nothing keeps its email (store or bucket), and a corrupt stored item is
//! skipped by the lists rather than breaking them.

use crate::helpers::{Browser, TOWN, TestPortal, portal};
use domain::TownId;
use serde_json::{Value, json};
use store::{Item, Key, keys, repo};

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

fn town_id() -> TownId {
    TownId::parse(TOWN).unwrap()
}

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

async fn login(p: &TestPortal, email: &str) -> Browser {
    p.login(TOWN, email, PASSWORD).await.unwrap_or_else(|r| panic!("{email}: {:?}", r.json))
}

/// An unrelated household whose guardian is « Paul Martin », with a mandate.
async fn paul_martin(p: &TestPortal, agent: &Browser) {
    let family: domain::family::Family = serde_json::from_value(json!({
        "reference": "famille-paul", "name": "Famille Martin (Paul)", "resident": true, "quotient_familial": 700,
        "guardians": [{"first_name": "Paul", "last_name": "Martin", "email": "paul.martin@exemple.fr"}],
        "children": []
    }))
    .unwrap();
    repo::put_family(&p.store, &town_id(), &family).await.unwrap();
    let mandate = json!({"rum": "VLT-2026-0099", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "BDFEFRPP",
                         "holder": "Paul Martin", "signed_on": "2026-11-02"});
    let put = p.send("PUT", &api("/staff/invoices/families/famille-paul/mandate"), Some(mandate), agent, &[]).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
}

/// The Martins' October: a contest answered with a credit note, the administrator's own credit
/// note, a counter payment, a mandate and the debit of what is left; the Bernards' contest
/// mentions Léa.
async fn a_martin_year(p: &TestPortal, sophie: &Browser, claire: &Browser, agent: &Browser, admin: &Browser) {
    let martin = api("/families/martin/invoices/2026-10/contests");
    let r = p.post(&martin, json!({"line": 0, "message": "Léa était malade le 2."}), Some(sophie)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let bernard = api("/families/bernard/invoices/2026-10/contests");
    let r = p.post(&bernard, json!({"line": 0, "message": "Noé était malade, comme Léa."}), Some(claire)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let queue = p.get(&api("/staff/invoices/contests"), Some(agent)).await;
    for c in queue.json.as_array().unwrap() {
        let (family, id) = (c["family"].as_str().unwrap(), c["id"].as_str().unwrap());
        let uri = api(&format!("/staff/invoices/contests/{family}/{id}/decision"));
        let reason = format!("Certificat reçu (même cas que Léa) pour {family}.");
        let r = p.post(&uri, json!({"accept": true, "amount": 100, "reason": reason}), Some(agent)).await;
        assert_eq!(r.status, 200, "{:?}", r.json);
    }
    let credit = api("/staff/invoices/families/martin/2026-10/credit-notes");
    let r = p.post(&credit, json!({"reason": "Geste", "lines": [{"amount": 100}]}), Some(admin)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let desk = api("/staff/invoices/families/martin/2026-10/payments");
    let r = p.post(&desk, json!({"method": "cash", "amount": 200}), Some(agent)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let mandate = json!({"rum": "VLT-2026-0007", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "BDFEFRPP",
                         "holder": "Sophie Martin", "signed_on": "2026-11-20"});
    let put = p.send("PUT", &api("/staff/invoices/families/martin/mandate"), Some(mandate), agent, &[]).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    let run = p.post(&api("/staff/invoices/runs/2026-10/debits"), json!({}), Some(admin)).await;
    assert_eq!(run.status, 200, "{:?}", run.json);
    assert!(run.json["debited"].as_u64().unwrap() >= 1, "{:?}", run.json);
}

/// Every staff page and export (the document's GET operations under `/staff/`, with the
/// formats and months they take), and the anonymised family's own pages as staff read them:
/// the statuses that are 5xx.
async fn broken_pages(p: &TestPortal, admin: &Browser, family: &str, receipts: &[String]) -> Vec<String> {
    let mut uris: Vec<String> = crate::openapi::operations(towns::OPENAPI)
        .into_iter()
        .filter(|(m, path)| m == "GET" && path.contains("/staff/"))
        .map(|(_, path)| crate::helpers::concrete_path(&path, TOWN, family).replace("{month}", "2026-10"))
        .collect();
    for extra in [
        "/staff/invoices?month=2026-10",
        "/staff/invoices/unpaid?format=csv",
        "/staff/invoices/preview?month=2026-11",
        "/staff/attendance?date=2026-10-01&format=csv",
        "/staff/audit?limit=200",
    ] {
        uris.push(api(extra));
    }
    for path in [
        format!("/families/{family}/invoices"),
        format!("/families/{family}/invoices/2026-10"),
        format!("/families/{family}/invoices/2026-10/pdf"),
    ] {
        uris.push(api(&path));
    }
    for number in receipts {
        uris.push(api(&format!("/families/{family}/payments/{number}/pdf")));
    }
    let mut broken = Vec::new();
    for uri in uris {
        let r = p.get(&uri, Some(admin)).await;
        assert_ne!(r.status, 401, "{uri}: the session is open");
        if r.status >= 500 {
            broken.push(format!("GET {uri}: {} {}", r.status, r.json));
        }
    }
    broken
}

#[tokio::test]
async fn an_erased_family_leaves_every_staff_page_working_and_nothing_of_its_own_but_its_accounts() {
    let p = portal().await;
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    let claire = login(&p, "claire.bernard@exemple.fr").await;
    let agent = login(&p, "agent@villeneuve-les-tilleuls.fr").await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    paul_martin(&p, &agent).await;
    a_martin_year(&p, &sophie, &claire, &agent, &admin).await;

    // The export holds the Martins' own entries, none of the Bernards' nor Paul Martin's.
    let export = p.get(&api("/families/martin/export"), Some(&sophie)).await;
    assert_eq!(export.status, 200, "{:?}", export.json);
    let journal = export.json["audit"].as_array().unwrap();
    let targets: Vec<&str> = journal.iter().filter_map(|e| e["target"].as_str()).collect();
    assert!(targets.contains(&"families/martin/mandate"), "{targets:?}");
    assert!(targets.iter().any(|t| t.starts_with("invoices/martin/")), "{targets:?}");
    let foreign: Vec<&Value> = journal
        .iter()
        .filter(|e| {
            let text = e.to_string();
            text.contains("famille-paul") || text.contains("bernard") || text.contains("Paul Martin")
        })
        .collect();
    assert!(foreign.is_empty(), "other families' entries in the Martins' export: {foreign:#?}");
    let archive = p.send("POST", &api("/families/martin/export/archive"), None, &sophie, &[]).await;
    assert_eq!(archive.status, 201, "{:?}", archive.json);
    let archive_url = archive.json["url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&archive_url).await.unwrap().status().as_u16(), 200);
    let receipts: Vec<String> = p.get(&api("/staff/invoices/families/martin"), Some(&admin)).await.json["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["number"].as_str().map(str::to_owned))
        .collect();
    assert!(receipts.len() >= 2, "a counter payment and a debit: {receipts:?}");

    // Julien's address bounced once: what that taught goes with the family.
    let mails = p.deliver().await;
    let to_julien = mails.iter().find(|m| m.to.as_str() == "julien.martin@exemple.fr").expect("an email to Julien");
    let bounced =
        crate::helpers::call(&p.router, "POST", &format!("/dev/mail/{}/bounce", to_julien.id), &[], None).await;
    assert_eq!(bounced.status, 303);

    // Closed, then erased a year later; an email queued for Sophie meanwhile is sent after.
    let closed = p.post(&api("/staff/families/martin/close"), json!({}), Some(&admin)).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json);
    let later: chrono::DateTime<chrono::Utc> = "2027-11-27T06:00:00Z".parse().unwrap();
    p.clock.set(later);
    let asked = p.post(&api("/auth/password-reset"), json!({"email": "sophie.martin@exemple.fr"}), None).await;
    assert!(asked.status < 300, "{:?}", asked.json);
    assert_eq!(documents::erase_due(&p.store_of("DocumentsPurgeFunction"), &p.files, later, None).await.unwrap(), 1);
    p.deliver().await;

    // Nothing keeps the guardians' emails, in any key or field; the archive is gone.
    let emails = ["sophie.martin@exemple.fr", "julien.martin@exemple.fr"];
    let left: Vec<String> = p
        .store
        .scan_all(later.timestamp())
        .await
        .unwrap()
        .into_iter()
        .map(|i| format!("{}/{} {:?} {}", i.key.pk, i.key.sk, i.gsi1, Value::Object(i.attrs)))
        .filter(|s| emails.iter().any(|e| s.to_lowercase().contains(e)))
        .collect();
    assert!(left.is_empty(), "the Martins' emails are kept: {left:#?}");
    assert_eq!(reqwest::get(&archive_url).await.unwrap().status().as_u16(), 404, "the export archive is deleted");

    // The other families' entries are as they were.
    let trail = store::audit::page(&p.store, &town_id(), 200, None).await.unwrap().0;
    let paul = trail.iter().find(|e| e.target == "families/famille-paul/mandate").expect("Paul's mandate entry");
    assert_eq!(paul.after.as_ref().unwrap()["holder"], "Paul Martin");
    let theirs = trail.iter().find(|e| e.target.starts_with("invoices/bernard/")).expect("the Bernards' contest");
    assert!(serde_json::to_string(theirs).unwrap().contains("Léa"), "{theirs:?}");

    // Every staff page and export still answers (to a session opened after the year passed).
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let anonymous = domain::privacy::anonymous_ref(&town_id(), &domain::FamilyRef::parse("martin").unwrap());
    // The kept invoice is still a valid invoice: listed, exported, printed.
    let month = p.get(&api("/staff/invoices?month=2026-10"), Some(&admin)).await;
    assert!(month.json.to_string().contains(anonymous.as_str()), "the anonymised invoice is listed: {}", month.json);
    let (csv, _) = crate::helpers::raw_get(&p.router, &api("/staff/invoices/runs/2026-10/export"), &admin.cookie).await;
    assert!(String::from_utf8_lossy(&csv).contains(anonymous.as_str()), "and exported");
    let broken = broken_pages(&p, &admin, anonymous.as_str(), &receipts).await;
    assert!(broken.is_empty(), "pages broken by the erasure:\n{}", broken.join("\n"));
    let broken = broken_pages(&p, &admin, "bernard", &[]).await;
    assert!(broken.is_empty(), "pages broken by the erasure:\n{}", broken.join("\n"));
    p.stop().await;
}

#[tokio::test]
async fn a_corrupt_stored_item_is_skipped_by_the_lists_it_would_break() {
    let p = portal().await;
    let admin = login(&p, "mairie@villeneuve-les-tilleuls.fr").await;
    let sophie = login(&p, "sophie.martin@exemple.fr").await;
    // An invoice, a credit note, a payment, a document and an audit entry that no longer
    // decode (a field of the wrong type), where the lists read them.
    let family = domain::FamilyRef::parse("martin").unwrap();
    let t = town_id();
    let broken =
        |key: Key| Item { key, gsi1: None, ttl: None, attrs: json!({"number": 5}).as_object().unwrap().clone() };
    let invoice = broken(keys::invoice(
        &t,
        &domain::FamilyRef::parse("corrompue").unwrap(),
        domain::Month::parse("2026-10").unwrap(),
    ))
    .with_gsi1(Key::new(keys::invoices_of_month(&t, domain::Month::parse("2026-10").unwrap()), "corrompue"));
    for item in [
        invoice,
        broken(Key::new(keys::family_partition(&t, &family), "AV#AV-2026-999999")),
        broken(Key::new(keys::family_partition(&t, &family), "PAY#Q-2026-999999")),
        broken(Key::new(keys::family_partition(&t, &family), format!("{}zz", keys::DOCUMENT_PREFIX))),
        broken(Key::new(keys::audit(&t), "2026-11-26T08:00:00.000000Z#corrompue")),
        broken(keys::regularisation(&t, &family, "corrompue"))
            .with_gsi1(Key::new(keys::regularisations_open(&t), "corrompue")),
    ] {
        p.store.put(item, None).await.unwrap();
    }
    let mut broken_pages = broken_pages(&p, &admin, "martin", &[]).await;
    for uri in [
        "/families/martin/documents",
        "/families/martin/invoices",
        "/families/martin/invoices/current",
        "/families/martin/export",
    ] {
        let r = p.get(&api(uri), Some(&sophie)).await;
        if r.status >= 500 {
            broken_pages.push(format!("GET {uri}: {} {}", r.status, r.json));
        }
    }
    assert!(broken_pages.is_empty(), "a corrupt item breaks:\n{}", broken_pages.join("\n"));
    let list = p.get(&api("/staff/invoices?month=2026-10"), Some(&admin)).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    assert!(list.json.to_string().contains("martin"), "the other invoices are listed: {}", list.json);
    p.stop().await;
}
