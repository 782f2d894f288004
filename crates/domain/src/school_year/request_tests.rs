#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests")]

use super::*;
use crate::Refusal;
use crate::testkit::{at, town};

fn input() -> RequestInput {
    RequestInput {
        guardians: vec![GuardianInput {
            first_name: "Nadia".into(),
            last_name: "Benali".into(),
            email: "Nadia.Benali@example.org".into(),
            phone: "06.12.34.56.78".into(),
        }],
        children: vec![
            ChildInput {
                first_name: "Inès".into(),
                last_name: "Benali".into(),
                birth_date: "2019-04-02".into(),
                level: "ce1".into(),
            },
            ChildInput {
                first_name: "Sami".into(),
                last_name: "Benali".into(),
                birth_date: "2023-01-15".into(),
                level: String::new(),
            },
        ],
        address: AddressInput { street: " 12 rue des Écoles ".into(), postcode: "59000".into(), city: "Lille".into() },
        proof: Some(ProofInput {
            file_name: "Facture EDF novembre.PDF".into(),
            content_type: "application/pdf".into(),
            size: 180_000,
        }),
        message: "Arrivés en novembre.".into(),
    }
}

/// The town's limit for documents in these tests: 10 Mo.
const MAX_BYTES: u64 = 10 * 1024 * 1024;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
}

fn checked() -> AccountRequest {
    input().check("r1".into(), at(2026, 11, 3, 9, 0), today(), MAX_BYTES).unwrap()
}

#[test]
fn a_good_request_is_read_and_normalised() {
    let r = checked();
    assert_eq!(r.guardians[0].email.as_str(), "nadia.benali@example.org");
    assert_eq!(r.guardians[0].phone, "06 12 34 56 78");
    assert_eq!(r.children[0].level, Some(Level::CE1));
    assert_eq!(r.children[1].level, None);
    assert_eq!(r.address, vec!["12 rue des Écoles".to_owned(), "59000 Lille".to_owned()]);
    assert_eq!(r.status, RequestStatus::Pending);
    let proof = r.proof.as_ref().unwrap();
    assert_eq!(proof.file_name, "Facture EDF novembre.pdf", "kept under its type's extension");
    assert_eq!((proof.file_type, proof.size, proof.received_at), (FileType::Pdf, 180_000, None));
}

#[test]
fn the_proof_is_received_while_the_request_waits_only() {
    let mut r = checked();
    assert_eq!(r.receive_proof(at(2026, 11, 3, 9, 1)).unwrap().received_at, Some(at(2026, 11, 3, 9, 1)));
    assert_eq!(
        r.receive_proof(at(2026, 11, 3, 9, 5)).unwrap().received_at,
        Some(at(2026, 11, 3, 9, 5)),
        "a better copy"
    );
    r.accept(at(2026, 11, 4, 9, 0), "a").unwrap();
    assert_eq!(r.receive_proof(at(2026, 11, 4, 9, 1)).unwrap_err(), RequestRefused::Decided);
    assert_eq!(r.proof.as_ref().unwrap().received_at, Some(at(2026, 11, 3, 9, 5)), "unchanged once decided");
}

#[test]
fn a_request_stored_before_the_proof_was_asked_still_reads() {
    let mut json = serde_json::to_value(checked()).unwrap();
    json.as_object_mut().unwrap().remove("proof");
    let r: AccountRequest = serde_json::from_value(json).unwrap();
    assert_eq!(r.proof, None);
}

