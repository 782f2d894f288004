//! The emails of an account: its activation, a password reset. Each carries a one-time link.

use super::{Content, french_instant, of_name, page, paragraphs_html, signature};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// To a guardian (or a staff member) whose account was just created: the link that activates it.
#[derive(Debug, Clone)]
pub struct Activation {
    pub town: String,
    pub first_name: String,
    pub link: String,
    pub expires: DateTime<Utc>,
    /// The town's time zone, in which the expiry is written.
    pub tz: Tz,
}

impl Activation {
    pub fn render(&self) -> Content {
        let (town, link) = (&self.town, &self.link);
        let paragraphs = vec![
            format!("Bonjour {},", self.first_name),
            format!(
                "Votre Espace Famille {} est prêt. Il vous permet de réserver la cantine, le périscolaire, l’étude et l’accueil de loisirs de vos enfants, et de suivre vos demandes.",
                of_name(town)
            ),
            "Pour activer votre compte, ouvrez le lien ci-dessous et choisissez votre mot de passe. Vous vous connecterez ensuite avec votre adresse e-mail et ce mot de passe.".to_owned(),
            format!(
                "Ce lien ne sert qu’une fois et expire le {}. Passé ce délai, demandez-en un nouveau depuis la page de connexion.",
                french_instant(self.expires, self.tz)
            ),
        ];
        Content {
            subject: format!("Activez votre Espace Famille – {town}"),
            text: format!(
                "{}\n\n{link}\n\nSi vous n’attendiez pas ce message, ignorez-le.\n\n— {}\n",
                paragraphs.join("\n\n"),
                signature(town)
            ),
            html: page(town, &paragraphs_html(&paragraphs), link, "Activer mon compte"),
        }
    }
}

/// To whoever asked to reset the password of an account: the link to choose a new one.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    pub town: String,
    pub first_name: String,
    pub link: String,
    pub expires: DateTime<Utc>,
    pub tz: Tz,
}

impl PasswordReset {
    pub fn render(&self) -> Content {
        let (town, link) = (&self.town, &self.link);
        let paragraphs = vec![
            format!("Bonjour {},", self.first_name),
            format!("Une réinitialisation du mot de passe de votre Espace Famille {} a été demandée.", of_name(town)),
            format!(
                "Pour choisir un nouveau mot de passe, ouvrez le lien ci-dessous. Il ne sert qu’une fois et expire le {}.",
                french_instant(self.expires, self.tz)
            ),
            "Si vous n’êtes pas à l’origine de cette demande, ignorez ce message\u{202f}: votre mot de passe actuel reste valable.".to_owned(),
        ];
        Content {
            subject: format!("Réinitialisation de votre mot de passe – {town}"),
            text: format!("{}\n\n{link}\n\n— {}\n", paragraphs.join("\n\n"), signature(town)),
            html: page(town, &paragraphs_html(&paragraphs), link, "Choisir un nouveau mot de passe"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;
    use domain::testkit::at;

    fn activation(town: &str) -> Activation {
        Activation {
            town: town.into(),
            first_name: "Sophie".into(),
            link: "https://famille.villeneuve-les-tilleuls.fr/activation.html?commune=villeneuve-les-tilleuls#jeton=k3Xw9q".into(),
            expires: at(2026, 12, 3, 11, 30),
            tz: chrono_tz::Europe::Paris,
        }
    }

    #[test]
    fn activation_snapshot() {
        let c = activation("Villeneuve-les-Tilleuls").render();
        insta::assert_snapshot!(whole(&c));
        insta::assert_snapshot!("activation_html", c.html);
    }

    #[test]
    fn password_reset_snapshot() {
        let c = PasswordReset {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            link: "https://famille.villeneuve-les-tilleuls.fr/mot-de-passe.html?commune=villeneuve-les-tilleuls#jeton=p8Rt2m".into(),
            expires: at(2026, 11, 20, 18, 45),
            tz: chrono_tz::Europe::Paris,
        };
        insta::assert_snapshot!(whole(&c.render()));
    }

    #[test]
    fn the_expiry_is_in_the_towns_time_and_the_town_is_escaped_in_html() {
        let c = activation("Saint-Jean & Co").render();
        assert_eq!(c.subject, "Activez votre Espace Famille – Saint-Jean & Co");
        assert!(c.text.contains("#jeton=k3Xw9q\n"));
        assert!(c.text.contains("expire le 03/12/2026 à 11\u{a0}h\u{a0}30"), "{}", c.text);
        assert!(c.html.contains("Saint-Jean &amp; Co") && !c.html.contains("Saint-Jean & Co"));
        assert!(c.html.contains("<html lang=\"fr\">"));
    }

    #[test]
    fn a_town_starting_with_a_vowel_is_elided() {
        let c = activation("Argenteuil").render();
        assert!(c.text.contains("Votre Espace Famille d’Argenteuil est prêt."), "{}", c.text);
        assert!(c.text.ends_with("— L’Espace Famille d’Argenteuil\n"), "{}", c.text);
    }
}
