//! The emails parents, staff and the operator receive, in French, as plain text and HTML: one
//! type per email, holding exactly what it says, rendered by `render`.
//!
//! French typography: a narrow no-break space (U+202F) before « : ; ! ? » and inside
//! « guillemets », ’ as the apostrophe. Data from elsewhere (a name, a reason typed by staff) is
//! written as it came. Each email's whole text is a snapshot (`snapshots/`): a wording change
//! shows in review (docs/operations.md, « Emails »).

pub mod account_request;
pub mod accounts;
pub mod billing;
pub mod bookings;
pub mod child_file;
pub mod delivery;
pub mod documents;
pub mod portal;
pub mod qf;
pub mod school_year;
pub mod tax;

use super::outbox::Content;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// « 03/12/2026 à 11 h 30 », in the town's time zone.
fn french_instant(t: DateTime<Utc>, tz: Tz) -> String {
    domain::fr::date_time(t, tz)
}

/// « de Villeneuve-les-Tilleuls », « d’Argenteuil ».
fn of_name(town: &str) -> String {
    domain::fr::of_name(town)
}

/// « de novembre 2026 », « d’octobre 2026 ».
fn of_month(first: NaiveDate) -> String {
    domain::fr::of_month(first)
}

/// The portal's own name, as the sender of what is not one town's (the operator's emails).
pub const PORTAL: &str = "Espace Famille";

/// « L’Espace Famille de Villeneuve-les-Tilleuls », « L’Espace Famille d’Argenteuil »; the
/// portal's own emails are signed « Espace Famille ».
fn signature(town: &str) -> String {
    if town == PORTAL { PORTAL.to_owned() } else { format!("L’Espace Famille {}", of_name(town)) }
}

fn paragraphs_html(paragraphs: &[String]) -> String {
    paragraphs.iter().map(|p| format!("<p>{}</p>\n", esc(p))).collect()
}

/// The HTML email around `body` (already escaped), with the link as a button.
fn page(town: &str, body: &str, link: &str, button: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{town}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}<p><a href=\"{href}\" style=\"display: inline-block; padding: .6em 1em; background: #000091; color: #fff; text-decoration: none\">{button}</a></p>\n<p>Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur\u{202f}:<br>{href}</p>\n<p>— {signed}</p>\n</body></html>\n",
        signed = esc(&signature(town)),
        town = esc(town),
        href = esc(link),
        button = esc(button),
    )
}

/// A day's booking as an email lists it: « lundi 14/12/2026 – Léa – Cantine ».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedDay {
    pub date: NaiveDate,
    pub child: String,
    /// The unit's name, as the town calls it (« Cantine »).
    pub unit: String,
}

impl std::fmt::Display for BookedDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} – {} – {}", domain::fr::weekday_date(self.date), self.child, self.unit)
    }
}

/// A titled list in a summary email (« Réservations », then one line per booking).
struct Section {
    title: String,
    lines: Vec<String>,
}

impl Section {
    fn new(title: impl Into<String>, lines: Vec<String>) -> Section {
        Section { title: title.into(), lines }
    }
}

/// The most lines an email lists per section; the rest are counted (a school year's basket
/// would otherwise make an email nobody reads).
pub const MAX_LISTED: usize = 300;

/// The shape most emails share: greeting, introduction, titled lists (empty ones left out),
/// closing remarks, a link as a button, the signature; the subject followed by the town.
struct Summary<'a> {
    town: &'a str,
    subject: String,
    /// Empty: « Bonjour, ».
    first_name: &'a str,
    intro: String,
    sections: Vec<Section>,
    remarks: Vec<String>,
    /// The link's address and the button's words.
    link: (String, &'a str),
}

impl Summary<'_> {
    fn render(&self) -> Content {
        let (link, button) = (&self.link.0, self.link.1);
        let greeting =
            if self.first_name.is_empty() { "Bonjour,".to_owned() } else { format!("Bonjour {},", self.first_name) };
        let mut text = format!("{greeting}\n\n{}\n", self.intro);
        let mut html = format!("<p>{}</p>\n<p>{}</p>\n", esc(&greeting), esc(&self.intro));
        for section in self.sections.iter().filter(|s| !s.lines.is_empty()) {
            text.push_str(&format!("\n{}\u{202f}:\n", section.title));
            html.push_str(&format!("<h2 style=\"font-size: 1.1em\">{}</h2>\n<ul>\n", esc(&section.title)));
            for line in section.lines.iter().take(MAX_LISTED) {
                text.push_str(&format!("- {line}\n"));
                html.push_str(&format!("<li>{}</li>\n", esc(line)));
            }
            if let Some(more) = left_out(section.lines.len()) {
                text.push_str(&format!("- {more}\n"));
                html.push_str(&format!("<li>{}</li>\n", esc(&more)));
            }
            html.push_str("</ul>\n");
        }
        for r in &self.remarks {
            text.push_str(&format!("\n{r}\n"));
            html.push_str(&format!("<p>{}</p>\n", esc(r)));
        }
        text.push_str(&format!("\n{link}\n\n— {}\n", signature(self.town)));
        Content {
            subject: format!("{} – {}", self.subject, self.town),
            text,
            html: page(self.town, &html, link, button),
        }
    }
}

