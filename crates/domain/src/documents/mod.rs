//! Documents guardians send the town (« Mes demandes »): the kinds a town asks for, what a file
//! may be, and the life of a document (sent, accepted or refused, expired, deleted).

use super::config::{ConfigError, err};
use super::ids::DocKindId;
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

pub mod inbound;
mod request;

pub use request::{MAX_PER_FAMILY, RequestRefused, request, room_for_another};

/// The largest file a town may accept (S3 takes one PUT up to 5 GB; a scanned form is a few MB).
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
/// The default limit: 10 MB.
pub const DEFAULT_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// How long a refused document stays visible to its guardian (with the reason) before deletion.
pub const REFUSED_KEPT_DAYS: u64 = 30;
/// The longest absence one medical certificate may justify.
pub const MAX_ABSENCE_DAYS: i64 = 31;
/// The longest file name kept (characters).
pub const MAX_FILE_NAME_CHARS: usize = 120;

/// Whom a kind of document concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concerns {
    Child,
    Family,
}

/// A kind of document the town asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentKind {
    pub id: DocKindId,
    /// What guardians read (« Dispense médicale »).
    pub name: String,
    pub concerns: Concerns,
    /// How long an accepted document stays valid, in days from its acceptance (none: no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<u32>,
    /// A medical certificate for an absence: the guardian gives the dates, and accepting it
    /// marks the child's bookings of those dates « absence justifiée » (not billed).
    #[serde(default)]
    pub justifies_absence: bool,
}

/// The town's documents settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    #[serde(default = "default_kinds")]
    pub kinds: Vec<DocumentKind>,
    /// The largest file accepted, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// How long an accepted document is kept after the end of its validity (or after its
    /// acceptance when it has no end), in days; then it is deleted.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// The town's address for documents sent by email (`justificatifs@…`): what SES receives
    /// for it is filed in « Mes demandes » ([`inbound`]). None: the town takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_email: Option<String>,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            kinds: default_kinds(),
            max_bytes: default_max_bytes(),
            retention_days: default_retention(),
            inbound_email: None,
        }
    }
}

impl DocumentSettings {
    pub fn kind(&self, id: &DocKindId) -> Option<&DocumentKind> {
        self.kinds.iter().find(|k| &k.id == id)
    }

    /// What guardians and staff read for a kind: its name, « Document à classer » for what
    /// came by email unsorted, the id for a kind the town no longer asks for.
    pub fn kind_name(&self, id: &DocKindId) -> String {
        match self.kind(id) {
            Some(k) => k.name.clone(),
            None if id.as_str() == inbound::UNSORTED => inbound::UNSORTED_NAME.to_owned(),
            None => id.to_string(),
        }
    }
}

fn default_max_bytes() -> u64 {
    DEFAULT_FILE_BYTES
}

fn default_retention() -> u32 {
    365
}

fn kind(id: &str, name: &str, concerns: Concerns, valid_days: Option<u32>, justifies_absence: bool) -> DocumentKind {
    DocumentKind {
        id: DocKindId::parse(id).unwrap_or_else(|_| unreachable!("the default kinds' ids are slugs")),
        name: name.to_owned(),
        concerns,
        valid_days,
        justifies_absence,
    }
}

/// What the seed's town asks for, when a town says nothing.
pub fn default_kinds() -> Vec<DocumentKind> {
    vec![
        kind("dispense-medicale", "Dispense médicale", Concerns::Child, Some(365), false),
        kind("certificat-absence", "Certificat médical justifiant une absence", Concerns::Child, None, true),
        kind("assurance", "Attestation d'assurance", Concerns::Child, Some(365), false),
        kind("dossier-annuel", "Dossier d'inscription annuel", Concerns::Family, Some(365), false),
        kind("attestation-qf", "Attestation de quotient familial", Concerns::Family, Some(365), false),
    ]
}

