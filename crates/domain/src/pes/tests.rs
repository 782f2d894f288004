use super::*;
use crate::billing::Line as BillLine;
use crate::testkit::{d, family, id, november_invoice};

fn helios() -> HeliosSettings {
    HeliosSettings {
        id_post: "0920100".into(),
        id_coll: "21920078500012".into(),
        cod_col: "078".into(),
        cod_bud: "00".into(),
        product: "ENF".into(),
        products: [(id("cantine"), "CANT".to_owned())].into_iter().collect(),
    }
}

fn line(unit: &str, name: &str, quantity: u32, price: i64) -> BillLine {
    let unit_price = Cents::new(price).unwrap();
    BillLine {
        child: id("lea"),
        child_name: "Léa Martin".into(),
        unit: id(unit),
        unit_name: name.into(),
        rule: "Tarif".into(),
        dates: vec![d(2026, 11, 3)],
        dates_text: "3/11".into(),
        quantity,
        unit_price,
        amount: unit_price.times(quantity),
    }
}

fn martins() -> Family {
    let mut f = family();
    f.address = vec!["12, rue de l’Église".into(), "95000 Cergy-Préfecture".into()];
    f
}

fn invoice() -> Invoice {
    november_invoice(
        vec![
            line("cantine", "Cantine", 4, 450),
            line("garderie", "GARDERIE", 2, 150),
            line("cantine", "Cantine", 1, 450),
        ],
        "2026-000123",
    )
}

fn c(n: i64) -> Cents {
    Cents::new(n).unwrap()
}

#[test]
fn a_title_sums_its_lines_by_product_and_carries_its_keys_and_payer() {
    let (inv, fam) = (invoice(), martins());
    let p =
        title(&Source { invoice: &inv, family: &fam, mandate: None }, &helios(), "Villeneuve", (2026, 12, 1)).unwrap();
    assert_eq!((p.num_dette.as_str(), p.per, p.cle1, p.cle2), ("2026000123", 1, 6, 'Q'));
    assert_eq!(p.amount, c(2550));
    let lines: Vec<(&str, i64)> = p.lines.iter().map(|l| (l.product.as_str(), l.amount.get())).collect();
    assert_eq!(lines, [("CANT", 2250), ("ENF", 300)]);
    assert_eq!(p.lines[0].object, "Cantine novembre 2026");
    assert_eq!(
        p.debtor,
        Debtor {
            name: "MARTIN".into(),
            first_name: "SOPHIE".into(),
            street: "12, RUE DE L'EGLISE".into(),
            postcode: "95000".into(),
            city: "CERGY-PREFECTURE".into(),
        }
    );
    assert_eq!(p.object, "Facture 2026-000123 novembre 2026 Villeneuve");
    assert_eq!(p.attachment, "facture-2026-000123.pdf");
    assert!(p.sepa.is_none());
}

#[test]
fn a_credit_before_sending_lowers_the_title_from_its_last_line() {
    let mut inv = invoice();
    inv.credited = c(400);
    let fam = martins();
    let p = title(&Source { invoice: &inv, family: &fam, mandate: None }, &helios(), "V", (2026, 1, 1)).unwrap();
    assert_eq!(p.amount, c(2150));
    let lines: Vec<(&str, i64)> = p.lines.iter().map(|l| (l.product.as_str(), l.amount.get())).collect();
    assert_eq!(lines, [("CANT", 2150)]);
}

#[test]
fn an_invoice_under_a_mandate_carries_its_sepa_block() {
    let (inv, fam) = (invoice(), martins());
    let m = Mandate {
        rum: "RUM-2026-0001".into(),
        iban: "FR7630006000011234567890189".into(),
        bic: Some("AGRIFRPP".into()),
        holder: "Sophie Martin-Élie".into(),
        signed_on: d(2026, 9, 1),
        sequence: Sequence::Frst,
        recorded_by: "a".into(),
        recorded_at: crate::testkit::at(2026, 9, 1, 9, 0),
    };
    let src = Source { invoice: &inv, family: &fam, mandate: Some((&m, d(2026, 12, 10))) };
    let s = title(&src, &helios(), "Villeneuve", (2026, 1, 1)).unwrap().sepa.unwrap();
    assert_eq!((s.sequence.as_str(), s.on, s.amount), ("02", d(2026, 12, 10), c(2550)));
    assert_eq!((s.holder.as_str(), s.label.as_str()), ("SOPHIE MARTIN-ELIE", "FACTURE 2026-000123 VILLENEUVE"));
    let bad = Mandate { rum: "RUM#1".into(), ..m };
    let src = Source { invoice: &inv, family: &fam, mandate: Some((&bad, d(2026, 12, 10))) };
    assert_eq!(
        title(&src, &helios(), "V", (2026, 1, 1)).unwrap_err(),
        PesRefused::Field {
            invoice: "2026-000123".into(),
            field: "RefUniMdt",
            problem: "la référence du mandat a 1 à 35 caractères SEPA".into()
        }
    );
}

