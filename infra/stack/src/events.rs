//! The template's other event sources, delivered as AWS delivers them:
//!
//! - a `DynamoDB` event: Lambda's event source mapping reads the table's stream (moto's
//!   DynamoDB Streams: `DescribeStream`, `GetShardIterator`, `GetRecords`) from its
//!   `StartingPosition`, drops the records no `FilterCriteria` pattern matches, gathers the others
//!   for up to `MaximumBatchingWindowInSeconds` or `BatchSize` records, and invokes the function
//!   with the stream event (`Records[]` of `eventName`, `dynamodb.Keys`…, `eventSourceARN`), one
//!   batch at a time; a failed batch is retried, the shard waiting, as Lambda does;
//! - an `SNS` event: what is published to the topic reaches each subscribed function as SNS's
//!   Lambda event (`Records[].Sns.Message`). moto's SES does not publish a configuration set's
//!   events, so the twin's SNS endpoint (`POST /__stack/sns/{topic}`, src/main.rs) takes the
//!   message SES would publish.

use crate::lambda::Function;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The filter operators the twin evaluates; a pattern using another is refused when the
/// template is read, rather than mis-filtered.
const OPERATORS: [&str; 3] = ["prefix", "exists", "anything-but"];

/// Whether `pattern` is a filter pattern the twin evaluates as Lambda does: objects of fields,
/// each ending in an array of values or of `prefix`, `exists`, `anything-but` matchers.
pub fn check_pattern(pattern: &Value) -> Result<(), String> {
    let Some(fields) = pattern.as_object() else { return Err(format!("a filter pattern is an object: {pattern}")) };
    for (field, v) in fields {
        match v {
            Value::Object(_) => check_pattern(v)?,
            Value::Array(values) => {
                for m in values {
                    if let Some(op) = m.as_object() {
                        let known = op.len() == 1 && op.keys().all(|k| OPERATORS.contains(&k.as_str()));
                        if !known {
                            return Err(format!("{field}: a filter operator the stack twin does not evaluate: {m}"));
                        }
                    }
                }
            }
            other => return Err(format!("{field}: a filter value is an array or an object: {other}")),
        }
    }
    Ok(())
}

/// Whether `record` matches `pattern` (Lambda's event filtering: every field of the pattern,
/// one of each field's values).
pub fn matches(pattern: &Value, record: &Value) -> bool {
    let Some(fields) = pattern.as_object() else { return false };
    fields.iter().all(|(field, p)| {
        let v = record.get(field);
        match p {
            Value::Object(_) => v.is_some_and(|v| matches(p, v)),
            Value::Array(values) => values.iter().any(|m| matches_value(m, v)),
            _ => false,
        }
    })
}

fn matches_value(m: &Value, v: Option<&Value>) -> bool {
    match m.as_object().and_then(|o| o.iter().next()) {
        Some((op, arg)) => match op.as_str() {
            "exists" => arg.as_bool() == Some(v.is_some()),
            "prefix" => matches!((v, arg), (Some(Value::String(s)), Value::String(p)) if s.starts_with(p.as_str())),
            "anything-but" => {
                let Some(v) = v else { return false };
                match arg {
                    Value::Array(xs) => !xs.contains(v),
                    x => x != v,
                }
            }
            _ => false,
        },
        None => v == Some(m),
    }
}

/// moto's DynamoDB Streams (and the table's `UpdateTable`), over its JSON protocol.
#[derive(Clone)]
pub struct Streams {
    http: reqwest::Client,
    endpoint: String,
    region: String,
}

impl Streams {
    pub fn new(endpoint: &str, region: &str) -> Streams {
        // reqwest's rustls (the workspace's, without a provider of its own) needs one: ring, as
        // the SDKs use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Streams { http: reqwest::Client::new(), endpoint: endpoint.to_owned(), region: region.to_owned() }
    }

