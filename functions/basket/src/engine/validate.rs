//! Claiming a validation for its key, planning it once, and joining or answering again what
//! another request started.

use super::answer::{Answer, answer};
use super::apply::apply;
use super::stored::{
    Ask, Header, LEASE, Planned, State, chunk_key, claimed_by, expiry, header_item, header_key, read_header, split,
};
use crate::check::Line;
use chrono::{DateTime, Utc};
use domain::FamilyRef;
use domain::config::Town;
use edge::auth::secret;
use edge::clock::Clock;
use edge::http::Problem;
use std::collections::BTreeMap;
use std::time::Duration;
use store::{Cond, Item, Store, StoreError, keys};

/// How long a second request for the same key waits for the first one's plan.
const WAIT: Duration = Duration::from_secs(20);
/// Whether a live validation exists under this key (a retry, or a key reused).
pub async fn exists(
    store: &Store,
    town: &Town,
    family: &FamilyRef,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(store.get(&keys::validation(town.id(), family, key)).await?.is_some_and(|i| i.is_live(now.timestamp())))
}

/// A retry arrived without the lines of a validation whose planner died before storing them.
fn interrupted() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "validation_interrupted",
        "La validation précédente a été interrompue avant d'être enregistrée : rechargez votre panier et validez-le à nouveau.",
    )
}

fn key_reused() -> Problem {
    Problem::unprocessable(
        "idempotency_key_reused",
        "Cette clé d'idempotence a déjà servi pour une autre demande : générez-en une nouvelle.",
    )
    .field("Idempotency-Key")
}

/// Validates `lines` once for the key; answers the first answer to every retry.
pub async fn run(store: &Store, clock: &Clock, ask: &Ask, lines: Vec<Line>) -> Result<Answer, Problem> {
    let started = tokio::time::Instant::now();
    loop {
        let now = clock.now();
        let header = Header {
            state: State::Planning,
            fingerprint: ask.fingerprint.clone(),
            claim: secret::id(),
            claimed_at: now,
            by: ask.by.clone(),
            mode: ask.mode,
            apply_valid: ask.apply_valid,
            chunks: 0,
            rejected: false,
            names: BTreeMap::new(),
            notify: ask.notify.clone(),
            basket: ask.basket.clone(),
        };
        match store.put(header_item(ask, &header, now)?, Some(Cond::NotExistsOrExpired { now: now.timestamp() })).await
        {
            Ok(()) if lines.is_empty() => {
                // A retry without its lines, and nothing to replay (the first attempt expired).
                let _ = store.delete(&header_key(ask), Some(claimed_by(&header.claim))).await;
                return Err(interrupted());
            }
            Ok(()) => return plan_and_apply(store, clock, ask, &lines, header).await,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        // Someone holds the key: the first attempt of this request, or another request.
        let Some(found) = read_header(store, ask, now).await? else { continue };
        if found.fingerprint != ask.fingerprint {
            return Err(key_reused());
        }
        match found.state {
            State::Done => return answer(store, ask, &found, None).await,
            State::Applying => return apply(store, clock, ask, found, None).await,
            State::Planning if now - found.claimed_at > LEASE && lines.is_empty() => return Err(interrupted()),
            State::Planning if now - found.claimed_at > LEASE => {
                // Its planner died: take the key over, unless someone else just did.
                let mut mine = header.clone();
                mine.claimed_at = now;
                let cond = Cond::attr_equals("claim", found.claim.clone());
                match store.put(header_item(ask, &mine, now)?, Some(cond)).await {
                    Ok(()) => return plan_and_apply(store, clock, ask, &lines, mine).await,
                    Err(StoreError::ConditionFailed) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            State::Planning => {
                if started.elapsed() > WAIT {
                    return Err(Problem::new(
                        axum::http::StatusCode::CONFLICT,
                        "validation_in_progress",
                        "Cette validation est déjà en cours : patientez quelques secondes puis réessayez.",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Checks every line, stores the plan under the claim, then applies it.
async fn plan_and_apply(
    store: &Store,
    clock: &Clock,
    ask: &Ask,
    lines: &[Line],
    mut header: Header,
) -> Result<Answer, Problem> {
    let claim = header.claim.clone();
    let planned = async {
        let now = clock.now();
        let mut facts = crate::check::load(store, ask.town.clone(), ask.family.clone(), lines).await?;
        let mut sorted: Vec<&Line> = lines.iter().collect();
        // By date, then unit: the lines that share a day's places sit in the same chunk.
        sorted.sort_by(|a, b| (a.date, &a.unit, &a.child).cmp(&(b.date, &b.unit, &b.child)));
        let plan: Vec<Planned> = sorted
            .into_iter()
            .map(|l| match facts.check(l, ask.mode, ask.by.as_str(), now) {
                Ok(effect) => Planned { line: l.clone(), effect: Some(effect), refusal: None },
                Err(r) => Planned { line: l.clone(), effect: None, refusal: Some(r) },
            })
            .collect();
        header.names = facts.children.values().map(|c| (c.id.clone(), c.first_name.clone())).collect();
        let town = &ask.town;
        let chunks = split(plan, |p| {
            p.effect.as_ref().is_some_and(|e| town.unit(&e.booking.unit).is_some_and(|(_, u)| u.waiting_list))
        })?;
        let items = chunks
            .iter()
            .enumerate()
            .map(|(n, c)| Ok(Item::from_value(chunk_key(ask, &claim, n), c)?.with_ttl(expiry(now))))
            .collect::<Result<Vec<Item>, StoreError>>()?;
        let puts = items.into_iter().map(|i| store.put(i, None));
        for r in futures::future::join_all(puts).await {
            r?;
        }
        Ok::<_, StoreError>(chunks)
    }
    .await;
    let chunks = match planned {
        Ok(c) => c,
        Err(e) => {
            // Free the key at once so that the client's retry plans again without waiting.
            let cond = Cond::attr_equals("claim", claim.clone());
            let _ = store.delete(&header_key(ask), Some(cond)).await;
            return Err(e.into());
        }
    };
    let refused = chunks.iter().flat_map(|c| &c.lines).any(|p| p.refusal.is_some());
    header.chunks = chunks.len();
    if refused && !header.apply_valid {
        header.rejected = true;
        header.state = State::Done;
    } else {
        header.state = State::Applying;
    }
    let cond = Cond::attr_equals("claim", claim.clone());
    match store.put(header_item(ask, &header, clock.now())?, Some(cond)).await {
        Ok(()) => {}
        // Taken over while planning (we were too slow): the new owner answers.
        Err(StoreError::ConditionFailed) => return Box::pin(run(store, clock, ask, lines.to_vec())).await,
        Err(e) => return Err(e.into()),
    }
    if header.state == State::Done {
        return answer(store, ask, &header, Some(chunks)).await;
    }
    apply(store, clock, ask, header, Some(chunks)).await
}
