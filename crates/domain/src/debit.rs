//! SEPA direct debit (« prélèvement », docs/payments.md): a family's mandate as staff enter it
//! from the signed paper form, the town's creditor settings, the collection date of an invoice,
//! and what the monthly pain.008 file says of each debit. IBANs, BICs and the creditor identifier
//! are checked by the `sepa` crate (ISO 13616 checksum and national formats, ISO 9362, EPC AT-02).

use super::Cents;
use super::invoice::Invoice;
pub use crate::config::{DirectDebitSettings as Settings, TRANSLITERATION};
pub use crate::invoice::{Mark, scheduled};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days between the pre-notification (the invoice's publication) and the debit: the SEPA
/// rulebook's default of 14 calendar days.
pub const PRE_NOTIFICATION_DAYS: u64 = 14;

/// The debit's sequence: the first under a mandate, or a recurring one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sequence {
    Frst,
    Rcur,
}

impl Sequence {
    /// `FRST`, `RCUR`, as the file and the receipt write it.
    pub fn code(self) -> &'static str {
        match self {
            Sequence::Frst => "FRST",
            Sequence::Rcur => "RCUR",
        }
    }
}

/// A family's mandate, entered by staff from the signed form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    /// The mandate's unique reference (« RUM »).
    pub rum: String,
    /// Electronic form, no spaces: `FR7630006000011234567890189`.
    pub iban: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The account holder, as signed.
    pub holder: String,
    pub signed_on: NaiveDate,
    /// The next debit's sequence: FRST until one was collected, again after a rejected FRST.
    pub sequence: Sequence,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A mandate as staff type it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandateAsked {
    pub rum: String,
    pub iban: String,
    pub bic: Option<String>,
    pub holder: String,
    pub signed_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MandateRefused {
    #[error("RUM")]
    Rum,
    #[error("IBAN: {0}")]
    Iban(String),
    #[error("not a SEPA country")]
    NotSepa,
    #[error("BIC: {0}")]
    Bic(String),
    #[error("holder")]
    Holder,
    #[error("signed in the future")]
    SignedInFuture,
}

impl MandateRefused {
    pub fn code(&self) -> &'static str {
        match self {
            MandateRefused::Rum => "invalid_rum",
            MandateRefused::Iban(_) | MandateRefused::NotSepa => "invalid_iban",
            MandateRefused::Bic(_) => "invalid_bic",
            MandateRefused::Holder => "invalid_holder",
            MandateRefused::SignedInFuture => "signed_in_future",
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            MandateRefused::Rum => "rum",
            MandateRefused::Iban(_) | MandateRefused::NotSepa => "iban",
            MandateRefused::Bic(_) => "bic",
            MandateRefused::Holder => "holder",
            MandateRefused::SignedInFuture => "signed_on",
        }
    }

    pub fn french(&self) -> String {
        match self {
            MandateRefused::Rum => "La référence unique du mandat (RUM) fait de 1 à 35 caractères : lettres, chiffres, espaces et + ? / - : ( ) . , '.".into(),
            MandateRefused::Iban(e) => format!("Cet IBAN n'est pas valide ({e}) : vérifiez-le sur le RIB."),
            MandateRefused::NotSepa => "Ce compte n'est pas dans la zone SEPA : il ne peut pas être prélevé.".into(),
            MandateRefused::Bic(e) => format!("Ce BIC n'est pas valide ({e})."),
            MandateRefused::Holder => "Le titulaire du compte fait de 1 à 70 caractères.".into(),
            MandateRefused::SignedInFuture => "La date de signature ne peut pas être dans le futur.".into(),
        }
    }
}

