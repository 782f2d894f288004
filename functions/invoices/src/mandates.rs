//! A family's SEPA mandate as billing reads it: the stored mandate, its view with the IBAN
//! masked, and how an invoice stands with it (due line, left to the direct debit or not).

use chrono::NaiveDate;
use domain::billing::Invoice;
use domain::config::Town;
use domain::debit::{self, Mandate, Sequence};
use domain::{FamilyRef, TownId};
use serde::Serialize;
use store::{Store, StoreError, keys};

pub async fn mandate_of(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Option<Mandate>, StoreError> {
    store.get(&keys::mandate(town, family)).await?.map(|i| i.to_value()).transpose()
}

/// A mandate as staff and the family see it: the IBAN masked.
#[derive(Debug, Serialize)]
pub struct MandateView {
    pub rum: String,
    pub account: String,
    pub bic: Option<String>,
    pub holder: String,
    pub signed_on: NaiveDate,
    pub sequence: Sequence,
}

impl MandateView {
    pub fn of(m: &Mandate) -> MandateView {
        MandateView {
            rum: m.rum.clone(),
            account: debit::masked(&m.iban),
            bic: m.bic.clone(),
            holder: m.holder.clone(),
            signed_on: m.signed_on,
            sequence: m.sequence,
        }
    }
}

/// How an invoice stands with the family's direct debit today (`None`: nothing to do with one):
/// planned on the town's day under a mandate, scheduled in the bank's file, collected, rejected.
pub fn standing(
    town: &Town,
    mandate: Option<&Mandate>,
    invoice: &Invoice,
    today: NaiveDate,
) -> Option<debit::Standing> {
    let day = town.config().billing.direct_debit.as_ref().map(|s| s.day);
    debit::standing(invoice, mandate, day, today)
}

/// The due line the family reads on the invoice's PDF and its publication email: « À payer avant
/// le … », or under a mandate the day it is debited (its due date), « Prélèvement prévu le … ».
pub fn due_line(town: &Town, mandate: Option<&Mandate>, invoice: &Invoice, today: NaiveDate) -> String {
    match standing(town, mandate, invoice, today) {
        Some(s) if !matches!(s, debit::Standing::Rejected { .. }) => s.label(mandate.map(|m| m.iban.as_str())),
        _ => format!("À payer avant le {}", domain::fr::date(invoice.due_on)),
    }
}

/// Whether the invoice is left to the direct debit (not payable online): under a mandate, unless
/// its debit was rejected.
pub fn by_debit(town: &Town, mandate: Option<&Mandate>, invoice: &Invoice) -> bool {
    town.config().billing.direct_debit.is_some() && mandate.is_some() && !invoice.debit.is_some_and(|d| d.rejected)
}
