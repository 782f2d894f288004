//! The requests queue (manual units, waiting lists, cancellation requests) and staff decisions,
//! one or many at once, each family's applied with its email and audit entry.

use crate::{AppState, MAX_DECISIONS, MAX_QUEUE_DAYS, children_by_id, days, today, unit_name};
use axum::Json as AxumJson;
use axum::extract::{Query, State};
use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::booking::{Actor, Booking, BookingStatus, ChangedBy};
use domain::config::Town;
use domain::family::{Child, Family};
use domain::{ActivityId, Cents, ChildId, FamilyRef, SiteId, UnitId};
use edge::http::auth::Staff;
use edge::http::{self, Json, Problem};
use serde::{Deserialize, Serialize};
use services::mail::outbox::Mail;
use services::mail::templates::BookedDay;
use services::mail::templates::bookings::{RequestDecisions, StaffDecision};
use std::collections::{BTreeMap, HashMap, HashSet};
use store::audit;
use store::gate;
use store::{StoreError, keys, regularisations, repo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueQuery {
    from: Option<String>,
    to: Option<String>,
    activity: Option<String>,
    site: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Request {
    child: ChildId,
    first_name: String,
    last_name: String,
    family: FamilyRef,
    activity: ActivityId,
    site: SiteId,
    unit: UnitId,
    unit_name: String,
    date: NaiveDate,
    /// `pending` (« demande en cours ») or `cancel_requested` (« demande d'annulation »).
    status: BookingStatus,
    waiting_list: bool,
    price: Cents,
    requested_at: DateTime<Utc>,
}

/// The requests waiting for a decision, by date, filtered by activity and site.
pub(crate) async fn requests(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<Request>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let today = today(&state, &town);
    let from = match q.from.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("from"))?,
        None => today,
    };
    let to = match q.to.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("to"))?,
        None => from.checked_add_days(Days::new(62)).unwrap_or(from),
    };
    if to < from || (to - from).num_days() > MAX_QUEUE_DAYS {
        return Err(Problem::unprocessable(
            "invalid_range",
            format!("La période va d'une date à une date postérieure, sur {MAX_QUEUE_DAYS} jours au plus."),
        )
        .field("to"));
    }
    let store = &state.auth.store;
    let children = children_by_id(store, &town).await?;
    let mut out: Vec<Request> = repo::bookings_of_days(store, town.id(), days(from, to))
        .await?
        .into_iter()
        .filter(|b| matches!(b.status, BookingStatus::Pending | BookingStatus::CancelRequested))
        .filter(|b| q.activity.as_deref().is_none_or(|a| b.activity.as_str() == a))
        .filter(|b| q.site.as_deref().is_none_or(|s| b.site.as_str() == s))
        .map(|b| {
            let child = children.get(&b.child);
            Request {
                first_name: child.map(|c| c.first_name.clone()).unwrap_or_default(),
                last_name: child.map(|c| c.last_name.clone()).unwrap_or_default(),
                unit_name: unit_name(&town, &b.unit),
                child: b.child,
                family: b.family,
                activity: b.activity,
                site: b.site,
                unit: b.unit,
                date: b.date,
                status: b.status,
                waiting_list: b.waiting_list,
                price: b.price,
                requested_at: b.updated_at,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.date, &a.unit, &a.last_name, &a.first_name).cmp(&(b.date, &b.unit, &b.last_name, &b.first_name))
    });
    Ok(AxumJson(out))
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    child: ChildId,
    unit: UnitId,
    date: NaiveDate,
    accept: bool,
    /// Required to refuse: the guardian reads it.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decisions {
    decisions: Vec<Decision>,
}

