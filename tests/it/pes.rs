//! The PES V2 file for Hélios (issue 28, part 1), end to end on the demo town: October's
//! invoices (the Martins' n° 2026-000002 of 10,00 € and the Bernards' n° 2026-000001 of 3,00 €,
//! published on 1 November) become one file with one piece per invoice and its PDF; they are
//! never sent twice, even by two exports at once (both stores); a credit note afterwards is a
//! reduction in the next file; the invoice says « Titre émis le … »; the export is audited and
//! closed to guardians and to other towns. No official XSD is reachable (docs/accounting.md):
//! the file is parsed and every field checked against what was billed.

use crate::helpers::{TOWN, TestPortal, assert_problem, portal, raw_get};
use base64::Engine;
use quick_xml::events::Event;
use serde_json::json;
use std::io::Read;

const PASSWORD: &str = local_portal::DEMO_PASSWORD;

fn api(path: &str) -> String {
    format!("/api/towns/{TOWN}{path}")
}

/// An element of the file: its name, its `V` attribute, its text, its children.
#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub v: Option<String>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The children named `name`.
    pub fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Node> + 'a {
        let name = name.to_owned();
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first descendant along `path` (`"BlocPiece/NumDette"`).
    pub fn at(&self, path: &str) -> &Node {
        let mut n = self;
        for part in path.split('/') {
            n = n.all(part).next().unwrap_or_else(|| panic!("no {part} in {}", n.name));
        }
        n
    }
    /// The `V` along `path`.
    pub fn val(&self, path: &str) -> &str {
        self.at(path).v.as_deref().unwrap_or_else(|| panic!("{path} has no V"))
    }
}

