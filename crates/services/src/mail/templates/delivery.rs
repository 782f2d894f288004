//! What delivery events make the portal write: to a family's other guardian, when an email
//! that mattered (an activation, an invoice) could not reach the first.

use super::{Content, of_name, page, paragraphs_html, signature};

/// To the other guardian: the first one's address bounced.
#[derive(Debug, Clone)]
pub struct Undelivered {
    pub town: String,
    /// The guardian written to.
    pub first_name: String,
    /// The guardian the email did not reach, and the address it was sent to.
    pub other: String,
    pub address: String,
    /// The undelivered email's subject.
    pub subject: String,
    pub public_url: String,
}

impl Undelivered {
    pub fn render(&self) -> Content {
        let town = &self.town;
        let link = format!("{}/index.html", self.public_url);
        let paragraphs = vec![
            format!("Bonjour {},", self.first_name),
            format!(
                "L’e-mail «\u{202f}{}\u{202f}» envoyé à {} à l’adresse {} n’a pas pu lui être remis\u{202f}: le serveur de messagerie l’a refusé.",
                self.subject, self.other, self.address
            ),
            format!(
                "Si cette adresse n’est plus la bonne, indiquez la nouvelle au service famille {}\u{202f}: il la corrigera et renverra le message.",
                of_name(town)
            ),
        ];
        Content {
            subject: format!("Un e-mail n’a pas pu être remis – {town}"),
            text: format!("{}\n\n{link}\n\n— {}\n", paragraphs.join("\n\n"), signature(town)),
            html: page(town, &paragraphs_html(&paragraphs), &link, "Ouvrir mon Espace Famille"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    #[test]
    fn undelivered_snapshot() {
        let c = Undelivered {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Marc".into(),
            other: "Sophie Martin".into(),
            address: "sophie.martin@exemple.fr".into(),
            subject: "Activez votre Espace Famille – Villeneuve-les-Tilleuls".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
        }
        .render();
        insta::assert_snapshot!(whole(&c));
        assert!(c.html.contains("sophie.martin@exemple.fr"));
    }
}
