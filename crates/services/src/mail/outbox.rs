//! The outbox: one item per email, indexed by its next attempt while it is pending.

use chrono::{DateTime, Utc};
use domain::TownId;
use domain::delivery::{DeliveryState, MailKind};
use domain::family::Email;
use serde::{Deserialize, Serialize};
use store::{Cond, Item, Key, Store, StoreError, WriteOp, keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    /// Failed too many times; waits for staff.
    Parked,
    /// Not sent: its address bounced or complained (`domain::delivery`).
    Suppressed,
}

/// What an email says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    pub id: String,
    pub town: TownId,
    pub to: Email,
    #[serde(flatten)]
    pub content: Content,
    pub status: MailStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// Why it is sent, which decides what a bounce or a complaint stops.
    #[serde(default)]
    pub kind: MailKind,
    /// What SES said happened to it since (or why it was not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_at: Option<DateTime<Utc>>,
    /// A reminder's one-click unsubscribe URL (RFC 8058): sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
    /// A booking confirmation's days as iCalendar text (`edge::ics`): attached as
    /// `reservations.ics` for the phone's calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
}

impl Mail {
    pub fn new(town: &TownId, to: &Email, content: Content, now: DateTime<Utc>) -> Mail {
        Mail {
            id: store::secret::id(),
            town: town.clone(),
            to: to.clone(),
            content,
            status: MailStatus::Pending,
            attempts: 0,
            last_error: None,
            created_at: now,
            next_attempt_at: now,
            sent_at: None,
            kind: MailKind::default(),
            delivery: None,
            delivery_at: None,
            unsubscribe: None,
            calendar: None,
        }
    }

    /// The same email, with a one-click unsubscribe URL (a reminder).
    pub fn with_unsubscribe(mut self, url: String) -> Mail {
        self.unsubscribe = Some(url);
        self
    }

    /// The same email, with the days it confirms as an `.ics` attachment.
    pub fn with_calendar(mut self, ics: String) -> Mail {
        self.calendar = Some(ics);
        self
    }

    /// The headers an email adds to SES's own: `List-Unsubscribe` and `List-Unsubscribe-Post`
    /// for a reminder (RFC 2369, RFC 8058).
    pub fn extra_headers(&self) -> Vec<(&'static str, String)> {
        match &self.unsubscribe {
            Some(url) => vec![
                ("List-Unsubscribe", format!("<{url}>")),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()),
            ],
            None => Vec::new(),
        }
    }

    /// The same email, of `kind` (transactional unless told).
    pub fn of_kind(mut self, kind: MailKind) -> Mail {
        self.kind = kind;
        self
    }

    /// « envoyé », « remis », « rejeté », « plainte »…: what staff and the guardian read.
    pub fn state_in_french(&self) -> &'static str {
        match (self.status, self.delivery) {
            (_, Some(d)) => d.french(),
            (MailStatus::Pending, None) => "en attente",
            (MailStatus::Sent, None) => "envoyé",
            (MailStatus::Parked, None) => "en échec",
            (MailStatus::Suppressed, None) => "non envoyé",
        }
    }

    /// The stored item, placed in the index that matches its status.
    pub fn item(&self) -> Result<Item, StoreError> {
        let item = Item::from_value(keys::mail(&self.town, &self.id), self)?;
        Ok(match self.status {
            MailStatus::Pending => item.with_gsi1(Key::new(
                keys::OUTBOX_PENDING,
                format!("{:012}#{}#{}", self.next_attempt_at.timestamp().max(0), self.town, self.id),
            )),
            MailStatus::Parked => item.with_gsi1(Key::new(
                keys::outbox_parked(&self.town),
                format!("{}#{}", self.created_at.to_rfc3339(), self.id),
            )),
            // Listed under its recipient: what a family's export shows and its erasure deletes.
            MailStatus::Sent | MailStatus::Suppressed => item.with_gsi1(Key::new(
                keys::mails_to(&self.town, self.to.as_str()),
                format!("{}#{}", self.created_at.to_rfc3339(), self.id),
            )),
        })
    }

    /// The write that queues this email, for the transaction of the change that owes it.
    pub fn enqueue(&self) -> Result<WriteOp, StoreError> {
        Ok(WriteOp::Put { item: self.item()?, cond: Some(Cond::NotExists) })
    }
}

/// The emails of a town that could not be sent.
pub async fn parked(store: &Store, town: &TownId) -> Result<Vec<Mail>, StoreError> {
    let q = store::Query::gsi1(keys::outbox_parked(town), store::SkRange::All);
    store.query_all(&q).await?.iter().map(Item::to_value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        let content = Content { subject: "Objet".into(), text: "Texte".into(), html: "<p>Texte</p>".into() };
        let to = Email::parse("sophie.martin@exemple.fr").unwrap();
        Mail::new(&TownId::parse("ville").unwrap(), &to, content, "2026-12-06T08:00:00Z".parse().unwrap())
    }

    #[test]
    fn a_reminder_carries_its_one_click_unsubscribe_headers_and_other_emails_none() {
        assert!(mail().extra_headers().is_empty());
        let reminder = mail()
            .of_kind(MailKind::Reminder)
            .with_unsubscribe("https://portail.test/api/towns/ville/unsubscribe/abc".into());
        assert_eq!(
            reminder.extra_headers(),
            [
                ("List-Unsubscribe", "<https://portail.test/api/towns/ville/unsubscribe/abc>".to_owned()),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()),
            ]
        );
        // Stored and read back with it; an email stored before it reads without.
        let item = reminder.item().unwrap();
        assert_eq!(item.to_value::<Mail>().unwrap().unsubscribe, reminder.unsubscribe);
        let mut old = serde_json::to_value(mail()).unwrap();
        old.as_object_mut().unwrap().remove("unsubscribe");
        assert_eq!(serde_json::from_value::<Mail>(old).unwrap().unsubscribe, None);
    }
}
