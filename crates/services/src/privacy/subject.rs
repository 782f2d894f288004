//! Whom an erasure or an export is about: the family, its children, the words and identifiers
//! that name them, and its anonymous reference.

use domain::family::{Child, Family};
use domain::privacy as rules;
use domain::{FamilyRef, TownId};
use store::repo;
use store::{Store, StoreError};

/// The most audit entries one erasure reads (newest first); older ones are past the trail's
/// own retention.
pub(super) const MAX_AUDIT_ENTRIES: usize = 50_000;

pub(super) struct Subject {
    pub(super) family: Family,
    pub(super) children: Vec<Child>,
    pub(super) texts: Vec<String>,
    pub(super) refs: rules::References,
    pub(super) anonymous: FamilyRef,
}

pub(super) async fn subject(
    store: &Store,
    town: &TownId,
    reference: &FamilyRef,
) -> Result<Option<Subject>, StoreError> {
    let Some(family) = repo::get_family(store, town, reference).await? else { return Ok(None) };
    let mut children = Vec::new();
    for c in &family.children {
        if let Some(child) = repo::get_child(store, town, c).await? {
            children.push(child);
        }
    }
    let texts = rules::personal_texts(&family, &children);
    let refs = rules::References::of(town, &family);
    let anonymous = rules::anonymous_ref(town, reference);
    Ok(Some(Subject { family, children, texts, refs, anonymous }))
}