/// Checks the settings: the path of the first wrong field and why, in French.
pub fn check(s: &DocumentSettings) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (i, k) in s.kinds.iter().enumerate() {
        let n = k.name.trim().chars().count();
        if n == 0 || n > 200 {
            return Err(err(format!("documents.kinds[{i}].name"), "le nom doit faire entre 1 et 200 caractères"));
        }
        if !seen.insert(&k.id) {
            return Err(err(format!("documents.kinds[{i}].id"), format!("le type « {} » est déclaré deux fois", k.id)));
        }
        if k.valid_days == Some(0) || k.valid_days.is_some_and(|d| d > 3660) {
            return Err(err(
                format!("documents.kinds[{i}].valid_days"),
                "la durée de validité va de 1 à 3 660 jours (ou absente)",
            ));
        }
        if k.justifies_absence && k.concerns != Concerns::Child {
            return Err(err(
                format!("documents.kinds[{i}].concerns"),
                "un certificat justifiant une absence concerne un enfant",
            ));
        }
    }
    if s.max_bytes == 0 || s.max_bytes > MAX_FILE_BYTES {
        return Err(err("documents.max_bytes", format!("la taille maximale va de 1 à {MAX_FILE_BYTES} octets")));
    }
    if s.inbound_email.as_deref().is_some_and(|a| inbound::address(a).as_deref() != Some(a)) {
        return Err(err("documents.inbound_email", "une adresse e-mail valide, en minuscules"));
    }
    if !(1..=3660).contains(&s.retention_days) {
        return Err(err("documents.retention_days", "la durée de conservation va de 1 à 3 660 jours"));
    }
    Ok(())
}

/// The file types accepted: PDF, JPEG, PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileType {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
}

impl FileType {
    pub const ALL: [FileType; 3] = [FileType::Pdf, FileType::Jpeg, FileType::Png];

    pub fn parse(content_type: &str) -> Option<FileType> {
        FileType::ALL.into_iter().find(|t| t.mime().eq_ignore_ascii_case(content_type.trim()))
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
        }
    }

    /// The extension a file of this type is kept and downloaded under, whatever its name said.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
        }
    }

    /// Whether a file's first bytes are this type's signature.
    fn matches(self, head: &[u8]) -> bool {
        match self {
            FileType::Pdf => head.starts_with(b"%PDF-"),
            FileType::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
            FileType::Png => head.starts_with(&PNG_SIGNATURE),
        }
    }

    /// Whether a whole file is of this type, beyond its first bytes: a PDF has its header, its
    /// `%%EOF` near the end and no HTML in it (a page that starts with `%PDF` is a page); a PNG
    /// is a chain of chunks from `IHDR` to `IEND` that ends the file; a JPEG is a chain of
    /// segments up to its image data, and ends with its end marker.
    pub fn verify(self, bytes: &[u8]) -> bool {
        self.matches(bytes)
            && match self {
                FileType::Pdf => pdf_whole(bytes),
                FileType::Jpeg => jpeg_whole(bytes),
                FileType::Png => png_whole(bytes),
            }
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// What a browser would render as a page or run as a script, in any case.
const HTML_MARKERS: [&[u8]; 6] = [b"<html", b"<script", b"<!doctype", b"<body", b"<iframe", b"<svg"];

fn pdf_whole(b: &[u8]) -> bool {
    let version = b.get(5..8).is_some_and(|v| v[0].is_ascii_digit() && v[1] == b'.' && v[2].is_ascii_digit());
    let tail = &b[b.len().saturating_sub(1024)..];
    let ends = tail.windows(5).any(|w| w == b"%%EOF");
    let html = HTML_MARKERS.iter().any(|m| b.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)));
    version && ends && !html
}

