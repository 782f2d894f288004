//! Documents sent by email (`InboundMailFunction`): SES stores the raw message under
//! `inbound/<messageId>` in the documents' bucket and invokes the function with its verdicts;
//! the local twin (`POST /dev/mail/inbound`) does the same with an `.eml`. The rules are
//! `domain::documents::inbound`'s; this reads, stores and answers (docs/email.md).

use crate::record::{Document, family_documents, item};
use crate::{AppState, marks};
use chrono::{DateTime, Days, Utc};
use domain::account::Role;
use domain::config::Town;
use domain::documents::inbound::{self as rules, Decision, Filing, Verdict, Verdicts};
use domain::documents::{Absence, Status, room_for_another};
use domain::family::Email;
use domain::{ChildId, FamilyRef};
use edge::files::Files;
use serde_json::Value;
use services::mail::outbox::Mail;
use services::mail::templates::documents::{InboundFiled, InboundHowTo};
use std::sync::Arc;
use store::{Cond, Item, StoreError, WriteOp, accounts, keys, repo};

/// Where SES's S3 action writes each raw message (`ObjectKeyPrefix` in template.yaml).
pub const PREFIX: &str = "inbound/";

/// One received message, as SES's Lambda action describes it (`Records[].ses`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `mail.messageId`: the S3 object is `inbound/<messageId>`.
    pub message_id: String,
    /// `receipt.recipients`: the addresses of the rule it was received for.
    pub recipients: Vec<String>,
    pub verdicts: Verdicts,
}

/// The records of a SES receipt event (« Sample incoming email event », Lambda action), or of
/// the SNS notifications of a receipt rule's S3 action (« Notification contents for Amazon SES
/// email receiving »: `notificationType` `Received`, the same `mail` and `receipt`, with
/// `receipt.action` the S3 object written): how a stack whose region does not receive email is
/// told by a rule in another region (SNS delivers to a Lambda of another region; docs/
/// deployment.md). `None` when the event is not one.
pub fn ses_receipts(event: &Value) -> Option<Vec<Receipt>> {
    let records = event.get("Records")?.as_array()?;
    records
        .iter()
        .map(|r| {
            let sns;
            let ses = if r.get("eventSource").and_then(Value::as_str) == Some("aws:ses") {
                r.get("ses")?
            } else if r.get("EventSource").and_then(Value::as_str) == Some("aws:sns") {
                sns = serde_json::from_str::<Value>(r.pointer("/Sns/Message")?.as_str()?).ok()?;
                if sns.get("notificationType").and_then(Value::as_str) != Some("Received") {
                    return None;
                }
                // The S3 action's notification: its object must be where this function reads.
                let message_id = sns.pointer("/mail/messageId")?.as_str()?;
                let key = sns.pointer("/receipt/action/objectKey")?.as_str()?;
                if key != format!("{PREFIX}{message_id}") {
                    return None;
                }
                &sns
            } else {
                return None;
            };
            let verdict = |name: &str| {
                Verdict::parse(ses.pointer(&format!("/receipt/{name}/status")).and_then(Value::as_str).unwrap_or(""))
            };
            let message_id = ses.pointer("/mail/messageId")?.as_str()?.to_owned();
            let recipients = ses
                .pointer("/receipt/recipients")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            Some(Receipt {
                message_id,
                recipients,
                verdicts: Verdicts {
                    spf: verdict("spfVerdict"),
                    dkim: verdict("dkimVerdict"),
                    dmarc: verdict("dmarcVerdict"),
                    spam: verdict("spamVerdict"),
                    virus: verdict("virusVerdict"),
                },
            })
        })
        .collect()
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No town of this stack takes documents at any of its recipients.
    NoTown,
    /// Its attachments were filed for the family (document ids), and the sender told.
    Filed { family: FamilyRef, documents: Vec<String> },
    /// Nothing filed; the sender answered (`true`), or not (already answered today, or no
    /// sender to answer). `why` is for the logs.
    Answered { answered: bool, why: &'static str },
    /// The raw message is not (or no longer) in the bucket.
    Missing,
}

/// A failure the Lambda retries (SES invokes it asynchronously: twice more).
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] edge::files::FilesError),
    #[error("{0}")]
    Other(String),
}

impl From<edge::http::Problem> for InboundError {
    fn from(p: edge::http::Problem) -> Self {
        InboundError::Other(format!("{p:?}"))
    }
}

