//! `/dev/mail`: the emails the local portal "sent" (written to `<data>/mail`), so a person
//! trying the demo can open an activation link, and mark one delivered, bounced or complained
//! about: the twin writes the event SES would publish and records it through the same code as
//! the notifier in AWS (`services::mail::deliverability`). Local only; never deployed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use domain::delivery::Outcome;
use services::mail::deliverability;
use services::mail::outbox::Mail;
use std::path::PathBuf;
use store::Store;
use store::repo::Towns;

/// What `/dev/mail` reads and records into.
#[derive(Clone)]
pub struct DevMail {
    pub dir: PathBuf,
    pub store: Store,
    pub towns: Towns,
    pub public_url: String,
    /// The portal's clock (tests move it), for the events' time.
    pub clock: edge::clock::Clock,
    /// What `InboundMailFunction` holds in AWS: its store, the bucket (documents by email).
    pub inbound: documents::AppState,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Every email written to the folder, newest first.
pub async fn read_all(dir: &std::path::Path) -> Vec<Mail> {
    let mut mails = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            if let Ok(bytes) = tokio::fs::read(e.path()).await
                && let Ok(mail) = serde_json::from_slice::<Mail>(&bytes)
            {
                mails.push(mail);
            }
        }
    }
    mails.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    mails
}

async fn list(State(dev): State<DevMail>) -> Html<String> {
    let rows: String = read_all(&dev.dir)
        .await
        .iter()
        .map(|m| {
            let id = esc(&m.id);
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mail/{id}\">{}</a></td><td>{}</td></tr>\n",
                m.created_at.format("%d/%m/%Y %H:%M:%S UTC"),
                esc(m.to.as_str()),
                esc(&m.content.subject),
                ["delivery", "bounce", "complaint"]
                    .iter()
                    .zip(["Remis", "Rejeté (adresse invalide)", "Plainte (spam)"])
                    .map(|(event, label)| format!(
                        "<form method=\"post\" action=\"/dev/mail/{id}/{event}\"><button>{label}</button></form>"
                    ))
                    .collect::<String>(),
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>E-mails envoyés (local)</title></head><body>\
         <h1>E-mails envoyés par le portail local</h1><p>En production, ils partent par Amazon SES.</p>\
         <table><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Destinataire</th><th scope=\"col\">Objet</th><th scope=\"col\">Simuler</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    ))
}

async fn show(State(dev): State<DevMail>, Path(id): Path<String>) -> Response {
    match read_all(&dev.dir).await.into_iter().find(|m| m.id == id) {
        // An email's HTML is styled inline, as emails are: its own policy allows that and
        // nothing else (no script, no request out).
        Some(m) => (
            [(
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
            )],
            Html(m.content.html),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, Html("<p>E-mail introuvable.</p>".to_owned())).into_response(),
    }
}

/// `POST /dev/mail/{id}/{event}`: what SES would publish for this email (`delivery`,
/// `bounce`: a hard bounce, `complaint`), recorded as the notifier records it in AWS.
async fn event(State(dev): State<DevMail>, Path((id, event)): Path<(String, String)>) -> Response {
    let outcome = match event.as_str() {
        "delivery" => Outcome::Delivered,
        "bounce" => Outcome::Bounced { permanent: true, diagnostic: Some("smtp; 550 5.1.1 user unknown".into()) },
        "complaint" => Outcome::Complained,
        _ => return (StatusCode::NOT_FOUND, Html("<p>Événement inconnu.</p>".to_owned())).into_response(),
    };
    let Some(mail) = read_all(&dev.dir).await.into_iter().find(|m| m.id == id) else {
        return (StatusCode::NOT_FOUND, Html("<p>E-mail introuvable.</p>".to_owned())).into_response();
    };
    let record = deliverability::twin_event(&mail, &outcome, dev.clock.now()).to_string();
    match deliverability::record_json(&dev.store, &dev.towns, &dev.public_url, &record).await {
        Ok(Ok(_)) => (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, "/dev/mail")]).into_response(),
        Ok(Err(why)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Html(format!("<p>{}</p>", esc(&why.to_string())))).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Html(format!("<p>{}</p>", esc(&e.to_string())))).into_response(),
    }
}

/// How the twin's SES judged the message: `?spf=FAIL&dkim=PASS&dmarc=FAIL` (each `PASS` when
/// not given: the local portal has no DNS to check).
#[derive(serde::Deserialize)]
struct Judged {
    spf: Option<String>,
    dkim: Option<String>,
    dmarc: Option<String>,
}

/// `POST /dev/mail/inbound`: an `.eml` received at a town's address for documents, as SES
/// receives it: stored under `inbound/` in the bucket, then the function's own code path
/// (`documents::inbound::receive`) with the verdicts given.
async fn inbound(
    State(dev): State<DevMail>,
    axum::extract::Query(j): axum::extract::Query<Judged>,
    body: axum::body::Bytes,
) -> Response {
    use domain::documents::inbound::{Verdict, Verdicts, envelope};
    let v = |s: &Option<String>| s.as_deref().map_or(Verdict::Pass, Verdict::parse);
    let verdicts = Verdicts { spf: v(&j.spf), dkim: v(&j.dkim), dmarc: v(&j.dmarc), ..Verdicts::PASS };
    let message_id = store::secret::id();
    let key = format!("{}{message_id}", documents::inbound::PREFIX);
    if let Err(e) = dev.inbound.files.put_bytes(&key, body.to_vec(), "message/rfc822").await {
        return (StatusCode::SERVICE_UNAVAILABLE, Html(format!("<p>{}</p>", esc(&e.to_string())))).into_response();
    }
    // SES's rule was written for the town's address: the message's recipients stand for it.
    let recipients = envelope(&body).1;
    let receipt = documents::inbound::Receipt { message_id, recipients, verdicts };
    match documents::inbound::receive(&dev.inbound, &receipt).await {
        Ok(outcome) => axum::Json(serde_json::json!({ "outcome": format!("{outcome:?}") })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({ "error": e.to_string() })))
            .into_response(),
    }
}

pub fn router(dev: DevMail) -> Router {
    Router::new()
        .route(
            "/dev/mail/inbound",
            post(inbound).layer(axum::extract::DefaultBodyLimit::max(
                domain::documents::inbound::MAX_MESSAGE_BYTES + (16 << 20),
            )),
        )
        .route("/dev/mail", get(list))
        .route("/dev/mail/{id}", get(show))
        .route("/dev/mail/{id}/{event}", post(event))
        .with_state(dev)
}
