use super::*;
use crate::billing::{self, Bill};
use crate::booking::{Attendance, Booking, BookingStatus};
use crate::config::{Aid, AidYear, Funder, Per, QfRange, Town};
use crate::testkit::{at, booking, d, family, id, staff, town};
use serde_json::json;

fn c(cents: i64) -> Cents {
    Cents::new(cents).unwrap()
}

/// The CAF's « aide aux temps libres »: 3 € a Wednesday for QF 0 to 600, 10 € a year per child.
fn atl() -> Aid {
    Aid {
        id: id("caf-atl"),
        name: "Aide CAF temps libres".into(),
        funder: Funder::Caf,
        units: vec![id("alsh-mercredi")],
        amount: c(300),
        per: Per::Day,
        qf: Some(QfRange { from: 0, up_to: 600 }),
        families: Vec::new(),
        ceiling: Some(c(1000)),
        year: AidYear::Civil,
    }
}

fn town_with(aids: Vec<Aid>) -> Town {
    let mut config = town().config().clone();
    config.aids = aids;
    Town::try_from(config).unwrap()
}

fn low_qf() -> Family {
    let mut f = family();
    f.quotient_familial = Some(540);
    f
}

/// Léa's Wednesdays of November 2026 (4, 18, 25: the 11th is a public holiday), present.
fn wednesdays() -> Vec<Booking> {
    [4, 18, 25]
        .map(|day| {
            booking("alsh-mercredi", d(2026, 11, day), BookingStatus::Confirmed, 1200)
                .mark(Attendance::Present, at(2026, 11, day, 18, 0))
        })
        .to_vec()
}

fn bill(town: &Town, f: &Family, bookings: &[Booking], used: &Used) -> Bill {
    let families = BTreeMap::from([(f.reference.clone(), f.clone())]);
    let (bills, _) = billing::bills(town, &families, &Default::default(), bookings, d(2026, 12, 1), used);
    bills.into_iter().next().unwrap()
}

fn labels(b: &Bill) -> Vec<(&str, i64)> {
    b.aids.iter().map(|a| (a.label.as_str(), a.amount.get())).collect()
}

#[test]
fn an_aid_is_its_own_line_and_the_total_is_what_the_family_owes() {
    let town = town_with(vec![atl()]);
    let b = bill(&town, &low_qf(), &wednesdays()[..2], &Used::new());
    assert_eq!(labels(&b), [("Aide CAF temps libres\u{202f}: −3,00\u{a0}€ × 2\u{a0}jours", 600)]);
    assert_eq!(b.aids[0].dates_text, "4 et 18/11");
    assert_eq!(b.lines[0].amount, c(2400), "the line keeps its price");
    assert_eq!(b.total, c(1800), "24,00 € less 6,00 € of aid");
    assert!(crate::fr::faults(&b.aids[0].label).is_empty());
}

#[test]
fn the_ceiling_reached_mid_month_gives_what_is_left_on_that_day() {
    let town = town_with(vec![atl()]);
    // 10 € a year: 3 + 3 + 3, then 1 € on the 25th.
    let mut four = wednesdays();
    four.insert(0, booking("alsh-mercredi", d(2026, 11, 2), BookingStatus::Confirmed, 1200));
    four[0].date = d(2026, 11, 3);
    let b = bill(&town, &low_qf(), &four, &Used::new());
    assert_eq!(
        labels(&b),
        [
            ("Aide CAF temps libres\u{202f}: −3,00\u{a0}€ × 3\u{a0}jours", 900),
            ("Aide CAF temps libres (plafond annuel atteint)\u{202f}: −1,00\u{a0}€ × 1\u{a0}jour", 100),
        ]
    );
    assert_eq!(b.aids[1].dates, [d(2026, 11, 25)], "the last day in date order");
    assert_eq!(b.total, c(4 * 1200 - 1000));
    // 8 € given earlier in the year: 2 € left, all on the 4th.
    let used = Used::from([((id("martin"), id("lea"), id("caf-atl")), c(800))]);
    let b = bill(&town, &low_qf(), &wednesdays(), &used);
    assert_eq!(
        labels(&b),
        [("Aide CAF temps libres (plafond annuel atteint)\u{202f}: −2,00\u{a0}€ × 1\u{a0}jour", 200)]
    );
    assert_eq!(b.aids[0].dates, [d(2026, 11, 4)]);
    // The ceiling used up: nothing, and no line.
    let used = Used::from([((id("martin"), id("lea"), id("caf-atl")), c(1000))]);
    assert!(bill(&town, &low_qf(), &wednesdays(), &used).aids.is_empty());
}

