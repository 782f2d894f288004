//! The email telling a household its yearly tax certificate for childcare is in « Mes factures »
//! (when staff publish the year's certificates).

use super::{Content, Section, Summary};
use domain::Cents;

/// To each guardian of a household with a certificate for `year`.
#[derive(Debug, Clone)]
pub struct TaxCertificateReady {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    pub year: i32,
    pub number: String,
    /// « Jade Martin » for each child on it.
    pub children: Vec<String>,
    pub total: Cents,
}

impl TaxCertificateReady {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: format!("Votre attestation fiscale {} pour frais de garde", self.year),
            first_name: &self.first_name,
            intro: format!(
                "Votre attestation fiscale {} (n° {}) est disponible dans «\u{202f}Mes factures\u{202f}»\u{202f}: elle indique ce que vous avez payé en {} pour la garde de vos enfants de moins de 6 ans, repas exclus.",
                self.year, self.number, self.year
            ),
            sections: vec![Section::new(
                format!("Attestation n° {}", self.number),
                self.children
                    .iter()
                    .map(|c| format!("Enfant\u{202f}: {c}"))
                    .chain(std::iter::once(format!("Total payé pour la garde\u{202f}: {}", self.total)))
                    .collect(),
            )],
            remarks: vec![
                "Ce montant se déclare avec vos revenus, au titre des frais de garde des enfants de moins de 6 ans.".into(),
            ],
            link: (format!("{}/factures.html", self.public_url), "Télécharger mon attestation"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    #[test]
    fn tax_certificate_ready_snapshot() {
        let c = TaxCertificateReady {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            year: 2026,
            number: "AF-2026-martin".into(),
            children: vec!["Jade Martin".into()],
            total: Cents::new(3720).unwrap_or(Cents::ZERO),
        };
        insta::assert_snapshot!(whole(&c.render()));
    }
}
