//! The `basket` function: « Mon panier ». A guardian ticks and unticks cells (or a whole
//! period) into a basket kept on the server, sees each line's price and the total, and
//! validates it: every line is checked again and applied exactly once ([`engine`]). Staff make
//! the late changes parents cannot, at the late prices. Every booking keeps its history.

mod absences;
pub mod basket;
pub mod check;
pub mod engine;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json as AxumJson, Router};
use check::{Line, Mode, Refusal};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use domain::booking::{Attendance, Booking, BookingStatus, Change};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::Family;
use domain::period::Pattern;
use domain::{ActivityId, Cents, ChildId, FamilyRef, SiteId, UnitId};
use edge::http::auth::{AuthState, Caller, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;
use store::repo::{self, Towns};
use store::{Key, StoreError, keys};

/// The most lines one staff request changes.
pub const MAX_STAFF_LINES: usize = 500;
/// The longest range of one history request.
pub const MAX_HISTORY_DAYS: i64 = 400;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    let family = "/api/towns/{town}/families/{family}";
    Router::new()
        .route(&format!("{family}/basket"), get(view).delete(clear))
        .route(&format!("{family}/basket/lines"), post(add_lines))
        .route(&format!("{family}/basket/lines/{{child}}/{{unit}}/{{date}}"), delete(remove_line))
        .route(&format!("{family}/basket/period"), post(add_period))
        .route(&format!("{family}/basket/validate"), post(validate))
        .route(&format!("{family}/bookings"), get(history))
        .route(&format!("{family}/absences"), post(absences::report))
        .route("/api/towns/{town}/staff/families/{family}/bookings", post(staff_changes))
        .with_state(state)
}

/// The town and family of a request the caller may read; anyone else's family is "not found".
async fn family_of(state: &AppState, caller: &Caller, raw: &str) -> Result<(Arc<Town>, Family), Problem> {
    load_family(state, caller, caller.family(raw)?).await
}

/// The town and family of a change only the family's guardians make (staff have their routes).
async fn own_family(state: &AppState, caller: &Caller, raw: &str) -> Result<(Arc<Town>, Family), Problem> {
    load_family(state, caller, caller.own_family(raw)?).await
}

async fn load_family(state: &AppState, caller: &Caller, reference: FamilyRef) -> Result<(Arc<Town>, Family), Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let family = repo::get_family(&state.auth.store, &caller.town, &reference)
        .await?
        .ok_or_else(edge::http::auth::unknown_family)?;
    Ok((town, family))
}

fn basket_key(caller: &Caller, family: &FamilyRef) -> Key {
    keys::basket(&caller.town, family, &caller.session.email)
}

#[derive(Serialize)]
struct LineView {
    child: ChildId,
    first_name: String,
    unit: UnitId,
    unit_name: String,
    date: NaiveDate,
    action: ActionKind,
    /// What the line costs if validated now (a cancellation within the deadline: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Cents>,
    /// For a cancellation: the price of the booking that will no longer be billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<Cents>,
    /// Why the line cannot be validated now (the deadline passed while it waited, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Refusal>,
}

#[derive(Serialize)]
struct BasketView {
    /// Send it back to validate: the basket validated is the basket seen.
    revision: Option<String>,
    lines: Vec<LineView>,
    /// What the valid lines cost.
    total: Cents,
    /// Lines that cannot be validated now.
    invalid: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
}

/// Each line checked now, in date order, with its price and the total.
async fn render(state: &AppState, town: Arc<Town>, family: Family, b: &basket::Stored) -> Result<BasketView, Problem> {
    let now = state.auth.clock.now();
    let mut facts = check::load(&state.auth.store, town.clone(), family, &b.lines).await?;
    let mut lines: Vec<&Line> = b.lines.iter().collect();
    lines.sort_by(|a, b| (a.date, &a.child, &a.unit).cmp(&(b.date, &b.child, &b.unit)));
    let mut out = BasketView {
        revision: (!b.revision.is_empty()).then(|| b.revision.clone()),
        lines: Vec::new(),
        total: Cents::ZERO,
        invalid: 0,
        expires_at: b.expires_at(),
    };
    for l in lines {
        let verdict = facts.check(l, Mode::Guardian, "", now);
        let (price, refund, error) = match verdict {
            Ok(e) => {
                out.total += e.price;
                let refund = (l.action == ActionKind::Cancel).then_some(e.booking.price);
                (Some(e.price), refund, None)
            }
            Err(r) => {
                out.invalid += 1;
                (None, None, Some(r))
            }
        };
        out.lines.push(LineView {
            first_name: facts.first_name(&l.child),
            unit_name: town.unit(&l.unit).map_or_else(|| l.unit.to_string(), |(_, u)| u.name.clone()),
            child: l.child.clone(),
            unit: l.unit.clone(),
            date: l.date,
            action: l.action,
            price,
            refund,
            error,
        });
    }
    Ok(out)
}