/// Reads the message SES stored for `receipt`, handles it, deletes it.
pub async fn receive(state: &AppState, receipt: &Receipt) -> Result<Outcome, InboundError> {
    if receipt.message_id.is_empty() || receipt.message_id.contains(['/', '.']) {
        return Ok(Outcome::Missing);
    }
    let key = format!("{PREFIX}{}", receipt.message_id);
    let Some(head) = state.files.head(&key).await? else { return Ok(Outcome::Missing) };
    let outcome = if head.size > rules::MAX_MESSAGE_BYTES as u64 {
        // Not even downloaded: only its headers are read, to answer.
        let head_bytes = state.files.get_range(&key, 64 * 1024).await?;
        refused(state, &head_bytes, &receipt.recipients, "message too large").await?
    } else {
        let raw = state.files.get_bytes(&key).await?;
        handle(state, &receipt.message_id, &raw, &receipt.recipients, &receipt.verdicts).await?
    };
    state.files.delete(&key).await?;
    Ok(outcome)
}

/// The town whose address for documents is among `recipients`.
async fn town_for(state: &AppState, recipients: &[String]) -> Result<Option<Arc<Town>>, StoreError> {
    for id in repo::town_ids(&state.auth.store).await? {
        if let Some(town) = state.towns.get(&id).await?
            && town.config().documents.inbound_email.as_ref().is_some_and(|a| recipients.contains(a))
        {
            return Ok(Some(town));
        }
    }
    Ok(None)
}

fn parse_all(addresses: &[String]) -> Vec<String> {
    addresses.iter().filter_map(|a| rules::address(a)).collect()
}

/// A message whose bytes could not be read whole: answered from its headers, nothing kept.
async fn refused(
    state: &AppState,
    raw: &[u8],
    recipients: &[String],
    why: &'static str,
) -> Result<Outcome, InboundError> {
    let (from, _) = rules::envelope(raw);
    let Some(town) = town_for(state, &parse_all(recipients)).await? else { return Ok(Outcome::NoTown) };
    let Some(from) = from.and_then(|f| Email::parse(&f).ok()) else {
        return Ok(Outcome::Answered { answered: false, why });
    };
    Ok(Outcome::Answered { answered: answer(state, &town, &from).await?, why })
}

/// The same code path for SES and the local twin: the message's id (SES's `messageId`: the
/// documents' ids derive from it, so a second invocation for the same message files nothing
/// twice), the raw message, the recipients SES received it for and SES's verdicts.
pub async fn handle(
    state: &AppState,
    message_id: &str,
    raw: &[u8],
    recipients: &[String],
    verdicts: &Verdicts,
) -> Result<Outcome, InboundError> {
    let Some(town) = town_for(state, &parse_all(recipients)).await? else { return Ok(Outcome::NoTown) };
    let settings = &town.config().documents;
    let message = match rules::read(raw, settings.max_bytes) {
        Ok(m) => m,
        Err(e) => {
            tracing::info!(error = %e, "inbound message not read");
            let why = match e {
                rules::Unreadable::TooLarge => "message too large",
                rules::Unreadable::Malformed => "malformed message",
                rules::Unreadable::NoSender => "no sender",
                rules::Unreadable::TooManyParts => "too many parts",
                rules::Unreadable::TooDeep => "nested too deep",
            };
            return refused(state, raw, recipients, why).await;
        }
    };
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let today = town.today(now);
    let from = Email::parse(&message.from).map_err(|e| InboundError::Other(e.to_string()))?;
    let account = accounts::get_account(store, town.id(), &from).await?.filter(|a| a.role == Role::Guardian);
    let families = account.as_ref().map(|a| a.families.clone()).unwrap_or_default();
    // The children of the sender's families, and what they reported absent this past week.
    let mut children: Vec<((FamilyRef, ChildId), String)> = Vec::new();
    let mut reported = Vec::new();
    if verdicts.authentic() {
        for f in &families {
            let Some(family) = repo::get_family(store, town.id(), f).await? else { continue };
            for c in &family.children {
                let Some(child) = repo::get_child(store, town.id(), c).await? else { continue };
                children.push(((f.clone(), c.clone()), child.first_name.clone()));
                let from_day = today.checked_sub_days(Days::new(7)).unwrap_or(today);
                let days: Vec<_> = repo::bookings(store, town.id(), c, from_day, today)
                    .await?
                    .into_iter()
                    .filter(|b| b.absence_report.is_some())
                    .map(|b| b.date)
                    .collect();
                if let (Some(a), Some(b)) = (days.iter().min(), days.iter().max()) {
                    reported.push(((f.clone(), c.clone()), Absence { from: *a, to: *b }));
                }
            }
        }
    }
    let skipped: Vec<String> = message
        .skipped
        .iter()
        .map(|(name, why)| format!("{name}\u{202f}: {}", why.french(settings.max_bytes)))
        .collect();
    let guardian = !families.is_empty();
    let decision = rules::decide(message, verdicts, guardian, &settings.kinds, &children, &reported, today);
    let filings = match decision {
        Decision::Answer => {
            let why = if !verdicts.authentic() {
                "sender not authenticated"
            } else if !guardian {
                "not a guardian's address"
            } else {
                "no usable attachment"
            };
            return Ok(Outcome::Answered { answered: answer(state, &town, &from).await?, why });
        }
        Decision::File(f) => f,
    };
    let family = filings
        .iter()
        .find_map(|f| f.child.as_ref().map(|(f, _)| f.clone()))
        .or_else(|| families.first().cloned())
        .ok_or_else(|| InboundError::Other("a guardian without a family".into()))?;
    let names: Vec<(ChildId, String)> = children.iter().map(|((_, c), n)| (c.clone(), n.clone())).collect();
    let digest = store::secret::digest(&format!("{}#{message_id}", town.id()));
    let mut filed_ids = Vec::new();
    let mut lines = Vec::new();
    let mut existing = family_documents(store, town.id(), &family).await?.len();
    for (i, filing) in filings.into_iter().enumerate() {
        if !room_for_another(existing) {
            lines.push(format!(
                "{}\u{202f}: trop de documents sont en attente pour votre famille",
                filing.attachment.file_name
            ));
            continue;
        }
        let id = format!("mail-{}-{i}", &digest[..24]);
        let (line, filed) = file(state, &town, &family, &from, &id, filing, now, &names).await?;
        if filed {
            existing += 1;
            filed_ids.push(id);
        }
        lines.push(line);
    }
    if filed_ids.is_empty() {
        // Every document was already filed (SES invoked us again): nothing more to say.
        return Ok(Outcome::Filed { family, documents: filed_ids });
    }
    let first_name = account.as_ref().map(|a| a.first_name.clone()).unwrap_or_default();
    let content = InboundFiled {
        town: town.config().name.clone(),
        first_name,
        public_url: state.public_url.clone(),
        filed: lines,
        skipped,
    }
    .render();
    store.transact(vec![Mail::new(town.id(), &from, content, now).enqueue()?]).await?;
    Ok(Outcome::Filed { family, documents: filed_ids })
}

