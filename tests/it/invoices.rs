//! « Mes factures »: a family's month to date and as booked to its end, the administrator's dry
//! run, finalisation and publication of a month, the invoice's PDF, contests, credit notes and
//! cancellations. The test clock starts on Thursday 26 November 2026; the
//! demo's Martins (quotient familial 850) had Léa at the canteen on the 16th (present), 17th
//! (absent) and 19th (absent with a certificate), and have Léa's canteen and Hugo's evening care
//! booked on Monday the 30th.

use crate::helpers::{TOWN, assert_problem, portal};
use serde_json::Value;

fn lines(bill: &Value) -> Vec<(String, String, i64, i64)> {
    bill["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["rule"].as_str().unwrap().to_owned(),
                l["dates_text"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
                l["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_family_sees_its_month_so_far_and_to_its_end_by_the_invoices_rules() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let r = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/current"), Some(&sophie)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!((r.json["month"].as_str(), r.json["label"].as_str()), (Some("2026-11"), Some("novembre 2026")));
    let justified = ("Absence justifiée (certificat médical) : non facturée".to_owned(), "19/11".to_owned(), 1, 0);
    let canteen = "Tarif QF 601–1000 €, résident : 2,50\u{a0}€".to_owned();
    assert_eq!(lines(&r.json["so_far"]), [justified.clone(), (canteen.clone(), "16 et 17/11".into(), 2, 500)]);
    assert_eq!(r.json["so_far"]["total"], 500);
    let forecast = lines(&r.json["forecast"]);
    assert!(forecast.contains(&(canteen, "16, 17 et 30/11".into(), 3, 750)), "{forecast:?}");
    assert!(
        forecast.contains(&("Tarif de base, résident : 2,50\u{a0}€".into(), "30/11".into(), 1, 250)),
        "{forecast:?}"
    );
    assert_eq!(r.json["forecast"]["total"], 1000);
    // Another family's month is not found, like a family that does not exist.
    let other = p.get(&format!("/api/towns/{TOWN}/families/bernard/invoices/current"), Some(&sophie)).await;
    assert_problem(&other, 404, "unknown_family");
    p.stop().await;
}

#[tokio::test]
async fn the_administrator_previews_a_month_and_nothing_is_written() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/staff/invoices/preview");
    let november = p.get(&format!("{uri}?month=2026-11"), Some(&admin)).await;
    assert_eq!(november.status, 200, "{:?}", november.json);
    assert_eq!(
        (november.json["complete"].as_bool(), november.json["label"].as_str()),
        (Some(false), Some("novembre 2026"))
    );
    let martin =
        november.json["bills"].as_array().unwrap().iter().find(|b| b["family"] == "martin").expect("the Martins");
    assert_eq!(martin["total"], 1000);
    assert_eq!(
        november.json["total"],
        november.json["bills"].as_array().unwrap().iter().map(|b| b["total"].as_i64().unwrap()).sum::<i64>()
    );
    // By default the last month: October, billed by the demo (Léa 4 × 2,50 €, Noé 3 × 1,00 €).
    let last = p.get(&uri, Some(&admin)).await;
    assert_eq!((last.json["month"].as_str(), last.json["total"].as_i64()), (Some("2026-10"), Some(1300)));
    assert_problem(&p.get(&format!("{uri}?month=2026-13"), Some(&admin)).await, 400, "invalid_month");
    assert_problem(&p.get(&format!("{uri}?month=2027-01"), Some(&admin)).await, 422, "future_month");
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.get(&uri, Some(&agent)).await, 403, "forbidden");
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.get(&uri, Some(&sophie)).await, 403, "forbidden");
    // The dry run wrote nothing: the same answer again.
    assert_eq!(p.get(&format!("{uri}?month=2026-11"), Some(&admin)).await.json, november.json);
    p.stop().await;
}