async fn view(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<BasketView>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let b = basket::load(&state.auth.store, &basket_key(&caller, &family.reference), state.auth.clock.now()).await?;
    Ok(AxumJson(render(&state, town, family, &b).await?))
}

async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let (_, family) = own_family(&state, &caller, &family).await?;
    state.auth.store.delete(&basket_key(&caller, &family.reference), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddLines {
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct RefusedLine {
    #[serde(flatten)]
    line: Line,
    error: Refusal,
}

fn too_many(max: usize) -> Problem {
    Problem::unprocessable("too_many_lines", format!("Une demande compte au plus {max} lignes.")).field("lines")
}

/// The verdict on each new line, after the lines already in the basket (their places, their
/// cells) have counted.
async fn candidates(
    state: &AppState,
    town: &Arc<Town>,
    family: &Family,
    old: &basket::Stored,
    new: &[Line],
    now: DateTime<Utc>,
) -> Result<Vec<Result<(), Refusal>>, Problem> {
    let all: Vec<Line> = old.lines.iter().chain(new).cloned().collect();
    let mut facts = check::load(&state.auth.store, town.clone(), family.clone(), &all).await?;
    let held: HashSet<_> = old.lines.iter().map(Line::cell).collect();
    for l in &old.lines {
        let _ = facts.check(l, Mode::Guardian, "", now);
    }
    Ok(new
        .iter()
        .map(|l| {
            if held.contains(&l.cell()) {
                return Err(Refusal {
                    code: "already_in_basket".into(),
                    message: "Ce jour est déjà dans votre panier pour cette prestation.".into(),
                });
            }
            facts.check(l, Mode::Guardian, "", now).map(|_| ())
        })
        .collect())
}

/// How many times a basket write is tried again when another device changed it meanwhile.
const BASKET_TRIES: usize = 5;

/// Adds lines, all or none: a line that cannot be valid is refused with its reason.
async fn add_lines(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<AddLines>, Problem>,
) -> Result<AxumJson<BasketView>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let Json(AddLines { lines }) = body?;
    if lines.is_empty() {
        return Err(Problem::unprocessable("no_lines", "Ajoutez au moins une ligne.").field("lines"));
    }
    if lines.len() > basket::MAX_LINES {
        return Err(too_many(basket::MAX_LINES));
    }
    let key = basket_key(&caller, &family.reference);
    let (st, tw, fam, new_lines) = (&state, &town, &family, &lines);
    let (new, ()) = change_basket(&state, &key, |old, now| async move {
        let mut all = old.lines.clone();
        all.extend(new_lines.iter().cloned());
        let verdicts = candidates(st, tw, fam, &old, new_lines, now).await?;
        let refused: Vec<RefusedLine> = new_lines
            .iter()
            .zip(verdicts)
            .filter_map(|(l, v)| v.err().map(|error| RefusedLine { line: l.clone(), error }))
            .collect();
        if !refused.is_empty() {
            return Err(Problem::unprocessable(
                "lines_refused",
                "Certaines lignes ne peuvent pas être ajoutées au panier : rien n'a été ajouté.",
            )
            .with("lines", serde_json::to_value(&refused).unwrap_or_default()));
        }
        if all.len() > basket::MAX_LINES {
            return Err(basket_full());
        }
        Ok((Some(all), ()))
    })
    .await?;
    Ok(AxumJson(render(&state, town, family, &new).await?))
}

/// Changes the guardian's basket optimistically: `change` sees the stored basket and decides
/// the lines to store (`None`: nothing to store) and what to answer; a concurrent change of the
/// same basket is retried on the new one. The basket after the change comes back.
async fn change_basket<T, F>(
    state: &AppState,
    key: &Key,
    mut change: impl FnMut(basket::Stored, DateTime<Utc>) -> F,
) -> Result<(basket::Stored, T), Problem>
where
    F: Future<Output = Result<(Option<Vec<Line>>, T), Problem>>,
{
    for _ in 0..BASKET_TRIES {
        let now = state.auth.clock.now();
        let old = basket::load(&state.auth.store, key, now).await?;
        let (lines, answer) = change(old.clone(), now).await?;
        let Some(lines) = lines else { return Ok((old, answer)) };
        let (op, new) = basket::replace(key, &old, lines, now)?;
        match state.auth.store.transact(vec![op]).await {
            Ok(()) => return Ok((new, answer)),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::ConditionFailed.into())
}

fn basket_full() -> Problem {
    Problem::unprocessable(
        "basket_full",
        format!("Un panier compte au plus {} lignes : validez-le avant d'en ajouter.", basket::MAX_LINES),
    )
}

async fn remove_line(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family, child, unit, date)): Path<(String, String, String, String, String)>,
) -> Result<AxumJson<BasketView>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let date = http::date(&date)?;
    let key = basket_key(&caller, &family.reference);
    let (child, unit) = (&child, &unit);
    let (new, ()) = change_basket(&state, &key, |old, _| async move {
        let keep: Vec<Line> = old
            .lines
            .iter()
            .filter(|l| !(l.child.as_str() == child && l.unit.as_str() == unit && l.date == date))
            .cloned()
            .collect();
        if keep.len() == old.lines.len() {
            return Err(Problem::not_found("line_not_in_basket", "Cette ligne n'est pas dans votre panier."));
        }
        Ok((Some(keep), ()))
    })
    .await?;
    Ok(AxumJson(render(&state, town, family, &new).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodRequest {
    child: ChildId,
    activity: ActivityId,
    action: ActionKind,
    from: NaiveDate,
    to: NaiveDate,
    units: Vec<UnitId>,
    weekdays: Vec<Weekday>,
    #[serde(default)]
    every_weeks: Option<u8>,
}

#[derive(Serialize)]
struct Skipped {
    date: NaiveDate,
    unit: UnitId,
    error: Refusal,
}

#[derive(Serialize)]
struct PeriodAdded {
    added: usize,
    skipped: Vec<Skipped>,
    basket: BasketView,
}

/// « Réserver en vue Période »: adds every line of the pattern that can be valid; the others
/// are listed with their reason (holiday, closure, deadline, full, already booked).
async fn add_period(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    body: Result<Json<PeriodRequest>, Problem>,
) -> Result<AxumJson<PeriodAdded>, Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let Json(r) = body?;
    if !family.children.contains(&r.child) {
        return Err(Problem::not_found("unknown_child", "Cet enfant est introuvable.").field("child"));
    }
    let Some(activity) = town.config().activities.iter().find(|a| a.id == r.activity) else {
        return Err(
            Problem::unprocessable("unknown_activity", "Ce service n'existe pas dans la commune.").field("activity")
        );
    };
    let pattern = Pattern {
        from: r.from,
        to: r.to,
        units: r.units,
        weekdays: r.weekdays,
        every_weeks: r.every_weeks.unwrap_or(1),
    };
    pattern.check_for(activity)?;
    let (child, action) = (&r.child, r.action);
    let pattern_lines: Vec<Line> = pattern
        .dates()
        .into_iter()
        .flat_map(|date| {
            pattern.units.iter().map(move |unit| Line { child: child.clone(), unit: unit.clone(), date, action })
        })
        .collect();
    let key = basket_key(&caller, &family.reference);
    let (st, tw, fam, pattern_lines) = (&state, &town, &family, &pattern_lines);
    let (new, (added, skipped)) = change_basket(&state, &key, |old, now| async move {
        let verdicts = candidates(st, tw, fam, &old, pattern_lines, now).await?;
        let mut added = Vec::new();
        let mut skipped = Vec::new();
        for (l, verdict) in pattern_lines.iter().zip(verdicts) {
            match verdict {
                Ok(()) => added.push(l.clone()),
                Err(error) => skipped.push(Skipped { date: l.date, unit: l.unit.clone(), error }),
            }
        }
        if old.lines.len() + added.len() > basket::MAX_LINES {
            return Err(basket_full());
        }
        let count = added.len();
        let lines = (count > 0).then(|| old.lines.iter().cloned().chain(added).collect());
        Ok((lines, (count, skipped)))
    })
    .await?;
    let basket = render(&state, town, family, &new).await?;
    Ok(AxumJson(PeriodAdded { added, skipped, basket }))
}

/// The client's `Idempotency-Key`: 16 to 64 letters, digits, `-` or `_` (a UUID fits).
fn idempotency_key(headers: &HeaderMap) -> Result<String, Problem> {
    let raw = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if raw.is_empty() {
        return Err(Problem::bad_request(
            "missing_idempotency_key",
            "L'en-tête Idempotency-Key est obligatoire pour valider (une valeur unique par validation).",
        )
        .field("Idempotency-Key"));
    }
    if !(16..=64).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Problem::bad_request(
            "invalid_idempotency_key",
            "L'en-tête Idempotency-Key doit compter 16 à 64 lettres, chiffres, « - » ou « _ ».",
        )
        .field("Idempotency-Key"));
    }
    Ok(raw.to_owned())
}

