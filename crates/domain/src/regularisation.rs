//! Money owed after an invoice is finalised, one way or the other (« régularisations »): a
//! change that alters what a billed booking is billed (a certificate accepted after billing, a
//! request of a billed month accepted afterwards) proposes the difference to staff, citing the
//! invoice; and a credit note's excess over what was left to pay on its invoice (it was paid)
//! waits for the family's next invoice. Each is settled once: by a credit note staff issue at
//! once, by the next finalised invoice (a « Régularisation » line for money owed to the town, a
//! deduction for money owed to the family, up to that invoice's total, the rest carried again),
//! or, for money owed to the family, by a refund from the régie. An invoice never changes.

use super::aid;
use super::billing::{self, Bill, Invoice, Line};
use super::booking::{Booking, BookingStatus};
use super::config::Town;
use super::family::{Child, Family};
use super::{AidId, Cents, ChildId, FamilyRef, Month, UnitId};
pub use crate::invoice::Deduction;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a régularisation corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A billed booking that would be billed differently now.
    Booking {
        child: ChildId,
        child_name: String,
        unit: UnitId,
        unit_name: String,
        date: NaiveDate,
        /// « absence justifiée », « demande acceptée »
        reason: String,
    },
    /// What a credit note gives back beyond what was left to pay on its invoice.
    CreditNote { credit_note: String },
}

pub use crate::aid::AidDelta;

/// Where (part of) a régularisation went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Settled {
    /// Billed on, or deducted from, a later invoice.
    Invoice { number: String, month: Month, amount: Cents },
    /// Given back at once by a credit note on the cited invoice.
    CreditNote { number: String, amount: Cents },
    /// Refunded by the régie.
    Refunded { on: NaiveDate, by: String, amount: Cents },
}

/// A correction owed after billing, citing the invoice it corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regularisation {
    /// The booking and the change (`2026-11-17.lea-martin.cantine.v5`), or the credit note's number.
    pub id: String,
    pub family: FamilyRef,
    /// The invoice it cites (none when the family had no invoice that month), and the month it
    /// corrects (`AAAA-MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    pub month: Month,
    /// In cents: more to bill (positive) or to give back (negative).
    pub delta: i64,
    /// What is still to settle.
    pub left: Cents,
    #[serde(flatten)]
    pub what: What,
    /// The aids the change gives (positive) or takes back (negative) per child: `delta` is the
    /// lines' difference less these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aids: Vec<AidDelta>,
    #[serde(default)]
    pub settled: Vec<Settled>,
    pub at: DateTime<Utc>,
    pub by: String,
    /// Moved on by every settlement, each conditioned on the version read.
    #[serde(default)]
    pub version: u64,
}

impl Regularisation {
    /// Its aid changes, with its family and month, as [`aid::used`] counts them.
    pub fn aided(regularisations: &[Regularisation]) -> impl Iterator<Item = (&FamilyRef, Month, &AidDelta)> + Clone {
        regularisations.iter().flat_map(|r| r.aids.iter().map(move |d| (&r.family, r.month, d)))
    }

    pub fn is_open(&self) -> bool {
        self.left > Cents::ZERO
    }
    /// Money the family is owed (a deduction, a credit note, a refund), not money it owes.
    pub fn gives_back(&self) -> bool {
        self.delta < 0
    }
    /// « absence justifiée du 17/11 (Léa Martin, Cantine) »
    pub fn label(&self) -> String {
        match &self.what {
            What::Booking { child_name, unit_name, date, reason, .. } => {
                format!("{reason} du {} ({child_name}, {unit_name})", date.format("%d/%m"))
            }
            What::CreditNote { credit_note } => format!("Avoir {credit_note} ({})", self.cites()),
        }
    }
    /// « facture 2026-000012 », or « novembre 2026 » when the family had no invoice that month.
    pub fn cites(&self) -> String {
        match &self.invoice {
            Some(n) => format!("facture {n}"),
            None => self.month.french(),
        }
    }
    /// Settles `amount` of what is left.
    fn settle(&mut self, amount: Cents, to: Settled) {
        self.left = self.left.minus(amount);
        self.settled.push(to);
        self.version += 1;
    }
    /// Settled by a credit note issued at once.
    pub fn credited(&self, number: &str) -> Regularisation {
        let mut r = self.clone();
        r.settle(self.left, Settled::CreditNote { number: number.to_owned(), amount: self.left });
        r
    }
    /// Refunded by the régie.
    pub fn refunded(&self, on: NaiveDate, by: &str) -> Regularisation {
        let mut r = self.clone();
        r.settle(self.left, Settled::Refunded { on, by: by.to_owned(), amount: self.left });
        r
    }
}

/// The id of the régularisation a change of a booking makes: its cell and its new version.
pub fn booking_id(b: &Booking) -> String {
    format!("{}.{}.{}.v{}", b.date, b.child, b.unit, b.version)
}

/// The prefix of every régularisation of one booking's cell.
pub fn cell_prefix(b: &Booking) -> String {
    format!("{}.{}.{}.", b.date, b.child, b.unit)
}