#[tokio::test]
async fn the_administrator_finalises_a_month_once_and_the_family_reads_its_invoice() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let finalise = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/finalise");
    assert_problem(&p.post(&finalise, serde_json::json!({}), Some(&admin)).await, 422, "month_not_over");
    // Wednesday 2 December: November is over.
    p.clock.advance(chrono::TimeDelta::days(6));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let first = p.post(&finalise, serde_json::json!({}), Some(&admin)).await;
    assert_eq!(first.status, 200, "{:?}", first.json);
    assert_eq!(
        (first.json["issued"].as_i64(), first.json["remaining"].as_i64()),
        (Some(1), Some(0)),
        "{:?}",
        first.json
    );
    // The demo's October took the first two numbers of 2026.
    assert_eq!(first.json["numbers"], serde_json::json!(["2026-000003", "2026-000003"]));
    let again = p.post(&finalise, serde_json::json!({}), Some(&admin)).await;
    assert_eq!((again.json["issued"].as_i64(), again.json["invoices"].as_i64()), (Some(0), Some(1)), "nothing twice");
    // The accounting export of October (the demo's two invoices), French spreadsheet style.
    let (csv, kind) = crate::helpers::raw_get(
        &p.router,
        &format!("/api/towns/{TOWN}/staff/invoices/runs/2026-10/export"),
        &admin.cookie,
    )
    .await;
    assert!(kind.starts_with("text/csv"));
    let text = String::from_utf8(csv).unwrap();
    let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows[0], "Numéro;Famille;Référence;Mois;Émise le;Échéance;Montant");
    assert_eq!(rows[1], "2026-000001;Famille Bernard;bernard;2026-10;01/11/2026;01/12/2026;3,00");
    assert_eq!(rows[2], "2026-000002;Famille Martin;martin;2026-10;01/11/2026;01/12/2026;10,00");
    assert_eq!(rows.len(), 3);

    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    // Finalised is not yet published: the family sees October only.
    let list = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices"), Some(&sophie)).await;
    assert_eq!(list.json.as_array().map(Vec::len), Some(1), "{:?}", list.json);
    let publish = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/publish");
    let r = p.post(&publish, serde_json::json!({"on": "2026-12-02"}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let list = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices"), Some(&sophie)).await;
    let numbers: Vec<(&str, &str, i64)> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["number"].as_str().unwrap(), i["month"].as_str().unwrap(), i["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(numbers, [("2026-000003", "2026-11", 1000), ("2026-000002", "2026-10", 1000)], "newest first");
    assert_eq!(list.json[0]["due_on"], "2027-01-01");
    let invoice = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/2026-11"), Some(&sophie)).await;
    assert_eq!(invoice.json["lines"].as_array().unwrap().len(), 3, "{:?}", invoice.json);
    assert_eq!(invoice.json["issued_by"], "mairie@villeneuve-les-tilleuls.fr");
    // Another family's invoice, or a month with none: not found.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/2026-11"), Some(&claire)).await,
        404,
        "unknown_family",
    );
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/2026-09"), Some(&sophie)).await,
        404,
        "unknown_invoice",
    );
    assert_problem(
        &p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/n-importe"), Some(&sophie)).await,
        404,
        "unknown_invoice",
    );
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&finalise, serde_json::json!({}), Some(&agent)).await, 403, "forbidden");
    // A billed month no longer changes: neither its register nor its bookings.
    let marks = serde_json::json!({"date": "2026-11-16", "unit": "cantine", "marks": [{"child": "lea-martin", "mark": "absent"}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/attendance"), marks, Some(&agent)).await;
    assert_problem(&r, 409, "month_billed");
    let late = serde_json::json!({"lines": [{"child": "lea-martin", "unit": "cantine", "date": "2026-11-24", "action": "add"}]});
    let r = p
        .send(
            "POST",
            &format!("/api/towns/{TOWN}/staff/families/martin/bookings"),
            Some(late),
            &agent,
            &[("idempotency-key", "facture-0000-0000-0001")],
        )
        .await;
    assert_problem(&r, 409, "month_billed");
    let again = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices/2026-11"), Some(&sophie)).await;
    assert_eq!(again.json, invoice.json, "the invoice is as issued");
    p.stop().await;
}

/// November finalised on Wednesday 2 December; the administrator publishes it for the 3rd.
async fn november_finalised(p: &crate::helpers::TestPortal) -> crate::helpers::Browser {
    p.clock.advance(chrono::TimeDelta::days(6));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let r = p
        .post(&format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/finalise"), serde_json::json!({}), Some(&admin))
        .await;
    assert_eq!(r.json["issued"], 1, "{:?}", r.json);
    admin
}

/// A month with nothing to bill, once finalised, is billed as a month with invoices is: its run
/// says so (with nothing to publish), and a late change of it is treated as a billed month's
/// (the register closed; a decision a régularisation).
#[tokio::test]
async fn a_month_with_nothing_to_bill_once_finalised_is_billed() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let preview = format!("/api/towns/{TOWN}/staff/invoices/preview?month=2026-09");
    let before = p.get(&preview, Some(&admin)).await;
    assert_eq!(
        (before.json["bills"].clone(), before.json["run"]["status"].clone()),
        (serde_json::json!([]), serde_json::json!("to_bill")),
        "{:?}",
        before.json
    );
    let finalise = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-09/finalise");
    let r = p.post(&finalise, serde_json::json!({}), Some(&admin)).await;
    assert_eq!(
        (r.status, r.json["issued"].as_i64(), r.json["invoices"].as_i64()),
        (200, Some(0), Some(0)),
        "{:?}",
        r.json
    );
    let run = p.get(&preview, Some(&admin)).await.json["run"].clone();
    assert_eq!(
        (run["status"].as_str(), run["billed_on"].as_str(), run["invoices"].as_i64()),
        (Some("billed"), Some("2026-11-26"), Some(0)),
        "{run}"
    );
    let again = p.post(&finalise, serde_json::json!({}), Some(&admin)).await;
    assert_eq!((again.status, again.json["issued"].as_i64()), (200, Some(0)), "finalising again is harmless");
    let runs = p.get(&format!("/api/towns/{TOWN}/staff/invoices/runs"), Some(&admin)).await;
    let september = runs.json.as_array().unwrap().iter().find(|r| r["month"] == "2026-09").cloned();
    assert_eq!(september.map(|r| r["status"].clone()), Some(serde_json::json!("billed")), "{:?}", runs.json);
    // Léa present on a September day without a booking: refused, as on a billed month.
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let marks = serde_json::json!({"date": "2026-09-15", "unit": "cantine", "marks": [{"child": "lea-martin", "mark": "present"}]});
    let r = p.post(&format!("/api/towns/{TOWN}/staff/attendance"), marks, Some(&agent)).await;
    assert_problem(&r, 409, "month_billed");
    // A staff booking of one of its days: refused, as on a billed month.
    let late = serde_json::json!({"lines": [{"child": "lea-martin", "unit": "cantine", "date": "2026-09-15", "action": "add"}]});
    let uri = format!("/api/towns/{TOWN}/staff/families/martin/bookings");
    let r = p.send("POST", &uri, Some(late), &agent, &[("idempotency-key", "vide-0000-0000-0001")]).await;
    assert_problem(&r, 409, "month_billed");
    assert!(
        store::repo::month_billed(
            &p.store,
            &domain::TownId::parse(TOWN).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
        )
        .await
        .unwrap()
    );
    p.stop().await;
}

fn subjects_to(mails: &[local_portal::devmail::Sent], to: &str) -> Vec<String> {
    mails.iter().filter(|m| m.to.as_str() == to).map(|m| m.content.subject.clone()).collect()
}

#[tokio::test]
async fn a_month_is_published_on_its_date_with_one_email_per_guardian_never_twice() {
    let p = portal().await;
    let admin = november_finalised(&p).await;
    let publish = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/publish");
    let past = p.post(&publish, serde_json::json!({"on": "2026-12-01"}), Some(&admin)).await;
    assert_problem(&past, 422, "publication_in_past");
    assert_problem(
        &p.post(&publish, serde_json::json!({"on": "2027-02-01"}), Some(&admin)).await,
        422,
        "publication_too_far",
    );
    let september = format!("/api/towns/{TOWN}/staff/invoices/runs/2026-09/publish");
    assert_problem(
        &p.post(&september, serde_json::json!({"on": "2026-12-03"}), Some(&admin)).await,
        422,
        "month_not_finalised",
    );
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&publish, serde_json::json!({"on": "2026-12-03"}), Some(&agent)).await, 403, "forbidden");
    let r = p.post(&publish, serde_json::json!({"on": "2026-12-03"}), Some(&admin)).await;
    assert_eq!(
        (r.status, r.json["notified"].as_i64(), r.json["remaining"].as_i64()),
        (200, Some(1), Some(0)),
        "{:?}",
        r.json
    );
    let again = p.post(&publish, serde_json::json!({"on": "2026-12-03"}), Some(&admin)).await;
    assert_eq!(again.json["notified"], 0, "nothing queued twice: {:?}", again.json);
    assert_problem(
        &p.post(&publish, serde_json::json!({"on": "2026-12-04"}), Some(&admin)).await,
        409,
        "already_published",
    );

    // Before the 3rd: not visible, not emailed.
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let invoice = format!("/api/towns/{TOWN}/families/martin/invoices/2026-11");
    assert_problem(&p.get(&invoice, Some(&sophie)).await, 404, "unknown_invoice");
    assert_problem(&p.get(&format!("{invoice}/pdf"), Some(&sophie)).await, 404, "unknown_invoice");
    let subject = "Votre facture de novembre 2026 est disponible – Villeneuve-les-Tilleuls";
    assert!(!subjects_to(&p.deliver().await, "sophie.martin@exemple.fr").contains(&subject.to_owned()));
    // On the 3rd at 8:00, both guardians have their email, once.
    p.clock.advance(chrono::TimeDelta::days(1));
    let mails = p.deliver().await;
    for guardian in ["sophie.martin@exemple.fr", "julien.martin@exemple.fr"] {
        let n = subjects_to(&mails, guardian).iter().filter(|s| *s == subject).count();
        assert_eq!(n, 1, "{guardian}: {:?}", subjects_to(&mails, guardian));
    }
    assert!(
        subjects_to(&mails, "claire.bernard@exemple.fr").iter().all(|s| s != subject),
        "nothing to pay in November"
    );
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let r = p.get(&invoice, Some(&sophie)).await;
    assert_eq!(
        (r.status, r.json["number"].as_str(), r.json["status"].as_str()),
        (200, Some("2026-000003"), Some("due"))
    );
    // The runs, for staff: count, total, publication.
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let runs = p.get(&format!("/api/towns/{TOWN}/staff/invoices/runs"), Some(&agent)).await;
    let runs: Vec<(String, i64, i64, Option<String>)> = runs
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let on = r["publication"]["on"].as_str().map(str::to_owned);
            (r["month"].as_str().unwrap().to_owned(), r["invoices"].as_i64().unwrap(), r["total"].as_i64().unwrap(), on)
        })
        .collect();
    assert_eq!(
        runs,
        [
            ("2026-11".into(), 1, 1000, Some("2026-12-03".into())),
            ("2026-10".into(), 2, 1300, Some("2026-11-01".into()))
        ]
    );
    p.stop().await;
}

