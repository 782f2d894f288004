//! The school year's reads every function shares: a town's campaign and a family's enrolment,
//! what a child's enrolment lacks for the year (THE one place: the guardian's steps, the
//! dashboard, the reminders, the rollover and the booking gate ask it here), and the holds that
//! gap puts on a child's enrolments (`domain::school_year::with_holds`), recomputed when the
//! family saves a step, at the rollover, and as soon as staff accept a document or validate a
//! child's file ([`refresh_family_holds`]).

use chrono::{DateTime, Utc};
use domain::config::Town;
use domain::family::{Child, Family};
use domain::school_year::{
    Campaign, DocFact, FamilyEnrolment, Gap, SchoolYear, child_file_gaps, file_gaps, with_holds,
};
use domain::{FamilyRef, TownId};
use store::{Cond, Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// The town's campaign of `year`, if the administrator opened one.
pub async fn get_campaign(store: &Store, town: &TownId, year: SchoolYear) -> Result<Option<Campaign>, StoreError> {
    store.get(&keys::campaign(town, year)).await?.map(|i| i.to_value()).transpose()
}

/// The family's answer to the campaign of `year`, if it started one.
pub async fn get_enrolment(
    store: &Store,
    town: &TownId,
    family: &FamilyRef,
    year: SchoolYear,
) -> Result<Option<FamilyEnrolment>, StoreError> {
    store.get(&keys::enrolment(town, family, year)).await?.map(|i| i.to_value()).transpose()
}

/// A family's documents as the campaign sees them (one query of its partition).
pub async fn documents(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Vec<DocFact>, StoreError> {
    let q = Query::table(keys::family_partition(town, family), SkRange::Prefix(keys::DOCUMENT_PREFIX.into()));
    Ok(Item::decode_listed(&store.query_all(&q).await?))
}

/// What the child's enrolment lacks for the campaign's year: the rules, the documents its
/// activities require, the parts of its file (one read of the child's file).
pub async fn gaps_of_child(
    store: &Store,
    town: &Town,
    campaign: &Campaign,
    enrolment: Option<&FamilyEnrolment>,
    child: &Child,
    docs: &[DocFact],
) -> Result<Vec<Gap>, StoreError> {
    let mut gaps = file_gaps(campaign, enrolment, child, docs, town);
    let record = store::child_files::get(store, town.id(), &child.id).await?;
    gaps.extend(child_file_gaps(campaign, record.as_ref()));
    Ok(gaps)
}

/// The writes of the family's children whose holds change, each conditioned on its enrolments
/// as read.
pub async fn refresh_holds(
    store: &Store,
    town: &Town,
    campaign: &Campaign,
    family: &Family,
    enrolment: Option<&FamilyEnrolment>,
) -> Result<Vec<WriteOp>, StoreError> {
    let docs = documents(store, town.id(), &family.reference).await?;
    let mut ops = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
        let gaps = gaps_of_child(store, town, campaign, enrolment, &child, &docs).await?;
        if let Some(after) = with_holds(campaign, enrolment, &child, &gaps) {
            let read = serde_json::to_value(&child.enrolments).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let cond = Cond::AttrEquals { name: "enrolments".into(), value: read };
            ops.push(WriteOp::Put { item: repo::child_item(town.id(), &after)?, cond: Some(cond) });
        }
    }
    Ok(ops)
}

/// After staff decide on one of the family's documents or validate a child's file: the holds of
/// the current and the next school year's enrolments recomputed and written at once, so the
/// year's bookings open (or stay closed) without waiting for the family's next step. A change
/// racing it (the family saving a step, which recomputes them too) wins; this is tried again
/// once.
pub async fn refresh_family_holds(
    store: &Store,
    town: &Town,
    family: &FamilyRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let this = SchoolYear::of(town.today(now));
    for year in [this, this.next()] {
        let Some(campaign) = get_campaign(store, town.id(), year).await? else { continue };
        for attempt in 0..2 {
            let Some(fam) = repo::get_family(store, town.id(), family).await? else { return Ok(()) };
            let enrolment = get_enrolment(store, town.id(), family, year).await?;
            let ops = refresh_holds(store, town, &campaign, &fam, enrolment.as_ref()).await?;
            if ops.is_empty() {
                break;
            }
            match store.transact(ops).await {
                Ok(()) => break,
                Err(StoreError::TransactionCanceled { .. } | StoreError::ConditionFailed) if attempt == 0 => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
