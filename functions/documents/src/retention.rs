//! The retention purge: decided documents deleted on their day (nightly Lambda, hourly locally,
//! or on demand by the administrator).

use crate::record::{today, versioned};
use crate::{AppState, Document};
use axum::Json as AxumJson;
use axum::extract::State;
use chrono::NaiveDate;
use domain::TownId;
use edge::files::{Files, FilesError, files_unavailable};
use edge::http::auth::Admin;
use edge::http::{self, Problem};
use store::{Query as StoreQuery, SkRange, Store, StoreError, keys};

/// Deletes the decided documents whose retention ended by `today` (in each town's own time
/// zone, within a day), `town` only when given; how many.
pub async fn purge(store: &Store, files: &Files, today: NaiveDate, town: Option<&TownId>) -> Result<usize, String> {
    let due = store
        .query_all(&StoreQuery::gsi1(keys::DOCUMENTS_PURGE, SkRange::UpTo(format!("{today}~"))))
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for i in due {
        let d: Document = i.to_value().map_err(|e| e.to_string())?;
        let Some(sk) = i.gsi1.as_ref().map(|k| k.sk.clone()) else { continue };
        let Some(doc_town) = sk.split('#').nth(1).and_then(|t| TownId::parse(t).ok()) else { continue };
        if town.is_some_and(|t| t != &doc_town) {
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
    let deleted = purge(&state.auth.store, &state.files, today(&state, &town), Some(town.id())).await.map_err(|e| {
        tracing::warn!(error = %e, "purge failed");
        files_unavailable(FilesError(e))
    })?;
    Ok(AxumJson(serde_json::json!({ "deleted": deleted })))
}

/// Erases the closed families whose erasure day has come, in every town (or one): their
/// documents' files first, then their records (see `services::privacy::erase`). How many.
pub async fn erase_due(
    store: &Store,
    files: &Files,
    now: chrono::DateTime<chrono::Utc>,
    town: Option<&TownId>,
) -> Result<usize, String> {
    let e = |e: store::StoreError| e.to_string();
    let towns = match town {
        Some(t) => vec![t.clone()],
        None => store::repo::town_ids(store).await.map_err(e)?,
    };
    let mut n = 0;
    for t in towns {
        let today = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
        for family in services::privacy::due(store, &t, today).await.map_err(e)? {
            let plan = services::privacy::erase(store, &t, &family, false, now).await.map_err(e)?;
            // Its documents' files and its export archives go before its records: a failure
            // leaves the erasure due, and the next run finds what is left.
            let archives = files.list(&Files::exports_of(&t, &family)).await.map_err(|x| x.to_string())?;
            for key in plan.files.iter().chain(&archives) {
                files.delete(key).await.map_err(|x| x.to_string())?;
            }
            services::privacy::erase(store, &t, &family, true, now).await.map_err(e)?;
            tracing::info!(town = %t, "a closed family's data erased");
            n += 1;
        }
    }
    Ok(n)
}
