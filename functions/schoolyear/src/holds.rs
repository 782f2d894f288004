//! The holds on a family's enrolments of a campaign's year: what opens or closes its bookings
//! (`domain::school_year::with_holds`), recomputed when the family saves a step and at the
//! rollover. The documents' decisions will call [`refresh`] too at the merge (a document
//! accepted lifts a hold at once); until then the next step saved or the rollover lifts it.

use domain::config::Town;
use domain::family::Family;
use domain::school_year::{Campaign, FamilyEnrolment, with_holds};
use store::{Cond, Store, StoreError, WriteOp, repo};

/// The writes of the family's children whose holds change, each conditioned on its enrolments
/// as read.
pub async fn refresh(
    store: &Store,
    town: &Town,
    campaign: &Campaign,
    family: &Family,
    enrolment: Option<&FamilyEnrolment>,
) -> Result<Vec<WriteOp>, StoreError> {
    let docs = super::gaps::documents(store, town.id(), &family.reference).await?;
    let mut ops = Vec::new();
    for id in &family.children {
        let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
        let gaps = super::gaps::of_child(store, town, campaign, enrolment, &child, &docs).await?;
        if let Some(after) = with_holds(campaign, enrolment, &child, &gaps) {
            let read = serde_json::to_value(&child.enrolments).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let cond = Cond::AttrEquals { name: "enrolments".into(), value: read };
            ops.push(WriteOp::Put { item: repo::child_item(town.id(), &after)?, cond: Some(cond) });
        }
    }
    Ok(ops)
}
