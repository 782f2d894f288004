//! The yearly tax certificate for childcare (issue 28, part 2), end to end on the demo town:
//! the Martins' November invoice (billed on 2 December) paid at the régie in 2026; in January
//! 2027 Sophie downloads her
//! 2026 certificate: Jade (born 25 January 2021, under 6 on 1 January 2026) is on it with the
//! care part of what was paid for her (the demo's `billing.tax_certificate`), Hugo (6 since
//! July 2025) and Léa are not; the total in figures and in words. Before the year is over, and
//! for another family, there is none.

use crate::helpers::{TOWN, portal, raw_get};
use serde_json::json;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

/// The demo's care percentages.
fn care_percent(unit: &str) -> i64 {
    match unit {
        "cantine" => 30,
        "peri-matin" | "peri-soir" => 100,
        "alsh-mercredi" | "alsh-vacances" => 80,
        _ => 0,
    }
}

#[tokio::test]
async fn sophie_downloads_her_2026_certificate_for_her_youngest_child_matching_what_she_paid_for_care() {
    let p = portal().await;
    // Jade at the canteen and the evening care on Friday 27 November (booked by an agent).
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let jade = |unit: &str| json!({"child": "jade-martin", "unit": unit, "date": "2026-11-27", "action": "add"});
    let body = json!({"lines": [jade("cantine"), jade("peri-soir")]});
    let staff_uri = api("/staff/families/martin/bookings");
    let booked = p.send("POST", &staff_uri, Some(body), &agent, &[("idempotency-key", "jade-care-key-0001")]).await;
    assert_eq!(booked.status, 200, "{:?}", booked.json);
    p.clock.set("2026-12-02T09:00:00Z".parse().unwrap());
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    loop {
        let run = p.post(&api("/staff/invoices/runs/2026-11/finalise"), json!({}), Some(&admin)).await;
        assert_eq!(run.status, 200, "{:?}", run.json);
        if run.json["remaining"] == 0 {
            break;
        }
    }
    let invoice = p.get(&api("/families/martin/invoices/2026-11"), Some(&admin)).await.json;
    let total = invoice["total"].as_i64().unwrap();
    let jade_care: i64 = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["child"] == "jade-martin")
        .map(|l| l["amount"].as_i64().unwrap() * care_percent(l["unit"].as_str().unwrap()))
        .sum();
    assert!(jade_care > 0, "the demo bills Jade's care in November: {invoice:?}");
    let pay = api("/staff/invoices/families/martin/2026-11/payments");
    let paid = p.post(&pay, json!({"method": "cash", "amount": total}), Some(&admin)).await;
    assert_eq!(paid.status, 201, "{:?}", paid.json);

    let pdf = api("/families/martin/tax-certificates/2026/pdf");
    // Not before the year is over.
    let early = p.get(&pdf, Some(&sophie)).await;
    assert_eq!((early.status, early.json["code"].as_str()), (404, Some("year_not_over")));

    p.clock.set("2027-01-05T09:00:00Z".parse().unwrap());
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let (bytes, kind) = raw_get(&p.router, &pdf, &sophie.cookie).await;
    assert_eq!(kind, "application/pdf", "{}", String::from_utf8_lossy(&bytes));
    crate::helpers::keep_pdf("certificate", &bytes);
    let facts =
        crate::helpers::assert_accessible_pdf(&bytes, "Attestation fiscale AF-2026-martin — Villeneuve-les-Tilleuls");
    crate::helpers::assert_structure(
        &facts,
        &["H1", "P", "H2", "P", "Table", "TR", "TH", "TH", "TH", "TR", "TD", "TH", "TD", "P"],
    );
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("the PDF parses");
    crate::helpers::assert_french_typography("the tax certificate PDF", &text);
    let expected = domain::Cents::new(total * jade_care / (total * 100)).unwrap();
    assert!(text.contains("AF-2026-martin") && text.contains("ATTESTATION FISCALE"), "{text}");
    assert!(text.contains("Jade Martin") && text.contains("25/01/2021"), "{text}");
    assert!(!text.contains("Hugo Martin") && !text.contains("Léa Martin"), "{text}");
    assert!(text.contains(&expected.to_string()), "{expected} in {text}");
    assert!(text.contains(&domain::words::euros(expected)), "{text}");
    assert!(text.contains("Le Maire de Villeneuve-les-Tilleuls") && text.contains("200 quater B"), "{text}");

    // The Bernards paid nothing in 2026: no certificate; nor for another household than one's own.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let none = p.get(&api("/families/bernard/tax-certificates/2026/pdf"), Some(&claire)).await;
    assert_eq!((none.status, none.json["code"].as_str()), (404, Some("no_tax_certificate")));
    let theirs = p.get(&pdf, Some(&claire)).await;
    assert!([403, 404].contains(&theirs.status) && theirs.json["code"] != "no_tax_certificate", "{:?}", theirs.json);
    let bad = p.get(&api("/families/martin/tax-certificates/26/pdf"), Some(&sophie)).await;
    assert_eq!((bad.status, bad.json["code"].as_str()), (400, Some("invalid_year")));
    // Staff read any household's.
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let (_, kind) = raw_get(&p.router, &pdf, &admin.cookie).await;
    assert_eq!(kind, "application/pdf");

    // Published: each household with a certificate emailed once, the others not; audited.
    let certificate_mails = |mails: &[local_portal::devmail::Sent]| {
        mails.iter().filter(|m| m.content.subject.contains("attestation fiscale")).count()
    };
    let publish = api("/staff/invoices/tax-certificates/2026/publish");
    assert_eq!(p.post(&publish, json!({}), Some(&sophie)).await.status, 403);
    let done = p.post(&publish, json!({}), Some(&admin)).await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    assert_eq!(done.json, json!({"emailed": 1, "without": 3, "remaining": 0}));
    let mails = p.deliver().await;
    assert_eq!(certificate_mails(&mails), 2, "one to each of the Martins' two guardians");
    let to: Vec<&str> =
        mails.iter().filter(|m| m.content.subject.contains("attestation fiscale")).map(|m| m.to.as_str()).collect();
    assert!(to.contains(&"sophie.martin@exemple.fr") && !to.iter().any(|t| t.contains("bernard")), "{to:?}");
    let mail = mails.iter().find(|m| m.to.as_str() == "sophie.martin@exemple.fr").unwrap();
    assert!(
        mail.content.text.contains("Jade Martin") && mail.content.text.contains(&expected.to_string()),
        "{}",
        mail.content.text
    );
    let again = p.post(&publish, json!({}), Some(&admin)).await;
    assert_eq!(again.json, json!({"emailed": 0, "without": 0, "remaining": 0}));
    assert_eq!(certificate_mails(&p.deliver().await), 2, "never twice");
    let trail = store::audit::page(&p.store, &domain::TownId::parse(TOWN).unwrap(), 20, None).await.unwrap().0;
    assert!(trail.iter().any(|e| e.action == "invoices.tax_certificates_publish"), "{trail:?}");
    p.stop().await;
}
