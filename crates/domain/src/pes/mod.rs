//! The town's invoices as « titres de recettes » for Hélios, the Trésor public's accounting: the
//! pieces of a PES V2 « ORMC » file (one per invoice, its lines by product code, its debtor, its
//! SEPA block under a mandate, its check keys), the reductions a credit note owes a title
//! already sent, and every length and code checked before anything is written. The XML itself
//! is written by the `invoices` function from these values, which are final: transliterated to
//! ISO-8859-1 and cut to the schema's lengths ([`text`]).

pub mod keys;
#[cfg(test)]
mod tests;
pub mod text;

use crate::config::HeliosSettings;
use crate::debit::{Mandate, Sequence};
use crate::family::Family;
use crate::invoice::{Invoice, Titre};
use crate::{Cents, FamilyRef};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The most pieces one PES file carries: its invoices are marked in one store transaction with
/// the file's record and its audit entry (at most 100 writes), and its PDFs stay a few MB.
pub const MAX_PIECES: usize = 80;

/// `TypBord`: ORMC titles, or the reductions of titles already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `06`: « Ordres de recette multi créanciers (ORMC) », pieces of `TypPce` 15.
    Ormc,
    /// `02`: « Annulation/réduction », pieces of `TypPce` 01 and `NatPce` 06.
    Reduction,
}

impl Kind {
    pub fn typ_bord(self) -> &'static str {
        match self {
            Kind::Ormc => "06",
            Kind::Reduction => "02",
        }
    }
    pub fn typ_pce(self) -> &'static str {
        match self {
            Kind::Ormc => "15",
            Kind::Reduction => "01",
        }
    }
    pub fn nat_pce(self) -> &'static str {
        match self {
            Kind::Ormc => "01",
            Kind::Reduction => "06",
        }
    }
}

/// The payer as Hélios records them (`Tiers`): a private person, principal debtor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debtor {
    /// `Nom`, 38 at most, postal norm.
    pub name: String,
    /// `Prenom`, 38 at most.
    pub first_name: String,
    /// `Adr2`, 38 at most.
    pub street: String,
    /// `CP`: 5 digits.
    pub postcode: String,
    /// `Ville`, 38 at most.
    pub city: String,
}

/// `InfoPrelevementSEPA` and `CpteBancaire`: the title is collected by direct debit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sepa {
    /// `SequencePres`: `02` FRST, `03` RCUR.
    pub sequence: String,
    pub on: NaiveDate,
    pub amount: Cents,
    /// `RefUniMdt`, 35 at most, SEPA characters.
    pub rum: String,
    pub signed_on: NaiveDate,
    pub iban: String,
    pub bic: Option<String>,
    /// `TitCpte`, 32 at most.
    pub holder: String,
    /// `LibPrel`, 140 at most, SEPA characters.
    pub label: String,
}

/// One line of a piece (`LigneDePiece`): a product code and its amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub product: String,
    pub object: String,
    pub amount: Cents,
}

/// One piece: an invoice's title, or the reduction of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// `IdPce`: its rank in its bordereau, from 1.
    pub id: u32,
    pub invoice: String,
    pub family: FamilyRef,
    /// `ObjPce`, 160 at most.
    pub object: String,
    /// `NumDette`: the invoice number's digits.
    pub num_dette: String,
    /// `Per`: the period completing the debt number (an invoice is one debt: 1).
    pub per: u8,
    pub cle1: u8,
    pub cle2: char,
    pub lines: Vec<Line>,
    pub amount: Cents,
    pub debtor: Debtor,
    pub sepa: Option<Sepa>,
    /// The title a reduction reduces.
    pub reduces: Option<Titre>,
    /// `NomPJ` of its invoice's PDF (`PES_PJ`), and its `IdUnique`.
    pub attachment: String,
}

/// One bordereau of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bordereau {
    pub kind: Kind,
    /// `IdBord`: per year, continuous.
    pub id: u32,
    pub pieces: Vec<Piece>,
}

impl Bordereau {
    pub fn total(&self) -> Cents {
        self.pieces.iter().fold(Cents::ZERO, |t, p| t + p.amount)
    }
}

/// A PES file as created: what downloading it writes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PesFile {
    /// « PES-2026-000001 »: the year and its first bordereau's number.
    pub id: String,
    pub month: crate::Month,
    pub created_on: NaiveDate,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub by: String,
    pub exer: i32,
    pub bordereaux: Vec<Bordereau>,
}

/// What one invoice needs to become a piece: its family (the payer) and, under a mandate, the
/// mandate and the day it is debited.
pub struct Source<'a> {
    pub invoice: &'a Invoice,
    pub family: &'a Family,
    pub mandate: Option<(&'a Mandate, NaiveDate)>,
}

/// Why a piece cannot be written: the invoice and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PesRefused {
    #[error("Le fichier PES ne peut pas être établi\u{202F}: facture {invoice}, {field}\u{202F}: {problem}.")]
    Field { invoice: String, field: &'static str, problem: String },
    #[error("Les codes Hélios de la commune ne sont pas configurés (billing.helios).")]
    Unconfigured,
    #[error("Aucune facture ni réduction n'est à transmettre pour ce mois.")]
    Nothing,
}

