//! A family's data over the store: its export (everything the town holds about it), its
//! closure when it leaves, and its erasure after the retention period (with a dry run). The
//! rules are in `domain::privacy`; `docs/privacy.md` is the register entry.

mod closing;
mod erasure;
mod export;
mod subject;

pub use closing::{Closed, Closing, close, closing, due};
pub use erasure::{Erasure, Plan, apply, plan};
pub use export::export;
