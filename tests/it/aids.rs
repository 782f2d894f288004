//! Aids deducted on the invoice end to end (issue 28, part 3), on both stores: the demo town
//! gives the CAF's « aide aux temps libres », 3,00 € a day at the leisure centre for a QF up to
//! 600. The Bernards (QF 540) have Noé at the Wednesday centre on 18 and 25 November (marked
//! present without a booking: the late price, 5,00 € + 3,00 €); their current month, then
//! November's invoice, show the aid as its own line and owe 16,00 € − 6,00 €; the PDF prints it,
//! the PES title asks 10,00 €, and a credit note cannot give back the aid.

use crate::helpers::{Browser, TOWN, TestPortal, assert_french_typography, assert_problem, portal_on, raw_get};
use serde_json::{Value, json};
use store::Store;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;
const LABEL: &str = "Aide CAF temps libres\u{202f}: −3,00\u{a0}€ × 2\u{a0}jours";

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

async fn present(p: &TestPortal, agent: &Browser, date: &str) {
    let marks = json!([{"child": "noe-bernard-petit", "mark": "present_unbooked"}]);
    let r = p
        .post(&api("/staff/attendance"), json!({"date": date, "unit": "alsh-mercredi", "marks": marks}), Some(agent))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

fn aids(bill: &Value) -> Vec<(String, i64)> {
    bill["aids"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| (x["label"].as_str().unwrap_or("").to_owned(), x["amount"].as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

async fn an_aid_for_qf_up_to_600_shows_on_the_bernards_next_invoice(store: Store) {
    let p = portal_on(store).await;
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    present(&p, &agent, "2026-11-18").await;
    present(&p, &agent, "2026-11-25").await;

    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let now = p.get(&api("/families/bernard/invoices/current"), Some(&claire)).await;
    assert_eq!(now.status, 200, "{:?}", now.json);
    assert_eq!(aids(&now.json["forecast"]), [(LABEL.to_owned(), 600)], "{:?}", now.json);
    assert_eq!(now.json["forecast"]["total"], 1000);
    assert_eq!(now.json["forecast"]["aids"][0]["child_name"], "Noé Bernard-Petit");
    // The Martins (QF 850) earn nothing.
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let theirs = p.get(&api("/families/martin/invoices/current"), Some(&sophie)).await;
    assert!(aids(&theirs.json["forecast"]).is_empty(), "{:?}", theirs.json);

    // Wednesday 2 December: November is billed and published.
    p.clock.advance(chrono::TimeDelta::days(6));
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let preview = p.get(&api("/staff/invoices/preview?month=2026-11"), Some(&admin)).await;
    let bernard = preview.json["bills"].as_array().unwrap().iter().find(|b| b["family"] == "bernard").cloned();
    assert_eq!(bernard.as_ref().map(|b| b["total"].clone()), Some(json!(1000)), "{:?}", preview.json);
    let r = p.post(&api("/staff/invoices/runs/2026-11/finalise"), json!({}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = p.post(&api("/staff/invoices/runs/2026-11/publish"), json!({"on": "2026-12-02"}), Some(&admin)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let claire = p.login(TOWN, "claire.bernard@exemple.fr", PASSWORD).await.unwrap();
    let invoice = p.get(&api("/families/bernard/invoices/2026-11"), Some(&claire)).await;
    assert_eq!(invoice.status, 200, "{:?}", invoice.json);
    assert_eq!(aids(&invoice.json), [(LABEL.to_owned(), 600)]);
    assert_eq!(invoice.json["aids"][0]["dates_text"], "18 et 25/11");
    let lines: i64 = invoice.json["lines"].as_array().unwrap().iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!((lines, invoice.json["total"].as_i64()), (1600, Some(1000)), "the lines less the aid");
    assert_french_typography("the aid's line", LABEL);

    let (pdf, kind) = raw_get(&p.router, &api("/families/bernard/invoices/2026-11/pdf"), &claire.cookie).await;
    assert_eq!(kind, "application/pdf");
    let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
    for expected in ["Aide CAF temps libres", "× 2", "−6,00", "10,00"] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }

    // A credit note gives back what the family paid for the line (16,00 € less 6,00 € of aid).
    let credit = api("/staff/invoices/families/bernard/2026-11/credit-notes");
    let over = p.post(&credit, json!({"reason": "Erreur", "lines": [{"line": 0, "amount": 1001}]}), Some(&admin)).await;
    assert_problem(&over, 422, "credit_over_line");

    // The title asks what the family owes.
    let made = p.post(&api("/staff/invoices/runs/2026-11/pes"), json!({}), Some(&admin)).await;
    assert_eq!(made.status, 201, "{:?}", made.json);
    let id = made.json["file"]["id"].as_str().unwrap().to_owned();
    let (bytes, _) = raw_get(&p.router, &api(&format!("/staff/invoices/pes/{id}")), &admin.cookie).await;
    let root = crate::pes::parse(&bytes);
    let piece = root
        .at("PES_RecetteAller")
        .all("Bordereau")
        .flat_map(|b| b.all("Piece"))
        .find(|piece| piece.at("LigneDePiece").val("Tiers/InfoTiers/Nom") == "BERNARD")
        .expect("the Bernards' title");
    let sum: f64 =
        piece.all("LigneDePiece").map(|l| l.val("BlocLignePiece/InfoLignePiece/MtHT").parse::<f64>().unwrap()).sum();
    assert_eq!(format!("{sum:.2}"), "10.00");

    // What the town claims from the CAF for 2026: Noé's two days, 6,00 €.
    let claim = p.get(&api("/staff/invoices/aids?year=2026"), Some(&admin)).await;
    assert_eq!(claim.status, 200, "{:?}", claim.json);
    let lines: Vec<(&str, &str, &str, i64, i64)> = claim.json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or("");
            (
                text("funder"),
                text("month"),
                text("child_name"),
                l["days"].as_i64().unwrap_or(-1),
                l["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [("caf", "2026-11", "Noé Bernard-Petit", 2, 600)]);
    assert_eq!(claim.json["totals"][0]["amount"], 600);
    let (csv, kind) = raw_get(&p.router, &api("/staff/invoices/aids?year=2026&format=csv"), &admin.cookie).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("Aide CAF temps libres;CAF;2026-11;"), "{csv}");
    assert!(csv.trim_end().ends_with(";2;6,00"), "{csv}");
    assert_problem(&p.get(&api("/staff/invoices/aids?year=26"), Some(&admin)).await, 400, "invalid_year");
    assert_problem(&p.get(&api("/staff/invoices/aids?year=2026"), Some(&claire)).await, 403, "forbidden");
    p.stop().await;
}

crate::helpers::both_backends!(an_aid_for_qf_up_to_600_shows_on_the_bernards_next_invoice);

/// Sibling reductions counting the children enrolled (issue 28 §3, « or enrolled »): the
/// administrator sets 20 % off the canteen from the second enrolled child; the Martins' current
/// month ranks their enrolled children from the eldest, and every canteen day of the younger ones
/// is billed 20 % less, whether or not the eldest is booked that day.
#[tokio::test]
async fn siblings_enrolled_at_the_canteen_pay_less_from_the_second() {
    let p = crate::helpers::portal().await;
    // Tuesday 1 December: Sophie books Hugo and Jade (not Léa, the eldest) at the canteen on
    // Monday the 7th.
    p.clock.advance(chrono::TimeDelta::days(5));
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let base = api("/families/martin/basket");
    let booked: Vec<Value> = ["hugo-martin", "jade-martin"]
        .map(|c| json!({"child": c, "unit": "cantine", "date": "2026-12-07", "action": "add"}))
        .to_vec();
    let lines = json!({ "lines": booked });
    let added = p.send("POST", &format!("{base}/lines"), Some(lines), &sophie, &[]).await;
    assert_eq!(added.status, 200, "{:?}", added.json);
    let body = json!({"basket_revision": added.json["revision"]});
    let r = p
        .send("POST", &format!("{base}/validate"), Some(body), &sophie, &[("idempotency-key", "siblings-enrolled")])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let before = p.get(&api("/families/martin/invoices/current"), Some(&sophie)).await;
    assert_eq!(before.status, 200, "{:?}", before.json);
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let uri = api("/staff/config");
    let view = p.get(&uri, Some(&admin)).await.json;
    let mut config = view["config"].clone();
    for a in config["activities"].as_array_mut().unwrap() {
        for u in a["units"].as_array_mut().unwrap() {
            if u["id"] == "cantine" {
                u["price"]["siblings"] = json!({"count": "enrolled", "reductions": [{"from_child": 2, "percent": 20}]});
            }
        }
    }
    let r = p.send("PUT", &uri, Some(json!({"version": view["version"], "config": config})), &admin, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let after = p.get(&api("/families/martin/invoices/current"), Some(&sophie)).await;
    let reduced: Vec<Value> = after.json["forecast"]["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l["unit"] == "cantine" && l["rule"].as_str().unwrap_or("").contains("enfant inscrit"))
        .collect();
    let rank = |child: &str| {
        reduced.iter().find(|l| l["child"] == child).and_then(|l| l["rule"].as_str()).unwrap_or("").to_owned()
    };
    assert!(
        rank("hugo-martin").ends_with("deuxième enfant inscrit\u{202f}: −20\u{202f}%, soit 2,00\u{a0}€"),
        "{reduced:?}"
    );
    assert!(rank("jade-martin").contains("troisième enfant inscrit\u{202f}: −20\u{202f}%"), "{reduced:?}");
    assert!(rank("lea-martin").is_empty(), "Léa, the eldest, pays in full: {reduced:?}");
    // What changed is 20 % of the younger children's canteen days, nothing else.
    let amount: i64 = reduced.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    let full: i64 =
        reduced.iter().map(|l| l["unit_price"].as_i64().unwrap() * 100 / 80 * l["quantity"].as_i64().unwrap()).sum();
    assert_eq!(amount, full * 80 / 100);
    assert_eq!(
        before.json["forecast"]["total"].as_i64().unwrap() - after.json["forecast"]["total"].as_i64().unwrap(),
        full - amount
    );
    assert_french_typography(&after.json["forecast"]["lines"].to_string(), "the lines");
    p.stop().await;
}
