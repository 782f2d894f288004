//! The portal on the AWS backends: DynamoDB and SES v2 on moto, through the real SDK clients.
//! The activation email is read back from moto and its link followed; the demo town's
//! calendar runs on DynamoDB with the same storage calls as on the embedded store.

use crate::helpers::{Reply, call};
use axum::Router;
use edge::auth::accounts::Throttle;
use edge::clock::Clock;
use edge::http::auth::{AuthState, OperatorKey};
use serde_json::{Value, json};
use services::mail::{notifier, sender::Mailer};
use std::time::Duration;
use store::repo::Towns;

const OPERATOR: &str = "un-jeton-exploitant-de-test";
const SENDER: &str = "ne-pas-repondre@villeneuve-les-tilleuls.fr";

async fn post(router: &Router, uri: &str, headers: &[(&str, &str)], body: Value) -> Reply {
    let mut hs = vec![("content-type", "application/json")];
    hs.extend_from_slice(headers);
    call(router, "POST", uri, &hs, Some(body.to_string().into_bytes())).await
}

/// The raw messages moto recorded (SES v2 `SendEmail` with `Raw` content: `ses.RawMessage`,
/// each with its `source`, `destinations` and `raw_data`).
async fn sent_by_moto(endpoint: &str) -> Vec<Value> {
    // The suite's other tests may have installed it; run alone, this one must.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.unwrap().json().await.unwrap();
    data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
#[cfg_attr(not(moto), ignore = "DynamoDB and SES on moto: set AWS_ENDPOINT_URL to a moto server, or run scripts/test")]
async fn staff_activation_email_goes_through_ses_and_its_link_works() {
    let Some(store) = crate::helpers::dynamo_store().await else { return };
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let town = domain::config::Town::parse(local_portal::DEMO_TOWN.as_bytes()).unwrap();
    let towns = Towns::new(store.clone(), Duration::from_secs(60));
    towns.put(&town).await.unwrap();
    let state = accounts::AppState {
        auth: AuthState {
            store: store.clone(),
            clock: Clock::system(),
            trusted_proxies: edge::http::auth::trusted_proxies_from_env(),
        },
        towns,
        public_url: "https://portail.example".into(),
        throttle: Throttle::default(),
        operator: OperatorKey::new(Some(OPERATOR)),
        equal_answer_time: Duration::from_millis(10),
        // Not reached by this test (no account request).
        files: edge::files::Files::local(&endpoint, edge::files::LOCAL_BUCKET),
    };
    let router = edge::http::finish(accounts::router(state));

    // A unique recipient, since moto's record is shared by every test of the run.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let email = format!("agent-{nanos}@villeneuve-les-tilleuls.fr");
    let auth = format!("Bearer {OPERATOR}");
    let created = post(
        &router,
        "/api/operator/towns/villeneuve-les-tilleuls/staff",
        &[("authorization", &auth)],
        json!({"email": email, "first_name": "Karim", "last_name": "Benali", "role": "agent"}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.json);

    let mailer = Mailer::ses_for_emulator(&endpoint, SENDER.into()).await;
    // Before the sender is verified SES refuses: the email is kept and retried, not lost.
    let first = notifier::drain(&store, &mailer, chrono::Utc::now()).await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 1));
    let Mailer::Ses { client, .. } = &mailer else { unreachable!("an SES mailer") };
    client.create_email_identity().email_identity(SENDER).send().await.unwrap();
    let later = chrono::Utc::now() + notifier::backoff(1) + chrono::TimeDelta::seconds(1);
    let second = notifier::drain(&store, &mailer, later).await.unwrap();
    assert_eq!(second.sent, 1);

    let sent = sent_by_moto(&endpoint).await;
    let message = sent
        .iter()
        .find(|m| m["destinations"].as_array().is_some_and(|d| d.iter().any(|a| a == email.as_str())))
        .unwrap_or_else(|| panic!("moto recorded no email to {email}: {sent:?}"));
    // FromEmailAddress (what the IAM condition `ses:FromAddress` reads): the town's name as the
    // sender's (RFC 2047 when not ASCII), the verified address.
    assert_eq!(message["source"], format!("\"Villeneuve-les-Tilleuls\" <{SENDER}>"));
    // The message itself, read back as the local twin reads its own.
    let raw = message["raw_data"].as_str().expect("a raw message");
    let read = local_portal::devmail::Sent::parse(raw.as_bytes()).expect("our message, with our Message-ID");
    assert_eq!(read.content.subject, "Activez votre Espace Famille – Villeneuve-les-Tilleuls");
    assert!(read.header("From").is_some_and(|f| f.contains("Villeneuve-les-Tilleuls") && f.contains(SENDER)));
    let message_id = read.header("Message-ID").unwrap();
    assert!(message_id.ends_with(".villeneuve-les-tilleuls@villeneuve-les-tilleuls.fr>"), "{message_id}");
    assert!(read.header("List-Unsubscribe").is_none(), "an activation is not a reminder");
    let body = read.content.text.as_str();
    let start = body.find("#jeton=").expect("the link") + "#jeton=".len();
    let token: String =
        body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();

    let activated = post(
        &router,
        "/api/towns/villeneuve-les-tilleuls/auth/activate",
        &[],
        json!({"token": token, "password": "une mairie bien tenue"}),
    )
    .await;
    assert_eq!(activated.status, 200, "{:?}", activated.json);
    assert_eq!(activated.json["role"], "agent");
    let login = post(
        &router,
        "/api/towns/villeneuve-les-tilleuls/auth/login",
        &[("x-forwarded-for", "203.0.113.7")],
        json!({"email": email, "password": "une mairie bien tenue"}),
    )
    .await;
    assert_eq!(login.status, 200);
}

#[tokio::test]
#[cfg_attr(not(moto), ignore = "DynamoDB on moto: set AWS_ENDPOINT_URL to a moto server, or run scripts/test")]
async fn the_family_grid_on_dynamodb_costs_the_same_storage_calls() {
    let Some(store) = crate::helpers::dynamo_store().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z").unwrap().to_utc();
    let opts = local_portal::Options::demo(dir.path(), Clock::manual(start));
    let portal = local_portal::build_on(&opts, store.clone()).await.unwrap();
    let login = post(
        &portal.router,
        "/api/towns/villeneuve-les-tilleuls/auth/login",
        &[],
        json!({"email": "sophie.martin@exemple.fr", "password": local_portal::DEMO_PASSWORD}),
    )
    .await;
    let browser = crate::helpers::browser_of(login).unwrap();
    let uri = "/api/towns/villeneuve-les-tilleuls/calendar/families/martin/weeks?activity=restauration&from=2026-11-30&weeks=12";
    call(&portal.router, "GET", uri, &[("cookie", &browser.cookie)], None).await;
    let before = store.calls();
    let grid = call(&portal.router, "GET", uri, &[("cookie", &browser.cookie)], None).await;
    assert_eq!(grid.status, 200, "{:?}", grid.json);
    assert_eq!(grid.json.as_array().unwrap().len(), 3);
    assert_eq!(
        grid.json[0]["weeks"][0]["rows"][0]["cells"][0]["state"], "confirmed",
        "Léa's demo booking read from DynamoDB"
    );
    assert_eq!(store.calls() - before, 2 + 3 * 3, "storage calls per grid on DynamoDB");
    portal.stop().await;
}