impl crate::Refusal for PesRefused {
    fn code(&self) -> &'static str {
        match self {
            PesRefused::Field { .. } => "pes_invalid_field",
            PesRefused::Unconfigured => "helios_unconfigured",
            PesRefused::Nothing => "nothing_to_send",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            PesRefused::Field { field, .. } => Some((*field).to_owned()),
            _ => None,
        }
    }
    fn kind(&self) -> crate::refusal::Kind {
        match self {
            PesRefused::Field { .. } | PesRefused::Unconfigured => crate::refusal::Kind::Conflict,
            PesRefused::Nothing => crate::refusal::Kind::NotFound,
        }
    }
}

fn refused(invoice: &Invoice, field: &'static str, problem: impl Into<String>) -> PesRefused {
    PesRefused::Field { invoice: invoice.number.clone(), field, problem: problem.into() }
}

/// What the invoice asks of its family as a title: its total less its credit notes and
/// régularisations (payments at the régie do not change the title).
pub fn claimed(invoice: &Invoice) -> Cents {
    invoice.total.minus(invoice.credited).minus(invoice.regularised())
}

/// Whether the invoice is to send as a title: never sent, and asking something.
pub fn to_send(invoice: &Invoice) -> bool {
    invoice.titre.is_none() && claimed(invoice) > Cents::ZERO
}

/// What a reduction owes a title already sent: what it asked, less what reductions took off,
/// less what the invoice asks now.
pub fn to_reduce(invoice: &Invoice) -> Option<Cents> {
    let t = invoice.titre.as_ref()?;
    let owed = t.amount.minus(t.reduced).minus(claimed(invoice));
    (owed > Cents::ZERO).then_some(owed)
}

/// The debt number: the invoice number's digits (« 2026-000123 » → « 2026000123 »), 15 at most.
pub fn num_dette(invoice: &Invoice) -> Result<String, PesRefused> {
    let digits: String = invoice.number.chars().filter(char::is_ascii_digit).collect();
    let others = invoice.number.chars().any(|c| !c.is_ascii_digit() && c != '-');
    if digits.is_empty() || digits.len() > 15 || others {
        return Err(refused(invoice, "NumDette", "le numéro de facture doit donner 1 à 15 chiffres"));
    }
    Ok(digits)
}

/// The payer: the first guardian (or the family's name), the address's last line « CP Ville ».
pub fn debtor(invoice: &Invoice, family: &Family) -> Result<Debtor, PesRefused> {
    let (name, first_name) = match family.guardians.first() {
        Some(g) => (g.last_name.as_str(), g.first_name.as_str()),
        None => (family.name.as_str(), ""),
    };
    let name = text::postal(name, 38);
    if name.is_empty() {
        return Err(refused(invoice, "Nom", "le payeur n'a pas de nom"));
    }
    let Some((last, before)) = family.address.split_last() else {
        return Err(refused(invoice, "Adresse", "la famille n'a pas d'adresse postale"));
    };
    let last = last.trim();
    let postcode: String = last.chars().take(5).collect();
    let city = text::postal(last.get(5..).unwrap_or(""), 38);
    if postcode.len() != 5 || !postcode.bytes().all(|b| b.is_ascii_digit()) || city.is_empty() {
        return Err(refused(
            invoice,
            "CP",
            "la dernière ligne de l'adresse doit être « code postal (5 chiffres) ville »",
        ));
    }
    let street = text::postal(&before.join(" "), 38);
    if street.is_empty() {
        return Err(refused(invoice, "Adr2", "l'adresse n'a pas de ligne de voie"));
    }
    Ok(Debtor { name, first_name: text::postal(first_name, 38), street, postcode, city })
}

/// The SEPA text of `s` (letters, digits and `/-?().,:'+` and space), at most `max`.
fn sepa_text(s: &str, max: usize) -> String {
    let plain = text::postal(s, max);
    plain.chars().map(|c| if c.is_ascii_alphanumeric() || "/-?().,:'+ ".contains(c) { c } else { ' ' }).collect()
}

fn sepa(invoice: &Invoice, (m, on): (&Mandate, NaiveDate), amount: Cents, town: &str) -> Result<Sepa, PesRefused> {
    let rum_ok = |c: char| c.is_ascii_alphanumeric() || "/-?().,:'+ ".contains(c);
    if m.rum.is_empty() || m.rum.len() > 35 || !m.rum.chars().all(rum_ok) {
        return Err(refused(invoice, "RefUniMdt", "la référence du mandat a 1 à 35 caractères SEPA"));
    }
    if m.iban.len() > 34 || !m.iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(refused(invoice, "IBAN", "IBAN du mandat invalide"));
    }
    let holder = sepa_text(&m.holder, 32);
    if holder.trim().is_empty() {
        return Err(refused(invoice, "TitCpte", "le titulaire du compte n'a pas de nom"));
    }
    Ok(Sepa {
        sequence: match m.sequence {
            Sequence::Frst => "02".into(),
            Sequence::Rcur => "03".into(),
        },
        on,
        amount,
        rum: m.rum.clone(),
        signed_on: m.signed_on,
        iban: m.iban.clone(),
        bic: m.bic.clone(),
        holder,
        label: sepa_text(&format!("Facture {} {town}", invoice.number), 140),
    })
}

