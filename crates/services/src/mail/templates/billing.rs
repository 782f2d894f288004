//! The emails about invoices and payments: an invoice published, a payment received, a direct
//! debit announced or rejected, the payment reminders, a credit note, a contest refused. All link
//! to the family's invoices.

use super::{Content, Section, Summary, of_month};
use chrono::NaiveDate;
use domain::Cents;
use domain::payment::Step;

fn invoices(public_url: &str, button: &'static str) -> (String, &'static str) {
    (format!("{public_url}/factures.html"), button)
}

/// To each guardian of a family, when its month's invoice is published (at the town's sending
/// time).
#[derive(Debug, Clone)]
pub struct InvoicePublished {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// The first day of the month invoiced.
    pub month: NaiveDate,
    pub number: String,
    pub total: Cents,
    /// When it is to be paid, as the invoice says it: « À payer avant le 01/12/2026 », or the
    /// direct debit's day (`debits::due_line` in the invoices function).
    pub due: String,
}

impl InvoicePublished {
    pub fn render(&self) -> Content {
        let of = of_month(self.month);
        Summary {
            town: &self.town,
            subject: format!("Votre facture {of} est disponible"),
            first_name: &self.first_name,
            intro: format!(
                "Votre facture {of} est disponible dans votre Espace Famille\u{202f}: chaque ligne y indique les dates et le tarif appliqué, et vous pouvez la télécharger en PDF."
            ),
            sections: vec![Section::new(
                format!("Facture {of}"),
                vec![
                    format!("Facture n° {}", self.number),
                    format!("Montant\u{202f}: {}", self.total),
                    self.due.clone(),
                ],
            )],
            remarks: vec!["Une ligne vous semble fausse\u{202f}? Depuis «\u{202f}Mes factures\u{202f}», «\u{202f}Contester une ligne\u{202f}» la transmet au service.".into()],
            link: invoices(&self.public_url, "Voir ma facture"),
        }
        .render()
    }
}

/// To each guardian of a family, when a payment of an invoice is recorded (at the counter,
/// online, by transfer): its receipt.
#[derive(Debug, Clone)]
pub struct PaymentReceived {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub invoice: String,
    /// The receipt's number (« Q-2026-000001 »).
    pub receipt: String,
    pub amount: Cents,
    pub received_on: NaiveDate,
    /// How it was paid, in French (« Chèque »).
    pub method: String,
    /// What staff noted (« Chèque n° 0012345, Banque Populaire »).
    pub details: Option<String>,
    /// What the invoice still asks after this payment.
    pub left_to_pay: Cents,
}

impl PaymentReceived {
    pub fn render(&self) -> Content {
        let mut lines = vec![
            format!("Montant\u{202f}: {}", self.amount),
            format!("Reçu le\u{202f}: {}", domain::fr::date(self.received_on)),
            format!("Mode de paiement\u{202f}: {}", self.method),
        ];
        lines.extend(self.details.clone());
        let settled = if self.left_to_pay == Cents::ZERO {
            "Cette facture est soldée. Merci.".to_owned()
        } else {
            format!("Il reste {} à payer sur cette facture.", self.left_to_pay)
        };
        Summary {
            town: &self.town,
            subject: format!("Paiement reçu\u{202f}: facture n° {}", self.invoice),
            first_name: &self.first_name,
            intro: format!("La régie a bien reçu votre paiement pour la facture n° {}\u{202f}:", self.invoice),
            sections: vec![Section::new(format!("Quittance n° {}", self.receipt), lines)],
            remarks: vec![settled],
            link: invoices(&self.public_url, "Voir mes factures et la quittance"),
        }
        .render()
    }
}

/// To each guardian of a family under a direct debit mandate, when its invoice's debit is put in
/// the bank's file.
#[derive(Debug, Clone)]
pub struct DebitAnnounced {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub invoice: String,
    pub amount: Cents,
    pub on: NaiveDate,
    /// The account debited, masked (« FR76 •••• 0189 »).
    pub account: String,
}

