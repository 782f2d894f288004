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

fn page(town: &str, paragraphs: &[String], link: &str, button: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>\n", esc(p))).collect();
    format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{town}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}<p><a href=\"{href}\" style=\"display: inline-block; padding: .6em 1em; background: #000091; color: #fff; text-decoration: none\">{button}</a></p>\n<p>Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :<br>{href}</p>\n<p>— L'Espace Famille de {town}</p>\n</body></html>\n",
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
            "{}\n\n{link}\n\nSi vous n'attendiez pas ce message, ignorez-le.\n\n— L'Espace Famille de {town}\n",
            paragraphs.join("\n\n")
        ),
        html: page(town, &paragraphs, link, "Activer mon compte"),
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
        text: format!("{}\n\n{link}\n\n— L'Espace Famille de {town}\n", paragraphs.join("\n\n")),
        html: page(town, &paragraphs, link, "Choisir un nouveau mot de passe"),
    }
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
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
