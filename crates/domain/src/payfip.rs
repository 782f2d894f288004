//! Online payment through PayFiP (DGFiP), web-service mode: the rules of a payment request and
//! of reading PayFiP's answer (docs/payments.md). The portal asks PayFiP to create an operation
//! (`creerPaiementSecurise`), sends the family to PayFiP's page with the operation's `idOp`,
//! and records a payment only once it has itself asked PayFiP for the result
//! (`recupererDetailPaiementSecurise`) and the answer matches the invoice: the browser's return
//! and the notification only say « ask now ».

use super::{Cents, Month};
pub use crate::config::{PayfipSettings as Settings, Saisie};
pub use crate::invoice::EXPIRY_MINUTES;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Amounts PayFiP accepts, in cents: 1 € to 100,000 €.
pub const MIN_AMOUNT: i64 = 100;
pub const MAX_AMOUNT: i64 = 10_000_000;
/// `refdet`: 6 to 30 letters and digits.
pub const REFDET_LEN: std::ops::RangeInclusive<usize> = 6..=30;
/// `objet`: at most 100 characters.
pub const OBJET_MAX: usize = 100;
/// `mel`: 6 to 80 characters.
pub const MEL_LEN: std::ops::RangeInclusive<usize> = 6..=80;

/// The arguments of `creerPaiementSecurise`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    pub numcli: String,
    /// The year of the invoice's issue.
    pub exer: i32,
    /// The invoice's reference: its number without the dash.
    pub refdet: String,
    /// In cents.
    pub montant: i64,
    pub mel: String,
    pub objet: String,
    pub urlnotif: String,
    pub urlredirect: String,
    pub saisie: Saisie,
}

/// Why a payment cannot go to PayFiP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("amount under 1 €")]
    TooSmall,
    #[error("amount over 100,000 €")]
    TooLarge,
    #[error("the guardian's email does not fit PayFiP")]
    Email,
    #[error("the reference does not fit PayFiP")]
    Reference,
}

impl Refused {
    pub fn code(&self) -> &'static str {
        match self {
            Refused::TooSmall => "payfip_amount_too_small",
            Refused::TooLarge => "payfip_amount_too_large",
            Refused::Email => "payfip_email",
            Refused::Reference => "payfip_reference",
        }
    }

    pub fn french(&self) -> &'static str {
        match self {
            Refused::TooSmall => {
                "Le paiement en ligne accepte les montants à partir de 1 € : réglez ce solde à la régie."
            }
            Refused::TooLarge => "Le paiement en ligne accepte au plus 100 000 € : réglez cette facture à la régie.",
            Refused::Email => {
                "Votre adresse e-mail ne convient pas au paiement en ligne : réglez cette facture à la régie."
            }
            Refused::Reference => "Cette facture ne peut pas être payée en ligne : réglez-la à la régie.",
        }
    }
}

/// The invoice number as PayFiP's `refdet`: letters and digits only (`2026-000002` →
/// `2026000002`).
pub fn refdet(invoice_number: &str) -> String {
    invoice_number.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// The operation's label as PayFiP shows it: ASCII letters, digits, spaces and a few signs,
/// accents removed, at most [`OBJET_MAX`] characters.
pub fn objet(text: &str) -> String {
    let folded: String = text
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'À' | 'Â' | 'Ä' => 'A',
            'ç' => 'c',
            'Ç' => 'C',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'î' | 'ï' => 'i',
            'Î' | 'Ï' => 'I',
            'ô' | 'ö' => 'o',
            'Ô' | 'Ö' => 'O',
            'ù' | 'û' | 'ü' => 'u',
            'Ù' | 'Û' | 'Ü' => 'U',
            'ÿ' => 'y',
            c if c.is_ascii_alphanumeric() || " -'/.".contains(c) => c,
            _ => ' ',
        })
        .collect();
    let words: Vec<&str> = folded.split_whitespace().collect();
    words.join(" ").chars().take(OBJET_MAX).collect()
}