/// The file parsed from its ISO-8859-1 bytes (one character per byte).
pub fn parse(bytes: &[u8]) -> Node {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"), "{}", &text[..80]);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack = vec![Node::default()];
    let node = |e: &quick_xml::events::BytesStart| Node {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        v: e.try_get_attribute("V")
            .ok()
            .flatten()
            .map(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).expect("attribute").into_owned()),
        ..Node::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(node(&e)),
            Event::Empty(e) => stack.last_mut().expect("parent").children.push(node(&e)),
            Event::Text(t) => stack.last_mut().expect("open").text.push_str(&t.decode().expect("text")),
            Event::End(_) => {
                let done = stack.pop().expect("open");
                stack.last_mut().expect("parent").children.push(done);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().expect("root").children.pop().expect("the root element")
}

async fn download(p: &TestPortal, admin: &crate::helpers::Browser, id: &str) -> Node {
    let (bytes, kind) = raw_get(&p.router, &api(&format!("/staff/invoices/pes/{id}")), &admin.cookie).await;
    assert_eq!(kind, "application/xml; charset=ISO-8859-1", "{}", String::from_utf8_lossy(&bytes));
    parse(&bytes)
}

#[tokio::test]
async fn octobers_invoices_become_one_title_each_with_their_pdf_once_and_a_credit_note_a_reduction() {
    let p = portal().await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let create = api("/staff/invoices/runs/2026-10/pes");
    let made = p.post(&create, json!({}), Some(&admin)).await;
    assert_eq!(made.status, 201, "{:?}", made.json);
    let file = &made.json["file"];
    assert_eq!(
        (file["titles"].as_u64(), file["total"].as_i64(), file["reductions"].as_u64()),
        (Some(2), Some(1300), Some(0))
    );
    assert_eq!(made.json["remaining"], 0);
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "PES-2026-000001");

    let root = download(&p, &admin, &id).await;
    assert_eq!(root.name, "n:PES_Aller");
    assert_eq!(root.val("Enveloppe/Parametres/TypFic"), "PESORMC");
    let head = root.at("EnTetePES");
    let codes: Vec<&str> = ["IdPost", "IdColl", "CodCol", "CodBud"].iter().map(|c| head.val(c)).collect();
    assert_eq!(codes, ["0950100", "21950000000017", "095", "00"]);
    let recette = root.at("PES_RecetteAller");
    let bordereaux: Vec<&crate::pes::Node> = recette.all("Bordereau").collect();
    assert_eq!(bordereaux.len(), 1);
    let b = bordereaux[0];
    assert_eq!((b.val("BlocBordereau/TypBord"), b.val("BlocBordereau/NbrPce")), ("06", "2"));
    assert_eq!((b.val("BlocBordereau/IdBord"), b.val("BlocBordereau/MtBordHt")), ("1", "13.00"));
    let pieces: Vec<&crate::pes::Node> = b.all("Piece").collect();
    let billed = [("2026-000001", "BERNARD", "3.00", "1", 'L'), ("2026-000002", "MARTIN", "10.00", "2", 'K')];
    assert_eq!(pieces.len(), billed.len());
    for (piece, (number, name, amount, rank, _)) in pieces.iter().zip(billed) {
        assert_eq!(piece.val("BlocPiece/NumeroFacture"), number);
        assert_eq!(piece.val("BlocPiece/NumDette"), number.replace('-', ""));
        assert_eq!(piece.val("BlocPiece/IdPce"), rank);
        assert_eq!((piece.val("BlocPiece/TypPce"), piece.val("BlocPiece/NatPce")), ("15", "01"));
        let dette = number.replace('-', "");
        let cle1 = domain::pes::keys::cle1("095", 1, 2026, 1, &dette).to_string();
        assert_eq!(piece.val("BlocPiece/Cle1"), cle1);
        assert_eq!(piece.val("BlocPiece/Cle2"), domain::pes::keys::cle2(2026, 1, &dette).to_string());
        let sum: f64 = piece
            .all("LigneDePiece")
            .map(|l| l.val("BlocLignePiece/InfoLignePiece/MtHT").parse::<f64>().unwrap())
            .sum();
        assert_eq!(format!("{sum:.2}"), amount);
        let line = piece.at("LigneDePiece");
        assert_eq!(line.val("Tiers/InfoTiers/Nom"), name);
        assert_eq!(
            (line.val("Tiers/Adresse/CP"), line.val("Tiers/Adresse/Ville")),
            ("95000", "VILLENEUVE-LES-TILLEULS")
        );
        assert_eq!(piece.val("BlocPiece/PJRef/NomPJ"), format!("facture-{number}.pdf"));
    }
    // Each invoice's PDF, gzip then base64, named by its piece.
    let pjs: Vec<&crate::pes::Node> = root.at("PES_PJ").all("PJ").collect();
    assert_eq!(pjs.len(), 2);
    for (pj, (number, ..)) in pjs.iter().zip(billed) {
        assert_eq!(pj.val("NomPJ"), format!("facture-{number}.pdf"));
        let gz = base64::engine::general_purpose::STANDARD.decode(pj.at("Contenu/Fichier").text.trim()).unwrap();
        let mut pdf = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut pdf).unwrap();
        let text = pdf_extract::extract_text_from_mem(&pdf).expect("the PDF parses");
        assert!(text.contains(number) && text.contains("Titre émis le 26/11/2026"), "{text}");
    }

    // Never twice.
    assert_problem(&p.post(&create, json!({}), Some(&admin)).await, 404, "nothing_to_send");
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let martin = p.get(&api("/families/martin/invoices/2026-10"), Some(&sophie)).await;
    assert_eq!(martin.json["titre"], "Titre émis le 26/11/2026", "{:?}", martin.json);
    let trail = store::audit::page(&p.store, &domain::TownId::parse(TOWN).unwrap(), 50, None).await.unwrap().0;
    assert!(trail.iter().any(|e| e.action == "invoices.pes_export" && e.target == format!("pes/{id}")), "{trail:?}");
    let downloads = trail.iter().filter(|e| e.action == "invoices.pes_download" && e.target == format!("pes/{id}"));
    assert!(downloads.count() >= 1, "each download of payers' data is in the journal: {trail:?}");

    // A credit note on a title sent: its reduction in the next file, once.
    let note = p
        .post(
            &api("/staff/invoices/families/martin/2026-10/credit-notes"),
            json!({"reason": "Repas non servi", "lines": [{"line": 0, "amount": 250}]}),
            Some(&admin),
        )
        .await;
    assert_eq!(note.status, 201, "{:?}", note.json);
    let next = p.post(&create, json!({}), Some(&admin)).await;
    assert_eq!(next.status, 201, "{:?}", next.json);
    assert_eq!((next.json["file"]["titles"].as_u64(), next.json["file"]["reductions"].as_u64()), (Some(0), Some(1)));
    let root = download(&p, &admin, next.json["file"]["id"].as_str().unwrap()).await;
    let b = root.at("PES_RecetteAller/Bordereau");
    assert_eq!((b.val("BlocBordereau/TypBord"), b.val("BlocBordereau/MtBordHt")), ("02", "2.50"));
    let piece = b.at("Piece");
    assert_eq!((piece.val("BlocPiece/NatPce"), piece.val("BlocPiece/NumeroFacture")), ("06", "2026-000002"));
    assert_eq!(
        (piece.val("BlocPiece/RattachPiece/IdBordOrig"), piece.val("BlocPiece/RattachPiece/IdPceOrig")),
        ("1", "2")
    );
    assert_problem(&p.post(&create, json!({}), Some(&admin)).await, 404, "nothing_to_send");
    let listed = p.get(&api("/staff/invoices/pes"), Some(&admin)).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(2), "{:?}", listed.json);
    p.stop().await;
}