#[test]
fn each_bad_field_is_refused_with_its_name() {
    type Spoil = Box<dyn Fn(&mut RequestInput)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("guardians", Box::new(|i| i.guardians.clear())),
        ("guardians.0.first_name", Box::new(|i| i.guardians[0].first_name = "  ".into())),
        ("guardians.0.last_name", Box::new(|i| i.guardians[0].last_name = "x".repeat(101))),
        ("guardians.0.email", Box::new(|i| i.guardians[0].email = "pas-un-email".into())),
        ("guardians.0.phone", Box::new(|i| i.guardians[0].phone = "12345".into())),
        ("guardians.1.email", Box::new(|i| i.guardians.push(i.guardians[0].clone()))),
        ("children", Box::new(|i| i.children = vec![i.children[0].clone(); 9])),
        ("children.1.birth_date", Box::new(|i| i.children[1].birth_date = "15/01/2023".into())),
        ("children.0.birth_date", Box::new(|i| i.children[0].birth_date = "2027-01-01".into())),
        ("children.0.level", Box::new(|i| i.children[0].level = "6e".into())),
        ("children.0.first_name", Box::new(|i| i.children[0].first_name = "A\u{202E}B".into())),
        ("address.postcode", Box::new(|i| i.address.postcode = "5900".into())),
        ("address.city", Box::new(|i| i.address.city = String::new())),
        ("proof", Box::new(|i| i.proof = None)),
        ("proof.file_name", Box::new(|i| i.proof.as_mut().unwrap().file_name = "../../etc/passwd".into())),
        ("proof.content_type", Box::new(|i| i.proof.as_mut().unwrap().content_type = "text/html".into())),
        ("proof.size", Box::new(|i| i.proof.as_mut().unwrap().size = 0)),
        ("proof.size", Box::new(|i| i.proof.as_mut().unwrap().size = MAX_BYTES + 1)),
        ("message", Box::new(|i| i.message = "x".repeat(MAX_MESSAGE + 1))),
    ];
    for (field, spoil) in cases {
        let mut i = input();
        spoil(&mut i);
        let e = i.check("r1".into(), at(2026, 11, 3, 9, 0), today(), MAX_BYTES).expect_err(field);
        assert_eq!(e.field().as_deref(), Some(field), "{e}");
        assert!(e.french().starts_with(field) || field == "guardians" || field == "children", "{e}");
    }
}

#[test]
fn acceptance_creates_the_family_the_import_would_with_address_and_levels() {
    let r = checked();
    let plan = r.plan(&town(), today()).unwrap();
    assert_eq!(plan.families.len(), 1);
    let family = plan.families.values().next().unwrap();
    assert_eq!(family.reference.as_str(), "dem-r1");
    assert_eq!(family.address, r.address);
    assert_eq!(family.guardians[0].phone.as_deref(), Some("06 12 34 56 78"));
    assert_eq!(family.children.len(), 2);
    let children: Vec<_> = plan.children.values().collect();
    assert_eq!(children[0].first_name, "Inès");
    assert_eq!(children[0].level, Some(ChildLevel { level: Level::CE1, year: SchoolYear::of(today()) }));
    assert_eq!(children[1].level, None);
    assert_eq!(plan.guardians.len(), 1, "one account to create");
}

#[test]
fn a_request_is_decided_once() {
    let mut r = checked();
    assert_eq!(r.delete_at(), None, "a pending request is kept");
    assert_eq!(r.accept(at(2026, 11, 4, 9, 0), "agent@ville.fr"), Ok(true));
    assert_eq!(r.accept(at(2026, 11, 5, 9, 0), "agent@ville.fr"), Ok(false), "accepting twice does nothing");
    assert_eq!(r.refuse(at(2026, 11, 5, 9, 0), "agent@ville.fr", "doublon"), Err(RequestRefused::Decided));
    assert_eq!(r.delete_at(), Some(at(2026, 12, 4, 9, 0)));

    let mut r = checked();
    assert_eq!(r.refuse(at(2026, 11, 4, 9, 0), "a", " ").unwrap_err().field().as_deref(), Some("reason"));
    assert_eq!(r.status, RequestStatus::Pending, "a refusal without a reason changes nothing");
    assert_eq!(r.refuse(at(2026, 11, 4, 9, 0), "a", "Hors commune"), Ok(true));
    assert_eq!(r.accept(at(2026, 11, 4, 9, 0), "a"), Err(RequestRefused::Decided));
}

#[test]
fn a_stored_request_reads_back() {
    let mut r = checked();
    r.refuse(at(2026, 11, 4, 9, 0), "a", "Hors commune").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"status\":\"refused\""), "{json}");
    assert_eq!(serde_json::from_str::<AccountRequest>(&json).unwrap(), r);
}