/// Files one attachment as a document waiting for staff, as a confirmed upload is: the file
/// under `documents/`, the record « demande en cours », the reported days of a certificate
/// justified. Its line for the acknowledgement, and whether it was filed now (not before).
#[allow(clippy::too_many_arguments)]
async fn file(
    state: &AppState,
    town: &Town,
    family: &FamilyRef,
    from: &Email,
    id: &str,
    filing: Filing<(FamilyRef, ChildId)>,
    now: DateTime<Utc>,
    names: &[(ChildId, String)],
) -> Result<(String, bool), InboundError> {
    let store = &state.auth.store;
    let settings = &town.config().documents;
    let child = filing.child.map(|(_, c)| c);
    let object = Files::document_key(town.id(), family, id);
    let a = filing.attachment;
    state.files.put_bytes(&object, a.bytes.clone(), a.file_type.mime()).await?;
    let mut doc = Document {
        id: id.to_owned(),
        family: family.clone(),
        child: child.clone(),
        kind: filing.kind.clone(),
        file_name: a.file_name.clone(),
        content_type: a.file_type,
        size: a.bytes.len() as u64,
        object,
        status: Status::Pending,
        absence: filing.absence,
        sent_by: from.as_str().to_owned(),
        created_at: now,
        sent_at: Some(now),
        decided_at: None,
        decided_by: None,
        reason: None,
        valid_until: None,
        delete_on: None,
        justified_bookings: None,
        version: 1,
    };
    let justifies = settings.kind(&doc.kind).is_some_and(|k| k.justifies_absence);
    if let (true, Some(absence), Some(child)) = (justifies, doc.absence, doc.child.as_ref()) {
        let delay = town.config().operations.certificate_delay();
        let tz = town.tz();
        let by = (from.as_str(), "attendance.justify_reported");
        let n = marks::remark(state, town, child, absence, by, |b| b.justify_report(now, delay, tz)).await?;
        doc.justified_bookings = (n > 0).then_some(n);
    }
    let filed = match store.put(item(town.id(), &doc)?, Some(Cond::NotExists)).await {
        Ok(()) => true,
        Err(StoreError::ConditionFailed) => false,
        Err(e) => return Err(e.into()),
    };
    let child_name = child.as_ref().and_then(|c| names.iter().find(|(id, _)| id == c)).map(|(_, n)| n.as_str());
    let mut line = settings.kind_name(&doc.kind);
    if let Some(n) = child_name {
        line.push_str(&format!(" – {n}"));
    }
    line.push_str(&format!(" – {}", doc.file_name));
    if let Some(a) = doc.absence {
        line.push_str(&format!(" (absence du {} au {})", domain::fr::date(a.from), domain::fr::date(a.to)));
    }
    Ok((line, filed))
}

