//! The quotient familial from the CAF (`domain::qf`): a guardian (from « Mon compte ») or staff
//! record the consent with the allocataire's identity, or withdraw it; staff fetch the family's
//! QF from API Particulier, which then prices the family's next bookings. A failure or an
//! allocataire not found writes nothing: the family keeps the QF of its uploaded certificate,
//! and the answer says so.

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::{Path, State};
use domain::FamilyRef;
use domain::family::Family;
use domain::qf::{Consent, Failure, Fetched, Identity};
use edge::http::auth::{Caller, Staff};
use edge::http::{self, Json, Problem};
use serde::{Deserialize, Serialize};
use store::{Item, Store, WriteOp, audit, keys, repo};

/// What is kept for a family (`…#F#<family>` / `QF`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consent: Option<Consent>,
    /// The last QF fetched from the CAF or the MSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched: Option<Fetched>,
}

/// The family's QF as staff and its guardians see it.
#[derive(Serialize)]
pub(crate) struct View {
    quotient_familial: Option<u32>,
    /// `caf`: fetched from API Particulier (see `fetched`); `certificate`: as staff typed it
    /// from the uploaded certificate (or the import); `none`.
    source: &'static str,
    #[serde(flatten)]
    record: Record,
}

async fn record(store: &Store, town: &domain::TownId, family: &FamilyRef) -> Result<Record, Problem> {
    Ok(store.get(&keys::quotient(town, family)).await?.map(|i| i.to_value()).transpose()?.unwrap_or_default())
}

async fn family(store: &Store, town: &domain::TownId, reference: &FamilyRef) -> Result<Family, Problem> {
    repo::get_family(store, town, reference).await?.ok_or_else(edge::http::auth::unknown_family)
}

fn view(family: &Family, record: Record) -> View {
    let from_caf = record.fetched.as_ref().is_some_and(|f| family.quotient_familial == Some(f.value));
    let source = match (family.quotient_familial, from_caf) {
        (None, _) => "none",
        (Some(_), true) => "caf",
        (Some(_), false) => "certificate",
    };
    View { quotient_familial: family.quotient_familial, source, record }
}

/// `GET …/families/{family}/qf`: the family's QF, its source, the consent.
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let reference = caller.family(&raw)?;
    let store = &state.auth.store;
    let f = family(store, &caller.town, &reference).await?;
    Ok(AxumJson(view(&f, record(store, &caller.town, &reference).await?)))
}

async fn save(
    state: &AppState,
    caller: &Caller,
    reference: &FamilyRef,
    rec: &Record,
    action: &str,
) -> Result<(), Problem> {
    let mut ops =
        vec![WriteOp::Put { item: Item::from_value(keys::quotient(&caller.town, reference), rec)?, cond: None }];
    if caller.session.role.is_staff() {
        let entry = audit::Entry {
            at: state.auth.clock.now(),
            by: caller.session.email.to_string(),
            action: action.to_owned(),
            target: format!("family/{reference}"),
            before: None,
            after: None,
        };
        ops.push(entry.record(&caller.town)?);
    }
    state.auth.store.transact(ops).await?;
    Ok(())
}

/// `PUT …/families/{family}/qf/consent`: the consent given, with the allocataire's identity
/// (a guardian of the family, or staff for them).
pub(crate) async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    body: Result<Json<Identity>, Problem>,
) -> Result<AxumJson<View>, Problem> {
    let reference = caller.family(&raw)?;
    let Json(identity) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    identity.check(crate::today(&state, &town)).map_err(|e| Problem::refused(&e))?;
    let store = &state.auth.store;
    let f = family(store, &caller.town, &reference).await?;
    let mut rec = record(store, &caller.town, &reference).await?;
    let now = state.auth.clock.now();
    rec.consent = Some(Consent::given(identity, caller.session.email.as_str(), caller.session.role.is_staff(), now));
    save(&state, &caller, &reference, &rec, "qf.consent").await?;
    Ok(AxumJson(view(&f, rec)))
}

/// `DELETE …/families/{family}/qf/consent`: the consent withdrawn, the identity forgotten; the
/// QF already fetched stays until the next certificate.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let reference = caller.family(&raw)?;
    let store = &state.auth.store;
    let f = family(store, &caller.town, &reference).await?;
    let mut rec = record(store, &caller.town, &reference).await?;
    let Some(given) = rec.consent.as_ref().filter(|c| c.revoked_at.is_none()) else {
        return Err(conflict("no_qf_consent", "Aucun consentement n’est en cours pour cette famille."));
    };
    rec.consent = Some(given.revoke(state.auth.clock.now()));
    save(&state, &caller, &reference, &rec, "qf.revoke").await?;
    Ok(AxumJson(view(&f, rec)))
}