/// Checks a mandate as typed: the RUM's characters, the IBAN (checksum, national format, SEPA
/// zone), the BIC, the holder, the signature date. A new mandate starts with FRST.
pub fn mandate(
    asked: &MandateAsked,
    today: NaiveDate,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Mandate, MandateRefused> {
    let rum = asked.rum.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || " +?/-:().,'".contains(c);
    if rum.is_empty() || rum.len() > 35 || !rum.chars().all(allowed) {
        return Err(MandateRefused::Rum);
    }
    let iban = sepa::validate_iban(&asked.iban).map_err(|e| MandateRefused::Iban(e.to_string()))?;
    if !iban.is_sepa() {
        return Err(MandateRefused::NotSepa);
    }
    let bic = match asked.bic.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => Some(sepa::validate_bic(b).map_err(|e| MandateRefused::Bic(e.to_string()))?.to_string()),
        None => None,
    };
    let holder = asked.holder.trim();
    // As the bank's file writes it (EPC transliteration: « Hélène » → « Helene »).
    let written = sepa::transliterate(holder, TRANSLITERATION);
    if holder.is_empty() || written.chars().count() > 70 {
        return Err(MandateRefused::Holder);
    }
    if asked.signed_on > today {
        return Err(MandateRefused::SignedInFuture);
    }
    Ok(Mandate {
        rum: rum.to_owned(),
        iban: iban.as_str().to_owned(),
        bic,
        holder: holder.to_owned(),
        signed_on: asked.signed_on,
        sequence: Sequence::Frst,
        recorded_by: by.to_owned(),
        recorded_at: now,
    })
}

/// « FR76 •••• 0189 »: the country and check digits, and the last four characters.
pub fn masked(iban: &str) -> String {
    let tail: String = iban.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{} •••• {tail}", iban.chars().take(4).collect::<String>())
}

/// Days between the file's making and its collection date: the bank needs the file before the
/// day (one TARGET business day for SDD Core); two calendar days leave room for a weekend's edge.
pub const LEAD_DAYS: u64 = 2;

/// When an invoice issued on `issued_on` is debited, its debits run on `today`: the town's day of
/// the month, at least [`PRE_NOTIFICATION_DAYS`] after the issue (the publication's email is the
/// pre-notification) and [`LEAD_DAYS`] after today.
pub fn collection_date(issued_on: NaiveDate, today: NaiveDate, day: u32) -> NaiveDate {
    let notified = issued_on.checked_add_days(chrono::Days::new(PRE_NOTIFICATION_DAYS)).unwrap_or(issued_on);
    let lead = today.checked_add_days(chrono::Days::new(LEAD_DAYS)).unwrap_or(today);
    let earliest = notified.max(lead);
    let in_month = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), day.clamp(1, 28));
    match in_month(earliest) {
        Some(d) if d >= earliest => d,
        _ => earliest.checked_add_months(chrono::Months::new(1)).and_then(in_month).unwrap_or(earliest),
    }
}

/// Where an invoice stands with the family's direct debit on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Under a mandate, not in a file yet: the day it would be debited if the debits ran today.
    Planned { on: NaiveDate },
    /// In the month's file, its day not come: « Prélèvement prévu le … », not received.
    Scheduled { on: NaiveDate, amount: Cents },
    /// Its day has come without a rejection: paid.
    Collected { on: NaiveDate, amount: Cents },
    /// The family's bank returned it: to pay again, by its own due date.
    Rejected { on: NaiveDate },
}

/// How `invoice` stands with its debit on `today`: from its debit's mark once debited, else
/// planned on the town's `day` when the family has a mandate and something is left to pay.
/// `None`: nothing to do with a direct debit.
pub fn standing(invoice: &Invoice, mandate: Option<&Mandate>, day: Option<u32>, today: NaiveDate) -> Option<Standing> {
    match invoice.debit {
        Some(m) if m.rejected => Some(Standing::Rejected { on: m.on }),
        Some(m) if m.on > today => Some(Standing::Scheduled { on: m.on, amount: m.amount }),
        Some(m) => Some(Standing::Collected { on: m.on, amount: m.amount }),
        None => {
            let day = day?;
            (mandate.is_some() && super::payment::payable(invoice).is_ok())
                .then(|| Standing::Planned { on: collection_date(invoice.issued_on, today, day) })
        }
    }
}