#[tokio::test]
async fn the_pdf_holds_the_invoice_as_text_and_only_its_family_gets_it() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/families/martin/invoices/2026-10/pdf");
    let (pdf, kind) = crate::helpers::raw_get(&p.router, &uri, &sophie.cookie).await;
    assert_eq!(kind, "application/pdf");
    assert!(pdf.len() < 40_000, "{} bytes", pdf.len());
    crate::helpers::keep_pdf("invoice", &pdf);
    let facts = crate::helpers::assert_accessible_pdf(&pdf, "Facture 2026-000002 — Villeneuve-les-Tilleuls");
    crate::helpers::assert_structure(
        &facts,
        &["H1", "P", "H2", "Table", "TR", "TH", "TH", "TR", "TD", "H2", "P", "H2"],
    );
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
    crate::helpers::assert_french_typography("the invoice PDF", &text);
    for expected in [
        "FACTURE",
        "N° 2026-000002",
        "Famille Martin",
        // The family by its name, with its reference (not a bare id).
        "Famille Martin – référence martin",
        "12 rue des Acacias",
        "Léa Martin",
        "Total\u{202f}: 10,00\u{a0}€",
        "Régie enfance-jeunesse de Villeneuve-les-Tilleuls",
        "tribunal administratif de Cergy-Pontoise",
        "Le Maire de Villeneuve-les-Tilleuls, ordonnateur",
        "deux mois",
        "Données personnelles",
    ] {
        assert!(text.contains(expected), "« {expected} » missing from:\n{text}");
    }
    // Another family, another town, nobody: refused like an unknown family.
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.get(&uri, Some(&claire)).await, 404, "unknown_family");
    let other = crate::helpers::other_town_admin(&p).await;
    let r = p.get(&uri, Some(&other)).await;
    assert!([401, 403, 404].contains(&r.status), "{}", r.status);
    assert_eq!(p.get(&uri, None).await.status, 401);
    p.stop().await;
}

