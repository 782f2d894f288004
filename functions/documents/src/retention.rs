//! The retention purge: decided documents deleted on their day (nightly Lambda, hourly locally,
//! or on demand by the administrator).

use crate::record::versioned;
use crate::{AppState, Document};
use axum::Json as AxumJson;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::TownId;
use edge::files::{Files, FilesError, files_unavailable};
use edge::http::auth::Admin;
use edge::http::{self, Problem};
use std::collections::HashMap;
use store::{Query as StoreQuery, SkRange, Store, StoreError, keys};

/// Deletes the decided documents whose retention ended by each town's today at `now` (in its own
/// time zone), `town` only when given; how many.
pub async fn purge(store: &Store, files: &Files, now: DateTime<Utc>, town: Option<&TownId>) -> Result<usize, String> {
    // No town's today is later than UTC+14's: read up to it, then keep each town's due ones.
    let latest = (now + TimeDelta::hours(14)).date_naive();
    let due = store
        .query_all(&StoreQuery::gsi1(keys::DOCUMENTS_PURGE, SkRange::UpTo(format!("{latest}~"))))
        .await
        .map_err(|e| e.to_string())?;
    let mut todays: HashMap<TownId, Option<NaiveDate>> = HashMap::new();
    let mut n = 0;
    for i in due {
        let d: Document = i.to_value().map_err(|e| e.to_string())?;
        let Some(sk) = i.gsi1.as_ref().map(|k| k.sk.clone()) else { continue };
        let mut parts = sk.split('#');
        let Some(day) = parts.next().and_then(|t| t.parse::<NaiveDate>().ok()) else { continue };
        let Some(doc_town) = parts.next().and_then(|t| TownId::parse(t).ok()) else { continue };
        if town.is_some_and(|t| t != &doc_town) {
            continue;
        }
        let today = match todays.get(&doc_town) {
            Some(today) => *today,
            None => {
                let stored = store::repo::stored_town(store, &doc_town).await.map_err(|e| e.to_string())?;
                let today = stored.map(|(t, _)| t.today(now));
                todays.insert(doc_town.clone(), today);
                today
            }
        };
        if today.is_none_or(|today| day > today) {
            continue;
        }
        files.delete(&d.object).await.map_err(|e| e.to_string())?;
        match store.delete(&keys::document(&doc_town, &d.family, &d.id), Some(versioned(&d))).await {
            Ok(()) => n += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}

/// Runs the retention purge of the caller's town now (town administrators; it also runs every
/// day by itself).
pub(crate) async fn purge_now(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<AxumJson<serde_json::Value>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let deleted =
        purge(&state.auth.store, &state.files, state.auth.clock.now(), Some(town.id())).await.map_err(|e| {
            tracing::warn!(error = %e, "purge failed");
            files_unavailable(FilesError(e))
        })?;
    Ok(AxumJson(serde_json::json!({ "deleted": deleted })))
}

/// Erases the closed families whose erasure day has come, in every town (or one): their
/// documents' files first, then their records (see `services::privacy::plan` and `apply`). How many.
pub async fn erase_due(
    store: &Store,
    files: &Files,
    now: DateTime<Utc>,
    town: Option<&TownId>,
) -> Result<usize, String> {
    let e = |e: store::StoreError| e.to_string();
    let towns = match town {
        Some(t) => vec![t.clone()],
        None => store::repo::town_ids(store).await.map_err(e)?,
    };
    let mut n = 0;
    for t in towns {
        // The erasure day is the town's, in its own time zone.
        let Some((town, _)) = store::repo::stored_town(store, &t).await.map_err(e)? else { continue };
        let today = town.today(now);
        for family in services::privacy::due(store, &t, today).await.map_err(e)? {
            let plan = services::privacy::plan(store, &t, &family).await.map_err(e)?;
            // Its documents' files and its export archives go before its records: a failure
            // leaves the erasure due, and the next run finds what is left.
            let archives = files.list(&Files::exports_of(&t, &family)).await.map_err(|x| x.to_string())?;
            for key in plan.report.files.iter().chain(&archives) {
                files.delete(key).await.map_err(|x| x.to_string())?;
            }
            services::privacy::apply(store, &t, plan, now).await.map_err(e)?;
            tracing::info!(town = %t, "a closed family's data erased");
            n += 1;
        }
    }
    Ok(n)
}