fn png_whole(b: &[u8]) -> bool {
    let be32 = |at: usize| b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]) as usize);
    let mut at = PNG_SIGNATURE.len();
    let mut first = true;
    loop {
        let (Some(len), Some(kind)) = (be32(at), b.get(at + 4..at + 8)) else { return false };
        let Some(next) = (at + 12).checked_add(len).filter(|n| *n <= b.len()) else { return false };
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return false;
        }
        if first {
            let size = (be32(at + 8), be32(at + 12));
            if kind != b"IHDR" || len != 13 || matches!(size, (Some(0), _) | (_, Some(0))) {
                return false;
            }
            first = false;
        }
        if kind == b"IEND" {
            return next == b.len();
        }
        at = next;
    }
}

fn jpeg_whole(b: &[u8]) -> bool {
    // Segments after the start marker, up to the start of scan (the image data).
    let mut at = 2;
    loop {
        if b.get(at) != Some(&0xFF) {
            return false;
        }
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        match b.get(at) {
            Some(0xDA) => break,
            Some(0x01 | 0xD0..=0xD7) => at += 1,
            Some(_) => {
                let Some(len) = b.get(at + 1..at + 3).map(|x| usize::from(u16::from_be_bytes([x[0], x[1]]))) else {
                    return false;
                };
                if len < 2 {
                    return false;
                }
                at += 1 + len;
            }
            None => return false,
        }
    }
    // Some devices pad the file after its end marker with zeros.
    let end = b.iter().rposition(|x| *x != 0).map_or(0, |i| i + 1);
    b[..end].ends_with(&[0xFF, 0xD9])
}

/// The name a file is kept and downloaded under: the device's name without its extension, and
/// the checked type's (`certificat.html` sent as a PDF is `certificat.pdf`).
pub fn name_for_type(name: &str, t: FileType) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains(' ') => stem,
        _ => name,
    };
    let stem = if stem.trim().is_empty() { "document" } else { stem };
    let room = MAX_FILE_NAME_CHARS - 1 - t.extension().len();
    let stem: String = stem.chars().take(room).collect();
    format!("{}.{}", stem.trim_end(), t.extension())
}

/// Why a file name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileNameRefused {
    #[error("Le nom du fichier compte de 1 à {MAX_FILE_NAME_CHARS} caractères.")]
    Length,
    #[error("Le nom du fichier ne doit contenir ni chemin (« / », « \\ ») ni caractère spécial.")]
    Characters,
}

impl crate::Refusal for FileNameRefused {
    fn code(&self) -> &'static str {
        "invalid_file_name"
    }
    fn field(&self) -> Option<String> {
        Some("file_name".into())
    }
}

/// A file name as kept: the name a guardian's device gave, without any path, control or
/// reserved character (it is shown back and used as the download's name).
pub fn check_file_name(name: &str) -> Result<String, FileNameRefused> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(FileNameRefused::Length);
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\' | '"' | ':' | '*' | '?' | '<' | '>' | '|'))
        || name == "."
        || name == ".."
    {
        return Err(FileNameRefused::Characters);
    }
    Ok(name.to_owned())
}

/// A document's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The upload was asked for and not confirmed yet (not shown; gone after a day).
    Uploading,
    /// « Demande en cours »: waiting for staff.
    Pending,
    /// « Acceptée ».
    Accepted,
    /// « Refusée », with the reason.
    Refused,
}

/// An absence whose dates are out of order or too far apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("L'absence va d'une date à une date postérieure, sur {MAX_ABSENCE_DAYS} jours au plus.")]
pub struct AbsenceRefused;

impl crate::Refusal for AbsenceRefused {
    fn code(&self) -> &'static str {
        "invalid_absence"
    }
    fn field(&self) -> Option<String> {
        Some("absence".into())
    }
}

