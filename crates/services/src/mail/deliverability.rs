//! Delivery events recorded: each SES event (SNS in AWS, `/dev/mail` locally, same JSON, same
//! code) updates its email's state and its recipients' address state; an address that hard
//! bounces is listed for the town's agents, and the family's other guardian is told when an
//! email that mattered could not reach the first.

use super::outbox::{Mail, MailStatus};
use super::templates::delivery::Undelivered;
use chrono::{DateTime, Utc};
use domain::delivery::{AddressState, DeliveryState, Event, EventError, Outcome};
use domain::family::Email;
use domain::{FamilyRef, TownId};
use serde::{Deserialize, Serialize};
use store::repo::{self, Towns};
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};

/// An address's stored state: what its emails' events taught, and its families (so that the
/// agents' list can open the family's record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub town: TownId,
    pub email: Email,
    #[serde(flatten)]
    pub state: AddressState,
    #[serde(default)]
    pub families: Vec<FamilyRef>,
}

impl Address {
    fn item(&self) -> Result<Item, StoreError> {
        let item = Item::from_value(keys::mail_address(&self.town, &self.email), self)?;
        Ok(match self.state.bounced_at {
            Some(at) => item.with_gsi1(Key::new(
                keys::undeliverable(&self.town),
                format!("{}#{}", at.to_rfc3339(), store::secret::digest(self.email.as_str())),
            )),
            None => item,
        })
    }
}

/// What is known of `email` (nothing: a fresh state).
pub async fn address(store: &Store, town: &TownId, email: &Email) -> Result<AddressState, StoreError> {
    Ok(read(store, town, email).await?.map(|a| a.state).unwrap_or_default())
}

async fn read(store: &Store, town: &TownId, email: &Email) -> Result<Option<Address>, StoreError> {
    store.get(&keys::mail_address(town, email)).await?.as_ref().map(Item::to_value).transpose()
}

/// The town's undeliverable addresses, oldest bounce first.
pub async fn undeliverable(store: &Store, town: &TownId) -> Result<Vec<Address>, StoreError> {
    let q = Query::gsi1(keys::undeliverable(town), SkRange::All);
    store.query_all(&q).await?.iter().map(Item::to_value).collect()
}

/// Forgets what bounces and complaints taught of `email` (staff corrected or confirmed it and
/// retry): the write, for the retry's transaction.
pub fn forget(town: &TownId, email: &Email) -> WriteOp {
    WriteOp::Delete { key: keys::mail_address(town, email), cond: None }
}

/// What recording one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The email's state changed.
    pub mail: bool,
    /// Addresses whose state changed.
    pub addresses: usize,
    /// Emails queued to other guardians.
    pub told: usize,
}

/// Records one SES event record (the JSON SES publishes). An event about an email this store
/// does not hold (another stack's, or erased since) is dropped, as are the events that are not
/// recorded (send, open, click); a malformed record is the caller's to log.
pub async fn record_json(
    store: &Store,
    towns: &Towns,
    public_url: &str,
    json: &str,
) -> Result<Result<Recorded, EventError>, StoreError> {
    match domain::delivery::parse(json) {
        Ok(event) => record(store, towns, public_url, &event).await.map(Ok),
        Err(EventError::Ignored(_)) => Ok(Ok(Recorded::default())),
        Err(e) => Ok(Err(e)),
    }
}

pub async fn record(store: &Store, towns: &Towns, public_url: &str, event: &Event) -> Result<Recorded, StoreError> {
    let mut done = Recorded::default();
    let Ok(town) = TownId::parse(&event.town) else { return Ok(done) };
    let Some(mut mail): Option<Mail> =
        store.get(&keys::mail(&town, &event.mail)).await?.as_ref().map(Item::to_value).transpose()?
    else {
        tracing::info!(mail = %event.mail, "delivery event for an email not held here");
        return Ok(done);
    };
    let state = DeliveryState::after(mail.delivery, &event.outcome);
    if state != mail.delivery {
        mail.delivery = state;
        mail.delivery_at = Some(event.at);
        store.put(mail.item()?, Some(Cond::Exists)).await?;
        done.mail = true;
    }
    for to in event.recipients.iter().filter(|r| **r == mail.to) {
        let before = read(store, &town, to).await?;
        let was = before.as_ref().map(|a| a.state.clone()).unwrap_or_default();
        let Some(state) = was.after(event) else { continue };
        let families = match &before {
            Some(a) => a.families.clone(),
            None => store::accounts::get_account(store, &town, to).await?.map(|a| a.families).unwrap_or_default(),
        };
        let newly_undeliverable = state.undeliverable() && !was.undeliverable();
        let address = Address { town: town.clone(), email: to.clone(), state, families };
        // An address nothing is known against any more is not kept.
        let mut ops = vec![if address.state == AddressState::default() {
            forget(&town, to)
        } else {
            WriteOp::Put { item: address.item()?, cond: None }
        }];
        if newly_undeliverable && mail.kind.tells_other_guardian() {
            let told = tell_others(store, towns, public_url, &address, &mail, event.at).await?;
            done.told = told.len();
            ops.extend(told);
        }
        store.transact(ops).await?;
        done.addresses += 1;
        tracing::info!(town = %town, outcome = ?event.outcome, "address state changed");
    }
    Ok(done)
}

