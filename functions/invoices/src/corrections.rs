//! Correcting a finalised invoice without changing it: credit notes (« avoirs ») numbered in
//! their own series, the cancellation of an invoice (an « avoir d'annulation » for what is left
//! of it), and a guardian's contest of a line, which staff accept with a credit note or refuse
//! with a reason. Each is one transaction: the sequence moved on (conditioned on the value
//! read), the credit note, the invoice's credited sum (conditioned on the invoice's version
//! read, so two credit notes at once never exceed it, nor lose a payment recorded meanwhile),
//! the contest's answer, the audit entry and the emails.

use crate::AppState;
use chrono::{DateTime, Datelike, Utc};
use domain::billing::Invoice;
use domain::config::Town;
use domain::credit::{self, Cancellation, Contest, ContestDecision, CreditAsked, CreditNote};
use domain::family::Family;
use domain::regularisation::{self, Regularisation};
use domain::{Cents, FamilyRef, Month, TownId};
use edge::http::Problem;
use services::mail::outbox::Mail;
use services::mail::templates::billing::{ContestRefused, CreditFor, CreditNoteIssued};
use store::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys, regularisations, repo};

/// Attempts when another change took the numbers or credited the invoice meanwhile.
const TRIES: usize = 8;

/// The invoice of `family` for `month`, or 404.
pub async fn invoice(store: &Store, town: &TownId, family: &FamilyRef, month: Month) -> Result<Invoice, Problem> {
    let unknown = || Problem::not_found("unknown_invoice", "Cette facture est introuvable.");
    let item = store.get(&keys::invoice(town, family, month)).await?.ok_or_else(unknown)?;
    Ok(item.to_value()?)
}

/// The stored credit note: in its family's partition, and by month in the index.
fn credit_note_item(town: &TownId, note: &CreditNote) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::credit_note(town, &note.family, &note.number), note)?
        .with_gsi1(Key::new(keys::credit_notes_of_month(town, note.month), note.number.as_str())))
}

/// Up to `limit` of the family's records whose key starts with `prefix`, last key first (one
/// that does not decode is logged and left out).
pub(crate) async fn family_records<T: serde::de::DeserializeOwned>(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    prefix: &str,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let q =
        Query::table(keys::family_partition(town, family), SkRange::Prefix(prefix.into())).descending().limit(limit);
    Ok(Item::decode_listed(&store.query(&q).await?.items))
}

/// The family's credit notes, newest first (at most `limit`).
pub async fn credit_notes_of(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    limit: usize,
) -> Result<Vec<CreditNote>, StoreError> {
    family_records(store, town, family, keys::CREDIT_NOTE_PREFIX, limit).await
}