#[tokio::test]
async fn a_contested_line_is_answered_with_a_credit_note_and_the_invoice_never_changes() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let invoice_uri = format!("/api/towns/{TOWN}/families/martin/invoices/2026-10");
    let before = p.get(&invoice_uri, Some(&sophie)).await;
    assert_eq!((before.json["total"].as_i64(), before.json["status"].as_str()), (Some(1000), Some("due")));
    let contest = format!("{invoice_uri}/contests");
    let body = serde_json::json!({"line": 0, "message": "Léa était malade le 2, j'ai envoyé le certificat."});
    let r = p.post(&contest, body.clone(), Some(&sophie)).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_problem(&p.post(&contest, body.clone(), Some(&sophie)).await, 422, "already_contested");
    assert_problem(
        &p.post(&contest, serde_json::json!({"line": 9, "message": "x"}), Some(&sophie)).await,
        422,
        "unknown_line",
    );
    // Some days of a line may be contested, only the line's own.
    assert_problem(
        &p.post(&contest, serde_json::json!({"line": 0, "days": ["2026-10-03"], "message": "x"}), Some(&sophie)).await,
        422,
        "unknown_day",
    );
    assert_problem(
        &p.post(&contest, serde_json::json!({"line": 0, "message": " "}), Some(&sophie)).await,
        422,
        "message_required",
    );
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&contest, body.clone(), Some(&claire)).await, 404, "unknown_family");
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&p.post(&contest, body, Some(&agent)).await, 403, "staff_use_staff_routes");

    let queue = p.get(&format!("/api/towns/{TOWN}/staff/invoices/contests"), Some(&agent)).await;
    assert_eq!(queue.json.as_array().map(Vec::len), Some(1), "{:?}", queue.json);
    assert_eq!(queue.json[0]["family_name"], "Famille Martin");
    let id = queue.json[0]["id"].as_str().unwrap().to_owned();
    let decision = format!("/api/towns/{TOWN}/staff/invoices/contests/martin/{id}/decision");
    let too_much = serde_json::json!({"accept": true, "amount": 100_000, "reason": "Certificat reçu"});
    assert_problem(&p.post(&decision, too_much, Some(&agent)).await, 422, "credit_over_line");
    let accept = serde_json::json!({"accept": true, "amount": 250, "reason": "Certificat médical reçu pour le 2/10."});
    let r = p.post(&decision, accept.clone(), Some(&agent)).await;
    assert_eq!(
        (r.status, r.json["status"].as_str(), r.json["credit_note"].as_str()),
        (200, Some("accepted"), Some("AV-2026-000001")),
        "{:?}",
        r.json
    );
    assert_problem(&p.post(&decision, accept, Some(&agent)).await, 409, "contest_answered");
    assert_eq!(
        p.get(&format!("/api/towns/{TOWN}/staff/invoices/contests"), Some(&agent)).await.json,
        serde_json::json!([])
    );

    let after = p.get(&invoice_uri, Some(&sophie)).await;
    assert_eq!(after.json["lines"], before.json["lines"], "the invoice's lines are as issued");
    assert_eq!(
        (after.json["total"].as_i64(), after.json["credited"].as_i64(), after.json["left_to_pay"].as_i64()),
        (Some(1000), Some(250), Some(750))
    );
    assert_eq!(after.json["credit_notes"][0]["corrects"], "2026-000002");
    assert_eq!(after.json["contests"][0]["status"], "accepted");
    let mails = p.deliver().await;
    assert!(
        subjects_to(&mails, "sophie.martin@exemple.fr")
            .iter()
            .any(|s| s.starts_with("Votre contestation est acceptée"))
    );

    // The administrator's own credit note cannot give back more than is left; an agent cannot.
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let credit = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-10/credit-notes");
    let over = serde_json::json!({"reason": "Geste", "lines": [{"amount": 751}]});
    assert_problem(&p.post(&credit, over, Some(&admin)).await, 422, "credit_too_much");
    let zero = serde_json::json!({"reason": "Geste", "lines": [{"amount": 0}]});
    assert_problem(&p.post(&credit, zero, Some(&admin)).await, 422, "credit_nothing");
    let negative = serde_json::json!({"reason": "Geste", "lines": [{"amount": -5}]});
    assert_eq!(p.post(&credit, negative, Some(&admin)).await.status / 100, 4);
    let ok = serde_json::json!({"reason": "Geste", "lines": [{"amount": 100}]});
    assert_problem(&p.post(&credit, ok.clone(), Some(&agent)).await, 403, "forbidden");
    let r = p.post(&credit, ok, Some(&admin)).await;
    assert_eq!((r.status, r.json["number"].as_str()), (201, Some("AV-2026-000002")), "{:?}", r.json);
    // Cancelling gives back what is left, keeps the number, and cannot happen twice.
    let cancel = format!("/api/towns/{TOWN}/staff/invoices/families/martin/2026-10/cancel");
    assert_problem(&p.post(&cancel, serde_json::json!({"reason": ""}), Some(&admin)).await, 422, "reason_required");
    let r = p.post(&cancel, serde_json::json!({"reason": "Erreur de payeur"}), Some(&admin)).await;
    assert_eq!(
        (r.status, r.json["number"].as_str(), r.json["total"].as_i64()),
        (201, Some("AV-2026-000003"), Some(650)),
        "{:?}",
        r.json
    );
    assert_problem(
        &p.post(&cancel, serde_json::json!({"reason": "encore"}), Some(&admin)).await,
        422,
        "invoice_cancelled",
    );
    let list = p.get(&format!("/api/towns/{TOWN}/families/martin/invoices"), Some(&sophie)).await;
    assert_eq!(
        (list.json[0]["number"].as_str(), list.json[0]["status"].as_str()),
        (Some("2026-000002"), Some("cancelled"))
    );
    let account = p.get(&format!("/api/towns/{TOWN}/staff/invoices/families/martin"), Some(&agent)).await;
    assert_eq!(
        (account.json["balance"]["balance"].as_i64(), account.json["credit_notes"].as_array().map(Vec::len)),
        (Some(0), Some(3))
    );
    // A month's invoices with filters.
    let list = |q: &str| format!("/api/towns/{TOWN}/staff/invoices?month=2026-10{q}");
    let count = |r: crate::helpers::Reply| r.json.as_array().map(Vec::len);
    assert_eq!(count(p.get(&list(""), Some(&agent)).await), Some(2));
    assert_eq!(count(p.get(&list("&status=cancelled"), Some(&agent)).await), Some(1));
    assert_eq!(count(p.get(&list("&family=bern"), Some(&agent)).await), Some(1));
    assert_eq!(count(p.get(&list("&min=500"), Some(&agent)).await), Some(1));
    assert_eq!(count(p.get(&list("&status=paid"), Some(&agent)).await), Some(0));
    assert_problem(&p.get(&list("&status=soldee"), Some(&agent)).await, 400, "invalid_query");
    p.stop().await;
}

