//! Staff review: the queue, the decision (with its email, and the justified absences an
//! accepted certificate makes), and deletion.

use crate::marks::remark;
use crate::record::{changed, delete_document};
use crate::record::{family_with_names, invalid, load, today, unknown_document, versioned, view};
use crate::{AppState, Document, View, item};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::ChildId;
use domain::config::Town;
use domain::documents::{self as rules, Absence, Status};
use edge::http::auth::Staff;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use services::mail::outbox::Mail;
use services::mail::templates::documents::{DocumentDecision, Verdict};
use store::audit;
use store::repo;
use store::{Item, Query as StoreQuery, SkRange, StoreError, WriteOp, keys};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffQuery {
    status: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct StaffView {
    family_name: String,
    #[serde(flatten)]
    document: View,
}

/// The documents waiting for a decision, oldest first.
pub(crate) async fn staff_list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<StaffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<StaffView>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    if q.status.as_deref().is_some_and(|s| s != "pending") {
        return Err(Problem::bad_request("invalid_status", "Seuls les documents en attente (pending) se listent ici.")
            .field("status"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let docs: Vec<Document> = Item::decode_listed(
        &store.query_all(&StoreQuery::gsi1(keys::documents_pending(town.id()), SkRange::All)).await?,
    );
    let families = repo::all_families(store, town.id()).await?;
    let children: Vec<(ChildId, String)> = repo::all_children(store, town.id())
        .await?
        .into_iter()
        .map(|c| (c.id, format!("{} {}", c.first_name, c.last_name)))
        .collect();
    let today = today(&state, &town);
    Ok(AxumJson(
        docs.into_iter()
            .map(|d| StaffView {
                family_name: families
                    .iter()
                    .find(|f| f.reference == d.family)
                    .map_or_else(|| d.family.to_string(), |f| f.name.clone()),
                document: view(&town, d, &children, today),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    decision: rules::Verdict,
    #[serde(default)]
    reason: Option<String>,
    /// Overrides the kind's validity (accepting only).
    #[serde(default)]
    valid_until: Option<NaiveDate>,
    /// The version that was read (the decision fails if it changed since).
    #[serde(default)]
    version: Option<u64>,
}

/// Accepts or refuses a document; the family's guardians are emailed. Accepting a medical
/// certificate marks the child's bookings of its dates « absence justifiée ».
pub(crate) async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, id)): Path<(String, String, String)>,
    body: Result<Json<Decision>, Problem>,
) -> Result<AxumJson<View>, Problem> {
    let family = caller.family(&family)?;
    let Json(input) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let doc = load(store, town.id(), &family, &id).await?;
    if doc.status != Status::Pending {
        return Err(if doc.status == Status::Uploading {
            unknown_document()
        } else {
            Problem::new(StatusCode::CONFLICT, "document_decided", "Ce document a déjà été examiné.")
        });
    }
    if input.version.is_some_and(|v| v != doc.version) {
        return Err(changed());
    }
    let today = today(&state, &town);
    let kind = town.config().documents.kind(&doc.kind).cloned();
    let retention = town.config().documents.retention_days;
    let decided =
        rules::decide(input.decision, input.reason.as_deref(), input.valid_until, kind.as_ref(), today, retention)
            .map_err(|(code, field, message)| invalid(code, field, message))?;
    let mut after = doc.clone();
    after.status = decided.status;
    after.reason = decided.reason;
    after.valid_until = decided.valid_until;
    after.delete_on = Some(decided.delete_on);
    let now = state.auth.clock.now();
    after.decided_at = Some(now);
    after.decided_by = Some(caller.session.email.as_str().to_owned());
    after.version += 1;
    // A certificate's absence: its bookings first (each mark sets a value, so a retry after a
    // failure changes nothing twice), the decision last.
    if after.status == Status::Accepted
        && let (Some(absence), Some(child)) = (after.absence, after.child.as_ref())
        && kind.as_ref().is_some_and(|k| k.justifies_absence)
    {
        after.justified_bookings = Some(justify(&state, &town, child, absence, caller.session.email.as_str()).await?);
    }
    // A refused certificate undoes the justification its sending gave reported absences.
    if after.status == Status::Refused
        && let (Some(absence), Some(child)) = (after.absence, after.child.as_ref())
        && doc.justified_bookings.is_some_and(|n| n > 0)
    {
        let by = (caller.session.email.as_str(), "attendance.unjustify");
        let undone =
            remark(&state, &town, child, absence, by, |b| b.absence_report.as_ref().and_then(|_| b.unjustify(now)))
                .await?;
        after.justified_bookings = Some(0);
        tracing::info!(undone, "reported absences no longer justified");
    }
    let (f, names) = family_with_names(store, town.id(), &family).await?;
    let mut ops = vec![WriteOp::Put { item: item(town.id(), &after)?, cond: Some(versioned(&doc)) }];
    ops.push(
        audit::Entry {
            at: now,
            by: caller.session.email.as_str().to_owned(),
            action: "documents.decide".into(),
            target: format!("documents/{family}/{id}"),
            before: serde_json::to_value(&doc).ok(),
            after: serde_json::to_value(&after).ok(),
        }
        .record(town.id())?,
    );
    let kind_name = town.config().documents.kind_name(&after.kind);
    for g in &f.guardians {
        let content = decision_email(&state, &town, &g.first_name, &after, &kind_name, &names);
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    match store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(changed()),
        Err(e) => return Err(e.into()),
    }
    // The year's enrolments this document held (or now holds) follow at once. The decision
    // stands whatever happens here: the family's next step and the rollover recompute them too.
    if let Err(e) = services::school_year::refresh_family_holds(store, &town, &family, now).await {
        tracing::warn!(error = %e, "enrolment holds not refreshed after a document's decision");
    }
    Ok(AxumJson(view(&town, after, &names, today)))
}

/// Marks the child's bookings of the absence « absence justifiée » (those that hold a place
/// and were not marked present); how many it marked.
pub(crate) async fn justify(
    state: &AppState,
    town: &Town,
    child: &ChildId,
    absence: Absence,
    by: &str,
) -> Result<usize, Problem> {
    let now = state.auth.clock.now();
    remark(state, town, child, absence, (by, "attendance.justify"), |b| b.justify(now)).await
}

pub(crate) fn decision_email(
    state: &AppState,
    town: &Town,
    first_name: &str,
    d: &Document,
    kind_name: &str,
    names: &[(ChildId, String)],
) -> services::mail::outbox::Content {
    let child = d.child.as_ref().and_then(|c| names.iter().find(|(id, _)| id == c)).map(|(_, n)| n.clone());
    let verdict = match d.status {
        Status::Accepted => Verdict::Accepted { valid_until: d.valid_until },
        _ => Verdict::Refused { reason: d.reason.clone().unwrap_or_default() },
    };
    DocumentDecision {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: state.public_url.to_string(),
        kind: kind_name.to_owned(),
        child,
        file_name: d.file_name.clone(),
        verdict,
        justified_bookings: d.justified_bookings.unwrap_or_default(),
    }
    .render()
}

/// Staff delete a document, whatever its status (audited).
pub(crate) async fn staff_delete(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family, id)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let family = caller.family(&family)?;
    let doc = load(&state.auth.store, &caller.town, &family, &id).await?;
    let entry = audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.as_str().to_owned(),
        action: "documents.delete".into(),
        target: format!("documents/{family}/{id}"),
        before: serde_json::to_value(&doc).ok(),
        after: None,
    };
    delete_document(&state, &caller.town, &doc, vec![entry.record(&caller.town)?]).await?;
    Ok(StatusCode::NO_CONTENT)
}
