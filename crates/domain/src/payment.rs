//! Payments of invoices (RULES.md « Invoices and payments », docs/payments.md): what a payment
//! is, the counter payments staff record, receipts (« quittances ») numbered in their own
//! series, a family's balance, the unpaid list by age, reminders before and after the due date,
//! and the transmission of an unpaid invoice to the Trésor public. Online payment through
//! PayFiP has its own rules in [`super::payfip`].

use super::invoice::Invoice;
use super::{Cents, Month};
pub use crate::config::{MAX_REMINDER_DAYS, Reminders};
pub use crate::invoice::Transmission;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How an invoice was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Online, through PayFiP (recorded only once PayFiP said so).
    Payfip,
    Cash,
    Cheque,
    Cesu,
    ChequesVacances,
    Transfer,
    /// SEPA direct debit under the family's mandate (the monthly file).
    DirectDebit,
}

impl Method {
    pub fn french(self) -> &'static str {
        match self {
            Method::Payfip => "Carte bancaire en ligne (PayFiP)",
            Method::Cash => "Espèces",
            Method::Cheque => "Chèque",
            Method::Cesu => "CESU",
            Method::ChequesVacances => "Chèques-vacances",
            Method::Transfer => "Virement",
            Method::DirectDebit => "Prélèvement SEPA",
        }
    }
}

/// A payment received on one invoice; its receipt has its own number (`Q-2026-000001`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The receipt's number, per town and year of receipt.
    pub number: String,
    pub family: super::FamilyRef,
    /// The invoice's month, `AAAA-MM`.
    pub month: Month,
    /// The invoice's number.
    pub invoice: String,
    pub amount: Cents,
    pub method: Method,
    /// « Chèque n° 1234567, Banque Postale », « Autorisation 123456 », a transfer's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The day the money was received (town time).
    pub received_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it: a staff member's email, or « PayFiP ».
    pub recorded_by: String,
    /// The PayFiP operation it settles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idop: Option<String>,
    /// A direct debit the family's bank returned: the amount is owed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
}

/// A direct debit returned unpaid (« rejet de prélèvement »).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub on: NaiveDate,
    pub reason: String,
    pub by: String,
}

/// The number of the `seq`-th receipt of `year`.
pub fn receipt_number(year: i32, seq: u64) -> String {
    format!("Q-{year}-{seq:06}")
}

/// What is left to pay on an invoice: its total less its credit notes and payments; 0 once
/// settled (an overpayment is a credit of the family, see [`balance`]).
pub fn left_to_pay(invoice: &Invoice) -> Cents {
    invoice.total.minus(invoice.credited).minus(invoice.paid).minus(invoice.deducted())
}

/// Why a payment or a transmission is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefused {
    #[error("amount not positive")]
    NotPositive,
    #[error("more than what is left to pay")]
    OverLeftToPay { left: Cents },
    #[error("invoice cancelled")]
    Cancelled,
    #[error("invoice already settled")]
    Settled,
    #[error("invoice transmitted to the Trésor public")]
    Transmitted,
    #[error("cheque number missing")]
    ChequeNumber,
    #[error("details too long")]
    DetailsTooLong,
    #[error("received in the future")]
    ReceivedInFuture,
    #[error("received before the invoice was issued")]
    ReceivedBeforeInvoice { issued_on: NaiveDate },
    #[error("not yet due")]
    NotYetDue,
}