impl Standing {
    /// The due date the family reads: the collection date under a mandate (never after it), the
    /// invoice's own once the debit was rejected.
    pub fn due_on(self, invoice: &Invoice) -> NaiveDate {
        match self {
            Standing::Planned { on } | Standing::Scheduled { on, .. } | Standing::Collected { on, .. } => on,
            Standing::Rejected { .. } => invoice.due_on,
        }
    }

    /// « Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189 », « 3,00 € prélevés le … »
    /// once collected, « Prélèvement rejeté par la banque : … ». `iban`: the mandate's, if any.
    pub fn label(self, iban: Option<&str>) -> String {
        let account = iban.map(|i| format!(" sur le compte {}", masked(i))).unwrap_or_default();
        match self {
            Standing::Planned { on } | Standing::Scheduled { on, .. } => {
                format!("Prélèvement prévu le {}{account}", crate::fr::date(on))
            }
            Standing::Collected { on, amount } => format!("{amount} prélevés le {}{account}", crate::fr::date(on)),
            Standing::Rejected { .. } => "Prélèvement rejeté par la banque : à payer en ligne ou à la régie".into(),
        }
    }
}

/// One debit of the monthly file, as recorded when the run was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debit {
    pub family: super::FamilyRef,
    pub invoice: String,
    /// The receipt (payment) it was recorded as.
    pub payment: String,
    pub amount: super::Cents,
    pub on: NaiveDate,
    pub sequence: Sequence,
    pub rum: String,
    pub iban: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    pub holder: String,
    pub signed_on: NaiveDate,
    pub at: DateTime<Utc>,
}

