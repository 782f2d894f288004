//! Family import by staff: CSV as French spreadsheets write it, or JSON; a per-row report;
//! nothing written when a row is wrong, unless asked; re-importing is a no-op.

use crate::helpers::{Browser, Reply, TOWN, TestPortal, assert_problem, call, portal};
use serde_json::json;

const HEADER: &str = "famille_reference;famille_nom;quotient_familial;residente;responsable1_prenom;responsable1_nom;responsable1_email;responsable1_telephone;responsable2_prenom;responsable2_nom;responsable2_email;responsable2_telephone;enfant_id;enfant_prenom;enfant_nom;enfant_naissance;ecole;classe;sante_regime;inscriptions;inscription_debut;inscription_fin";

fn row(family: u32, child: u32) -> String {
    format!(
        "F{family:05};Famille {family};640;oui;Alex;Nom{family};parent{family}@exemple.fr;06 00 00 00 00;;;;;E{family:05}-{child};Enfant{child};Nom{family};12/05/2018;Jules Ferry;CE2;;restauration@ecole-jules-ferry|alsh@centre-les-tilleuls:alsh-mercredi;01/09/2026;03/07/2027"
    )
}

async fn agent(p: &TestPortal) -> Browser {
    p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap()
}

async fn import(p: &TestPortal, b: &Browser, query: &str, content_type: &str, body: Vec<u8>) -> Reply {
    call(
        &p.router,
        "POST",
        &format!("/api/towns/{TOWN}/staff/families/import{query}"),
        &[("content-type", content_type), ("cookie", &b.cookie), ("x-csrf-token", &b.csrf)],
        Some(body),
    )
    .await
}

async fn family_count(p: &TestPortal) -> usize {
    store::repo::all_families(&p.store, &domain::TownId::parse(TOWN).unwrap()).await.unwrap().len()
}

#[tokio::test]
async fn a_french_csv_with_bom_imports_and_each_new_guardian_gets_an_email() {
    let p = portal().await;
    let b = agent(&p).await;
    let before = family_count(&p).await;
    let csv = format!("\u{feff}{HEADER}\r\n{}\r\n{}\r\n{}\r\n", row(1, 1), row(1, 2), row(2, 1));
    let r = import(&p, &b, "", "text/csv; charset=utf-8", csv.clone().into_bytes()).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["applied"], true);
    assert_eq!(r.json["summary"]["created"], 3);
    assert_eq!(r.json["summary"]["accounts_created"], 2);
    assert_eq!(r.json["rows"][0]["line"], 2);
    assert_eq!(family_count(&p).await, before + 2);
    let token = p.link_token("parent1@exemple.fr").await;
    let activated = p
        .post(
            &format!("/api/towns/{TOWN}/auth/activate"),
            json!({"token": token, "password": "un parent bien réveillé"}),
            None,
        )
        .await;
    assert_eq!(activated.status, 200);
    assert_eq!(activated.json["families"], json!(["f00001"]));

    // The same file again changes nothing and sends nothing.
    let again = import(&p, &b, "", "text/csv", csv.into_bytes()).await;
    assert_eq!(again.json["summary"]["unchanged"], 3, "{:?}", again.json);
    assert_eq!(again.json["summary"]["emails_queued"], 0);
    assert_eq!(again.json["summary"]["transactions"], 0);

    // The administrator reads who imported what, once (the no-op import writes no entry).
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    let audit = p.get(&format!("/api/towns/{TOWN}/staff/audit"), Some(&admin)).await;
    let imports: Vec<_> =
        audit.json["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "families.import").collect();
    assert_eq!(imports.len(), 1, "{:?}", audit.json);
    assert_eq!(imports[0]["by"], "agent@villeneuve-les-tilleuls.fr");
    assert_eq!(imports[0]["after"]["summary"]["created"], 3);
    assert_eq!(imports[0]["after"]["children"], json!(["e00001-1", "e00001-2", "e00002-1"]));
    p.stop().await;
}

