//! `/dev/mail`: the emails the local portal "sent" (written to `<data>/mail` as `.eml`, the
//! bytes SES would get, and read back with `mail-parser`), so a person trying the demo can open
//! an activation link, download a confirmation's `.ics`, and mark one delivered, bounced or
//! complained about: the twin writes the event SES would publish and records it through the same code as
//! the notifier in AWS (`services::mail::deliverability`). Local only; never deployed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use domain::TownId;
use domain::delivery::Outcome;
use domain::family::Email;
use mail_parser::{MessageParser, MimeHeaders};
use services::mail::deliverability;
use services::mail::outbox::{Content, Mail};
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

/// An attachment of an email sent.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    /// `text/calendar` and the like.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One email the local portal sent, read back from its message as a mail client would.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The outbox id and its town, from our `Message-ID` (`<id>.<town>@<domain>`).
    pub id: String,
    pub town: TownId,
    pub to: Email,
    /// The `Date` header: when the email was written.
    pub created_at: DateTime<Utc>,
    /// The subject and the text and HTML parts (lines ending in `\n`).
    pub content: Content,
    /// Every header, as written (unfolded, trimmed).
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

impl Sent {
    /// A header's value (the first), by its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The outbox's view of it: what the twin's delivery events name.
    pub fn mail(&self) -> Mail {
        let mut mail = Mail::new(&self.town, &self.to, self.content.clone(), self.created_at);
        mail.id = self.id.clone();
        mail
    }

    /// Reads a message the notifier wrote; `None` if it is not one of ours.
    pub fn parse(raw: &[u8]) -> Option<Sent> {
        let m = MessageParser::default().parse(raw)?;
        let (local, _) = m.message_id()?.split_once('@')?;
        let (id, town) = local.rsplit_once('.')?;
        let to = m.to()?.first()?.address()?;
        let lf = |s: std::borrow::Cow<str>| s.replace("\r\n", "\n");
        let content = Content {
            subject: m.subject().unwrap_or_default().to_owned(),
            text: m.body_text(0).map(lf).unwrap_or_default(),
            html: m.body_html(0).map(lf).unwrap_or_default(),
        };
        let headers = m.headers_raw().map(|(n, v)| (n.to_owned(), v.replace("\r\n", "").trim().to_owned())).collect();
        let attachments = m
            .attachments()
            .map(|a| Attachment {
                name: a.attachment_name().unwrap_or("piece-jointe").to_owned(),
                content_type: a.content_type().map_or_else(
                    || "application/octet-stream".to_owned(),
                    |c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")),
                ),
                bytes: a.contents().to_vec(),
            })
            .collect();
        Some(Sent {
            id: id.to_owned(),
            town: TownId::parse(town).ok()?,
            to: Email::parse(to).ok()?,
            created_at: DateTime::from_timestamp(m.date()?.to_timestamp(), 0)?,
            content,
            headers,
            attachments,
        })
    }
}

/// Every email written to the folder, newest first (by `Date`, then by when the file was
/// written: the header counts whole seconds).
pub async fn read_all(dir: &std::path::Path) -> Vec<Sent> {
    let mut mails = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            let written = e.metadata().await.ok().and_then(|m| m.modified().ok());
            if let Ok(bytes) = tokio::fs::read(e.path()).await
                && let Some(mail) = Sent::parse(&bytes)
            {
                mails.push((mail, written));
            }
        }
    }
    mails.sort_by_key(|(m, written)| std::cmp::Reverse((m.created_at, *written)));
    mails.into_iter().map(|(m, _)| m).collect()
}

async fn list(State(dev): State<DevMail>) -> Html<String> {
    let rows: String = read_all(&dev.dir)
        .await
        .iter()
        .map(|m| {
            let id = esc(&m.id);
            let attached: String = m
                .attachments
                .iter()
                .enumerate()
                .map(|(n, a)| format!("<a href=\"/dev/mail/{id}/attachments/{n}\" download>{}</a> ", esc(&a.name)))
                .collect();
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mail/{id}\">{}</a></td><td>{attached}</td><td>{}</td></tr>\n",
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
         <table><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Destinataire</th><th scope=\"col\">Objet</th><th scope=\"col\">Pièces jointes</th><th scope=\"col\">Simuler</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
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
    let record = deliverability::twin_event(&mail.mail(), &outcome, dev.clock.now()).to_string();
    match deliverability::record_json(&dev.store, &dev.towns, &dev.public_url, &record).await {
        Ok(Ok(_)) => (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, "/dev/mail")]).into_response(),
        Ok(Err(why)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Html(format!("<p>{}</p>", esc(&why.to_string())))).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Html(format!("<p>{}</p>", esc(&e.to_string())))).into_response(),
    }
}