mod numbering {
    use chrono::{DateTime, NaiveDate, Utc};
    use domain::billing::Invoice;
    use domain::booking::{Actor, Booking, BookingStatus, ChangedBy, Slot, Terms};
    use domain::config::Town;
    use domain::family::{Child, Family};
    use domain::{Cents, ChildId, FamilyRef};
    use std::sync::Arc;
    use store::{Store, keys, repo};

    const FAMILIES: usize = 40;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// The demo town with 40 more families, each with one canteen booking in October 2026.
    async fn town_with_families(store: &Store) -> Arc<Town> {
        let (town, demo) = local_portal::demo_town_only(store).await.unwrap();
        let template_child = demo.children[0].clone();
        let restauration = town.config().activities.iter().find(|a| a.id.as_str() == "restauration").unwrap();
        for i in 0..FAMILIES {
            let child = Child { id: ChildId::parse(&format!("enfant-{i:02}")).unwrap(), ..template_child.clone() };
            let family = Family {
                address: Vec::new(),
                reference: FamilyRef::parse(&format!("famille-{i:02}")).unwrap(),
                name: format!("Famille {i}"),
                resident: true,
                quotient_familial: None,
                guardians: Vec::new(),
                children: vec![child.id.clone()],
            };
            repo::put_child(store, town.id(), &child).await.unwrap();
            repo::put_family(store, town.id(), &family).await.unwrap();
            let slot = Slot {
                child: child.id.clone(),
                family: family.reference.clone(),
                activity: restauration.id.clone(),
                site: restauration.sites[0].clone(),
                unit: restauration.units[0].id.clone(),
                date: NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
            };
            let terms = Terms {
                status: BookingStatus::Confirmed,
                price: Cents::new(380).unwrap(),
                late: false,
                waiting_list: false,
                rule: None,
            };
            let actor = Actor { by: "test", role: ChangedBy::Guardian, at: at("2026-09-20T10:00:00Z") };
            let b = Booking::book(None, slot, terms, actor);
            store.transact(vec![repo::booking_write(town.id(), &b, None).unwrap()]).await.unwrap();
        }
        town
    }

