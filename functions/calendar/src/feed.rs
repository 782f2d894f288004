//! The private iCalendar feed of a family's confirmed bookings, which parents' phone calendars
//! subscribe to. Its URL holds a 256-bit secret (stored hashed); a new feed revokes the old one.

use super::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Days;
use domain::FamilyRef;
use edge::auth::secret;
use edge::http::auth::Caller;
use edge::http::{Path, Problem};
use edge::ics;
use serde::{Deserialize, Serialize};
use store::{Item, WriteOp, keys, repo};

#[derive(Serialize, Deserialize)]
struct Feed {
    family: FamilyRef,
}

#[derive(Serialize, Deserialize)]
struct Pointer {
    digest: String,
}

fn feed_path(town: &str, secret: &str) -> String {
    format!("/api/towns/{town}/calendar/feeds/{secret}")
}

/// Creates the family's feed, revoking the previous one; answers its path (once).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let reference = caller.own_family(&family)?;
    let store = &state.auth.store;
    let town = &caller.town;
    let secret = secret::generate();
    let digest = secret::digest(&secret);
    let pointer_key = keys::family_feed(town, &reference);
    let mut ops = Vec::new();
    if let Some(old) = store.get(&pointer_key).await? {
        let old: Pointer = old.to_value()?;
        ops.push(WriteOp::delete(keys::calendar_feed(town, &old.digest)));
    }
    ops.push(WriteOp::create(Item::from_value(keys::calendar_feed(town, &digest), &Feed { family: reference })?));
    ops.push(WriteOp::put(Item::from_value(pointer_key, &Pointer { digest })?));
    store.transact(ops).await?;
    let body = serde_json::json!({ "path": feed_path(town.as_str(), &secret) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Revokes the family's feed.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let reference = caller.own_family(&family)?;
    let store = &state.auth.store;
    let pointer_key = keys::family_feed(&caller.town, &reference);
    if let Some(old) = store.get(&pointer_key).await? {
        let old: Pointer = old.to_value()?;
        store
            .transact(vec![
                WriteOp::delete(keys::calendar_feed(&caller.town, &old.digest)),
                WriteOp::delete(pointer_key),
            ])
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The feed itself: confirmed bookings (and those whose cancellation is asked) from a month
/// ago to a year ahead, timed with their unit's hours in the town's time zone, all day for a
/// unit without hours ([`edge::ics`]).
pub async fn serve(
    State(state): State<AppState>,
    Path((town, token)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let unknown = || {
        Problem::not_found(
            "unknown_feed",
            "Ce calendrier n'existe plus : créez un nouveau lien depuis l'Espace Famille.",
        )
    };
    let town = edge::http::load_town_from_path(&state.towns, &town).await?;
    let town_id = town.id().clone();
    let store = &state.auth.store;
    let feed: Feed =
        store.get(&keys::calendar_feed(&town_id, &secret::digest(&token))).await?.ok_or_else(unknown)?.to_value()?;
    let family = repo::get_family(store, &town_id, &feed.family).await?.ok_or_else(unknown)?;
    let today = town.today(state.auth.clock.now());
    let (from, to) = (today - Days::new(31), today + Days::new(366));
    let mut bookings = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(store, &town_id, id).await? else { continue };
        for b in repo::bookings(store, &town_id, id, from, to).await? {
            if ics::shown(b.status) {
                bookings.push((child.first_name.clone(), b));
            }
        }
    }
    let config = town.config();
    let entries: Vec<ics::Entry> = bookings.iter().map(|(first_name, b)| ics::entry(&town, first_name, b)).collect();
    let name = format!("Espace Famille – {}", config.name);
    let mut res = ics::feed(&name, town.tz(), from, to, &entries).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=900"));
    Ok(res)
}