#[tokio::test]
async fn the_pes_export_is_closed_to_guardians_agents_and_other_towns_and_refuses_bad_input() {
    let p = portal().await;
    let create = api("/staff/invoices/runs/2026-10/pes");
    let sophie = p.login(TOWN, "sophie.martin@exemple.fr", PASSWORD).await.unwrap();
    let agent = p.login(TOWN, "agent@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let other = crate::helpers::other_town_admin(&p).await;
    for who in [&sophie, &agent] {
        assert_eq!(p.post(&create, json!({}), Some(who)).await.status, 403);
        assert_eq!(p.get(&api("/staff/invoices/pes"), Some(who)).await.status, 403);
    }
    assert_eq!(p.post(&create, json!({}), Some(&other)).await.status, 401);
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    assert_problem(
        &p.post(&api("/staff/invoices/runs/2026-13/pes"), json!({}), Some(&admin)).await,
        400,
        "invalid_month",
    );
    let (_, kind) = raw_get(&p.router, &api("/staff/invoices/pes/PES-2026-999999"), &admin.cookie).await;
    assert_eq!(kind, "application/problem+json");
    // The other town made its own file of nothing: not found, and nothing of this town's.
    let theirs = p.post("/api/towns/autre-ville/staff/invoices/runs/2026-10/pes", json!({}), Some(&other)).await;
    assert_problem(&theirs, 404, "nothing_to_send");
    // Guardians never see the town's files; the first export still finds both invoices.
    let made = p.post(&create, json!({}), Some(&admin)).await;
    assert_eq!(made.json["file"]["titles"], 2, "{:?}", made.json);
    let (_, kind) = raw_get(&p.router, &api("/staff/invoices/pes/PES-2026-000001"), &sophie.cookie).await;
    assert_eq!(kind, "application/problem+json");
    p.stop().await;
}

/// Two exports at once, on both stores: each invoice in exactly one file.
pub(super) async fn two_exports_at_once_never_send_an_invoice_twice(store: store::Store) {
    let p = crate::helpers::portal_on(store).await;
    let admin = p.login(TOWN, "mairie@villeneuve-les-tilleuls.fr", PASSWORD).await.unwrap();
    let create = api("/staff/invoices/runs/2026-10/pes");
    let (a, b) = tokio::join!(p.post(&create, json!({}), Some(&admin)), p.post(&create, json!({}), Some(&admin)));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 404], "{:?} {:?}", a.json, b.json);
    let files = p.get(&api("/staff/invoices/pes"), Some(&admin)).await;
    let titles: u64 = files.json.as_array().unwrap().iter().map(|f| f["titles"].as_u64().unwrap()).sum();
    assert_eq!(titles, 2, "{:?}", files.json);
    p.stop().await;
}

crate::helpers::both_backends!(two_exports_at_once_never_send_an_invoice_twice);
