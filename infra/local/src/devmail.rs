//! `/dev/mail`: the emails the local portal "sent" (written to `<data>/mail`), so a person
//! trying the demo can open an activation link. Local only; never deployed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use services::mail::outbox::Mail;
use std::path::PathBuf;

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

async fn list(State(dir): State<PathBuf>) -> Html<String> {
    let rows: String = read_all(&dir)
        .await
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mail/{}\">{}</a></td></tr>\n",
                m.created_at.format("%d/%m/%Y %H:%M:%S UTC"),
                esc(m.to.as_str()),
                esc(&m.id),
                esc(&m.content.subject)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>E-mails envoyés (local)</title></head><body>\
         <h1>E-mails envoyés par le portail local</h1><p>En production, ils partent par Amazon SES.</p>\
         <table><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Destinataire</th><th scope=\"col\">Objet</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    ))
}

async fn show(State(dir): State<PathBuf>, Path(id): Path<String>) -> Response {
    match read_all(&dir).await.into_iter().find(|m| m.id == id) {
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

pub fn router(dir: PathBuf) -> Router {
    Router::new().route("/dev/mail", get(list)).route("/dev/mail/{id}", get(show)).with_state(dir)
}