#[tokio::test]
async fn wrong_rows_are_reported_and_nothing_is_written() {
    let p = portal().await;
    let b = agent(&p).await;
    let before = family_count(&p).await;
    let bad_date = row(3, 1).replace("12/05/2018", "31/02/2018");
    let bad_email = row(4, 1).replace("parent4@exemple.fr", "parent4-at-exemple.fr");
    let csv = format!("{HEADER}\n{}\n{bad_date}\n{bad_email}\n{}\n", row(2, 1), row(2, 1));
    let r = import(&p, &b, "", "text/csv", csv.clone().into_bytes()).await;
    assert_problem(&r, 422, "invalid_rows");
    let rows = r.json["report"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["status"], "created");
    assert!(rows[1]["errors"][0].as_str().unwrap().contains("enfant_naissance"));
    assert!(rows[2]["errors"][0].as_str().unwrap().contains("responsable1_email"));
    assert!(rows[3]["errors"][0].as_str().unwrap().contains("ligne en double"));
    assert_eq!(r.json["report"]["applied"], false);
    assert_eq!(family_count(&p).await, before, "nothing written");
    assert!(p.deliver().await.iter().all(|m| !m.to.as_str().starts_with("parent")), "no email");

    let partial = import(&p, &b, "?mode=valid_rows", "text/csv", csv.into_bytes()).await;
    assert_eq!(partial.status, 200);
    assert_eq!(partial.json["summary"]["created"], 1);
    assert_eq!(partial.json["summary"]["rejected"], 3);
    assert_eq!(family_count(&p).await, before + 1);
    p.stop().await;
}

#[tokio::test]
async fn files_that_are_not_family_files_are_refused_whole() {
    let p = portal().await;
    let b = agent(&p).await;
    assert_problem(&import(&p, &b, "", "text/csv", b"nom;prenom\nA;B\n".to_vec()).await, 422, "invalid_file");
    assert_problem(&import(&p, &b, "", "text/csv", vec![0xff, 0xfe, b'a']).await, 422, "invalid_file");
    assert_problem(&import(&p, &b, "", "application/pdf", b"%PDF".to_vec()).await, 415, "unsupported_media_type");
    assert_problem(&import(&p, &b, "?mode=tout", "text/csv", row(1, 1).into_bytes()).await, 400, "invalid_query");
    assert_problem(
        &import(&p, &b, "", "application/json", b"{\"pas\": \"une liste\"}".to_vec()).await,
        422,
        "invalid_file",
    );
    p.stop().await;
}

#[tokio::test]
async fn json_rows_import_like_csv_and_dry_run_writes_nothing() {
    let p = portal().await;
    let b = agent(&p).await;
    let before = family_count(&p).await;
    let rows = json!([{
        "famille_reference": "j1", "famille_nom": "Famille J", "responsable1_prenom": "Jo", "responsable1_nom": "J",
        "responsable1_email": "jo@exemple.fr", "enfant_id": "j1-a", "enfant_prenom": "Al", "enfant_nom": "J",
        "enfant_naissance": "2017-04-01", "quotient_familial": 900
    }]);
    let dry = import(&p, &b, "?dry_run=true", "application/json", rows.to_string().into_bytes()).await;
    assert_eq!((dry.status, &dry.json["applied"]), (200, &json!(false)));
    assert_eq!(dry.json["rows"][0]["status"], "created");
    assert_eq!(family_count(&p).await, before);
    let real = import(&p, &b, "", "application/json", rows.to_string().into_bytes()).await;
    assert_eq!(real.json["summary"]["created"], 1);
    assert_eq!(family_count(&p).await, before + 1);
    p.stop().await;
}

#[tokio::test]
async fn guardians_cannot_import() {
    let p = portal().await;
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", local_portal::DEMO_PASSWORD).await.unwrap();
    assert_problem(&import(&p, &sophie, "", "text/csv", row(1, 1).into_bytes()).await, 403, "forbidden");
    p.stop().await;
}

#[tokio::test]
async fn ten_thousand_rows_get_a_report_each_and_reimport_is_a_no_op() {
    let p = portal().await;
    let b = agent(&p).await;
    // 5,000 families of two children; every 1,000th row has a bad birth date.
    let mut csv = String::from(HEADER);
    for i in 0..10_000u32 {
        csv.push('\n');
        let line = row(i / 2, i % 2);
        csv.push_str(&if i % 1000 == 999 { line.replace("12/05/2018", "12/13/2018") } else { line });
    }
    let strict = import(&p, &b, "", "text/csv", csv.clone().into_bytes()).await;
    assert_problem(&strict, 422, "invalid_rows");
    assert_eq!(strict.json["report"]["rows"].as_array().unwrap().len(), 10_000);
    assert_eq!(strict.json["report"]["summary"]["rejected"], 10);

    let r = import(&p, &b, "?mode=valid_rows", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(r.status, 200, "{:?}", r.json["summary"]);
    assert_eq!(r.json["summary"]["created"], 9_990);
    assert_eq!(r.json["summary"]["accounts_created"], 5_000);
    let again = import(&p, &b, "?mode=valid_rows", "text/csv", csv.into_bytes()).await;
    assert_eq!(again.json["summary"]["unchanged"], 9_990);
    assert_eq!(again.json["summary"]["transactions"], 0);
    p.stop().await;
}
