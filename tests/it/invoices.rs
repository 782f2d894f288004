//! « Mes factures », as built so far: a family's month to date and as booked to its end, and the
//! administrator's dry run of a month. The test clock starts on Thursday 26 November 2026; the
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
    // By default the last month: October, when the demo booked nothing.
    let last = p.get(&uri, Some(&admin)).await;
    assert_eq!((last.json["month"].as_str(), last.json["total"].as_i64()), (Some("2026-10"), Some(0)));
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
