//! The CAF's « heures réalisées » end to end (issue 28, part 3), on every backend: on the demo
//! town (evening care 2 h, the Wednesday centre 10 h, the canteen 2 h), the agent takes three
//! registers of November: Jade (5, a Martin, resident) and Hugo (7) at the evening care on
//! Monday 23, Jade again on Tuesday 24, Emma (9, the Nguyens, non-resident) at the centre on
//! Wednesday 18. November's figures and the year's follow, as JSON and as the CSV for the
//! declaration; guardians and another town are refused, and a bad period says why.

use crate::helpers::{Browser, TOWN, TestPortal, assert_problem, portal_on, raw_get};
use serde_json::{Value, json};
use store::Store;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

async fn register(p: &TestPortal, agent: &Browser, date: &str, unit: &str, children: &[&str]) {
    let marks: Vec<Value> = children.iter().map(|c| json!({"child": c, "mark": "present_unbooked"})).collect();
    let r = p.post(&api("/staff/attendance"), json!({"date": date, "unit": unit, "marks": marks}), Some(agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

fn unit(report: &Value, id: &str) -> Value {
    report["units"].as_array().and_then(|u| u.iter().find(|u| u["unit"] == id)).cloned().unwrap_or(Value::Null)
}

fn figures(sessions: u32, minutes: u32, children: u32) -> Value {
    json!({"sessions": sessions, "minutes": minutes, "children": children})
}

async fn the_caf_hours_count_what_the_registers_say(store: Store) {
    let p = portal_on(store).await;
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    register(&p, &agent, "2026-11-23", "peri-soir", &["jade-martin", "hugo-martin"]).await;
    register(&p, &agent, "2026-11-24", "peri-soir", &["jade-martin"]).await;
    register(&p, &agent, "2026-11-18", "alsh-mercredi", &["emma-nguyen"]).await;

    let nov = p.get(&api("/staff/caf-hours?month=2026-11"), Some(&agent)).await;
    assert_eq!(nov.status, 200, "{:?}", nov.json);
    let soir = unit(&nov.json, "peri-soir");
    assert_eq!(soir["duration_minutes"], 120);
    assert_eq!(soir["total"]["under_6_resident"], figures(2, 240, 1), "Jade, two evenings");
    assert_eq!(soir["total"]["six_and_over_resident"], figures(1, 120, 1), "Hugo");
    assert_eq!(soir["total"]["all"], figures(3, 360, 2));
    let centre = unit(&nov.json, "alsh-mercredi");
    assert_eq!(centre["total"]["six_and_over_non_resident"], figures(1, 600, 1), "Emma");
    assert_eq!(centre["total"]["all"], figures(1, 600, 1));

    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let year = p.get(&api("/staff/caf-hours?year=2026"), Some(&admin)).await;
    assert_eq!(year.status, 200, "{:?}", year.json);
    let soir = unit(&year.json, "peri-soir");
    assert_eq!(soir["months"].as_array().map(Vec::len), Some(12));
    assert_eq!(soir["months"][10]["all"], figures(3, 360, 2), "November");
    assert_eq!(soir["total"]["all"], figures(3, 360, 2), "nothing else this year");
    // The demo's canteen: Léa four days and Noé three in October, Léa present on Monday 16
    // November (absent on the 17th, justified on the 19th): eight meals' breaks of 2 h.
    let cantine = unit(&year.json, "cantine");
    assert_eq!(cantine["total"]["six_and_over_resident"], figures(8, 960, 2), "{cantine:?}");
    assert_eq!(cantine["months"][9]["all"], figures(7, 840, 2), "October");

    let (bytes, kind) = raw_get(&p.router, &api("/staff/caf-hours?year=2026&format=csv"), &admin.cookie).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with(
        "\u{feff}Prestation;Période;Tranche d’âge;Résidence;Séances;Heures réalisées;Enfants distincts\n"
    ));
    for row in [
        "Périscolaire soir;novembre 2026;moins de 6 ans;résident;2;4,00;1",
        "Périscolaire soir;novembre 2026;6 ans et plus;résident;1;2,00;1",
        "Périscolaire soir;année 2026;total;total;3;6,00;2",
        "ALSH mercredi (journée);année 2026;6 ans et plus;non résident;1;10,00;1",
    ] {
        assert!(text.lines().any(|l| l == row), "{row} in\n{text}");
    }
    let (bytes, _) = raw_get(&p.router, &api("/staff/caf-hours?month=2026-11&format=csv"), &agent.cookie).await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.lines().any(|l| l == "Périscolaire soir;novembre 2026;total;total;3;6,00;2"), "{text}");

    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    assert_problem(&p.get(&api("/staff/caf-hours?year=2026"), Some(&sophie)).await, 403, "forbidden");
    let other = crate::helpers::other_town_admin(&p).await;
    assert_eq!(p.get(&api("/staff/caf-hours?year=2026"), Some(&other)).await.status, 401);
    for (query, code) in [
        ("year=26", "invalid_year"),
        ("year=2026&month=2026-11", "invalid_period"),
        ("", "invalid_period"),
        ("month=2026-13", "invalid_month"),
        ("year=2026&format=xls", "invalid_format"),
        ("year=2026&week=1", "invalid_query"),
    ] {
        assert_problem(&p.get(&api(&format!("/staff/caf-hours?{query}")), Some(&admin)).await, 400, code);
    }
    p.stop().await;
}

crate::helpers::all_backends!(the_caf_hours_count_what_the_registers_say);