    async fn numbers(store: &Store, town: &Town) -> Vec<String> {
        let items = store
            .query_all(&store::Query::gsi1(
                keys::invoices_of_month(town.id(), domain::Month::parse("2026-10").unwrap()),
                store::SkRange::All,
            ))
            .await
            .unwrap();
        let mut n: Vec<String> = items.iter().map(|i| i.to_value::<Invoice>().unwrap().number).collect();
        n.sort();
        n
    }

    fn continuous() -> Vec<String> {
        (1..=FAMILIES as u64).map(|i| domain::billing::invoice_number(2026, i)).collect()
    }

    fn october() -> (NaiveDate, NaiveDate) {
        (NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap())
    }

    pub(super) async fn a_crash_halfway_then_a_retry_leaves_one_invoice_each_numbered_without_a_gap(store: Store) {
        let town = town_with_families(&store).await;
        let now = at("2026-11-03T09:00:00Z");
        // The first transaction (25 invoices) goes through, the second fails.
        let crashed = invoices::run::finalise(&store.failing_after(1), &town, october(), now, "admin").await;
        assert!(crashed.is_err());
        assert_eq!(numbers(&store, &town).await.len(), invoices::run::PER_TRANSACTION);
        let done = invoices::run::finalise(&store, &town, october(), now, "admin").await.unwrap();
        assert_eq!((done.issued, done.invoices), (FAMILIES - invoices::run::PER_TRANSACTION, FAMILIES));
        assert_eq!(numbers(&store, &town).await, continuous());
    }

