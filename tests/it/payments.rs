//! Payments: online through PayFiP (the local simulator over HTTP, as the portal would reach
//! PayFiP), at the counter, the unpaid list, the reminders and the handover to the Trésor
//! public. The test clock starts on Thursday 26 November 2026; the demo published October's
//! invoices on 1 November, due on 1 December: the Martins' n° 2026-000002 of 10,00 € and the
//! Bernards' n° 2026-000001 of 3,00 €.

use crate::helpers::{Browser, Reply, TOWN, TestPortal, assert_problem, call, portal};
use invoices::jobs::Job;
use serde_json::{Value, json};

const MARTIN: &str = "/api/towns/villeneuve-les-tilleuls/families/martin/invoices/2026-10";
const BERNARD: &str = "/api/towns/villeneuve-les-tilleuls/families/bernard/invoices/2026-10";

async fn sophie(p: &TestPortal) -> Browser {
    p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

async fn admin(p: &TestPortal) -> Browser {
    p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

async fn agent(p: &TestPortal) -> Browser {
    p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

/// « Payer en ligne »: the operation's idop.
async fn start(p: &TestPortal, invoice: &str, who: &Browser) -> String {
    let r = p.post(&format!("{invoice}/payfip"), json!({}), Some(who)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let idop = r.json["idop"].as_str().unwrap().to_owned();
    assert!(r.json["url"].as_str().unwrap().ends_with(&format!("/payfip-simulateur/paiement?idop={idop}")));
    idop
}

/// PayFiP's notification: a form with the idop, no session.
async fn notify(p: &TestPortal, idop: &str) -> Reply {
    let uri = format!("/api/towns/{TOWN}/payfip/notification");
    let body = format!("idop={idop}").into_bytes();
    call(&p.router, "POST", &uri, &[("content-type", "application/x-www-form-urlencoded")], Some(body)).await
}

/// The family's browser back from PayFiP, with whatever it claims: where it is sent.
async fn back(p: &TestPortal, query: &str) -> String {
    let r = call(&p.router, "GET", &format!("/api/towns/{TOWN}/payfip/return?{query}"), &[], None).await;
    assert_eq!(r.status, 303, "{:?}", r.json);
    r.headers["location"].to_str().unwrap().to_owned()
}

async fn invoice(p: &TestPortal, uri: &str, who: &Browser) -> Value {
    let r = p.get(uri, Some(who)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

#[tokio::test]
async fn a_payment_online_is_recorded_once_and_only_when_payfip_says_so() {
    let p = portal().await;
    let sophie = sophie(&p).await;
    let before = invoice(&p, MARTIN, &sophie).await;
    assert_eq!((before["status"].as_str(), before["payable_online"].as_bool()), (Some("due"), Some(true)));
    let idop = start(&p, MARTIN, &sophie).await;
    // What PayFiP was asked: the régie, the year, the invoice as reference, the amount in cents.
    let asked = p.payfip().request_of(&idop).unwrap();
    assert_eq!(
        (asked["numcli"].as_str(), asked["exer"].as_str(), asked["refdet"].as_str(), asked["montant"].as_str()),
        ("012345", "2026", "2026000002", "1000")
    );
    assert_eq!((asked["saisie"].as_str(), asked["mel"].as_str()), ("T", "sophie.martin@exemple.fr"));
    // The simulator's page wears the portal's style and icon (the local portal serves it on its
    // own address), both served: no missing favicon.
    let simulator = p.payfip().router();
    let page = String::from_utf8(
        crate::helpers::raw_body(&simulator, &format!("/payfip-simulateur/paiement?idop={idop}")).await,
    )
    .unwrap();
    assert!(page.contains("href=\"/style.css\"") && page.contains("href=\"/favicon.svg\""), "{page}");
    assert!(page.contains("10,00 €") && page.contains("DGFiP\u{202f}: aucune carte n’est débitée"), "{page}");
    for asset in ["/style.css", "/favicon.svg"] {
        let r = crate::helpers::call(&p.router, "GET", asset, &[], None).await;
        assert_eq!(r.status, 200, "{asset}");
    }
    assert!(asked["urlnotif"].ends_with(&format!("/api/towns/{TOWN}/payfip/notification")));
    assert!(asked["objet"].is_ascii() && asked["objet"].len() <= 100, "{}", asked["objet"]);
    // « En cours »: a second tab is told so.
    let during = invoice(&p, MARTIN, &sophie).await;
    assert_eq!(
        (during["payment_in_progress"].as_bool(), during["payable_online"].as_bool()),
        (Some(true), Some(false))
    );
    assert_problem(&p.post(&format!("{MARTIN}/payfip"), json!({}), Some(&sophie)).await, 409, "payment_in_progress");
    let desk = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-10/payments");
    let agent = agent(&p).await;
    assert_problem(
        &p.post(&desk, json!({"method": "cash", "amount": 1000}), Some(&agent)).await,
        409,
        "payment_in_progress",
    );
    // A return forged as paid before PayFiP has a result records nothing.
    let forged = back(&p, &format!("idop={idop}&resultrans=P&montant=1000")).await;
    assert!(forged.ends_with(&format!("/factures.html?commune={TOWN}&paiement=pending&mois=2026-10")), "{forged}");
    assert_eq!(invoice(&p, MARTIN, &sophie).await["paid"], 0);

    assert!(p.payfip().decide(&idop, "P", None));
    let first = notify(&p, &idop).await;
    assert_eq!((first.status, first.json["state"].as_str()), (200, Some("paid")), "{:?}", first.json);
    // Replayed, and the family coming back afterwards: still one payment.
    assert_eq!(notify(&p, &idop).await.json["state"], "paid");
    assert!(back(&p, &format!("idop={idop}")).await.ends_with("paiement=paid&mois=2026-10"));
    let after = invoice(&p, MARTIN, &sophie).await;
    assert_eq!(
        (after["status"].as_str(), after["paid"].as_i64(), after["left_to_pay"].as_i64()),
        (Some("paid"), Some(1000), Some(0))
    );
    let payments = after["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(
        (payments[0]["number"].as_str(), payments[0]["method"].as_str()),
        (Some("Q-2026-000001"), Some("payfip"))
    );
    assert_eq!(payments[0]["idop"].as_str(), Some(idop.as_str()));
    assert_problem(&p.post(&format!("{MARTIN}/payfip"), json!({}), Some(&sophie)).await, 422, "invoice_settled");

    // The receipt: downloadable, and emailed to both guardians.
    let (pdf, kind) = crate::helpers::raw_get(
        &p.router,
        &format!("/api/towns/{TOWN}/families/martin/payments/Q-2026-000001/pdf"),
        &sophie.cookie,
    )
    .await;
    assert_eq!(kind, "application/pdf");
    crate::helpers::keep_pdf("receipt", &pdf);
    let facts = crate::helpers::assert_accessible_pdf(&pdf, "Quittance Q-2026-000001 — Villeneuve-les-Tilleuls");
    crate::helpers::assert_structure(&facts, &["H1", "P"]);
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
    crate::helpers::assert_french_typography("the receipt PDF", &text);
    for expected in ["QUITTANCE", "Q-2026-000001", "10,00", "2026-000002", "Carte bancaire en ligne (PayFiP)", "soldée"]
    {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let mails = p.deliver().await;
    let receipts: Vec<_> = mails.iter().filter(|m| m.content.subject.starts_with("Paiement reçu")).collect();
    assert_eq!(receipts.len(), 2, "one receipt per guardian, once");
    // Another family's receipt is not found.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let theirs = p.get(&format!("/api/towns/{TOWN}/families/martin/payments/Q-2026-000001/pdf"), Some(&claire)).await;
    assert_problem(&theirs, 404, "unknown_family");
    p.stop().await;
}

#[tokio::test]
async fn refused_and_cancelled_payments_leave_the_invoice_to_pay_and_a_forged_return_records_nothing() {
    let p = portal().await;
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let idop = start(&p, BERNARD, &claire).await;
    p.payfip().decide(&idop, "R", None);
    // The browser says paid; PayFiP says refused: refused.
    let to = back(&p, &format!("idop={idop}&resultrans=P")).await;
    assert!(to.ends_with("paiement=refused&mois=2026-10"), "{to}");
    assert_eq!(notify(&p, &idop).await.json["state"], "refused", "the notification after the return");
    let after = invoice(&p, BERNARD, &claire).await;
    assert_eq!((after["paid"].as_i64(), after["payable_online"].as_bool()), (Some(0), Some(true)));
    // Paying again is a new operation; cancelled on PayFiP's page, notified before the return.
    let again = start(&p, BERNARD, &claire).await;
    assert_ne!(again, idop);
    p.payfip().decide(&again, "A", None);
    assert_eq!(notify(&p, &again).await.json["state"], "cancelled");
    assert!(back(&p, &format!("idop={again}")).await.ends_with("paiement=cancelled&mois=2026-10"));
    assert_eq!(invoice(&p, BERNARD, &claire).await["payments"], json!([]));
    // An idop PayFiP never gave, or malformed.
    assert_problem(&notify(&p, "inconnue").await, 404, "unknown_operation");
    assert_problem(&notify(&p, "pas%20un%20id").await, 400, "invalid_idop");
    let none = call(&p.router, "GET", &format!("/api/towns/{TOWN}/payfip/return"), &[], None).await;
    assert_problem(&none, 400, "invalid_idop");
    p.stop().await;
}

#[tokio::test]
async fn the_reconciliation_records_a_payment_never_notified_and_closes_an_abandoned_one() {
    let p = portal().await;
    let sophie = sophie(&p).await;
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    // Sophie pays and closes the tab: no notification, no return.
    let paid = start(&p, MARTIN, &sophie).await;
    p.payfip().decide(&paid, "P", None);
    // Claire leaves PayFiP's page without choosing.
    let left = start(&p, BERNARD, &claire).await;
    p.run_job(Job::Reconcile).await;
    assert_eq!(invoice(&p, MARTIN, &sophie).await["status"], "paid");
    let waiting = invoice(&p, BERNARD, &claire).await;
    assert_eq!(waiting["payment_in_progress"], true, "PayFiP has no result yet: still « en cours »");
    // An hour later PayFiP still has no result: the operation is closed, the invoice free.
    p.clock.advance(chrono::TimeDelta::minutes(61));
    p.run_job(Job::Reconcile).await;
    let (sophie, claire) = (
        self::sophie(&p).await,
        p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap(),
    );
    let closed = invoice(&p, BERNARD, &claire).await;
    assert_eq!(
        (closed["payment_in_progress"].as_bool(), closed["payable_online"].as_bool()),
        (Some(false), Some(true))
    );
    let op = invoices::settle::operation(&p.store, &domain::TownId::parse(TOWN).unwrap(), &left).await;
    assert_eq!(
        op.unwrap().unwrap().state,
        domain::payfip::State::Closed { outcome: domain::payfip::Outcome::Expired, at: p.clock.now() }
    );
    // The notification that finally arrives changes nothing.
    assert_eq!(notify(&p, &paid).await.json["state"], "paid");
    assert_eq!(invoice(&p, MARTIN, &sophie).await["payments"].as_array().unwrap().len(), 1);
    p.stop().await;
}

#[tokio::test]
async fn an_amount_payfip_reports_differently_is_an_anomaly_for_staff_never_a_payment() {
    let p = portal().await;
    let sophie = sophie(&p).await;
    let idop = start(&p, MARTIN, &sophie).await;
    p.payfip().decide(&idop, "P", Some("999"));
    assert_eq!(notify(&p, &idop).await.json["state"], "anomaly");
    let after = invoice(&p, MARTIN, &sophie).await;
    assert_eq!((after["paid"].as_i64(), after["status"].as_str()), (Some(0), Some("due")));
    let admin = admin(&p).await;
    let list = p.get(&format!("/api/towns/{TOWN}/staff/invoices/payfip/anomalies"), Some(&admin)).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    let ops = list.json.as_array().unwrap();
    assert_eq!(
        (ops.len(), ops[0]["idop"].as_str(), ops[0]["state"].as_str()),
        (1, Some(idop.as_str()), Some("anomaly"))
    );
    assert!(ops[0]["reason"].as_str().unwrap().contains("999"), "{:?}", ops[0]);
    let agent = agent(&p).await;
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/staff/invoices/payfip/anomalies"), Some(&agent)).await,
        403,
        "forbidden",
    );
    p.stop().await;
}

#[tokio::test]
async fn only_a_guardian_of_the_family_pays_its_invoice_online() {
    let p = portal().await;
    let sophie = sophie(&p).await;
    assert_problem(&p.post(&format!("{BERNARD}/payfip"), json!({}), Some(&sophie)).await, 404, "unknown_family");
    let admin = admin(&p).await;
    let staff = p.post(&format!("{MARTIN}/payfip"), json!({}), Some(&admin)).await;
    assert_problem(&staff, 403, "staff_use_staff_routes");
    assert_problem(&p.post(&format!("{MARTIN}/payfip"), json!({}), None).await, 401, "unauthenticated");
    let november = format!("/api/towns/{TOWN}/families/martin/invoices/2026-11/payfip");
    assert_problem(&p.post(&november, json!({}), Some(&sophie)).await, 404, "unknown_invoice");
    // Another town's path does not know this town's operations.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let idop = start(&p, BERNARD, &claire).await;
    crate::helpers::other_town_admin(&p).await;
    let elsewhere = call(
        &p.router,
        "POST",
        "/api/towns/autre-ville/payfip/notification",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("idop={idop}").into_bytes()),
    )
    .await;
    assert_problem(&elsewhere, 404, "unknown_operation");
    p.stop().await;
}

#[tokio::test]
async fn two_tabs_paying_at_once_start_one_payment() {
    let p = portal().await;
    let sophie = sophie(&p).await;
    let uri = format!("{MARTIN}/payfip");
    let (a, b) = tokio::join!(p.post(&uri, json!({}), Some(&sophie)), p.post(&uri, json!({}), Some(&sophie)));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{:?} {:?}", a.json, b.json);
    p.stop().await;
}

#[tokio::test]
async fn staff_record_counter_payments_partial_then_whole_with_receipts() {
    let p = portal().await;
    let agent = agent(&p).await;
    let uri = format!("/api/towns/{TOWN}/staff/invoices/families/bernard/2026-10/payments");
    let no_number = p.post(&uri, json!({"method": "cheque", "amount": 100}), Some(&agent)).await;
    assert_problem(&no_number, 422, "cheque_number_required");
    let over = p.post(&uri, json!({"method": "cash", "amount": 301}), Some(&agent)).await;
    assert_problem(&over, 422, "amount_over_left_to_pay");
    assert_problem(
        &p.post(&uri, json!({"method": "payfip", "amount": 100}), Some(&agent)).await,
        422,
        "payfip_not_at_counter",
    );
    assert_problem(
        &p.post(&uri, json!({"method": "cash", "amount": 0}), Some(&agent)).await,
        422,
        "amount_not_positive",
    );
    assert_problem(&p.post(&uri, json!({"method": "bitcoin", "amount": 100}), Some(&agent)).await, 422, "invalid_body");
    let future =
        p.post(&uri, json!({"method": "cash", "amount": 100, "received_on": "2026-11-27"}), Some(&agent)).await;
    assert_problem(&future, 422, "received_in_future");
    let cash = p.post(&uri, json!({"method": "cash", "amount": 100}), Some(&agent)).await;
    assert_eq!(cash.status, 201, "{:?}", cash.json);
    assert_eq!(
        (cash.json["number"].as_str(), cash.json["received_on"].as_str()),
        (Some("Q-2026-000001"), Some("2026-11-26"))
    );
    let cheque = json!({"method": "cheque", "amount": 200, "cheque_number": "0012345", "details": "Crédit Agricole", "received_on": "2026-11-25"});
    let cheque = p.post(&uri, cheque, Some(&agent)).await;
    assert_eq!(cheque.status, 201, "{:?}", cheque.json);
    assert_eq!(cheque.json["details"], "Chèque n° 0012345, Crédit Agricole");
    assert_problem(&p.post(&uri, json!({"method": "cash", "amount": 1}), Some(&agent)).await, 422, "invoice_settled");
    let admin = admin(&p).await;
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/bernard"), Some(&admin)).await;
    assert_eq!(
        account.json["balance"],
        json!({"invoiced": 300, "credited": 0, "paid": 300, "scheduled": 0, "balance": 0})
    );
    assert_eq!(account.json["payments"].as_array().unwrap().len(), 2);
    assert_eq!(account.json["invoices"][0]["status"], "paid");
    // A guardian does not record payments.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&uri, json!({"method": "cash", "amount": 1}), Some(&claire)).await, 403, "forbidden");
    let mails = p.deliver().await;
    let receipts =
        mails.iter().filter(|m| m.content.subject.starts_with("Paiement reçu\u{202f}: facture n° 2026-000001")).count();
    assert_eq!(receipts, 2, "one email per receipt to Claire, the Bernards' guardian");
    p.stop().await;
}

#[tokio::test]
async fn reminders_go_out_once_per_step_and_the_unpaid_list_ages_invoices() {
    let p = portal().await;
    let admin = admin(&p).await;
    let unpaid = format!("/api/towns/{TOWN}/staff/invoices/unpaid");
    let list = p.get(&unpaid, Some(&admin)).await;
    assert_eq!(list.status, 200, "{:?}", list.json);
    assert_eq!(list.json["total"], 1300);
    assert_eq!(
        list.json["brackets"][0],
        json!({"age": "not_due", "label": "Pas encore échue", "count": 2, "left_to_pay": 1300})
    );
    // Thursday 26 November is five days before the due date: the first reminder, once.
    p.run_job(Job::Remind).await;
    p.run_job(Job::Remind).await;
    let before: Vec<_> = p
        .deliver()
        .await
        .into_iter()
        .filter(|m| m.content.subject.starts_with("Rappel\u{202f}: votre facture"))
        .collect();
    assert_eq!(
        before.len(),
        3,
        "each guardian of the two families, once: {:?}",
        before.iter().map(|m| m.to.as_str()).collect::<Vec<_>>()
    );
    // The Martins pay at the counter; on 12 December the Bernards are 11 days late.
    let agent = agent(&p).await;
    let pay = p
        .post(
            &format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-10/payments"),
            json!({"method": "cash", "amount": 1000}),
            Some(&agent),
        )
        .await;
    assert_eq!(pay.status, 201, "{:?}", pay.json);
    p.clock.advance(chrono::TimeDelta::days(16));
    p.run_job(Job::Remind).await;
    p.run_job(Job::Remind).await;
    let late: Vec<_> =
        p.deliver().await.into_iter().filter(|m| m.content.subject.starts_with("Facture d’octobre")).collect();
    let mut to: Vec<&str> = late.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["claire.bernard@exemple.fr"], "the Bernards only, once");
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let list = p.get(&unpaid, Some(&admin)).await;
    let rows = list.json["invoices"].as_array().unwrap();
    assert_eq!(
        (rows.len(), rows[0]["family"].as_str(), rows[0]["age"].as_str()),
        (1, Some("bernard"), Some("up_to30"))
    );
    assert_eq!(rows[0]["days_late"], 11);
    let (csv, kind) = crate::helpers::raw_get(&p.router, &format!("{unpaid}?format=csv"), &admin.cookie).await;
    assert!(kind.starts_with("text/csv"));
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[1],
        "2026-000001;Famille Bernard;bernard;2026-10;01/12/2026;11;0 à 30 jours de retard;3,00;0,00;0,00;3,00;"
    );
    assert_problem(&p.get(&format!("{unpaid}?format=pdf"), Some(&admin)).await, 400, "invalid_format");

    // Handed to the Trésor public: off the list, not payable online, no more reminders.
    let transmit = format!("/api/towns/{TOWN}/staff/invoices/families/bernard/2026-10/transmit");
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&transmit, json!({}), Some(&agent)).await, 403, "forbidden");
    let done = p.post(&transmit, json!({}), Some(&admin)).await;
    assert_eq!((done.status, done.json["status"].as_str()), (200, Some("transmitted")), "{:?}", done.json);
    assert_problem(&p.post(&transmit, json!({}), Some(&admin)).await, 422, "invoice_transmitted");
    assert_eq!(p.get(&unpaid, Some(&admin)).await.json["total"], 0);
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&format!("{BERNARD}/payfip"), json!({}), Some(&claire)).await, 422, "invoice_transmitted");
    let martin_transmit = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-10/transmit");
    assert_problem(&p.post(&martin_transmit, json!({}), Some(&admin)).await, 422, "invoice_settled");
    p.stop().await;
}

