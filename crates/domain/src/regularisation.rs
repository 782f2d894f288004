//! Money owed after an invoice is finalised, one way or the other (« régularisations »): a
//! change that alters what a billed booking is billed (a certificate accepted after billing, a
//! request of a billed month accepted afterwards) proposes the difference to staff, citing the
//! invoice; and a credit note's excess over what was left to pay on its invoice (it was paid)
//! waits for the family's next invoice. Each is settled once: by a credit note staff issue at
//! once, by the next finalised invoice (a « Régularisation » line for money owed to the town, a
//! deduction for money owed to the family, up to that invoice's total, the rest carried again),
//! or, for money owed to the family, by a refund from the régie. An invoice never changes.

use super::billing::{self, Bill, Billed, Invoice, Line};
use super::booking::{Booking, BookingStatus};
use super::config::Unit;
use super::family::Family;
use super::{Cents, ChildId, FamilyRef, Month, UnitId};
pub use crate::invoice::Deduction;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
    #[serde(default)]
    pub settled: Vec<Settled>,
    pub at: DateTime<Utc>,
    pub by: String,
    /// Moved on by every settlement, each conditioned on the version read.
    #[serde(default)]
    pub version: u64,
}

impl Regularisation {
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

/// What a booking is billed by the rules, in cents.
fn billed_now(b: &Booking, unit: &Unit, family: &Family) -> Cents {
    match billing::bill(b, unit, family) {
        Billed::Line { amount, .. } => amount,
        Billed::Justified | Billed::Nothing | Billed::Pending => Cents::ZERO,
    }
}

/// What the change from `before` to `after` of a booking of a billed month makes: the
/// difference between what `after` would be billed now and what the family's `invoice` of that
/// month billed (nothing without one), less the régularisations of the same booking already
/// made (`earlier`); `None` when nothing changes.
#[allow(clippy::too_many_arguments)]
pub fn for_change(
    before: &Booking,
    after: &Booking,
    (unit, unit_name): (&Unit, &str),
    family: &Family,
    child_name: &str,
    invoice: Option<&Invoice>,
    earlier: &[Regularisation],
    (at, by): (DateTime<Utc>, &str),
) -> Option<Regularisation> {
    let then =
        invoice.map_or(Cents::ZERO, |i| billed_on(i, after)).get() + earlier.iter().map(|r| r.delta).sum::<i64>();
    let delta = billed_now(after, unit, family).get() - then;
    if delta == 0 {
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
    Some(Regularisation {
        id: booking_id(after),
        family: after.family.clone(),
        invoice: invoice.map(|i| i.number.clone()),
        month: Month::of(after.date),
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
        settled: Vec::new(),
        at,
        by: by.to_owned(),
        version: 0,
    })
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
pub fn apply(bill: Option<Bill>, family: &FamilyRef, open: &[Regularisation], month: Month, number: &str) -> Applied {
    let due: Vec<&Regularisation> =
        open.iter().filter(|r| r.is_open() && &r.family == family && r.month < month).collect();
    let mut bill = bill;
    let mut settled = Vec::new();
    let to = |amount| Settled::Invoice { number: number.to_owned(), month, amount };
    for r in due.iter().filter(|r| !r.gives_back()) {
        let What::Booking { child, child_name, unit, unit_name, date, reason } = &r.what else { continue };
        let b = bill.get_or_insert_with(|| Bill {
            family: family.clone(),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::ZERO,
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
            std::slice::from_ref(b),
            d(2026, 12, 1),
            &Default::default(),
        );
        november(bills[0].lines.clone())
    }

    #[test]
    fn a_certificate_accepted_after_billing_gives_back_the_price_once() {
        let town = town();
        let (_, cantine) = town.unit(&id("cantine")).unwrap();
        let absent = booking("cantine", d(2026, 11, 17), BookingStatus::Confirmed, 250)
            .mark(Attendance::Absent, at(2026, 11, 17, 18, 0));
        let invoice = billed(&absent);
        assert_eq!(billed_on(&invoice, &absent), c(250));
        let justified = absent.justify(at(2027, 1, 5, 9, 0)).unwrap();
        let who = (at(2027, 1, 5, 9, 0), "agent");
        let r =
            for_change(&absent, &justified, (cantine, "Cantine"), &family(), "Léa Martin", Some(&invoice), &[], who)
                .unwrap();
        assert_eq!((r.delta, r.left, r.invoice.as_deref()), (-250, c(250), Some("2026-000012")));
        assert_eq!(r.label(), "absence justifiée du 17/11 (Léa Martin, Cantine)");
        assert!(r.gives_back() && r.is_open());
        // The same booking corrected again: nothing more is owed.
        let again =
            for_change(&absent, &justified, (cantine, "Cantine"), &family(), "Léa Martin", Some(&invoice), &[r], who);
        assert_eq!(again, None, "nothing is corrected twice");
    }

    #[test]
    fn a_request_accepted_after_billing_is_billed_on_the_next_invoice() {
        let town = town();
        let (_, mercredi) = town.unit(&id("alsh-mercredi")).unwrap();
        let other = booking("cantine", d(2026, 11, 3), BookingStatus::Confirmed, 250);
        let invoice = billed(&other);
        let pending = booking("alsh-mercredi", d(2026, 11, 25), BookingStatus::Pending, 1200);
        let accepted = pending.decide(true, None, staff(at(2026, 12, 3, 9, 0))).unwrap();
        let who = (at(2026, 12, 3, 9, 0), "agent");
        let r = for_change(&pending, &accepted, (mercredi, "ALSH"), &family(), "Léa Martin", Some(&invoice), &[], who)
            .unwrap();
        assert_eq!(r.delta, 1200);
        let december = Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: Cents::ZERO };
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
        assert!(
            apply(None, &id("martin"), &[r], crate::Month::parse("2026-11").unwrap(), "2026-000013").settled.is_empty()
        );
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
            settled: Vec::new(),
            at: at_,
            by: "a".into(),
            version: 0,
        }
    }

    #[test]
    fn what_the_family_is_owed_is_deducted_up_to_the_next_total_and_the_rest_carried() {
        let bill = |cents| Some(Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: c(cents) });
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
            Some(Bill { family: id("martin"), lines: Vec::new(), aids: Vec::new(), total: c(1000) }),
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
