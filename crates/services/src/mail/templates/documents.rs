//! The email about a document a family sent (a medical certificate, an insurance certificate):
//! staff's decision on it.

use super::{Content, Section, Summary};
use chrono::NaiveDate;

/// Staff's decision on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted { valid_until: Option<NaiveDate> },
    Refused { reason: String },
}

/// To each guardian of the family, when staff accept or refuse a document it sent.
#[derive(Debug, Clone)]
pub struct DocumentDecision {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// The kind of document, as the town names it (« Certificat médical »).
    pub kind: String,
    /// The child it is about, by first name, if any.
    pub child: Option<String>,
    pub file_name: String,
    pub verdict: Verdict,
    /// How many bookings of an absence the document justifies (not billed).
    pub justified_bookings: usize,
}

impl DocumentDecision {
    pub fn render(&self) -> Content {
        let child = self.child.as_ref().map(|n| format!(" – {n}")).unwrap_or_default();
        let line = format!("{}{child} – {}", self.kind, self.file_name);
        let mut remarks = Vec::new();
        let title = match &self.verdict {
            Verdict::Accepted { valid_until } => {
                if let Some(v) = valid_until {
                    remarks.push(format!("Il est valable jusqu’au {}.", domain::fr::date(*v)));
                }
                "Document accepté"
            }
            Verdict::Refused { reason } => {
                remarks.push(format!("Motif\u{202f}: {reason}"));
                "Document refusé"
            }
        };
        match self.justified_bookings {
            0 => {}
            1 => {
                remarks.push("1 réservation de la période d’absence est justifiée et ne sera pas facturée.".to_owned())
            }
            n => remarks
                .push(format!("{n} réservations de la période d’absence sont justifiées et ne seront pas facturées.")),
        }
        if let Verdict::Refused { .. } = self.verdict {
            remarks.push("Vous pouvez envoyer un nouveau document depuis «\u{202f}Mes demandes\u{202f}».".to_owned());
        }
        Summary {
            town: &self.town,
            subject: title.into(),
            first_name: &self.first_name,
            intro: "Le service enfance a examiné le document que vous avez envoyé\u{202f}:".into(),
            sections: vec![Section::new(title, vec![line])],
            remarks,
            link: (format!("{}/demandes.html", self.public_url), "Voir mes demandes"),
        }
        .render()
    }
}

/// To a guardian whose email to the town's address for documents was filed: what became a
/// document of « Mes demandes », and what did not and why.
#[derive(Debug, Clone)]
pub struct InboundFiled {
    pub town: String,
    pub first_name: String,
    pub public_url: String,
    /// « Certificat médical justifiant une absence – Léa – scan.pdf (absence du 26/11/2026 au 26/11/2026) ».
    pub filed: Vec<String>,
    /// « photo.heic : ce n’est pas un fichier PDF, JPEG ou PNG valide ».
    pub skipped: Vec<String>,
}

impl InboundFiled {
    pub fn render(&self) -> Content {
        let n = self.filed.len();
        let intro = if n == 1 {
            "Nous avons bien reçu votre e-mail. Le document suivant a été ajouté à «\u{202f}Mes demandes\u{202f}» et sera examiné par le service enfance\u{202f}:".to_owned()
        } else {
            format!(
                "Nous avons bien reçu votre e-mail. Les {n} documents suivants ont été ajoutés à «\u{202f}Mes demandes\u{202f}» et seront examinés par le service enfance\u{202f}:"
            )
        };
        let mut remarks = Vec::new();
        if !self.skipped.is_empty() {
            remarks.push("Les pièces jointes non retenues peuvent être envoyées depuis «\u{202f}Mes demandes\u{202f}», au format PDF, JPEG ou PNG.".to_owned());
        }
        remarks.push("Vous recevrez un e-mail quand le service aura examiné chaque document.".to_owned());
        Summary {
            town: &self.town,
            subject: if n == 1 { "Document reçu".into() } else { "Documents reçus".into() },
            first_name: &self.first_name,
            intro,
            sections: vec![
                Section::new("Ajouté à vos demandes", self.filed.clone()),
                Section::new("Non retenu", self.skipped.clone()),
            ],
            remarks,
            link: (format!("{}/demandes.html", self.public_url), "Voir mes demandes"),
        }
        .render()
    }
}

