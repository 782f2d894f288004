use super::*;
use crate::billing::Line;
use crate::payment::{Method, Rejection};
use crate::testkit::{at, d, family, id, november_invoice};

fn settings() -> TaxCertificateSettings {
    TaxCertificateSettings {
        care_percent: [(id("cantine"), 40), (id("peri-soir"), 100)].into_iter().collect(),
        signatory: "Le Maire".into(),
    }
}

fn c(n: i64) -> Cents {
    Cents::new(n).unwrap()
}

fn child(slug: &str, first: &str, birth: NaiveDate) -> Child {
    let mut k = crate::testkit::child();
    k.id = id(slug);
    k.first_name = first.into();
    k.birth_date = birth;
    k
}

fn line(child: &str, unit: &str, quantity: u32, price: i64) -> Line {
    Line {
        child: id(child),
        child_name: child.into(),
        unit: id(unit),
        unit_name: unit.into(),
        rule: "Tarif".into(),
        dates: vec![d(2026, 11, 3)],
        dates_text: "3/11".into(),
        quantity,
        unit_price: c(price),
        amount: c(price).times(quantity),
    }
}

fn paid(invoice: &str, amount: i64, on: NaiveDate) -> Payment {
    Payment {
        number: format!("Q-{on}"),
        family: id("martin"),
        month: crate::Month::of(d(2026, 11, 1)),
        invoice: invoice.into(),
        amount: c(amount),
        method: Method::Cash,
        details: None,
        received_on: on,
        recorded_at: at(2026, 12, 5, 9, 0),
        recorded_by: "agent".into(),
        idop: None,
        rejected: None,
    }
}

/// The Martins: Léa, 4 on 1 January 2026; Tom, 5 on 1 January 2026 and 6 in May (under 6 on
/// 1 January: the whole year counts); Paul, 8. November's invoice (58,00 €): Léa 4 canteen
/// meals at 4,50 € (40 % care: 7,20 €) and 10 evenings at 2,00 € (care: 20,00 €), Tom 5 evenings
/// (10,00 €), Paul 5 evenings (10,00 €, too old).
fn household() -> (Family, Vec<Child>) {
    let mut f = family();
    f.children = vec![id("lea"), id("tom"), id("paul")];
    let kids = vec![
        child("lea", "Léa", d(2021, 3, 14)),
        child("tom", "Tom", d(2020, 5, 10)),
        child("paul", "Paul", d(2018, 2, 1)),
    ];
    (f, kids)
}

fn invoice() -> Invoice {
    november_invoice(
        vec![
            line("lea", "cantine", 4, 450),
            line("lea", "peri-soir", 10, 200),
            line("tom", "peri-soir", 5, 200),
            line("paul", "peri-soir", 5, 200),
        ],
        "2026-000123",
    )
}

#[test]
fn under_6_on_1_january_whatever_the_birthday_in_the_year() {
    assert!(eligible(d(2020, 5, 10), 2026), "turns 6 in May 2026: 5 on 1 January");
    assert!(eligible(d(2020, 1, 2), 2026), "turns 6 on 2 January");
    assert!(!eligible(d(2020, 1, 1), 2026), "6 on 1 January itself");
    assert!(!eligible(d(2019, 12, 31), 2026));
    assert!(eligible(d(2026, 6, 1), 2026), "born in the year");
    assert!(!eligible(d(2027, 1, 5), 2026));
}

#[test]
fn what_was_paid_in_the_year_for_care_of_each_child_under_6() {
    let (f, kids) = household();
    let inv = invoice();
    assert_eq!(inv.total, c(5800));
    let cert = certificate(2026, &f, &kids, &[inv], &[paid("2026-000123", 5800, d(2026, 12, 5))], &settings());
    let got: Vec<(&str, i64)> = cert.children.iter().map(|k| (k.child.as_str(), k.amount.get())).collect();
    // Léa 7,20 + 20,00; Tom 10,00 (6 in May); Paul none (8).
    assert_eq!(got, [("lea", 2720), ("tom", 1000)]);
    assert_eq!((cert.total, cert.total_words.as_str()), (c(3720), "trente-sept euros et vingt centimes"));
    assert_eq!((cert.number.as_str(), cert.from, cert.to), ("AF-2026-martin", d(2026, 1, 1), d(2026, 12, 31)));
    assert_eq!(cert.children[1].name, "Tom Martin");
}

