//! When money is really received (issue 25, defects 2 and 7): a direct debit is « prévu » until
//! its collection date passes without a rejection, its method always in French, the invoice due
//! on its collection date; an invoice is not cancelled while its online payment is in progress,
//! in either order; a counter payment is not dated before its invoice. The test clock starts on
//! Thursday 26 November 2026; the demo published October's invoices on 1 November, due on
//! 1 December: the Martins' n° 2026-000002 of 10,00 € and the Bernards' n° 2026-000001 of 3,00 €.

use crate::helpers::{TOWN, TestPortal, assert_problem, call, portal};
use serde_json::{Value, json};

const MARTIN: &str = "/api/towns/villeneuve-les-tilleuls/families/martin/invoices/2026-10";
const BERNARD: &str = "/api/towns/villeneuve-les-tilleuls/families/bernard/invoices/2026-10";
const PASSWORD: &str = local_portal::DEMO_PASSWORD;

async fn get(p: &TestPortal, uri: &str, who: &crate::helpers::Browser) -> Value {
    let r = p.get(uri, Some(who)).await;
    assert_eq!(r.status, 200, "{uri}: {:?}", r.json);
    r.json
}

fn staff_account(family: &str) -> String {
    format!("/api/towns/{TOWN}/staff/invoices/families/{family}")
}

