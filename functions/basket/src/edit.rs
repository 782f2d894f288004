//! Filling the basket: lines ticked one by one or a whole period (each checked at once, the
//! refused ones said), and a line taken out; the stored basket changed under its revision.

use crate::view::{BasketView, render};
use crate::{AppState, basket, basket_key, check, own_family};
use axum::Json as AxumJson;
use axum::extract::State;
use check::{Line, Mode, Refusal};
use chrono::{DateTime, NaiveDate, Utc, Weekday};
use domain::cells::ActionKind;
use domain::config::Town;
use domain::family::Family;
use domain::period::Pattern;
use domain::{ActivityId, ChildId, UnitId};
use edge::http::auth::Caller;
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use store::{Key, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddLines {
    lines: Vec<Line>,
}

#[derive(Serialize)]
pub(crate) struct RefusedLine {
    #[serde(flatten)]
    line: Line,
    error: Refusal,
}

pub(crate) fn too_many(max: usize) -> Problem {
    Problem::unprocessable("too_many_lines", format!("Une demande compte au plus {max} lignes.")).field("lines")
}

/// The verdict on each new line, after the lines already in the basket (their places, their
/// cells) have counted.
pub(crate) async fn candidates(
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
pub(crate) async fn add_lines(
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
pub(crate) async fn change_basket<T, F>(
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

pub(crate) fn basket_full() -> Problem {
    Problem::unprocessable(
        "basket_full",
        format!("Un panier compte au plus {} lignes : validez-le avant d'en ajouter.", basket::MAX_LINES),
    )
}

pub(crate) async fn remove_line(
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
pub(crate) struct PeriodRequest {
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
pub(crate) struct Skipped {
    date: NaiveDate,
    unit: UnitId,
    error: Refusal,
}

#[derive(Serialize)]
pub(crate) struct PeriodAdded {
    added: usize,
    skipped: Vec<Skipped>,
    basket: BasketView,
}

/// « Réserver en vue Période »: adds every line of the pattern that can be valid; the others
/// are listed with their reason (holiday, closure, deadline, full, already booked).
pub(crate) async fn add_period(
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
