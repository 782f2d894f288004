//! The domain: Espace Famille's business rules, pure. Identifiers, money, the town's
//! configuration and calendar, bookings and their deadlines, the basket, attendance, billing,
//! credit notes, régularisations, payments and direct debits, documents, imports, privacy; and
//! how dates and amounts are written in French. Nothing here does I/O: no store, no clock (`now`
//! is always a parameter), no network, no file. The crate depends on no async runtime, web
//! framework, database or AWS SDK, and CI fails if one appears in `cargo tree -p domain`
//! (`scripts/check_layers.py`). Every rule here is unit-tested in its module.

// The modules in groups from the bottom up: a module uses only its own group and the groups
// above it (`scripts/check_layers.py` fails on an import cycle).

// Values: identifiers, money, strict dates, texts, how French writes them.
pub mod account;
pub mod date;
pub mod fr;
pub mod ids;
pub mod json;
pub mod money;
pub mod month;
pub mod refusal;
pub mod text;
pub mod words;

// The town: its calendar, deadlines, documents settings, its configuration.
pub mod calendar;
pub mod config;
pub mod deadline;
pub mod documents;

// Families and what they are charged: the family file, prices, bookings.
pub mod booking;
pub mod child_file;
pub mod delivery;
pub mod family;
pub mod import;
pub mod news;
pub mod period;
pub mod pricing;
pub mod privacy;
pub mod qf;
pub mod school_year;

// A day's cells, the basket, attendance and the town's operations on bookings.
pub mod attendance;
pub mod basket;
pub mod cells;
pub mod operations;
pub mod reminders;

// Invoices and what follows them.
pub mod aid;
pub mod billing;
pub mod caf;
pub mod credit;
pub mod debit;
pub mod invoice;
pub mod payfip;
pub mod payment;
pub mod pes;
pub mod regularisation;
pub mod tax;

/// Small builders of towns, families and bookings for the tests of this crate and the ones above.
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use ids::{ActivityId, AidId, ChildId, DocKindId, FamilyRef, SiteId, TownId, UnitId};
pub use money::Cents;
pub use month::Month;
pub use refusal::{Kind, Refusal};

/// SHA-256 of a text, hex: how secrets, e-mail addresses and anonymised references are keyed.
pub fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
