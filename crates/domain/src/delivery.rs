//! What happened to an email after it left (SES's delivery events), and what that means for the
//! address: a hard bounce makes it undeliverable, a complaint stops all but the emails a person
//! is owed. The event shapes are the ones SES publishes to SNS through a configuration set
//! (« Examples of event data that Amazon SES publishes to Amazon SNS »); the local portal's
//! `/dev/mail` builds the same JSON, so one parser serves both.

use crate::family::Email;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why an email is sent, which decides what a bounce or a complaint stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// Activation or password reset: asked for by a person now (a guardian, or staff retrying
    /// after a correction), so always attempted.
    Account,
    /// An invoice: owed to the family; when it cannot reach one guardian the other is told.
    Invoice,
    /// Any other email owed by a change (a decision, a receipt, a closure).
    #[default]
    Transactional,
    /// A reminder the guardian may turn off (holiday openings and deadlines, payment reminders).
    Reminder,
}

impl MailKind {
    /// When this email cannot reach a guardian, the family's other guardian is told.
    pub fn tells_other_guardian(self) -> bool {
        matches!(self, MailKind::Account | MailKind::Invoice)
    }
}

/// What is known of an address from its emails' events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressState {
    /// Last hard bounce (or reject), if no delivery succeeded since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<DateTime<Utc>>,
    /// The receiving server's words, cut to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// The guardian marked an email as spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complained_at: Option<DateTime<Utc>>,
}

impl AddressState {
    pub fn undeliverable(&self) -> bool {
        self.bounced_at.is_some()
    }

    /// Whether an email of `kind` goes to this address.
    pub fn allows(&self, kind: MailKind) -> bool {
        match kind {
            MailKind::Account => true,
            _ if self.undeliverable() => false,
            MailKind::Reminder => self.complained_at.is_none(),
            MailKind::Invoice | MailKind::Transactional => true,
        }
    }

    /// The state after `event` for this address (`None`: unchanged).
    pub fn after(&self, event: &Event) -> Option<AddressState> {
        let mut next = self.clone();
        match &event.outcome {
            Outcome::Bounced { permanent: true, diagnostic } | Outcome::Rejected { reason: diagnostic } => {
                next.bounced_at = Some(event.at);
                next.diagnostic = diagnostic.as_deref().map(|d| d.chars().take(200).collect());
            }
            Outcome::Complained => next.complained_at = Some(event.at),
            // A later delivery proves the address works again.
            Outcome::Delivered if self.bounced_at.is_some_and(|b| b < event.at) => {
                next.bounced_at = None;
                next.diagnostic = None;
            }
            _ => {}
        }
        (next != *self).then_some(next)
    }

    /// « Adresse e-mail invalide (rejetée le 03/12/2026) », what staff read on the family's record.
    pub fn staff_notice(&self, tz: chrono_tz::Tz) -> Option<String> {
        let at = self.bounced_at?.with_timezone(&tz).date_naive();
        Some(format!("Adresse e-mail invalide (rejetée le {})", at.format("%d/%m/%Y")))
    }
}

/// An email's state as staff and the guardian read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Delivered,
    /// Soft bounce or delay: SES keeps trying.
    Delayed,
    /// Hard bounce or reject.
    Bounced,
    Complained,
    /// Not sent: the address is undeliverable or asked for fewer emails.
    Suppressed,
}

