//! Money after billing (issue 25): a credit note on a paid invoice is carried to the next
//! invoice and every page says where it went; a certificate accepted after billing proposes a
//! « régularisation » that staff issue as a credit note or that the next invoice carries; a
//! pending request never blocks a month's billing and is billed later once accepted; a line
//! names the rule that priced its booking whatever changed since. The test clock starts on
//! Thursday 26 November 2026; November is finalised on Wednesday 2 December (Martins' invoice
//! 2026-000003: Hugo's evening care of the 30th, Léa's justified 19th, Léa's canteen of the 16th,
//! 17th and 30th at 2,50 € — 10,00 € in all), December on Saturday 2 January 2027.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal};
use domain::TownId;
use domain::booking::Booking;
use serde_json::{Value, json};
use store::repo;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const ADMIN: &str = "mairie@villeneuve-les-tilleuls.fr";
const AGENT: &str = "agent@villeneuve-les-tilleuls.fr";

fn town() -> TownId {
    TownId::parse(TOWN).unwrap()
}

async fn finalise(p: &TestPortal, month: &str) -> Value {
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let r = p.post(&format!("/api/towns/{TOWN}/staff/invoices/runs/{month}/finalise"), json!({}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

async fn invoice(p: &TestPortal, b: &Browser, month: &str) -> Value {
    let r = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/{month}"), Some(b)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

/// November billed on 2 December.
async fn november_billed(p: &TestPortal) -> Browser {
    p.clock.advance(chrono::TimeDelta::days(6));
    let done = finalise(p, "2026-11").await;
    assert_eq!(done["numbers"], json!(["2026-000003", "2026-000003"]), "{done:?}");
    p.login(TOWN, ADMIN, PASSWORD).await.unwrap()
}

/// From 2 December to 2 January, and December billed.
async fn december_billed(p: &TestPortal) -> Browser {
    p.clock.advance(chrono::TimeDelta::days(31));
    finalise(p, "2026-12").await;
    p.login(TOWN, ADMIN, PASSWORD).await.unwrap()
}

/// The family's account: its balance must be what its invoices leave to pay (none overpaid).
async fn balance_is_what_is_left_to_pay(p: &TestPortal, admin: &Browser) -> i64 {
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/martin"), Some(admin)).await;
    assert_eq!(account.status, 200, "{:?}", account.json);
    let left: i64 =
        account.json["invoices"].as_array().unwrap().iter().map(|i| i["left_to_pay"].as_i64().unwrap()).sum();
    assert_eq!(account.json["balance"]["balance"].as_i64(), Some(left), "{:?}", account.json);
    left
}

fn subjects_and_texts(mails: &[local_portal::devmail::Sent], to: &str) -> Vec<(String, String)> {
    mails.iter().filter(|m| m.to.as_str() == to).map(|m| (m.content.subject.clone(), m.content.text.clone())).collect()
}

#[tokio::test]
async fn a_credit_note_on_a_paid_invoice_is_carried_to_the_next_invoice_and_every_page_says_so() {
    let p = portal().await;
    let admin = november_billed(&p).await;
    let base = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-11");
    let paid = p.post(&format!("{base}/payments"), json!({"method": "cash", "amount": 1000}), Some(&admin)).await;
    assert_eq!(paid.status, 201, "{:?}", paid.json);
    let note = p
        .post(
            &format!("{base}/credit-notes"),
            json!({"reason": "Repas non servi", "lines": [{"line": 2, "amount": 250}]}),
            Some(&admin),
        )
        .await;
    assert_eq!(note.status, 201, "{:?}", note.json);
    // Nothing was left to pay on November: the whole 2,50 € waits for the next invoice.
    assert_eq!(
        (note.json["deducted"].as_i64(), note.json["carried"].as_i64()),
        (Some(0), Some(250)),
        "{:?}",
        note.json
    );
    let november = invoice(&p, &admin, "2026-11").await;
    assert_eq!(november["left_to_pay"], 0);
    assert_eq!(november["credit_notes"][0]["destination"], "Sera déduit de votre prochaine facture");
    let mails = p.deliver().await;
    let sent = subjects_and_texts(&mails, "sophie.martin@exemple.fr");
    let (_, text) = sent.iter().find(|(s, _)| s.contains("avoir")).expect("the credit note's email");
    assert!(text.contains("Sera déduit de votre prochaine facture"), "{text}");
    assert!(!text.contains("Le montant est déduit de ce que vous devez"), "{text}");

    let admin = december_billed(&p).await;
    let december = invoice(&p, &admin, "2026-12").await;
    let number = december["number"].as_str().unwrap().to_owned();
    assert_eq!(
        december["deductions"],
        json!([{"label": "Avoir AV-2026-000001 (facture 2026-000003) : déduit", "amount": 250,
                "credit_note": "AV-2026-000001", "invoice": "2026-000003"}]),
        "{december:?}"
    );
    let total = december["total"].as_i64().unwrap();
    assert_eq!(december["left_to_pay"].as_i64(), Some(total - 250), "the lines stay whole, the deduction is below");
    let november = invoice(&p, &admin, "2026-11").await;
    assert_eq!(november["credit_notes"][0]["destination"], format!("Déduit de la facture {number}"));
    // The PDFs say the same.
    let pdf_text = |month: &'static str| {
        let (p, admin) = (&p, &admin);
        async move {
            let uri = format!("/api/towns/{TOWN}/families/martin/invoices/{month}/pdf");
            let (pdf, _) = crate::helpers::raw_get(&p.router, &uri, &admin.cookie).await;
            pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses")
        }
    };
    let text = pdf_text("2026-11").await;
    crate::helpers::assert_french_typography("the invoice PDF with a deduction", &text);
    assert!(text.contains(&format!("Déduit de la facture {number}")), "{text}");
    let text = pdf_text("2026-12").await;
    let (december_pdf, _) = crate::helpers::raw_get(
        &p.router,
        &format!("/api/towns/{TOWN}/families/martin/invoices/2026-12/pdf"),
        &admin.cookie,
    )
    .await;
    assert_eq!(crate::helpers::pdf_pages(&december_pdf), 1, "December's invoice on one page:\n{text}");
    assert!(text.contains("Avoir AV-2026-000001 (facture 2026-000003)\u{202f}: déduit"), "{text}");
    assert!(text.contains(&format!("Reste à payer\u{202f}: {}", domain::Cents::new(total - 250).unwrap())), "{text}");
    // The balance is invoices − payments − credit notes: October's 10,00 € (the demo's, unpaid)
    // and what December leaves to pay.
    assert_eq!(balance_is_what_is_left_to_pay(&p, &admin).await, 1000 + total - 250);
    // Finalising December again deducts nothing twice.
    let again = finalise(&p, "2026-12").await;
    assert_eq!(again["issued"], 0);
    assert_eq!(invoice(&p, &admin, "2026-12").await["deductions"].as_array().map(Vec::len), Some(1));
    p.stop().await;
}

#[tokio::test]
async fn a_partly_paid_invoice_takes_what_is_left_and_a_carried_amount_can_be_refunded() {
    let p = portal().await;
    let admin = november_billed(&p).await;
    let base = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-11");
    let paid = p.post(&format!("{base}/payments"), json!({"method": "cash", "amount": 900}), Some(&admin)).await;
    assert_eq!(paid.status, 201, "{:?}", paid.json);
    let note = p
        .post(
            &format!("{base}/credit-notes"),
            json!({"reason": "Geste", "lines": [{"line": 2, "amount": 250}]}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (note.json["deducted"].as_i64(), note.json["carried"].as_i64()),
        (Some(100), Some(150)),
        "{:?}",
        note.json
    );
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.status, 200, "{:?}", queue.json);
    let carried =
        queue.json.as_array().unwrap().iter().find(|r| r["credit_note"] == "AV-2026-000001").expect("carried");
    assert_eq!((carried["delta"].as_i64(), carried["left"].as_i64()), (Some(-150), Some(150)), "{carried:?}");
    let id = carried["id"].as_str().unwrap();
    let refund = format!("/api/towns/{TOWN}/staff/invoices/regularisations/martin/{id}/refund");
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    assert_problem(&p.post(&refund, json!({}), Some(&agent)).await, 403, "forbidden");
    let r = p.post(&refund, json!({}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_problem(&p.post(&refund, json!({}), Some(&admin)).await, 409, "regularisation_closed");
    let november = invoice(&p, &admin, "2026-11").await;
    assert_eq!(
        november["credit_notes"][0]["destination"],
        "1,00\u{a0}€ déduit du reste à payer de la facture 2026-000003 ; 1,50\u{a0}€ remboursé le 02/12/2026"
    );
    // Refunded: December deducts nothing, and the balance counts the refund.
    let admin = december_billed(&p).await;
    let december = invoice(&p, &admin, "2026-12").await;
    assert_eq!(december["deductions"], json!([]));
    let total = december["total"].as_i64().unwrap();
    assert_eq!(balance_is_what_is_left_to_pay(&p, &admin).await, 1000 + total);
    p.stop().await;
}

/// Léa's certificate for the 17th, sent by Sophie and accepted by the agent.
async fn certificate_accepted(p: &TestPortal, from: &str, to: &str) -> Value {
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let bytes = crate::documents::pdf();
    let body = json!({
        "kind": "certificat-absence", "child": "lea-martin", "file_name": "Certificat Léa.pdf",
        "content_type": "application/pdf", "size": bytes.len(), "absence": {"from": from, "to": to}
    });
    let doc = crate::documents::send_file(p, &sophie, "martin", body, bytes).await;
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/staff/documents/martin/{}/decision", doc["id"].as_str().unwrap());
    let r = p.send("POST", &uri, Some(json!({"decision": "accept"})), &agent, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    r.json
}

/// A booking's régularisation that gives money back, refunded by the régie instead of deducted:
/// the refund and what it gives back cancel out in the balance (the family still owes both its
/// invoices whole, having had 2,50 € back).
#[tokio::test]
async fn a_refunded_regularisation_is_not_counted_twice_in_the_balance() {
    let p = portal().await;
    november_billed(&p).await;
    certificate_accepted(&p, "2026-11-17", "2026-11-17").await;
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    let id = queue.json[0]["id"].as_str().expect("the régularisation").to_owned();
    let refund = format!("/api/towns/{TOWN}/staff/invoices/regularisations/martin/{id}/refund");
    let r = p.post(&refund, json!({}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/martin"), Some(&admin)).await;
    // October's 10,00 € and November's 10,00 €, nothing paid.
    assert_eq!(account.json["balance"]["balance"].as_i64(), Some(2000), "{:?}", account.json["balance"]);
    p.stop().await;
}

#[tokio::test]
async fn a_certificate_accepted_after_billing_is_corrected_on_the_next_invoice() {
    let p = portal().await;
    november_billed(&p).await;
    let accepted = certificate_accepted(&p, "2026-11-17", "2026-11-17").await;
    assert_eq!(accepted["justified_bookings"], 1, "{accepted:?}");
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.status, 200, "{:?}", queue.json);
    let open = queue.json.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let r = &open[0];
    assert_eq!(
        (r["family"].as_str(), r["family_name"].as_str(), r["child"].as_str(), r["unit"].as_str(), r["date"].as_str()),
        (Some("martin"), Some("Famille Martin"), Some("lea-martin"), Some("cantine"), Some("2026-11-17"))
    );
    assert_eq!((r["invoice"].as_str(), r["delta"].as_i64()), (Some("2026-000003"), Some(-250)), "{r:?}");
    // The invoice itself never changes.
    assert_eq!(invoice(&p, &admin, "2026-11").await["total"], 1000);

    let admin = december_billed(&p).await;
    let december = invoice(&p, &admin, "2026-12").await;
    assert_eq!(
        december["deductions"],
        json!([{"label": "Régularisation facture 2026-000003 : absence justifiée du 17/11 (Léa Martin, Cantine)",
                "amount": 250, "invoice": "2026-000003"}]),
        "{december:?}"
    );
    let total = december["total"].as_i64().unwrap();
    assert_eq!(december["left_to_pay"].as_i64(), Some(total - 250));
    assert_eq!(balance_is_what_is_left_to_pay(&p, &admin).await, 1000 + 1000 + total - 250);
    // Nothing is corrected twice: the queue is empty, a second run deducts nothing more.
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.json, json!([]));
    finalise(&p, "2026-12").await;
    assert_eq!(invoice(&p, &admin, "2026-12").await["deductions"].as_array().map(Vec::len), Some(1));
    p.stop().await;
}

#[tokio::test]
async fn staff_issue_a_proposed_correction_at_once_as_a_credit_note_emailed_once() {
    let p = portal().await;
    november_billed(&p).await;
    certificate_accepted(&p, "2026-11-16", "2026-11-18").await;
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    // The 16th was present: only the 17th is justified.
    let open = queue.json.as_array().unwrap().clone();
    assert_eq!(open.len(), 1, "{open:?}");
    let id = open[0]["id"].as_str().unwrap();
    let issue = format!("/api/towns/{TOWN}/staff/invoices/regularisations/martin/{id}/credit-note");
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    assert_problem(&p.post(&issue, json!({}), Some(&agent)).await, 403, "forbidden");
    let note = p.post(&issue, json!({}), Some(&admin)).await;
    assert_eq!(note.status, 201, "{:?}", note.json);
    assert_eq!(
        (note.json["number"].as_str(), note.json["corrects"].as_str(), note.json["total"].as_i64()),
        (Some("AV-2026-000001"), Some("2026-000003"), Some(250))
    );
    assert_eq!(note.json["lines"][0]["label"], "Régularisation : absence justifiée du 17/11 (Léa Martin, Cantine)");
    assert_problem(&p.post(&issue, json!({}), Some(&admin)).await, 409, "regularisation_closed");
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.json, json!([]));
    let november = invoice(&p, &admin, "2026-11").await;
    assert_eq!((november["credited"].as_i64(), november["left_to_pay"].as_i64()), (Some(250), Some(750)));
    let mails = p.deliver().await;
    let notes = subjects_and_texts(&mails, "sophie.martin@exemple.fr");
    let emailed: Vec<_> = notes.iter().filter(|(_, t)| t.contains("AV-2026-000001")).collect();
    assert_eq!(emailed.len(), 1, "{notes:?}");
    assert!(emailed[0].1.contains("Déduit du reste à payer de la facture 2026-000003"), "{}", emailed[0].1);
    // December then carries nothing of it.
    let admin = december_billed(&p).await;
    assert_eq!(invoice(&p, &admin, "2026-12").await["deductions"], json!([]));
    p.stop().await;
}

#[tokio::test]
async fn a_pending_request_never_blocks_billing_and_is_billed_next_month_once_accepted() {
    let p = portal().await;
    // Hugo's request for the centre on Wednesday 25 November still waits at the month's end.
    let demo = domain::config::Town::parse(local_portal::DEMO_TOWN.as_bytes()).unwrap();
    let unit = domain::UnitId::parse("alsh-mercredi").unwrap();
    let (activity, _) = demo.unit(&unit).unwrap();
    let b: Booking = serde_json::from_value(json!({
        "child": "hugo-martin", "family": "martin", "activity": activity.id, "site": activity.sites[0],
        "unit": "alsh-mercredi", "date": "2026-11-25", "status": "pending", "price": 850,
        "updated_at": p.clock.now(), "version": 1
    }))
    .unwrap();
    p.store.transact(vec![repo::booking_write(&town(), &b, None).unwrap()]).await.unwrap();

    p.clock.advance(chrono::TimeDelta::days(6));
    let done = finalise(&p, "2026-11").await;
    assert_eq!(done["issued"], 1, "{done:?}");
    let pending: Vec<&Value> =
        done["anomalies"].as_array().unwrap().iter().filter(|a| a["kind"] == "pending_request").collect();
    assert_eq!(pending.len(), 1, "{done:?}");
    assert_eq!((pending[0]["child"].as_str(), pending[0]["date"].as_str()), (Some("hugo-martin"), Some("2026-11-25")));
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    assert_eq!(invoice(&p, &admin, "2026-11").await["total"], 1000, "the request is not billed");

    // Accepted in December: a correction of +8,50 € citing November's invoice.
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let decision =
        json!({"decisions": [{"child": "hugo-martin", "unit": "alsh-mercredi", "date": "2026-11-25", "accept": true}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/requests/decisions"), decision, Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    let open = queue.json.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!((open[0]["delta"].as_i64(), open[0]["invoice"].as_str()), (Some(850), Some("2026-000003")));
    // December's dry run already shows the line its invoice will carry.
    let preview = p.get(&format!("/api/towns/{TOWN}/staff/invoices/preview?month=2026-12"), Some(&admin)).await;
    assert_eq!(preview.status, 200, "{:?}", preview.json);
    let martin = preview.json["bills"].as_array().unwrap().iter().find(|b| b["family"] == "martin").unwrap().clone();
    assert!(
        martin["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rule"] == "Régularisation facture 2026-000003 : demande acceptée du 25/11"),
        "{martin:?}"
    );

    let admin = december_billed(&p).await;
    let december = invoice(&p, &admin, "2026-12").await;
    let line = december["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rule"].as_str().unwrap().starts_with("Régularisation"))
        .unwrap_or_else(|| panic!("{december:?}"));
    assert_eq!(line["rule"], "Régularisation facture 2026-000003 : demande acceptée du 25/11");
    assert_eq!(
        (line["child"].as_str(), line["amount"].as_i64(), line["dates_text"].as_str()),
        (Some("hugo-martin"), Some(850), Some("25/11"))
    );
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.json, json!([]));
    p.stop().await;
}

#[tokio::test]
async fn a_line_keeps_naming_the_bracket_that_priced_it_after_a_qf_change() {
    let p = portal().await;
    let martin = domain::FamilyRef::parse("martin").unwrap();
    let mut family = repo::get_family(&p.store, &town(), &martin).await.unwrap().unwrap();
    family.quotient_familial = Some(500);
    repo::put_family(&p.store, &town(), &family).await.unwrap();
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let r = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/current"), Some(&sophie)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let rules: Vec<&str> =
        r.json["forecast"]["lines"].as_array().unwrap().iter().map(|l| l["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"Tarif QF 601–1000 €, résident : 2,50\u{a0}€"), "{rules:?}");
    assert!(!rules.iter().any(|r| r.starts_with("Tarif de la réservation")), "{rules:?}");
    p.stop().await;
}

/// A refund and December's finalisation racing for the same carried credit note: the store
/// orders them, the money goes one way only (a deduction or a refund, never both, never none),
/// and the balance stays what the invoices leave to pay.
pub(super) async fn a_refund_racing_the_next_invoice_settles_the_carried_amount_once(store: store::Store) {
    let p = crate::helpers::portal_on(store).await;
    let admin = november_billed(&p).await;
    let base = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-11");
    let paid = p.post(&format!("{base}/payments"), json!({"method": "cash", "amount": 1000}), Some(&admin)).await;
    assert_eq!(paid.status, 201, "{:?}", paid.json);
    let body = json!({"reason": "Repas non servi", "lines": [{"line": 2, "amount": 250}]});
    let note = p.post(&format!("{base}/credit-notes"), body, Some(&admin)).await;
    assert_eq!(note.json["carried"], 250, "{:?}", note.json);
    p.clock.advance(chrono::TimeDelta::days(31));
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let refund = format!("/api/towns/{TOWN}/staff/invoices/regularisations/martin/AV-2026-000001/refund");
    let finalise = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-12/finalise");
    let (refunded, finalised) =
        tokio::join!(p.post(&refund, json!({}), Some(&admin)), p.post(&finalise, json!({}), Some(&admin)));
    assert_eq!(finalised.status, 200, "{:?}", finalised.json);
    let december = invoice(&p, &admin, "2026-12").await;
    let deducted = december["deductions"].as_array().unwrap().len();
    match refunded.status {
        200 => assert_eq!(deducted, 0, "refunded, then not deducted: {december:?}"),
        409 => assert_eq!(deducted, 1, "deducted, then not refunded: {december:?}"),
        other => panic!("{other}: {:?}", refunded.json),
    }
    let total = december["total"].as_i64().unwrap();
    let expected = if deducted == 1 { 1000 + total - 250 } else { 1000 + total };
    assert_eq!(balance_is_what_is_left_to_pay(&p, &admin).await, expected);
    p.stop().await;
}

crate::helpers::both_backends!(
    a_refund_racing_the_next_invoice_settles_the_carried_amount_once,
    two_changes_of_a_billed_month_written_in_turn,
    two_changes_of_a_billed_month_written_the_other_way
);

/// Thirty waiting-list requests of one family, still waiting when their month was billed,
/// accepted at once afterwards: each a booking, its régularisation, its day's closure check and
/// its counter — more than one transaction of DynamoDB's 100 actions holds, so they are written
/// in several.
#[tokio::test]
async fn thirty_requests_of_a_billed_month_accepted_at_once_are_all_applied() {
    let p = portal().await;
    let store = p.store.clone();
    let (family, child) = crate::operations::families(&store, "nombreux", 1, &[("alsh", "centre-les-tilleuls")])
        .await
        .pop()
        .expect("a family");
    let mut decisions = Vec::new();
    // Every day of December but the 9th, which the demo closes for the ALSH.
    for day in (1..=31).filter(|d| *d != 9) {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, day).expect("date");
        let queued = Some(p.clock.now());
        let site = "centre-les-tilleuls";
        crate::operations::book(&store, &family, &child, "alsh", site, "alsh-vacances", date, queued).await;
        decisions.push(json!({"child": child.id, "unit": "alsh-vacances", "date": date, "accept": true}));
    }
    // Monday 4 January: December is billed with the thirty requests still waiting.
    p.clock.set("2027-01-04T08:00:00Z".parse().expect("instant"));
    finalise(&p, "2026-12").await;
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/staff/requests/decisions");
    let r = p.post(&uri, json!({"decisions": decisions}), Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let results = r.json.as_array().expect("results");
    assert_eq!(results.len(), 30);
    assert!(results.iter().all(|d| d["status"] == "confirmed"), "{results:?}");
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    let theirs = queue.json.as_array().expect("queue").iter().filter(|r| r["family"] == "nombreux01").count();
    assert_eq!(theirs, 30, "one régularisation each: {:?}", queue.json);
    p.stop().await;
}

/// A family with more open régularisations than one transaction can settle (95, each a carried
/// credit of 1 centime) is still invoiced: its invoice settles 88 and the others wait for the
/// next one.
#[tokio::test]
async fn a_family_with_more_regularisations_than_a_transaction_holds_is_still_invoiced() {
    use domain::regularisation::{Regularisation, What};
    use store::regularisations;
    let p = portal().await;
    let martin = domain::FamilyRef::parse("martin").unwrap();
    let one = domain::Cents::new(1).unwrap();
    let ops: Vec<_> = (0..95)
        .map(|i| {
            let r = Regularisation {
                id: format!("AV-2026-{i:06}"),
                family: martin.clone(),
                invoice: Some("2026-000002".into()),
                month: domain::Month::parse("2026-10").unwrap(),
                delta: -1,
                left: one,
                what: What::CreditNote { credit_note: format!("AV-2026-{i:06}") },
                aids: Vec::new(),
                settled: Vec::new(),
                at: p.clock.now(),
                by: ADMIN.into(),
                version: 0,
            };
            regularisations::create(&town(), &r).unwrap()
        })
        .collect();
    for chunk in ops.chunks(90) {
        p.store.transact(chunk.to_vec()).await.unwrap();
    }
    november_billed(&p).await;
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let november = invoice(&p, &admin, "2026-11").await;
    assert_eq!(november["deductions"].as_array().map(Vec::len), Some(88), "{november:?}");
    let open = regularisations::of_family(&p.store, &town(), &martin, "").await.unwrap();
    assert_eq!(open.iter().filter(|r| r.is_open()).count(), 7, "the rest waits for the next invoice");
    p.stop().await;
}

/// Two changes of one family's billed month computed at once (two agents accepting two
/// certificates): each from the month without the other. Whichever is written first, the
/// second is refused by the month's mark and, computed again, counts the first; the month then
/// costs what it costs billed again with both.
async fn two_changes_of_a_billed_month_at_once(store: store::Store, (first, second): (usize, usize)) {
    use store::regularisations;
    let p = crate::helpers::portal_on(store).await;
    november_billed(&p).await;
    let town_id = town();
    let (town, _) = store::repo::stored_town(&p.store, &town_id).await.unwrap().unwrap();
    let november = domain::Month::parse("2026-11").unwrap();
    let lea = domain::ChildId::parse("lea-martin").unwrap();
    let booked = store::repo::bookings(&p.store, &town_id, &lea, november.first(), november.last()).await.unwrap();
    let days: Vec<_> = booked
        .into_iter()
        .filter(|b| b.can_be_justified() && b.price > domain::Cents::ZERO && b.family.as_str() == "martin")
        .take(2)
        .collect();
    assert_eq!(days.len(), 2, "two of Léa's billed days in November");
    let excused: Vec<_> = days.iter().map(|b| b.justify(p.clock.now()).expect("justifiable")).collect();
    let ops = |i: usize| {
        let change = [(&days[i], &excused[i])];
        let (p, town) = (&p, &town);
        async move { regularisations::billed_changes(&p.store, town, &change, (p.clock.now(), AGENT)).await }
    };
    let (a, b) = (ops(0).await.unwrap(), ops(1).await.unwrap());
    let (a, b) = if first == 0 { (a, b) } else { (b, a) };
    p.store.transact(a).await.unwrap();
    assert!(
        matches!(p.store.transact(b).await, Err(store::StoreError::TransactionCanceled { .. })),
        "the second, computed without the first, is refused"
    );
    p.store.transact(ops(second).await.unwrap()).await.unwrap();
    let martin = domain::FamilyRef::parse("martin").unwrap();
    let made = regularisations::of_family(&p.store, &town_id, &martin, "2026-11-").await.unwrap();
    let given: i64 = made.iter().map(|r| r.delta).sum();
    let want: i64 = -days.iter().map(|b| b.price.get()).sum::<i64>();
    assert_eq!((made.len(), given), (2, want), "{made:?}");
    p.stop().await;
}

pub(super) async fn two_changes_of_a_billed_month_written_in_turn(store: store::Store) {
    two_changes_of_a_billed_month_at_once(store, (0, 1)).await;
}

pub(super) async fn two_changes_of_a_billed_month_written_the_other_way(store: store::Store) {
    two_changes_of_a_billed_month_at_once(store, (1, 0)).await;
}

/// A request of a billed month accepted while its family had no invoice of it (its month billed
/// for others), then the month finalised again: the family's invoice of that month bills the
/// day, and the régularisation the acceptance made is settled by it, not billed a second time
/// on the next month's.
#[tokio::test]
async fn a_change_before_the_familys_invoice_of_its_month_is_billed_once() {
    let p = portal().await;
    let demo = domain::config::Town::parse(local_portal::DEMO_TOWN.as_bytes()).unwrap();
    let unit = domain::UnitId::parse("alsh-mercredi").unwrap();
    let (activity, _) = demo.unit(&unit).unwrap();
    let b: Booking = serde_json::from_value(json!({
        "child": "emma-nguyen", "family": "nguyen", "activity": activity.id, "site": activity.sites[0],
        "unit": "alsh-mercredi", "date": "2026-11-25", "status": "pending", "price": 1800,
        "updated_at": p.clock.now(), "version": 1
    }))
    .unwrap();
    p.store.transact(vec![repo::booking_write(&town(), &b, None).unwrap()]).await.unwrap();
    p.clock.advance(chrono::TimeDelta::days(6));
    let done = finalise(&p, "2026-11").await;
    assert_eq!(done["issued"], 1, "the Martins only: {done:?}");
    let agent = p.login(TOWN, AGENT, PASSWORD).await.unwrap();
    let decision =
        json!({"decisions": [{"child": "emma-nguyen", "unit": "alsh-mercredi", "date": "2026-11-25", "accept": true}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/requests/decisions"), decision, Some(&agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    let open = queue.json.as_array().unwrap();
    assert_eq!((open.len(), open[0]["delta"].as_i64(), open[0]["invoice"].as_str()), (1, Some(1800), None), "{open:?}");
    // November finalised again: the Nguyens' invoice of November bills the day.
    let again = finalise(&p, "2026-11").await;
    assert_eq!(again["issued"], 1, "{again:?}");
    let nguyen = p.get(&format!("/api/towns/{TOWN}/families/nguyen/invoices/2026-11"), Some(&admin)).await;
    assert_eq!((nguyen.status, nguyen.json["total"].as_i64()), (200, Some(1800)), "{:?}", nguyen.json);
    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/regularisations"), Some(&admin)).await;
    assert_eq!(queue.json, json!([]), "settled by November's invoice");
    // December bills nothing of it again.
    december_billed(&p).await;
    let admin = p.login(TOWN, ADMIN, PASSWORD).await.unwrap();
    let december = p.get(&format!("/api/towns/{TOWN}/families/nguyen/invoices/2026-12"), Some(&admin)).await;
    assert_eq!(december.status, 404, "no December invoice for the Nguyens: {:?}", december.json);
    p.stop().await;
}

/// A régularisation that gave an aid stays where the aids' ceilings find it once settled (the
/// town's « aided » index), as while open (the open queue).
#[tokio::test]
async fn a_settled_regularisation_with_an_aid_still_counts_for_the_ceiling() {
    use domain::regularisation::{AidDelta, Regularisation, What};
    use store::regularisations;
    let p = portal().await;
    let r = Regularisation {
        id: "2026-11-25.noe-bernard-petit.alsh-mercredi.v3".into(),
        family: domain::FamilyRef::parse("bernard").unwrap(),
        invoice: Some("2026-000004".into()),
        month: domain::Month::parse("2026-11").unwrap(),
        delta: 500,
        left: domain::Cents::new(500).unwrap(),
        what: What::Booking {
            child: domain::ChildId::parse("noe-bernard-petit").unwrap(),
            child_name: "Noé Bernard-Petit".into(),
            unit: domain::UnitId::parse("alsh-mercredi").unwrap(),
            unit_name: "ALSH mercredi".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            reason: "demande acceptée".into(),
        },
        aids: vec![AidDelta {
            aid: domain::AidId::parse("caf-atl").unwrap(),
            child: domain::ChildId::parse("noe-bernard-petit").unwrap(),
            amount: 300,
        }],
        settled: Vec::new(),
        at: p.clock.now(),
        by: AGENT.into(),
        version: 0,
    };
    p.store.transact(vec![regularisations::create(&town(), &r).unwrap()]).await.unwrap();
    let ids = |rs: Vec<Regularisation>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(regularisations::aided(&p.store, &town()).await.unwrap()), std::slice::from_ref(&r.id), "open");
    let settled = r.refunded(chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), ADMIN);
    p.store.transact(vec![regularisations::settle(&town(), &r, &settled).unwrap()]).await.unwrap();
    assert!(regularisations::open(&p.store, &town()).await.unwrap().is_empty());
    assert_eq!(ids(regularisations::aided(&p.store, &town()).await.unwrap()), std::slice::from_ref(&r.id), "settled");
    p.stop().await;
}