impl PaymentRefused {
    /// The field of a counter payment at fault, when one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            PaymentRefused::NotPositive | PaymentRefused::OverLeftToPay { .. } => Some("amount"),
            PaymentRefused::ChequeNumber => Some("cheque_number"),
            PaymentRefused::DetailsTooLong => Some("details"),
            PaymentRefused::ReceivedInFuture | PaymentRefused::ReceivedBeforeInvoice { .. } => Some("received_on"),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PaymentRefused::NotPositive => "amount_not_positive",
            PaymentRefused::OverLeftToPay { .. } => "amount_over_left_to_pay",
            PaymentRefused::Cancelled => "invoice_cancelled",
            PaymentRefused::Settled => "invoice_settled",
            PaymentRefused::Transmitted => "invoice_transmitted",
            PaymentRefused::ChequeNumber => "cheque_number_required",
            PaymentRefused::DetailsTooLong => "details_too_long",
            PaymentRefused::ReceivedInFuture => "received_in_future",
            PaymentRefused::ReceivedBeforeInvoice { .. } => "received_before_invoice",
            PaymentRefused::NotYetDue => "not_yet_due",
        }
    }

    pub fn french(&self) -> String {
        match self {
            PaymentRefused::NotPositive => "Le montant doit être supérieur à 0 €.".into(),
            PaymentRefused::OverLeftToPay { left } => {
                format!("Le montant dépasse ce qu'il reste à payer sur cette facture ({left}).")
            }
            PaymentRefused::Cancelled => "Cette facture est annulée : il n'y a rien à payer.".into(),
            PaymentRefused::Settled => "Cette facture est déjà soldée.".into(),
            PaymentRefused::Transmitted => {
                "Cette facture a été transmise au Trésor public : son paiement se fait désormais auprès de lui.".into()
            }
            PaymentRefused::ChequeNumber => "Indiquez le numéro du chèque.".into(),
            PaymentRefused::DetailsTooLong => format!("Les précisions tiennent en {MAX_DETAILS} caractères."),
            PaymentRefused::ReceivedInFuture => "La date de réception ne peut pas être dans le futur.".into(),
            PaymentRefused::ReceivedBeforeInvoice { issued_on } => format!(
                "La date de réception ne peut pas précéder l'émission de la facture, le {}.",
                crate::fr::date(*issued_on)
            ),
            PaymentRefused::NotYetDue => {
                "Une facture se transmet au Trésor public une fois sa date d'échéance passée.".into()
            }
        }
    }
}

/// The longest details of a counter payment.
pub const MAX_DETAILS: usize = 200;

/// Whether `invoice` can take a payment at all.
pub fn payable(invoice: &Invoice) -> Result<Cents, PaymentRefused> {
    if invoice.cancelled.is_some() {
        return Err(PaymentRefused::Cancelled);
    }
    if invoice.transmitted.is_some() {
        return Err(PaymentRefused::Transmitted);
    }
    let left = left_to_pay(invoice);
    if left == Cents::ZERO {
        return Err(PaymentRefused::Settled);
    }
    Ok(left)
}

/// A payment staff record at the counter, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub method: Method,
    pub amount: Cents,
    pub received_on: NaiveDate,
    /// A cheque's number.
    pub cheque_number: Option<String>,
    /// A cheque's bank, a transfer's reference, a CESU or chèques-vacances count: free text.
    pub details: Option<String>,
}

/// Checks a counter payment against the invoice; answers the details as the receipt prints them.
/// A partial payment is fine; more than what is left is refused (the family would be owed money
/// the town has no way to give back from here).
pub fn counter(invoice: &Invoice, asked: &Counter, today: NaiveDate) -> Result<Option<String>, PaymentRefused> {
    let left = payable(invoice)?;
    if asked.amount.get() <= 0 {
        return Err(PaymentRefused::NotPositive);
    }
    if asked.amount > left {
        return Err(PaymentRefused::OverLeftToPay { left });
    }
    if asked.received_on > today {
        return Err(PaymentRefused::ReceivedInFuture);
    }
    // The money paid this invoice: it cannot have come before the invoice existed.
    if asked.received_on < invoice.issued_on {
        return Err(PaymentRefused::ReceivedBeforeInvoice { issued_on: invoice.issued_on });
    }
    let clean = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (number, details) = (clean(&asked.cheque_number), clean(&asked.details));
    let details = match (asked.method, number) {
        (Method::Cheque, None) => return Err(PaymentRefused::ChequeNumber),
        (Method::Cheque, Some(n)) => Some(match details {
            Some(bank) => format!("Chèque n° {n}, {bank}"),
            None => format!("Chèque n° {n}"),
        }),
        (_, _) => details,
    };
    if details.as_ref().is_some_and(|d| d.chars().count() > MAX_DETAILS) {
        return Err(PaymentRefused::DetailsTooLong);
    }
    Ok(details)
}

/// Checks that an invoice can be handed to the Trésor public on `today`: past its due date,
/// something left to pay, not handed over already.
pub fn transmit(invoice: &Invoice, today: NaiveDate, by: &str) -> Result<Transmission, PaymentRefused> {
    let left = payable(invoice)?;
    if today <= invoice.due_on {
        return Err(PaymentRefused::NotYetDue);
    }
    Ok(Transmission { on: today, by: by.to_owned(), amount: left })
}

