//! The email about a child's file: staff ask the guardians to correct it, saying why.

use super::{Content, Section, Summary};

/// To each guardian of the child's families, when staff ask for a correction of the file.
#[derive(Debug, Clone)]
pub struct FileCorrection {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// The child's first name.
    pub child: String,
    /// The child's id, for the link to the file.
    pub child_id: String,
    /// Staff's reason, as typed.
    pub reason: String,
}

impl FileCorrection {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: format!("Fiche de {}\u{202f}: correction demandée", self.child),
            first_name: &self.first_name,
            intro: format!("Le service enfance a relu la fiche de {} et vous demande de la corriger.", self.child),
            sections: vec![Section::new("Motif", vec![self.reason.clone()])],
            remarks: vec!["Une fois la fiche corrigée, le service enfance la relira.".to_owned()],
            link: (format!("{}/fiche.html?enfant={}", self.public_url, self.child_id), "Corriger la fiche"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;

    #[test]
    fn file_correction_snapshot() {
        let mail = FileCorrection {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            child: "Léa".into(),
            child_id: "lea-martin".into(),
            reason: "Le numéro du médecin traitant est incomplet.".into(),
        };
        insta::assert_snapshot!("file_correction", whole(&mail.render()));
    }
}
