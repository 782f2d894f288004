//! How dates and instants are written for parents and staff, in French.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// « 01/12/2026 »
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// « mardi 01/12/2026 »
pub fn weekday_date(d: NaiveDate) -> String {
    format!("{} {}", WEEKDAYS[d.weekday().num_days_from_monday() as usize], date(d))
}

/// « novembre 2026 »
pub fn month(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

/// « de novembre 2026 », « d’octobre 2026 »: a month after « de », elided before a vowel.
pub fn of_month(d: NaiveDate) -> String {
    let m = month(d);
    if m.starts_with(['a', 'o']) { format!("d’{m}") } else { format!("de {m}") }
}

/// « de Villeneuve-les-Tilleuls », « d’Argenteuil »: a name after « de », elided before a vowel
/// (a name starting with « H » keeps « de »: aspirated or not, it cannot be told from the name).
pub fn of_name(name: &str) -> String {
    let vowel = name.chars().next().is_some_and(|c| "AEIOUYÉÈÊÂÎÔaeiouyéèêâîô".contains(c));
    if vowel { format!("d’{name}") } else { format!("de {name}") }
}

/// « 01/12/2026 à 23 h 59 », in the town's time zone.
pub fn date_time(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!("{} à {}", local.format("%d/%m/%Y"), time(local.time()))
}

/// « 8 h 30 », « 17 h », « 23 h 59 »: a time of day the French way (no « 08:30 »).
pub fn time(t: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    match t.minute() {
        0 => format!("{}\u{a0}h", t.hour()),
        m => format!("{}\u{a0}h\u{a0}{m:02}", t.hour()),
    }
}

/// The narrow no-break space French typography puts before « ; : ! ? » and inside « guillemets ».
pub const NNBSP: char = '\u{202f}';

/// `text` with French typography: U+202F before « : ; ! ? » (in place of an ordinary or
/// no-break space) and inside « guillemets », ’ for an apostrophe between letters. Idempotent;
/// addresses and times are left alone (« https:// », « ?mois= » have no space before). What it
/// cannot mend, a « (s) » plural or a « 23:59 », is written right at the source.
pub fn typeset(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before = out.last().copied();
        let after = chars.get(i + 1).copied();
        match c {
            ':' | ';' | '!' | '?' if matches!(before, Some(' ' | '\u{a0}')) => {
                out.pop();
                out.extend([NNBSP, c]);
            }
            '«' => {
                out.extend(['«', NNBSP]);
                if matches!(after, Some(' ' | '\u{a0}' | NNBSP)) {
                    i += 1;
                }
            }
            '»' => {
                if matches!(before, Some(' ' | '\u{a0}')) {
                    out.pop();
                }
                if out.last() != Some(&NNBSP) {
                    out.push(NNBSP);
                }
                out.push('»');
            }
            '\'' if before.is_some_and(char::is_alphabetic) && after.is_some_and(char::is_alphabetic) => out.push('’'),
            _ => out.push(c),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// A form the French typography of what people read forbids (the Imprimerie nationale's rules,
/// as French public sites follow them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// « ligne(s) »: a plural is written out (« 1 ligne », « 2 lignes »).
    ParenthesisedPlural,
    /// « : ; ! ? » after an ordinary space, a no-break space or nothing (U+202F goes there).
    SpaceBeforePunctuation,
    /// « ' » in a word: the apostrophe is ’.
    StraightApostrophe,
    /// « 23:59 » or « 23h59 »: times are « 23 h 59 ».
    ColonTime,
    /// « « texte » » with an ordinary space, or none, inside the guillemets.
    GuillemetSpace,
}

/// The faults of `text` (plain text: strip markup first), each with the few characters around it.
pub fn faults(text: &str) -> Vec<(Fault, String)> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut found = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(at);
        let after = at(i + 1);
        let fault = match c {
            '(' if before.is_some_and(char::is_alphabetic)
                && matches!(
                    (after, at(i + 2), at(i + 3)),
                    (Some('s' | 'x'), Some(')'), _) | (Some('e'), Some('s'), Some(')'))
                ) =>
            {
                Some(Fault::ParenthesisedPlural)
            }
            ':' | ';' | '!' | '?' if punctuation_fault(c, before, after, at(i + 2)) => {
                Some(Fault::SpaceBeforePunctuation)
            }
            ':' if before.is_some_and(|b| b.is_ascii_digit()) && after.is_some_and(|a| a.is_ascii_digit()) => {
                Some(Fault::ColonTime)
            }
            'h' if before.is_some_and(|b| b.is_ascii_digit())
                && after.is_some_and(|a| a.is_ascii_digit())
                && at(i + 2).is_some_and(|a| a.is_ascii_digit()) =>
            {
                Some(Fault::ColonTime)
            }
            '\'' if before.is_some_and(char::is_alphabetic) && after.is_some_and(char::is_alphabetic) => {
                Some(Fault::StraightApostrophe)
            }
            '«' if after != Some(NNBSP) => Some(Fault::GuillemetSpace),
            '»' if before != Some(NNBSP) => Some(Fault::GuillemetSpace),
            _ => None,
        };
        if let Some(f) = fault {
            let from = i.saturating_sub(20);
            let to = (i + 20).min(chars.len());
            found.push((f, chars[from..to].iter().collect()));
        }
    }
    found
}

