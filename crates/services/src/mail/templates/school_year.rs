//! The emails of the school year: the campaign's reminder to families whose enrolment still
//! needs them. Not a preference: while the campaign requires action, it goes whatever the
//! reminders setting (the enrolment is what opens the year's bookings).

use super::{Content, Section, Summary};
use chrono::NaiveDate;

/// To each guardian of a family whose enrolment for the year still needs action, on a day the
/// town set.
#[derive(Debug, Clone)]
pub struct CampaignReminder {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// « 2027-2028 ».
    pub year: String,
    pub closes_on: NaiveDate,
    /// Per child: « Léa : attestation d’assurance manquante », « Hugo : non commencé ».
    pub children: Vec<String>,
}

impl CampaignReminder {
    pub fn render(&self) -> Content {
        let year = &self.year;
        Summary {
            town: &self.town,
            subject: format!("Inscriptions {year}\u{202f}: votre dossier est à compléter"),
            first_name: &self.first_name,
            intro: format!(
                "Les inscriptions pour l’année scolaire {year} ferment le {}. Votre dossier n’est pas encore complet\u{202f}:",
                domain::fr::date(self.closes_on)
            ),
            sections: vec![Section::new("À compléter", self.children.clone())],
            remarks: vec![
                "Les réservations de la nouvelle année s’ouvrent aux enfants inscrits dont le dossier est complet.".into(),
            ],
            link: (format!("{}/inscriptions.html?annee={year}", self.public_url), "Compléter mon dossier"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;
    use domain::testkit::d;

    #[test]
    fn campaign_reminder_snapshot() {
        let r = CampaignReminder {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            year: "2027-2028".into(),
            closes_on: d(2027, 7, 9),
            children: vec![
                "Hugo\u{202f}: attestation d’assurance manquante".into(),
                "Jade\u{202f}: non commencé".into(),
            ],
        };
        insta::assert_snapshot!("campaign_reminder", whole(&r.render()));
    }
}
