//! The QF from API Particulier: the identity's checks, the call's parameters, the documented
//! answers (API Particulier's staging cases) and errors, the consent.

use super::*;
use crate::testkit::{at, d};

fn elodie() -> Identity {
    Identity {
        birth_name: "BERNARD".into(),
        first_names: vec!["ELODIE".into()],
        sex: Sex::F,
        birth_date: d(1990, 3, 18),
        birth_country: FRANCE.into(),
        birth_commune: Some("08480".into()),
    }
}

#[test]
fn an_identity_born_in_france_names_its_commune_and_one_born_abroad_does_not() {
    let today = d(2026, 12, 6);
    assert_eq!(elodie().check(today), Ok(()));
    let field = |i: Identity| i.check(today).unwrap_err().field;
    assert_eq!(field(Identity { birth_commune: None, ..elodie() }), "birth_commune");
    assert_eq!(field(Identity { birth_commune: Some("75002 ".into()), ..elodie() }), "birth_commune");
    let abroad = Identity { birth_country: "99404".into(), birth_commune: None, ..elodie() };
    assert_eq!(abroad.check(today), Ok(()));
    assert_eq!(field(Identity { birth_commune: Some("08480".into()), ..abroad }), "birth_commune");
    assert_eq!(field(Identity { birth_country: "12345".into(), ..elodie() }), "birth_country");
    assert_eq!(field(Identity { birth_name: " ".into(), ..elodie() }), "birth_name");
    assert_eq!(field(Identity { first_names: vec![], ..elodie() }), "first_names");
    assert_eq!(field(Identity { birth_date: d(2027, 1, 1), ..elodie() }), "birth_date");
}

#[test]
fn the_query_carries_the_recipient_and_the_documented_parameters() {
    let mut two = elodie();
    two.first_names.push("JUDITH".into());
    let q = two.query("21950000000017");
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("recipient", "21950000000017"),
            ("nomNaissance", "BERNARD"),
            ("prenoms[]", "ELODIE"),
            ("prenoms[]", "JUDITH"),
            ("sexeEtatCivil", "F"),
            ("anneeDateNaissance", "1990"),
            ("moisDateNaissance", "3"),
            ("jourDateNaissance", "18"),
            ("codeCogInseePaysNaissance", "99100"),
            ("codeCogInseeCommuneNaissance", "08480"),
        ]
    );
}

/// The staging case « 200-seul-1_enfant-qf_caf_650 », abridged to what is read.
const QF_650: &str = r#"{"data": {"allocataires": [], "enfants": [], "adresse": {},
  "quotient_familial": {"fournisseur": "CNAF", "valeur": 650, "annee": 2023, "mois": 6,
  "annee_calcul": 2024, "mois_calcul": 12}}, "links": {}, "meta": {}}"#;

/// The staging case « 404-identite-cas-nominal-trop-peu-de-donnee-prenom ».
const NOT_FOUND: &str = r#"{"errors": [{"code": "37003", "title": "Dossier allocataire absent CNAV",
  "detail": "Le dossier allocataire n'a pas été trouvé auprès de la CNAV.", "source": null,
  "meta": {"provider": "CNAV"}}]}"#;

#[test]
fn the_documented_answers_read_as_a_qf_or_a_failure() {
    let now = at(2026, 12, 6, 10, 0);
    let f = read_answer(200, QF_650.as_bytes(), now).unwrap();
    assert_eq!((f.value, f.provider.as_str(), f.month.to_string(), f.fetched_at), (650, "CNAF", "2023-06".into(), now));
    assert_eq!(read_answer(404, NOT_FOUND.as_bytes(), now), Err(Failure::NotFound));
    assert_eq!(read_answer(401, b"{}", now), Err(Failure::NotAllowed));
    let invalid = r#"{"errors": [{"code": "00201", "title": "Entité non traitable", "detail": "Le paramètre recipient n'est pas un SIRET valide."}]}"#;
    assert_eq!(
        read_answer(422, invalid.as_bytes(), now),
        Err(Failure::Refused("Le paramètre recipient n'est pas un SIRET valide.".into()))
    );
    assert!(matches!(read_answer(502, b"<html>", now), Err(Failure::Unavailable(_))));
    assert!(matches!(read_answer(200, b"{\"data\": {}}", now), Err(Failure::Unavailable(_))));
    let no_value = QF_650.replace("\"valeur\": 650", "\"valeur\": null");
    assert_eq!(read_answer(200, no_value.as_bytes(), now), Err(Failure::NotFound));
}

#[test]
fn a_failure_says_the_family_keeps_its_certificates_quotient() {
    let m = Failure::NotFound.french(Some(540));
    assert!(m.starts_with("Quotient familial non obtenu\u{202f}: la CAF et la MSA ne trouvent pas"), "{m}");
    assert!(m.ends_with("le quotient familial reste celui de l’attestation déposée (540)."), "{m}");
    assert!(Failure::Unavailable("HTTP 503".into()).french(None).contains("le tarif de base s’applique"));
}

#[test]
fn a_revoked_consent_forgets_the_identity_and_keeps_its_dates() {
    let given = Consent::given(elodie(), "claire.bernard@exemple.fr", false, at(2026, 12, 1, 9, 0));
    assert_eq!(given.active(), Some(&elodie()));
    let revoked = given.revoke(at(2026, 12, 5, 9, 0));
    assert_eq!((revoked.active(), revoked.identity.as_ref()), (None, None));
    assert_eq!((revoked.given_at, revoked.revoked_at), (given.given_at, Some(at(2026, 12, 5, 9, 0))));
}