/// What `invoice` billed the family for the booking's day: the unit price of the line holding
/// it less the aids the day earned, or 0.
pub fn billed_on(invoice: &Invoice, b: &Booking) -> Cents {
    invoice
        .lines
        .iter()
        .find(|l| l.child == b.child && l.unit == b.unit && l.dates.contains(&b.date) && !is_regularisation(l))
        .map_or(Cents::ZERO, |l| l.unit_price.minus(crate::aid::on_day(&invoice.aids, &b.child, &b.unit, b.date)))
}

fn is_regularisation(l: &Line) -> bool {
    l.rule.starts_with("Régularisation")
}

/// A family's billed month, billed again with each change after billing as if the change had
/// been known when the month was billed: the same rules (sibling reductions rank the day's
/// children again, aids follow the days attended and the yearly ceiling), the quotient familial
/// the invoice was billed with, what the aids had given before the month. Each change's
/// régularisation is the difference between that bill and what the month has cost the family
/// so far (its invoice, and the régularisations of the month already made): whatever the order
/// of events, the family pays for the month what the rules say. A régularisation never gives
/// back more than the family still pays for the month (its invoice less the credit notes on it,
/// and the earlier régularisations): a credit note's money is not given back twice.
pub struct Rebill<'a> {
    town: &'a Town,
    month: Month,
    family: Family,
    children: BTreeMap<ChildId, Child>,
    bookings: Vec<Booking>,
    used: aid::Used,
    invoice: Option<&'a Invoice>,
    /// What the credit notes on the invoice gave back on each of its lines (by index).
    credited_lines: BTreeMap<usize, i64>,
    earlier: Vec<Regularisation>,
}

/// A month's lines and aids, in cents.
#[derive(Debug, Default)]
struct Sum {
    lines: i64,
    aids: BTreeMap<(AidId, ChildId), i64>,
}

impl Sum {
    fn net(&self) -> i64 {
        self.lines - self.aids.values().sum::<i64>()
    }
}

