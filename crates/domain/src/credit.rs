//! What happens to an invoice after it is finalised: its publication to families on a date, its
//! status as a family reads it, the credit notes (« avoirs ») that correct it, its cancellation,
//! and a guardian's contest of one of its lines. A finalised invoice's lines and total never
//! change: a correction is a credit note, numbered in its own series and citing the invoice.

use super::FamilyRef;
use super::invoice::Invoice;
use super::{Cents, Month};
pub use crate::invoice::Cancellation;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The latest a publication can be planned, in days after today.
pub const MAX_PUBLICATION_DAYS: u64 = 60;
/// The longest reason (a credit note's, a cancellation's, a refusal's) and contest message.
pub const MAX_REASON_CHARS: usize = 1000;

/// A finalised month made visible to its families from `on` (the emails leave that morning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// `AAAA-MM`
    pub month: Month,
    pub on: NaiveDate,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl Publication {
    pub fn visible(&self, today: NaiveDate) -> bool {
        self.on <= today
    }
}

/// Why a publication date is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublicationRefused {
    #[error("La date de publication est passée.")]
    Past,
    #[error("La publication se prévoit dans les {MAX_PUBLICATION_DAYS} jours.")]
    TooFar,
}

impl crate::Refusal for PublicationRefused {
    fn code(&self) -> &'static str {
        match self {
            PublicationRefused::Past => "publication_in_past",
            PublicationRefused::TooFar => "publication_too_far",
        }
    }
    fn field(&self) -> Option<String> {
        Some("on".into())
    }
}

/// A publication date must be today or within [`MAX_PUBLICATION_DAYS`].
pub fn check_publication(on: NaiveDate, today: NaiveDate) -> Result<(), PublicationRefused> {
    if on < today {
        return Err(PublicationRefused::Past);
    }
    if on > today.checked_add_days(chrono::Days::new(MAX_PUBLICATION_DAYS)).unwrap_or(today) {
        return Err(PublicationRefused::TooFar);
    }
    Ok(())
}

/// An invoice's status as its family and staff read it: cancelled, credited, paid or handed
/// over when so; otherwise due until its date, then late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// « À payer »
    Due,
    /// « En retard »: past its due date, something left to pay.
    Late,
    /// « Soldée par avoir »: credit notes cover its whole amount.
    Credited,
    /// « Prélèvement prévu »: the family's direct debit covers it, its collection date not come.
    DebitScheduled,
    /// « Payée »: payments (with any credit notes) cover it.
    Paid,
    /// « Transmise au Trésor public »: the Trésor public collects what is left.
    Transmitted,
    /// « Annulée »
    Cancelled,
}

impl Status {
    pub fn french(self) -> &'static str {
        match self {
            Status::Due => "À payer",
            Status::Late => "En retard",
            Status::Credited => "Soldée par avoir",
            Status::DebitScheduled => "Prélèvement prévu",
            Status::Paid => "Payée",
            Status::Transmitted => "Transmise au Trésor public",
            Status::Cancelled => "Annulée",
        }
    }
}

/// What credit notes can still give back on an invoice: its total less its credit notes. A paid
/// invoice can still be credited (the family is then in credit, [`super::payment::balance`]);
/// what is left to pay is [`super::payment::left_to_pay`].
pub fn creditable(invoice: &Invoice) -> Cents {
    invoice.total.minus(invoice.regularised()).minus(invoice.credited)
}

pub fn status(invoice: &Invoice, today: NaiveDate) -> Status {
    status_due(invoice, invoice.due_on, today)
}

/// The status of an invoice the family reads as due on `due_on` (under a mandate, its collection
/// date, [`super::debit::Standing::due_on`]). Paid only once the money is received: a direct
/// debit whose day has not come is « Prélèvement prévu ».
pub fn status_due(invoice: &Invoice, due_on: NaiveDate, today: NaiveDate) -> Status {
    if invoice.cancelled.is_some() {
        Status::Cancelled
    } else if creditable(invoice) == Cents::ZERO {
        Status::Credited
    } else if super::payment::left_to_pay(invoice) == Cents::ZERO {
        if super::debit::scheduled(invoice, today) > Cents::ZERO { Status::DebitScheduled } else { Status::Paid }
    } else if invoice.transmitted.is_some() {
        Status::Transmitted
    } else if today > due_on {
        Status::Late
    } else {
        Status::Due
    }
}

