//! The pure rules: identifiers, money, the town's configuration, the calendar facts.
//! Nothing here does I/O; `now` is always a parameter.

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
pub mod ids;
pub mod import;
pub mod money;
pub mod news;
pub mod operations;
pub mod payfip;
pub mod payment;
pub mod period;
pub mod pricing;
pub mod privacy;
pub mod regularisation;
#[cfg(test)]
pub(crate) mod testkit;
pub mod text;

pub use ids::{ActivityId, ChildId, DocKindId, FamilyRef, SiteId, TownId, UnitId};
pub use money::Cents;