#[test]
fn the_qf_when_the_month_is_billed_decides_and_named_families_always_earn_it() {
    let town = town_with(vec![atl()]);
    let mut f = low_qf();
    f.quotient_familial = Some(601);
    assert!(bill(&town, &f, &wednesdays(), &Used::new()).aids.is_empty(), "QF 601: above the bracket");
    f.quotient_familial = Some(600);
    assert_eq!(bill(&town, &f, &wednesdays(), &Used::new()).aids.len(), 1, "bounds included");
    f.quotient_familial = None;
    assert!(bill(&town, &f, &wednesdays(), &Used::new()).aids.is_empty(), "an unknown QF earns nothing");
    let mut named = atl();
    named.families = vec![id("martin")];
    let town = town_with(vec![named]);
    assert_eq!(bill(&town, &f, &wednesdays(), &Used::new()).aids.len(), 1, "named: whatever its QF");
}

#[test]
fn only_days_attended_or_booked_without_mark_earn_it() {
    let town = town_with(vec![atl()]);
    let now = at(2026, 11, 30, 18, 0);
    let base = booking("alsh-mercredi", d(2026, 11, 4), BookingStatus::Confirmed, 1200);
    let days = vec![
        base.clone(), // attendance not taken: billed as booked, aided
        {
            let mut b = base.mark(Attendance::Absent, now);
            b.date = d(2026, 11, 18);
            b
        },
        {
            let mut b = base.mark(Attendance::AbsentJustified, now);
            b.date = d(2026, 11, 25);
            b
        },
        {
            let mut b = base.cancel(BookingStatus::Cancelled, true, staff(now));
            b.date = d(2026, 11, 10);
            b
        },
    ];
    let b = bill(&town, &low_qf(), &days, &Used::new());
    assert_eq!(b.aids.len(), 1);
    assert_eq!(b.aids[0].dates, [d(2026, 11, 4)], "not the absence, the justified absence nor the late cancellation");
    assert_eq!(b.total, c(3 * 1200 - 300), "the absence and the late cancellation are billed, without aid");
}

#[test]
fn an_aid_never_makes_a_day_negative_and_two_aids_share_the_day() {
    let mut big = atl();
    big.amount = c(1000);
    big.ceiling = None;
    let mut town_aid = atl();
    town_aid.id = id("ville");
    town_aid.name = "Aide de la commune".into();
    town_aid.funder = Funder::Town;
    town_aid.ceiling = None;
    let town = town_with(vec![big, town_aid]);
    let b = bill(&town, &low_qf(), &wednesdays()[..1], &Used::new());
    assert_eq!(
        labels(&b),
        [
            ("Aide CAF temps libres\u{202f}: −10,00\u{a0}€ × 1\u{a0}jour", 1000),
            ("Aide de la commune (dans la limite du prix du jour)\u{202f}: −2,00\u{a0}€ × 1\u{a0}jour", 200),
        ]
    );
    assert_eq!(b.total, Cents::ZERO);
    assert!(!b.is_due(), "a month wholly paid by aids is not invoiced");
}

#[test]
fn an_hourly_aid_counts_the_units_session() {
    let mut config = town().config().clone();
    config.activities[1].units[0].duration_minutes = Some(150);
    let mut msa = atl();
    msa.id = id("msa");
    msa.name = "Aide MSA".into();
    msa.per = Per::Hour;
    msa.amount = c(150);
    msa.ceiling = None;
    config.aids = vec![msa];
    let town = Town::try_from(config).unwrap();
    let b = bill(&town, &low_qf(), &wednesdays(), &Used::new());
    assert_eq!(
        labels(&b),
        [("Aide MSA\u{202f}: −3,75\u{a0}€ × 3\u{a0}jours (1,50\u{a0}€ de l’heure × 2\u{a0}h\u{a0}30)", 1125)]
    );
}

