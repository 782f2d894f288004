//! What a child's file lacks for a campaign's year, read from the store: THE one place the
//! handlers ask it, so the dashboard, the guardian's steps, the reminders, the rollover and the
//! booking gate follow. Fed by the family's enrolment (the rules accepted), its documents, and
//! the child's file (« fiche enfant »: the parts the campaign requires, staff's review).

use domain::config::Town;
use domain::family::Child;
use domain::school_year::{Campaign, DocFact, FamilyEnrolment, Gap, child_file_gaps, file_gaps};
use domain::{FamilyRef, TownId};
use store::{Item, Query, SkRange, Store, StoreError, keys};

/// A family's documents as the campaign sees them (one query of its partition).
pub(crate) async fn documents(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Vec<DocFact>, StoreError> {
    let q = Query::table(keys::family_partition(town, family), SkRange::Prefix(keys::DOCUMENT_PREFIX.into()));
    Ok(Item::decode_listed(&store.query_all(&q).await?))
}

/// What the child's file lacks for the campaign's year (one read of the child's file).
pub(crate) async fn of_child(
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
