//! The domain: Espace Famille's business rules, pure. Identifiers, money, the town's
//! configuration and calendar, bookings and their deadlines, the basket, attendance, billing,
//! credit notes, régularisations, payments and direct debits, documents, imports, privacy; and
//! how dates and amounts are written in French. Nothing here does I/O: no store, no clock (`now`
//! is always a parameter), no network, no file. The crate depends on no async runtime, web
//! framework, database or AWS SDK, and CI fails if one appears in `cargo tree -p domain`
//! (`scripts/check_layers.sh`). Every rule here is unit-tested in its module.

pub mod account;
pub mod attendance;
pub mod basket;
pub mod billing;
pub mod booking;
pub mod calendar;
pub mod cells;
pub mod config;
pub mod credit;
pub mod date;
pub mod deadline;
pub mod debit;
pub mod documents;
pub mod family;
pub mod fr;
pub mod ids;
pub mod import;
pub mod json;
pub mod money;
pub mod news;
pub mod operations;
pub mod payfip;
pub mod payment;
pub mod period;
pub mod pricing;
pub mod privacy;
pub mod regularisation;
pub mod reminders;
/// Small builders of towns, families and bookings for the tests of this crate and the ones above.
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text;

pub use ids::{ActivityId, ChildId, DocKindId, FamilyRef, SiteId, TownId, UnitId};
pub use money::Cents;

/// SHA-256 of a text, hex: how secrets, e-mail addresses and anonymised references are keyed.
pub fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