#[test]
fn a_shared_child_has_a_ceiling_in_each_household() {
    let town = town_with(vec![atl()]);
    let mut petit = low_qf();
    petit.reference = id("petit");
    let mut theirs = wednesdays();
    for b in &mut theirs {
        b.family = id("petit");
    }
    // The Martins used Léa's whole ceiling; the Petits' household has its own.
    let used = Used::from([((id("martin"), id("lea"), id("caf-atl")), c(1000))]);
    let families = BTreeMap::from([(id("martin"), low_qf()), (id("petit"), petit)]);
    let mut all = wednesdays()[..1].to_vec();
    all[0].date = d(2026, 11, 3);
    all.extend(theirs);
    let (bills, _) = billing::bills(&town, &families, &Default::default(), &all, d(2026, 12, 1), &used);
    let aids: Vec<(&str, i64)> =
        bills.iter().map(|b| (b.family.as_str(), b.aids.iter().map(|a| a.amount.get()).sum())).collect();
    assert_eq!(aids, [("martin", 0), ("petit", 900)]);
}

#[test]
fn earlier_invoices_of_the_aid_year_count_and_a_cancelled_one_does_not() {
    let mut school = atl();
    school.id = id("ville");
    school.year = AidYear::School;
    let town = town_with(vec![atl(), school]);
    let inv = |month: &str, amount: i64, aid: &str| {
        let mut i = crate::testkit::november_invoice(Vec::new(), "x");
        i.month = Month::parse(month).unwrap();
        i.aids = vec![AidLine {
            aid: id(aid),
            label: String::new(),
            child: id("lea"),
            child_name: String::new(),
            unit: id("alsh-mercredi"),
            unit_name: String::new(),
            dates: Vec::new(),
            dates_text: String::new(),
            quantity: 1,
            per_day: c(amount),
            amount: c(amount),
        }];
        i
    };
    let mut cancelled = inv("2026-10", 500, "caf-atl");
    cancelled.cancelled = Some(crate::invoice::Cancellation {
        reason: "erreur".into(),
        by: "a".into(),
        at: at(2026, 11, 2, 9, 0),
        credit_note: "AV".into(),
    });
    let invoices = vec![
        inv("2025-12", 300, "caf-atl"), // last civil year
        inv("2026-03", 200, "caf-atl"),
        inv("2026-10", 100, "caf-atl"),
        cancelled,
        inv("2026-08", 400, "ville"), // last school year
        inv("2026-09", 50, "ville"),
        inv("2026-12", 70, "ville"), // not before the month billed
    ];
    let used = used(&town, Month::parse("2026-11").unwrap(), &invoices, std::iter::empty());
    let key = |aid: &str| (id::<FamilyRef>("martin"), id::<ChildId>("lea"), id::<AidId>(aid));
    assert_eq!(used.get(&key("caf-atl")), Some(&c(300)));
    assert_eq!(used.get(&key("ville")), Some(&c(50)));
    assert_eq!(year_start(AidYear::School, Month::parse("2027-02").unwrap()), Month::parse("2026-09").unwrap());
    assert_eq!(year_start(AidYear::Civil, Month::parse("2027-02").unwrap()), Month::parse("2027-01").unwrap());
    let months = months_before(&town, Month::parse("2026-11").unwrap());
    assert_eq!((months.first().map(ToString::to_string), months.len()), (Some("2026-01".into()), 10));
}

#[test]
fn a_credited_or_regularised_day_gives_back_what_the_family_paid_not_the_aid() {
    let town = town_with(vec![atl()]);
    let b = bill(&town, &low_qf(), &wednesdays(), &Used::new());
    let invoice =
        crate::billing::Invoice::issue(b, Month::parse("2026-11").unwrap(), "2026-000001".into(), d(2026, 12, 1), "a");
    // The line is 36,00 €; its days earned 9,00 €: a credit note gives back 27,00 € at most.
    let asked = |amount| [crate::credit::CreditAsked { line: Some(0), amount: c(amount) }];
    assert_eq!(crate::credit::credit_lines(&invoice, &asked(2700), &Default::default()).map(|l| l.len()), Ok(1));
    assert_eq!(
        crate::credit::credit_lines(&invoice, &asked(2701), &Default::default()),
        Err(crate::credit::CreditRefused::OverLine { amount: c(2700) })
    );
    // A certificate accepted after billing for the 18th: 12,00 € less its 3,00 € of aid.
    let day = &wednesdays()[1];
    assert_eq!(crate::regularisation::billed_on(&invoice, day), c(900));
}