/// The lines of a title: the invoice's lines summed by product code (first seen first), each
/// less the aids of its days (the title asks what the family owes, as Noethys's export does), less
/// what its credit notes and régularisations took, from its last line up.
fn lines(invoice: &Invoice, helios: &HeliosSettings, amount: Cents) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for l in &invoice.lines {
        let product = helios.product_of(&l.unit);
        let net = l.amount.minus(crate::aid::on_line(&invoice.aids, l));
        match out.iter_mut().find(|x| x.product == product) {
            Some(x) => x.amount += net,
            None => out.push(Line {
                product: product.to_owned(),
                object: text::fit(&format!("{} {}", l.unit_name, invoice.month.french()), 160),
                amount: net,
            }),
        }
    }
    let mut over = out.iter().fold(Cents::ZERO, |t, l| t + l.amount).minus(amount);
    for l in out.iter_mut().rev() {
        let off = if l.amount < over { l.amount } else { over };
        l.amount = l.amount.minus(off);
        over = over.minus(off);
    }
    out.retain(|l| l.amount > Cents::ZERO);
    out
}

/// The header a piece of `invoice` carries, with its keys.
fn head(
    invoice: &Invoice,
    helios: &HeliosSettings,
    (exer, bordereau, id): (i32, u32, u32),
) -> Result<Piece, PesRefused> {
    let num_dette = num_dette(invoice)?;
    let per = 1;
    Ok(Piece {
        id,
        invoice: invoice.number.clone(),
        family: invoice.family.clone(),
        object: String::new(),
        cle1: keys::cle1(&helios.cod_col, bordereau, exer, per, &num_dette),
        cle2: keys::cle2(exer, per, &num_dette),
        num_dette,
        per,
        lines: Vec::new(),
        amount: Cents::ZERO,
        debtor: Debtor {
            name: String::new(),
            first_name: String::new(),
            street: String::new(),
            postcode: String::new(),
            city: String::new(),
        },
        sepa: None,
        reduces: None,
        attachment: format!("facture-{}.pdf", invoice.number),
    })
}

/// The title of one invoice, `id`-th of bordereau `bordereau` of year `exer`.
pub fn title(
    src: &Source<'_>,
    helios: &HeliosSettings,
    town: &str,
    (exer, bordereau, id): (i32, u32, u32),
) -> Result<Piece, PesRefused> {
    let invoice = src.invoice;
    let amount = claimed(invoice);
    let mut p = head(invoice, helios, (exer, bordereau, id))?;
    p.object = text::fit(&format!("Facture {} {} {town}", invoice.number, invoice.month.french()), 160);
    p.lines = lines(invoice, helios, amount);
    if p.lines.is_empty() {
        return Err(refused(invoice, "MtHT", "la facture n'a aucune ligne à un montant positif"));
    }
    p.amount = amount;
    p.debtor = debtor(invoice, src.family)?;
    p.sepa = src.mandate.map(|m| sepa(invoice, m, amount, town)).transpose()?;
    Ok(p)
}

/// The reduction a credit note owes the title of `src.invoice`, if any.
pub fn reduction(
    src: &Source<'_>,
    helios: &HeliosSettings,
    (exer, bordereau, id): (i32, u32, u32),
) -> Result<Option<Piece>, PesRefused> {
    let invoice = src.invoice;
    let (Some(amount), Some(t)) = (to_reduce(invoice), invoice.titre.as_ref()) else { return Ok(None) };
    let mut p = head(invoice, helios, (exer, bordereau, id))?;
    p.object = text::fit(
        &format!("Réduction du titre {}-{}-{} (facture {})", t.exer, t.bordereau, t.piece, invoice.number),
        160,
    );
    p.lines = vec![Line { product: helios.product.clone(), object: p.object.clone(), amount }];
    p.amount = amount;
    p.debtor = debtor(invoice, src.family)?;
    p.reduces = Some(t.clone());
    p.attachment = format!("reduction-{}.pdf", invoice.number);
    Ok(Some(p))
}

/// The record a title writes on its invoice.
pub fn titre_of(file: &str, on: NaiveDate, exer: i32, bordereau: u32, p: &Piece) -> Titre {
    Titre { file: file.to_owned(), on, exer, bordereau, piece: p.id, amount: p.amount, reduced: Cents::ZERO }
}

/// The invoice's title once a reduction of `amount` is sent.
pub fn reduced(t: &Titre, amount: Cents) -> Titre {
    Titre { reduced: t.reduced + amount, ..t.clone() }
}

/// « Titre émis le 05/12/2026 », as the invoice shows it.
pub fn titre_label(t: &Titre) -> String {
    format!("Titre émis le {}", crate::fr::date(t.on))
}
