//! Documents sent by email to the town's address (`documents.inbound_email`): who is heard,
//! what a message may be, which attachments become documents of « Mes demandes », of which kind,
//! for which child and which absence, and when a sender is answered. Pure: the message's bytes
//! and SES's verdicts in, decisions out (docs/email.md, « Documents by email »).

use super::{Absence, Concerns, DocumentKind, FileType, MAX_ABSENCE_DAYS, check_file_name, name_for_type};
use crate::ids::DocKindId;
use chrono::{Datelike, Days, NaiveDate};
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// The largest message read (SES receives up to 40 MB; a few scanned pages weigh a few MB).
pub const MAX_MESSAGE_BYTES: usize = 30 * 1024 * 1024;
/// The most attachments one message may carry: more is refused whole (nothing is filed).
pub const MAX_ATTACHMENTS: usize = 10;
/// The most MIME parts one message may have, every level counted.
pub const MAX_PARTS: usize = 100;
/// How deep multiparts and forwarded messages may nest.
pub const MAX_DEPTH: usize = 5;
/// The longest subject kept (characters); the body read for names and dates (characters).
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 5_000;
/// The kind given to what the subject does not name: staff classify it.
pub const UNSORTED: &str = "a-classer";
/// What guardians and staff read for it.
pub const UNSORTED_NAME: &str = "Document à classer (reçu par e-mail)";

/// The kind of a document filed without a recognised kind.
pub fn unsorted() -> DocKindId {
    DocKindId::parse(UNSORTED).unwrap_or_else(|_| unreachable!("a slug"))
}

/// One of SES's verdicts on a received message (`receipt.spfVerdict.status`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// SES could not tell (no DMARC policy published, no DKIM signature…).
    Gray,
    ProcessingFailed,
    Disabled,
}

impl Verdict {
    /// SES's `status` string; anything else is a processing failure.
    pub fn parse(status: &str) -> Verdict {
        match status {
            "PASS" => Verdict::Pass,
            "FAIL" => Verdict::Fail,
            "GRAY" => Verdict::Gray,
            "DISABLED" => Verdict::Disabled,
            _ => Verdict::ProcessingFailed,
        }
    }
}

/// What SES reports of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub spf: Verdict,
    pub dkim: Verdict,
    pub dmarc: Verdict,
    pub spam: Verdict,
    pub virus: Verdict,
}

impl Verdicts {
    /// Every check passed (the local twin's default).
    pub const PASS: Verdicts = Verdicts {
        spf: Verdict::Pass,
        dkim: Verdict::Pass,
        dmarc: Verdict::Pass,
        spam: Verdict::Pass,
        virus: Verdict::Pass,
    };

    /// Whether the `From` address can be believed: DMARC passed (the `From` domain is aligned
    /// with a passing SPF or DKIM), or, for a domain that publishes no DMARC policy (`GRAY`),
    /// both SPF and DKIM passed; and neither the spam nor the virus scan failed.
    pub fn authentic(&self) -> bool {
        let dmarc = match self.dmarc {
            Verdict::Pass => true,
            Verdict::Gray => self.spf == Verdict::Pass && self.dkim == Verdict::Pass,
            _ => false,
        };
        dmarc && self.spam != Verdict::Fail && self.virus != Verdict::Fail
    }
}

/// Why a message is not read at all: nothing of it is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("message over {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("not a MIME message")]
    Malformed,
    #[error("no single sender address")]
    NoSender,
    #[error("over {MAX_PARTS} parts or {MAX_ATTACHMENTS} attachments")]
    TooManyParts,
    #[error("nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Why an attachment is not filed (the acknowledgement says so, in French).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Not a whole PDF, JPEG or PNG, whatever its name or declared type says.
    Type,
    Empty,
    TooLarge,
    Name,
}

impl Skipped {
    pub fn french(self, max_bytes: u64) -> String {
        match self {
            Skipped::Type => "ce n’est pas un fichier PDF, JPEG ou PNG valide".into(),
            Skipped::Empty => "le fichier est vide".into(),
            Skipped::TooLarge => format!("le fichier dépasse {} Mo", max_bytes.div_ceil(1024 * 1024)),
            Skipped::Name => "le nom du fichier contient des caractères interdits".into(),
        }
    }
}