mod races {
    use domain::TownId;
    use invoices::{payments, settle};
    use store::Store;

    /// PayFiP's notification and the reconciliation settle the same operation at once, four
    /// times each: one payment, one receipt number.
    pub(super) async fn the_notification_and_the_reconciliation_racing_record_one_payment(store: Store) {
        let dir = tempfile::tempdir().unwrap();
        let clock = edge::clock::Clock::manual("2026-11-26T09:00:00Z".parse().unwrap());
        let opts = local_portal::Options::demo(dir.path(), clock.clone());
        let portal = local_portal::build_on(&opts, store.clone()).await.unwrap();
        let town_id = TownId::parse(super::TOWN).unwrap();
        let town = store::repo::Towns::new(store.clone(), std::time::Duration::from_secs(60))
            .get(&town_id)
            .await
            .unwrap()
            .unwrap();
        let family = domain::FamilyRef::parse("martin").unwrap();
        let invoice =
            invoices::corrections::invoice(&store, &town_id, &family, domain::Month::parse("2026-10").unwrap())
                .await
                .unwrap();
        let ctx = (&store, "http://portail.test", Some(&portal.gateway));
        let started = settle::start(ctx, &town, &invoice, "sophie.martin@exemple.fr", clock.now()).await.unwrap();
        portal.payfip.decide(&started.idop, "P", None);
        let now = clock.now();
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let (store, town, gateway, idop) =
                    (store.clone(), town.clone(), portal.gateway.clone(), started.idop.clone());
                tokio::spawn(async move {
                    let ctx = (&store, "http://portail.test", &gateway);
                    if i % 2 == 0 {
                        settle::settle(ctx, &town, &idop, now).await.map(|s| s.is_some())
                    } else {
                        settle::reconcile(ctx, &town, now).await.map(|_| true).map_err(Into::into)
                    }
                })
            })
            .collect();
        for r in runs {
            assert!(r.await.unwrap().unwrap());
        }
        let paid = payments::payments_of(&store, &town_id, &family, 10).await.unwrap();
        assert_eq!(paid.len(), 1, "{paid:?}");
        assert_eq!(paid[0].number, "Q-2026-000001");
        let after = invoices::corrections::invoice(&store, &town_id, &family, domain::Month::parse("2026-10").unwrap())
            .await
            .unwrap();
        assert_eq!((after.paid.get(), after.online), (1000, None));
        portal.stop().await;
    }
}

