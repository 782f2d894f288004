use super::*;
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, h, 0, 0).single().unwrap_or_default()
}

/// The mail object of AWS's examples, with the tags this portal sets.
fn mail_object() -> &'static str {
    r#""mail":{"timestamp":"2017-08-05T00:40:02.012Z","source":"Sender Name <sender@example.com>",
      "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com","sendingAccountId":"123456789012",
      "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000","destination":["recipient@example.com"],
      "headersTruncated":false,"headers":[{"name":"From","value":"Sender Name <sender@example.com>"}],
      "commonHeaders":{"from":["Sender Name <sender@example.com>"],"to":["recipient@example.com"]},
      "tags":{"ses:configuration-set":["ConfigSet"],"town":["demo"],"mail":["m1"]}}"#
}

fn record(kind: &str, body: &str) -> String {
    format!(r#"{{"eventType":"{kind}",{body},{}}}"#, mail_object())
}

#[test]
fn reads_the_five_event_types_as_aws_documents_them() {
    let bounce = record(
        "Bounce",
        r#""bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"recipient@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2017-08-05T00:41:02.669Z","feedbackId":"x","reportingMTA":"dsn; mta.example.com"}"#,
    );
    let e = parse(&bounce).unwrap();
    assert_eq!((e.town.as_str(), e.mail.as_str()), ("demo", "m1"));
    assert_eq!(e.recipients, vec![Email::parse("recipient@example.com").unwrap()]);
    assert_eq!(
        e.outcome,
        Outcome::Bounced { permanent: true, diagnostic: Some("smtp; 550 5.1.1 user unknown".into()) }
    );
    let complaint = record(
        "Complaint",
        r#""complaint":{"complainedRecipients":[{"emailAddress":"recipient@example.com"}],"timestamp":"2017-08-05T00:41:02.669Z","feedbackId":"x","userAgent":"Mozilla/5.0","complaintFeedbackType":"abuse","arrivalDate":"2017-08-05T00:41:02.669Z"}"#,
    );
    assert_eq!(parse(&complaint).unwrap().outcome, Outcome::Complained);
    let delivery = record(
        "Delivery",
        r#""delivery":{"timestamp":"2016-10-19T23:21:04.133Z","processingTimeMillis":11893,"recipients":["recipient@example.com"],"smtpResponse":"250 2.6.0 Message received","reportingMTA":"mta.example.com"}"#,
    );
    assert_eq!(parse(&delivery).unwrap().outcome, Outcome::Delivered);
    let delay = record(
        "DeliveryDelay",
        r#""deliveryDelay":{"timestamp":"2020-06-16T00:15:40.641Z","delayType":"TransientCommunicationFailure","expirationTime":"2020-06-16T00:25:40.914Z","delayedRecipients":[{"emailAddress":"recipient@example.com","status":"4.4.1","diagnosticCode":"smtp; 421 4.4.1 Unable to connect"}]}"#,
    );
    let d = parse(&delay).unwrap();
    assert_eq!((d.outcome, d.recipients.len()), (Outcome::Delayed, 1));
    let reject = record("Reject", r#""reject":{"reason":"Bad content"}"#);
    let r = parse(&reject).unwrap();
    assert_eq!(r.outcome, Outcome::Rejected { reason: Some("Bad content".into()) });
    assert_eq!(r.recipients.len(), 1, "a reject names the mail's destination");
}

#[test]
fn other_events_untagged_mail_and_garbage_are_told_apart() {
    assert!(matches!(parse(&record("Open", r#""open":{}"#)), Err(EventError::Ignored(_))));
    let untagged = r#"{"eventType":"Delivery","mail":{"timestamp":"2017-08-05T00:40:02.012Z","tags":{}},"delivery":{"timestamp":"2017-08-05T00:40:02.012Z","recipients":[]}}"#;
    assert_eq!(parse(untagged), Err(EventError::Untagged));
    assert!(matches!(parse("{not json"), Err(EventError::Malformed(_))));
    assert!(matches!(parse(&record("Bounce", r#""x":1"#)), Err(EventError::Malformed(_))));
}

fn event(outcome: Outcome, h: u32) -> Event {
    Event { town: "t".into(), mail: "m".into(), recipients: vec![], outcome, at: at(h) }
}

#[test]
fn a_hard_bounce_stops_all_but_account_emails_until_a_later_delivery() {
    let fresh = AddressState::default();
    let soft = event(Outcome::Bounced { permanent: false, diagnostic: None }, 9);
    assert_eq!(fresh.after(&soft), None, "a soft bounce leaves the address as it was");
    let hard = event(Outcome::Bounced { permanent: true, diagnostic: Some("550 user unknown".into()) }, 10);
    let bounced = fresh.after(&hard).unwrap();
    assert!(bounced.undeliverable());
    assert!(bounced.allows(MailKind::Account));
    for kind in [MailKind::Invoice, MailKind::Transactional, MailKind::Reminder] {
        assert!(!bounced.allows(kind), "{kind:?}");
    }
    assert_eq!(
        bounced.staff_notice(chrono_tz::Europe::Paris).as_deref(),
        Some("Adresse e-mail invalide (rejetée le 03/12/2026)")
    );
    assert_eq!(bounced.after(&event(Outcome::Delivered, 8)), None, "an older delivery proves nothing");
    assert_eq!(bounced.after(&event(Outcome::Delivered, 10)), None, "nor one of the same instant");
    let again = bounced.after(&event(Outcome::Delivered, 11)).unwrap();
    assert_eq!(again, AddressState::default());
}

#[test]
fn a_complaint_stops_reminders_only() {
    let complained = AddressState::default().after(&event(Outcome::Complained, 10)).unwrap();
    assert!(!complained.allows(MailKind::Reminder));
    assert!(complained.allows(MailKind::Invoice) && complained.allows(MailKind::Transactional));
    assert!(!complained.undeliverable() && complained.staff_notice(chrono_tz::Europe::Paris).is_none());
}

#[test]
fn an_emails_state_never_goes_back_whatever_order_events_arrive_in() {
    use DeliveryState as S;
    let outcomes = [
        Outcome::Delayed,
        Outcome::Delivered,
        Outcome::Complained,
        Outcome::Bounced { permanent: true, diagnostic: None },
    ];
    // Every order of the four events ends on the strongest: the complaint.
    let mut orders = Vec::new();
    for a in 0..4 {
        for b in (0..4).filter(|b| *b != a) {
            for c in (0..4).filter(|c| *c != a && *c != b) {
                orders.push([a, b, c, 6 - a - b - c]);
            }
        }
    }
    assert_eq!(orders.len(), 24);
    for order in orders {
        let end = order.iter().fold(None, |s, &i| S::after(s, &outcomes[i]));
        assert_eq!(end, Some(S::Complained), "{order:?}");
    }
    assert_eq!(S::after(Some(S::Delivered), &Outcome::Delayed), Some(S::Delivered));
    assert_eq!(S::after(Some(S::Delayed), &Outcome::Delivered), Some(S::Delivered));
}

#[test]
fn only_account_and_invoice_emails_tell_the_other_guardian() {
    assert!(MailKind::Account.tells_other_guardian() && MailKind::Invoice.tells_other_guardian());
    assert!(!MailKind::Reminder.tells_other_guardian() && !MailKind::Transactional.tells_other_guardian());
}