    async fn call(&self, target: &str, body: Value) -> Result<Value, Error> {
        // moto picks the service from the credential scope (`dynamodb`, as DynamoDB Streams
        // signs) and the target; it does not check the signature.
        let scope = format!("Credential=test/20260101/{}/dynamodb/aws4_request", self.region);
        let r = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", format!("AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"))
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() {
            return Err(format!("{target}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// Turns the table's stream on (`StreamSpecification`): its ARN.
    pub async fn enable(&self, table: &str, view_type: &str) -> Result<String, Error> {
        let body =
            json!({"TableName": table, "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view_type}});
        let answer = self.call("DynamoDB_20120810.UpdateTable", body).await?;
        answer["TableDescription"]["LatestStreamArn"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("UpdateTable gave no stream: {answer}").into())
    }

    /// A shard iterator of the stream's (moto's only) shard.
    pub async fn iterator(&self, stream: &str, position: &str) -> Result<String, Error> {
        let described = self.call("DynamoDBStreams_20120810.DescribeStream", json!({"StreamArn": stream})).await?;
        let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .ok_or_else(|| format!("the stream has no shard: {described}"))?
            .to_owned();
        let body = json!({"StreamArn": stream, "ShardId": shard, "ShardIteratorType": position});
        let it = self.call("DynamoDBStreams_20120810.GetShardIterator", body).await?;
        it["ShardIterator"].as_str().map(str::to_owned).ok_or_else(|| format!("no iterator: {it}").into())
    }

    /// The records after `iterator` (at most `limit`) and the next iterator.
    pub async fn records(&self, iterator: &str, limit: usize) -> Result<(Vec<Value>, String), Error> {
        let body = json!({"ShardIterator": iterator, "Limit": limit});
        let got = self.call("DynamoDBStreams_20120810.GetRecords", body).await?;
        let next = got["NextShardIterator"].as_str().unwrap_or(iterator).to_owned();
        let records = got["Records"].as_array().cloned().unwrap_or_default();
        Ok((records, next))
    }
}

/// A stream record as Lambda hands it to a function (moto gives the `GetRecords` shape:
/// the region, the source's ARN and the creation time are set as Lambda sets them).
pub fn lambda_record(mut record: Value, stream_arn: &str, region: &str) -> Value {
    if let Some(r) = record.as_object_mut() {
        r.insert("awsRegion".into(), json!(region));
        r.insert("eventVersion".into(), json!("1.1"));
        r.insert("eventSource".into(), json!("aws:dynamodb"));
        r.insert("eventSourceARN".into(), json!(stream_arn));
        if let Some(d) = r.get_mut("dynamodb").and_then(Value::as_object_mut) {
            let at = d.get("ApproximateCreationDateTime").and_then(Value::as_f64);
            let seconds = at.map_or_else(|| chrono::Utc::now().timestamp(), |s| s as i64);
            d.insert("ApproximateCreationDateTime".into(), json!(seconds));
        }
    }
    record
}

/// One stream event source mapping.
pub struct Mapping {
    pub function: Arc<Function>,
    /// The event's name in the template (`Outbox`), counted as the invocations' source.
    pub name: String,
    pub stream_arn: String,
    pub starting_position: String,
    pub batch_size: usize,
    pub window: Duration,
    pub filters: Vec<Value>,
    pub region: String,
}

/// How often an empty shard is polled (Lambda polls each shard about four times a second).
const POLL: Duration = Duration::from_millis(250);

/// Reads the stream and invokes the function with each batch, forever.
pub async fn run(streams: Streams, m: Mapping) {
    let mut iterator = loop {
        match streams.iterator(&m.stream_arn, &m.starting_position).await {
            Ok(i) => break i,
            Err(e) => {
                tracing::warn!(function = m.function.name(), error = %e, "the stream cannot be read yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut batch: Vec<Value> = Vec::new();
    let mut first_at: Option<Instant> = None;
    loop {
        match streams.records(&iterator, m.batch_size.saturating_sub(batch.len()).max(1)).await {
            Ok((records, next)) => {
                iterator = next;
                for r in records {
                    let r = lambda_record(r, &m.stream_arn, &m.region);
                    if m.filters.is_empty() || m.filters.iter().any(|p| matches(p, &r)) {
                        first_at.get_or_insert_with(Instant::now);
                        batch.push(r);
                    }
                }
            }
            Err(e) => tracing::warn!(function = m.function.name(), error = %e, "GetRecords failed"),
        }
        let due = first_at.is_some_and(|t| t.elapsed() >= m.window) || batch.len() >= m.batch_size;
        if !batch.is_empty() && due {
            let event = json!({ "Records": batch }).to_string().into_bytes();
            // A failed batch is retried, the shard waiting (until the records expire, in AWS).
            let mut wait = Duration::from_secs(1);
            while let Err(e) = m.function.invoke(event.clone(), &m.name).await {
                tracing::warn!(function = m.function.name(), error = %e, "the stream's batch failed; retried");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            batch.clear();
            first_at = None;
            continue;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// SNS's Lambda event for one message published to `topic_arn`.
pub fn sns_event(topic_arn: &str, message: &str, message_id: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    let region = topic_arn.split(':').nth(3).unwrap_or_default();
    json!({
        "Records": [{
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic_arn}:{message_id}"),
            "EventSource": "aws:sns",
            "Sns": {
                "SignatureVersion": "1",
                "Timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Signature": "",
                "SigningCertUrl": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem"),
                "MessageId": message_id,
                "Message": message,
                "MessageAttributes": {},
                "Type": "Notification",
                "UnsubscribeUrl": format!("https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{message_id}"),
                "TopicArn": topic_arn,
                "Subject": null,
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_filter_keeps_new_emails_only() {
        let pattern: Value =
            serde_json::from_str(r#"{"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["MAIL"]}}}}"#)
                .expect("json");
        check_pattern(&pattern).expect("evaluated");
        let record = |event: &str, sk: &str| json!({"eventName": event, "dynamodb": {"Keys": {"pk": {"S": "T#ville#MAIL#1"}, "sk": {"S": sk}}}});
        assert!(matches(&pattern, &record("INSERT", "MAIL")));
        assert!(!matches(&pattern, &record("MODIFY", "MAIL")), "a sent email's update");
        assert!(!matches(&pattern, &record("INSERT", "ACCOUNT")), "another item");
        assert!(!matches(&pattern, &json!({"eventName": "INSERT"})), "no keys");
    }

    #[test]
    fn operators_are_evaluated_and_unknown_ones_refused() {
        let p = json!({"a": [{"prefix": "T#"}], "b": [{"exists": false}], "c": [{"anything-but": ["x"]}]});
        check_pattern(&p).expect("known operators");
        assert!(matches(&p, &json!({"a": "T#1", "c": "y"})));
        assert!(!matches(&p, &json!({"a": "T#1", "b": 1, "c": "y"})));
        assert!(!matches(&p, &json!({"a": "U#1", "c": "y"})));
        assert!(!matches(&p, &json!({"a": "T#1", "c": "x"})));
        assert!(check_pattern(&json!({"n": [{"numeric": [">", 1]}]})).is_err());
        assert!(check_pattern(&json!({"n": "INSERT"})).is_err());
    }

    #[test]
    fn records_and_sns_messages_take_lambdas_shapes() {
        let moto = json!({"eventID": "e", "eventName": "INSERT", "eventVersion": "1.0", "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": 1_700_000_000.5, "Keys": {}, "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "KEYS_ONLY"}});
        let r = lambda_record(moto, "arn:aws:dynamodb:eu-west-3:1:table/t/stream/x", "eu-west-3");
        assert_eq!((r["awsRegion"].as_str(), r["eventVersion"].as_str()), (Some("eu-west-3"), Some("1.1")));
        assert_eq!(r["eventSourceARN"], "arn:aws:dynamodb:eu-west-3:1:table/t/stream/x");
        assert_eq!(r["dynamodb"]["ApproximateCreationDateTime"], 1_700_000_000);
        let e = sns_event("arn:aws:sns:eu-west-3:1:topic", "{}", "m", chrono::Utc::now());
        assert_eq!(e["Records"][0]["EventSource"], "aws:sns");
        assert_eq!(e["Records"][0]["Sns"]["Message"], "{}");
        assert_eq!(e["Records"][0]["Sns"]["TopicArn"], "arn:aws:sns:eu-west-3:1:topic");
    }
}