impl DebitAnnounced {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: format!("Prélèvement de votre facture n° {}", self.invoice),
            first_name: &self.first_name,
            intro: format!(
                "Votre facture n° {} sera prélevée le {} sur le compte {}, selon votre mandat de prélèvement\u{202f}:",
                self.invoice,
                domain::fr::date(self.on),
                self.account
            ),
            sections: vec![Section::new(
                format!("Facture n° {}", self.invoice),
                vec![format!("Montant prélevé\u{202f}: {}", self.amount)],
            )],
            remarks: vec!["Vous n’avez rien à faire. Si votre banque rejette le prélèvement, la facture redevient à payer et vous en serez informé.".into()],
            link: invoices(&self.public_url, "Voir mes factures"),
        }
        .render()
    }
}

/// To each guardian of a family, when the bank rejects a direct debit: the invoice is to pay.
#[derive(Debug, Clone)]
pub struct DebitRejected {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub invoice: String,
    /// The amount the bank did not pay.
    pub amount: Cents,
    pub left_to_pay: Cents,
}

impl DebitRejected {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: format!("Prélèvement rejeté\u{202f}: facture n° {}", self.invoice),
            first_name: &self.first_name,
            intro: format!(
                "Votre banque a rejeté le prélèvement de {} pour la facture n° {}.",
                self.amount, self.invoice
            ),
            sections: vec![Section::new(
                format!("Facture n° {}", self.invoice),
                vec![format!("Reste à payer\u{202f}: {}", self.left_to_pay)],
            )],
            remarks: vec!["Vous pouvez la payer en ligne depuis «\u{202f}Mes factures\u{202f}» ou à la régie.".into()],
            link: invoices(&self.public_url, "Payer ma facture"),
        }
        .render()
    }
}

/// To each guardian of a family with an unpaid invoice not left to a direct debit, at each of
/// the town's reminder steps (before and after the due date).
#[derive(Debug, Clone)]
pub struct PaymentReminder {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub step: Step,
    pub invoice: String,
    /// The first day of the month invoiced.
    pub month: NaiveDate,
    pub due_on: NaiveDate,
    pub left_to_pay: Cents,
}

impl PaymentReminder {
    pub fn render(&self) -> Content {
        let of = of_month(self.month);
        let due = domain::fr::date(self.due_on);
        let number = &self.invoice;
        let (subject, intro, remark) = match self.step {
            Step::BeforeDue => (
                format!("Rappel\u{202f}: votre facture {of} est à payer avant le {due}"),
                format!("Votre facture n° {number} {of} est à payer avant le {due}."),
                "Si vous l’avez déjà réglée, ne tenez pas compte de ce message.",
            ),
            Step::AfterDue => (
                format!("Facture {of} impayée"),
                format!(
                    "Sauf erreur de notre part, votre facture n° {number} {of}, à payer avant le {due}, n’est pas réglée."
                ),
                "Sans règlement, elle pourra être transmise au Trésor public pour recouvrement. Si vous l’avez déjà réglée, ne tenez pas compte de ce message.",
            ),
        };
        Summary {
            town: &self.town,
            subject,
            first_name: &self.first_name,
            intro,
            sections: vec![Section::new(
                format!("Facture n° {number}"),
                vec![format!("Reste à payer\u{202f}: {}", self.left_to_pay)],
            )],
            remarks: vec![remark.into()],
            link: invoices(&self.public_url, "Payer ma facture"),
        }
        .render()
    }
}

/// Why a credit note was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditFor {
    /// The invoice is cancelled: the note is what was left of it.
    Cancellation,
    /// The family's contest of a line was accepted.
    Contest,
    /// Staff corrected the invoice (a correction, a régularisation).
    Correction,
}

