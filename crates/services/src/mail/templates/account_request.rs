//! The email about a new family's request for an account (« Créer mon espace famille »), when
//! staff refuse it. (An accepted request sends the activation email, as an import does.)

use super::{Content, Section, Summary};

/// To each guardian the request named, when staff refuse it, saying why.
#[derive(Debug, Clone)]
pub struct RequestRefusedMail {
    pub town: String,
    /// The town's id, for the link to a new request.
    pub town_id: String,
    pub first_name: String,
    pub public_url: String,
    /// Staff's reason, as typed.
    pub reason: String,
}

impl RequestRefusedMail {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: "Votre demande d’Espace Famille n’a pas été acceptée".to_owned(),
            first_name: &self.first_name,
            intro: "Le service enfance a examiné votre demande de création d’un Espace Famille et ne l’a pas acceptée."
                .to_owned(),
            sections: vec![Section::new("Motif", vec![self.reason.clone()])],
            remarks: vec![
                "Aucun compte n’a été créé et les informations de votre demande seront effacées dans 30\u{a0}jours."
                    .to_owned(),
                "Si la situation change, vous pouvez faire une nouvelle demande ou contacter le service enfance."
                    .to_owned(),
            ],
            link: (
                format!("{}/creer-mon-espace.html?commune={}", self.public_url, self.town_id),
                "Faire une nouvelle demande",
            ),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    #[test]
    fn request_refused_snapshot() {
        let mail = RequestRefusedMail {
            town: "Villeneuve-les-Tilleuls".into(),
            town_id: "villeneuve-les-tilleuls".into(),
            first_name: "Nadia".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            reason: "Votre adresse n’est pas sur la commune.".into(),
        };
        insta::assert_snapshot!("account_request_refused", whole(&mail.render()));
    }
}