/// The dates a medical certificate covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absence {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Absence {
    pub fn check(&self) -> Result<(), AbsenceRefused> {
        if self.to < self.from || (self.to - self.from).num_days() >= MAX_ABSENCE_DAYS {
            return Err(AbsenceRefused);
        }
        Ok(())
    }
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// The day a decided document is deleted: a refused one after [`REFUSED_KEPT_DAYS`], an
/// accepted one `retention_days` after the end of its validity (or after its acceptance).
pub fn purge_day(status: Status, decided: NaiveDate, valid_until: Option<NaiveDate>, retention_days: u32) -> NaiveDate {
    let (base, keep) = match status {
        Status::Accepted => (valid_until.unwrap_or(decided).max(decided), u64::from(retention_days)),
        _ => (decided, REFUSED_KEPT_DAYS),
    };
    base.checked_add_days(Days::new(keep)).unwrap_or(NaiveDate::MAX)
}

/// The longest reason staff give for a decision.
pub const MAX_REASON_CHARS: usize = 500;

/// Staff's verdict on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Refuse,
}

/// What a decision sets on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub status: Status,
    pub reason: Option<String>,
    pub valid_until: Option<NaiveDate>,
    /// The day the retention rules delete it.
    pub delete_on: NaiveDate,
}

