//! The `documents` function: « Mes demandes ». A guardian asks to send a file (kind, child,
//! name, type, size); the server checks it, chooses where it goes and answers with a presigned
//! PUT that signs the type and the exact length; the browser sends the file straight to S3; the
//! guardian confirms and the server checks the stored object (there, that size, first bytes of
//! the declared type) before recording « demande en cours ». Staff list what waits, open it,
//! accept or refuse it with a reason; the guardians are emailed. Accepting a medical
//! certificate for an absence marks the child's bookings of those dates « absence justifiée ».
//! Decided documents are deleted after the town's retention period.

mod export;
pub mod inbound;
mod marks;
mod record;
mod retention;
mod review;
mod upload;

pub use record::{Document, View, item};
pub use retention::{erase_due, purge};

use axum::Router;
use axum::routing::{get, post};
use edge::files::Files;
use edge::http::auth::AuthState;
use store::repo::Towns;

/// How long an upload may wait for its confirmation before its record goes (the bucket's
/// lifecycle rule deletes the file itself after a day too).
pub const UPLOAD_WINDOW_HOURS: i64 = 24;
/// Bookings marked per transaction when a certificate is accepted.
const MARKS_PER_TRANSACTION: usize = 90;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    pub files: Files,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/documents/settings", get(record::settings))
        .route("/api/towns/{town}/families/{family}/documents", get(record::list).post(upload::start_upload))
        .route("/api/towns/{town}/families/{family}/documents/{id}", get(record::one).delete(upload::withdraw))
        .route("/api/towns/{town}/families/{family}/documents/{id}/confirm", post(upload::confirm))
        .route("/api/towns/{town}/families/{family}/documents/{id}/download", get(upload::download))
        .route("/api/towns/{town}/families/{family}/export", get(export::json))
        .route("/api/towns/{town}/families/{family}/export/archive", post(export::archive))
        .route("/api/towns/{town}/staff/documents", get(review::staff_list))
        .route("/api/towns/{town}/staff/documents/purge", post(retention::purge_now))
        .route("/api/towns/{town}/staff/documents/{family}/{id}", axum::routing::delete(review::staff_delete))
        .route("/api/towns/{town}/staff/documents/{family}/{id}/decision", post(review::decide))
        .with_state(state)
}