/// One line of a credit note: what it corrects, and the amount given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLine {
    pub label: String,
    pub amount: Cents,
    /// The invoice line it gives back on (its index), when it names one (kept since the
    /// régularisations count it: [`crate::regularisation::Rebill`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A credit note (« avoir »): an amount the town gives back on one invoice, numbered per town and
/// year in its own series (`AV-2026-000001`). Its amounts are positive; it is read as negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    pub number: String,
    pub family: FamilyRef,
    /// The corrected invoice's month, `AAAA-MM`.
    pub month: Month,
    /// The invoice it corrects.
    pub corrects: String,
    pub issued_on: NaiveDate,
    pub reason: String,
    pub lines: Vec<CreditLine>,
    pub total: Cents,
    pub issued_by: String,
    /// The contest it answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contest: Option<String>,
    /// What it took off what was left to pay on its invoice.
    #[serde(default)]
    pub deducted: Cents,
    /// The rest (its invoice was paid, wholly or partly): carried to the family's next invoice
    /// as a deduction, or refunded ([`super::regularisation`]).
    #[serde(default)]
    pub carried: Cents,
}

/// The number of the `seq`-th credit note of `year`.
pub fn credit_note_number(year: i32, seq: u64) -> String {
    format!("AV-{year}-{seq:06}")
}

/// Why a credit note cannot be issued as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditRefused {
    /// An amount of 0 €.
    #[error("nothing to credit")]
    Nothing,
    /// More than the invoice has left to credit.
    #[error("more than left to credit")]
    TooMuch { left: Cents },
    /// More than the line it corrects.
    #[error("more than the line")]
    OverLine { amount: Cents },
    #[error("unknown line")]
    UnknownLine,
    #[error("invoice cancelled")]
    Cancelled,
    #[error("no reason")]
    NoReason,
}

impl CreditRefused {
    pub fn code(&self) -> &'static str {
        match self {
            CreditRefused::Nothing => "credit_nothing",
            CreditRefused::TooMuch { .. } => "credit_too_much",
            CreditRefused::OverLine { .. } => "credit_over_line",
            CreditRefused::UnknownLine => "unknown_line",
            CreditRefused::Cancelled => "invoice_cancelled",
            CreditRefused::NoReason => "reason_required",
        }
    }
    pub fn french(&self) -> String {
        match self {
            CreditRefused::Nothing => "Un avoir porte sur un montant de plus de 0 €.".into(),
            CreditRefused::TooMuch { left } => {
                format!("Cet avoir dépasse ce qui reste de la facture ({left}).")
            }
            CreditRefused::OverLine { amount } => format!("Cet avoir dépasse le montant de la ligne ({amount})."),
            CreditRefused::UnknownLine => "Cette ligne n'existe pas sur la facture.".into(),
            CreditRefused::Cancelled => "Cette facture est annulée.".into(),
            CreditRefused::NoReason => "Indiquez le motif.".into(),
        }
    }
}

/// A reason staff or a guardian gives: trimmed, not empty, at most [`MAX_REASON_CHARS`].
pub fn reason(raw: &str) -> Result<String, CreditRefused> {
    let r = raw.trim();
    if r.is_empty() || r.chars().count() > MAX_REASON_CHARS {
        return Err(CreditRefused::NoReason);
    }
    Ok(r.to_owned())
}

/// What staff ask to credit: lines of the invoice (by index) with an amount each, or, with no
/// line, an amount on the invoice as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreditAsked {
    pub line: Option<usize>,
    pub amount: Cents,
}

/// What the régularisations of an invoice's month gave back (net of what they billed again),
/// in all and on each of its lines (by index), beyond what credit notes issued for them gave
/// (those are in the invoice's `credited` already): [`crate::regularisation::given_back`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regularised {
    pub total: i64,
    pub lines: std::collections::BTreeMap<usize, i64>,
}

