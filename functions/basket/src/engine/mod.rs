//! Applying checked lines exactly once, whatever their number, retries and crashes.
//!
//! A validation is named by the client's idempotency key and kept for [`KEEP`]:
//!
//! 1. **Claim**: a header item is created only if none is live (`NotExistsOrExpired`, since
//!    DynamoDB's TTL deletion lags). Whoever finds it taken reads it: another body under the
//!    same key is refused; a finished validation is answered again from what was stored; one
//!    being applied is joined; one being planned is waited for (or taken over once its claim
//!    is older than [`LEASE`]: its planner died).
//! 2. **Plan**: every line is checked once more at `now` (see [`crate::check`]); the verdicts,
//!    with the exact bookings to write, are stored in chunks of at most 99 actions, under the
//!    claim. The header then says `applying` (or `done`, rejected, when a line failed and the
//!    guardian did not choose to apply the valid ones: nothing is written).
//! 3. **Apply**: each chunk is one transaction of at most 100 actions: its bookings (each
//!    conditioned on the version read), the places (one bounded counter per unit, site and day,
//!    never over the capacity), and the progress item moved from `i` to `i + 1` — so a chunk
//!    applies once, however many workers resume it. A line whose condition fails in between
//!    (the last place taken by someone else, the booking changed elsewhere) is recorded as
//!    lost with its reason; in the first chunk without the guardian's consent to a partial
//!    result, the validation is rejected instead and nothing is written. A guardian's additions
//!    to a busy day (a unit with places and a waiting list) wait in the day's queue instead,
//!    and whoever holds the day's lease applies them with other families' in one transaction
//!    carrying the same conditions (`queue.rs`).
//! 4. **Finish**: one transaction marks the header done, queues the confirmation email and
//!    removes the applied lines from the basket.
//!
//! The answer is always rebuilt from the stored plan and progress, so a retry gets the same one.

mod answer;
mod apply;
mod queue;
mod stored;
mod validate;
mod writes;

pub use answer::{Answer, LineOutcome, LineResult, Outcome};
pub use queue::day_lease;
pub use stored::{Ask, KEEP, LEASE, Planned, Recipient};
pub use validate::{exists, run};
