//! Post-billing: what a month's bookings become on a family's invoice. Each booking is billed
//! by the rules of `docs/billing.md` (its status at the month's end, its attendance, its late
//! and late-cancel flags); the lines group the same child, unit, rule and price, list their
//! dates, and name the rule that priced them with its figures, so that a parent can check every
//! euro against the calendar.

use super::aid;
use super::booking::{Attendance, Booking, BookingStatus};
use super::config::SiblingCount;
use super::config::{Town, Unit};
use super::family::{Child, Family};
use super::{Cents, ChildId, FamilyRef, Month, UnitId, pricing};
pub use crate::invoice::{AsBilled, Bill, DUE_DAYS, Invoice, InvoiceLine, Line, Online, invoice_number};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one booking of the month is billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Billed {
    /// On the invoice: this amount, under this rule.
    Line { rule: String, amount: Cents },
    /// Not billed, but shown: a justified absence (a line at 0).
    Justified,
    /// Not on the invoice at all (cancelled in time, refused).
    Nothing,
    /// Not billed, and staff must look: a request still waiting for a decision.
    Pending,
}

/// The rule that prices a booking, as the invoice names it, with its figures: the rule kept on
/// the booking when it was made ([`Booking::priced_by`]), or, for a booking made before it was
/// kept, the family's rule today when it still gives the booking's price
/// ([`pricing::text_today`]).
pub fn bill(b: &Booking, unit: &Unit, family: &Family) -> Billed {
    let rule = || b.priced_by.map_or_else(|| pricing::text_today(unit, family, b.price, b.late), |r| r.text(b.price));
    match b.status {
        BookingStatus::Pending => Billed::Pending,
        BookingStatus::Refused => Billed::Nothing,
        BookingStatus::Cancelled if b.late_cancel => {
            Billed::Line { rule: format!("Annulation hors délai : facturée {}", b.price), amount: b.price }
        }
        BookingStatus::Cancelled => Billed::Nothing,
        // A cancellation staff have not decided yet is still a booking.
        BookingStatus::Confirmed | BookingStatus::CancelRequested => match b.attendance {
            _ if b.is_justified() => Billed::Justified,
            _ => Billed::Line { rule: rule(), amount: b.price },
        },
    }
}

/// A booking staff must look at before billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anomaly {
    /// A request still waiting for a decision at the month's end: not billed.
    PendingRequest { family: FamilyRef, child: ChildId, unit: UnitId, date: NaiveDate },
    /// A past day booked without attendance taken: billed as booked.
    NoAttendance { family: FamilyRef, child: ChildId, unit: UnitId, date: NaiveDate },
}

/// Where a month stands in its billing, as staff read it: « à facturer », « facturé le … »,
/// « publié le … ». Finalising is offered only while the month is to bill, publishing only
/// while it is billed and not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    ToBill,
    Billed,
    Published,
}

impl RunStatus {
    /// The status of a month with `invoices` issued, finalised (`issued`: its run recorded, with
    /// no invoice when it had nothing to bill) or not, published or not.
    pub fn of(invoices: i64, issued: bool, published: bool) -> RunStatus {
        match (invoices > 0 || issued, published) {
            (_, true) => RunStatus::Published,
            (true, false) => RunStatus::Billed,
            (false, false) => RunStatus::ToBill,
        }
    }
}

/// What makes bookings one line: the child, the unit, the rule and the unit price.
type LineKey = (ChildId, UnitId, String, Cents);