#[test]
fn a_bad_aid_is_refused_with_its_path() {
    let refused = |a: Aid| {
        let mut config = town().config().clone();
        config.aids = vec![a];
        Town::try_from(config).err().map(|e| e.path)
    };
    let mut a = atl();
    a.units = vec![id("piscine")];
    assert_eq!(refused(a), Some("aids[0].units[0]".into()));
    let mut a = atl();
    a.per = Per::Hour;
    assert_eq!(refused(a), Some("aids[0].units[0]".into()), "per hour without the unit's duration");
    let mut a = atl();
    a.qf = None;
    assert_eq!(refused(a), Some("aids[0]".into()), "for nobody");
    let mut a = atl();
    a.qf = Some(QfRange { from: 700, up_to: 600 });
    assert_eq!(refused(a), Some("aids[0].qf".into()));
    let mut a = atl();
    a.amount = Cents::ZERO;
    assert_eq!(refused(a), Some("aids[0].amount".into()));
    let mut a = atl();
    a.ceiling = Some(Cents::ZERO);
    assert_eq!(refused(a), Some("aids[0].ceiling".into()));
    let mut config = town().config().clone();
    config.aids = vec![atl(), atl()];
    assert_eq!(Town::try_from(config).err().map(|e| e.path), Some("aids[1].id".into()));
    // The JSON a town writes: an unknown field is refused.
    let mut doc = serde_json::to_value(town().config()).unwrap();
    doc["aids"] = json!([{"id": "caf", "name": "Aide", "funder": "caf", "units": ["cantine"], "amount": 100,
                          "per": "day", "qf": {"up_to": 600}, "plafond": 1000}]);
    assert!(Town::parse(doc.to_string().as_bytes()).is_err());
}

/// A request of the 25th accepted after November is billed: the day is billed on the next
/// invoice at its price less the aid it earns (12,00 € − 3,00 €), as it would have been had
/// the decision come before billing.
#[test]
fn a_request_accepted_after_billing_earns_its_aid() {
    let town = town_with(vec![atl()]);
    let billed_days = wednesdays()[..2].to_vec();
    let b = bill(&town, &low_qf(), &billed_days, &Used::new());
    let invoice =
        crate::billing::Invoice::issue(b, Month::parse("2026-11").unwrap(), "2026-000001".into(), d(2026, 12, 1), "a");
    let pending = booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200);
    let accepted = pending.decide(true, None, staff(at(2026, 12, 3, 9, 0))).unwrap();
    let mut bookings = billed_days.clone();
    bookings.push(pending.clone());
    let month = Month::parse("2026-11").unwrap();
    let mut rebill = crate::regularisation::Rebill::new(
        &town,
        month,
        (&low_qf(), Default::default()),
        bookings,
        Used::new(),
        Some(&invoice),
        vec![],
    );
    let r = rebill.change(&pending, &accepted, ("ALSH", "Léa Martin"), (at(2026, 12, 3, 9, 0), "agent")).unwrap();
    let aid = crate::regularisation::AidDelta { aid: id("caf-atl"), child: id("lea"), amount: 300 };
    assert_eq!(r.aids, [aid]);
    assert_eq!(r.delta, 900);
}

