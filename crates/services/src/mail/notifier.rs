//! Drains the outbox: sends what is due, retries with backoff, parks what keeps failing.
//! In AWS a Lambda runs it on the table's stream and every minute; locally a background task.

use super::outbox::{Mail, MailStatus};
use super::sender::Mailer;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use store::{Cond, Item, Query, SkRange, Store, StoreError, keys};

/// After this many failed attempts an email is parked.
pub const MAX_ATTEMPTS: u32 = 8;
/// How long a claimed email is left to its sender before another run may take it.
const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Emails taken per run.
const BATCH: usize = 50;

/// The wait before attempt `n + 1`: 30 s, 1 min, 2 min… up to an hour.
pub fn backoff(attempts: u32) -> TimeDelta {
    let secs = 30i64.saturating_mul(1i64 << attempts.min(10));
    TimeDelta::seconds(secs.min(3600))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub parked: usize,
    /// Not sent: the address bounced, or complained and the email is a reminder.
    pub suppressed: usize,
}

/// Sends every email due at `now`. Each is first claimed (a conditional write on its attempt
/// count), so two notifiers never send the same email in the same lease; a crash after
/// sending and before recording means one more send after the lease, never a lost email.
pub async fn drain(store: &Store, mailer: &Mailer, now: DateTime<Utc>) -> Result<Drained, StoreError> {
    let due = format!("{:012}~", now.timestamp().max(0));
    let q = Query::gsi1(keys::OUTBOX_PENDING, SkRange::UpTo(due)).limit(BATCH);
    let page = store.query(&q).await?;
    let mut done = Drained::default();
    // Each town's sender name and Reply-To, read once a batch.
    let mut envelopes: std::collections::HashMap<domain::TownId, super::sender::Envelope> = Default::default();
    for item in page.items {
        let mut mail: Mail = item.to_value()?;
        let claimed_at = mail.attempts;
        mail.attempts += 1;
        mail.next_attempt_at = now + LEASE;
        let claim = Cond::AttrEquals { name: "attempts".into(), value: json!(claimed_at) };
        match store.put(mail.item()?, Some(claim)).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
        let mail = match super::deliverability::screen(store, mail, now).await? {
            Ok(mail) => mail,
            Err(suppressed) => {
                tracing::info!(mail = %suppressed.id, town = %suppressed.town, "email not sent: its address bounced or complained");
                store.put(suppressed.item()?, Some(Cond::Exists)).await?;
                done.suppressed += 1;
                continue;
            }
        };
        let mut mail = mail;
        if !envelopes.contains_key(&mail.town) {
            let envelope = store::repo::stored_town(store, &mail.town)
                .await?
                .map(|(town, _)| super::sender::Envelope::of(town.config()))
                .unwrap_or_default();
            envelopes.insert(mail.town.clone(), envelope);
        }
        let envelope = envelopes.get(&mail.town).cloned().unwrap_or_default();
        match mailer.send(&mail, &envelope).await {
            Ok(()) => {
                mail.status = MailStatus::Sent;
                mail.sent_at = Some(now);
                mail.last_error = None;
                done.sent += 1;
                tracing::info!(mail = %mail.id, town = %mail.town, "email sent");
            }
            Err(why) => {
                tracing::warn!(mail = %mail.id, attempts = mail.attempts, error = %why, "email not sent");
                mail.last_error = Some(why);
                if mail.attempts >= MAX_ATTEMPTS {
                    mail.status = MailStatus::Parked;
                    done.parked += 1;
                } else {
                    mail.next_attempt_at = now + backoff(mail.attempts);
                    done.retried += 1;
                }
            }
        }
        store.put(mail.item()?, Some(Cond::Exists)).await?;
    }
    Ok(done)
}

/// Reads one email back (tests, staff).
pub async fn get(store: &Store, town: &domain::TownId, id: &str) -> Result<Option<Mail>, StoreError> {
    store.get(&keys::mail(town, id)).await?.as_ref().map(Item::to_value).transpose()
}
