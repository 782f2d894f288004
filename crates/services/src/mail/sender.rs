//! Where emails go: Amazon SES v2 in AWS (raw MIME), a folder of `.eml` files on one machine.

use super::outbox::Mail;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
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
    /// Each email becomes `<dir>/<created>-<id>.eml`, the bytes SES would get; the local portal
    /// lists them at `/dev/mail` so a person trying the demo can follow the links.
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
    /// why, for the outbox's record. SES gets the raw message ([`message`]) with the sender
    /// also named as `FromEmailAddress` (what the IAM condition `ses:FromAddress` reads); the
    /// folder gets the same bytes as `<created>-<id>.eml`.
    pub async fn send(&self, mail: &Mail, envelope: &Envelope) -> Result<(), String> {
        match self {
            Mailer::Ses { client, from, configuration_set } => {
                let raw = message(mail, envelope, from)?;
                let tag = |name: &str, value: &str| {
                    MessageTag::builder().name(name).value(value).build().map_err(|e| e.to_string())
                };
                let raw = RawMessage::builder().data(Blob::new(raw)).build().map_err(|e| e.to_string())?;
                client
                    .send_email()
                    .from_email_address(envelope.from(from))
                    .set_configuration_set_name(configuration_set.clone())
                    .email_tags(tag("town", mail.town.as_str())?)
                    .email_tags(tag("mail", &mail.id)?)
                    .destination(Destination::builder().to_addresses(mail.to.as_str()).build())
                    .content(EmailContent::builder().raw(raw).build())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{}", aws_sdk_sesv2::error::DisplayErrorContext(e)))
            }
            Mailer::Folder(dir) => {
                let name = format!("{}-{}.eml", mail.created_at.format("%Y%m%dT%H%M%S"), mail.id);
                let raw = message(mail, envelope, &format!("portail@{LOCAL_DOMAIN}"))?;
                tokio::fs::create_dir_all(dir).await.map_err(|e| e.to_string())?;
                tokio::fs::write(dir.join(name), raw).await.map_err(|e| e.to_string())
            }
        }
    }
}

/// The sender's domain of the local portal's emails (its folder).
pub const LOCAL_DOMAIN: &str = "espace-famille.localhost";

/// The attachment's name of a booking confirmation's days.
pub const CALENDAR_FILE: &str = "reservations.ics";

/// The email's `Message-ID`, without its angle brackets: the outbox item's id and its town at
/// the sender's domain, so a retry of the same email carries the same one.
pub fn message_id(mail: &Mail, from: &str) -> String {
    let domain = from.rsplit_once('@').map_or(LOCAL_DOMAIN, |(_, d)| d.trim_end_matches('>'));
    let safe = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
    };
    format!("{}.{}@{domain}", safe(&mail.id), safe(mail.town.as_str()))
}

/// The email as sent (RFC 5322, MIME): `From` the town's name and the verified sender `from`,
/// `To`, `Reply-To` when the town gives one, `Subject`, `Date` (when it was written: a retry
/// says the same), our [`message_id`], a reminder's `List-Unsubscribe` headers, the text and
/// HTML as `multipart/alternative`, and a booking confirmation's days as a `text/calendar`
/// attachment (`multipart/mixed` around them).
pub fn message(mail: &Mail, envelope: &Envelope, from: &str) -> Result<Vec<u8>, String> {
    use mail_builder::MessageBuilder;
    use mail_builder::headers::content_type::ContentType;
    use mail_builder::headers::raw::Raw;
    let name = envelope.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let mut builder = MessageBuilder::new()
        .from(match name {
            Some(name) => mail_builder::headers::address::Address::new_address(Some(name), from),
            None => mail_builder::headers::address::Address::new_address(None::<&str>, from),
        })
        .to(mail.to.as_str())
        .subject(mail.content.subject.as_str())
        .date(mail.created_at.timestamp())
        .message_id(message_id(mail, from))
        .text_body(mail.content.text.as_str())
        .html_body(mail.content.html.as_str());
    if let Some(reply_to) = &envelope.reply_to {
        builder = builder.reply_to(reply_to.as_str());
    }
    for (header, value) in mail.extra_headers() {
        builder = builder.header(header, Raw::new(value));
    }
    if let Some(ics) = &mail.calendar {
        let kind = ContentType::new("text/calendar").attribute("charset", "utf-8").attribute("method", "PUBLISH");
        builder = builder.attachment(kind, CALENDAR_FILE, ics.as_bytes());
    }
    builder.write_to_vec().map_err(|e| e.to_string())
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