    pub(super) async fn concurrent_finalisations_give_each_family_one_number_and_skip_none(store: Store) {
        let town = town_with_families(&store).await;
        let now = at("2026-11-03T09:00:00Z");
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let (store, town) = (store.clone(), town.clone());
                tokio::spawn(async move { invoices::run::finalise(&store, &town, october(), now, "admin").await })
            })
            .collect();
        let mut issued = 0;
        for r in runs {
            issued += r.await.unwrap().unwrap().issued;
        }
        assert_eq!(issued, FAMILIES, "each invoice issued by exactly one run");
        assert_eq!(numbers(&store, &town).await, continuous());
    }

    /// Eight credit notes at once on the same invoice, each of 40 % of it: two go through (80 %),
    /// the others are refused as too much; the numbers they took are 1 and 2, without a gap.
    pub(super) async fn concurrent_credit_notes_never_exceed_the_invoice_and_skip_no_number(store: Store) {
        use domain::credit::{CreditAsked, CreditNote};
        let town = town_with_families(&store).await;
        let now = at("2026-11-03T09:00:00Z");
        invoices::run::finalise(&store, &town, october(), now, "admin").await.unwrap();
        let family = FamilyRef::parse("famille-00").unwrap();
        let invoice: Invoice = store
            .get(&keys::invoice(town.id(), &family, domain::Month::parse("2026-10").unwrap()))
            .await
            .unwrap()
            .unwrap()
            .to_value()
            .unwrap();
        let part = Cents::new(invoice.total.get() * 40 / 100).unwrap();
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let (store, town, family) = (store.clone(), town.clone(), family.clone());
                tokio::spawn(async move {
                    let asked = [CreditAsked { line: None, amount: part }];
                    let purpose = invoices::corrections::Purpose::Correction;
                    invoices::corrections::issue(
                        (&store, "http://portail.test"),
                        &town,
                        &family,
                        domain::Month::parse("2026-10").unwrap(),
                        &asked,
                        "geste",
                        purpose,
                        now,
                        "admin",
                    )
                    .await
                    .map(|n| n.number)
                    .map_err(|p| p.code)
                })
            })
            .collect();
        let mut given = Vec::new();
        for t in tries {
            match t.await.unwrap() {
                Ok(number) => given.push(number),
                Err(code) => assert_eq!(code, "credit_too_much"),
            }
        }
        given.sort();
        assert_eq!(given, ["AV-2026-000001", "AV-2026-000002"]);
        let after: Invoice = store
            .get(&keys::invoice(town.id(), &family, domain::Month::parse("2026-10").unwrap()))
            .await
            .unwrap()
            .unwrap()
            .to_value()
            .unwrap();
        assert_eq!((after.credited, after.lines, after.total), (part.times(2), invoice.lines, invoice.total));
        let notes: Vec<CreditNote> =
            invoices::corrections::credit_notes_of(&store, town.id(), &family, 10).await.unwrap();
        assert_eq!(notes.len(), 2);
    }
}

