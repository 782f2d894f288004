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