/// The bills of a month: each family's bookings of the month, billed and grouped, and what
/// staff must look at. `today` says which days are past (a past day without attendance is an
/// anomaly). A booking is billed to the family whose booking it is. A unit with sibling
/// reductions bills the family's second, third… child of the day less ([`siblings`]); the
/// aids each family earns are deducted as their own lines ([`aid::lines`]), given what its
/// children were given earlier in the aid's year (`used`).
pub fn bills(
    town: &Town,
    families: &BTreeMap<FamilyRef, Family>,
    children: &BTreeMap<ChildId, Child>,
    bookings: &[Booking],
    today: NaiveDate,
    used: &aid::Used,
) -> (Vec<Bill>, Vec<Anomaly>) {
    let mut priced: Vec<(&Booking, String, Cents)> = Vec::new();
    let mut anomalies = Vec::new();
    for b in bookings {
        let (Some(family), Some((_, unit))) = (families.get(&b.family), town.unit(&b.unit)) else { continue };
        let slot = || (b.family.clone(), b.child.clone(), b.unit.clone(), b.date);
        let (rule, price) = match bill(b, unit, family) {
            Billed::Line { rule, amount } => (rule, amount),
            Billed::Justified => ("Absence justifiée (certificat médical) : non facturée".to_owned(), Cents::ZERO),
            Billed::Nothing => continue,
            Billed::Pending => {
                let (family, child, unit, date) = slot();
                anomalies.push(Anomaly::PendingRequest { family, child, unit, date });
                continue;
            }
        };
        if b.date < today && b.attendance.is_none() && b.holds_place() {
            let (family, child, unit, date) = slot();
            anomalies.push(Anomaly::NoAttendance { family, child, unit, date });
        }
        priced.push((b, rule, price));
    }
    siblings(town, families, children, &mut priced);
    let mut grouped: BTreeMap<&FamilyRef, BTreeMap<LineKey, Vec<NaiveDate>>> = BTreeMap::new();
    let mut days: BTreeMap<&FamilyRef, Vec<aid::Day>> = BTreeMap::new();
    for (b, rule, price) in priced {
        if attended(b) && price > Cents::ZERO {
            let day = aid::Day { child: b.child.clone(), unit: b.unit.clone(), date: b.date, price };
            days.entry(&b.family).or_default().push(day);
        }
        grouped
            .entry(&b.family)
            .or_default()
            .entry((b.child.clone(), b.unit.clone(), rule, price))
            .or_default()
            .push(b.date);
    }
    let bills = grouped
        .into_iter()
        .map(|(family, lines)| {
            let lines: Vec<Line> = lines
                .into_iter()
                .map(|((child, unit, rule, unit_price), mut dates)| {
                    dates.sort();
                    let quantity = u32::try_from(dates.len()).unwrap_or(u32::MAX);
                    let unit_name = town.unit(&unit).map_or_else(|| unit.to_string(), |(_, u)| u.name.clone());
                    Line {
                        dates_text: dates_text(&dates),
                        amount: unit_price.times(quantity),
                        child,
                        child_name: String::new(),
                        unit,
                        unit_name,
                        rule,
                        dates,
                        quantity,
                        unit_price,
                    }
                })
                .collect();
            let aids = families
                .get(family)
                .map(|f| aid::lines(town, f, days.get(family).map_or(&[][..], Vec::as_slice), used))
                .unwrap_or_default();
            let gross = lines.iter().fold(Cents::ZERO, |t, l| t + l.amount);
            let total = gross.minus(aids.iter().fold(Cents::ZERO, |t, a| t + a.amount));
            let as_billed = families.get(family).map(|f| AsBilled { quotient_familial: f.quotient_familial });
            Bill { family: family.clone(), lines, aids, total, as_billed }
        })
        .collect();
    (bills, anomalies)
}

/// Whether a booking's day counts as attended for an aid: booked, not cancelled, and not marked
/// absent (present, or attendance not taken).
fn attended(b: &Booking) -> bool {
    matches!(b.status, BookingStatus::Confirmed | BookingStatus::CancelRequested)
        && !b.is_justified()
        && b.attendance != Some(Attendance::Absent)
}