/// Whether « : ; ! ? » at this place lacks its narrow no-break space. Not text but addresses and
/// times: « https:// », « ?mois= », « 8:30 » (a time, its own fault), « :) ».
fn punctuation_fault(c: char, before: Option<char>, after: Option<char>, after2: Option<char>) -> bool {
    let Some(before) = before else { return false };
    if before == NNBSP || before == '\n' {
        return false;
    }
    match c {
        ':' if after == Some('/') && after2 == Some('/') => false,
        ':' if before.is_ascii_digit() && after.is_some_and(|a| a.is_ascii_digit()) => false,
        ':' if before.is_alphanumeric() && after.is_some_and(|a| a.is_alphanumeric()) => false,
        '?' | '!' if after.is_some_and(|a| a.is_alphanumeric() || a == '=') => false,
        '!' if before == '<' => false,
        _ => true,
    }
}

/// « 3, 10, 17 et 24/11 » for dates of one month; « 28/11 et 02/12 » across months.
pub fn dates_text(dates: &[chrono::NaiveDate]) -> String {
    use chrono::Datelike;
    let one_month = dates.windows(2).all(|w| (w[0].year(), w[0].month()) == (w[1].year(), w[1].month()));
    let mut parts: Vec<String> =
        dates.iter().map(|d| if one_month { d.day().to_string() } else { d.format("%d/%m").to_string() }).collect();
    if one_month && let (Some(last), Some(d)) = (parts.last_mut(), dates.last()) {
        *last = format!("{last}/{:02}", d.month());
    }
    match parts.len() {
        0 => String::new(),
        1 => parts.remove(0),
        n => {
            let last = parts.remove(n - 1);
            format!("{} et {last}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn town_names_take_de_or_d() {
        assert_eq!(of_name("Villeneuve-les-Tilleuls"), "de Villeneuve-les-Tilleuls");
        assert_eq!(of_name("Argenteuil"), "d’Argenteuil");
        assert_eq!(of_name("Évry"), "d’Évry");
    }

    #[test]
    fn de_is_elided_before_avril_aout_and_octobre() {
        let of = |m| of_month(NaiveDate::from_ymd_opt(2026, m, 1).unwrap());
        assert_eq!((of(10).as_str(), of(11).as_str()), ("d’octobre 2026", "de novembre 2026"));
        assert_eq!(
            (of(4).as_str(), of(8).as_str(), of(1).as_str()),
            ("d’avril 2026", "d’août 2026", "de janvier 2026")
        );
    }

    #[test]
    fn dates_read_the_french_way() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(date(d), "01/12/2026");
        assert_eq!(weekday_date(d), "mardi 01/12/2026");
        assert_eq!(month(d), "décembre 2026");
        // 22:59 UTC is 23:59 in Paris in winter.
        let t = d.and_hms_opt(22, 59, 0).unwrap().and_utc();
        assert_eq!(date_time(t, chrono_tz::Europe::Paris), "01/12/2026 à 23\u{a0}h\u{a0}59");
        let at = |h, m| time(chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap());
        assert_eq!((at(8, 30), at(17, 0)), ("8\u{a0}h\u{a0}30".to_owned(), "17\u{a0}h".to_owned()));
    }

    fn kinds(text: &str) -> Vec<Fault> {
        faults(text).into_iter().map(|f| f.0).collect()
    }

    #[test]
    fn the_forbidden_forms_are_found() {
        use Fault::*;
        assert_eq!(kinds("22 ligne(s) ajoutée(s)"), [ParenthesisedPlural, ParenthesisedPlural]);
        assert_eq!(kinds("Total : 3 € ; payé !"), [SpaceBeforePunctuation; 3]);
        assert_eq!(kinds("Total: 3 €"), [SpaceBeforePunctuation]);
        assert_eq!(kinds("l'enfant"), [StraightApostrophe]);
        assert_eq!(kinds("avant 23:59, après 8h30"), [ColonTime, ColonTime]);
        assert_eq!(kinds("« Mes factures »"), [GuillemetSpace, GuillemetSpace]);
    }

    #[test]
    fn typeset_mends_spaces_guillemets_and_apostrophes_once() {
        let mended = typeset("Total : 3 € ; l'enfant, « Mes factures » ? https://a.fr/x?y=1 «Contester»");
        assert_eq!(kinds(&mended), [], "{mended}");
        assert_eq!(typeset(&mended), mended, "idempotent");
        assert!(
            mended.contains("Total\u{202f}: 3 €\u{202f}; l’enfant, «\u{202f}Mes factures\u{202f}»\u{202f}?"),
            "{mended}"
        );
        assert!(mended.contains("https://a.fr/x?y=1"), "{mended}");
    }

    #[test]
    fn good_typography_and_addresses_pass() {
        let good = "Total\u{202f}: 3\u{a0}€\u{202f}; l’enfant, « \u{202f}»\u{202f}? 8\u{a0}h\u{a0}30";
        assert_eq!(kinds(&good.replace("« \u{202f}»", "«\u{202f}Mes factures\u{202f}»")), []);
        assert_eq!(kinds("https://exemple.fr/factures.html?mois=2026-11 mailto:a@b.fr"), []);
        assert_eq!(kinds("<!doctype html>"), []);
    }
}