/// The emails to the other guardians of `address`'s families, telling them `mail` bounced.
async fn tell_others(
    store: &Store,
    towns: &Towns,
    public_url: &str,
    address: &Address,
    mail: &Mail,
    now: DateTime<Utc>,
) -> Result<Vec<WriteOp>, StoreError> {
    let Some(town) = towns.get(&address.town).await? else { return Ok(Vec::new()) };
    let mut ops = Vec::new();
    for reference in address.families.iter().take(4) {
        let Some(family) = repo::get_family(store, town.id(), reference).await? else { continue };
        let Some(bounced) = family.guardians.iter().find(|g| g.email == address.email) else { continue };
        for g in family.guardians.iter().filter(|g| g.email != address.email) {
            if !self::address(store, town.id(), &g.email).await?.allows(mail.kind) {
                continue;
            }
            let content = Undelivered {
                town: town.config().name.clone(),
                first_name: g.first_name.clone(),
                other: format!("{} {}", bounced.first_name, bounced.last_name),
                address: address.email.as_str().to_owned(),
                subject: mail.content.subject.clone(),
                public_url: public_url.to_owned(),
            }
            .render();
            ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
        }
    }
    Ok(ops)
}

/// Whether `mail` may go to its address now; if not, the email as suppressed (for the
/// notifier, which then does not send it).
pub async fn screen(store: &Store, mut mail: Mail, now: DateTime<Utc>) -> Result<Result<Mail, Mail>, StoreError> {
    let state = address(store, &mail.town, &mail.to).await?;
    if state.allows(mail.kind) {
        return Ok(Ok(mail));
    }
    mail.status = MailStatus::Suppressed;
    mail.delivery = Some(DeliveryState::Suppressed);
    mail.delivery_at = Some(now);
    Ok(Err(mail))
}

/// The SES event record the local twin writes for one of its emails: the shape AWS documents,
/// so the same parser reads it.
pub fn twin_event(mail: &Mail, outcome: &Outcome, at: DateTime<Utc>) -> serde_json::Value {
    let to = mail.to.as_str();
    let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mail_object = serde_json::json!({
        "timestamp": mail.sent_at.unwrap_or(mail.created_at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "source": "local@localhost",
        "messageId": mail.id,
        "destination": [to],
        "tags": { "town": [mail.town.as_str()], "mail": [mail.id] },
    });
    let (kind, body) = match outcome {
        Outcome::Delivered => {
            ("Delivery", serde_json::json!({ "delivery": { "timestamp": stamp, "recipients": [to] } }))
        }
        Outcome::Delayed => (
            "DeliveryDelay",
            serde_json::json!({ "deliveryDelay": { "timestamp": stamp, "delayType": "MailboxFull", "delayedRecipients": [{ "emailAddress": to }] } }),
        ),
        Outcome::Bounced { permanent, diagnostic } => (
            "Bounce",
            serde_json::json!({ "bounce": {
                "bounceType": if *permanent { "Permanent" } else { "Transient" },
                "bounceSubType": "General",
                "bouncedRecipients": [{ "emailAddress": to, "action": "failed", "status": "5.1.1", "diagnosticCode": diagnostic }],
                "timestamp": stamp,
            } }),
        ),
        Outcome::Complained => (
            "Complaint",
            serde_json::json!({ "complaint": { "timestamp": stamp, "complainedRecipients": [{ "emailAddress": to }], "complaintFeedbackType": "abuse" } }),
        ),
        Outcome::Rejected { reason } => ("Reject", serde_json::json!({ "reject": { "reason": reason } })),
    };
    let mut record = body;
    if let Some(o) = record.as_object_mut() {
        o.insert("eventType".into(), kind.into());
        o.insert("mail".into(), mail_object);
    }
    record
}
