use super::*;
use crate::documents::default_kinds;

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use std::fmt::Write;
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    let mut lines = String::new();
    for line in out.as_bytes().chunks(76) {
        let _ = writeln!(lines, "{}", std::str::from_utf8(line).unwrap());
    }
    lines
}

/// A message from `from` with `subject`, a text body and the attachments (name, type, bytes).
pub(crate) fn eml(from: &str, subject: &str, body: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: justificatifs@villeneuve-les-tilleuls.fr\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    for (name, ctype, bytes) in files {
        m.push_str(&format!(
            "--b1\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            b64(bytes)
        ));
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

const SOPHIE: &str = "Sophie Martin <sophie.martin@exemple.fr>";

#[test]
fn a_certificate_is_read_with_its_sender_subject_and_attachment() {
    let raw = eml(
        SOPHIE,
        "Certificat médical Léa",
        "Bonjour,\nLéa était malade hier.",
        &[("scan.pdf", "application/pdf", PDF)],
    );
    let m = read(&raw, 10 << 20).unwrap();
    assert_eq!(m.from.as_str(), "sophie.martin@exemple.fr");
    assert_eq!(m.subject, "Certificat médical Léa");
    assert_eq!(m.body, "Bonjour, Léa était malade hier.");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!((m.attachments[0].file_name.as_str(), m.attachments[0].file_type), ("scan.pdf", FileType::Pdf));
    assert!(m.skipped.is_empty());
}

#[test]
fn bad_input_is_refused_whole_or_skipped() {
    // Malformed: no header at all.
    assert_eq!(read(b"", 1 << 20), Err(Unreadable::Malformed));
    assert!(read(b"\x00\x01\x02 garbage without headers", 1 << 20).is_err());
    // A 40 MB message is not parsed.
    let big = vec![b'a'; 40 * 1024 * 1024];
    assert_eq!(read(&big, 10 << 20), Err(Unreadable::TooLarge));
    // 200 attachments.
    let many: Vec<(&str, &str, &[u8])> = (0..200).map(|_| ("a.pdf", "application/pdf", PDF)).collect();
    assert_eq!(read(&eml(SOPHIE, "Certificat", "", &many), 10 << 20), Err(Unreadable::TooManyParts));
    // A zip (a bomb's header) renamed .pdf and declared a PDF: skipped, not filed.
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00bomb";
    let m = read(&eml(SOPHIE, "Certificat", "", &[("certificat.pdf", "application/pdf", zip)]), 10 << 20).unwrap();
    assert!(m.attachments.is_empty());
    assert_eq!(m.skipped, vec![("certificat.pdf".to_owned(), Skipped::Type)]);
    // Too large for the town, and empty.
    let m = read(&eml(SOPHIE, "x", "", &[("a.pdf", "application/pdf", PDF)]), 10).unwrap();
    assert_eq!(m.skipped[0].1, Skipped::TooLarge);
    // Control characters in the headers: kept out of the subject; a name with them skipped.
    let raw = eml(SOPHIE, "Certificat\x07 L\x1béa", "", &[("a\x01b.pdf", "application/pdf", PDF)]);
    let m = read(&raw, 10 << 20).unwrap();
    assert!(!m.subject.chars().any(char::is_control), "{:?}", m.subject);
    assert!(m.attachments.is_empty() || m.attachments.iter().all(|a| !a.file_name.chars().any(char::is_control)));
    // No sender, or two.
    let raw = b"To: a@b.fr\r\nSubject: x\r\n\r\nbody\r\n";
    assert_eq!(read(raw, 1 << 20), Err(Unreadable::NoSender));
    let raw = b"From: a@b.fr, c@d.fr\r\nSubject: x\r\n\r\nbody\r\n";
    assert_eq!(read(raw, 1 << 20), Err(Unreadable::NoSender));
}

#[test]
fn nesting_is_bounded() {
    let mut m = String::from("From: sophie.martin@exemple.fr\r\nSubject: x\r\nMIME-Version: 1.0\r\n");
    for i in 0..12 {
        m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"));
    }
    m.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
    for i in (0..12).rev() {
        m.push_str(&format!("--b{i}--\r\n"));
    }
    assert_eq!(read(m.as_bytes(), 1 << 20), Err(Unreadable::TooDeep));
}

#[test]
fn only_an_authentic_sender_is_believed() {
    assert!(Verdicts::PASS.authentic());
    let spoofed = Verdicts { dmarc: Verdict::Fail, ..Verdicts::PASS };
    assert!(!spoofed.authentic());
    let no_policy = Verdicts { dmarc: Verdict::Gray, ..Verdicts::PASS };
    assert!(no_policy.authentic(), "no DMARC policy, SPF and DKIM pass");
    assert!(!Verdicts { dkim: Verdict::Gray, ..no_policy }.authentic());
    assert!(!Verdicts { virus: Verdict::Fail, ..Verdicts::PASS }.authentic());
    assert!(!Verdicts { dmarc: Verdict::ProcessingFailed, ..Verdicts::PASS }.authentic());
    assert_eq!(Verdict::parse("PASS"), Verdict::Pass);
    assert_eq!(Verdict::parse("nonsense"), Verdict::ProcessingFailed);
}

#[test]
fn the_kind_comes_from_the_subject() {
    let kinds = default_kinds();
    let id = |s: &str| guess_kind(s, &kinds).map(|k| k.id.as_str().to_owned());
    assert_eq!(id("Certificat médical pour Léa").as_deref(), Some("certificat-absence"));
    assert_eq!(id("CERTIFICAT").as_deref(), Some("certificat-absence"));
    assert_eq!(id("Certificat de dispense de sport").as_deref(), Some("dispense-medicale"));
    assert_eq!(id("attestation d’assurance 2026").as_deref(), Some("assurance"));
    assert_eq!(id("Documents"), None);
    assert_eq!(id(""), None);
}

#[test]
fn the_child_is_the_one_named_or_the_only_one() {
    let two = [("lea", "Léa".to_owned()), ("hugo", "Hugo".to_owned())];
    assert_eq!(guess_child("Certificat pour LEA", &two), Some(&"lea"));
    assert_eq!(guess_child("Certificat", &two), None);
    assert_eq!(guess_child("Léa et Hugo", &two), None);
    assert_eq!(guess_child("Certificat", &two[..1]), Some(&"lea"));
    assert_eq!(guess_child("Léandre", &two), None, "a word, not a prefix");
}

#[test]
fn dates_are_read_in_french() {
    let today = d("2026-12-03");
    let a = |from: &str, to: &str| Some(Absence { from: d(from), to: d(to) });
    assert_eq!(guess_absence("absente hier", today), a("2026-12-02", "2026-12-02"));
    assert_eq!(guess_absence("malade avant-hier et hier", today), a("2026-12-01", "2026-12-02"));
    assert_eq!(guess_absence("aujourd’hui", today), a("2026-12-03", "2026-12-03"));
    assert_eq!(guess_absence("du 30/11 au 02/12", today), a("2026-11-30", "2026-12-02"));
    assert_eq!(guess_absence("le 1er décembre 2026", today), a("2026-12-01", "2026-12-01"));
    assert_eq!(guess_absence("du 28 novembre au 1 decembre", today), a("2026-11-28", "2026-12-01"));
    assert_eq!(guess_absence("le 20/12/2025", today), a("2025-12-20", "2025-12-20"));
    // A date without its year is never far in the future: 28/12 said on 3 January is last year's.
    assert_eq!(guess_absence("le 28/12", d("2027-01-03")), a("2026-12-28", "2026-12-28"));
    assert_eq!(guess_absence("pas de date", today), None);
    assert_eq!(guess_absence("du 01/09 au 30/11", today), None, "over a month");
    assert_eq!(guess_absence("le 31/02", today), None);
}

#[test]
fn a_guardians_certificate_is_filed_for_the_child_and_the_days() {
    let kinds = default_kinds();
    let children = [("lea", "Léa".to_owned())];
    let raw = eml(SOPHIE, "Certificat médical", "Léa était malade hier", &[("c.pdf", "application/pdf", PDF)]);
    let m = read(&raw, 10 << 20).unwrap();
    let today = d("2026-11-27");
    let Decision::File(f) = decide(m.clone(), &Verdicts::PASS, true, &kinds, &children, &[], today) else {
        panic!("filed")
    };
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].kind.as_str(), f[0].child), ("certificat-absence", Some("lea")));
    assert_eq!(f[0].absence, Some(Absence { from: d("2026-11-26"), to: d("2026-11-26") }));
    // No dates in the message: the absence the family reported.
    let mut quiet = m.clone();
    quiet.body = "Voici le certificat".into();
    let reported = [("lea", Absence { from: d("2026-11-25"), to: d("2026-11-26") })];
    let Decision::File(f) = decide(quiet.clone(), &Verdicts::PASS, true, &kinds, &children, &reported, today) else {
        panic!("filed")
    };
    assert_eq!(f[0].absence, Some(reported[0].1));
    // Neither: « à classer », with the child.
    let Decision::File(f) = decide(quiet, &Verdicts::PASS, true, &kinds, &children, &[], today) else { panic!() };
    assert_eq!((f[0].kind.as_str(), f[0].child, f[0].absence), (UNSORTED, Some("lea"), None));
    // Two children, none named: « à classer » without a child.
    let two = [("lea", "Léa".to_owned()), ("hugo", "Hugo".to_owned())];
    let mut unnamed = m.clone();
    unnamed.body = "hier".into();
    let Decision::File(f) = decide(unnamed, &Verdicts::PASS, true, &kinds, &two, &[], today) else { panic!() };
    assert_eq!((f[0].kind.as_str(), f[0].child), (UNSORTED, None));
    // A family's document names no child.
    let mut yearly = m.clone();
    yearly.subject = "Attestation d’assurance".into();
    let Decision::File(f) = decide(yearly, &Verdicts::PASS, true, &kinds, &children, &[], today) else { panic!() };
    assert_eq!((f[0].kind.as_str(), f[0].absence), ("assurance", None));
}

