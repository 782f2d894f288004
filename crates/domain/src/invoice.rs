//! An invoice as issued and stored: its lines, its total, and the records its life adds to it
//! (credit notes' sum and cancellation, payments' sum, transmission to the Trésor public, a
//! PayFiP operation in progress, its direct debit, its deductions). What computes a bill is
//! [`crate::billing`]; what changes an invoice afterwards is [`crate::credit`],
//! [`crate::payment`], [`crate::payfip`], [`crate::debit`] and [`crate::regularisation`], each
//! above this module.

use super::{AidId, Cents, ChildId, FamilyRef, Month, UnitId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One line of an invoice: a child, a unit, a rule and a unit price, with its dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub child: ChildId,
    /// « Léa Martin » (the name when billed: an invoice reads the same years later).
    #[serde(default)]
    pub child_name: String,
    pub unit: UnitId,
    pub unit_name: String,
    /// The rule that priced it, in French, with its figures.
    pub rule: String,
    pub dates: Vec<NaiveDate>,
    /// « 3, 10, 17 et 24/11 »
    pub dates_text: String,
    pub quantity: u32,
    pub unit_price: Cents,
    pub amount: Cents,
}

/// An invoice's line as stored (the bill's line, kept whole).
pub type InvoiceLine = Line;

/// An aid deducted on an invoice, its own line: one aid, one child, one unit and one amount a
/// day, with its days (« Aide CAF temps libres : −3,00 € × 4 jours »). Its amount is deducted
/// from the invoice's lines: the total is what the family owes ([`crate::aid`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AidLine {
    pub aid: AidId,
    /// « Aide CAF temps libres : −3,00 € × 4 jours », or « … (plafond annuel atteint) … ».
    pub label: String,
    pub child: ChildId,
    #[serde(default)]
    pub child_name: String,
    pub unit: UnitId,
    pub unit_name: String,
    pub dates: Vec<NaiveDate>,
    pub dates_text: String,
    pub quantity: u32,
    /// The aid a day.
    pub per_day: Cents,
    /// `per_day` × `quantity`: deducted.
    pub amount: Cents,
}

/// One family's bill for a month (or the part of it so far): its lines, its aids, and its total,
/// the lines less the aids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bill {
    pub family: FamilyRef,
    pub lines: Vec<Line>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aids: Vec<AidLine>,
    pub total: Cents,
    /// The family's quotient familial it was billed with (its aids depend on it), when the bill
    /// was computed for a family ([`crate::billing::bills`]).
    #[serde(skip)]
    pub as_billed: Option<AsBilled>,
}

/// What a family's month was billed with that can change afterwards: its quotient familial
/// (which aids it earns). A change after billing bills the month again with it
/// ([`crate::regularisation::Rebill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsBilled {
    pub quotient_familial: Option<u32>,
}

impl Bill {
    /// A bill of these lines, without aids: its total is their sum.
    pub fn of_lines(family: FamilyRef, lines: Vec<Line>) -> Bill {
        let total = lines.iter().fold(Cents::ZERO, |t, l| t + l.amount);
        Bill { family, lines, aids: Vec::new(), total, as_billed: None }
    }

    /// An invoice of 0 € is not issued.
    pub fn is_due(&self) -> bool {
        self.total > Cents::ZERO
    }
}

/// Days between an invoice's issue and its due date.
pub const DUE_DAYS: u64 = 30;

/// A finalised invoice: numbered, never changed after (a correction is a credit note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Per town and calendar year of issue, continuous: « 2026-000123 ».
    pub number: String,
    pub family: FamilyRef,
    /// `AAAA-MM`
    pub month: Month,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub lines: Vec<InvoiceLine>,
    /// The aids deducted from its lines: its total is the lines less these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aids: Vec<AidLine>,
    pub total: Cents,
    /// The administrator who finalised the run.
    pub issued_by: String,
    /// The sum of the credit notes issued on it (`credit.rs`); its lines and total never change.
    #[serde(default)]
    pub credited: Cents,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<Cancellation>,
    /// The sum of the payments received on it (`payment.rs`).
    #[serde(default)]
    pub paid: Cents,
    /// Handed to the Trésor public for collection: no online payment, no reminder afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmitted: Option<Transmission>,
    /// A PayFiP payment in progress (two tabs never pay twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<Online>,
    /// Its direct debit (the day; whether the family's bank returned it: payable online again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<Mark>,
    /// Moved on by every change of its status (credit, payment, transmission), each conditioned
    /// on the version read: two changes at once never lose one another.
    #[serde(default)]
    pub version: u64,
    /// At its foot, below its lines and total: carried credit notes and régularisations that
    /// give money back, deducted from what is left to pay ([`super::regularisation`]).
    #[serde(default)]
    pub deductions: Vec<Deduction>,
    /// The « titre de recettes » it became in a PES file for Hélios (« Titre émis le … »).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titre: Option<Titre>,
    /// The quotient familial the month was billed with (none on invoices issued before it was
    /// kept: the family's current one is taken then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_billed: Option<AsBilled>,
}