#[test]
fn a_payer_without_a_postal_address_is_refused_naming_the_invoice_and_field() {
    let inv = invoice();
    let mut fam = martins();
    fam.address = vec!["12 rue des Lilas".into(), "Cergy".into()];
    let err = debtor(&inv, &fam).unwrap_err();
    assert!(matches!(&err, PesRefused::Field { invoice, field: "CP", .. } if invoice == "2026-000123"), "{err:?}");
    fam.address.clear();
    assert!(matches!(debtor(&inv, &fam), Err(PesRefused::Field { field: "Adresse", .. })));
    let mut odd = invoice();
    odd.number = "F/2026/1".into();
    assert!(matches!(num_dette(&odd), Err(PesRefused::Field { field: "NumDette", .. })));
}

#[test]
fn a_title_is_sent_once_and_a_later_credit_note_owes_its_reduction_once() {
    let mut inv = invoice();
    assert!(to_send(&inv));
    let fam = martins();
    let p = title(&Source { invoice: &inv, family: &fam, mandate: None }, &helios(), "V", (2026, 3, 7)).unwrap();
    inv.titre = Some(titre_of("PES-2026-0003", d(2026, 12, 5), 2026, 3, &p));
    assert!(!to_send(&inv));
    assert_eq!(to_reduce(&inv), None);
    assert_eq!(titre_label(inv.titre.as_ref().unwrap()), "Titre émis le 05/12/2026");
    inv.credited = c(450);
    let r =
        reduction(&Source { invoice: &inv, family: &fam, mandate: None }, &helios(), (2026, 4, 1)).unwrap().unwrap();
    assert_eq!((r.amount, r.reduces.as_ref().map(|t| (t.bordereau, t.piece))), (c(450), Some((3, 7))));
    assert_eq!(r.object, "Réduction du titre 2026-3-7 (facture 2026-000123)");
    inv.titre = Some(reduced(inv.titre.as_ref().unwrap(), r.amount));
    assert_eq!(to_reduce(&inv), None);
    // A cancellation later: the rest.
    inv.credited = inv.total;
    assert_eq!(to_reduce(&inv), Some(c(2100)));
}

#[test]
fn an_invoice_credited_whole_before_sending_is_not_sent() {
    let mut inv = invoice();
    inv.credited = inv.total;
    assert!(!to_send(&inv));
    assert_eq!(to_reduce(&inv), None);
}

#[test]
fn bordereau_kinds_carry_their_codes() {
    assert_eq!((Kind::Ormc.typ_bord(), Kind::Ormc.typ_pce(), Kind::Ormc.nat_pce()), ("06", "15", "01"));
    assert_eq!((Kind::Reduction.typ_bord(), Kind::Reduction.typ_pce(), Kind::Reduction.nat_pce()), ("02", "01", "06"));
}

#[test]
fn a_title_asks_what_the_family_owes_each_product_less_its_aids() {
    let mut inv = invoice();
    // An aid of 1,50 € on the canteen's 3 November (the other canteen line is another day).
    inv.lines[2].dates = vec![d(2026, 11, 5)];
    inv.aids = vec![crate::invoice::AidLine {
        aid: id("caf-atl"),
        label: "Aide CAF temps libres : −1,50 € × 1 jour".into(),
        child: id("lea"),
        child_name: "Léa Martin".into(),
        unit: id("cantine"),
        unit_name: "Cantine".into(),
        dates: vec![d(2026, 11, 3)],
        dates_text: "3/11".into(),
        quantity: 1,
        per_day: c(150),
        amount: c(150),
    }];
    inv.total = c(2550 - 150);
    let fam = martins();
    let p =
        title(&Source { invoice: &inv, family: &fam, mandate: None }, &helios(), "Villeneuve", (2026, 12, 1)).unwrap();
    assert_eq!(p.amount, c(2400));
    let lines: Vec<(&str, i64)> = p.lines.iter().map(|l| (l.product.as_str(), l.amount.get())).collect();
    assert_eq!(lines, [("CANT", 2100), ("ENF", 300)], "the canteen less its aid, the other product whole");
}