#[test]
fn anything_else_gets_the_same_answer() {
    let kinds = default_kinds();
    let children = [("lea", "Léa".to_owned())];
    let raw = eml(SOPHIE, "Certificat", "hier", &[("c.pdf", "application/pdf", PDF)]);
    let m = read(&raw, 10 << 20).unwrap();
    let today = d("2026-11-27");
    let spoofed = Verdicts { dmarc: Verdict::Fail, ..Verdicts::PASS };
    assert_eq!(decide(m.clone(), &spoofed, true, &kinds, &children, &[], today), Decision::Answer);
    assert_eq!(decide(m.clone(), &Verdicts::PASS, false, &kinds, &children, &[], today), Decision::Answer);
    let mut bare = m;
    bare.attachments.clear();
    assert_eq!(decide(bare, &Verdicts::PASS, true, &kinds, &children, &[], today), Decision::Answer);
}

#[test]
fn one_answer_slot_per_sender_and_day() {
    assert_eq!(answer_slot("abc", d("2026-11-27")), answer_slot("abc", d("2026-11-27")));
    assert_ne!(answer_slot("abc", d("2026-11-27")), answer_slot("abc", d("2026-11-28")));
    assert_ne!(answer_slot("abc", d("2026-11-27")), answer_slot("abd", d("2026-11-27")));
}