fn fingerprint(parts: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(parts).unwrap_or_default();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer to a validation: 200 when lines were applied, 422 when nothing was.
fn respond(answer: engine::Answer) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    if answer.outcome == engine::Outcome::Rejected {
        return Err(Problem::unprocessable(
            "lines_refused",
            "Certaines lignes ne peuvent pas être validées : rien n'a été enregistré. Retirez-les ou validez seulement les autres.",
        )
        .with("outcome", serde_json::json!("rejected"))
        .with("idempotency_key", serde_json::json!(answer.idempotency_key))
        .with("refused", serde_json::json!(answer.refused))
        .with("lines", serde_json::to_value(&answer.lines).unwrap_or_default()));
    }
    Ok((StatusCode::OK, AxumJson(answer)))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ValidateRequest {
    /// The basket's revision as the guardian saw it.
    basket_revision: String,
    /// Apply the valid lines when some are refused (otherwise: all or nothing).
    #[serde(default)]
    apply_valid: bool,
}

/// Validates the basket exactly once per idempotency key.
async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<ValidateRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    let (town, family) = own_family(&state, &caller, &family).await?;
    let key = idempotency_key(&headers)?;
    let Json(r) = body?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    let basket_key = basket_key(&caller, &family.reference);
    let ask = engine::Ask {
        town: town.clone(),
        by: caller.session.email.clone(),
        mode: Mode::Guardian,
        key: key.clone(),
        fingerprint: fingerprint(&("basket", &caller.session.email, &r)),
        apply_valid: r.apply_valid,
        notify: vec![engine::Recipient {
            email: caller.session.email.clone(),
            first_name: family
                .guardians
                .iter()
                .find(|g| g.email == caller.session.email)
                .map(|g| g.first_name.clone())
                .unwrap_or_default(),
        }],
        basket: Some(basket_key.clone()),
        public_url: state.public_url.clone(),
        family: family.clone(),
    };
    // A retry is answered from what the first attempt stored, whatever the basket is now (its
    // lines are passed along only while it is still the basket that was validated).
    let b = basket::load(store, &basket_key, now).await?;
    if engine::exists(store, &town, &family.reference, &key, now).await? {
        let lines = if b.revision == r.basket_revision { b.lines } else { Vec::new() };
        return respond(engine::run(store, &state.auth.clock, &ask, lines).await?);
    }
    if b.lines.is_empty() {
        return Err(Problem::unprocessable("empty_basket", "Votre panier est vide."));
    }
    if b.revision != r.basket_revision {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "basket_changed",
            "Votre panier a changé depuis l'affichage de la page (sur un autre appareil ?) : vérifiez-le puis validez à nouveau.",
        )
        .field("basket_revision"));
    }
    respond(engine::run(store, &state.auth.clock, &ask, b.lines).await?)
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct StaffRequest {
    lines: Vec<Line>,
    #[serde(default)]
    apply_valid: bool,
}