#[tokio::test]
async fn a_direct_debit_is_scheduled_until_its_collection_date_then_paid_and_always_said_in_french() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let mandate = json!({"rum": "VLT-2026-0001", "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "BDFEFRPP",
                         "holder": "Claire Bernard", "signed_on": "2026-11-20"});
    let put = p.send("PUT", &format!("{}/mandate", staff_account("bernard")), Some(mandate), &admin, &[]).await;
    assert_eq!(put.status, 200, "{:?}", put.json);
    // Under a mandate the invoice is due on its collection date, the date the family reads.
    let before = get(&p, BERNARD, &claire).await;
    assert_eq!(before["direct_debit"], "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
    assert_eq!((before["due_on"].as_str(), before["status"].as_str()), (Some("2026-12-15"), Some("due")));

    let run = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-10/debits");
    assert_eq!(p.post(&run, json!({}), Some(&admin)).await.json["debited"], 1);
    // Debited in the file, not received: « Prélèvement prévu », not « Payée »; nothing left for
    // the family to do; the payment is not received before its date.
    let scheduled = get(&p, BERNARD, &claire).await;
    assert_eq!(
        (scheduled["status"].as_str(), scheduled["status_label"].as_str()),
        (Some("debit_scheduled"), Some("Prélèvement prévu")),
        "{scheduled:?}"
    );
    assert_eq!(scheduled["direct_debit"], "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
    assert_eq!((scheduled["due_on"].as_str(), scheduled["left_to_pay"].as_i64()), (Some("2026-12-15"), Some(0)));
    let debit = &scheduled["payments"][0];
    assert_eq!(
        (debit["method_label"].as_str(), debit["collected"].as_bool()),
        (Some("Prélèvement SEPA"), Some(false)),
        "{debit:?}"
    );
    assert_eq!(debit["label"], "3,00\u{a0}€ à prélever le 15/12/2026 (Prélèvement SEPA)");
    let listed = get(&p, &format!("/api/towns/{TOWN}/families/bernard/invoices"), &claire).await;
    assert_eq!(listed[0]["status"], "debit_scheduled", "{listed:?}");
    // No receipt before the money is received.
    let receipt = format!("/api/towns/{TOWN}/families/bernard/payments/Q-2026-000001/pdf");
    assert_problem(&p.get(&receipt, Some(&claire)).await, 409, "debit_not_collected");
    // The town's side: not received, not owed by the family, not late, not on the unpaid list.
    let account = get(&p, &staff_account("bernard"), &admin).await;
    assert_eq!(account["balance"], json!({"invoiced": 300, "credited": 0, "paid": 0, "scheduled": 300, "balance": 0}));
    assert_eq!(account["payments"][0]["method_label"], "Prélèvement SEPA");
    let unpaid = get(&p, &format!("/api/towns/{TOWN}/staff/invoices/unpaid"), &admin).await;
    assert!(unpaid["invoices"].as_array().unwrap().iter().all(|i| i["family"] != "bernard"), "{unpaid:?}");
    // The PDF says when it is debited, never « direct_debit ».
    let (pdf, _) = crate::helpers::raw_get(&p.router, &format!("{BERNARD}/pdf"), &claire.cookie).await;
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
    assert!(text.contains("Prélèvement prévu le 15/12/2026"), "{text}");
    assert!(!text.contains("direct_debit") && !text.contains("À payer avant le 01/12/2026"), "{text}");
    for m in p.deliver().await {
        assert!(!m.content.text.contains("direct_debit"), "{}", m.content.text);
    }

    // The collection date comes without a rejection: paid, from that day.
    p.clock.set("2026-12-15T08:00:00Z".parse().unwrap());
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let paid = get(&p, BERNARD, &claire).await;
    assert_eq!((paid["status"].as_str(), paid["status_label"].as_str()), (Some("paid"), Some("Payée")));
    assert_eq!(paid["direct_debit"], "3,00\u{a0}€ prélevés le 15/12/2026 sur le compte FR76 •••• 0189");
    assert_eq!(paid["payments"][0]["label"], "3,00\u{a0}€ prélevés le 15/12/2026 (Prélèvement SEPA)");
    let account = get(&p, &staff_account("bernard"), &admin).await;
    assert_eq!(account["balance"], json!({"invoiced": 300, "credited": 0, "paid": 300, "scheduled": 0, "balance": 0}));
    let (pdf, kind) = crate::helpers::raw_get(&p.router, &receipt, &claire.cookie).await;
    assert_eq!(kind, "application/pdf");
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the receipt parses");
    assert!(text.contains("Prélèvement SEPA") && !text.contains("direct_debit"), "{text}");

    // A rejection after the date: to pay again, late (its own due date has passed).
    let reject = format!("{}/payments/Q-2026-000001/reject", staff_account("bernard"));
    assert_eq!(p.post(&reject, json!({"reason": "AM04 provision insuffisante"}), Some(&admin)).await.status, 200);
    let owed = get(&p, BERNARD, &claire).await;
    assert_eq!(
        (owed["status"].as_str(), owed["left_to_pay"].as_i64(), owed["due_on"].as_str()),
        (Some("late"), Some(300), Some("2026-12-01"))
    );
    assert_eq!(owed["payments"][0]["label"], "Prélèvement de 3,00\u{a0}€ du 15/12/2026 rejeté par la banque");
    let account = get(&p, &staff_account("bernard"), &admin).await;
    assert_eq!(account["balance"]["balance"], 300);
    p.stop().await;
}

#[tokio::test]
async fn an_invoice_is_not_cancelled_while_paid_online_and_not_paid_online_once_cancelled() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let cancel = |family: &str| format!("{}/2026-10/cancel", staff_account(family));
    // Payment started, then the cancellation: refused while PayFiP has not answered, even past
    // the hour while the operation is not settled.
    let started = p.post(&format!("{MARTIN}/payfip"), json!({}), Some(&sophie)).await;
    assert_eq!(started.status, 201, "{:?}", started.json);
    let idop = started.json["idop"].as_str().unwrap().to_owned();
    let why = json!({"reason": "Erreur de facturation"});
    assert_problem(&p.post(&cancel("martin"), why.clone(), Some(&admin)).await, 409, "payment_in_progress");
    p.clock.advance(chrono::TimeDelta::minutes(61));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    assert_problem(&p.post(&cancel("martin"), why.clone(), Some(&admin)).await, 409, "payment_in_progress");
    assert!(p.payfip().decide(&idop, "P", None));
    let body = format!("idop={idop}").into_bytes();
    let hs = [("content-type", "application/x-www-form-urlencoded")];
    let notified = call(&p.router, "POST", &format!("/api/towns/{TOWN}/payfip/notification"), &hs, Some(body)).await;
    assert_eq!(notified.json["state"], "paid", "{:?}", notified.json);
    let martin = get(&p, &staff_account("martin"), &admin).await;
    assert_eq!(martin["invoices"][0]["status"], "paid");
    assert_eq!(martin["balance"]["balance"], 0, "{:?}", martin["balance"]);

    // Cancelled first, then « Payer en ligne »: refused, nothing paid, nothing owed either way.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let cancelled = p.post(&cancel("bernard"), why, Some(&admin)).await;
    assert_eq!(cancelled.status, 201, "{:?}", cancelled.json);
    assert_problem(&p.post(&format!("{BERNARD}/payfip"), json!({}), Some(&claire)).await, 422, "invoice_cancelled");
    let bernard = get(&p, &staff_account("bernard"), &admin).await;
    assert_eq!((bernard["balance"]["paid"].as_i64(), bernard["balance"]["balance"].as_i64()), (Some(0), Some(0)));
    p.stop().await;
}