/// To each guardian of a family, when a credit note is issued on one of its invoices.
#[derive(Debug, Clone)]
pub struct CreditNoteIssued {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub credit_for: CreditFor,
    /// The credit note's number (« AV-2026-000001 »).
    pub number: String,
    /// The invoice it corrects.
    pub corrects: String,
    /// Its lines: label and amount credited.
    pub lines: Vec<(String, Cents)>,
    pub total: Cents,
    pub reason: String,
    /// What becomes of the amount, as the invoice says it (« Sera déduit de votre prochaine
    /// facture »).
    pub destination: String,
}

impl CreditNoteIssued {
    pub fn render(&self) -> Content {
        let corrects = &self.corrects;
        let (subject, intro) = match self.credit_for {
            CreditFor::Cancellation => (
                "Annulation de votre facture",
                format!("Votre facture n° {corrects} est annulée. Un avoir de son montant restant est émis\u{202f}:"),
            ),
            CreditFor::Contest => (
                "Votre contestation est acceptée",
                format!(
                    "Le service a accepté votre contestation de la facture n° {corrects}. Un avoir est émis\u{202f}:"
                ),
            ),
            CreditFor::Correction => (
                "Un avoir sur votre facture",
                format!("Le service a corrigé votre facture n° {corrects} par un avoir\u{202f}:"),
            ),
        };
        let mut lines: Vec<String> =
            self.lines.iter().map(|(label, amount)| format!("{label}\u{202f}: −{amount}")).collect();
        lines.push(format!("Total de l’avoir {}\u{202f}: −{}", self.number, self.total));
        Summary {
            town: &self.town,
            subject: subject.into(),
            first_name: &self.first_name,
            intro,
            sections: vec![Section::new(format!("Avoir n° {}", self.number), lines)],
            remarks: vec![format!("Motif\u{202f}: {}", self.reason), format!("{}.", self.destination)],
            link: invoices(&self.public_url, "Voir mes factures"),
        }
        .render()
    }
}

/// To each guardian of a family, when staff refuse its contest of an invoice line.
#[derive(Debug, Clone)]
pub struct ContestRefused {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub invoice: String,
    /// The contested line, as the invoice reads.
    pub line: String,
    pub reason: String,
}