impl<'a> Rebill<'a> {
    /// `family`'s `month`: its children's records (their enrolments rank them for sibling
    /// reductions that count the children enrolled), its bookings of the month as they stand
    /// (other families' are left out), what its children were given of each aid before the
    /// month in the aid's year (`used`, as the run counted it), its invoice of the month if it
    /// had one, and its régularisations (those of other months and credit notes' are left out).
    pub fn new(
        town: &'a Town,
        month: Month,
        (family, children): (&Family, BTreeMap<ChildId, Child>),
        bookings: Vec<Booking>,
        used: aid::Used,
        invoice: Option<&'a Invoice>,
        earlier: Vec<Regularisation>,
    ) -> Rebill<'a> {
        let mut family = family.clone();
        if let Some(billed) = invoice.and_then(|i| i.as_billed) {
            family.quotient_familial = billed.quotient_familial;
        }
        let bookings =
            bookings.into_iter().filter(|b| b.family == family.reference && Month::of(b.date) == month).collect();
        let earlier = earlier
            .into_iter()
            .filter(|r| r.family == family.reference && r.month == month && matches!(r.what, What::Booking { .. }))
            .collect();
        Rebill { town, month, family, children, bookings, used, invoice, credited_lines: BTreeMap::new(), earlier }
    }

    /// The credit notes issued on the invoice: what they gave back on a line caps what a
    /// change of that line's days gives back.
    pub fn with_credit_notes(mut self, notes: &[super::credit::CreditNote]) -> Rebill<'a> {
        let number = self.invoice.map(|i| i.number.as_str());
        for note in notes.iter().filter(|n| Some(n.corrects.as_str()) == number) {
            for l in &note.lines {
                if let Some(i) = l.line {
                    *self.credited_lines.entry(i).or_default() += l.amount.get();
                }
            }
        }
        self
    }

    /// What the family still pays for the invoice line holding `b`'s day: the line less its
    /// days' aids, less what credit notes gave back on it and what the earlier régularisations
    /// of its days gave back. `None` when no credit note names the line (the month's bound is
    /// enough: each day is given back once, at most its price less its aid).
    fn still_paid_on_line(&self, b: &Booking) -> Option<i64> {
        let invoice = self.invoice?;
        let (index, line) = invoice.lines.iter().enumerate().find(|(_, l)| {
            l.child == b.child && l.unit == b.unit && l.dates.contains(&b.date) && !is_regularisation(l)
        })?;
        let credited = *self.credited_lines.get(&index)?;
        let given: i64 = self
            .earlier
            .iter()
            .filter(|r| match &r.what {
                What::Booking { child, unit, date, .. } => {
                    child == &line.child && unit == &line.unit && line.dates.contains(date)
                }
                What::CreditNote { .. } => false,
            })
            .map(|r| r.delta)
            .sum();
        Some(line.amount.get() - crate::aid::on_line(&invoice.aids, line).get() - credited + given)
    }

    /// The month billed now, with the bookings as they stand.
    fn now(&self) -> Sum {
        let families = BTreeMap::from([(self.family.reference.clone(), self.family.clone())]);
        let (bills, _) =
            billing::bills(self.town, &families, &self.children, &self.bookings, self.month.first(), &self.used);
        let mut sum = Sum::default();
        for bill in bills {
            sum.lines += bill.lines.iter().map(|l| l.amount.get()).sum::<i64>();
            for a in bill.aids {
                *sum.aids.entry((a.aid, a.child)).or_default() += a.amount.get();
            }
        }
        sum
    }

    /// What the month has cost the family so far: its invoice's own lines (not the
    /// régularisations of earlier months it carries) less its aids, and the régularisations
    /// made since; and the aids given so far.
    fn then(&self) -> Sum {
        let mut sum = Sum::default();
        if let Some(i) = self.invoice {
            sum.lines = i.lines.iter().filter(|l| !is_regularisation(l)).map(|l| l.amount.get()).sum();
            for a in &i.aids {
                *sum.aids.entry((a.aid.clone(), a.child.clone())).or_default() += a.amount.get();
            }
        }
        for r in &self.earlier {
            let aided: i64 = r.aids.iter().map(|a| a.amount).sum();
            sum.lines += r.delta + aided;
            for a in &r.aids {
                *sum.aids.entry((a.aid.clone(), a.child.clone())).or_default() += a.amount;
            }
        }
        sum
    }

    /// What the family still pays for the month: what it cost less the credit notes on its
    /// invoice.
    fn still_paid(&self) -> i64 {
        let cost = self.invoice.map_or(0, |i| {
            let lines: i64 = i.lines.iter().filter(|l| !is_regularisation(l)).map(|l| l.amount.get()).sum();
            lines - i.aids.iter().map(|a| a.amount.get()).sum::<i64>() - i.credited.get()
        });
        // A régularisation issued at once as a credit note is in both: counted once.
        let by_notes: i64 = self
            .earlier
            .iter()
            .flat_map(|r| &r.settled)
            .map(|s| match s {
                Settled::CreditNote { amount, .. } => amount.get(),
                Settled::Invoice { .. } | Settled::Refunded { .. } => 0,
            })
            .sum();
        cost + by_notes + self.earlier.iter().map(|r| r.delta).sum::<i64>()
    }

    /// The change of a booking from `before` to `after` (`unit_name` and `child_name` for the
    /// label): the month billed again with it, and the régularisation it makes, if the month's
    /// cost or its aids change. Changes of one month are taken in order: each counts the ones
    /// before.
    pub fn change(
        &mut self,
        before: &Booking,
        after: &Booking,
        (unit_name, child_name): (&str, &str),
        (at, by): (DateTime<Utc>, &str),
    ) -> Option<Regularisation> {
        match self.bookings.iter_mut().find(|b| b.child == after.child && b.unit == after.unit && b.date == after.date)
        {
            Some(b) => *b = after.clone(),
            None if after.family == self.family.reference && Month::of(after.date) == self.month => {
                self.bookings.push(after.clone());
            }
            None => return None,
        }
        let (now, then) = (self.now(), self.then());
        let mut aids = Vec::new();
        for key in now.aids.keys().chain(then.aids.keys()).collect::<std::collections::BTreeSet<_>>() {
            let d = now.aids.get(key).copied().unwrap_or(0) - then.aids.get(key).copied().unwrap_or(0);
            if d != 0 {
                aids.push(AidDelta { aid: key.0.clone(), child: key.1.clone(), amount: d });
            }
        }
        let then_net: i64 = then.lines - then.aids.values().sum::<i64>();
        let mut delta = now.net() - then_net;
        if delta < 0 {
            let line = self.still_paid_on_line(after).unwrap_or(i64::MAX);
            delta = delta.max(-self.still_paid().min(line).max(0));
        }
        if delta == 0 && aids.is_empty() {
            return None;
        }
        let reason = if after.attendance == Some(super::booking::Attendance::AbsentJustified) {
            "absence justifiée"
        } else if before.status == BookingStatus::Pending && after.status == BookingStatus::Confirmed {
            "demande acceptée"
        } else if after.status == BookingStatus::Cancelled {
            "annulation"
        } else {
            "correction"
        };
        let r = Regularisation {
            id: booking_id(after),
            family: after.family.clone(),
            invoice: self.invoice.map(|i| i.number.clone()),
            month: self.month,
            delta,
            left: Cents::new(delta.abs()).unwrap_or_default(),
            what: What::Booking {
                child: after.child.clone(),
                child_name: child_name.to_owned(),
                unit: after.unit.clone(),
                unit_name: unit_name.to_owned(),
                date: after.date,
                reason: reason.to_owned(),
            },
            aids,
            settled: Vec::new(),
            at,
            by: by.to_owned(),
            version: 0,
        };
        self.earlier.push(r.clone());
        Some(r)
    }
}