use numbering::{
    a_crash_halfway_then_a_retry_leaves_one_invoice_each_numbered_without_a_gap,
    concurrent_credit_notes_never_exceed_the_invoice_and_skip_no_number,
    concurrent_finalisations_give_each_family_one_number_and_skip_none,
};

crate::helpers::both_backends!(
    a_crash_halfway_then_a_retry_leaves_one_invoice_each_numbered_without_a_gap,
    concurrent_finalisations_give_each_family_one_number_and_skip_none,
    concurrent_credit_notes_never_exceed_the_invoice_and_skip_no_number,
);

/// The billing screen reads names, not references, and where each month stands, so that
/// « Facturer » and « Publier » are offered only while they have something to do.
#[tokio::test]
async fn the_dry_run_names_families_children_and_units_and_says_where_the_month_stands() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let uri = format!("/api/towns/{TOWN}/staff/invoices/preview");
    let run = |v: &Value| {
        (
            v["run"]["status"].as_str().map(str::to_owned),
            v["run"]["billed_on"].as_str().map(str::to_owned),
            v["run"]["publication"]["on"].as_str().map(str::to_owned),
        )
    };
    // October, billed and published by the demo on 1 November.
    let october = p.get(&format!("{uri}?month=2026-10"), Some(&admin)).await;
    assert_eq!(october.status, 200, "{:?}", october.json);
    assert_eq!(run(&october.json), (Some("published".into()), Some("2026-11-01".into()), Some("2026-11-01".into())));
    let names: Vec<&str> =
        october.json["bills"].as_array().unwrap().iter().map(|b| b["family_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Famille Bernard", "Famille Martin"]);
    // November is over on Wednesday 2 December; the 30th was booked and not taken.
    p.clock.advance(chrono::TimeDelta::days(6));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let november = p.get(&format!("{uri}?month=2026-11"), Some(&admin)).await;
    assert_eq!(run(&november.json), (Some("to_bill".into()), None, None));
    let anomalies: Vec<(&str, &str, &str, &str)> = november.json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap();
            (s("kind"), s("family_name"), s("child_name"), s("unit_name"))
        })
        .collect();
    assert!(anomalies.contains(&("no_attendance", "Famille Martin", "Léa Martin", "Cantine")), "{anomalies:?}");
    let finalised = p
        .post(&format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/finalise"), serde_json::json!({}), Some(&admin))
        .await;
    assert_eq!(finalised.status, 200, "{:?}", finalised.json);
    let november = p.get(&format!("{uri}?month=2026-11"), Some(&admin)).await;
    assert_eq!(run(&november.json), (Some("billed".into()), Some("2026-12-02".into()), None));
    assert_eq!(november.json["run"]["invoices"], 1);
    let published = p
        .post(
            &format!("/api/towns/{TOWN}/staff/invoices/runs/2026-11/publish"),
            serde_json::json!({"on": "2026-12-04"}),
            Some(&admin),
        )
        .await;
    assert_eq!(published.status, 200, "{:?}", published.json);
    let november = p.get(&format!("{uri}?month=2026-11"), Some(&admin)).await;
    assert_eq!(run(&november.json), (Some("published".into()), Some("2026-12-02".into()), Some("2026-12-04".into())));
    // The runs' list says the same.
    let runs = p.get(&format!("/api/towns/{TOWN}/staff/invoices/runs"), Some(&admin)).await;
    assert_eq!(
        (runs.json[0]["status"].as_str(), runs.json[0]["billed_on"].as_str()),
        (Some("published"), Some("2026-12-02"))
    );
    p.stop().await;
}