/// The lines of a credit note on `invoice`, checked against what is left to credit: what the
/// family paid for each line it names (its amount less its days' aids, less what régularisations
/// of its days gave back) and for the invoice (less what régularisations gave back).
pub fn credit_lines(
    invoice: &Invoice,
    asked: &[CreditAsked],
    regularised: &Regularised,
) -> Result<Vec<CreditLine>, CreditRefused> {
    if invoice.cancelled.is_some() {
        return Err(CreditRefused::Cancelled);
    }
    let mut lines = Vec::new();
    let mut total = Cents::ZERO;
    for a in asked {
        let label = match a.line {
            Some(i) => {
                let line = invoice.lines.get(i).ok_or(CreditRefused::UnknownLine)?;
                // What the family paid for the line: its days' aids were never its to get back.
                let given = regularised.lines.get(&i).copied().unwrap_or(0);
                let net = line.amount.minus(crate::aid::on_line(&invoice.aids, line)).minus_i64(given);
                if a.amount > net {
                    return Err(CreditRefused::OverLine { amount: net });
                }
                format!("{} — {} ({})", line.child_name, line.unit_name, line.dates_text)
            }
            None => format!("Facture {}", invoice.number),
        };
        total += a.amount;
        lines.push(CreditLine { label, amount: a.amount, line: a.line });
    }
    if total == Cents::ZERO {
        return Err(CreditRefused::Nothing);
    }
    let left = creditable(invoice).minus_i64(regularised.total);
    if total > left {
        return Err(CreditRefused::TooMuch { left });
    }
    Ok(lines)
}

/// A guardian's contest of one invoice line, waiting for staff or answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contest {
    pub id: String,
    pub family: FamilyRef,
    pub month: Month,
    pub invoice: String,
    pub line: usize,
    /// The days of the line the guardian contests; empty: the whole line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<NaiveDate>,
    /// The line as it was contested, with the days chosen (the invoice never changes, this is
    /// for the staff's queue).
    pub line_text: String,
    pub line_amount: Cents,
    pub message: String,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub decision: ContestDecision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ContestDecision {
    Pending,
    Accepted { credit_note: String, amount: Cents, decided_by: String, decided_at: DateTime<Utc> },
    Refused { reason: String, decided_by: String, decided_at: DateTime<Utc> },
}

/// Why a contest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContestRefused {
    #[error("unknown line")]
    UnknownLine,
    #[error("invoice cancelled")]
    Cancelled,
    #[error("no message")]
    NoMessage,
    /// The line is already contested and waits for an answer.
    #[error("already contested")]
    AlreadyContested,
    /// A day chosen is not one of the line's.
    #[error("unknown day")]
    UnknownDay,
}

impl crate::Refusal for ContestRefused {
    fn code(&self) -> &'static str {
        ContestRefused::code(self)
    }
    fn french(&self) -> String {
        ContestRefused::french(self).to_owned()
    }
}

impl crate::Refusal for CreditRefused {
    fn code(&self) -> &'static str {
        CreditRefused::code(self)
    }
    fn french(&self) -> String {
        CreditRefused::french(self)
    }
}

impl ContestRefused {
    pub fn code(&self) -> &'static str {
        match self {
            ContestRefused::UnknownLine => "unknown_line",
            ContestRefused::Cancelled => "invoice_cancelled",
            ContestRefused::NoMessage => "message_required",
            ContestRefused::AlreadyContested => "already_contested",
            ContestRefused::UnknownDay => "unknown_day",
        }
    }
    pub fn french(&self) -> &'static str {
        match self {
            ContestRefused::UnknownLine => "Cette ligne n'existe pas sur la facture.",
            ContestRefused::Cancelled => "Cette facture est annulée : il n'y a plus rien à contester.",
            ContestRefused::NoMessage => "Expliquez en quelques mots ce qui ne va pas (1 000 caractères au plus).",
            ContestRefused::AlreadyContested => "Cette ligne est déjà contestée : le service vous répondra par e-mail.",
            ContestRefused::UnknownDay => "Choisissez des jours de la ligne contestée.",
        }
    }
}