/// Sibling reductions: on a unit with `price.siblings`, a booking billed at its price (not a
/// late cancellation, not a justified absence) has a rank among the family's children, and the
/// `n`-th pays its price less the reduction of rank `n`, rounded half up to the cent; the line
/// says so. Counting the children booked the same day (`same_day`), they are ranked from the
/// dearest booking to the cheapest (then by child); counting those enrolled in the unit that day
/// (`enrolled`, booked or not), from the eldest (then by child).
fn siblings(
    town: &Town,
    families: &BTreeMap<FamilyRef, Family>,
    children: &BTreeMap<ChildId, Child>,
    priced: &mut [(&Booking, String, Cents)],
) {
    let mut days: BTreeMap<(&FamilyRef, &UnitId, NaiveDate), Vec<usize>> = BTreeMap::new();
    let mut ranked: Vec<(usize, u32, &'static str)> = Vec::new();
    for (i, (b, _, price)) in priced.iter().enumerate() {
        let held = matches!(b.status, BookingStatus::Confirmed | BookingStatus::CancelRequested);
        let Some(rule) = town.unit(&b.unit).and_then(|(_, u)| u.price.siblings.as_ref()) else { continue };
        if !held || *price == Cents::ZERO {
            continue;
        }
        match rule.count {
            SiblingCount::SameDay => days.entry((&b.family, &b.unit, b.date)).or_default().push(i),
            SiblingCount::Enrolled => {
                let rank = families.get(&b.family).map_or(1, |f| enrolled_rank(town, f, children, b));
                ranked.push((i, rank, "inscrit"));
            }
        }
    }
    for (_, mut of_day) in days {
        of_day
            .sort_by(|a, b| priced[*b].2.cmp(&priced[*a].2).then_with(|| priced[*a].0.child.cmp(&priced[*b].0.child)));
        ranked.extend((1u32..).zip(of_day).map(|(rank, i)| (i, rank, "du jour")));
    }
    for (i, rank, counted) in ranked {
        let Some(rule) = town.unit(&priced[i].0.unit).and_then(|(_, u)| u.price.siblings.as_ref()) else { continue };
        let percent = rule.percent(rank);
        if percent == 0 {
            continue;
        }
        let (_, text, price) = &mut priced[i];
        let reduced = price.percent(100 - percent);
        let nn = crate::fr::NNBSP;
        *text = format!("{text}{nn}; {} enfant {counted}{nn}: −{percent}{nn}%, soit {reduced}", ordinal(rank));
        *price = reduced;
    }
}

/// The rank of the booking's child among `family`'s children enrolled in its unit on its day
/// (the child itself counted even when not enrolled), from the eldest, then by child; 1 when
/// the child's record is not known.
fn enrolled_rank(town: &Town, family: &Family, children: &BTreeMap<ChildId, Child>, b: &Booking) -> u32 {
    let Some((activity, _)) = town.unit(&b.unit) else { return 1 };
    let mut enrolled: Vec<(NaiveDate, &ChildId)> = family
        .children
        .iter()
        .filter_map(|id| children.get(id))
        .filter(|c| c.id == b.child || c.enrolments.iter().any(|e| e.covers(&activity.id, &e.site, &b.unit, b.date)))
        .map(|c| (c.birth_date, &c.id))
        .collect();
    enrolled.sort();
    enrolled.iter().position(|(_, id)| **id == b.child).map_or(1, |p| u32::try_from(p + 1).unwrap_or(u32::MAX))
}

/// « deuxième », « troisième »… (ranks 2 to 10 are configurable).
fn ordinal(rank: u32) -> String {
    const WORDS: [&str; 9] =
        ["deuxième", "troisième", "quatrième", "cinquième", "sixième", "septième", "huitième", "neuvième", "dixième"];
    usize::try_from(rank)
        .ok()
        .and_then(|r| WORDS.get(r.wrapping_sub(2)))
        .map_or_else(|| format!("{rank}e"), |w| (*w).to_owned())
}

/// Writes each line's child name (« Léa Martin ») from `names`.
pub fn name_children(bills: &mut [Bill], names: &BTreeMap<ChildId, String>) {
    for line in bills.iter_mut().flat_map(|b| b.lines.iter_mut()) {
        if let Some(n) = names.get(&line.child) {
            line.child_name.clone_from(n);
        }
    }
    for line in bills.iter_mut().flat_map(|b| b.aids.iter_mut()) {
        if let Some(n) = names.get(&line.child) {
            line.child_name.clone_from(n);
        }
    }
}

pub use crate::fr::dates_text;

/// The first and last day of `d`'s month.
pub fn month_of(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    Month::of(d).days()
}

/// The first and last day of the month before `today`'s.
pub fn previous_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    Month::of(today).previous().days()
}

/// The first and last day of the month `raw` names (`AAAA-MM`).
pub fn month(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    Month::parse(raw).ok().map(Month::days)
}

