//! The town's billing settings (`billing` in its configuration): the identity its invoices
//! print, its PayFiP account, its reminders and its SEPA creditor account, and their checks.

use super::{ConfigError, err};
use serde::{Deserialize, Serialize};

/// The town's billing identity, printed on every invoice: its « régie » and how to reach it, the
/// issuer (« ordonnateur »), how to pay, and where to contest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// « Régie enfance-jeunesse de Villeneuve-les-Tilleuls »
    pub regie: String,
    /// The postal address, one line each.
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// The issuer and its role: « Le Maire, ordonnateur ».
    pub issuer: String,
    /// How to pay, one paragraph each (until online payment is built: what the town accepts).
    #[serde(default)]
    pub how_to_pay: Vec<String>,
    /// The administrative court that hears a contest: « Tribunal administratif de Cergy-Pontoise ».
    pub court: String,
    /// The régie's PayFiP account: without it, invoices are not payable online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payfip: Option<PayfipSettings>,
    /// When the reminders before and after the due date go out.
    #[serde(default)]
    pub reminders: Reminders,
    /// The régie's SEPA creditor account: without it, no direct debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<DirectDebitSettings>,
    /// The town's codes in Hélios: without them, no PES file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helios: Option<super::helios::HeliosSettings>,
    /// The yearly tax certificate for childcare: without it, none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_certificate: Option<super::tax::TaxCertificateSettings>,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            regie: "Régie enfance-jeunesse".into(),
            address: Vec::new(),
            phone: None,
            email: None,
            hours: None,
            issuer: "Le Maire, ordonnateur".into(),
            how_to_pay: vec![
                "À la régie, en espèces, par chèque à l'ordre du Trésor public ou par carte bancaire.".into(),
            ],
            court: "tribunal administratif territorialement compétent".into(),
            payfip: None,
            reminders: Reminders::default(),
            direct_debit: None,
            helios: None,
            tax_certificate: None,
        }
    }
}

/// The most lines of an address and paragraphs of « how to pay »; the longest of each.
pub const MAX_BILLING_LINES: usize = 8;

pub const MAX_BILLING_TEXT: usize = 400;

pub(super) fn check_billing(b: &BillingSettings) -> Result<(), ConfigError> {
    let texts = [("billing.regie", &b.regie), ("billing.issuer", &b.issuer), ("billing.court", &b.court)];
    for (path, t) in texts {
        let n = t.trim().chars().count();
        if n == 0 || n > MAX_BILLING_TEXT {
            return Err(err(path, format!("le texte doit faire entre 1 et {MAX_BILLING_TEXT} caractères")));
        }
    }
    for (path, lines) in [("billing.address", &b.address), ("billing.how_to_pay", &b.how_to_pay)] {
        if lines.len() > MAX_BILLING_LINES {
            return Err(err(path, format!("{MAX_BILLING_LINES} lignes au plus")));
        }
        if lines.iter().any(|l| l.chars().count() > MAX_BILLING_TEXT) {
            return Err(err(path, format!("{MAX_BILLING_TEXT} caractères au plus par ligne")));
        }
    }
    let optional = [&b.phone, &b.email, &b.hours];
    if optional.into_iter().flatten().any(|t| t.chars().count() > MAX_BILLING_TEXT) {
        return Err(err("billing", format!("{MAX_BILLING_TEXT} caractères au plus par texte")));
    }
    if let Some(p) = &b.payfip {
        p.check()?;
    }
    if let Some(d) = &b.direct_debit {
        d.check()?;
    }
    let most = MAX_REMINDER_DAYS;
    if b.reminders.before_due > most || b.reminders.after_due > most {
        return Err(err("billing.reminders", format!("{most} jours au plus")));
    }
    Ok(())
}

/// A town's PayFiP account (its `billing.payfip`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayfipSettings {
    /// The régie's client number at the DGFiP: six digits.
    pub numcli: String,
    pub saisie: Saisie,
}

impl PayfipSettings {
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.numcli.len() != 6 || !self.numcli.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("billing.payfip.numcli", "le numéro client PayFiP de la régie a six chiffres"));
        }
        Ok(())
    }
}

/// `saisie`: the PayFiP environment an operation runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saisie {
    /// `T`: the test platform.
    Test,
    /// `X`: activation (the régie's first real payments).
    Activation,
    /// `W`: production.
    Production,
}

impl Saisie {
    pub fn code(self) -> &'static str {
        match self {
            Saisie::Test => "T",
            Saisie::Activation => "X",
            Saisie::Production => "W",
        }
    }
}

/// When reminders go out (the town's `billing.reminders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// Days before the due date for the first email (0: none).
    pub before_due: u32,
    /// Days after the due date for the second (0: none).
    pub after_due: u32,
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders { before_due: 5, after_due: 10 }
    }
}

/// The most days either way.
pub const MAX_REMINDER_DAYS: u32 = 60;

/// How text outside the SEPA character set is written in the bank's file: the EPC table, one
/// character for one (« é » → « e »), right for French names.
pub const TRANSLITERATION: sepa::Transliteration = sepa::Transliteration::Epc;

/// A town's SEPA creditor account (its `billing.direct_debit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectDebitSettings {
    /// The creditor identifier (ICS): `FR..ZZZ......`.
    pub creditor_id: String,
    /// The régie's account at the Trésor public.
    pub iban: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bic: Option<String>,
    /// The name on the debits: « Régie enfance-jeunesse de Villeneuve-les-Tilleuls ».
    pub name: String,
    /// The day of the month debits are collected (1 to 28).
    pub day: u32,
}

impl DirectDebitSettings {
    pub fn check(&self) -> Result<(), ConfigError> {
        sepa::validate_creditor_id(&self.creditor_id).map_err(|e| {
            err("billing.direct_debit.creditor_id", format!("identifiant créancier SEPA invalide : {e}"))
        })?;
        sepa::validate_iban(&self.iban)
            .map_err(|e| err("billing.direct_debit.iban", format!("IBAN invalide : {e}")))?;
        if let Some(bic) = &self.bic {
            sepa::validate_bic(bic).map_err(|e| err("billing.direct_debit.bic", format!("BIC invalide : {e}")))?;
        }
        if self.name.trim().is_empty() || sepa::transliterate(&self.name, TRANSLITERATION).chars().count() > 70 {
            return Err(err("billing.direct_debit.name", "le nom du créancier fait de 1 à 70 caractères"));
        }
        if !(1..=28).contains(&self.day) {
            return Err(err("billing.direct_debit.day", "le jour de prélèvement va de 1 à 28"));
        }
        Ok(())
    }
}