/// The one answer to any other message sent to the town's address for documents (an unknown
/// or unauthenticated sender, no usable attachment): the same whoever sent it, so it tells
/// nothing of who has an account.
#[derive(Debug, Clone)]
pub struct InboundHowTo {
    pub town: String,
    pub public_url: String,
    /// The town's largest file, in MB.
    pub max_mb: u64,
}

impl InboundHowTo {
    pub fn render(&self) -> Content {
        Summary {
            town: &self.town,
            subject: "Envoyer un document au service enfance".into(),
            first_name: "",
            intro: "Nous avons reçu votre e-mail, mais aucun document n’a pu être enregistré.".into(),
            sections: vec![Section::new(
                "Pour envoyer un document",
                vec![
                    "depuis «\u{202f}Mes demandes\u{202f}» sur le portail, une fois connecté\u{202f};".into(),
                    format!(
                        "ou par e-mail à cette adresse, depuis l’adresse enregistrée dans votre compte, en pièce jointe au format PDF, JPEG ou PNG ({}\u{a0}Mo au plus par fichier, {} fichiers au plus), en indiquant dans l’objet «\u{202f}certificat\u{202f}», «\u{202f}dispense\u{202f}» ou «\u{202f}assurance\u{202f}», et dans le message le prénom de l’enfant et les dates d’absence.",
                        self.max_mb,
                        domain::documents::inbound::MAX_ATTACHMENTS
                    ),
                ],
            )],
            remarks: vec!["Cette réponse automatique n’est envoyée qu’une fois par jour.".into()],
            link: (format!("{}/demandes.html", self.public_url), "Ouvrir mes demandes"),
        }
        .render()
    }
}

#[cfg(test)]
mod tests {
    use super::super::whole;
    use super::*;
    use domain::testkit::d;

    fn decision(verdict: Verdict, justified_bookings: usize) -> DocumentDecision {
        DocumentDecision {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            kind: "Certificat médical".into(),
            child: Some("Léa".into()),
            file_name: "certificat-lea.pdf".into(),
            verdict,
            justified_bookings,
        }
    }

    #[test]
    fn document_decision_snapshots() {
        let accepted = decision(Verdict::Accepted { valid_until: Some(d(2027, 6, 30)) }, 3);
        insta::assert_snapshot!("document_accepted", whole(&accepted.render()));
        let refused = decision(Verdict::Refused { reason: "Le certificat n’est pas signé.".into() }, 0);
        insta::assert_snapshot!("document_refused", whole(&refused.render()));
    }

    #[test]
    fn inbound_snapshots() {
        let filed = InboundFiled {
            town: "Villeneuve-les-Tilleuls".into(),
            first_name: "Sophie".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            filed: vec![
                "Certificat médical justifiant une absence – Léa – scan.pdf (absence du 26/11/2026 au 26/11/2026)"
                    .into(),
            ],
            skipped: vec!["photo.heic\u{202f}: ce n’est pas un fichier PDF, JPEG ou PNG valide".into()],
        };
        insta::assert_snapshot!("inbound_filed", whole(&filed.render()));
        let how = InboundHowTo {
            town: "Villeneuve-les-Tilleuls".into(),
            public_url: "https://famille.villeneuve-les-tilleuls.fr".into(),
            max_mb: 10,
        };
        insta::assert_snapshot!("inbound_how_to", whole(&how.render()));
    }

    #[test]
    fn justified_bookings_are_counted_in_the_singular_and_the_plural() {
        let text = |n| decision(Verdict::Accepted { valid_until: None }, n).render().text;
        assert!(!text(0).contains("justifiée"), "{}", text(0));
        assert!(text(1).contains("\n1 réservation de la période d’absence est justifiée et ne sera pas facturée.\n"));
        assert!(
            text(2).contains("\n2 réservations de la période d’absence sont justifiées et ne seront pas facturées.\n")
        );
    }

    #[test]
    fn a_document_of_no_child_without_expiry_is_one_line() {
        let mut doc = decision(Verdict::Accepted { valid_until: None }, 0);
        doc.child = None;
        doc.kind = "Attestation d’assurance".into();
        let c = doc.render();
        assert!(c.text.contains("- Attestation d’assurance – certificat-lea.pdf\n"), "{}", c.text);
        assert!(!c.text.contains("valable") && !c.text.contains("Motif"), "{}", c.text);
    }
}