/// The request for paying `amount` of invoice `number` (issued in `exer`) by the guardian `mel`.
#[allow(clippy::too_many_arguments)]
pub fn creation(
    settings: &Settings,
    number: &str,
    exer: i32,
    amount: Cents,
    mel: &str,
    label: &str,
    urlnotif: String,
    urlredirect: String,
) -> Result<Creation, Refused> {
    if amount.get() < MIN_AMOUNT {
        return Err(Refused::TooSmall);
    }
    if amount.get() > MAX_AMOUNT {
        return Err(Refused::TooLarge);
    }
    if !MEL_LEN.contains(&mel.len()) || !mel.is_ascii() {
        return Err(Refused::Email);
    }
    let refdet = refdet(number);
    if !REFDET_LEN.contains(&refdet.len()) {
        return Err(Refused::Reference);
    }
    Ok(Creation {
        numcli: settings.numcli.clone(),
        exer,
        refdet,
        montant: amount.get(),
        mel: mel.to_owned(),
        objet: objet(label),
        urlnotif,
        urlredirect,
        saisie: settings.saisie,
    })
}

/// What `recupererDetailPaiementSecurise` answered: the operation's details, or PayFiP's
/// functional error code (`P5`: no result yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Detail(Box<Detail>),
    Error { code: String, label: String },
}

/// The operation's details as PayFiP returns them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Detail {
    pub idop: String,
    pub numcli: String,
    pub exer: String,
    pub refdet: String,
    /// In cents, as PayFiP wrote it.
    pub montant: String,
    pub mel: String,
    pub saisie: String,
    /// `P` or `V`: paid; `A`: cancelled by the payer; `R` or `Z`: refused.
    pub resultrans: String,
    /// `JJMMAAAA` and `HHMM`.
    pub dattrans: String,
    pub heurtrans: String,
    /// The card authorisation number.
    pub numauto: String,
}

/// An operation the portal asked PayFiP to create, as stored until it is settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub idop: String,
    pub family: super::FamilyRef,
    /// The invoice's month and number.
    pub month: Month,
    pub invoice: String,
    pub refdet: String,
    pub exer: i32,
    pub numcli: String,
    pub amount: Cents,
    /// The guardian who started it.
    pub by: String,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub state: State,
}

/// Where an operation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// PayFiP has not answered yet.
    Pending,
    /// Paid, recorded as the receipt `receipt`.
    Paid { receipt: String, at: DateTime<Utc> },
    /// Cancelled by the payer, refused by the bank, or abandoned (expired).
    Closed { outcome: Outcome, at: DateTime<Utc> },
    /// PayFiP says paid but the details do not match the invoice: staff look, nothing recorded.
    Anomaly { reason: String, detail: Box<Detail>, at: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Cancelled,
    Refused,
    Expired,
}

impl Outcome {
    pub fn french(self) -> &'static str {
        match self {
            Outcome::Cancelled => "Paiement abandonné",
            Outcome::Refused => "Paiement refusé",
            Outcome::Expired => "Paiement non abouti (délai dépassé)",
        }
    }
}

/// What to do with an operation after asking PayFiP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Record the payment of the operation's amount; `numauto` goes on the receipt.
    Pay {
        numauto: String,
    },
    Close(Outcome),
    Anomaly(String),
    /// No result yet: ask again later.
    Wait,
}

/// The verdict on an invoice as it stands: a payment PayFiP confirms on an invoice cancelled
/// meanwhile is not recorded on it (the money would sit on a cancelled invoice, a refund owed
/// that nobody sees) but kept as an anomaly, for the régie to refund. Cancelling waits for open
/// operations (docs/payments.md), so this is the last guard, not the rule.
pub fn on_invoice(verdict: Verdict, invoice: &super::invoice::Invoice) -> Verdict {
    match verdict {
        Verdict::Pay { .. } if invoice.cancelled.is_some() => {
            Verdict::Anomaly(format!("facture {} annulée : paiement à rembourser", invoice.number))
        }
        v => v,
    }
}

