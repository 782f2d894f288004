//! The emails parents and staff receive, in French, as plain text and HTML.

use super::outbox::Content;
use chrono::{DateTime, Utc};
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

fn french_instant(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d/%m/%Y à %Hh%M").to_string()
}

fn paragraphs_html(paragraphs: &[String]) -> String {
    paragraphs.iter().map(|p| format!("<p>{}</p>\n", esc(p))).collect()
}

/// The portal's own name, as the sender of what is not one town's (the operator's emails).
pub const PORTAL: &str = "Espace Famille";

/// « L'Espace Famille de Villeneuve-les-Tilleuls », « L'Espace Famille d'Argenteuil »; the
/// portal's own emails are signed « Espace Famille ».
fn signature(town: &str) -> String {
    if town == PORTAL { PORTAL.to_owned() } else { format!("L'Espace Famille {}", domain::fr::of_name(town)) }
}

/// The HTML email around `body` (already escaped), with the link as a button.
fn page(town: &str, body: &str, link: &str, button: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{town}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}<p><a href=\"{href}\" style=\"display: inline-block; padding: .6em 1em; background: #000091; color: #fff; text-decoration: none\">{button}</a></p>\n<p>Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :<br>{href}</p>\n<p>— {signed}</p>\n</body></html>\n",
        signed = esc(&signature(town)),
        town = esc(town),
        href = esc(link),
        button = esc(button),
    )
}

/// The activation email of a new account.
pub fn activation(town: &str, first_name: &str, link: &str, expires: DateTime<Utc>, tz: Tz) -> Content {
    let until = french_instant(expires, tz);
    let paragraphs = vec![
        format!("Bonjour {first_name},"),
        format!("Votre Espace Famille de {town} est prêt. Il vous permet de réserver la cantine, le périscolaire, l'étude et l'accueil de loisirs de vos enfants, et de suivre vos demandes."),
        "Pour activer votre compte, ouvrez le lien ci-dessous et choisissez votre mot de passe. Vous vous connecterez ensuite avec votre adresse e-mail et ce mot de passe.".to_owned(),
        format!("Ce lien ne sert qu'une fois et expire le {until}. Passé ce délai, demandez-en un nouveau depuis la page de connexion."),
    ];
    Content {
        subject: format!("Activez votre Espace Famille – {town}"),
        text: format!(
            "{}\n\n{link}\n\nSi vous n'attendiez pas ce message, ignorez-le.\n\n— {}\n",
            paragraphs.join("\n\n"),
            signature(town)
        ),
        html: page(town, &paragraphs_html(&paragraphs), link, "Activer mon compte"),
    }
}

/// The password reset email.
pub fn reset(town: &str, first_name: &str, link: &str, expires: DateTime<Utc>, tz: Tz) -> Content {
    let until = french_instant(expires, tz);
    let paragraphs = vec![
        format!("Bonjour {first_name},"),
        format!("Une réinitialisation du mot de passe de votre Espace Famille de {town} a été demandée."),
        format!("Pour choisir un nouveau mot de passe, ouvrez le lien ci-dessous. Il ne sert qu'une fois et expire le {until}."),
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.".to_owned(),
    ];
    Content {
        subject: format!("Réinitialisation de votre mot de passe – {town}"),
        text: format!("{}\n\n{link}\n\n— {}\n", paragraphs.join("\n\n"), signature(town)),
        html: page(town, &paragraphs_html(&paragraphs), link, "Choisir un nouveau mot de passe"),
    }
}

/// A titled list in a summary email (« Réservations confirmées », then one line per booking).
pub struct Section {
    pub title: String,
    pub lines: Vec<String>,
}

/// The most lines an email lists per section; the rest are counted (a school year's basket
/// would otherwise make an email nobody reads).
pub const MAX_LISTED: usize = 300;

/// A summary of changes: greeting, introduction, titled lists, closing remarks, a link to the
/// guardian's reservations.
pub fn summary(
    town: &str,
    subject: &str,
    first_name: &str,
    intro: &str,
    sections: &[Section],
    remarks: &[String],
    link: &str,
) -> Content {
    summary_to(town, subject, first_name, intro, sections, remarks, (link, "Voir mes réservations"))
}

/// [`summary`] with another link: (address, the button's words).
pub fn summary_to(
    town: &str,
    subject: &str,
    first_name: &str,
    intro: &str,
    sections: &[Section],
    remarks: &[String],
    (link, button): (&str, &str),
) -> Content {
    let greeting = if first_name.is_empty() { "Bonjour,".to_owned() } else { format!("Bonjour {first_name},") };
    let mut text = format!("{greeting}\n\n{intro}\n");
    let mut html = format!("<p>{}</p>\n<p>{}</p>\n", esc(&greeting), esc(intro));
    for section in sections.iter().filter(|s| !s.lines.is_empty()) {
        text.push_str(&format!("\n{} :\n", section.title));
        html.push_str(&format!("<h2 style=\"font-size: 1.1em\">{}</h2>\n<ul>\n", esc(&section.title)));
        for line in section.lines.iter().take(MAX_LISTED) {
            text.push_str(&format!("- {line}\n"));
            html.push_str(&format!("<li>{}</li>\n", esc(line)));
        }
        if section.lines.len() > MAX_LISTED {
            let more =
                format!("… et {} autres (le détail est dans votre Espace Famille)", section.lines.len() - MAX_LISTED);
            text.push_str(&format!("- {more}\n"));
            html.push_str(&format!("<li>{}</li>\n", esc(&more)));
        }
        html.push_str("</ul>\n");
    }
    for r in remarks {
        text.push_str(&format!("\n{r}\n"));
        html.push_str(&format!("<p>{}</p>\n", esc(r)));
    }
    text.push_str(&format!("\n{link}\n\n— {}\n", signature(town)));
    Content { subject: format!("{subject} – {town}"), text, html: page(town, &html, link, button) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn activation_email_is_french_with_the_link_and_expiry_in_local_time() {
        let expires = Utc.with_ymd_and_hms(2026, 12, 3, 10, 30, 0).unwrap();
        let c = activation(
            "Saint-Jean & Co",
            "Léa",
            "https://portail.example/activation.html#jeton=abc",
            expires,
            chrono_tz::Europe::Paris,
        );
        assert_eq!(c.subject, "Activez votre Espace Famille – Saint-Jean & Co");
        assert!(c.text.contains("https://portail.example/activation.html#jeton=abc"));
        assert!(c.text.contains("03/12/2026 à 11h30"), "{}", c.text);
        assert!(c.html.contains("Saint-Jean &amp; Co") && !c.html.contains("Saint-Jean & Co"));
        assert!(c.html.contains("<html lang=\"fr\">"));
    }

    #[test]
    fn summary_lists_each_section_escaped_and_counts_what_it_leaves_out() {
        let many = Section {
            title: "Réservations".into(),
            lines: (0..MAX_LISTED + 2).map(|i| format!("ligne {i}")).collect(),
        };
        let empty = Section { title: "Annulations".into(), lines: vec![] };
        let c = summary(
            "Ville <A>",
            "Réservations",
            "Léa",
            "Voici vos réservations.",
            &[many, empty],
            &["Total : 3,80 €".into()],
            "https://p/",
        );
        assert_eq!(c.subject, "Réservations – Ville <A>");
        assert!(c.text.contains("- ligne 0\n") && c.text.contains("… et 2 autres"));
        assert!(!c.text.contains("Annulations"), "empty sections are left out");
        assert!(
            c.html.contains("Ville &lt;A&gt;")
                && c.html.contains("<li>ligne 1</li>")
                && c.html.contains("Total : 3,80 €")
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