/// The ceiling holds for a day billed after its month: 10,00 € a year, 3,00 € given in
/// October, 6,00 € by November's 4th and 18th; the 25th's request accepted afterwards gets the
/// 1,00 € left. A QF changed since (above 600) does not take November's aids back: the month
/// is billed again with the QF its invoice was billed with.
#[test]
fn a_day_billed_after_its_month_keeps_the_ceiling_and_the_qf_as_billed() {
    let town = town_with(vec![atl()]);
    let month = Month::parse("2026-11").unwrap();
    let used = Used::from([((id("martin"), id("lea"), id("caf-atl")), c(300))]);
    let mut days = wednesdays()[..2].to_vec();
    let pending = booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200);
    days.push(pending.clone());
    let invoice = crate::billing::Invoice::issue(
        bill(&town, &low_qf(), &days, &used),
        month,
        "2026-000001".into(),
        d(2026, 12, 1),
        "a",
    );
    assert_eq!((invoice.as_billed.map(|a| a.quotient_familial), invoice.total), (Some(Some(540)), c(1800)));
    let mut richer = low_qf();
    richer.quotient_familial = Some(1500);
    let mut rebill = crate::regularisation::Rebill::new(
        &town,
        month,
        (&richer, Default::default()),
        days,
        used,
        Some(&invoice),
        vec![],
    );
    let accepted = pending.decide(true, None, staff(at(2026, 12, 3, 9, 0))).unwrap();
    let r = rebill.change(&pending, &accepted, ("ALSH", "Léa Martin"), (at(2026, 12, 3, 9, 0), "agent")).unwrap();
    assert_eq!((r.delta, r.aids[0].amount), (1100, 100));
}

/// The ceiling counts what régularisations of the year's earlier months gave (a request
/// accepted after billing) or took back (a certificate): 3,00 € on the October invoice, +3,00 €
/// by a régularisation of October, −3,00 € by one of September; one of November itself or of
/// last year does not count for November.
#[test]
fn the_ceiling_counts_what_regularisations_gave_or_took_back() {
    let town = town_with(vec![atl()]);
    let november = Month::parse("2026-11").unwrap();
    let mut october = crate::billing::Invoice::issue(
        bill(&town, &low_qf(), &wednesdays(), &Used::new()),
        Month::parse("2026-10").unwrap(),
        "2026-000001".into(),
        d(2026, 11, 1),
        "a",
    );
    october.aids.truncate(1);
    october.aids[0].amount = c(300);
    let martin: FamilyRef = id("martin");
    let delta = |amount| AidDelta { aid: id("caf-atl"), child: id("lea"), amount };
    let (plus, minus, own, old) = (delta(300), delta(-300), delta(300), delta(300));
    let regularised = [
        (&martin, Month::parse("2026-10").unwrap(), &plus),
        (&martin, Month::parse("2026-09").unwrap(), &minus),
        (&martin, november, &own),
        (&martin, Month::parse("2025-12").unwrap(), &old),
    ];
    let used = used(&town, november, std::slice::from_ref(&october), regularised.iter().copied());
    assert_eq!(used.get(&(martin.clone(), id("lea"), id("caf-atl"))), Some(&c(300)));
}

/// The funders' claim of a year: the aid lines of the year's invoices per aid, month, household
/// and child (a cancelled invoice and last year's left out), then the régularisations' changes.
#[test]
fn a_year_claim_sums_the_invoices_aid_lines_and_the_regularisations() {
    let town = town_with(vec![atl()]);
    let issue = |month: &str, number: &str| {
        crate::billing::Invoice::issue(
            bill(&town, &low_qf(), &wednesdays(), &Used::new()),
            Month::parse(month).unwrap(),
            number.into(),
            d(2026, 12, 1),
            "a",
        )
    };
    let november = issue("2026-11", "2026-000002");
    let mut cancelled = issue("2026-10", "2026-000001");
    cancelled.cancelled = Some(crate::invoice::Cancellation {
        reason: "x".into(),
        by: "a".into(),
        at: at(2026, 11, 2, 9, 0),
        credit_note: "AV".into(),
    });
    let last_year = issue("2025-11", "2025-000009");
    let martin: FamilyRef = id("martin");
    let back = AidDelta { aid: id("caf-atl"), child: id("lea"), amount: -300 };
    let lines =
        claim(&town, 2026, &[november, cancelled, last_year], [(&martin, Month::parse("2026-11").unwrap(), &back)]);
    let got: Vec<(String, Option<u32>, i64)> = lines.iter().map(|l| (l.month.to_string(), l.days, l.amount)).collect();
    assert_eq!(got, [("2026-11".to_owned(), Some(3), 900), ("2026-11".to_owned(), None, -300)]);
    assert_eq!(lines[0].funder, crate::config::Funder::Caf);
}