use races::the_notification_and_the_reconciliation_racing_record_one_payment;

crate::helpers::both_backends!(the_notification_and_the_reconciliation_racing_record_one_payment);

/// Validates `xml` against the ISO 20022 schema with `scripts/validate_xsd.py` (Python
/// `xmlschema` in `.venv`, installed by `scripts/test`; required there).
fn validates_against_xsd(xml: &str, schema: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        assert!(std::env::var_os("EF_REQUIRE_MOTO").is_none(), "scripts/test installs .venv with xmlschema");
        eprintln!("skipped: no .venv (run scripts/test) to validate the pain.008 file against its XSD");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pain008.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new(python)
        .arg(root.join("scripts/validate_xsd.py"))
        .arg(root.join("tests/xsd").join(schema))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_family_under_a_mandate_is_debited_once_in_a_valid_pain008_file_and_a_rejected_debit_is_owed_again() {
    let p = portal().await;
    let agent = agent(&p).await;
    let mandate = format!("/api/towns/{TOWN}/staff/invoices/families/bernard/mandate");
    let form = |iban: &str| json!({"rum": "VLT-2026-0001", "iban": iban, "bic": "BDFEFRPP", "holder": "Claire Bernard", "signed_on": "2026-11-20"});
    let wrong = p.send("PUT", &mandate, Some(form("FR76 3000 6000 0112 3456 7890 188")), &agent, &[]).await;
    assert_problem(&wrong, 422, "invalid_iban");
    assert_eq!(wrong.json["field"], "iban");
    let put = p.send("PUT", &mandate, Some(form("FR76 3000 6000 0112 3456 7890 189")), &agent, &[]).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    assert_eq!((put.json["account"].as_str(), put.json["sequence"].as_str()), (Some("FR76 •••• 0189"), Some("FRST")));

    // The family sees when and from which account; it does not pay online.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let before = invoice(&p, BERNARD, &claire).await;
    assert_eq!(before["direct_debit"], "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
    assert_eq!(before["payable_online"], false);
    assert_problem(&p.post(&format!("{BERNARD}/payfip"), json!({}), Some(&claire)).await, 409, "paid_by_direct_debit");
    // Nothing to remind a family whose invoice is left to its direct debit.
    p.run_job(Job::Remind).await;
    let reminded: Vec<String> = p
        .deliver()
        .await
        .into_iter()
        .filter(|m| m.content.subject.starts_with("Rappel"))
        .map(|m| m.to.as_str().to_owned())
        .collect();
    assert!(reminded.contains(&"sophie.martin@exemple.fr".to_owned()), "{reminded:?}");
    assert!(!reminded.contains(&"claire.bernard@exemple.fr".to_owned()), "{reminded:?}");

    // The administrator runs October's debits: the Bernards only (the Martins have no mandate), once.
    let admin = admin(&p).await;
    let run = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-10/debits");
    assert_problem(&p.post(&run, json!({}), Some(&agent)).await, 403, "forbidden");
    let first = p.post(&run, json!({}), Some(&admin)).await;
    assert_eq!(first.json, json!({"debited": 1, "total": 1, "remaining": 0}), "{:?}", first.json);
    let again = p.post(&run, json!({}), Some(&admin)).await;
    assert_eq!(again.json, json!({"debited": 0, "total": 1, "remaining": 0}));
    let debited = invoice(&p, BERNARD, &claire).await;
    assert_eq!((debited["status"].as_str(), debited["left_to_pay"].as_i64()), (Some("debit_scheduled"), Some(0)));
    assert_eq!(debited["payments"][0]["method"], "direct_debit");
    assert_eq!(debited["payments"][0]["received_on"], "2026-12-15");
    assert_eq!(debited["direct_debit"], "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/bernard"), Some(&admin)).await;
    assert_eq!(account.json["mandate"]["sequence"], "RCUR", "the next debit is a recurring one");
    let mails = p.deliver().await;
    let told = mails.iter().filter(|m| {
        m.to.as_str() == "claire.bernard@exemple.fr"
            && m.content.subject.starts_with("Prélèvement de votre facture n° 2026-000001")
    });
    assert_eq!(told.count(), 1);

    // The file for the bank: valid pain.008.001.08, a first debit of 3,00 € under the mandate.
    let (xml, kind) = crate::helpers::raw_get(&p.router, &run, &admin.cookie).await;
    assert_eq!(kind, "application/xml", "{}", String::from_utf8_lossy(&xml));
    let xml = String::from_utf8(xml).unwrap();
    for expected in [
        "<SeqTp>FRST</SeqTp>",
        "<ReqdColltnDt>2026-12-15</ReqdColltnDt>",
        "<MndtId>VLT-2026-0001</MndtId>",
        "<EndToEndId>Q-2026-000001</EndToEndId>",
        "<InstdAmt Ccy=\"EUR\">3.00</InstdAmt>",
        "<IBAN>FR7630006000011234567890189</IBAN>",
        "<Id>FR72ZZZ123456</Id>",
    ] {
        assert!(xml.contains(expected), "{expected} in {xml}");
    }
    validates_against_xsd(&xml, "pain.008.001.08.xsd");
    let september = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-09/debits");
    assert_problem(&p.get(&september, Some(&admin)).await, 404, "no_debits");

    // The bank returns it: the invoice is owed again, payable online, the mandate back on FRST.
    let reject = format!("/api/towns/{TOWN}/staff/invoices/families/bernard/payments/Q-2026-000001/reject");
    assert_problem(&p.post(&reject, json!({"reason": "AM04"}), Some(&agent)).await, 403, "forbidden");
    let rejected = p.post(&reject, json!({"reason": "AM04 provision insuffisante"}), Some(&admin)).await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.json);
    assert_eq!(rejected.json["rejected"]["reason"], "AM04 provision insuffisante");
    assert_problem(&p.post(&reject, json!({"reason": "encore"}), Some(&admin)).await, 409, "already_rejected");
    let owed = invoice(&p, BERNARD, &claire).await;
    assert_eq!((owed["status"].as_str(), owed["left_to_pay"].as_i64()), (Some("due"), Some(300)));
    assert_eq!(
        (owed["payable_online"].as_bool(), owed["direct_debit"].as_str()),
        (Some(true), Some("Prélèvement rejeté par la banque : à payer en ligne ou à la régie"))
    );
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/bernard"), Some(&admin)).await;
    assert_eq!(account.json["mandate"]["sequence"], "FRST");
    assert_eq!(account.json["balance"]["balance"], 300);
    assert!(
        p.deliver()
            .await
            .iter()
            .any(|m| m.content.subject.starts_with("Prélèvement rejeté\u{202f}: facture n° 2026-000001"))
    );
    // Only a debit is rejected; the mandate ends.
    let cash = p
        .post(
            &format!("/api/towns/{TOWN}/staff/invoices/families/bernard/2026-10/payments"),
            json!({"method": "cash", "amount": 100}),
            Some(&agent),
        )
        .await;
    assert_eq!(cash.status, 201);
    let not_debit = format!(
        "/api/towns/{TOWN}/staff/invoices/families/bernard/payments/{}/reject",
        cash.json["number"].as_str().unwrap()
    );
    assert_problem(&p.post(&not_debit, json!({"reason": "x"}), Some(&admin)).await, 422, "not_a_debit");
    assert_eq!(p.send("DELETE", &mandate, None, &agent, &[]).await.status, 204);
    assert_problem(&p.send("DELETE", &mandate, None, &agent, &[]).await, 404, "unknown_mandate");
    p.stop().await;
}