/// `POST …/staff/families/{family}/qf`: the QF fetched from API Particulier and kept, the
/// family's quotient set to it (its next bookings are priced by it).
pub(crate) async fn fetch(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, raw)): Path<(String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let reference = caller.family(&raw)?;
    fetch_for(&state, &caller, reference, false).await
}

/// `POST …/families/{family}/qf/fetch`: a guardian asks for the family's QF from « Mon compte »,
/// through the same call as staff's. Once a day at most: a second ask the same day (in the
/// town's time zone) answers what was obtained, without calling the CAF again.
pub(crate) async fn fetch_own(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<AxumJson<View>, Problem> {
    let reference = caller.own_family(&raw)?;
    fetch_for(&state, &caller, reference, true).await
}

/// The fetch itself; `once_a_day`: a QF already fetched today under a standing consent is
/// answered as it is, without asking the CAF again.
async fn fetch_for(
    state: &AppState,
    caller: &Caller,
    reference: FamilyRef,
    once_a_day: bool,
) -> Result<AxumJson<View>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let store = &state.auth.store;
    let mut rec = record(store, &caller.town, &reference).await?;
    let today = crate::today(state, &town);
    let fetched_today =
        rec.fetched.as_ref().is_some_and(|f| f.fetched_at.with_timezone(&town.tz()).date_naive() == today);
    if once_a_day && fetched_today && rec.consent.as_ref().and_then(Consent::active).is_some() {
        let f = family(store, &caller.town, &reference).await?;
        return Ok(AxumJson(view(&f, rec)));
    }
    let (Some(api), Some(settings)) = (state.qf.as_ref(), town.config().api_particulier.as_ref()) else {
        return Err(conflict(
            "api_particulier_unconfigured",
            "La commune n’est pas raccordée à API Particulier : saisissez le quotient de l’attestation déposée.",
        ));
    };
    let before = family(store, &caller.town, &reference).await?;
    let Some(identity) = rec.consent.as_ref().and_then(Consent::active) else {
        return Err(conflict(
            "no_qf_consent",
            "La famille n’a pas donné son accord pour interroger la CAF : le quotient reste celui de l’attestation déposée.",
        ));
    };
    let now = state.auth.clock.now();
    let fetched =
        api.quotient(identity, &settings.recipient, now).await.map_err(|f| failure(&f, before.quotient_familial))?;
    let mut after = before.clone();
    after.quotient_familial = Some(fetched.value);
    rec.fetched = Some(fetched);
    let entry = audit::Entry {
        at: now,
        by: caller.session.email.to_string(),
        action: "qf.fetch".into(),
        target: format!("family/{reference}"),
        before: before.quotient_familial.map(serde_json::Value::from),
        after: serde_json::to_value(&rec.fetched).ok(),
    };
    // Conditioned on the family as read: a correction made meanwhile is not overwritten.
    let ops = vec![
        WriteOp::Put {
            item: repo::family_item(&caller.town, &after)?,
            cond: Some(crate::families::unchanged(&before, &crate::families::FAMILY_FIELDS)?),
        },
        WriteOp::Put { item: Item::from_value(keys::quotient(&caller.town, &reference), &rec)?, cond: None },
        entry.record(&caller.town)?,
    ];
    match store.transact(ops).await {
        Ok(()) => Ok(AxumJson(view(&after, rec))),
        Err(store::StoreError::TransactionCanceled { .. }) => Err(conflict(
            "changed_meanwhile",
            "La famille a été modifiée pendant l’interrogation de la CAF : rechargez sa fiche et réessayez.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// A failure as the answer: not found 404, the API refusing 422, the rest 502; each message
/// says the certificate's quotient stays.
fn failure(f: &Failure, kept: Option<u32>) -> Problem {
    let text = f.french(kept);
    match f {
        Failure::NotFound => Problem::not_found(f.code(), text),
        Failure::Refused(_) => Problem::unprocessable(f.code(), text),
        Failure::NotAllowed | Failure::Unavailable(_) => {
            Problem::new(axum::http::StatusCode::BAD_GATEWAY, f.code(), text)
        }
    }
}

fn conflict(code: &'static str, title: &str) -> Problem {
    Problem::new(axum::http::StatusCode::CONFLICT, code, title)
}

/// Families refreshed at most per town and run: a daily run refreshes each consenting family
/// once a month, spread over the days, within the Lambda's time and the API's 20 calls a second.
pub const REFRESH_PER_RUN: usize = 200;

/// What a refresh run did in a town.
#[derive(Debug, Default, Serialize)]
pub struct Refreshed {
    /// Families asked for.
    pub fetched: usize,
    /// Among them, whose QF changed (each logged in the audit trail, `qf.refresh`).
    pub changed: usize,
    /// Not obtained (kept as they were).
    pub failed: usize,
}

/// The monthly refresh: each family of `town` whose consent stands and whose QF was not fetched
/// this month is asked for again (at most [`REFRESH_PER_RUN`]); a new value becomes the
/// family's quotient and is logged; a failure keeps what the family had.
pub async fn refresh(
    store: &Store,
    town: &domain::config::Town,
    api: &services::qf::ApiParticulier,
    public_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Refreshed, Problem> {
    let mut out = Refreshed::default();
    let Some(settings) = town.config().api_particulier.as_ref() else { return Ok(out) };
    let this_month = domain::Month::of(town.today(now));
    for f in repo::all_families(store, town.id()).await? {
        if out.fetched >= REFRESH_PER_RUN {
            break;
        }
        let mut rec = record(store, town.id(), &f.reference).await?;
        let Some(identity) = rec.consent.as_ref().and_then(Consent::active) else { continue };
        if rec.fetched.as_ref().is_some_and(|x| domain::Month::of(town.today(x.fetched_at)) == this_month) {
            continue;
        }
        out.fetched += 1;
        let fetched = match api.quotient(identity, &settings.recipient, now).await {
            Ok(x) => x,
            Err(why) => {
                tracing::info!(family = %f.reference, code = why.code(), "QF refresh: not obtained, kept");
                out.failed += 1;
                continue;
            }
        };
        rec.fetched = Some(fetched);
        if keep_refreshed(store, (town, public_url), f, &rec, now).await? {
            out.changed += 1;
        }
    }
    Ok(out)
}

/// Attempts of a refresh's write when the family changed meanwhile.
const REFRESH_TRIES: usize = 4;

/// Keeps what a refresh fetched (`rec.fetched`) for the family `read` (as the run read it): the
/// record, and, when the value is new, the family's quotient with its audit entry. The family is
/// written conditioned on being as read (the fields staff edit): a staff edit that lands between
/// the run's read and its write is never overwritten — the run reads the family again and sets
/// the CAF's quotient on what staff wrote. A change is emailed to each guardian in the same
/// transaction. Whether the family's quotient changed.
pub async fn keep_refreshed(
    store: &Store,
    (town_config, public_url): (&domain::config::Town, &str),
    read: Family,
    rec: &Record,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Problem> {
    let Some(fetched) = rec.fetched.as_ref() else { return Ok(false) };
    let (town, value) = (town_config.id(), fetched.value);
    let mut before = read;
    for _ in 0..REFRESH_TRIES {
        let mut after = before.clone();
        after.quotient_familial = Some(value);
        let changed = before.quotient_familial != after.quotient_familial;
        let mut ops =
            vec![WriteOp::Put { item: Item::from_value(keys::quotient(town, &before.reference), rec)?, cond: None }];
        if changed {
            ops.push(WriteOp::Put {
                item: repo::family_item(town, &after)?,
                cond: Some(crate::families::unchanged(&before, &crate::families::FAMILY_FIELDS)?),
            });
            let entry = audit::Entry {
                at: now,
                by: "qf-refresh".into(),
                action: "qf.refresh".into(),
                target: format!("family/{}", before.reference),
                before: before.quotient_familial.map(serde_json::Value::from),
                after: serde_json::to_value(&rec.fetched).ok(),
            };
            ops.push(entry.record(town)?);
            for g in &before.guardians {
                let content = services::mail::templates::qf::QuotientChanged {
                    town: town_config.config().name.clone(),
                    first_name: g.first_name.clone(),
                    public_url: public_url.to_owned(),
                    provider: fetched.provider.clone(),
                    month: fetched.month.french(),
                    before: before.quotient_familial,
                    after: value,
                }
                .render();
                ops.push(services::mail::outbox::Mail::new(town, &g.email, content, now).enqueue()?);
            }
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(changed),
            // Staff changed the family since it was read: read it again.
            Err(store::StoreError::TransactionCanceled { .. }) => {
                before = family(store, town, &before.reference).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::new(
        axum::http::StatusCode::CONFLICT,
        "changed_meanwhile",
        "La famille a changé pendant la mise à jour du quotient : réessayez.",
    ))
}
