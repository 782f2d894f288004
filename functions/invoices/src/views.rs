//! What billing's pages read, shared by the family's and staff's routes and the PDF: an invoice's
//! summary with its status, and a credit note with where its money went.

use crate::{AppState, corrections, mandates};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Cents;
use domain::billing::Invoice;
use domain::credit::{self, CreditNote, Status};
use domain::payment;
use domain::regularisation;
use edge::http::Problem;
use serde::Serialize;
use store::regularisations;

#[derive(Serialize)]
pub struct InvoiceSummary {
    pub number: String,
    pub month: domain::Month,
    pub label: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub total: Cents,
    pub credited: Cents,
    pub paid: Cents,
    pub left_to_pay: Cents,
    pub status: Status,
    /// « À payer », « En retard », « Payée », « Soldée par avoir », « Annulée », « Transmise au
    /// Trésor public »
    pub status_label: &'static str,
    /// A PayFiP payment started and not answered yet (« Paiement en cours »).
    pub payment_in_progress: bool,
    /// Whether « Payer en ligne » is offered: something left to pay, the town takes PayFiP, no
    /// payment in progress, not left to a direct debit.
    pub payable_online: bool,
    /// « Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189 » under a mandate, « 3,00 €
    /// prélevés le … » once collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<String>,
    /// « Titre émis le 05/12/2026 » once sent to Hélios in a PES file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub titre: Option<String>,
}

impl InvoiceSummary {
    pub fn of(i: &Invoice, today: NaiveDate, now: DateTime<Utc>, online: bool) -> InvoiceSummary {
        let status = credit::status(i, today);
        let in_progress = i.online.as_ref().is_some_and(|o| o.in_progress(now));
        InvoiceSummary {
            number: i.number.clone(),
            month: i.month,
            label: i.month.french(),
            issued_on: i.issued_on,
            due_on: i.due_on,
            total: i.total,
            credited: i.credited,
            paid: i.paid,
            left_to_pay: payment::left_to_pay(i),
            status,
            status_label: status.french(),
            payment_in_progress: in_progress,
            payable_online: online && !in_progress && payment::payable(i).is_ok(),
            direct_debit: None,
            titre: i.titre.as_ref().map(domain::pes::titre_label),
        }
    }

    /// The summary of an invoice of a family with `mandate`: its debit said, due on its
    /// collection date, not payable online.
    pub fn with_mandate(
        mut self,
        town: &domain::config::Town,
        mandate: Option<&domain::debit::Mandate>,
        i: &Invoice,
        today: NaiveDate,
    ) -> InvoiceSummary {
        if let Some(standing) = mandates::standing(town, mandate, i, today) {
            self.direct_debit = Some(standing.label(mandate.map(|m| m.iban.as_str())));
            self.due_on = standing.due_on(i);
            self.status = credit::status_due(i, self.due_on, today);
            self.status_label = self.status.french();
        }
        if mandates::by_debit(town, mandate, i) {
            self.payable_online = false;
        }
        self
    }
}

/// Whether the town takes payments online (its PayFiP account, and the portal's gateway).
pub fn online_offered(state: &AppState, town: &domain::config::Town) -> bool {
    state.payfip.is_some() && town.config().billing.payfip.is_some()
}

/// A credit note with where its money went (« Déduit du reste à payer de la facture … », « Sera
/// déduit de votre prochaine facture », « Déduit de la facture … », « Remboursé le … »).
#[derive(Serialize)]
pub struct CreditNoteView {
    #[serde(flatten)]
    pub note: CreditNote,
    pub destination: String,
}

/// The family's credit notes `notes`, each with where its money went.
pub async fn with_destinations(
    store: &store::Store,
    town: &domain::TownId,
    family: &domain::FamilyRef,
    notes: Vec<CreditNote>,
) -> Result<Vec<CreditNoteView>, Problem> {
    let carried = regularisations::of_family(store, town, family, "AV-").await?;
    Ok(notes
        .into_iter()
        .map(|note| {
            let destination = regularisation::destination(&note, carried.iter().find(|r| r.id == note.number));
            CreditNoteView { note, destination }
        })
        .collect())
}

/// The credit notes of one invoice, each with where its money went.
pub async fn credit_notes_on(
    store: &store::Store,
    town: &domain::TownId,
    i: &Invoice,
) -> Result<Vec<CreditNoteView>, Problem> {
    let notes = corrections::credit_notes_of(store, town, &i.family, 200).await?;
    with_destinations(store, town, &i.family, notes.into_iter().filter(|n| n.corrects == i.number).collect()).await
}
