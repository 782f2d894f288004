//! The portal's own emails, to its operator and signed « Espace Famille ».

use super::{Content, PORTAL, Section, Summary};

/// To the operator, when a town hall writes through the public contact form; its button answers
/// the sender.
#[derive(Debug, Clone)]
pub struct TownContact {
    /// The town the sender writes for, as typed.
    pub town: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub message: String,
}

impl TownContact {
    pub fn render(&self) -> Content {
        let lines = vec![
            format!("Commune\u{202f}: {}", self.town),
            format!("Nom\u{202f}: {}", self.name),
            format!("E-mail\u{202f}: {}", self.email),
            format!("Téléphone\u{202f}: {}", self.phone.as_deref().unwrap_or("non indiqué")),
        ];
        Summary {
            town: PORTAL,
            subject: format!("Demande de contact d’une mairie\u{202f}: {}", self.town),
            first_name: "",
            intro: "Une mairie souhaite en savoir plus sur l’Espace Famille.".into(),
            sections: vec![
                Section::new("Contact", lines),
                Section::new("Message", self.message.lines().map(str::to_owned).collect()),
            ],
            remarks: vec![],
            link: (format!("mailto:{}", self.email), &format!("Répondre à {}", self.name)),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    fn contact(phone: Option<&str>) -> TownContact {
        TownContact {
            town: "Saint-Martin-des-Champs".into(),
            name: "Claire Dubois".into(),
            email: "claire@saint-martin.example".into(),
            phone: phone.map(str::to_owned),
            message: "Bonjour,\nNous aimerions une démonstration pour nos agents.\nMerci.".into(),
        }
    }

    #[test]
    fn town_contact_snapshot() {
        insta::assert_snapshot!(whole(&contact(Some("01 23 45 67 89")).render()));
    }

    #[test]
    fn a_contact_without_phone_says_so_and_answers_the_sender() {
        let c = contact(None).render();
        assert!(c.text.contains("- Téléphone\u{202f}: non indiqué\n"), "{}", c.text);
        assert!(c.text.starts_with("Bonjour,\n\n"), "{}", c.text);
        assert!(c.text.ends_with("\nmailto:claire@saint-martin.example\n\n— Espace Famille\n"), "{}", c.text);
        assert!(c.html.contains(">Répondre à Claire Dubois</a>"), "{}", c.html);
    }
}