/// A family's balance on a day: what its invoices ask, less its credit notes, the money received,
/// and the direct debits in the bank's file whose day has not come. Positive, the family owes it;
/// negative, the town owes it (a payment above a later credit note).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Balance {
    pub invoiced: Cents,
    pub credited: Cents,
    /// Money received (a direct debit from its collection date).
    pub paid: Cents,
    /// Direct debits announced, not collected yet: not received, and nothing the family still
    /// has to pay itself.
    pub scheduled: Cents,
    /// Cents, may be negative.
    pub balance: i64,
}

pub fn balance<'a>(invoices: impl IntoIterator<Item = &'a Invoice>, today: NaiveDate) -> Balance {
    invoices.into_iter().fold(Balance::default(), |b, i| {
        let scheduled = super::invoice::scheduled(i, today);
        Balance {
            invoiced: b.invoiced + i.total.minus(i.regularised()),
            credited: b.credited + i.credited,
            paid: b.paid + i.paid.minus(scheduled),
            scheduled: b.scheduled + scheduled,
            balance: b.balance + i.total.get() - i.regularised().get() - i.credited.get() - i.paid.get(),
        }
    })
}

/// A payment as pages, PDFs and exports show it: its method in French, whether the money is
/// received, and one sentence: « 10,00 € reçus le 26/11/2026 (Espèces) », « 3,00 € à prélever le
/// 15/12/2026 (Prélèvement SEPA) » until a debit's day, « … prélevés le … » from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: Payment,
    pub method_label: &'static str,
    /// The money is received: not a direct debit before its day, nor a rejected one.
    pub collected: bool,
    pub label: String,
}

impl PaymentView {
    pub fn of(p: &Payment, today: NaiveDate) -> PaymentView {
        let debit = p.method == Method::DirectDebit;
        let (on, method) = (crate::fr::date(p.received_on), p.method.french());
        let (collected, label) = match (&p.rejected, debit && p.received_on > today) {
            (Some(_), _) => (false, format!("Prélèvement de {} du {on} rejeté par la banque", p.amount)),
            (None, true) => (false, format!("{} à prélever le {on} ({method})", p.amount)),
            (None, false) if debit => (true, format!("{} prélevés le {on} ({method})", p.amount)),
            (None, false) => (true, format!("{} reçus le {on} ({method})", p.amount)),
        };
        PaymentView { payment: p.clone(), method_label: method, collected, label }
    }
}

/// The unpaid list's age brackets, by days past the due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Age {
    /// Not due yet.
    NotDue,
    /// 0 to 30 days late.
    UpTo30,
    /// 31 to 60 days late.
    UpTo60,
    /// Over 60 days late.
    Over60,
}

impl Age {
    pub fn of(due_on: NaiveDate, today: NaiveDate) -> Age {
        match (today - due_on).num_days() {
            d if d <= 0 => Age::NotDue,
            1..=30 => Age::UpTo30,
            31..=60 => Age::UpTo60,
            _ => Age::Over60,
        }
    }

    pub fn french(self) -> &'static str {
        match self {
            Age::NotDue => "Pas encore échue",
            Age::UpTo30 => "0 à 30 jours de retard",
            Age::UpTo60 => "31 à 60 jours de retard",
            Age::Over60 => "Plus de 60 jours de retard",
        }
    }
}

/// Whether an invoice belongs on the unpaid list: something left to pay, and the town still
/// collects it (not cancelled, not handed to the Trésor public).
pub fn unpaid(invoice: &Invoice) -> bool {
    payable(invoice).is_ok()
}

/// A reminder's step; each goes out at most once per invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    BeforeDue,
    AfterDue,
}

impl Step {
    pub fn code(self) -> &'static str {
        match self {
            Step::BeforeDue => "before_due",
            Step::AfterDue => "after_due",
        }
    }
}

/// The reminder due on `today` for `invoice`, if any: the latest step whose day has come (a
/// step missed because the job did not run still goes out, once; the one after the due date
/// replaces the one before it when both are late).
pub fn reminder(invoice: &Invoice, settings: Reminders, today: NaiveDate) -> Option<Step> {
    if !unpaid(invoice) {
        return None;
    }
    let days = (today - invoice.due_on).num_days();
    if settings.after_due > 0 && days >= i64::from(settings.after_due) {
        Some(Step::AfterDue)
    } else if settings.before_due > 0 && days < 0 && -days <= i64::from(settings.before_due) {
        Some(Step::BeforeDue)
    } else {
        None
    }
}