#[derive(Serialize)]
pub(crate) struct DecisionResult {
    child: ChildId,
    unit: UnitId,
    date: NaiveDate,
    /// The booking's status after the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<BookingStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What one decision writes.
pub(crate) struct Decided {
    decision: Decision,
    before: Booking,
    after: Booking,
}

/// Accepts or refuses requests, one or many at once; each family's decisions are applied
/// together with its email and audit entry. All the decisions are checked first: one that
/// cannot apply (unknown, already decided, a refusal without reason, twice) refuses the lot.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<Decisions>, Problem>,
) -> Result<AxumJson<Vec<DecisionResult>>, Problem> {
    let Json(Decisions { decisions }) = body?;
    if decisions.is_empty() || decisions.len() > MAX_DECISIONS {
        return Err(Problem::unprocessable(
            "invalid_decisions",
            format!("Une décision porte sur 1 à {MAX_DECISIONS} demandes."),
        )
        .field("decisions"));
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let by = caller.session.email.as_str();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut decided = Vec::new();
    for (i, d) in decisions.iter().enumerate() {
        let reason = d.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let error = if !seen.insert((d.child.clone(), d.unit.clone(), d.date)) {
            Some("Cette demande figure deux fois.".to_owned())
        } else if !d.accept && reason.is_none_or(|r| r.chars().count() > 500) {
            Some("Indiquez la raison du refus (500 caractères au plus) : la famille la lira.".to_owned())
        } else {
            match store.get(&keys::booking(town.id(), &d.child, d.date, &d.unit)).await? {
                None => Some("Cette demande est introuvable.".to_owned()),
                Some(item) => {
                    let before: Booking = item.to_value()?;
                    match apply_decision(&before, d, reason, Actor { by, role: ChangedBy::Staff, at: now }) {
                        Ok(x) => {
                            decided.push(x);
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            }
        };
        if let Some(e) = error {
            errors.push(serde_json::json!({"index": i, "child": d.child, "unit": d.unit, "date": d.date, "error": e}));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(
            "decisions_refused",
            "Certaines décisions ne peuvent pas s'appliquer : aucune n'a été enregistrée.",
        )
        .with("decisions", serde_json::Value::Array(errors)));
    }
    let mut by_family: BTreeMap<FamilyRef, Vec<Decided>> = BTreeMap::new();
    for d in decided {
        by_family.entry(d.after.family.clone()).or_default().push(d);
    }
    let children = children_by_id(store, &town).await?;
    let mut results = Vec::new();
    for (family, all) in by_family {
        let family = repo::get_family(store, town.id(), &family).await?;
        for group in all.chunks(DECISIONS_PER_TRANSACTION) {
            let outcome = apply_family(&state, &town, family.as_ref(), group, &children, by, now).await;
            for d in group {
                results.push(DecisionResult {
                    child: d.decision.child.clone(),
                    unit: d.decision.unit.clone(),
                    date: d.decision.date,
                    status: outcome.as_ref().ok().map(|_| d.after.status),
                    error: outcome.as_ref().err().cloned(),
                });
            }
        }
    }
    Ok(AxumJson(results))
}

pub(crate) fn apply_decision(
    before: &Booking,
    d: &Decision,
    reason: Option<&str>,
    actor: Actor,
) -> Result<Decided, String> {
    let after = before.decide(d.accept, reason, actor).map_err(|_| "Cette demande a déjà été traitée.".to_owned())?;
    Ok(Decided { decision: d.clone(), before: before.clone(), after })
}

/// A family's decisions written in one transaction. Each may take five actions in a billed
/// month (the booking, its régularisation, the month's régularisation mark, the day's closure
/// check, its counter), with the audit entry and the guardians' emails: 18 stay within
/// DynamoDB's 100 actions.
const DECISIONS_PER_TRANSACTION: usize = 18;

/// One family's decisions in one transaction: bookings, places, audit entry, email.
pub(crate) async fn apply_family(
    state: &AppState,
    town: &Town,
    family: Option<&Family>,
    group: &[Decided],
    children: &HashMap<ChildId, Child>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let mut freed = Vec::new();
    let mut closed_at = Vec::new();
    let run = async {
        let mut ops = Vec::new();
        let mut moves = Vec::new();
        let mut billed = Vec::new();
        for d in group {
            // A request of a billed month decided afterwards: its invoice stays, the difference
            // is a régularisation (a request accepted is billed on the next invoice).
            if repo::month_billed(&state.auth.store, town.id(), d.after.date).await? {
                billed.push((&d.before, &d.after));
            } else {
                ops.push(repo::booking_write(town.id(), &d.after, Some(d.before.version))?);
            }
            moves.push(gate::Move::of(Some(&d.before), &d.after));
        }
        if !billed.is_empty() {
            ops.extend(regularisations::billed_changes(&state.auth.store, town, &billed, (now, by)).await?);
        }
        // The places and the queue move with the decisions; a request accepted puts a booking on
        // its day, which must still be open (staff decide: not conditioned on the queue).
        for g in gate::guards(town, &moves, gate::Arrival::FromQueue) {
            if let gate::Guarded::Open { .. } = g.what {
                closed_at.push(ops.len());
            }
            ops.push(g.op);
            let gate::Guarded::Counter { unit, site, date, .. } = g.what else { continue };
            // A refusal or an accepted cancellation frees a place for the waiting list.
            if g.taken < 0
                && let Some(op) = services::operations::promote_op(town, &unit, &site, date, now)
            {
                ops.push(op);
                freed.push(services::operations::Job::Promote { unit, site, date });
            }
        }
        let entry = audit::Entry {
            at: now,
            by: by.to_owned(),
            action: "requests.decide".into(),
            target: format!("family/{}", group[0].after.family),
            before: serde_json::to_value(group.iter().map(|d| &d.before).collect::<Vec<_>>()).ok(),
            after: serde_json::to_value(group.iter().map(|d| &d.after).collect::<Vec<_>>()).ok(),
        };
        ops.push(entry.record(town.id())?);
        for g in family.map(|f| f.guardians.as_slice()).unwrap_or_default() {
            let content = decision_email(state, town, &g.first_name, group, children);
            ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
        }
        state.auth.store.transact(ops).await
    };
    let result = run.await;
    if result.is_ok() {
        let ctx = services::operations::Ctx { store: &state.auth.store, public_url: &state.public_url };
        for job in &freed {
            if let Err(e) = services::operations::run(ctx, town, job, now).await {
                tracing::warn!(error = %e, ?job, "waiting list left to the sweep");
            }
        }
    }
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { reason: store::CancelReason::OverLimit, .. }) => {
            Err("Plus de place ce jour-là : la demande ne peut pas être validée.".to_owned())
        }
        Err(StoreError::TransactionCanceled { index, .. }) if closed_at.contains(&index) => {
            Err(gate::closed_message(None))
        }
        Err(StoreError::TransactionCanceled { .. }) => {
            Err("Cette demande vient d'être modifiée : rechargez la liste.".to_owned())
        }
        Err(e) => {
            tracing::warn!(error = %e, "decision not applied");
            Err("Le service est momentanément indisponible : réessayez.".to_owned())
        }
    }
}

pub(crate) fn decision_email(
    state: &AppState,
    town: &Town,
    first_name: &str,
    group: &[Decided],
    children: &HashMap<ChildId, Child>,
) -> services::mail::outbox::Content {
    let decisions = group
        .iter()
        .map(|d| {
            let child =
                children.get(&d.after.child).map_or_else(|| d.after.child.to_string(), |c| c.first_name.clone());
            let day = BookedDay { date: d.after.date, child, unit: unit_name(town, &d.after.unit) };
            let decision = match (d.before.status, d.after.status) {
                (BookingStatus::Pending, BookingStatus::Confirmed) => StaffDecision::RequestAccepted,
                (BookingStatus::Pending, _) => {
                    StaffDecision::RequestRefused { reason: d.after.refusal_reason.clone().unwrap_or_default() }
                }
                (_, BookingStatus::Cancelled) => StaffDecision::CancellationAccepted,
                _ => StaffDecision::CancellationRefused { reason: d.decision.reason.clone().unwrap_or_default() },
            };
            (day, decision)
        })
        .collect();
    RequestDecisions {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: state.public_url.to_string(),
        decisions,
    }
    .render()
}
