//! The yearly tax certificate for childcare (« attestation fiscale pour frais de garde »,
//! article 200 quater B of the CGI): for a household and a year, each child under 6 on
//! 1 January of that year, and what the household **paid** that year for their care — payments
//! received in the year (as the tax administration asks, not what was invoiced), each payment
//! split over its invoice's lines in proportion, and of each line only the part the town says is
//! care (food excluded: `billing.tax_certificate.care_percent`). A credit note lowers what the
//! household pays, so it lowers the certificate, in proportion over the invoice's lines. A child
//! shared by two households is on each household's certificate for what that household paid.

use crate::billing::Invoice;
use crate::config::TaxCertificateSettings;
use crate::family::{Child, Family};
use crate::payment::Payment;
use crate::{Cents, ChildId, FamilyRef};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// Whether a child born on `birth` is under 6 on 1 January of `year` (born in the year counts).
pub fn eligible(birth: NaiveDate, year: i32) -> bool {
    let six_years_before = NaiveDate::from_ymd_opt(year - 6, 1, 1);
    six_years_before.is_some_and(|d| birth > d) && birth.year() <= year
}

/// One child on the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildCare {
    pub child: ChildId,
    /// « Léa Martin »
    pub name: String,
    pub birth_date: NaiveDate,
    /// Paid for the child's care in the year.
    pub amount: Cents,
}

/// A household's certificate for a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// « AF-2026-martin »: one per household and year.
    pub number: String,
    pub family: FamilyRef,
    pub year: i32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub children: Vec<ChildCare>,
    pub total: Cents,
    /// The total in words: « deux cent quarante-trois euros et cinquante centimes ».
    pub total_words: String,
}

/// The care part of `child`'s lines on `invoice`, in hundredths of a cent (percent × cents).
fn care_x100(invoice: &Invoice, child: &ChildId, settings: &TaxCertificateSettings) -> i64 {
    invoice
        .lines
        .iter()
        .filter(|l| &l.child == child)
        .map(|l| l.amount.get() * i64::from(settings.percent(&l.unit)))
        .sum::<i64>()
        // An aid is not the family's money: its care part is not deductible.
        - invoice
            .aids
            .iter()
            .filter(|a| &a.child == child)
            .map(|a| a.amount.get() * i64::from(settings.percent(&a.unit)))
            .sum::<i64>()
}

/// The household's certificate for `year`, from its children, its invoices (any month: a
/// December invoice paid in January counts in January's year) and its payments.
pub fn certificate(
    year: i32,
    family: &Family,
    children: &[Child],
    invoices: &[Invoice],
    payments: &[Payment],
    settings: &TaxCertificateSettings,
) -> Certificate {
    let eligible_children: Vec<&Child> =
        children.iter().filter(|c| family.children.contains(&c.id) && eligible(c.birth_date, year)).collect();
    let mut out: Vec<ChildCare> = eligible_children
        .iter()
        .map(|c| ChildCare {
            child: c.id.clone(),
            name: format!("{} {}", c.first_name, c.last_name),
            birth_date: c.birth_date,
            amount: Cents::ZERO,
        })
        .collect();
    let received = payments.iter().filter(|p| p.received_on.year() == year && p.rejected.is_none());
    for p in received {
        let Some(invoice) = invoices.iter().find(|i| i.number == p.invoice && i.family == family.reference) else {
            continue;
        };
        let total = invoice.total.get();
        if total <= 0 {
            continue;
        }
        for c in out.iter_mut() {
            let share = i128::from(p.amount.get()) * i128::from(care_x100(invoice, &c.child, settings))
                / (i128::from(total) * 100);
            c.amount += Cents::new(i64::try_from(share).unwrap_or(0)).unwrap_or(Cents::ZERO);
        }
    }
    out.retain(|c| c.amount > Cents::ZERO);
    let total = out.iter().fold(Cents::ZERO, |t, c| t + c.amount);
    Certificate {
        number: format!("AF-{year}-{}", family.reference),
        family: family.reference.clone(),
        year,
        from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        to: NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
        children: out,
        total,
        total_words: crate::words::euros(total),
    }
}

#[cfg(test)]
mod tests;