/// The one polite answer: queued with its day's slot in one transaction, so a sender gets at
/// most one a day whatever it sends; whether it was queued now.
async fn answer(state: &AppState, town: &Town, to: &Email) -> Result<bool, InboundError> {
    let now = state.auth.clock.now();
    let slot = rules::answer_slot(&store::secret::digest(to.as_str()), town.today(now));
    let lease = Item::new(keys::lease(town.id(), &slot)).with_ttl(now.timestamp() + rules::ANSWER_SLOT_SECONDS);
    let content = InboundHowTo {
        town: town.config().name.clone(),
        public_url: state.public_url.clone(),
        max_mb: town.config().documents.max_bytes.div_ceil(1024 * 1024),
    }
    .render();
    let ops = vec![
        WriteOp::Put { item: lease, cond: Some(Cond::NotExistsOrExpired { now: now.timestamp() }) },
        Mail::new(town.id(), to, content, now).enqueue()?,
    ];
    match state.auth.store.transact(ops).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's « Sample incoming email event » (Lambda action), headers shortened.
    const AWS_EXAMPLE: &str = r#"{
      "Records": [{
        "eventSource": "aws:ses",
        "eventVersion": "1.0",
        "ses": {
          "mail": {
            "timestamp": "2019-08-05T21:30:02.028Z",
            "source": "prvs=144d0cba7=sender@example.com",
            "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "destination": ["recipient@example.com"],
            "headersTruncated": false,
            "headers": [{"name": "From", "value": "\"Doe, John\" <sender@example.com>"}],
            "commonHeaders": {
              "returnPath": "prvs=144d0cba7=sender@example.com",
              "from": ["\"Doe, John\" <sender@example.com>"],
              "date": "Mon, 5 Aug 2019 21:29:57 +0000",
              "to": ["\"recipient@example.com\" <recipient@example.com>"],
              "messageId": "<F8098FDD-49A3-442D-9935-F6112B195BDA@example.com>",
              "subject": "This is a test"
            }
          },
          "receipt": {
            "timestamp": "2019-08-05T21:30:02.028Z",
            "processingTimeMillis": 1205,
            "recipients": ["recipient@example.com"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "GRAY"},
            "action": {
              "type": "Lambda",
              "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:IncomingEmail",
              "invocationType": "Event"
            }
          }
        }
      }]
    }"#;

    /// The S3 action's SNS notification (« Notification contents for Amazon SES email
    /// receiving »), delivered to the function by SNS: what a rule in another region sends.
    fn s3_notification(object_key: &str) -> Value {
        let example: Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        let mut message = example["Records"][0]["ses"].clone();
        message["notificationType"] = "Received".into();
        message["receipt"]["action"] = serde_json::json!({
            "type": "S3",
            "topicArn": "arn:aws:sns:eu-west-1:123456789012:portail-inbound",
            "bucketName": "portail-documents",
            "objectKeyPrefix": "inbound/",
            "objectKey": object_key,
        });
        serde_json::json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:portail-inbound:0b1c",
            "Sns": {
                "Type": "Notification",
                "TopicArn": "arn:aws:sns:eu-west-1:123456789012:portail-inbound",
                "Subject": "Amazon SES Email Receipt Notification",
                "Message": message.to_string(),
            }
        }]})
    }

    #[test]
    fn a_rule_of_another_region_is_heard_through_its_s3_actions_notification() {
        let id = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000";
        let r = ses_receipts(&s3_notification(&format!("inbound/{id}"))).expect("a receipt");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].message_id, id);
        assert_eq!(r[0].recipients, ["recipient@example.com"]);
        assert_eq!(r[0].verdicts, Verdicts { dmarc: Verdict::Gray, ..Verdicts::PASS });
        // Written elsewhere than where this function reads: not ours.
        assert_eq!(ses_receipts(&s3_notification(&format!("ailleurs/{id}"))), None);
    }

    #[test]
    fn the_receipt_event_is_read_as_aws_documents_it() {
        let event: Value = serde_json::from_str(AWS_EXAMPLE).unwrap();
        let r = ses_receipts(&event).expect("an SES event");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].message_id, "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000");
        assert_eq!(r[0].recipients, ["recipient@example.com"]);
        assert_eq!(r[0].verdicts, Verdicts { dmarc: Verdict::Gray, ..Verdicts::PASS });
        assert!(r[0].verdicts.authentic(), "no DMARC policy, SPF and DKIM pass");
        // Another event (an SNS delivery event, a schedule) is not one.
        assert_eq!(ses_receipts(&serde_json::json!({"Records": [{"EventSource": "aws:sns"}]})), None);
        let delivery = serde_json::json!({"eventType": "Delivery", "mail": {"messageId": "m"}});
        let sns =
            serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": delivery.to_string()}}]});
        assert_eq!(ses_receipts(&sns), None);
        assert_eq!(ses_receipts(&serde_json::json!({"source": "aws.events"})), None);
    }
}