/// What `regularisations` (a family's, of the invoice's month) gave back on `invoice`.
pub fn given_back(invoice: &Invoice, regularisations: &[Regularisation]) -> crate::credit::Regularised {
    let mut out = crate::credit::Regularised::default();
    for r in regularisations.iter().filter(|r| r.invoice.as_deref() == Some(invoice.number.as_str())) {
        let What::Booking { child, unit, date, .. } = &r.what else { continue };
        let by_notes: i64 = r
            .settled
            .iter()
            .map(|s| match s {
                Settled::CreditNote { amount, .. } => amount.get(),
                Settled::Invoice { .. } | Settled::Refunded { .. } => 0,
            })
            .sum();
        let given = -r.delta - by_notes;
        out.total += given;
        if let Some(i) =
            invoice.lines.iter().position(|l| &l.child == child && &l.unit == unit && l.dates.contains(date))
        {
            *out.lines.entry(i).or_default() += given;
        }
    }
    out
}

/// The part of a credit note that waits for the family's next invoice: what it gives back
/// beyond what was left to pay on its invoice. `None` when the invoice took it all.
pub fn carried(note: &super::credit::CreditNote, invoice: &Invoice, at: DateTime<Utc>) -> Option<Regularisation> {
    (note.carried > Cents::ZERO).then(|| Regularisation {
        id: note.number.clone(),
        family: note.family.clone(),
        invoice: Some(invoice.number.clone()),
        month: invoice.month,
        delta: -note.carried.get(),
        left: note.carried,
        what: What::CreditNote { credit_note: note.number.clone() },
        aids: Vec::new(),
        settled: Vec::new(),
        at,
        by: note.issued_by.clone(),
        version: 0,
    })
}

/// What the next invoice does with a family's open régularisations.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// The bill, with a « Régularisation » line for each amount owed to the town.
    pub bill: Option<Bill>,
    pub deductions: Vec<Deduction>,
    /// Each changed régularisation, as read and as settled.
    pub settled: Vec<(Regularisation, Regularisation)>,
}

/// Applies a family's open régularisations of months before `month` to its bill of `month`
/// (invoice `number`): amounts owed to the town become « Régularisation » lines (a bill is made
/// for them if the family has none); amounts owed to the family become deductions, oldest
/// first, up to the bill's total, the rest carried again. A bill of 0 € settles nothing.
///
/// A régularisation of `month` itself, made while the family had no invoice of it (its month
/// billed for others, the run not at this family yet, or nothing due then), is in the bill
/// already (the bill is of the bookings as they are): the invoice settles it, with no line.
pub fn apply(bill: Option<Bill>, family: &FamilyRef, open: &[Regularisation], month: Month, number: &str) -> Applied {
    let due: Vec<&Regularisation> =
        open.iter().filter(|r| r.is_open() && &r.family == family && r.month < month).collect();
    let mut bill = bill;
    let mut settled = Vec::new();
    let to = |amount| Settled::Invoice { number: number.to_owned(), month, amount };
    let included = open.iter().filter(|r| {
        r.is_open()
            && &r.family == family
            && r.month == month
            && r.invoice.is_none()
            && !r.gives_back()
            && matches!(r.what, What::Booking { .. })
    });
    for r in included {
        let mut after = r.clone();
        after.settle(r.left, to(r.left));
        settled.push((r.clone(), after));
    }
    for r in due.iter().filter(|r| !r.gives_back()) {
        let What::Booking { child, child_name, unit, unit_name, date, reason } = &r.what else { continue };
        let b = bill.get_or_insert_with(|| Bill {
            family: family.clone(),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::ZERO,
            as_billed: None,
        });
        b.lines.push(Line {
            child: child.clone(),
            child_name: child_name.clone(),
            unit: unit.clone(),
            unit_name: unit_name.clone(),
            rule: format!("Régularisation {} : {reason} du {}", r.cites(), date.format("%d/%m")),
            dates: vec![*date],
            dates_text: billing::dates_text(&[*date]),
            quantity: 1,
            unit_price: r.left,
            amount: r.left,
        });
        b.total += r.left;
        let mut after = (*r).clone();
        after.settle(r.left, to(r.left));
        settled.push(((*r).clone(), after));
    }
    let mut deductions = Vec::new();
    let mut room = bill.as_ref().map_or(Cents::ZERO, |b| b.total);
    for r in due.iter().filter(|r| r.gives_back()) {
        let take = if r.left < room { r.left } else { room };
        if take == Cents::ZERO {
            break;
        }
        room = room.minus(take);
        let (label, credit_note) = match &r.what {
            What::CreditNote { credit_note } => (format!("{} : déduit", r.label()), Some(credit_note.clone())),
            What::Booking { .. } => (format!("Régularisation {} : {}", r.cites(), r.label()), None),
        };
        deductions.push(Deduction { label, amount: take, credit_note, invoice: r.invoice.clone() });
        let mut after = (*r).clone();
        after.settle(take, to(take));
        settled.push(((*r).clone(), after));
    }
    if !bill.as_ref().is_some_and(Bill::is_due) {
        return Applied { bill, ..Applied::default() };
    }
    Applied { bill, deductions, settled }
}

