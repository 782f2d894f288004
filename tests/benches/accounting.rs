//! The town's accounting outputs for 500 families (issue 28): November's PES file (500 titles
//! of 3 lines, 80 a file as the export makes them, each with its invoice's PDF) and 500 yearly
//! tax certificates as PDFs. Prints, once, the whole month's files (time, size) and the 500
//! certificates (time, time per PDF); criterion then times one file of 80 titles and one
//! certificate. Pure: no store (what the export reads is a few queries per invoice).
//! Run in the dev profile on the shared machine (no release build):
//! `cargo bench -p e2e --bench accounting --profile dev`.

use chrono::{NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::billing::{Bill, Invoice, Line};
use domain::config::{HeliosSettings, Town};
use domain::family::{Child, Family};
use domain::payment::{Method, Payment};
use domain::pes::{self, Bordereau, Kind, PesFile, Source};
use domain::{Cents, ChildId, FamilyRef, Month, UnitId};
use std::time::Instant;

const FAMILIES: usize = 500;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn town() -> Town {
    local_portal::demo_data().expect("demo").0
}

fn helios(town: &Town) -> HeliosSettings {
    town.config().billing.helios.clone().expect("the demo town has Hélios codes")
}

/// Family `i`: one guardian, an address, one child born in 2021, November's invoice of 3 lines.
fn family(i: usize) -> (Family, Child, Invoice) {
    let (_, demo) = local_portal::demo_data().expect("demo");
    let template = demo.children.iter().find(|c| c.id.as_str() == "jade-martin").expect("jade").clone();
    let child = Child { id: ChildId::parse(&format!("enfant-{i:03}")).expect("id"), ..template };
    let mut f = demo.families.into_iter().find(|f| f.reference.as_str() == "martin").expect("martin");
    f.reference = FamilyRef::parse(&format!("famille-{i:03}")).expect("ref");
    f.children = vec![child.id.clone()];
    let line = |unit: &str, n: u32, price: i64| Line {
        child: child.id.clone(),
        child_name: "Jade Martin".into(),
        unit: UnitId::parse(unit).expect("unit"),
        unit_name: unit.to_uppercase(),
        rule: "Tarif QF".into(),
        dates: (2..20).take(n as usize).map(|day| d(2026, 11, day)).collect(),
        dates_text: "du 2 au 27/11".into(),
        quantity: n,
        unit_price: Cents::new(price).expect("c"),
        amount: Cents::new(price * i64::from(n)).expect("c"),
    };
    let lines = vec![line("cantine", 17, 350), line("peri-matin", 17, 150), line("peri-soir", 17, 200)];
    let total = lines.iter().fold(Cents::ZERO, |t, l| t + l.amount);
    let bill = Bill { family: f.reference.clone(), lines, aids: Vec::new(), total, as_billed: None };
    let number = domain::invoice::invoice_number(2026, 1000 + i as u64);
    let invoice = Invoice::issue(bill, Month::of(d(2026, 11, 1)), number, d(2026, 12, 1), "mairie@exemple.fr");
    (f, child, invoice)
}

fn pdf_of(town: &Town, f: &Family, i: &Invoice) -> Vec<u8> {
    let sheet = invoices::pdf::Sheet {
        town: town.config(),
        family: f,
        invoice: i,
        credit_notes: &[],
        payments: &[],
        due: "À payer avant le 31/12/2026",
    };
    invoices::pdf::invoice(&sheet).expect("pdf")
}

/// One PES file of `rows`: pieces, PDFs, XML; its bytes.
fn pes_file(town: &Town, h: &HeliosSettings, rows: &[(Family, Child, Invoice)], bord: u32) -> Vec<u8> {
    let mut pieces = Vec::new();
    let mut pdfs = Vec::new();
    for (n, (f, _, i)) in rows.iter().enumerate() {
        let src = Source { invoice: i, family: f, mandate: None };
        let p = pes::title(&src, h, &town.config().name, (2026, bord, n as u32 + 1)).expect("piece");
        pdfs.push((p.attachment.clone(), pdf_of(town, f, i)));
        pieces.push(p);
    }
    let file = PesFile {
        id: format!("PES-2026-{bord:06}"),
        month: Month::of(d(2026, 11, 1)),
        created_on: d(2026, 12, 5),
        created_at: Utc::now(),
        by: "mairie@exemple.fr".into(),
        exer: 2026,
        bordereaux: vec![Bordereau { kind: Kind::Ormc, id: bord, pieces }],
    };
    invoices::pes_xml::write(&file, h, &town.config().name, &pdfs).expect("xml")
}

fn certificate_pdf(town: &Town, (f, child, invoice): &(Family, Child, Invoice)) -> Vec<u8> {
    let settings = town.config().billing.tax_certificate.clone().expect("the demo town issues certificates");
    let paid = Payment {
        number: format!("Q-{}", invoice.number),
        family: f.reference.clone(),
        month: invoice.month,
        invoice: invoice.number.clone(),
        amount: invoice.total,
        method: Method::Cash,
        details: None,
        received_on: d(2026, 12, 10),
        recorded_at: Utc::now(),
        recorded_by: "regie".into(),
        idop: None,
        rejected: None,
    };
    let cert = domain::tax::certificate(
        2026,
        f,
        std::slice::from_ref(child),
        std::slice::from_ref(invoice),
        &[paid],
        &settings,
    );
    assert_eq!(cert.children.len(), 1);
    invoices::pdf::certificate(town.config(), f, &cert, &settings.signatory, d(2027, 1, 5)).expect("pdf")
}

fn bench(c: &mut Criterion) {
    let town = town();
    let h = helios(&town);
    let rows: Vec<_> = (0..FAMILIES).map(family).collect();

    let start = Instant::now();
    let files: Vec<Vec<u8>> =
        rows.chunks(pes::MAX_PIECES).enumerate().map(|(n, chunk)| pes_file(&town, &h, chunk, n as u32 + 1)).collect();
    let took = start.elapsed();
    let sizes: Vec<usize> = files.iter().map(Vec::len).collect();
    println!(
        "PES, November of {FAMILIES} families: {} files in {took:.2?}, {} bytes in all, the largest {} bytes",
        files.len(),
        sizes.iter().sum::<usize>(),
        sizes.iter().max().unwrap_or(&0)
    );

    let start = Instant::now();
    let bytes: usize = rows.iter().map(|r| certificate_pdf(&town, r).len()).sum();
    let took = start.elapsed();
    println!(
        "Tax certificates, {FAMILIES} families: {took:.2?} ({:.2?} per PDF), {} bytes each on average",
        took / FAMILIES as u32,
        bytes / FAMILIES
    );

    let mut g = c.benchmark_group("accounting");
    g.sample_size(10);
    g.bench_function("pes_file_of_80_titles_with_pdfs", |b| {
        b.iter(|| pes_file(&town, &h, &rows[..pes::MAX_PIECES], 1))
    });
    g.bench_function("tax_certificate_pdf", |b| b.iter(|| certificate_pdf(&town, &rows[0])));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