/// An attachment fit to be a document: checked as an upload is (name, size, type by content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name kept (cleaned, with the checked type's extension).
    pub file_name: String,
    pub file_type: FileType,
    pub bytes: Vec<u8>,
}

/// A message read: its sender, subject and text, and its attachments sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Lower-cased, checked as `family::Email` checks an address.
    pub from: String,
    /// Without control characters, at most [`MAX_SUBJECT_CHARS`].
    pub subject: String,
    /// The first text body, at most [`MAX_BODY_CHARS`].
    pub body: String,
    pub attachments: Vec<Attachment>,
    /// The attachments not filed: their name as sent (cleaned) and why.
    pub skipped: Vec<(String, Skipped)>,
}

/// An address as `family::Email` keeps it (trimmed, lower-cased, valid, a dotted domain).
pub fn address(s: &str) -> Option<String> {
    let s = s.trim().to_lowercase();
    let valid = s.len() <= 254
        && email_address::EmailAddress::is_valid(&s)
        && s.rsplit('@').next().is_some_and(|d| d.contains('.'));
    valid.then_some(s)
}

/// Text from outside, as kept: control characters become spaces, runs of spaces one.
pub fn clean(text: &str, max_chars: usize) -> String {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max_chars).collect()
}

/// Reads a raw message within the bounds above; each attachment is checked with the town's
/// largest file size `max_bytes`.
pub fn read(raw: &[u8], max_bytes: u64) -> Result<Received, Unreadable> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    let message = MessageParser::default().parse(raw).ok_or(Unreadable::Malformed)?;
    if message.headers().is_empty() || message.parts.is_empty() {
        return Err(Unreadable::Malformed);
    }
    let from = match message.from().map(|a| a.iter().collect::<Vec<_>>()) {
        Some(addrs) if addrs.len() == 1 => addrs[0].address().and_then(address),
        _ => None,
    }
    .ok_or(Unreadable::NoSender)?;
    let mut found = Vec::new();
    let mut parts = 0;
    collect(&message, 0, &mut parts, &mut found)?;
    if found.len() > MAX_ATTACHMENTS {
        return Err(Unreadable::TooManyParts);
    }
    let mut attachments = Vec::new();
    let mut skipped = Vec::new();
    for (name, bytes) in found {
        match check_attachment(&name, bytes, max_bytes) {
            Ok(a) => attachments.push(a),
            Err(why) => skipped.push((clean(&name, 120), why)),
        }
    }
    Ok(Received {
        from,
        subject: clean(message.subject().unwrap_or(""), MAX_SUBJECT_CHARS),
        body: message.body_text(0).map(|b| clean(&b, MAX_BODY_CHARS)).unwrap_or_default(),
        attachments,
        skipped,
    })
}

/// The sender and the recipients a message's headers name (its first 64 kB only): whom to
/// answer when the message itself is refused, and which town's address it was sent to.
pub fn envelope(raw: &[u8]) -> (Option<String>, Vec<String>) {
    let head = &raw[..raw.len().min(64 * 1024)];
    let Some(m) = MessageParser::default().parse_headers(head) else { return (None, Vec::new()) };
    let from = match m.from().map(|a| a.iter().collect::<Vec<_>>()) {
        Some(addrs) if addrs.len() == 1 => addrs[0].address().and_then(address),
        _ => None,
    };
    let to = m
        .to()
        .into_iter()
        .chain(m.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().and_then(address))
        .take(50)
        .collect();
    (from, to)
}

/// The attachments of `message` and of the messages it forwards, with their names, bounded.
fn collect(
    message: &mail_parser::Message<'_>,
    depth: usize,
    parts: &mut usize,
    found: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), Unreadable> {
    if depth > MAX_DEPTH || multipart_depth(message, 0, 0) > MAX_DEPTH {
        return Err(Unreadable::TooDeep);
    }
    *parts += message.parts.len();
    if *parts > MAX_PARTS {
        return Err(Unreadable::TooManyParts);
    }
    for part in message.attachments() {
        match &part.body {
            PartType::Message(inner) => collect(inner, depth + 1, parts, found)?,
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                found.push((part.attachment_name().unwrap_or("document").to_owned(), b.to_vec()));
            }
            // A text attachment (a .txt, an .html) is no document.
            PartType::Text(t) | PartType::Html(t) => {
                found.push((part.attachment_name().unwrap_or("texte").to_owned(), t.as_bytes().to_vec()));
            }
            PartType::Multipart(_) => {}
        }
        if found.len() > MAX_ATTACHMENTS {
            return Err(Unreadable::TooManyParts);
        }
    }
    Ok(())
}