/// Staff changes past the deadlines, priced with the late rules; the family is emailed.
async fn staff_changes(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, family)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<StaffRequest>, Problem>,
) -> Result<(StatusCode, AxumJson<engine::Answer>), Problem> {
    let (town, family) = family_of(&state, &caller, &family).await?;
    let key = idempotency_key(&headers)?;
    let Json(r) = body?;
    if r.lines.is_empty() {
        return Err(Problem::unprocessable("no_lines", "Indiquez au moins une ligne.").field("lines"));
    }
    if r.lines.len() > MAX_STAFF_LINES {
        return Err(too_many(MAX_STAFF_LINES));
    }
    let months: std::collections::BTreeSet<(i32, u32)> =
        r.lines.iter().map(|l| (l.date.year(), l.date.month())).collect();
    for (year, month) in months {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        if repo::month_billed(&state.auth.store, town.id(), first).await? {
            return Err(http::month_billed());
        }
    }
    let ask = engine::Ask {
        town,
        by: caller.session.email.clone(),
        mode: Mode::Staff,
        key,
        fingerprint: fingerprint(&("staff", &caller.session.email, &r)),
        apply_valid: r.apply_valid,
        notify: family
            .guardians
            .iter()
            .map(|g| engine::Recipient { email: g.email.clone(), first_name: g.first_name.clone() })
            .collect(),
        basket: None,
        public_url: state.public_url.clone(),
        family,
    };
    respond(engine::run(&state.auth.store, &state.auth.clock, &ask, r.lines).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    from: Option<String>,
    to: Option<String>,
    child: Option<String>,
}

#[derive(Serialize)]
struct BookingView {
    child: ChildId,
    unit: UnitId,
    site: SiteId,
    date: NaiveDate,
    status: BookingStatus,
    /// Absent for a shared child's booking made by the other household (as are its history
    /// and refusal reason): a family sees that the day is taken, not who made it nor its cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Cents>,
    late: bool,
    late_cancel: bool,
    waiting_list: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance: Option<Attendance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal_reason: Option<String>,
    updated_at: DateTime<Utc>,
    history: Vec<Change>,
    /// Booked by the other household of a shared child.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    other_household: bool,
}

impl BookingView {
    /// The booking as `family` reads it (staff read every booking whole).
    fn for_family(b: Booking, family: &FamilyRef, staff: bool) -> BookingView {
        let mine = staff || &b.family == family;
        BookingView {
            child: b.child,
            unit: b.unit,
            site: b.site,
            date: b.date,
            status: b.status,
            price: mine.then_some(b.price),
            late: b.late,
            late_cancel: b.late_cancel,
            waiting_list: b.waiting_list,
            attendance: b.attendance,
            refusal_reason: b.refusal_reason.filter(|_| mine),
            updated_at: b.updated_at,
            history: if mine { b.history } else { Vec::new() },
            other_household: !mine,
        }
    }
}

/// The family's bookings over a range (default: a month back, two months ahead), each with
/// its changes: who, when, from which state.
async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<Vec<BookingView>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let (town, family) = family_of(&state, &caller, &family).await?;
    let today = town.today(state.auth.clock.now());
    let from = match q.from.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("from"))?,
        None => today.checked_sub_days(Days::new(31)).unwrap_or(today),
    };
    let to = match q.to.as_deref() {
        Some(raw) => http::date(raw).map_err(|p| p.field("to"))?,
        None => today.checked_add_days(Days::new(62)).unwrap_or(today),
    };
    if to < from || (to - from).num_days() > MAX_HISTORY_DAYS {
        return Err(Problem::unprocessable(
            "invalid_range",
            format!("La période demandée doit aller d'une date à une date postérieure, sur {MAX_HISTORY_DAYS} jours au plus."),
        )
        .field("to"));
    }
    let children: Vec<&ChildId> = match q.child.as_deref() {
        Some(raw) => vec![
            family
                .children
                .iter()
                .find(|c| c.as_str() == raw)
                .ok_or_else(|| Problem::not_found("unknown_child", "Cet enfant est introuvable.").field("child"))?,
        ],
        None => family.children.iter().collect(),
    };
    let mut out = Vec::new();
    for c in children {
        let staff = caller.session.role.is_staff();
        out.extend(
            repo::bookings(&state.auth.store, town.id(), c, from, to)
                .await?
                .into_iter()
                .map(|b| BookingView::for_family(b, &family.reference, staff)),
        );
    }
    out.sort_by(|a, b| (a.date, &a.child, &a.unit).cmp(&(b.date, &b.child, &b.unit)));
    Ok(AxumJson(out))
}