/// PayFiP's error code for an operation with no result yet.
pub const IN_PROGRESS: &str = "P5";

/// Reads PayFiP's answer about `op` at `now`. Paid only if PayFiP says so for this very operation,
/// régie, year, reference and amount; any difference is an anomaly, never a payment.
pub fn verdict(op: &Operation, answer: &Answer, now: DateTime<Utc>) -> Verdict {
    let expired = (now - op.created_at).num_minutes() >= EXPIRY_MINUTES;
    let detail = match answer {
        Answer::Detail(d) => d,
        Answer::Error { .. } if expired => return Verdict::Close(Outcome::Expired),
        Answer::Error { .. } => return Verdict::Wait,
    };
    match detail.resultrans.as_str() {
        "P" | "V" => {}
        "A" => return Verdict::Close(Outcome::Cancelled),
        "R" | "Z" => return Verdict::Close(Outcome::Refused),
        _ if expired => return Verdict::Close(Outcome::Expired),
        _ => return Verdict::Wait,
    }
    let mismatch = if detail.idop != op.idop {
        Some(format!("opération {} au lieu de {}", detail.idop, op.idop))
    } else if detail.numcli != op.numcli {
        Some(format!("régie {} au lieu de {}", detail.numcli, op.numcli))
    } else if detail.refdet != op.refdet {
        Some(format!("référence {} au lieu de {}", detail.refdet, op.refdet))
    } else if detail.exer != op.exer.to_string() {
        Some(format!("exercice {} au lieu de {}", detail.exer, op.exer))
    } else if detail.montant.trim().parse::<i64>().ok() != Some(op.amount.get()) {
        Some(format!("montant de {} centimes au lieu de {}", detail.montant, op.amount.get()))
    } else {
        None
    };
    match mismatch {
        Some(reason) => Verdict::Anomaly(reason),
        None => Verdict::Pay { numauto: detail.numauto.clone() },
    }
}

