//! Extractors that turn bad input into problem+json instead of axum's plain-text rejections.

use super::{MAX_BODY_BYTES, Problem};
use crate::json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
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
