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

    /// Sends one email; the error says why, for the outbox's record.
    pub async fn send(&self, mail: &Mail) -> Result<(), String> {
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
                    .from_email_address(from)
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