/// Where a credit note's money went, as the family reads it: « Déduit du reste à payer de la
/// facture 2026-000012 », « Sera déduit de votre prochaine facture », « Déduit de la facture
/// 2027-000004 », « Remboursé le 02/12/2026 »; with the amounts when it went several ways.
pub fn destination(note: &super::credit::CreditNote, carried: Option<&Regularisation>) -> String {
    let mut parts: Vec<(Cents, String)> = Vec::new();
    if note.deducted > Cents::ZERO || note.carried == Cents::ZERO {
        parts.push((note.deducted, format!("déduit du reste à payer de la facture {}", note.corrects)));
    }
    let mut waiting = note.carried;
    if let Some(r) = carried {
        for s in &r.settled {
            match s {
                Settled::Invoice { number, amount, .. } => {
                    parts.push((*amount, format!("déduit de la facture {number}")));
                }
                Settled::Refunded { on, amount, .. } => {
                    parts.push((*amount, format!("remboursé le {}", on.format("%d/%m/%Y"))));
                }
                Settled::CreditNote { .. } => continue,
            }
        }
        waiting = r.left;
    }
    if waiting > Cents::ZERO {
        parts.push((waiting, "sera déduit de votre prochaine facture".to_owned()));
    }
    if parts.len() == 1 {
        let text = &parts[0].1;
        let mut chars = text.chars();
        return chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    }
    parts.iter().map(|(amount, text)| format!("{amount} {text}")).collect::<Vec<_>>().join(" ; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Attendance;
    use crate::config::Town;
    use crate::credit::CreditNote;
    use crate::testkit::{at, booking, d, family, id, staff, town};

    fn c(cents: i64) -> Cents {
        Cents::new(cents).unwrap()
    }

    fn november(lines: Vec<Line>) -> Invoice {
        crate::testkit::november_invoice(lines, "2026-000012")
    }

    fn billed(b: &Booking) -> Invoice {
        let town = town();
        let (bills, _) = billing::bills(
            &town,
            &[(id("martin"), family())].into(),
            &Default::default(),
            std::slice::from_ref(b),
            d(2026, 12, 1),
            &Default::default(),
        );
        november(bills[0].lines.clone())
    }

    fn november_month() -> crate::Month {
        crate::Month::parse("2026-11").unwrap()
    }

    #[test]
    fn a_certificate_accepted_after_billing_gives_back_the_price_once() {
        let town = town();
        let absent = booking("cantine", d(2026, 11, 17), BookingStatus::Confirmed, 250)
            .mark(Attendance::Absent, at(2026, 11, 17, 18, 0));
        let invoice = billed(&absent);
        assert_eq!(billed_on(&invoice, &absent), c(250));
        let justified = absent.justify(at(2027, 1, 5, 9, 0)).unwrap();
        let who = (at(2027, 1, 5, 9, 0), "agent");
        let month = |bookings, earlier| {
            Rebill::new(
                &town,
                november_month(),
                (&family(), Default::default()),
                bookings,
                Default::default(),
                Some(&invoice),
                earlier,
            )
        };
        let r =
            month(vec![absent.clone()], vec![]).change(&absent, &justified, ("Cantine", "Léa Martin"), who).unwrap();
        assert_eq!((r.delta, r.left, r.invoice.as_deref()), (-250, c(250), Some("2026-000012")));
        assert_eq!(r.label(), "absence justifiée du 17/11 (Léa Martin, Cantine)");
        assert!(r.gives_back() && r.is_open());
        // The same booking corrected again: nothing more is owed.
        let again = month(vec![justified.clone()], vec![r]).change(&absent, &justified, ("Cantine", "Léa Martin"), who);
        assert_eq!(again, None, "nothing is corrected twice");
    }

    #[test]
    fn a_request_accepted_after_billing_is_billed_on_the_next_invoice() {
        let town = town();
        let other = booking("cantine", d(2026, 11, 3), BookingStatus::Confirmed, 250);
        let invoice = billed(&other);
        let pending = booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200);
        let accepted = pending.decide(true, None, staff(at(2026, 12, 3, 9, 0))).unwrap();
        let who = (at(2026, 12, 3, 9, 0), "agent");
        let r = Rebill::new(
            &town,
            november_month(),
            (&family(), Default::default()),
            vec![other, pending.clone()],
            Default::default(),
            Some(&invoice),
            vec![],
        )
        .change(&pending, &accepted, ("ALSH", "Léa Martin"), who)
        .unwrap();
        assert_eq!(r.delta, 1200);
        let december =
            Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: Cents::ZERO, as_billed: None };
        let applied = apply(
            Some(december),
            &id("martin"),
            std::slice::from_ref(&r),
            crate::Month::parse("2026-12").unwrap(),
            "2027-000001",
        );
        let bill = applied.bill.unwrap();
        assert_eq!(bill.total, c(1200), "a family with nothing else to pay still gets the line");
        assert_eq!(bill.lines[0].rule, "Régularisation facture 2026-000012 : demande acceptée du 25/11");
        assert_eq!(applied.settled[0].1.left, Cents::ZERO);
        // A régularisation of a month is not applied to that month itself.
        assert!(apply(None, &id("martin"), &[r], november_month(), "2026-000013").settled.is_empty());
    }

    /// A town with sibling reductions at the canteen: −20 % from the second child.
    fn with_siblings() -> Town {
        let mut config = town().config().clone();
        config.activities[0].units[0].price.siblings = Some(crate::config::Siblings {
            count: crate::config::SiblingCount::SameDay,
            reductions: vec![crate::config::SiblingReduction { from_child: 2, percent: 20 }],
        });
        Town::try_from(config).unwrap()
    }

    fn of(child: &str, date: NaiveDate, status: BookingStatus, price: u32) -> Booking {
        let mut b = booking("cantine", date, status, price);
        b.child = id(child);
        b
    }

    /// What the family pays for the month: the invoice, less its credit notes, and the
    /// régularisations.
    fn paid(invoice: Option<&Invoice>, regularisations: &[Regularisation]) -> i64 {
        invoice.map_or(0, |i| i.total.get() - i.credited.get()) + regularisations.iter().map(|r| r.delta).sum::<i64>()
    }

    /// What the month costs when every change is known at billing.
    fn billed_at_once(town: &Town, f: &Family, bookings: &[Booking]) -> i64 {
        let families = BTreeMap::from([(f.reference.clone(), f.clone())]);
        let (bills, _) =
            billing::bills(town, &families, &Default::default(), bookings, d(2026, 12, 1), &Default::default());
        bills.iter().map(|b| b.total.get()).sum()
    }

    /// The month of `bookings` billed, then the change made: the invoice, and the change's
    /// régularisation.
    fn after_billing(
        town: &Town,
        f: &Family,
        bookings: &[Booking],
        change: (&Booking, &Booking),
    ) -> (Invoice, Regularisation) {
        let families = BTreeMap::from([(f.reference.clone(), f.clone())]);
        let (bills, _) =
            billing::bills(town, &families, &Default::default(), bookings, d(2026, 12, 1), &Default::default());
        let bill = bills.into_iter().next().unwrap();
        let invoice = Invoice::issue(bill, november_month(), "2026-000012".into(), d(2026, 12, 1), "a");
        let r = Rebill::new(
            town,
            november_month(),
            (f, Default::default()),
            bookings.to_vec(),
            Default::default(),
            Some(&invoice),
            vec![],
        )
        .change(change.0, change.1, ("Cantine", "Noé Martin"), (at(2026, 12, 5, 9, 0), "agent"))
        .unwrap();
        (invoice, r)
    }

    #[test]
    fn a_line_a_credit_note_gave_back_is_not_given_back_again() {
        // The canteen on the 17th and evening care on the 18th (2,50 € each); a credit note
        // gives the canteen line back; then the 17th's certificate: nothing more for it, while
        // the 18th's is still given back.
        let town = town();
        let canteen = booking("cantine", d(2026, 11, 17), BookingStatus::Confirmed, 250);
        let care = booking("peri-soir", d(2026, 11, 18), BookingStatus::Confirmed, 250);
        let families = BTreeMap::from([(id("martin"), family())]);
        let days = [canteen.clone(), care.clone()];
        let (bills, _) =
            billing::bills(&town, &families, &Default::default(), &days, d(2026, 12, 1), &Default::default());
        let mut invoice = Invoice::issue(
            bills.into_iter().next().unwrap(),
            november_month(),
            "2026-000012".into(),
            d(2026, 12, 1),
            "a",
        );
        let line = invoice.lines.iter().position(|l| l.unit.as_str() == "cantine").unwrap();
        invoice.credited = c(250);
        let note = crate::credit::CreditNote {
            number: "AV-2026-000001".into(),
            family: id("martin"),
            month: november_month(),
            corrects: "2026-000012".into(),
            issued_on: d(2026, 12, 2),
            reason: "Repas non servi".into(),
            lines: vec![crate::credit::CreditLine { label: "x".into(), amount: c(250), line: Some(line) }],
            total: c(250),
            issued_by: "a".into(),
            contest: None,
            deducted: c(250),
            carried: Cents::ZERO,
        };
        let month_of = || {
            Rebill::new(
                &town,
                november_month(),
                (&family(), Default::default()),
                days.to_vec(),
                Default::default(),
                Some(&invoice),
                vec![],
            )
        };
        let mut month = month_of().with_credit_notes(std::slice::from_ref(&note));
        let who = (at(2026, 12, 5, 9, 0), "agent");
        let excused = canteen.justify(at(2026, 12, 5, 9, 0)).unwrap();
        assert_eq!(month.change(&canteen, &excused, ("Cantine", "Léa Martin"), who), None);
        let excused = care.justify(at(2026, 12, 5, 9, 0)).unwrap();
        assert_eq!(
            month.change(&care, &excused, ("Périscolaire soir", "Léa Martin"), who).map(|r| r.delta),
            Some(-250)
        );
        // And the other way: a credit note on a line whose day a régularisation gave back.
        let r = month_of().change(&care, &excused, ("Périscolaire soir", "Léa Martin"), who).unwrap();
        let care_line = invoice.lines.iter().position(|l| l.unit.as_str() == "peri-soir").unwrap();
        let given = given_back(&invoice, std::slice::from_ref(&r));
        let asked = [crate::credit::CreditAsked { line: Some(care_line), amount: c(1) }];
        assert_eq!(
            crate::credit::credit_lines(&invoice, &asked, &given),
            Err(crate::credit::CreditRefused::OverLine { amount: Cents::ZERO })
        );
    }

    #[test]
    fn a_request_accepted_after_billing_takes_its_sibling_rank() {
        // Léa and Noé at the canteen on the 17th (4,00 € each); Noé's was a request billed
        // nothing, accepted after billing: the family pays 4,00 + 3,20, as if known at billing.
        let (town, mut f) = (with_siblings(), family());
        f.children = vec![id("lea"), id("noe")];
        let date = d(2026, 11, 17);
        let lea = of("lea", date, BookingStatus::Confirmed, 400);
        let pending = of("noe", date, BookingStatus::Pending, 400);
        let accepted = pending.decide(true, None, staff(at(2026, 12, 3, 9, 0))).unwrap();
        let (invoice, r) = after_billing(&town, &f, &[lea.clone(), pending.clone()], (&pending, &accepted));
        assert_eq!(invoice.total, c(400));
        assert_eq!(r.delta, 320, "the second child of the day: −20 %");
        assert_eq!(paid(Some(&invoice), &[r]), billed_at_once(&town, &f, &[lea, accepted]));
    }

    #[test]
    fn a_certificate_for_the_first_child_of_the_day_ranks_the_others_again() {
        // Noé (5,00 €, first) and Léa (4,00 €, second: 3,20 €) on the 17th; Noé's certificate
        // after billing: Léa is now the only child of the day and pays 4,00 €. The family gets
        // back 4,20 €, what it would have paid less had the certificate come before billing.
        let (town, mut f) = (with_siblings(), family());
        f.children = vec![id("lea"), id("noe")];
        let date = d(2026, 11, 17);
        let lea = of("lea", date, BookingStatus::Confirmed, 400);
        let noe = of("noe", date, BookingStatus::Confirmed, 500).mark(Attendance::Absent, at(2026, 11, 17, 18, 0));
        let justified = noe.justify(at(2026, 12, 5, 9, 0)).unwrap();
        let (invoice, r) = after_billing(&town, &f, &[lea.clone(), noe.clone()], (&noe, &justified));
        assert_eq!(invoice.total, c(820));
        assert_eq!(r.delta, -420);
        assert_eq!(paid(Some(&invoice), &[r]), billed_at_once(&town, &f, &[lea, justified]));
    }

    #[test]
    fn what_a_credit_note_gave_back_is_not_given_back_again() {
        // The 17th billed 2,50 €, credited in full; then its certificate: nothing more is given
        // back. Its refusal afterwards bills nothing either: the credit note stands.
        let town = town();
        let absent = booking("cantine", d(2026, 11, 17), BookingStatus::Confirmed, 250)
            .mark(Attendance::Absent, at(2026, 11, 17, 18, 0));
        let mut invoice = billed(&absent);
        invoice.credited = c(250);
        let justified = absent.justify(at(2027, 1, 5, 9, 0)).unwrap();
        let mut month = Rebill::new(
            &town,
            november_month(),
            (&family(), Default::default()),
            vec![absent.clone()],
            Default::default(),
            Some(&invoice),
            vec![],
        );
        assert_eq!(month.change(&absent, &justified, ("Cantine", "Léa Martin"), (at(2027, 1, 5, 9, 0), "agent")), None);
        // Half credited: half is given back.
        invoice.credited = c(100);
        let mut month = Rebill::new(
            &town,
            november_month(),
            (&family(), Default::default()),
            vec![absent.clone()],
            Default::default(),
            Some(&invoice),
            vec![],
        );
        let r = month.change(&absent, &justified, ("Cantine", "Léa Martin"), (at(2027, 1, 5, 9, 0), "agent")).unwrap();
        assert_eq!(r.delta, -150);
        // The justification undone: the family pays what it paid before the certificate.
        let undone = absent.clone();
        let back =
            month.change(&justified, &undone, ("Cantine", "Léa Martin"), (at(2027, 1, 6, 9, 0), "agent")).unwrap();
        assert_eq!((back.delta, paid(Some(&invoice), &[r, back.clone()])), (150, 150));
    }

    #[test]
    fn a_change_made_before_the_familys_invoice_of_that_month_is_in_it_once() {
        // November billed for others, not the Martins yet: a request accepted then makes a
        // régularisation citing the month; the run, reaching the Martins, bills the day on
        // November's invoice (its bookings as they are) and settles the régularisation there.
        let town = town();
        let pending = booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200);
        let accepted = pending.decide(true, None, staff(at(2026, 12, 2, 9, 0))).unwrap();
        let who = (at(2026, 12, 2, 9, 0), "agent");
        let r = Rebill::new(
            &town,
            november_month(),
            (&family(), Default::default()),
            vec![pending.clone()],
            Default::default(),
            None,
            vec![],
        )
        .change(&pending, &accepted, ("ALSH", "Léa Martin"), who)
        .unwrap();
        assert_eq!((r.delta, r.cites()), (1200, "novembre 2026".to_owned()));
        let november = billed(&accepted);
        let bill = Bill::of_lines(id("martin"), november.lines.clone());
        let applied = apply(Some(bill), &id("martin"), std::slice::from_ref(&r), november_month(), "2026-000013");
        let bill = applied.bill.unwrap();
        assert_eq!((bill.total, bill.lines.len()), (c(1200), 1), "the day once, no « Régularisation » line");
        assert_eq!(applied.settled.len(), 1);
        assert_eq!(applied.settled[0].1.left, Cents::ZERO);
        // December's invoice has nothing left of it.
        let december =
            apply(None, &id("martin"), &[applied.settled[0].1.clone()], crate::Month::parse("2026-12").unwrap(), "x");
        assert!(december.bill.is_none() && december.settled.is_empty());
    }

    fn giving_back(id_: &str, cents: i64, at_: DateTime<Utc>) -> Regularisation {
        Regularisation {
            id: id_.into(),
            family: id("martin"),
            invoice: Some("2026-000012".into()),
            month: crate::Month::parse("2026-11").unwrap(),
            delta: -cents,
            left: c(cents),
            what: What::CreditNote { credit_note: id_.into() },
            aids: Vec::new(),
            settled: Vec::new(),
            at: at_,
            by: "a".into(),
            version: 0,
        }
    }

    #[test]
    fn what_the_family_is_owed_is_deducted_up_to_the_next_total_and_the_rest_carried() {
        let bill = |cents| {
            Some(Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: c(cents), as_billed: None })
        };
        let open = [
            giving_back("AV-2026-000003", 250, at(2026, 12, 2, 9, 0)),
            giving_back("AV-2026-000004", 400, at(2026, 12, 3, 9, 0)),
        ];
        let applied = apply(bill(500), &id("martin"), &open, crate::Month::parse("2026-12").unwrap(), "2027-000004");
        let amounts: Vec<(String, i64)> =
            applied.deductions.iter().map(|x| (x.label.clone(), x.amount.get())).collect();
        assert_eq!(
            amounts,
            [
                ("Avoir AV-2026-000003 (facture 2026-000012) : déduit".to_owned(), 250),
                ("Avoir AV-2026-000004 (facture 2026-000012) : déduit".to_owned(), 250)
            ]
        );
        assert_eq!(applied.settled[1].1.left, c(150), "the rest is carried again");
        // No invoice (0 €): nothing is settled.
        assert!(apply(bill(0), &id("martin"), &open, crate::Month::parse("2026-12").unwrap(), "x").settled.is_empty());
        assert!(apply(None, &id("martin"), &open, crate::Month::parse("2026-12").unwrap(), "x").settled.is_empty());
    }

    #[test]
    fn a_credit_note_says_where_its_money_went() {
        let mut note = CreditNote {
            number: "AV-2026-000003".into(),
            family: id("martin"),
            month: crate::Month::parse("2026-11").unwrap(),
            corrects: "2026-000012".into(),
            issued_on: d(2026, 12, 2),
            reason: "x".into(),
            lines: Vec::new(),
            total: c(250),
            issued_by: "a".into(),
            contest: None,
            deducted: c(250),
            carried: Cents::ZERO,
        };
        assert_eq!(destination(&note, None), "Déduit du reste à payer de la facture 2026-000012");
        (note.deducted, note.carried) = (Cents::ZERO, c(250));
        let r = giving_back("AV-2026-000003", 250, at(2026, 12, 2, 9, 0));
        assert_eq!(destination(&note, Some(&r)), "Sera déduit de votre prochaine facture");
        let applied = apply(
            Some(Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: c(1000), as_billed: None }),
            &id("martin"),
            std::slice::from_ref(&r),
            crate::Month::parse("2026-12").unwrap(),
            "2027-000004",
        );
        assert_eq!(destination(&note, Some(&applied.settled[0].1)), "Déduit de la facture 2027-000004");
        assert_eq!(destination(&note, Some(&r.refunded(d(2027, 1, 8), "a"))), "Remboursé le 08/01/2027");
        (note.deducted, note.carried) = (c(100), c(150));
        let partly = giving_back("AV-2026-000003", 150, at(2026, 12, 2, 9, 0));
        assert_eq!(
            destination(&note, Some(&partly)),
            "1,00\u{a0}€ déduit du reste à payer de la facture 2026-000012 ; 1,50\u{a0}€ sera déduit de votre prochaine facture"
        );
    }
}
