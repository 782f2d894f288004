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
    use super::{CALENDAR_FILE, Envelope, message, message_id};
    use crate::mail::outbox::{Content, Mail};
    use crate::mail::templates::{BookedDay, accounts, billing, bookings, delivery};
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use domain::delivery::MailKind;
    use domain::family::Email;
    use domain::{Cents, TownId};
    use mail_parser::{MessageParser, MimeHeaders, PartType};

    const SENDER: &str = "portail@villeneuve-les-tilleuls.fr";
    const URL: &str = "https://famille.villeneuve-les-tilleuls.fr";

    fn named(name: &str) -> Envelope {
        Envelope { name: Some(name.into()), reply_to: None }
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Paris.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().to_utc()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn mail(id: &str, content: Content, kind: MailKind) -> Mail {
        let to = Email::parse("sophie.martin@exemple.fr").unwrap();
        let mut mail =
            Mail::new(&TownId::parse("villeneuve-les-tilleuls").unwrap(), &to, content, at(2026, 12, 6, 9, 0));
        mail.id = id.into();
        mail.of_kind(kind)
    }

    /// One email of each kind the portal sends, as its templates write them and its code
    /// queues them (a reminder with its unsubscribe URL, a confirmation with its days).
    fn one_of_each_kind() -> Vec<(&'static str, Mail)> {
        let town = "Villeneuve-lès-Tilleuls";
        let activation = accounts::Activation {
            town: town.into(),
            first_name: "Sophie".into(),
            link: format!("{URL}/activation.html?commune=villeneuve-les-tilleuls#jeton=k3Xw9q"),
            expires: at(2026, 12, 9, 11, 30),
            tz: chrono_tz::Europe::Paris,
        }
        .render();
        let reset = accounts::PasswordReset {
            town: town.into(),
            first_name: "Sophie".into(),
            link: format!("{URL}/mot-de-passe.html?commune=villeneuve-les-tilleuls#jeton=p8Rt2m"),
            expires: at(2026, 12, 6, 18, 45),
            tz: chrono_tz::Europe::Paris,
        }
        .render();
        let invoice = billing::InvoicePublished {
            town: town.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            month: day(2026, 11, 1),
            number: "2026-000003".into(),
            total: Cents::new(4_250).unwrap(),
            due: "À payer avant le 15/12/2026".into(),
        }
        .render();
        let reminder = bookings::HolidayReminder {
            town: town.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            reminder: domain::operations::Reminder::Opening,
            period: "Vacances d’hiver".into(),
            first: day(2027, 2, 22),
            last: day(2027, 3, 5),
            deadline: at(2027, 2, 8, 23, 59),
            tz: chrono_tz::Europe::Paris,
            unbooked: vec!["Léa".into()],
            unsubscribe: format!("{URL}/desabonnement.html?commune=villeneuve-les-tilleuls#jeton=abc"),
        }
        .render();
        let lea = |date| BookedDay { date, child: "Léa".into(), unit: "Cantine".into() };
        let confirmation = bookings::BasketConfirmation {
            town: town.into(),
            first_name: "Sophie".into(),
            public_url: URL.into(),
            made_by: bookings::MadeBy::Family,
            lines: vec![
                (lea(day(2026, 12, 8)), bookings::BasketOutcome::Booked { price: Cents::new(400).unwrap() }),
                (lea(day(2026, 12, 10)), bookings::BasketOutcome::Booked { price: Cents::new(400).unwrap() }),
            ],
            total: Cents::new(800).unwrap(),
        }
        .render();
        // What `edge::ics::confirmation` writes (tested there), short.
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Espace Famille//Réservations//FR\r\nMETHOD:PUBLISH\r\n\
                   BEGIN:VEVENT\r\nUID:villeneuve-les-tilleuls-lea-martin-2026-12-08-cantine@espace-famille\r\n\
                   DTSTART;VALUE=DATE:20261208\r\nDTEND;VALUE=DATE:20261209\r\nSUMMARY:Léa\u{202f}: Cantine\r\n\
                   END:VEVENT\r\nEND:VCALENDAR\r\n"
            .to_owned();
        let undelivered = delivery::Undelivered {
            town: town.into(),
            first_name: "Julien".into(),
            other: "Sophie".into(),
            address: "sophie.martin@exemple.fr".into(),
            subject: "Activez votre Espace Famille – Villeneuve-lès-Tilleuls".into(),
            public_url: URL.into(),
        }
        .render();
        vec![
            ("activation", mail("act-1", activation, MailKind::Account)),
            ("password_reset", mail("reset-1", reset, MailKind::Account)),
            ("invoice", mail("inv-1", invoice, MailKind::Invoice)),
            (
                "holiday_reminder",
                mail("rem-1", reminder, MailKind::Reminder)
                    .with_unsubscribe(format!("{URL}/api/towns/villeneuve-les-tilleuls/unsubscribe/abc")),
            ),
            ("booking_confirmation", mail("val-1-0", confirmation, MailKind::Transactional).with_calendar(ics)),
            ("undelivered", mail("und-1", undelivered, MailKind::Transactional)),
        ]
    }

    /// The message's headers (boundaries replaced: they change with each build) and the tree of
    /// its parts: what a mail client sees of it, for the snapshot.
    fn outline(raw: &[u8]) -> String {
        let text = String::from_utf8(raw.to_vec()).unwrap();
        let head = &text[..text.find("\r\n\r\n").unwrap()];
        let parsed = MessageParser::default().parse(raw).unwrap();
        let mut out = String::new();
        for line in head.split("\r\n") {
            let line = match line.find("boundary=\"") {
                Some(at) => format!("{}boundary=\"…\"", &line[..at]),
                None => line.to_owned(),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str("--\n");
        fn walk(m: &mail_parser::Message, id: u32, depth: usize, out: &mut String) {
            let part = m.part(id).unwrap();
            let ct = part.content_type().unwrap();
            let mut line = format!("{}{}/{}", "  ".repeat(depth), ct.ctype(), ct.subtype().unwrap_or(""));
            for key in ["charset", "method"] {
                if let Some(v) = ct.attribute(key) {
                    line.push_str(&format!("; {key}={v}"));
                }
            }
            if let Some(name) = part.attachment_name() {
                line.push_str(&format!(" attachment {name:?}"));
            }
            out.push_str(&line);
            out.push('\n');
            if let PartType::Multipart(children) = &part.body {
                for c in children {
                    walk(m, *c, depth + 1, out);
                }
            }
        }
        walk(&parsed, 0, 0, &mut out);
        out
    }

    #[test]
    fn each_kind_of_email_carries_its_headers_and_parts() {
        let envelope = Envelope {
            name: Some("Villeneuve-lès-Tilleuls".into()),
            reply_to: Some("regie@villeneuve-les-tilleuls.fr".into()),
        };
        for (kind, mail) in one_of_each_kind() {
            let raw = message(&mail, &envelope, SENDER).unwrap();
            let m = MessageParser::default().parse(&raw).unwrap();
            // The town's name (not ASCII: an encoded word, read back whole), the sender.
            let from = m.from().and_then(|a| a.first()).unwrap();
            assert_eq!(from.name(), Some("Villeneuve-lès-Tilleuls"), "{kind}");
            assert_eq!(from.address(), Some(SENDER), "{kind}");
            assert_eq!(
                m.reply_to().and_then(|a| a.first()).and_then(|a| a.address()),
                Some("regie@villeneuve-les-tilleuls.fr")
            );
            assert_eq!(m.subject(), Some(mail.content.subject.as_str()), "{kind}");
            let expected_id = format!("{}.villeneuve-les-tilleuls@villeneuve-les-tilleuls.fr", mail.id);
            assert_eq!(m.message_id(), Some(expected_id.as_str()), "{kind}");
            assert_eq!(m.date().map(|d| d.to_timestamp()), Some(mail.created_at.timestamp()), "{kind}");
            // Text and HTML, each read back as written (its lines end in CRLF on the wire).
            let lf = |s: Option<std::borrow::Cow<str>>| s.map(|s| s.replace("\r\n", "\n"));
            assert_eq!(lf(m.body_text(0)).as_deref(), Some(mail.content.text.as_str()), "{kind}");
            assert_eq!(lf(m.body_html(0)).as_deref(), Some(mail.content.html.as_str()), "{kind}");
            // One-click unsubscribe on the reminders only (RFC 8058).
            let unsubscribe = m.header_raw("List-Unsubscribe").map(str::trim);
            let post = m.header_raw("List-Unsubscribe-Post").map(str::trim);
            if mail.kind == MailKind::Reminder {
                assert_eq!(
                    unsubscribe,
                    Some(format!("<{URL}/api/towns/villeneuve-les-tilleuls/unsubscribe/abc>").as_str())
                );
                assert_eq!(post, Some("List-Unsubscribe=One-Click"));
            } else {
                assert_eq!((unsubscribe, post), (None, None), "{kind}");
            }
            // The confirmation's days, attached as the calendar wrote them.
            let attached: Vec<_> = m.attachments().collect();
            match &mail.calendar {
                Some(ics) => {
                    assert_eq!(attached.len(), 1, "{kind}");
                    assert_eq!(attached[0].attachment_name(), Some(CALENDAR_FILE));
                    let ct = attached[0].content_type().unwrap();
                    assert_eq!(
                        (ct.ctype(), ct.subtype(), ct.attribute("method")),
                        ("text", Some("calendar"), Some("PUBLISH"))
                    );
                    assert_eq!(attached[0].contents(), ics.as_bytes(), "the .ics byte for byte, CRLF kept");
                }
                None => assert!(attached.is_empty(), "{kind}"),
            }
            insta::assert_snapshot!(format!("headers_{kind}"), outline(&raw));
        }
    }

    #[test]
    fn a_retry_carries_the_same_message_id_and_date_another_email_another_id() {
        let emails = one_of_each_kind();
        let (_, first) = &emails[0];
        let envelope = named("Saint-Malo");
        let once = MessageParser::default()
            .parse(&message(first, &envelope, SENDER).unwrap())
            .unwrap()
            .message_id()
            .map(str::to_owned);
        let mut retried = first.clone();
        retried.attempts += 3;
        let again = message(&retried, &envelope, SENDER).unwrap();
        let again = MessageParser::default().parse(&again).unwrap();
        assert_eq!(again.message_id().map(str::to_owned), once);
        assert_eq!(message_id(first, SENDER), format!("act-1.villeneuve-les-tilleuls@villeneuve-les-tilleuls.fr"));
        assert_ne!(message_id(&emails[1].1, SENDER), message_id(first, SENDER));
        // Without a name or a Reply-To: the bare sender, no Reply-To.
        let bare = message(first, &Envelope::default(), SENDER).unwrap();
        let bare = MessageParser::default().parse(&bare).unwrap();
        assert_eq!(bare.from().and_then(|a| a.first()).and_then(|a| a.name()), None);
        assert!(bare.reply_to().is_none());
    }

    #[test]
    fn a_header_cannot_be_injected_through_a_town_name_or_a_subject() {
        let (_, mut m) = one_of_each_kind().remove(0);
        m.content.subject = "Objet\r\nBcc: espion@exemple.fr".into();
        let raw = message(&m, &named("Ville\r\nBcc: espion@exemple.fr"), SENDER).unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert!(parsed.header_raw("Bcc").is_none(), "{}", String::from_utf8_lossy(&raw));
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