impl crate::Refusal for MandateRefused {
    fn code(&self) -> &'static str {
        MandateRefused::code(self)
    }
    fn french(&self) -> String {
        MandateRefused::french(self)
    }
    fn field(&self) -> Option<String> {
        Some(MandateRefused::field(self).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn asked(iban: &str) -> MandateAsked {
        MandateAsked {
            rum: "VLT-2026-0001".into(),
            iban: iban.into(),
            bic: Some("BDFEFRPP".into()),
            holder: "Claire Bernard".into(),
            signed_on: d("2026-11-20"),
        }
    }

    #[test]
    fn a_mandate_needs_a_valid_sepa_iban_and_starts_with_frst() {
        let now = "2026-11-26T09:00:00Z".parse().unwrap();
        let today = d("2026-11-26");
        let m = mandate(&asked("FR76 3000 6000 0112 3456 7890 189"), today, "agent", now).unwrap();
        assert_eq!((m.iban.as_str(), m.sequence), ("FR7630006000011234567890189", Sequence::Frst));
        assert_eq!(masked(&m.iban), "FR76 •••• 0189");
        let wrong = mandate(&asked("FR76 3000 6000 0112 3456 7890 188"), today, "agent", now);
        assert!(matches!(wrong, Err(MandateRefused::Iban(_))), "{wrong:?}");
        let short = mandate(&asked("FR76 3000"), today, "agent", now);
        assert!(matches!(short, Err(MandateRefused::Iban(_))));
        let bad_bic = MandateAsked { bic: Some("NOPE".into()), ..asked("FR7630006000011234567890189") };
        assert!(matches!(mandate(&bad_bic, today, "a", now), Err(MandateRefused::Bic(_))));
        let long = MandateAsked { holder: "Щ".repeat(30), ..asked("FR7630006000011234567890189") };
        assert_eq!(mandate(&long, today, "a", now), Err(MandateRefused::Holder), "« SHT » × 30 in the file");
        let accents =
            MandateAsked { holder: "Hélène Lefèvre-Dupré".into(), ..asked("FR7630006000011234567890189") };
        assert!(mandate(&accents, today, "a", now).is_ok());
        let future = MandateAsked { signed_on: d("2026-11-27"), ..asked("FR7630006000011234567890189") };
        assert_eq!(mandate(&future, today, "a", now), Err(MandateRefused::SignedInFuture));
        let rum = MandateAsked { rum: "VLT#1".into(), ..asked("FR7630006000011234567890189") };
        assert_eq!(mandate(&rum, today, "a", now), Err(MandateRefused::Rum));
    }

    #[test]
    fn debits_come_on_the_towns_day_fourteen_days_after_the_invoice_and_two_after_the_run() {
        let early = d("2026-11-01");
        assert_eq!(collection_date(d("2026-12-01"), early, 15), d("2026-12-15"));
        assert_eq!(collection_date(d("2026-12-02"), early, 15), d("2027-01-15"));
        assert_eq!(collection_date(d("2026-11-01"), early, 5), d("2026-12-05"));
        assert_eq!(collection_date(d("2026-01-20"), d("2026-01-20"), 28), d("2026-02-28"));
        // Run late: never a day in the past, nor tomorrow.
        assert_eq!(collection_date(d("2026-11-01"), d("2026-11-26"), 15), d("2026-12-15"));
        assert_eq!(collection_date(d("2026-12-01"), d("2026-12-14"), 15), d("2027-01-15"));
        assert_eq!(collection_date(d("2026-12-01"), d("2026-12-13"), 15), d("2026-12-15"));
    }

    fn invoice() -> Invoice {
        let bill = crate::billing::Bill {
            family: crate::FamilyRef::parse("bernard").unwrap(),
            lines: Vec::new(),
            aids: Vec::new(),
            total: Cents::new(300).unwrap(),
            as_billed: None,
        };
        Invoice::issue(
            bill,
            crate::Month::parse("2026-10").unwrap(),
            "2026-000001".into(),
            d("2026-11-01"),
            "mairie@example.fr",
        )
    }

    #[test]
    fn a_debit_is_scheduled_until_its_collection_date_then_collected_unless_rejected() {
        let now = "2026-11-26T09:00:00Z".parse().unwrap();
        let m = mandate(&asked("FR7630006000011234567890189"), d("2026-11-26"), "agent", now).unwrap();
        let iban = Some(m.iban.as_str());
        let mut i = invoice();
        assert_eq!(standing(&i, None, Some(15), d("2026-11-26")), None, "no mandate");
        let planned = standing(&i, Some(&m), Some(15), d("2026-11-26")).unwrap();
        assert_eq!(planned, Standing::Planned { on: d("2026-12-15") });
        assert_eq!(planned.due_on(&i), d("2026-12-15"), "due on its collection date, not 01/12");
        assert_eq!(planned.label(iban), "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
        let amount = Cents::new(300).unwrap();
        i.paid = amount;
        i.debit = Some(Mark { on: d("2026-12-15"), amount, rejected: false });
        assert_eq!(scheduled(&i, d("2026-12-14")), amount);
        let before = standing(&i, Some(&m), Some(15), d("2026-12-14")).unwrap();
        assert_eq!(before, Standing::Scheduled { on: d("2026-12-15"), amount });
        assert_eq!(before.label(iban), "Prélèvement prévu le 15/12/2026 sur le compte FR76 •••• 0189");
        assert_eq!(scheduled(&i, d("2026-12-15")), Cents::ZERO, "collected on its day");
        let after = standing(&i, None, None, d("2026-12-15")).unwrap();
        assert_eq!(after.label(iban), "3,00\u{a0}€ prélevés le 15/12/2026 sur le compte FR76 •••• 0189");
        i.debit = Some(Mark { on: d("2026-12-15"), amount, rejected: true });
        assert_eq!(scheduled(&i, d("2026-12-14")), Cents::ZERO);
        let rejected = standing(&i, Some(&m), Some(15), d("2026-12-14")).unwrap();
        assert_eq!(rejected.due_on(&i), i.due_on, "its own due date again");
    }

    #[test]
    fn settings_are_checked() {
        let s = Settings {
            creditor_id: "FR72ZZZ123456".into(),
            iban: "FR7630006000011234567890189".into(),
            bic: None,
            name: "Régie".into(),
            day: 15,
        };
        assert_eq!(s.check(), Ok(()));
        assert!(Settings { day: 29, ..s.clone() }.check().is_err());
        assert!(Settings { creditor_id: "FR00ZZZ123456".into(), ..s.clone() }.check().is_err());
        assert!(Settings { iban: "FR7630006000011234567890188".into(), ..s }.check().is_err());
    }
}
