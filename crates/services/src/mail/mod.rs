//! Outgoing email: written to the outbox in the same transaction as the state change that
//! owes it, then sent by the notifier (SES v2 in AWS, a folder locally), with retries; an
//! email that keeps failing is parked where staff can see it, never lost.

pub mod deliverability;
pub mod notifier;
pub mod outbox;
pub mod sender;
pub mod templates;