#[tokio::test]
async fn a_counter_payment_is_not_dated_before_its_invoice() {
    let p = portal().await;
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let desk = format!("{}/2026-10/payments", staff_account("martin"));
    for day in ["1900-01-01", "2026-10-31"] {
        let r = p.post(&desk, json!({"method": "cash", "amount": 500, "received_on": day}), Some(&agent)).await;
        assert_problem(&r, 422, "received_before_invoice");
        assert_eq!(r.json["field"], "received_on", "{:?}", r.json);
        assert!(r.json["title"].as_str().unwrap().contains("01/11/2026"), "{:?}", r.json);
    }
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    assert_eq!(get(&p, MARTIN, &sophie).await["paid"], 0, "nothing recorded");
    let on_issue = json!({"method": "cash", "amount": 500, "received_on": "2026-11-01"});
    assert_eq!(p.post(&desk, on_issue, Some(&agent)).await.status, 201);
    p.stop().await;
}

/// « Payer en ligne » and « Annuler la facture » at the same moment, on both invoices of the demo
/// and on both stores: whichever lands first, the other is refused, and once PayFiP has paid
/// what was started, no invoice is both cancelled and paid, and no balance is negative.
pub(super) async fn a_cancellation_racing_an_online_payment_never_leaves_money_on_a_cancelled_invoice(
    store: store::Store,
) {
    let p = crate::helpers::portal_on(store).await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    for (family, email, uri) in
        [("martin", "sophie.martin@exemple.fr", MARTIN), ("bernard", "claire.bernard@exemple.fr", BERNARD)]
    {
        let guardian = p.login(TOWN, email, PASSWORD).await.unwrap();
        let cancel = format!("{}/2026-10/cancel", staff_account(family));
        let pay = format!("{uri}/payfip");
        let (started, cancelled) = tokio::join!(
            p.post(&pay, json!({}), Some(&guardian)),
            p.post(&cancel, json!({"reason": "Erreur de facturation"}), Some(&admin)),
        );
        assert!(!(started.status == 201 && cancelled.status == 201), "{family}: both went through");
        assert!([201, 409, 422].contains(&started.status) && [201, 409].contains(&cancelled.status), "{family}");
        if started.status == 201 {
            let idop = started.json["idop"].as_str().unwrap();
            assert!(p.payfip().decide(idop, "P", None));
            let hs = [("content-type", "application/x-www-form-urlencoded")];
            let body = Some(format!("idop={idop}").into_bytes());
            call(&p.router, "POST", &format!("/api/towns/{TOWN}/payfip/notification"), &hs, body).await;
        }
        let account = get(&p, &staff_account(family), &admin).await;
        let invoice = &account["invoices"][0];
        assert!(!(invoice["status"] == "cancelled" && invoice["paid"].as_i64() > Some(0)), "{family}: {invoice:?}");
        assert!(account["balance"]["balance"].as_i64() >= Some(0), "{family}: {:?}", account["balance"]);
    }
    p.stop().await;
}

crate::helpers::both_backends!(a_cancellation_racing_an_online_payment_never_leaves_money_on_a_cancelled_invoice);
