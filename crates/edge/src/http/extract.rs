//! Extractors that turn bad input into problem+json instead of axum's plain-text rejections.

use super::{MAX_BODY_BYTES, Problem};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use domain::json;
use domain::{date, text};
use serde::de::DeserializeOwned;

/// A JSON body, parsed with field paths and French messages.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || m.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Le contenu doit être envoyé en JSON (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("Le contenu envoyé dépasse la taille maximale de {} Mio.", MAX_BODY_BYTES / (1024 * 1024)),
                )
            } else {
                Problem::bad_request("unreadable_body", "Le contenu envoyé n'a pas pu être lu.")
            }
        })?;
        if let Some(problem) = refused_text(&bytes) {
            return Err(problem);
        }
        json::parse::<T>(&bytes).map(Json).map_err(|e| {
            if e.syntax {
                Problem::bad_request("invalid_json", "Le contenu envoyé n'est pas du JSON valide.").detail(e.message)
            } else {
                Problem::unprocessable("invalid_body", "Le contenu envoyé est incomplet ou incorrect.")
                    .detail(e.message)
                    .field(e.path)
            }
        })
    }
}

/// Every text of a JSON body is held to [`text::check`] and every date-like text to the strict
/// [`date`] (no sign, four digits, a plausible year), whatever the field: a 422 naming the first field that fails. (Bytes that are not JSON are
/// left to the parser's own error.)
fn refused_text(bytes: &[u8]) -> Option<Problem> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut stack = vec![(String::new(), &value)];
    while let Some((path, v)) = stack.pop() {
        let refuse = |why: &dyn domain::Refusal| {
            Some(
                Problem::unprocessable(why.code(), "Le contenu envoyé contient une valeur refusée.")
                    .detail(why.french())
                    .field(path.clone()),
            )
        };
        match v {
            serde_json::Value::String(s) => {
                if let Err(why) = text::check(s) {
                    return refuse(&why);
                }
                if let Err(why) = date::check_text(s) {
                    return refuse(&why);
                }
            }
            // Children pushed last first, so that the first field in the document fails first.
            serde_json::Value::Array(items) => {
                stack.extend(items.iter().enumerate().rev().map(|(i, x)| (format!("{path}[{i}]"), x)));
            }
            serde_json::Value::Object(fields) => {
                if let Some(why) = fields.keys().find_map(|k| text::check(k).err()) {
                    return refuse(&why);
                }
                let field = |k: &String| if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                stack.extend(fields.iter().rev().map(|(k, x)| (field(k), x)));
            }
            _ => {}
        }
    }
    None
}

/// Path parameters; a segment that is not valid UTF-8 or is missing is a 400.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|axum::extract::Path(v)| Path(v)).map_err(
            |e| Problem::bad_request("invalid_path", "L'adresse demandée est incorrecte.").detail(e.body_text()),
        )
    }
}
