//! Town operations over the store: a closure cancelling what it closes, a reopening telling the
//! families, the waiting list moving when a place frees, an offer lapsing. The rules are in
//! `domain::operations` and `domain::booking`; this is where they are read and written.
//!
//! Each operation a request starts is first recorded as a **job** in the transaction of the
//! change that calls for it (the configuration that closes days, the cancellation that frees a
//! place), then run at once by the same request, then deleted. A job a crash interrupted is
//! still there: the scheduled sweep (`sweep`, every few minutes) runs it again. Every job is
//! idempotent: it reads what is still to do (a booking already cancelled is not cancelled twice,
//! a family already emailed has nothing left to be emailed about).

mod closures;
mod common;
mod jobs;
mod reminders;
mod sweep;
mod waiting_lists;

pub use closures::{Closed, Impact, close, impact, reopen};
pub use common::{Ctx, SYSTEM};
pub use jobs::{Job, SETTLE_MINUTES, config_jobs, job_op, promote_op};
pub use reminders::{remind, remind_all};
pub use sweep::{run, sweep};
pub use waiting_lists::{RAISE_HORIZON_DAYS, free_places, lapse, promote, raise};