impl DeliveryState {
    pub fn french(self) -> &'static str {
        match self {
            DeliveryState::Delivered => "remis",
            DeliveryState::Delayed => "retardé",
            DeliveryState::Bounced => "rejeté",
            DeliveryState::Complained => "plainte",
            DeliveryState::Suppressed => "non envoyé",
        }
    }

    /// The state of an email that was `self` after `outcome`: a complaint or a bounce is never
    /// undone by a late delay or delivery event (SES does not order its events).
    pub fn after(current: Option<DeliveryState>, outcome: &Outcome) -> Option<DeliveryState> {
        let new = match outcome {
            Outcome::Delivered => DeliveryState::Delivered,
            Outcome::Delayed | Outcome::Bounced { permanent: false, .. } => DeliveryState::Delayed,
            Outcome::Bounced { permanent: true, .. } | Outcome::Rejected { .. } => DeliveryState::Bounced,
            Outcome::Complained => DeliveryState::Complained,
        };
        let rank = |s: DeliveryState| match s {
            DeliveryState::Delayed => 0,
            DeliveryState::Delivered => 1,
            DeliveryState::Bounced | DeliveryState::Suppressed => 2,
            DeliveryState::Complained => 3,
        };
        match current {
            Some(c) if rank(c) >= rank(new) => Some(c),
            _ => Some(new),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Delayed,
    Bounced { permanent: bool, diagnostic: Option<String> },
    Complained,
    Rejected { reason: Option<String> },
}

/// One delivery event: which of our emails (the `town` and `mail` tags set when sending), for
/// which recipients, what happened and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub town: String,
    pub mail: String,
    pub recipients: Vec<Email>,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
}

/// Why an event is not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not a delivery event: {0}")]
    Malformed(String),
    /// Send, Open, Click…: nothing to record.
    #[error("event type {0} is not recorded")]
    Ignored(String),
    #[error("the email carries no town and mail tags")]
    Untagged,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    event_type: Option<String>,
    notification_type: Option<String>,
    mail: RawMail,
    bounce: Option<RawBounce>,
    complaint: Option<RawRecipients>,
    delivery: Option<RawDelivery>,
    delivery_delay: Option<RawRecipients>,
    reject: Option<RawReject>,
}

#[derive(Deserialize)]
struct RawMail {
    timestamp: DateTime<Utc>,
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBounce {
    bounce_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecipients {
    #[serde(default, alias = "complainedRecipients", alias = "delayedRecipients")]
    recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawDelivery {
    #[serde(default)]
    recipients: Vec<String>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawReject {
    #[serde(default)]
    reason: Option<String>,
}

fn emails(raw: impl IntoIterator<Item = String>) -> Vec<Email> {
    raw.into_iter().filter_map(|s| Email::parse(&s).ok()).collect()
}

/// Reads one SES event record (the JSON of an SNS message).
pub fn parse(json: &str) -> Result<Event, EventError> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| EventError::Malformed(e.to_string()))?;
    let kind = raw.event_type.or(raw.notification_type).unwrap_or_default();
    let tag = |name: &str| raw.mail.tags.get(name).and_then(|v| v.first()).cloned();
    let (Some(town), Some(mail)) = (tag("town"), tag("mail")) else { return Err(EventError::Untagged) };
    let missing = |what: &str| EventError::Malformed(format!("{kind} without its {what} object"));
    let (outcome, recipients, at) = match kind.as_str() {
        "Bounce" => {
            let b = raw.bounce.ok_or_else(|| missing("bounce"))?;
            let diagnostic = b.bounced_recipients.iter().find_map(|r| r.diagnostic_code.clone());
            let permanent = b.bounce_type == "Permanent";
            let to = emails(b.bounced_recipients.into_iter().map(|r| r.email_address));
            (Outcome::Bounced { permanent, diagnostic }, to, b.timestamp)
        }
        "Complaint" => {
            let c = raw.complaint.ok_or_else(|| missing("complaint"))?;
            (Outcome::Complained, emails(c.recipients.into_iter().map(|r| r.email_address)), c.timestamp)
        }
        "Delivery" => {
            let d = raw.delivery.ok_or_else(|| missing("delivery"))?;
            (Outcome::Delivered, emails(d.recipients), d.timestamp)
        }
        "DeliveryDelay" => {
            let d = raw.delivery_delay.ok_or_else(|| missing("deliveryDelay"))?;
            (Outcome::Delayed, emails(d.recipients.into_iter().map(|r| r.email_address)), d.timestamp)
        }
        "Reject" => {
            let r = raw.reject.ok_or_else(|| missing("reject"))?;
            (Outcome::Rejected { reason: r.reason }, emails(raw.mail.destination), raw.mail.timestamp)
        }
        other => return Err(EventError::Ignored(other.chars().take(40).collect())),
    };
    Ok(Event { town, mail, recipients, outcome, at })
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