/// The line that counts what a section leaves out of `listed` lines, if any.
fn left_out(listed: usize) -> Option<String> {
    match listed.saturating_sub(MAX_LISTED) {
        0 => None,
        1 => Some("… et 1 autre (le détail est dans votre Espace Famille)".to_owned()),
        n => Some(format!("… et {n} autres (le détail est dans votre Espace Famille)")),
    }
}

/// What the snapshot tests compare: the subject, then the plain text.
#[cfg(test)]
fn whole(c: &Content) -> String {
    format!("Objet\u{202f}: {}\n\n{}", c.subject, c.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary<'a>(town: &'a str, sections: Vec<Section>) -> Summary<'a> {
        Summary {
            town,
            subject: "Réservations".into(),
            first_name: "Léa",
            intro: "Voici vos réservations.".into(),
            sections,
            remarks: vec!["Total\u{202f}: 3,80\u{a0}€".into()],
            link: ("https://p/".into(), "Voir mes réservations"),
        }
    }

    #[test]
    fn a_summary_lists_each_section_escaped_and_counts_what_it_leaves_out() {
        let many = Section::new("Réservations", (0..MAX_LISTED + 2).map(|i| format!("ligne {i}")).collect());
        let empty = Section::new("Annulations", vec![]);
        let c = summary("Ville <A>", vec![many, empty]).render();
        assert_eq!(c.subject, "Réservations – Ville <A>");
        assert!(c.text.contains("- ligne 0\n") && c.text.contains("… et 2 autres"));
        assert!(!c.text.contains("ligne 300"), "{}", c.text);
        assert!(!c.text.contains("Annulations"), "empty sections are left out");
        assert!(
            c.html.contains("Ville &lt;A&gt;")
                && c.html.contains("<li>ligne 1</li>")
                && c.html.contains("Total\u{202f}: 3,80\u{a0}€")
        );
    }

    #[test]
    fn one_line_left_out_is_one_other() {
        assert_eq!(left_out(MAX_LISTED), None);
        assert_eq!(left_out(MAX_LISTED + 1).as_deref(), Some("… et 1 autre (le détail est dans votre Espace Famille)"));
        assert_eq!(
            left_out(MAX_LISTED + 40).as_deref(),
            Some("… et 40 autres (le détail est dans votre Espace Famille)")
        );
    }

    #[test]
    fn towns_and_months_are_elided_with_a_typographic_apostrophe() {
        assert_eq!(signature("Argenteuil"), "L’Espace Famille d’Argenteuil");
        assert_eq!(signature("Villeneuve-les-Tilleuls"), "L’Espace Famille de Villeneuve-les-Tilleuls");
        assert_eq!(signature(PORTAL), "Espace Famille");
        assert_eq!(of_month(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default()), "d’octobre 2026");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    /// Every email's rendered text and HTML, as its snapshot holds it (each snapshot test
    /// compares the rendering with it), has the French typography of `domain::fr::faults`.
    #[test]
    fn every_email_has_french_typography() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mail/templates/snapshots");
        let mut bad = Vec::new();
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(snapshot) = std::fs::read_to_string(entry.path()) else { continue };
            // The rendering comes after insta's header (between two « --- » lines).
            let body = snapshot.splitn(3, "---\n").nth(2).unwrap_or_default();
            read += 1;
            for (fault, around) in domain::fr::faults(&text_of(body)) {
                bad.push(format!("{}: {fault:?} in « {around} »", entry.file_name().to_string_lossy()));
            }
        }
        assert!(read > 30, "the snapshots are read ({read})");
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    /// The text a reader sees of an HTML email (tags dropped, the few entities it uses decoded);
    /// plain text as it is.
    fn text_of(body: &str) -> String {
        let mut out = String::with_capacity(body.len());
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }
}