impl crate::Refusal for PaymentRefused {
    fn code(&self) -> &'static str {
        PaymentRefused::code(self)
    }
    fn french(&self) -> String {
        PaymentRefused::french(self)
    }
    fn field(&self) -> Option<String> {
        PaymentRefused::field(self).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FamilyRef;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn invoice(total: i64) -> Invoice {
        let bill = crate::billing::Bill {
            family: FamilyRef::parse("martin").unwrap(),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::new(total).unwrap(),
            as_billed: None,
        };
        let mut i = Invoice::issue(
            bill,
            crate::Month::parse("2026-10").unwrap(),
            "2026-000002".into(),
            d("2026-11-01"),
            "mairie@example.fr",
        );
        i.due_on = d("2026-11-30");
        i
    }

    fn cents(n: i64) -> Cents {
        Cents::new(n).unwrap()
    }

    fn cheque(amount: i64, number: Option<&str>) -> Counter {
        Counter {
            method: Method::Cheque,
            amount: cents(amount),
            received_on: d("2026-11-20"),
            cheque_number: number.map(Into::into),
            details: Some("La Banque Postale".into()),
        }
    }

    #[test]
    fn left_to_pay_subtracts_credit_notes_and_payments() {
        let mut i = invoice(1000);
        i.credited = cents(250);
        i.paid = cents(300);
        assert_eq!(left_to_pay(&i), cents(450));
        i.paid = cents(900);
        assert_eq!(left_to_pay(&i), Cents::ZERO, "an overpayment leaves nothing to pay, not a negative");
    }

    #[test]
    fn a_cheque_needs_its_number_and_prints_its_bank() {
        let today = d("2026-11-26");
        assert_eq!(counter(&invoice(1000), &cheque(400, None), today), Err(PaymentRefused::ChequeNumber));
        assert_eq!(counter(&invoice(1000), &cheque(400, Some("  ")), today), Err(PaymentRefused::ChequeNumber));
        assert_eq!(
            counter(&invoice(1000), &cheque(400, Some("1234567")), today).unwrap().as_deref(),
            Some("Chèque n° 1234567, La Banque Postale")
        );
    }

    #[test]
    fn counter_payments_are_partial_at_most_what_is_left() {
        let today = d("2026-11-26");
        let mut i = invoice(1000);
        i.paid = cents(600);
        assert_eq!(
            counter(&i, &cheque(401, Some("1")), today),
            Err(PaymentRefused::OverLeftToPay { left: cents(400) })
        );
        assert!(counter(&i, &cheque(400, Some("1")), today).is_ok());
        assert_eq!(counter(&i, &cheque(0, Some("1")), today), Err(PaymentRefused::NotPositive));
        let later = Counter { received_on: d("2026-11-27"), ..cheque(100, Some("1")) };
        assert_eq!(counter(&i, &later, today), Err(PaymentRefused::ReceivedInFuture));
        for before in ["1900-01-01", "2026-10-31"] {
            let early = Counter { received_on: d(before), ..cheque(100, Some("1")) };
            let refused = counter(&i, &early, today).unwrap_err();
            assert_eq!(refused, PaymentRefused::ReceivedBeforeInvoice { issued_on: d("2026-11-01") });
            assert_eq!((refused.code(), refused.field()), ("received_before_invoice", Some("received_on")));
            assert!(refused.french().contains("01/11/2026"), "{}", refused.french());
        }
        let on_issue = Counter { received_on: d("2026-11-01"), ..cheque(100, Some("1")) };
        assert!(counter(&i, &on_issue, today).is_ok());
        i.paid = cents(1000);
        assert_eq!(counter(&i, &cheque(1, Some("1")), today), Err(PaymentRefused::Settled));
    }

    #[test]
    fn cancelled_and_transmitted_invoices_take_no_payment() {
        let today = d("2026-12-05");
        let mut i = invoice(1000);
        let t = transmit(&i, today, "mairie@example.fr").unwrap();
        assert_eq!(t.amount, cents(1000));
        i.transmitted = Some(t);
        assert_eq!(payable(&i), Err(PaymentRefused::Transmitted));
        assert_eq!(transmit(&i, today, "x"), Err(PaymentRefused::Transmitted));
        assert!(!unpaid(&i), "the Trésor public collects it now");
        let early = invoice(1000);
        assert_eq!(transmit(&early, d("2026-11-30"), "x"), Err(PaymentRefused::NotYetDue));
    }

    #[test]
    fn the_balance_can_be_in_the_familys_favour() {
        let mut a = invoice(1000);
        a.paid = cents(1000);
        a.credited = cents(200);
        let b = invoice(500);
        let today = d("2026-11-26");
        let bal = balance([&a, &b], today);
        assert_eq!((bal.invoiced, bal.credited, bal.paid), (cents(1500), cents(200), cents(1000)));
        assert_eq!(bal.balance, 300);
        assert_eq!(balance([&a], today).balance, -200);
    }

    #[test]
    fn a_direct_debit_is_not_received_before_its_day_nor_owed_by_the_family() {
        let mut i = invoice(1000);
        i.paid = cents(1000);
        i.debit = Some(crate::debit::Mark { on: d("2026-12-15"), amount: cents(1000), rejected: false });
        let before = balance([&i], d("2026-12-14"));
        assert_eq!((before.paid, before.scheduled, before.balance), (Cents::ZERO, cents(1000), 0));
        assert_eq!(crate::credit::status(&i, d("2026-12-14")).french(), "Prélèvement prévu");
        let after = balance([&i], d("2026-12-15"));
        assert_eq!((after.paid, after.scheduled, after.balance), (cents(1000), Cents::ZERO, 0));
        assert_eq!(crate::credit::status(&i, d("2026-12-15")).french(), "Payée");
        let p = Payment {
            number: "Q-2026-000001".into(),
            family: FamilyRef::parse("martin").unwrap(),
            month: crate::Month::parse("2026-10").unwrap(),
            invoice: "2026-000002".into(),
            amount: cents(1000),
            method: Method::DirectDebit,
            details: None,
            received_on: d("2026-12-15"),
            recorded_at: "2026-11-26T09:00:00Z".parse().unwrap(),
            recorded_by: "mairie@example.fr".into(),
            idop: None,
            rejected: None,
        };
        let v = PaymentView::of(&p, d("2026-12-14"));
        assert_eq!((v.collected, v.method_label), (false, "Prélèvement SEPA"));
        assert_eq!(v.label, "10,00\u{a0}€ à prélever le 15/12/2026 (Prélèvement SEPA)");
        assert_eq!(
            PaymentView::of(&p, d("2026-12-15")).label,
            "10,00\u{a0}€ prélevés le 15/12/2026 (Prélèvement SEPA)"
        );
        let cash = Payment { method: Method::Cash, received_on: d("2026-11-20"), ..p };
        assert_eq!(PaymentView::of(&cash, d("2026-11-26")).label, "10,00\u{a0}€ reçus le 20/11/2026 (Espèces)");
    }

    #[test]
    fn ages_by_days_past_due() {
        let due = d("2026-11-30");
        assert_eq!(Age::of(due, d("2026-11-30")), Age::NotDue);
        assert_eq!(Age::of(due, d("2026-12-01")), Age::UpTo30);
        assert_eq!(Age::of(due, d("2026-12-30")), Age::UpTo30);
        assert_eq!(Age::of(due, d("2026-12-31")), Age::UpTo60);
        assert_eq!(Age::of(due, d("2027-01-29")), Age::UpTo60);
        assert_eq!(Age::of(due, d("2027-01-30")), Age::Over60);
    }

    #[test]
    fn reminders_before_and_after_the_due_date() {
        let s = Reminders { before_due: 5, after_due: 10 };
        let i = invoice(1000);
        assert_eq!(reminder(&i, s, d("2026-11-24")), None);
        assert_eq!(reminder(&i, s, d("2026-11-25")), Some(Step::BeforeDue));
        assert_eq!(reminder(&i, s, d("2026-11-29")), Some(Step::BeforeDue));
        assert_eq!(reminder(&i, s, d("2026-11-30")), None, "the due date itself: no email");
        assert_eq!(reminder(&i, s, d("2026-12-09")), None);
        assert_eq!(reminder(&i, s, d("2026-12-10")), Some(Step::AfterDue));
        assert_eq!(reminder(&i, s, d("2027-02-10")), Some(Step::AfterDue), "late job: still once");
        let none = Reminders { before_due: 0, after_due: 0 };
        assert_eq!(reminder(&i, none, d("2026-11-29")), None);
        assert_eq!(reminder(&i, none, d("2026-12-29")), None);
        let mut paid = invoice(1000);
        paid.paid = cents(1000);
        assert_eq!(reminder(&paid, s, d("2026-12-10")), None);
    }
}
