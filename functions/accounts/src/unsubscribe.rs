//! One-click unsubscribe from the reminders (RFC 8058). Each reminder carries
//! `List-Unsubscribe: <…/api/towns/{town}/unsubscribe/{token}>` and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the mail client POSTs there and the
//! guardian's reminders are off, without signing in. The link in the email's text opens
//! `desabonnement.html`, which does the same POST, says what was turned off and offers to turn
//! it back on (`…/undo`). A GET changes nothing (link checkers follow links). The token is a
//! 256-bit secret stored as its hash (`store::accounts::unsubscribe_token`), valid a year; an
//! unknown or expired one is a 404 that says so.

use super::{AppState, load_town};
use axum::extract::State;
use edge::auth::accounts;
use edge::http::{Path, Problem};
use serde::Serialize;

#[derive(Serialize)]
pub struct Unsubscribed {
    /// The address the reminders go to, masked (« s…@exemple.fr »).
    email: String,
    /// Whether the holiday reminders are on now.
    holiday_reminders: bool,
}

fn unknown_link() -> Problem {
    Problem::not_found(
        "unsubscribe_link_unknown",
        "Ce lien de désinscription est inconnu ou a expiré\u{202f}: désactivez les rappels dans «\u{202f}Mon compte\u{202f}».",
    )
}

/// `POST /api/towns/{town}/unsubscribe/{token}`: the reminders off (whatever the body: RFC 8058
/// sends `List-Unsubscribe=One-Click`).
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path((town, token)): Path<(String, String)>,
) -> Result<axum::Json<Unsubscribed>, Problem> {
    set(&state, &town, &token, false).await
}

/// `POST /api/towns/{town}/unsubscribe/{token}/undo`: the reminders on again.
pub async fn undo(
    State(state): State<AppState>,
    Path((town, token)): Path<(String, String)>,
) -> Result<axum::Json<Unsubscribed>, Problem> {
    set(&state, &town, &token, true).await
}

async fn set(state: &AppState, town: &str, token: &str, on: bool) -> Result<axum::Json<Unsubscribed>, Problem> {
    // A token is 43 URL-safe characters: anything else is not one (no store read).
    if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(unknown_link());
    }
    let town = load_town(state, town).await?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let email = accounts::unsubscribe_email(store, town.id(), token, now).await?.ok_or_else(unknown_link)?;
    for _ in 0..5 {
        let Some(account) = accounts::get_account(store, town.id(), &email).await? else {
            return Err(unknown_link());
        };
        if account.no_reminders != on {
            return Ok(axum::Json(Unsubscribed { email: masked(email.as_str()), holiday_reminders: on }));
        }
        let mut changed = account;
        changed.no_reminders = !on;
        match store.transact(vec![changed.save(town.id())?]).await {
            Ok(()) => {
                tracing::info!(town = %town.id(), on, "reminders set from an unsubscribe link");
                return Ok(axum::Json(Unsubscribed { email: masked(email.as_str()), holiday_reminders: on }));
            }
            Err(store::StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        axum::http::StatusCode::CONFLICT,
        "account_changed",
        "Votre compte vient d’être modifié\u{202f}: recommencez.",
    ))
}

/// « sophie.martin@exemple.fr » → « s…@exemple.fr ».
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}…@{domain}", local.chars().next().unwrap_or('…')),
        None => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_is_shown_masked() {
        assert_eq!(super::masked("sophie.martin@exemple.fr"), "s…@exemple.fr");
        assert_eq!(super::masked("é@x.fr"), "é…@x.fr");
    }
}