impl crate::Refusal for Refused {
    fn code(&self) -> &'static str {
        Refused::code(self)
    }
    fn french(&self) -> String {
        Refused::french(self).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FamilyRef;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn settings() -> Settings {
        Settings { numcli: "012345".into(), saisie: Saisie::Test }
    }

    fn op() -> Operation {
        Operation {
            idop: "abc123".into(),
            family: FamilyRef::parse("martin").unwrap(),
            month: crate::Month::parse("2026-10").unwrap(),
            invoice: "2026-000002".into(),
            refdet: "2026000002".into(),
            exer: 2026,
            numcli: "012345".into(),
            amount: Cents::new(1000).unwrap(),
            by: "sophie.martin@exemple.fr".into(),
            created_at: at("2026-11-26T09:00:00Z"),
            state: State::Pending,
        }
    }

    fn paid() -> Detail {
        Detail {
            idop: "abc123".into(),
            numcli: "012345".into(),
            exer: "2026".into(),
            refdet: "2026000002".into(),
            montant: "1000".into(),
            resultrans: "P".into(),
            numauto: "123456".into(),
            ..Detail::default()
        }
    }

    #[test]
    fn a_request_within_payfips_limits() {
        let c = |cents: i64, mel: &str| {
            creation(&settings(), "2026-000002", 2026, Cents::new(cents).unwrap(), mel, "x", "n".into(), "r".into())
        };
        assert_eq!(c(99, "sophie@exemple.fr"), Err(Refused::TooSmall));
        assert_eq!(c(10_000_001, "sophie@exemple.fr"), Err(Refused::TooLarge));
        assert_eq!(c(100, "a@b.c"), Err(Refused::Email));
        let ok = c(10_000_000, "sophie@exemple.fr").unwrap();
        assert_eq!((ok.refdet.as_str(), ok.montant, ok.saisie.code()), ("2026000002", 10_000_000, "T"));
        let short = creation(
            &settings(),
            "26-1",
            2026,
            Cents::new(500).unwrap(),
            "sophie@exemple.fr",
            "x",
            "n".into(),
            "r".into(),
        );
        assert_eq!(short, Err(Refused::Reference));
    }

    #[test]
    fn objet_is_plain_ascii_within_100_characters() {
        assert_eq!(
            objet("Facture n° 2026-000002 – Octobre 2026, Léa & Noé"),
            "Facture n 2026-000002 Octobre 2026 Lea Noe"
        );
        assert_eq!(objet(&"é".repeat(150)).len(), OBJET_MAX);
    }

    #[test]
    fn paid_only_when_everything_matches() {
        let now = at("2026-11-26T09:05:00Z");
        assert_eq!(verdict(&op(), &Answer::Detail(Box::new(paid())), now), Verdict::Pay { numauto: "123456".into() });
        let v = Detail { resultrans: "V".into(), ..paid() };
        assert!(matches!(verdict(&op(), &Answer::Detail(Box::new(v)), now), Verdict::Pay { .. }));
        for wrong in [
            Detail { montant: "999".into(), ..paid() },
            Detail { refdet: "2026000003".into(), ..paid() },
            Detail { numcli: "999999".into(), ..paid() },
            Detail { exer: "2025".into(), ..paid() },
            Detail { idop: "other".into(), ..paid() },
        ] {
            assert!(matches!(verdict(&op(), &Answer::Detail(Box::new(wrong)), now), Verdict::Anomaly(_)));
        }
    }

    #[test]
    fn cancelled_refused_waiting_and_expired() {
        let now = at("2026-11-26T09:05:00Z");
        let with = |r: &str| Answer::Detail(Box::new(Detail { resultrans: r.into(), ..paid() }));
        assert_eq!(verdict(&op(), &with("A"), now), Verdict::Close(Outcome::Cancelled));
        assert_eq!(verdict(&op(), &with("R"), now), Verdict::Close(Outcome::Refused));
        assert_eq!(verdict(&op(), &with("Z"), now), Verdict::Close(Outcome::Refused));
        let waiting = Answer::Error { code: IN_PROGRESS.into(), label: "en cours".into() };
        assert_eq!(verdict(&op(), &waiting, now), Verdict::Wait);
        let late = at("2026-11-26T10:00:00Z");
        assert_eq!(verdict(&op(), &waiting, late), Verdict::Close(Outcome::Expired));
        // Paid late is still paid: the money was taken.
        assert!(matches!(verdict(&op(), &Answer::Detail(Box::new(paid())), late), Verdict::Pay { .. }));
    }

    #[test]
    fn a_payment_on_an_invoice_cancelled_meanwhile_is_an_anomaly_to_refund() {
        let bill = crate::billing::Bill {
            family: FamilyRef::parse("martin").unwrap(),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::new(1000).unwrap(),
            as_billed: None,
        };
        let mut invoice = crate::billing::Invoice::issue(
            bill,
            crate::Month::parse("2026-10").unwrap(),
            "2026-000002".into(),
            "2026-11-01".parse().unwrap(),
            "mairie@example.fr",
        );
        let pay = verdict(&op(), &Answer::Detail(Box::new(paid())), at("2026-11-26T09:05:00Z"));
        assert!(matches!(on_invoice(pay.clone(), &invoice), Verdict::Pay { .. }));
        invoice.cancelled = Some(crate::credit::Cancellation {
            reason: "Erreur".into(),
            by: "mairie@example.fr".into(),
            at: at("2026-11-26T09:01:00Z"),
            credit_note: "AV-2026-000001".into(),
        });
        assert_eq!(
            on_invoice(pay, &invoice),
            Verdict::Anomaly("facture 2026-000002 annulée : paiement à rembourser".into())
        );
        assert_eq!(on_invoice(Verdict::Wait, &invoice), Verdict::Wait);
    }
}