/// How deep the multiparts under part `id` nest (stops counting past the bound).
fn multipart_depth(message: &mail_parser::Message<'_>, id: usize, level: usize) -> usize {
    if level > MAX_DEPTH {
        return level;
    }
    match message.parts.get(id).and_then(|p| p.sub_parts()) {
        Some(children) => children
            .iter()
            .filter(|c| **c as usize != id)
            .map(|c| multipart_depth(message, *c as usize, level + 1))
            .max()
            .unwrap_or(level),
        None => level,
    }
}

/// An attachment checked as an upload is: a name without path or control characters, not
/// empty, within the town's size, and whole bytes of PDF, JPEG or PNG (the declared type and
/// the name's extension are not believed: a zip renamed `.pdf` is not a PDF).
pub fn check_attachment(name: &str, bytes: Vec<u8>, max_bytes: u64) -> Result<Attachment, Skipped> {
    let name = check_file_name(name).map_err(|_| Skipped::Name)?;
    if bytes.is_empty() {
        return Err(Skipped::Empty);
    }
    if bytes.len() as u64 > max_bytes {
        return Err(Skipped::TooLarge);
    }
    let file_type = FileType::ALL.into_iter().find(|t| t.verify(&bytes)).ok_or(Skipped::Type)?;
    Ok(Attachment { file_name: name_for_type(&name, file_type), file_type, bytes })
}

/// Lower case, without accents, apostrophes as spaces: what words are looked for in.
fn fold(text: &str) -> String {
    crate::pes::text::postal(&text.replace(['’', '\''], " "), usize::MAX).to_lowercase()
}

fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '/')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The kind the subject names: « dispense », « assurance », then « certificat » (a certificate
/// for an absence), each matched against the town's kinds (their id or name holding the word;
/// for « certificat », the kind that justifies an absence). `None`: « à classer ».
pub fn guess_kind<'k>(subject: &str, kinds: &'k [DocumentKind]) -> Option<&'k DocumentKind> {
    let said = words(subject);
    let has = |w: &str| said.iter().any(|s| s.starts_with(w));
    let named = |w: &str| kinds.iter().find(|k| fold(k.id.as_str()).contains(w) || fold(&k.name).contains(w));
    if has("dispense") {
        return named("dispense");
    }
    if has("assurance") {
        return named("assurance");
    }
    if has("certificat") {
        return kinds.iter().find(|k| k.justifies_absence);
    }
    None
}

/// The child a message names by first name among `children` (id, first name): one named, or
/// the only child of the family when none is.
pub fn guess_child<'c, C>(text: &str, children: &'c [(C, String)]) -> Option<&'c C> {
    let said = words(text);
    let named: Vec<&C> =
        children.iter().filter(|(_, first)| !first.is_empty() && said.contains(&fold(first))).map(|(c, _)| c).collect();
    match (named.as_slice(), children) {
        ([one], _) => Some(one),
        ([], [(only, _)]) => Some(only),
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
];