impl Contest {
    /// A guardian's contest of line `line` of `invoice`, of some of its `days` (none, or all of
    /// them: the whole line); `open` are the family's contests of it still waiting.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        invoice: &Invoice,
        line: usize,
        days: &[NaiveDate],
        message: &str,
        open: &[Contest],
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Contest, ContestRefused> {
        if invoice.cancelled.is_some() {
            return Err(ContestRefused::Cancelled);
        }
        let l = invoice.lines.get(line).ok_or(ContestRefused::UnknownLine)?;
        if days.iter().any(|d| !l.dates.contains(d)) {
            return Err(ContestRefused::UnknownDay);
        }
        let mut days = days.to_vec();
        days.sort_unstable();
        days.dedup();
        if days.len() == l.dates.len() {
            days.clear();
        }
        let message = reason(message).map_err(|_| ContestRefused::NoMessage)?;
        if open.iter().any(|c| c.invoice == invoice.number && c.line == line && c.decision == ContestDecision::Pending)
        {
            return Err(ContestRefused::AlreadyContested);
        }
        Ok(Contest {
            id,
            family: invoice.family.clone(),
            month: invoice.month,
            invoice: invoice.number.clone(),
            line,
            line_text: if days.is_empty() {
                format!("{} — {} ({}) : {}", l.child_name, l.unit_name, l.dates_text, l.rule)
            } else {
                format!(
                    "{} — {} ({} sur {}) : {}",
                    l.child_name,
                    l.unit_name,
                    crate::billing::dates_text(&days),
                    l.dates_text,
                    l.rule
                )
            },
            days,
            // What the family paid for the line (less its days' aids): what accepting it gives back.
            line_amount: l.amount.minus(crate::aid::on_line(&invoice.aids, l)),
            message,
            by: by.to_owned(),
            at,
            decision: ContestDecision::Pending,
        })
    }

