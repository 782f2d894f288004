//! The email telling a household its quotient familial changed when the daily refresh fetched a
//! new one from the CAF or the MSA (API Particulier).

use super::{Content, Section, Summary};

/// To each guardian of a household whose quotient the refresh changed.
#[derive(Debug, Clone)]
pub struct QuotientChanged {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// « CNAF » or « MSA ».
    pub provider: String,
    /// « novembre 2026 »: the month the quotient is for.
    pub month: String,
    pub before: Option<u32>,
    pub after: u32,
}

impl QuotientChanged {
    pub fn render(&self) -> Content {
        let funder = if self.provider == "MSA" { "la MSA" } else { "la CAF" };
        let before = match self.before {
            Some(q) => format!("Quotient familial précédent\u{202f}: {q}"),
            None => "Quotient familial précédent\u{202f}: non connu".to_owned(),
        };
        Summary {
            town: &self.town,
            subject: "Votre quotient familial a été mis à jour".into(),
            first_name: &self.first_name,
            intro: format!(
                "Avec votre accord, la commune a interrogé {funder}\u{202f}: votre quotient familial de {} est de {}.",
                self.month, self.after
            ),
            sections: vec![Section::new(
                "Quotient familial".to_owned(),
                vec![before, format!("Nouveau quotient familial\u{202f}: {}", self.after)],
            )],
            remarks: vec![
                "Il s’applique à vos prochaines réservations et aux aides de vos prochaines factures\u{202f}; les réservations déjà faites gardent leur tarif.".into(),
                "Vous pouvez retirer votre accord depuis «\u{202f}Mon compte\u{202f}».".into(),
            ],
            link: (format!("{}/index.html", self.public_url), "Ouvrir mon Espace Famille"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    #[test]
    fn quotient_changed_snapshot() {
        let c = QuotientChanged {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Thomas".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            provider: "CNAF".into(),
            month: "novembre 2026".into(),
            before: Some(540),
            after: 480,
        };
        insta::assert_snapshot!(whole(&c.render()));
    }
}
