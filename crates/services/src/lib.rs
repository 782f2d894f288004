//! The services: the work that follows a change and outlives a request. The jobs (closures
//! cancelling bookings, waiting lists promoted, holiday reminders, the sweep of due jobs), privacy
//! (retention, erasure, a family's export), and email: the outbox written in the same transaction
//! as the change that owes it, the templates, the sender and the notifier; and API Particulier's
//! client for the quotient familial ([`qf`]). Built on the domain and the store; serves no HTTP.

pub mod mail;
pub mod operations;
pub mod privacy;
pub mod qf;
pub mod school_year;