    pub fn is_pending(&self) -> bool {
        self.decision == ContestDecision::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::Line;
    use crate::testkit::{at, d, id};

    fn invoice(amounts: &[i64]) -> Invoice {
        let lines: Vec<Line> = amounts
            .iter()
            .map(|a| Line {
                child: id("lea"),
                child_name: "Léa".into(),
                unit: id("cantine"),
                unit_name: "Restauration scolaire".into(),
                rule: "Tarif de base, résident : 2,50 €".into(),
                dates: vec![d(2026, 11, 2)],
                dates_text: "2/11".into(),
                quantity: 1,
                unit_price: Cents::new(*a).unwrap(),
                amount: Cents::new(*a).unwrap(),
            })
            .collect();
        crate::testkit::november_invoice(lines, "2026-000001")
    }

    fn c(cents: i64) -> Cents {
        Cents::new(cents).unwrap()
    }

    #[test]
    fn a_publication_is_today_or_within_sixty_days() {
        let today = d(2026, 12, 1);
        assert_eq!(check_publication(today, today), Ok(()));
        assert_eq!(check_publication(d(2026, 11, 30), today), Err(PublicationRefused::Past));
        assert_eq!(check_publication(d(2027, 1, 30), today), Ok(()));
        assert_eq!(check_publication(d(2027, 1, 31), today), Err(PublicationRefused::TooFar));
        let p = Publication {
            month: crate::Month::parse("2026-11").unwrap(),
            on: d(2026, 12, 3),
            by: "a".into(),
            at: at(2026, 12, 1, 9, 0),
        };
        assert!(!p.visible(d(2026, 12, 2)));
        assert!(p.visible(d(2026, 12, 3)));
    }

    #[test]
    fn status_follows_due_date_credit_notes_and_cancellation() {
        let mut i = invoice(&[250, 400]);
        assert_eq!(status(&i, d(2026, 12, 31)), Status::Due);
        assert_eq!(status(&i, d(2027, 1, 1)), Status::Late);
        i.paid = c(400);
        assert_eq!(status(&i, d(2027, 1, 1)), Status::Late, "partly paid is still to pay");
        i.credited = c(250);
        assert_eq!(status(&i, d(2027, 1, 1)), Status::Paid, "paid and credited together cover it");
        i.credited = c(0);
        i.transmitted = Some(crate::payment::Transmission { on: d(2027, 1, 2), by: "a".into(), amount: c(250) });
        assert_eq!(status(&i, d(2027, 1, 3)), Status::Transmitted);
        i.credited = c(650);
        assert_eq!(status(&i, d(2027, 1, 1)), Status::Credited);
        i.cancelled = Some(Cancellation {
            reason: "x".into(),
            by: "a".into(),
            at: at(2026, 12, 2, 9, 0),
            credit_note: "AV".into(),
        });
        assert_eq!(status(&i, d(2026, 12, 2)), Status::Cancelled);
    }

    #[test]
    fn a_credit_note_never_exceeds_its_line_or_what_is_left() {
        let mut i = invoice(&[250, 400]);
        let lines =
            credit_lines(&i, &[CreditAsked { line: Some(1), amount: c(400) }], &Regularised::default()).unwrap();
        assert_eq!(
            lines,
            vec![CreditLine { label: "Léa — Restauration scolaire (2/11)".into(), amount: c(400), line: Some(1) }]
        );
        assert_eq!(
            credit_lines(&i, &[CreditAsked { line: Some(0), amount: c(251) }], &Regularised::default()),
            Err(CreditRefused::OverLine { amount: c(250) })
        );
        assert_eq!(
            credit_lines(&i, &[CreditAsked { line: Some(2), amount: c(1) }], &Regularised::default()),
            Err(CreditRefused::UnknownLine)
        );
        assert_eq!(
            credit_lines(&i, &[CreditAsked { line: None, amount: c(0) }], &Regularised::default()),
            Err(CreditRefused::Nothing)
        );
        i.credited = c(500);
        assert_eq!(
            credit_lines(&i, &[CreditAsked { line: Some(1), amount: c(400) }], &Regularised::default()),
            Err(CreditRefused::TooMuch { left: c(150) })
        );
        assert_eq!(
            credit_lines(&i, &[CreditAsked { line: None, amount: c(150) }], &Regularised::default()).unwrap()[0].label,
            "Facture 2026-000001"
        );
        assert_eq!(credit_note_number(2026, 7), "AV-2026-000007");
    }

    #[test]
    fn a_contest_names_its_line_and_is_not_made_twice() {
        let i = invoice(&[250]);
        let now = at(2026, 12, 2, 9, 0);
        let contest = Contest::new("c1".into(), &i, 0, &[], "  Léa était malade  ", &[], "sophie", now).unwrap();
        assert_eq!(contest.message, "Léa était malade");
        assert_eq!(contest.line_text, "Léa — Restauration scolaire (2/11) : Tarif de base, résident : 2,50 €");
        assert_eq!(contest.line_amount, c(250));
        assert_eq!(
            Contest::new("c2".into(), &i, 0, &[], "encore", std::slice::from_ref(&contest), "sophie", now),
            Err(ContestRefused::AlreadyContested)
        );
        assert_eq!(Contest::new("c2".into(), &i, 1, &[], "x", &[], "s", now), Err(ContestRefused::UnknownLine));
        assert_eq!(Contest::new("c2".into(), &i, 0, &[], "   ", &[], "s", now), Err(ContestRefused::NoMessage));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(Contest::new("c2".into(), &i, 0, &[], &long, &[], "s", now), Err(ContestRefused::NoMessage));
    }

    #[test]
    fn a_contest_may_name_some_days_of_its_line() {
        let mut i = invoice(&[500]);
        i.lines[0].dates = vec![d(2026, 11, 2), d(2026, 11, 3)];
        i.lines[0].dates_text = "2 et 3/11".into();
        let now = at(2026, 12, 2, 9, 0);
        let some = Contest::new("c1".into(), &i, 0, &[d(2026, 11, 3)], "Absente", &[], "sophie", now).unwrap();
        assert_eq!(some.days, [d(2026, 11, 3)]);
        assert_eq!(
            some.line_text,
            "Léa — Restauration scolaire (3/11 sur 2 et 3/11) : Tarif de base, résident : 2,50 €"
        );
        let all = Contest::new("c2".into(), &i, 0, &[d(2026, 11, 3), d(2026, 11, 2)], "x", &[], "s", now).unwrap();
        assert!(all.days.is_empty(), "every day of the line is the whole line");
        assert_eq!(
            Contest::new("c3".into(), &i, 0, &[d(2026, 11, 4)], "x", &[], "s", now),
            Err(ContestRefused::UnknownDay)
        );
    }
}