/// The dates a message names, relative to `today`: « aujourd’hui », « hier », « avant-hier »,
/// `03/12`, `03/12/2026`, « 3 décembre », « 1er décembre 2026 » (a date without its year is
/// the latest one not after a week from today). The absence runs from the first to the last,
/// within [`MAX_ABSENCE_DAYS`]; `None` when no date is named or they are too far apart.
pub fn guess_absence(text: &str, today: NaiveDate) -> Option<Absence> {
    let w = words(text);
    let mut dates = Vec::new();
    let day_before = |n: u64| today.checked_sub_days(Days::new(n));
    let year_for = |d: u32, m: u32| {
        let limit = today + Days::new(7);
        [today.year(), today.year() - 1]
            .into_iter()
            .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
            .find(|x| *x <= limit)
    };
    let mut i = 0;
    while i < w.len() {
        let word = w[i].as_str();
        match word {
            "aujourd" | "aujourdhui" => dates.push(Some(today)),
            "hier" => dates.push(day_before(1)),
            "avant" if w.get(i + 1).is_some_and(|n| n == "hier") => {
                dates.push(day_before(2));
                i += 1;
            }
            _ if word.contains('/') => {
                let p: Vec<&str> = word.split('/').collect();
                let num = |s: &str| s.parse::<u32>().ok();
                match p.as_slice() {
                    [d, m] => dates.push(num(d).zip(num(m)).and_then(|(d, m)| year_for(d, m))),
                    [d, m, y] => dates.push(num(d).zip(num(m)).zip(num(y)).and_then(|((d, m), y)| {
                        let y = if y < 100 { 2000 + y } else { y };
                        NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
                    })),
                    _ => {}
                }
            }
            _ => {
                let day = word.strip_suffix("er").unwrap_or(word).parse::<u32>().ok().filter(|d| (1..=31).contains(d));
                let month = w.get(i + 1).and_then(|m| MONTHS.iter().position(|x| x == m));
                if let (Some(d), Some(m)) = (day, month) {
                    let m = m as u32 + 1;
                    let year = w.get(i + 2).and_then(|y| y.parse::<i32>().ok()).filter(|y| (2000..=2100).contains(y));
                    dates.push(match year {
                        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
                        None => year_for(d, m),
                    });
                    i += 1;
                }
            }
        }
        i += 1;
    }
    let dates: Vec<NaiveDate> = dates.into_iter().flatten().collect();
    let (from, to) = (*dates.iter().min()?, *dates.iter().max()?);
    let absence = Absence { from, to };
    absence.check().ok().map(|()| absence).filter(|a| (a.to - a.from).num_days() < MAX_ABSENCE_DAYS)
}

/// What a received message becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<C> {
    /// From a guardian of the family, authentic, with usable attachments: each is filed.
    File(Vec<Filing<C>>),
    /// Anything else: one polite answer (at most one a day to the sender), nothing filed.
    Answer,
}

/// One attachment filed: its kind, child and absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing<C> {
    pub kind: DocKindId,
    pub child: Option<C>,
    pub absence: Option<Absence>,
    pub attachment: Attachment,
}

/// What to do with a message read: `guardian` is whether its sender is a guardian of a family
/// of the town (its address registered), `children` that family's (id, first name),
/// `reported` the days of absence already reported for each child (« Mon enfant est malade »).
/// A kind concerning a child with no child found, or a certificate for an absence with no
/// dates found nor reported, is filed « à classer » (with the child when known).
pub fn decide<C: Clone + PartialEq>(
    message: Received,
    verdicts: &Verdicts,
    guardian: bool,
    kinds: &[DocumentKind],
    children: &[(C, String)],
    reported: &[(C, Absence)],
    today: NaiveDate,
) -> Decision<C> {
    if !guardian || !verdicts.authentic() || message.attachments.is_empty() {
        return Decision::Answer;
    }
    let text = format!("{} {}", message.subject, message.body);
    let kind = guess_kind(&message.subject, kinds);
    let child = guess_child(&text, children).cloned();
    let (kind, child, absence) = match kind {
        Some(k) if k.concerns == Concerns::Family => (Some(k.id.clone()), None, None),
        Some(_) if child.is_none() => (None, None, None),
        Some(k) if k.justifies_absence => {
            let named = guess_absence(&text, today);
            let reported = || reported.iter().find(|(c, _)| Some(c) == child.as_ref()).map(|(_, a)| *a);
            match named.or_else(reported) {
                Some(a) => (Some(k.id.clone()), child, Some(a)),
                None => (None, child, None),
            }
        }
        Some(k) => (Some(k.id.clone()), child, None),
        None => (None, child, None),
    };
    let kind = kind.unwrap_or_else(unsorted);
    Decision::File(
        message
            .attachments
            .into_iter()
            .map(|attachment| Filing { kind: kind.clone(), child: child.clone(), absence, attachment })
            .collect(),
    )
}

/// What the answers to a sender are counted by (`sender` is the address's digest: no key
/// keeps an address): one answer per sender and day, in the town's time zone. The slot is held
/// two days, then expires.
pub fn answer_slot(sender: &str, today: NaiveDate) -> String {
    format!("INBOUND-ANSWER#{sender}#{today}")
}

/// How long an answer's slot is kept, in seconds.
pub const ANSWER_SLOT_SECONDS: i64 = 2 * 24 * 3600;

#[cfg(test)]
#[path = "inbound_tests.rs"]
mod tests;