impl ContestRefused {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: "Réponse à votre contestation".into(),
            first_name: &self.first_name,
            intro: format!("Le service a examiné votre contestation de la facture n° {}\u{202f}:", self.invoice),
            sections: vec![Section::new("Ligne contestée", vec![self.line.clone()])],
            remarks: vec![
                format!("Elle n’est pas retenue. Motif\u{202f}: {}", self.reason),
                "Vous pouvez encore saisir le tribunal administratif dans les deux mois suivant la réception de la facture (voir la facture).".into(),
            ],
            link: invoices(&self.public_url, "Voir mes factures"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;
    use domain::testkit::d;

    const TOWN: &str = "Villeneuve-les-Tilleuls";
    const URL: &str = "https://famille.villeneuve-les-tilleuls.fr";

    fn cents(n: i64) -> Cents {
        Cents::new(n).unwrap_or(Cents::ZERO)
    }

    #[test]
    fn invoice_published_snapshot() {
        let c = InvoicePublished {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            month: d(2026, 11, 1),
            number: "2026-000003".into(),
            total: cents(4_250),
            due: "À payer avant le 15/12/2026".into(),
        };
        insta::assert_snapshot!(whole(&c.render()));
        insta::assert_snapshot!("invoice_published_html", c.render().html);
    }

    #[test]
    fn a_month_starting_with_a_vowel_is_elided() {
        let c = InvoicePublished {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            month: d(2026, 10, 1),
            number: "2026-000001".into(),
            total: cents(123_450),
            due: "Prélèvement prévu le 15/11/2026 sur le compte FR76 •••• 0189".into(),
        }
        .render();
        assert_eq!(c.subject, "Votre facture d’octobre 2026 est disponible – Villeneuve-les-Tilleuls");
        assert!(c.text.contains("- Montant\u{202f}: 1\u{202f}234,50\u{a0}€\n"), "{}", c.text);
        assert!(c.text.contains("- Prélèvement prévu le 15/11/2026 sur le compte FR76 •••• 0189\n"), "{}", c.text);
    }

    fn received(left_to_pay: Cents, details: Option<&str>) -> PaymentReceived {
        PaymentReceived {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            invoice: "2026-000003".into(),
            receipt: "Q-2026-000007".into(),
            amount: cents(2_000),
            received_on: d(2026, 12, 4),
            method: "Chèque".into(),
            details: details.map(str::to_owned),
            left_to_pay,
        }
    }

    #[test]
    fn payment_received_snapshots() {
        insta::assert_snapshot!(
            "payment_received_in_part",
            whole(&received(cents(2_250), Some("Chèque n° 0012345, Banque Populaire")).render())
        );
        let mut online = received(Cents::ZERO, None);
        online.method = "Carte bancaire en ligne (PayFiP)".into();
        insta::assert_snapshot!("payment_received_settled", whole(&online.render()));
    }

    #[test]
    fn a_receipt_says_whether_the_invoice_is_settled() {
        let settled = received(Cents::ZERO, None).render().text;
        assert!(settled.contains("\nCette facture est soldée. Merci.\n") && !settled.contains("Il reste"));
        let part = received(cents(5), None).render().text;
        assert!(part.contains("\nIl reste 0,05\u{a0}€ à payer sur cette facture.\n"), "{part}");
    }

    #[test]
    fn debit_announced_snapshot() {
        let c = DebitAnnounced {
            town: TOWN.into(),
            first_name: "Claire".into(),
            public_url: URL.into(),
            invoice: "2026-000004".into(),
            amount: cents(300),
            on: d(2026, 12, 15),
            account: "FR76 •••• 0189".into(),
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    #[test]
    fn debit_rejected_snapshot() {
        let c = DebitRejected {
            town: TOWN.into(),
            first_name: "Claire".into(),
            public_url: URL.into(),
            invoice: "2026-000004".into(),
            amount: cents(300),
            left_to_pay: cents(300),
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    fn reminder(step: Step) -> PaymentReminder {
        PaymentReminder {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            step,
            invoice: "2026-000003".into(),
            month: d(2026, 11, 1),
            due_on: d(2026, 12, 15),
            left_to_pay: cents(2_250),
        }
    }

    #[test]
    fn payment_reminder_snapshots() {
        insta::assert_snapshot!("payment_reminder_before_due", whole(&reminder(Step::BeforeDue).render()));
        insta::assert_snapshot!("payment_reminder_after_due", whole(&reminder(Step::AfterDue).render()));
    }

    fn note(credit_for: CreditFor) -> CreditNoteIssued {
        CreditNoteIssued {
            town: TOWN.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            credit_for,
            number: "AV-2026-000001".into(),
            corrects: "2026-000003".into(),
            lines: vec![
                ("Cantine – Léa – 12/11/2026".into(), cents(250)),
                ("Périscolaire soir – Léa – 12/11/2026".into(), cents(180)),
            ],
            total: cents(430),
            reason: "Repas fourni par l’école le jour de la sortie scolaire".into(),
            destination: "Sera déduit de votre prochaine facture".into(),
        }
    }

    #[test]
    fn credit_note_snapshots() {
        insta::assert_snapshot!("credit_note_correction", whole(&note(CreditFor::Correction).render()));
        insta::assert_snapshot!("credit_note_contest", whole(&note(CreditFor::Contest).render()));
        insta::assert_snapshot!("credit_note_cancellation", whole(&note(CreditFor::Cancellation).render()));
    }

    #[test]
    fn contest_refused_snapshot() {
        let c = ContestRefused {
            town: TOWN.into(),
            first_name: "Claire".into(),
            public_url: URL.into(),
            invoice: "2026-000004".into(),
            line: "Cantine – Jules – 3 repas – 7,50\u{a0}€".into(),
            reason: "Les repas n’ont pas été annulés dans les délais.".into(),
        };
        insta::assert_snapshot!(whole(&c.render()));
    }
}