impl Invoice {
    /// The invoice a due bill becomes with its number.
    pub fn issue(bill: Bill, month: Month, number: String, issued_on: NaiveDate, by: &str) -> Invoice {
        Invoice {
            number,
            family: bill.family,
            month,
            issued_on,
            due_on: issued_on.checked_add_days(chrono::Days::new(DUE_DAYS)).unwrap_or(issued_on),
            lines: bill.lines,
            aids: bill.aids,
            total: bill.total,
            issued_by: by.to_owned(),
            credited: Cents::ZERO,
            cancelled: None,
            paid: Cents::ZERO,
            transmitted: None,
            online: None,
            debit: None,
            version: 0,
            deductions: Vec::new(),
            titre: None,
            as_billed: bill.as_billed,
        }
    }

    /// What its deductions take off what is left to pay.
    pub fn deducted(&self) -> Cents {
        self.deductions.iter().fold(Cents::ZERO, |t, d| t + d.amount)
    }

    /// What its régularisations give back (its deductions other than carried credit notes, which
    /// the credit notes already count): the invoice's amount is its total less this.
    pub fn regularised(&self) -> Cents {
        self.deductions.iter().filter(|d| d.credit_note.is_none()).fold(Cents::ZERO, |t, d| t + d.amount)
    }
}

/// The number of the `seq`-th invoice of `year`.
pub fn invoice_number(year: i32, seq: u64) -> String {
    format!("{year}-{seq:06}")
}

/// A PayFiP operation started on an invoice, « en cours » until PayFiP answers or
/// [`EXPIRY_MINUTES`] pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Online {
    pub idop: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

impl Online {
    pub fn in_progress(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        (now - self.since).num_minutes() < EXPIRY_MINUTES
    }
}

/// How long an operation PayFiP has not settled stays « en cours »; after that, an operation
/// PayFiP still calls unknown or in progress is closed as abandoned (the family left PayFiP's
/// page). PayFiP's own operations expire well within it.
pub const EXPIRY_MINUTES: i64 = 60;

/// A cancellation: its reason, who and when, and the credit note that cancels the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub credit_note: String,
}

/// An invoice handed to the Trésor public for collection (« transmise au Trésor public »): no
/// online payment afterwards, and no reminder from the town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transmission {
    pub on: NaiveDate,
    pub by: String,
    /// What was left to pay when it was handed over.
    pub amount: Cents,
}

/// An invoice sent to Hélios as a title: the file, its bordereau and piece (what a reduction
/// names), the amount the title asked and what reductions took off it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Titre {
    pub file: String,
    pub on: NaiveDate,
    pub exer: i32,
    pub bordereau: u32,
    pub piece: u32,
    pub amount: Cents,
    #[serde(default)]
    pub reduced: Cents,
}

/// An invoice's debit as its family reads it: the day, the amount, and whether the bank
/// returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub on: NaiveDate,
    /// What the debit collects (its payment's amount).
    #[serde(default)]
    pub amount: Cents,
    #[serde(default)]
    pub rejected: bool,
}

/// A deduction at the foot of an invoice: a carried credit note, or a régularisation that gives
/// money back. Its lines and total stay as billed; what is left to pay is less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deduction {
    /// « Avoir AV-2026-000003 (facture 2026-000012) : déduit »
    pub label: String,
    pub amount: Cents,
    /// The carried credit note (already counted in the family's credit notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<String>,
    /// The invoice it cites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
}

/// What a debit in the bank's file and not collected yet counts on `today`: its amount until
/// its collection date, nothing from that day on (collected) or once rejected. The invoice's
/// `paid` holds it from the run, so that nobody asks the family for it twice; until its date it
/// is not money received.
pub fn scheduled(invoice: &Invoice, today: NaiveDate) -> Cents {
    match invoice.debit {
        Some(m) if !m.rejected && m.on > today => m.amount,
        _ => Cents::ZERO,
    }
}