/// A month is billed only once it is over: from the day after its `last` day.
pub fn month_over(last: NaiveDate, today: NaiveDate) -> bool {
    last < today
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Booking;
    use crate::testkit::{at, booking, d, family, guardian, id, staff, town};

    fn bill_of(b: &Booking) -> Billed {
        let town = town();
        bill(b, town.unit(&b.unit).unwrap().1, &family())
    }

    fn line(rule: &str, amount: i64) -> Billed {
        Billed::Line { rule: rule.into(), amount: Cents::new(amount).unwrap() }
    }

    #[test]
    fn a_month_is_to_bill_then_billed_then_published() {
        assert_eq!(RunStatus::of(0, false, false), RunStatus::ToBill);
        assert_eq!(RunStatus::of(10, false, false), RunStatus::Billed, "a run issued before its day was recorded");
        assert_eq!(RunStatus::of(10, true, false), RunStatus::Billed);
        assert_eq!(RunStatus::of(0, true, false), RunStatus::Billed, "a month finalised with nothing to bill");
        assert_eq!(RunStatus::of(10, true, true), RunStatus::Published);
    }

    #[test]
    fn each_status_and_attendance_is_billed_by_its_rule() {
        let now = at(2026, 11, 30, 18, 0);
        let monday = d(2026, 11, 2);
        let confirmed = booking("cantine", monday, BookingStatus::Confirmed, 250);
        assert_eq!(bill_of(&confirmed), line("Tarif QF 601–900 €, résident : 2,50\u{a0}€", 250));
        assert_eq!(bill_of(&confirmed.mark(Attendance::Present, now)), bill_of(&confirmed));
        assert_eq!(bill_of(&confirmed.mark(Attendance::Absent, now)), bill_of(&confirmed), "unjustified: billed");
        assert_eq!(bill_of(&confirmed.mark(Attendance::AbsentJustified, now)), Billed::Justified);
        let in_time = confirmed.cancel(BookingStatus::Cancelled, false, guardian(now));
        assert_eq!(bill_of(&in_time), Billed::Nothing);
        let late = confirmed.cancel(BookingStatus::Cancelled, true, staff(now));
        assert_eq!(bill_of(&late), line("Annulation hors délai : facturée 2,50\u{a0}€", 250));
        let pending = booking("alsh-mercredi", d(2026, 11, 4), BookingStatus::Pending, 1200);
        assert_eq!(bill_of(&pending), Billed::Pending);
        let refused = pending.decide(false, Some("Complet"), staff(now)).unwrap();
        assert_eq!(bill_of(&refused), Billed::Nothing);
        let asked = confirmed.cancel(BookingStatus::CancelRequested, false, guardian(now));
        assert_eq!(bill_of(&asked), bill_of(&confirmed), "an undecided cancellation is still booked");
    }

    #[test]
    fn late_additions_name_their_rule_with_its_figures() {
        let mut b = booking("cantine", d(2026, 11, 2), BookingStatus::Confirmed, 550);
        b.late = true;
        assert_eq!(bill_of(&b), line("Ajout hors délai : tarif 2,50\u{a0}€ + 3,00\u{a0}€", 550));
        let mut soir = booking("peri-soir", d(2026, 11, 2), BookingStatus::Confirmed, 1000);
        soir.late = true;
        assert_eq!(bill_of(&soir), line("Ajout hors délai : tarif majoré 10,00\u{a0}€", 1000));
        let mut mercredi = booking("alsh-mercredi", d(2026, 11, 4), BookingStatus::Confirmed, 1800);
        mercredi.late = true;
        assert_eq!(bill_of(&mercredi), line("Ajout hors délai : 150 % du tarif 12,00\u{a0}€, soit 18,00\u{a0}€", 1800));
        // A late booking marked justified is not billed either.
        assert_eq!(bill_of(&mercredi.mark(Attendance::AbsentJustified, at(2026, 11, 5, 9, 0))), Billed::Justified);
    }

    #[test]
    fn the_bracket_residence_and_a_changed_quotient_are_said() {
        let town = town();
        let (_, cantine) = town.unit(&id("cantine")).unwrap();
        let b = booking("cantine", d(2026, 11, 2), BookingStatus::Confirmed, 250);
        let mut f = family();
        f.quotient_familial = Some(400);
        assert_eq!(
            bill(&b, cantine, &f),
            line("Tarif de la réservation : 2,50\u{a0}€", 250),
            "the booking's price holds"
        );
        let mut low = b.clone();
        low.price = Cents::new(150).unwrap();
        assert_eq!(bill(&low, cantine, &f), line("Tarif QF 0–600 €, résident : 1,50\u{a0}€", 150));
        f.resident = false;
        let mut away = b.clone();
        away.price = Cents::new(600).unwrap();
        assert_eq!(bill(&away, cantine, &f), line("Tarif non-résident : 6,00\u{a0}€", 600));
        f.resident = true;
        f.quotient_familial = None;
        let mut base = b;
        base.price = Cents::new(400).unwrap();
        assert_eq!(bill(&base, cantine, &f), line("Tarif de base, résident : 4,00\u{a0}€", 400));
    }

    #[test]
    fn a_line_names_the_rule_kept_on_the_booking_whatever_changed_since() {
        let town = town();
        let (_, cantine) = town.unit(&id("cantine")).unwrap();
        let mut f = family();
        let (price, rule) = pricing::priced(cantine, &f, false);
        let mut b = booking("cantine", d(2026, 11, 2), BookingStatus::Confirmed, 250);
        (b.price, b.priced_by) = (price, Some(rule));
        let priced = line("Tarif QF 601–900 €, résident : 2,50\u{a0}€", 250);
        assert_eq!(bill(&b, cantine, &f), priced);
        // The family's QF changes, then the price rises: the line still names its bracket.
        f.quotient_familial = Some(400);
        assert_eq!(bill(&b, cantine, &f), priced, "after a QF change");
        let mut dearer = cantine.clone();
        dearer.price.qf_brackets[1].price = Cents::new(300).unwrap();
        assert_eq!(bill(&b, &dearer, &f), priced, "after a price rise");
        // A late addition keeps its late rule with its figures.
        let (price, rule) = pricing::priced(cantine, &family(), true);
        let mut late = b.clone();
        (late.price, late.priced_by, late.late) = (price, Some(rule), true);
        assert_eq!(bill(&late, &dearer, &f), line("Ajout hors délai : tarif 2,50\u{a0}€ + 3,00\u{a0}€", 550));
        // Its late cancellation is billed at that late price.
        let cancelled = late.cancel(BookingStatus::Cancelled, true, staff(at(2026, 11, 1, 9, 0)));
        assert_eq!(bill(&cancelled, cantine, &f), line("Annulation hors délai : facturée 5,50\u{a0}€", 550));
    }

    #[test]
    fn a_non_resident_never_reads_resident() {
        let town = town();
        let (_, soir) = town.unit(&id("peri-soir")).unwrap();
        let mut f = family();
        f.resident = false;
        f.quotient_familial = None;
        // An older booking without its kept rule: the fallback says non-résident too.
        let b = booking("peri-soir", d(2026, 11, 2), BookingStatus::Confirmed, 250);
        assert_eq!(bill(&b, soir, &f), line("Tarif de base, non-résident : 2,50\u{a0}€", 250));
    }

    #[test]
    fn a_month_groups_lines_lists_dates_and_flags_what_staff_must_see() {
        let town = town();
        let now = at(2026, 11, 30, 18, 0);
        let tuesdays = [3, 10, 17, 24].map(|day| booking("cantine", d(2026, 11, day), BookingStatus::Confirmed, 250));
        let mut bookings: Vec<Booking> = tuesdays.iter().map(|b| b.mark(Attendance::Present, now)).collect();
        bookings[1] = tuesdays[1].mark(Attendance::AbsentJustified, now);
        // The 26th has no attendance taken; a request still waits on Wednesday the 25th.
        bookings.push(booking("cantine", d(2026, 11, 26), BookingStatus::Confirmed, 250));
        bookings.push(booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200));
        let families = BTreeMap::from([(id("martin"), family())]);
        let (bills, anomalies) =
            bills(&town, &families, &BTreeMap::new(), &bookings, d(2026, 12, 1), &aid::Used::new());
        assert_eq!(bills.len(), 1);
        let b = &bills[0];
        let texts: Vec<(&str, u32, i64)> =
            b.lines.iter().map(|l| (l.dates_text.as_str(), l.quantity, l.amount.get())).collect();
        assert_eq!(texts, [("10/11", 1, 0), ("3, 17, 24 et 26/11", 4, 1000)], "{:?}", b.lines);
        assert_eq!(b.total.get(), 1000);
        assert!(b.is_due());
        assert_eq!(anomalies.len(), 2, "{anomalies:?}");
        assert!(matches!(anomalies[0], Anomaly::NoAttendance { date, .. } if date == d(2026, 11, 26)));
        assert!(matches!(anomalies[1], Anomaly::PendingRequest { date, .. } if date == d(2026, 11, 25)));
    }

    #[test]
    fn a_shared_child_is_billed_to_the_family_whose_booking_it_is() {
        let town = town();
        let mut other = family();
        other.reference = id("petit");
        other.quotient_familial = None;
        let mut theirs = booking("cantine", d(2026, 11, 3), BookingStatus::Confirmed, 400);
        theirs.family = id("petit");
        let mine = booking("cantine", d(2026, 11, 5), BookingStatus::Confirmed, 250);
        let families = BTreeMap::from([(id("martin"), family()), (id("petit"), other)]);
        let (bills, _) = bills(&town, &families, &BTreeMap::new(), &[mine, theirs], d(2026, 12, 1), &aid::Used::new());
        let totals: Vec<(&str, i64)> = bills.iter().map(|b| (b.family.as_str(), b.total.get())).collect();
        assert_eq!(totals, [("martin", 250), ("petit", 400)]);
    }

    /// Counting the children enrolled: Léa (born 2018) and Noé (born 2020) are enrolled at the
    /// canteen until 31 January; Noé, the second, pays 20 % less every day he is booked, with or
    /// without Léa; from February Léa's enrolment has ended and Noé is the only one.
    #[test]
    fn siblings_enrolled_pay_less_from_the_second_every_day_they_are_booked() {
        let mut config = town().config().clone();
        config.activities[0].units[0].price.siblings = Some(crate::config::Siblings {
            count: crate::config::SiblingCount::Enrolled,
            reductions: vec![crate::config::SiblingReduction { from_child: 2, percent: 20 }],
        });
        let town = Town::try_from(config).unwrap();
        let mut f = family();
        f.children = vec![id("noe"), id("lea")];
        let lea = crate::testkit::child();
        let mut noe = lea.clone();
        noe.id = id("noe");
        noe.birth_date = d(2020, 5, 2);
        for e in &mut noe.enrolments {
            e.site = id("ecole-a");
            e.to = d(2027, 7, 3);
        }
        let mut lea_leaves = lea.clone();
        lea_leaves.enrolments.retain(|e| e.to <= d(2027, 1, 31));
        let children = BTreeMap::from([(id("lea"), lea_leaves), (id("noe"), noe)]);
        let of = |child: &str, date: NaiveDate| {
            let mut b = booking("cantine", date, BookingStatus::Confirmed, 250);
            b.child = id(child);
            b
        };
        let bookings = [of("noe", d(2026, 11, 3)), of("lea", d(2026, 11, 5)), of("noe", d(2027, 2, 2))];
        let families = BTreeMap::from([(id("martin"), f)]);
        let (bills, _) = bills(&town, &families, &children, &bookings, d(2027, 3, 1), &aid::Used::new());
        let lines: Vec<(&str, &str, i64)> =
            bills[0].lines.iter().map(|l| (l.child.as_str(), l.dates_text.as_str(), l.amount.get())).collect();
        assert_eq!(lines, [("lea", "5/11", 250), ("noe", "2/02", 250), ("noe", "3/11", 200)], "{:?}", bills[0].lines);
        let noe_line = bills[0].lines.iter().find(|l| l.dates_text == "3/11").unwrap();
        assert!(
            noe_line.rule.ends_with("deuxième enfant inscrit\u{202f}: −20\u{202f}%, soit 2,00\u{a0}€"),
            "{}",
            noe_line.rule
        );
        // Without the children's records, nobody is ranked second.
        let (alone, _) = super::bills(&town, &families, &BTreeMap::new(), &bookings, d(2027, 3, 1), &aid::Used::new());
        assert_eq!(alone[0].total.get(), 750);
    }

    #[test]
    fn siblings_booked_the_same_day_pay_less_from_the_second_and_the_line_says_so() {
        let mut config = town().config().clone();
        config.activities[0].units[0].price.siblings = Some(crate::config::Siblings {
            count: crate::config::SiblingCount::SameDay,
            reductions: vec![
                crate::config::SiblingReduction { from_child: 2, percent: 20 },
                crate::config::SiblingReduction { from_child: 3, percent: 50 },
            ],
        });
        let town = Town::try_from(config).unwrap();
        let mut f = family();
        f.children = vec![id("lea"), id("noe"), id("zoe"), id("tom")];
        let families = BTreeMap::from([(id("martin"), f)]);
        let of = |child: &str, day: u32, price: u32| {
            let mut b = booking("cantine", d(2026, 11, day), BookingStatus::Confirmed, price);
            b.child = id(child);
            b
        };
        // The 2nd: Léa and Noé (2,50 € each); Zoé's booking is a late addition (5,50 €), the
        // dearest, so she is the first. The 3rd: four children. The 5th: Léa alone.
        let mut bookings = vec![of("lea", 2, 250), of("noe", 2, 250), of("zoe", 2, 550)];
        bookings.extend(["lea", "noe", "zoe", "tom"].map(|c| of(c, 3, 250)));
        bookings.push(of("lea", 5, 250));
        // A late cancellation is not booked that day: it neither counts nor is reduced.
        bookings.push(of("tom", 2, 250).cancel(BookingStatus::Cancelled, true, staff(at(2026, 11, 1, 9, 0))));
        let (bills, _) = bills(&town, &families, &BTreeMap::new(), &bookings, d(2026, 12, 1), &aid::Used::new());
        let mut lines: Vec<(String, String, i64)> =
            bills[0].lines.iter().map(|l| (l.child.to_string(), l.dates_text.clone(), l.unit_price.get())).collect();
        lines.sort();
        let nn = '\u{202f}';
        assert_eq!(
            lines,
            [
                ("lea", "2/11", 200),
                ("lea", "3 et 5/11", 250),
                ("noe", "2/11", 125),
                ("noe", "3/11", 200),
                ("tom", "2/11", 250),
                ("tom", "3/11", 125),
                ("zoe", "2/11", 550),
                ("zoe", "3/11", 125),
            ]
            .map(|(c, t, p)| (c.to_owned(), t.to_owned(), p))
        );
        let rule = |child: &str, text: &str| {
            bills[0].lines.iter().find(|l| l.child.as_str() == child && l.dates_text == text).unwrap().rule.clone()
        };
        assert_eq!(
            rule("lea", "2/11"),
            format!(
                "Tarif QF 601–900 €, résident : 2,50\u{a0}€{nn}; deuxième enfant du jour{nn}: −20{nn}%, soit 2,00\u{a0}€"
            )
        );
        assert!(rule("noe", "2/11").contains("troisième enfant du jour"), "{}", rule("noe", "2/11"));
        let total: i64 = bills[0].lines.iter().map(|l| l.amount.get()).sum();
        assert_eq!(bills[0].total.get(), total);
    }

    #[test]
    fn dates_read_the_french_way() {
        assert_eq!(dates_text(&[d(2026, 11, 3)]), "3/11");
        assert_eq!(dates_text(&[d(2026, 11, 3), d(2026, 11, 10)]), "3 et 10/11");
        assert_eq!(dates_text(&[d(2026, 11, 30), d(2026, 12, 1)]), "30/11 et 01/12");
    }

    #[test]
    fn numbers_are_per_year_and_padded() {
        assert_eq!(invoice_number(2026, 123), "2026-000123");
        let bill = Bill {
            family: id("martin"),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::new(1000).unwrap(),
            as_billed: None,
        };
        let invoice = Invoice::issue(
            bill,
            crate::Month::parse("2026-11").unwrap(),
            invoice_number(2026, 1),
            d(2026, 12, 1),
            "mairie@ville.fr",
        );
        assert_eq!((invoice.due_on, invoice.total.get()), (d(2026, 12, 31), 1000));
    }

    #[test]
    fn a_month_is_written_aaaa_mm() {
        assert_eq!(month("2026-11"), Some((d(2026, 11, 1), d(2026, 11, 30))));
        assert_eq!(month("2028-02"), Some((d(2028, 2, 1), d(2028, 2, 29))));
        assert_eq!(previous_month(d(2027, 1, 15)), (d(2026, 12, 1), d(2026, 12, 31)));
        assert_eq!(month_of(d(2026, 11, 26)), (d(2026, 11, 1), d(2026, 11, 30)));
        for bad in ["2026-13", "2026-1", "26-11", "9999-01", "novembre", "2026-11-01"] {
            assert_eq!(month(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod month_over_tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn november_is_billed_from_the_first_of_december() {
        let (_, last) = month("2026-11").unwrap();
        assert!(!month_over(last, d(11, 15)));
        assert!(!month_over(last, d(11, 30)), "not on its last day");
        assert!(month_over(last, d(12, 1)));
    }
}