/// A decision on a document of `kind` taken `today`: a refusal needs a reason (the family reads
/// it) and has no validity; an acceptance is valid until the given day or for the kind's
/// validity, never ending in the past. `Err` holds the stable code, the field and the French
/// message.
pub fn decide(
    verdict: Verdict,
    reason: Option<&str>,
    valid_until: Option<NaiveDate>,
    kind: Option<&DocumentKind>,
    today: NaiveDate,
    retention_days: u32,
) -> Result<Decided, (&'static str, &'static str, String)> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS || r.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(("invalid_reason", "reason", format!("Le motif compte {MAX_REASON_CHARS} caractères au plus.")));
    }
    let (status, valid_until) = match verdict {
        Verdict::Refuse if reason.is_none() => {
            return Err(("reason_required", "reason", "Indiquez le motif du refus : la famille le lira.".into()));
        }
        Verdict::Refuse if valid_until.is_some() => {
            return Err(("valid_until_not_expected", "valid_until", "Un document refusé n'a pas de validité.".into()));
        }
        Verdict::Refuse => (Status::Refused, None),
        Verdict::Accept => {
            let default_end =
                kind.and_then(|k| k.valid_days).and_then(|n| today.checked_add_days(Days::new(u64::from(n))));
            let valid_until = valid_until.or(default_end);
            if valid_until.is_some_and(|v| v < today) {
                return Err((
                    "invalid_valid_until",
                    "valid_until",
                    "La validité ne peut pas finir dans le passé.".into(),
                ));
            }
            (Status::Accepted, valid_until)
        }
    };
    Ok(Decided { status, reason, valid_until, delete_on: purge_day(status, today, valid_until, retention_days) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_signatures() {
        assert!(FileType::Pdf.verify(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"));
        assert!(!FileType::Pdf.verify(b"%PDF-1.7\n<html><script>x</script></html>\n%%EOF\n"), "a page");
        assert!(!FileType::Pdf.verify(b"%PDF-1.7\n1 0 obj << >> endobj\n"), "cut short");
        assert!(!FileType::Pdf.verify(b"MZ\x90\x00\x03"));
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0\x3a\x7e\x9b\x55\0\0\0\x0aIDAT\x78\x9c\x63\x60\0\0\0\x02\0\x01\x48\xaf\xa4\x71\0\0\0\0IEND\xae\x42\x60\x82";
        assert!(FileType::Png.verify(png));
        assert!(!FileType::Png.verify(&png[..png.len() - 12]), "no end");
        assert!(!FileType::Png.verify(&[&png[..], b"<html>"].concat()), "something after the end");
        assert!(!FileType::Png.verify(b"\x89PNG\r\n\x1a\n"));
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9];
        assert!(FileType::Jpeg.verify(&jpeg));
        assert!(FileType::Jpeg.verify(&[&jpeg[..], &[0, 0]].concat()), "padded");
        assert!(!FileType::Jpeg.verify(&jpeg[..jpeg.len() - 2]), "no end marker");
        assert!(!FileType::Jpeg.verify(b"\xFF\xD8\xFF\xE0\x00\x10<html><script>x</script></html>"));
        assert!(!FileType::Jpeg.verify(b"%PDF-1.7"));
        for (name, t, kept) in [
            ("certificat.html", FileType::Pdf, "certificat.pdf"),
            ("x.svg", FileType::Pdf, "x.pdf"),
            ("x.exe", FileType::Png, "x.png"),
            ("Photo.JPEG", FileType::Jpeg, "Photo.jpg"),
            ("scan", FileType::Pdf, "scan.pdf"),
            ("Mon dossier v2. final", FileType::Pdf, "Mon dossier v2. final.pdf"),
            (".pdf", FileType::Pdf, "document.pdf"),
        ] {
            assert_eq!(name_for_type(name, t), kept, "{name}");
        }
        assert_eq!(name_for_type(&"a".repeat(120), FileType::Pdf).chars().count(), MAX_FILE_NAME_CHARS);
        assert_eq!(FileType::parse("Application/PDF"), Some(FileType::Pdf));
        assert_eq!(FileType::parse("image/gif"), None);
        assert_eq!(FileType::parse("application/x-msdownload"), None);
    }

    #[test]
    fn file_names_lose_nothing_but_refuse_paths_and_controls() {
        assert_eq!(check_file_name("  Certificat médical Léa.pdf "), Ok("Certificat médical Léa.pdf".into()));
        for bad in ["", "../etc/passwd", "a/b.pdf", "a\\b.pdf", "a\u{0}.pdf", "a\nb.pdf", "..", "x\u{7f}.png"] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name(&"é".repeat(121)).is_err());
    }

    #[test]
    fn purge_days() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(purge_day(Status::Refused, d("2026-11-26"), None, 365), d("2026-12-26"));
        assert_eq!(purge_day(Status::Accepted, d("2026-11-26"), None, 10), d("2026-12-06"));
        assert_eq!(purge_day(Status::Accepted, d("2026-11-26"), Some(d("2027-11-26")), 10), d("2027-12-06"));
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(check(&DocumentSettings::default()), Ok(()));
        let mut s = DocumentSettings::default();
        s.kinds.push(s.kinds[0].clone());
        assert_eq!(check(&s).unwrap_err().path, "documents.kinds[5].id");
        let s = DocumentSettings { max_bytes: MAX_FILE_BYTES + 1, ..DocumentSettings::default() };
        assert_eq!(check(&s).unwrap_err().path, "documents.max_bytes");
        let mut s = DocumentSettings::default();
        s.kinds[3].justifies_absence = true;
        assert_eq!(check(&s).unwrap_err().path, "documents.kinds[3].concerns");
        let s =
            DocumentSettings { inbound_email: Some("Justificatifs@Ville.fr".into()), ..DocumentSettings::default() };
        assert_eq!(check(&s).unwrap_err().path, "documents.inbound_email");
        let s =
            DocumentSettings { inbound_email: Some("justificatifs@ville.fr".into()), ..DocumentSettings::default() };
        assert_eq!(check(&s), Ok(()));
    }

    #[test]
    fn absences_are_bounded() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(Absence { from: d("2026-12-01"), to: d("2026-12-31") }.check().is_ok());
        assert!(Absence { from: d("2026-12-01"), to: d("2027-01-01") }.check().is_err());
        assert!(Absence { from: d("2026-12-02"), to: d("2026-12-01") }.check().is_err());
    }

    #[test]
    fn a_refusal_needs_a_reason_and_an_acceptance_a_future_validity() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(decide(Verdict::Refuse, Some("  "), None, None, today, 30).unwrap_err().0, "reason_required");
        assert_eq!(
            decide(Verdict::Refuse, Some("Illisible"), Some(today), None, today, 30).unwrap_err().0,
            "valid_until_not_expected"
        );
        let refused = decide(Verdict::Refuse, Some(" Illisible "), None, None, today, 30).unwrap();
        assert_eq!((refused.status, refused.reason.as_deref()), (Status::Refused, Some("Illisible")));
        let yesterday = today.pred_opt().unwrap();
        assert_eq!(
            decide(Verdict::Accept, None, Some(yesterday), None, today, 30).unwrap_err().0,
            "invalid_valid_until"
        );
        assert_eq!(
            decide(Verdict::Accept, Some(&"x".repeat(501)), None, None, today, 30).unwrap_err().0,
            "invalid_reason"
        );
        let kind: DocumentKind = serde_json::from_value(serde_json::json!({
            "id": "dispense", "name": "Dispense", "concerns": "child", "valid_days": 365
        }))
        .unwrap();
        let accepted = decide(Verdict::Accept, None, None, Some(&kind), today, 30).unwrap();
        assert_eq!(accepted.valid_until, NaiveDate::from_ymd_opt(2027, 12, 1));
        assert_eq!(accepted.delete_on, NaiveDate::from_ymd_opt(2027, 12, 31).unwrap());
    }
}