#[test]
fn payments_count_in_the_year_they_are_received_and_a_rejected_debit_not_at_all() {
    let (f, kids) = household();
    let inv = invoice();
    let mut rejected = paid("2026-000123", 5800, d(2026, 12, 15));
    rejected.method = Method::DirectDebit;
    rejected.rejected = Some(Rejection { on: d(2026, 12, 20), reason: "AM04".into(), by: "a".into() });
    let late = paid("2026-000123", 5800, d(2027, 1, 4));
    let cert = certificate(2026, &f, &kids, std::slice::from_ref(&inv), &[rejected, late.clone()], &settings());
    assert_eq!((cert.total, cert.children.len()), (Cents::ZERO, 0));
    // Paid in January 2027: on 2027's certificate, for the children under 6 on 1 January 2027
    // (Léa; Tom is 6 by then).
    let next = certificate(2027, &f, &kids, &[inv], &[late], &settings());
    let got: Vec<(&str, i64)> = next.children.iter().map(|k| (k.child.as_str(), k.amount.get())).collect();
    assert_eq!(got, [("lea", 2720)]);
}

#[test]
fn a_credit_note_lowers_the_certificate_in_proportion() {
    let (f, kids) = household();
    let mut inv = invoice();
    inv.credited = c(800);
    // 50,00 € paid of 58,00 €: Léa 27,20 × 50/58 = 23,448… → 23,44; Tom 10 × 50/58 = 8,62.
    let cert = certificate(2026, &f, &kids, &[inv], &[paid("2026-000123", 5000, d(2026, 12, 5))], &settings());
    let got: Vec<i64> = cert.children.iter().map(|k| k.amount.get()).collect();
    assert_eq!(got, [2344, 862]);
    assert_eq!(cert.total, c(3206));
}

#[test]
fn a_shared_child_is_on_each_households_certificate_for_what_it_paid() {
    let (martins, kids) = household();
    let mut other = family();
    other.reference = id("bernard");
    other.children = vec![id("lea")];
    let mine = invoice();
    let mut theirs = november_invoice(vec![line("lea", "peri-soir", 3, 200)], "2026-000124");
    theirs.family = id("bernard");
    let mut their_payment = paid("2026-000124", 600, d(2026, 12, 6));
    their_payment.family = id("bernard");
    let payments = [paid("2026-000123", 5800, d(2026, 12, 5)), their_payment];
    let invoices = [mine, theirs];
    let a = certificate(2026, &martins, &kids, &invoices, &payments, &settings());
    let b = certificate(2026, &other, &kids, &invoices, &payments, &settings());
    assert_eq!(a.children[0].amount, c(2720));
    let got: Vec<(&str, i64)> = b.children.iter().map(|k| (k.child.as_str(), k.amount.get())).collect();
    assert_eq!(got, [("lea", 600)]);
}

#[test]
fn an_aid_is_not_the_familys_money_its_care_part_is_left_out() {
    // Léa: 10 evenings at 2,00 € (all care), 5,00 € of them paid by an aid; the family paid the
    // 15,00 € it owed: 15,00 € of care.
    let mut invoice = november_invoice(vec![line("lea", "peri-soir", 10, 200)], "2026-000001");
    invoice.aids = vec![crate::invoice::AidLine {
        aid: id("ville"),
        label: "Aide de la commune".into(),
        child: id("lea"),
        child_name: "lea".into(),
        unit: id("peri-soir"),
        unit_name: "peri-soir".into(),
        dates: vec![d(2026, 11, 3)],
        dates_text: "3/11".into(),
        quantity: 5,
        per_day: c(100),
        amount: c(500),
    }];
    invoice.total = c(1500);
    let lea = child("lea", "Léa", d(2021, 6, 1));
    let mut f = family();
    f.children = vec![id("lea")];
    let cert = certificate(2026, &f, &[lea], &[invoice], &[paid("2026-000001", 1500, d(2026, 12, 10))], &settings());
    assert_eq!(cert.total, c(1500));
}