/// `GET /dev/mail/{id}/attachments/{n}`: an attachment of an email, as a mail client saves it.
async fn attachment(State(dev): State<DevMail>, Path((id, n)): Path<(String, usize)>) -> Response {
    let found =
        read_all(&dev.dir).await.into_iter().find(|m| m.id == id).and_then(|m| m.attachments.into_iter().nth(n));
    match found {
        Some(a) => {
            let disposition = format!("attachment; filename=\"{}\"", a.name.replace(['"', '\\', '\r', '\n'], "_"));
            let mut res = a.bytes.into_response();
            let headers = res.headers_mut();
            if let Ok(v) = axum::http::HeaderValue::from_str(&a.content_type) {
                headers.insert(axum::http::header::CONTENT_TYPE, v);
            }
            if let Ok(v) = axum::http::HeaderValue::from_str(&disposition) {
                headers.insert(axum::http::header::CONTENT_DISPOSITION, v);
            }
            res
        }
        None => (StatusCode::NOT_FOUND, Html("<p>Pièce jointe introuvable.</p>".to_owned())).into_response(),
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

/// An `.eml` received at a town's address for documents, as SES receives it: stored under
/// `inbound/` in the bucket, then the function's own code path (`documents::inbound::receive`)
/// with `verdicts`; the outcome (`Debug` of `documents::inbound::Outcome`). What both
/// `POST /dev/mail/inbound` and the watched folder ([`feed_dropped`]) run.
pub async fn receive_eml(
    inbound: &documents::AppState,
    body: &[u8],
    verdicts: domain::documents::inbound::Verdicts,
) -> Result<String, String> {
    let message_id = store::secret::id();
    let key = format!("{}{message_id}", documents::inbound::PREFIX);
    inbound.files.put_bytes(&key, body.to_vec(), "message/rfc822").await.map_err(|e| e.to_string())?;
    // SES's rule was written for the town's address: the message's recipients stand for it.
    let recipients = domain::documents::inbound::envelope(body).1;
    let receipt = documents::inbound::Receipt { message_id, recipients, verdicts };
    documents::inbound::receive(inbound, &receipt).await.map(|o| format!("{o:?}")).map_err(|e| e.to_string())
}

/// `POST /dev/mail/inbound`: an `.eml` as the body, the verdicts in the query ([`receive_eml`]).
async fn inbound(
    State(dev): State<DevMail>,
    axum::extract::Query(j): axum::extract::Query<Judged>,
    body: axum::body::Bytes,
) -> Response {
    use domain::documents::inbound::{Verdict, Verdicts};
    let v = |s: &Option<String>| s.as_deref().map_or(Verdict::Pass, Verdict::parse);
    let verdicts = Verdicts { spf: v(&j.spf), dkim: v(&j.dkim), dmarc: v(&j.dmarc), ..Verdicts::PASS };
    match receive_eml(&dev.inbound, &body, verdicts).await {
        Ok(outcome) => axum::Json(serde_json::json!({ "outcome": outcome })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({ "error": e }))).into_response(),
    }
}

/// The watched folder (`<data>/inbound`): each `.eml` dropped there is received as
/// `POST /dev/mail/inbound` receives it (every verdict `PASS`: the POST plays others), then moved
/// to `done/` beside its outcome (`<name>.json`: `{"outcome": …}` or `{"error": …}`). A file
/// still being written (changed in the last second) waits for the next pass. Returns what it
/// read, by file name. The local portal runs it every second.
pub async fn feed_dropped(dir: &std::path::Path, inbound: &documents::AppState) -> Vec<(String, String)> {
    let mut done = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return done };
    let mut dropped = Vec::new();
    while let Ok(Some(e)) = entries.next_entry().await {
        let path = e.path();
        let is_eml = path.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml"));
        let settled = e
            .metadata()
            .await
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= std::time::Duration::from_secs(1));
        if is_eml && settled {
            dropped.push(path);
        }
    }
    dropped.sort();
    let done_dir = dir.join("done");
    for path in dropped {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        let Ok(body) = tokio::fs::read(&path).await else { continue };
        let verdicts = domain::documents::inbound::Verdicts::PASS;
        let (outcome, json) = match receive_eml(inbound, &body, verdicts).await {
            Ok(o) => (o.clone(), serde_json::json!({ "outcome": o })),
            Err(e) => (format!("error: {e}"), serde_json::json!({ "error": e })),
        };
        tracing::info!(file = %name, outcome = %outcome, "dropped message received");
        let moved = async {
            tokio::fs::create_dir_all(&done_dir).await?;
            tokio::fs::write(done_dir.join(format!("{name}.json")), json.to_string()).await?;
            tokio::fs::rename(&path, done_dir.join(&name)).await
        };
        if let Err(e) = moved.await {
            tracing::warn!(file = %name, error = %e, "the dropped message could not be moved to done/");
        }
        done.push((name, outcome));
    }
    done
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
        .route("/dev/mail/{id}/attachments/{n}", get(attachment))
        .with_state(dev)
}
