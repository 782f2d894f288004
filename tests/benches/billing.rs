//! Billing a month for a town of 500 families (25,500 bookings: each family's child at the
//! canteen, morning and evening care on each of November 2026's 17 school days). Prints, once, the dry
//! run and the finalisation on a fresh store (time, storage calls, transactions), then times the
//! pure billing of the month's bookings and the dry run's reads with criterion.
//! Run: `cargo bench -p e2e --bench billing` (with `AWS_ENDPOINT_URL` set to a moto server, the
//! calls are also counted on DynamoDB).

use chrono::{DateTime, NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::billing;
use domain::booking::{Actor, Attendance, Booking, BookingStatus, ChangedBy, Slot, Terms};
use domain::config::Town;
use domain::family::{Child, Family};
use domain::{Cents, ChildId, FamilyRef, UnitId};
use std::collections::BTreeMap;
use std::sync::Arc;
use store::embedded::EmbeddedStore;
use store::{Store, repo};

const FAMILIES: usize = 500;

fn november() -> (NaiveDate, NaiveDate) {
    (NaiveDate::from_ymd_opt(2026, 11, 1).expect("d"), NaiveDate::from_ymd_opt(2026, 11, 30).expect("d"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z").expect("t").to_utc()
}

/// The demo town with 500 more families and their month of bookings, all present.
async fn town_of_500(store: &Store) -> (Arc<Town>, Vec<Family>, Vec<Booking>) {
    let (town, demo) = local_portal::demo_town_only(store).await.expect("demo");
    let template = demo.children.iter().find(|c| c.id.as_str() == "hugo-martin").expect("hugo").clone();
    let units = ["cantine", "peri-matin", "peri-soir"].map(|u| UnitId::parse(u).expect("unit"));
    let (first, last) = november();
    let mut families = Vec::new();
    let mut bookings = Vec::new();
    for i in 0..FAMILIES {
        let child = Child { id: ChildId::parse(&format!("enfant-{i:03}")).expect("id"), ..template.clone() };
        let family = Family {
            address: Vec::new(),
            reference: FamilyRef::parse(&format!("famille-{i:03}")).expect("ref"),
            name: format!("Famille {i}"),
            resident: i % 7 != 0,
            quotient_familial: Some(300 + (i as u32 * 7) % 1200),
            guardians: Vec::new(),
            children: vec![child.id.clone()],
        };
        repo::put_child(store, town.id(), &child).await.expect("child");
        repo::put_family(store, town.id(), &family).await.expect("family");
        for date in first.iter_days().take_while(|d| *d <= last) {
            for unit_id in &units {
                let (activity, unit) = town.unit(unit_id).expect("unit");
                if town.offering(activity, unit, date).is_err() {
                    continue;
                }
                let slot = Slot {
                    child: child.id.clone(),
                    family: family.reference.clone(),
                    activity: activity.id.clone(),
                    site: activity.sites[0].clone(),
                    unit: unit.id.clone(),
                    date,
                };
                let price = domain::pricing::normal(unit, &family);
                let terms =
                    Terms { status: BookingStatus::Confirmed, price, late: false, waiting_list: false, rule: None };
                let at = DateTime::parse_from_rfc3339("2026-10-20T08:00:00Z").expect("t").to_utc();
                let b = Booking::book(None, slot, terms, Actor { by: "bench", role: ChangedBy::Guardian, at });
                bookings.push(b.mark(Attendance::Present, at));
            }
        }
        families.push(family);
    }
    for chunk in bookings.chunks(100) {
        let ops = chunk.iter().map(|b| repo::booking_write(town.id(), b, None).expect("op")).collect();
        store.transact(ops).await.expect("bookings");
    }
    (town, families, bookings)
}

fn embedded() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    (Store::embedded(EmbeddedStore::open(&dir.path().join("store.redb")).expect("store")), dir)
}

/// The dry run and the finalisation of November once, with what each cost.
async fn once(store: Store) -> (Arc<Town>, Vec<Family>, Vec<Booking>) {
    let (town, families, bookings) = town_of_500(&store).await;
    let bytes: usize = bookings.iter().map(|b| serde_json::to_vec(b).map_or(0, |v| v.len())).sum();
    println!("{} bookings of {} families ({:.1} MB as JSON)", bookings.len(), families.len(), bytes as f64 / 1e6);
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("d");
    let (calls, started) = (store.calls(), std::time::Instant::now());
    let (bills, _) = invoices::run::month_bills(&store, &town, november(), today).await.expect("dry run");
    println!(
        "dry run on {}: {} bills, {} storage calls, {:?}",
        store.backend_name(),
        bills.len(),
        store.calls() - calls,
        started.elapsed()
    );
    let (calls, transactions, started) = (store.calls(), store.transactions(), std::time::Instant::now());
    let mut issued = 0;
    loop {
        let done = invoices::run::finalise(&store, &town, november(), now(), "bench").await.expect("finalised");
        issued += done.issued;
        if done.remaining == 0 {
            break;
        }
    }
    println!(
        "finalisation on {}: {issued} invoices, {} storage calls, {} transactions, {:?}",
        store.backend_name(),
        store.calls() - calls,
        store.transactions() - transactions,
        started.elapsed()
    );
    (town, families, bookings)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (store, _dir) = embedded();
    let (town, families, bookings) = rt.block_on(once(store.clone()));
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        rt.block_on(async {
            let table = format!("ef-bench-billing-{}", std::process::id());
            let dynamo = store::dynamo::DynamoStore::for_emulator(&endpoint, table).await;
            dynamo.create_table().await.expect("table");
            once(Store::dynamo(dynamo)).await;
        });
    }
    let families: BTreeMap<FamilyRef, Family> = families.into_iter().map(|f| (f.reference.clone(), f)).collect();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("d");
    c.bench_function("bill a month of 500 families (pure)", |b| {
        b.iter(|| billing::bills(&town, &families, &Default::default(), &bookings, today, &Default::default()))
    });
    c.bench_function("dry run of the month (embedded: reads and billing)", |b| {
        b.to_async(&rt).iter(|| invoices::run::month_bills(&store, &town, november(), today))
    });
    let total: i64 = billing::bills(&town, &families, &Default::default(), &bookings, today, &Default::default())
        .0
        .iter()
        .map(|b| b.total.get())
        .sum();
    println!("the month's total: {}", Cents::new(total).map(|c| c.to_string()).unwrap_or_default());
    pdf(c, &town, &families);
}

/// One invoice's PDF: a family of three children, each at the canteen, morning and evening care,
/// supervised study and the Wednesday leisure centre on every day of a month (15 lines of 17 to
/// 21 dates, two pages).
fn pdf(c: &mut Criterion, town: &Town, families: &BTreeMap<FamilyRef, Family>) {
    let family = families.values().next().expect("a family").clone();
    let days: Vec<NaiveDate> = november().0.iter_days().take(30).collect();
    let lines = (0..15)
        .map(|i| {
            let dates: Vec<NaiveDate> =
                days.iter().copied().filter(|d| d.format("%u").to_string() != "7").take(17 + i % 5).collect();
            let unit_price = Cents::new(250 + 10 * i as i64).expect("price");
            let quantity = dates.len() as u32;
            billing::Line {
                child: format!("enfant-{}", i / 5).try_into().expect("child"),
                child_name: format!("Enfant {} Martin", i / 5 + 1),
                unit: "cantine".to_owned().try_into().expect("unit"),
                unit_name: format!("Prestation {}", i % 5 + 1),
                rule: "Tarif QF 601–1000 €, résident : 2,50\u{a0}€".into(),
                dates_text: billing::dates_text(&dates),
                dates,
                quantity,
                unit_price,
                amount: unit_price.times(quantity),
            }
        })
        .collect::<Vec<_>>();
    let total = lines.iter().fold(Cents::ZERO, |t, l| t + l.amount);
    let bill = billing::Bill { family: family.reference.clone(), lines, aids: Vec::new(), total, as_billed: None };
    let invoice = billing::Invoice::issue(
        bill,
        domain::Month::parse("2026-11").unwrap(),
        "2026-000123".into(),
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("d"),
        "bench",
    );
    let sheet = invoices::pdf::Sheet {
        town: town.config(),
        family: &family,
        invoice: &invoice,
        credit_notes: &[],
        payments: &[],
        due: "À payer avant le 31/12/2026",
    };
    let bytes = invoices::pdf::invoice(&sheet).expect("pdf");
    println!("one invoice's PDF (15 lines, 3 children): {} bytes", bytes.len());
    c.bench_function("one invoice's PDF (15 lines, 3 children)", |b| b.iter(|| invoices::pdf::invoice(&sheet)));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
