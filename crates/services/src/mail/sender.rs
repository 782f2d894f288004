//! Where emails go: Amazon SES v2 in AWS, a folder of JSON files on one machine.

use super::outbox::Mail;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader, MessageTag};
use std::path::PathBuf;

#[derive(Clone)]
pub enum Mailer {
    Ses {
        client: aws_sdk_sesv2::Client,
        from: String,
        /// The SES configuration set whose events come back to the portal
        /// (`deliverability`); every email names it, with its town and id as tags.
        configuration_set: Option<String>,
    },
    /// Each email becomes `<dir>/<created>-<id>.json`; the local portal lists them at
    /// `/dev/mail` so a person trying the demo can follow the links.
    Folder(PathBuf),
}

impl Mailer {
    /// SES v2 configured from the environment; `from` is the verified sender.
    pub async fn ses_from_env(from: String, configuration_set: Option<String>) -> Mailer {
        let conf = store::aws::sdk_config().await;
        Mailer::Ses { client: aws_sdk_sesv2::Client::new(&conf), from, configuration_set }
    }

    /// SES v2 on an emulator at `endpoint` (moto in tests), with placeholder credentials.
    pub async fn ses_for_emulator(endpoint: &str, from: String) -> Mailer {
        Mailer::Ses {
            client: aws_sdk_sesv2::Client::new(&store::aws::emulator_config(endpoint).await),
            from,
            configuration_set: None,
        }
    }

    /// Sends one email as `envelope` says (its sender's name, where replies go); the error says
    /// why, for the outbox's record.
    pub async fn send(&self, mail: &Mail, envelope: &Envelope) -> Result<(), String> {
        match self {
            Mailer::Ses { client, from, configuration_set } => {
                let utf8 = |s: &str| Content::builder().data(s).charset("UTF-8").build().map_err(|e| e.to_string());
                let headers = mail
                    .extra_headers()
                    .into_iter()
                    .map(|(name, value)| {
                        MessageHeader::builder().name(name).value(value).build().map_err(|e| e.to_string())
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let message = Message::builder()
                    .subject(utf8(&mail.content.subject)?)
                    .body(Body::builder().text(utf8(&mail.content.text)?).html(utf8(&mail.content.html)?).build())
                    .set_headers((!headers.is_empty()).then_some(headers))
                    .build();
                let tag = |name: &str, value: &str| {
                    MessageTag::builder().name(name).value(value).build().map_err(|e| e.to_string())
                };
                client
                    .send_email()
                    .from_email_address(envelope.from(from))
                    .set_reply_to_addresses(envelope.reply_to.clone().map(|r| vec![r]))
                    .set_configuration_set_name(configuration_set.clone())
                    .email_tags(tag("town", mail.town.as_str())?)
                    .email_tags(tag("mail", &mail.id)?)
                    .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{}", aws_sdk_sesv2::error::DisplayErrorContext(e)))
            }
            Mailer::Folder(dir) => {
                let name = format!("{}-{}.json", mail.created_at.format("%Y%m%dT%H%M%S"), mail.id);
                let json = serde_json::to_vec_pretty(mail).map_err(|e| e.to_string())?;
                tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
                tokio::fs::write(dir.join(name), json).await.map_err(|e| e.to_string())
            }
        }
    }
}

/// Who an email is from and where replies go, from its town's configuration: the town's name
/// as the sender's display name (the address stays the verified sender), the régie's email as
/// `Reply-To` when the town gives one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub name: Option<String>,
    pub reply_to: Option<String>,
}

impl Envelope {
    /// The envelope of the emails of `town`.
    pub fn of(town: &domain::config::TownConfig) -> Envelope {
        Envelope { name: Some(town.name.clone()), reply_to: town.billing.email.clone() }
    }

    /// The `From` SES is given: `"Name" <address>`, the name as an RFC 2047 encoded word when it
    /// is not plain ASCII (SES's rule for display names), or the bare address without a name.
    pub fn from(&self, address: &str) -> String {
        let Some(name) = self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
            return address.to_owned();
        };
        let printable = name.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
        if printable {
            let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{quoted}\" <{address}>")
        } else {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(name.as_bytes());
            format!("=?UTF-8?B?{encoded}?= <{address}>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Envelope;

    fn named(name: &str) -> Envelope {
        Envelope { name: Some(name.into()), reply_to: None }
    }

    #[test]
    fn the_sender_is_named_after_the_town_encoded_when_not_ascii() {
        assert_eq!(Envelope::default().from("portail@ville.fr"), "portail@ville.fr");
        assert_eq!(named("Saint-Malo").from("portail@ville.fr"), "\"Saint-Malo\" <portail@ville.fr>");
        assert_eq!(named(r#"La "Ville""#).from("p@v.fr"), r#""La \"Ville\"" <p@v.fr>"#);
        // « Villeneuve-lès-Tilleuls » in UTF-8, base64.
        assert_eq!(
            named("Villeneuve-lès-Tilleuls").from("p@v.fr"),
            "=?UTF-8?B?VmlsbGVuZXV2ZS1sw6hzLVRpbGxldWxz?= <p@v.fr>"
        );
        assert_eq!(named("  ").from("p@v.fr"), "p@v.fr");
    }
}
