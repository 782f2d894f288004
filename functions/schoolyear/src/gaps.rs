//! What a child's file lacks for a campaign's year, read from the store: THE one place the
//! handlers ask it. Today it is fed by the family's documents and its enrolment; the child's
//! structured file (`child_file::missing`: health, people, consents, insurance) is wired here
//! when it is merged, so the dashboard, the guardian's steps and the booking gate follow.

use domain::config::Town;
use domain::family::Child;
use domain::school_year::{Campaign, DocFact, FamilyEnrolment, Gap, file_gaps};
use domain::{FamilyRef, TownId};
use store::{Item, Query, SkRange, Store, StoreError, keys};

/// A family's documents as the campaign sees them (one query of its partition).
pub(crate) async fn documents(store: &Store, town: &TownId, family: &FamilyRef) -> Result<Vec<DocFact>, StoreError> {
    let q = Query::table(keys::family_partition(town, family), SkRange::Prefix(keys::DOCUMENT_PREFIX.into()));
    Ok(Item::decode_listed(&store.query_all(&q).await?))
}

/// What the child's file lacks for the campaign's year.
pub(crate) fn of_child(
    town: &Town,
    campaign: &Campaign,
    enrolment: Option<&FamilyEnrolment>,
    child: &Child,
    docs: &[DocFact],
) -> Vec<Gap> {
    file_gaps(campaign, enrolment, child, docs, town)
}