#[cfg(test)]
mod requests {
    use super::*;
    use crate::ChildId;
    use chrono::NaiveDate;

    fn kind(concerns: Concerns, justifies_absence: bool) -> DocumentKind {
        DocumentKind {
            id: DocKindId::parse("certificat").unwrap(),
            name: "Certificat".into(),
            concerns,
            valid_days: None,
            justifies_absence,
        }
    }

    fn absence(from: u32, to: u32) -> Absence {
        Absence {
            from: NaiveDate::from_ymd_opt(2026, 11, from).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, to).unwrap(),
        }
    }

    #[test]
    fn a_childs_document_names_one_of_the_familys_children() {
        let lea = ChildId::parse("lea").unwrap();
        let children = [lea.clone()];
        let k = kind(Concerns::Child, false);
        assert_eq!(request(&k, &children, Some("lea"), None), Ok((Some(lea), None)));
        assert_eq!(request(&k, &children, None, None), Err(RequestRefused::ChildRequired));
        assert_eq!(request(&k, &children, Some("hugo"), None), Err(RequestRefused::UnknownChild));
    }

    #[test]
    fn a_familys_document_names_no_child() {
        let k = kind(Concerns::Family, false);
        let lea = ChildId::parse("lea").unwrap();
        assert_eq!(request(&k, &[lea], Some("lea"), None), Err(RequestRefused::ChildNotExpected));
        assert_eq!(request(&k, &[], None, None), Ok((None, None)));
    }

    #[test]
    fn a_certificate_for_an_absence_gives_its_dates_and_no_other_kind_does() {
        let lea = ChildId::parse("lea").unwrap();
        let certificate = kind(Concerns::Child, true);
        let children = [lea.clone()];
        assert_eq!(request(&certificate, &children, Some("lea"), None), Err(RequestRefused::AbsenceRequired));
        assert_eq!(
            request(&certificate, &children, Some("lea"), Some(absence(2, 6))),
            Ok((Some(lea), Some(absence(2, 6))))
        );
        let backwards = request(&certificate, &children, Some("lea"), Some(absence(6, 2)));
        assert!(matches!(backwards, Err(RequestRefused::InvalidAbsence(_))));
        assert_eq!(backwards.unwrap_err().field(), "absence");
        let other = kind(Concerns::Child, false);
        assert_eq!(
            request(&other, &children, Some("lea"), Some(absence(2, 6))),
            Err(RequestRefused::AbsenceNotExpected)
        );
    }

    #[test]
    fn a_family_keeps_at_most_two_hundred_documents() {
        assert!(room_for_another(0));
        assert!(room_for_another(MAX_PER_FAMILY - 1));
        assert!(!room_for_another(MAX_PER_FAMILY));
    }
}