/// What a credit note is for: staff's own, a cancellation, a contest's answer, or a proposed
/// régularisation issued at once.
pub enum Purpose<'a> {
    Correction,
    Cancellation,
    Contest(&'a Contest),
    Regularisation(&'a Regularisation),
}

/// Issues a credit note of `asked` on the invoice of `family` for `month`, retrying when another
/// change got there first; the cancellation and the contest's answer go in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    (store, public_url): (&Store, &str),
    town: &Town,
    family: &FamilyRef,
    month: Month,
    asked: &[CreditAsked],
    reason: &str,
    purpose: Purpose<'_>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<CreditNote, Problem> {
    let reason = credit::reason(reason)?;
    let household = repo::get_family(store, town.id(), family).await?.ok_or_else(edge::http::auth::unknown_family)?;
    for _ in 0..TRIES {
        let invoice = invoice(store, town.id(), family, month).await?;
        // A PayFiP operation not settled yet (even past its hour, until PayFiP has answered):
        // the family may be paying it, and a payment would land on a cancelled invoice.
        if matches!(purpose, Purpose::Cancellation) && invoice.online.is_some() {
            return Err(crate::problems::in_progress());
        }
        // What the month's régularisations gave back is not given back again (the one issued
        // now as a credit note aside).
        let mut regularisations =
            store::regularisations::of_family(store, town.id(), family, &format!("{month}-")).await?;
        if let Purpose::Regularisation(r) = &purpose {
            regularisations.retain(|x| x.id != r.id);
        }
        let regularised = regularisation::given_back(&invoice, &regularisations);
        let asked = match purpose {
            // An invoice is cancelled for what credit notes and régularisations have not covered.
            Purpose::Cancellation => {
                vec![CreditAsked { line: None, amount: credit::creditable(&invoice).minus_i64(regularised.total) }]
            }
            Purpose::Regularisation(r) => vec![CreditAsked { line: None, amount: r.left }],
            _ => asked.to_vec(),
        };
        let mut lines = credit::credit_lines(&invoice, &asked, &regularised)?;
        if let (Purpose::Regularisation(r), Some(line)) = (&purpose, lines.first_mut()) {
            line.label = format!("Régularisation : {}", r.label());
        }
        let total = lines.iter().fold(Cents::ZERO, |t, l| t + l.amount);
        // It first gives back what is left to pay; the rest waits for the next invoice.
        let left = domain::payment::left_to_pay(&invoice);
        let deducted = if total < left { total } else { left };
        let year = town.today(now).year();
        let (next, sequence) = crate::run::take_numbers(store, keys::credit_sequence(town.id(), year), 1).await?;
        let note = CreditNote {
            number: credit::credit_note_number(year, next),
            family: family.clone(),
            month: month.to_owned(),
            corrects: invoice.number.clone(),
            issued_on: town.today(now),
            reason: reason.clone(),
            lines,
            total,
            issued_by: by.to_owned(),
            contest: match purpose {
                Purpose::Contest(c) => Some(c.id.clone()),
                _ => None,
            },
            deducted,
            carried: total.minus(deducted),
        };
        let carried = regularisation::carried(&note, &invoice, now);
        let mut after = invoice.clone();
        after.credited += total;
        let action = match purpose {
            Purpose::Cancellation => {
                after.cancelled = Some(Cancellation {
                    reason: reason.clone(),
                    by: by.to_owned(),
                    at: now,
                    credit_note: note.number.clone(),
                });
                "invoices.cancel"
            }
            Purpose::Contest(_) => "invoices.contest_accept",
            Purpose::Correction => "invoices.credit_note",
            Purpose::Regularisation(_) => "invoices.regularisation_credit",
        };
        let mut ops = vec![
            sequence,
            WriteOp::create(credit_note_item(town.id(), &note)?),
            crate::run::invoice_change(town.id(), &invoice, &mut after)?,
        ];
        if let Purpose::Contest(c) = purpose {
            let decision = ContestDecision::Accepted {
                credit_note: note.number.clone(),
                amount: total,
                decided_by: by.to_owned(),
                decided_at: now,
            };
            ops.push(decided(town.id(), c, decision)?);
        }
        if let Purpose::Regularisation(r) = purpose {
            ops.push(regularisations::settle(town.id(), r, &r.credited(&note.number))?);
        }
        if let Some(c) = &carried {
            ops.push(regularisations::create(town.id(), c)?);
        }
        let entry = store::audit::Entry {
            at: now,
            by: by.to_owned(),
            action: action.into(),
            target: format!("invoices/{}/{month}", family),
            before: serde_json::to_value(&invoice).ok().map(|v| serde_json::json!({ "credited": v["credited"] })),
            after: serde_json::to_value(&note).ok(),
        };
        ops.push(entry.record(town.id())?);
        for g in &household.guardians {
            let whither = regularisation::destination(&note, carried.as_ref());
            let content = note_email(public_url, town, &g.first_name, &note, &purpose, &whither);
            let mail = Mail::new(town.id(), &g.email, content, now);
            ops.push(mail.enqueue()?);
        }
        match store.transact(ops).await {
            Ok(()) => return Ok(note),
            Err(StoreError::TransactionCanceled { .. }) => {
                // The régularisation was settled meanwhile: say so.
                if let Purpose::Regularisation(r) = purpose {
                    let stored = regularisations::get(store, town.id(), family, &r.id).await?;
                    if stored.is_none_or(|s| s.version != r.version) {
                        return Err(regularisation_closed());
                    }
                }
                // Another answer to the same contest won: say so rather than trying again.
                if let Purpose::Contest(c) = purpose {
                    let now_stored = store.get(&keys::contest(town.id(), family, &c.id)).await?;
                    if now_stored.map(|i| i.to_value::<Contest>()).transpose()?.is_none_or(|c| !c.is_pending()) {
                        return Err(already_answered());
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::ConditionFailed.into())
}

/// The contest's item with its decision, conditioned on its still waiting (two staff answering
/// at once: one answer).
fn decided(town: &TownId, c: &Contest, decision: ContestDecision) -> Result<WriteOp, StoreError> {
    let answered = Contest { decision, ..c.clone() };
    Ok(WriteOp::Put { item: contest_item(town, &answered)?, cond: Some(Cond::attr_equals("status", "pending")) })
}

/// The stored contest; in the staff's queue while it waits.
pub fn contest_item(town: &TownId, c: &Contest) -> Result<Item, StoreError> {
    let item = Item::from_value(keys::contest(town, &c.family, &c.id), c)?;
    Ok(if c.is_pending() {
        item.with_gsi1(Key::new(keys::contests_pending(town), format!("{}#{}", c.at.to_rfc3339(), c.id)))
    } else {
        item
    })
}

/// Refuses a contest with a reason, emailed to the family's guardians.
pub async fn refuse(
    state: &AppState,
    town: &Town,
    c: &Contest,
    reason: &str,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Contest, Problem> {
    let store = &state.auth.store;
    let reason = credit::reason(reason)?;
    let household =
        repo::get_family(store, town.id(), &c.family).await?.ok_or_else(edge::http::auth::unknown_family)?;
    let decision = ContestDecision::Refused { reason: reason.clone(), decided_by: by.to_owned(), decided_at: now };
    let answered = Contest { decision: decision.clone(), ..c.clone() };
    let mut ops = vec![decided(town.id(), c, decision)?];
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.contest_refuse".into(),
        target: format!("invoices/{}/{}", c.family, c.month),
        before: None,
        after: serde_json::to_value(&answered).ok(),
    };
    ops.push(entry.record(town.id())?);
    for g in &household.guardians {
        let content = ContestRefused {
            town: town.config().name.clone(),
            first_name: g.first_name.clone(),
            public_url: state.public_url.to_string(),
            invoice: c.invoice.clone(),
            line: c.line_text.clone(),
            reason: reason.clone(),
        }
        .render();
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    match store.transact(ops).await {
        Ok(()) => Ok(answered),
        Err(StoreError::TransactionCanceled { .. }) => Err(already_answered()),
        Err(e) => Err(e.into()),
    }
}

pub fn already_answered() -> Problem {
    Problem::new(axum::http::StatusCode::CONFLICT, "contest_answered", "Cette contestation a déjà reçu une réponse.")
}

pub fn regularisation_closed() -> Problem {
    Problem::new(
        axum::http::StatusCode::CONFLICT,
        "regularisation_closed",
        "Cette régularisation est déjà réglée (avoir, facture ou remboursement).",
    )
}

fn note_email(
    public_url: &str,
    town: &Town,
    first_name: &str,
    note: &CreditNote,
    purpose: &Purpose<'_>,
    whither: &str,
) -> services::mail::outbox::Content {
    CreditNoteIssued {
        town: town.config().name.clone(),
        first_name: first_name.to_owned(),
        public_url: public_url.to_owned(),
        credit_for: match purpose {
            Purpose::Cancellation => CreditFor::Cancellation,
            Purpose::Contest(_) => CreditFor::Contest,
            Purpose::Correction | Purpose::Regularisation(_) => CreditFor::Correction,
        },
        number: note.number.clone(),
        corrects: note.corrects.clone(),
        lines: note.lines.iter().map(|l| (l.label.clone(), l.amount)).collect(),
        total: note.total,
        reason: note.reason.clone(),
        destination: whither.to_owned(),
    }
    .render()
}

/// The family's contests, newest first (at most `limit`).
pub async fn contests_of(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    limit: usize,
) -> Result<Vec<Contest>, StoreError> {
    let mut out: Vec<Contest> = family_records(store, town, family, keys::CONTEST_PREFIX, limit).await?;
    out.sort_by_key(|c| std::cmp::Reverse(c.at));
    Ok(out)
}

/// Staff's queue: the contests waiting, oldest first.
pub async fn pending(store: &Store, town: &TownId) -> Result<Vec<Contest>, StoreError> {
    store
        .query_all(&Query::gsi1(keys::contests_pending(town), SkRange::All))
        .await
        .map(|items| Item::decode_listed(&items))
}

/// A guardian's contest of one line, or of some of its days: stored in the family's partition
/// and in staff's queue, audited. The guardians hear back by email when staff answer.
#[allow(clippy::too_many_arguments)]
pub async fn contest(
    store: &Store,
    town: &Town,
    invoice: &Invoice,
    line: usize,
    days: &[chrono::NaiveDate],
    message: &str,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Contest, Problem> {
    let open = contests_of(store, town.id(), &invoice.family, 100).await?;
    let c = Contest::new(edge::auth::secret::id(), invoice, line, days, message, &open, by, now)?;
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.contest".into(),
        target: format!("invoices/{}/{}", c.family, c.month),
        before: None,
        after: serde_json::to_value(&c).ok(),
    };
    store.transact(vec![WriteOp::create(contest_item(town.id(), &c)?), entry.record(town.id())?]).await?;
    Ok(c)
}

/// A family's name for staff pages.
pub fn name_of(families: &[Family], f: &FamilyRef) -> String {
    families.iter().find(|x| &x.reference == f).map(|x| x.name.clone()).unwrap_or_default()
}
