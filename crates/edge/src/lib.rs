//! The HTTP edge every function shares: RFC 9457 problems, extractors that answer bad input with
//! them, headers and CSV answers, sessions, CSRF and the staff/administrator extractors,
//! password hashing, the Lambda entry point, logs, the clock handlers read `now` from, and the
//! documents' file storage (S3, or a folder locally), the bookings as iCalendar. Built on the domain and the store.

pub mod auth;
pub mod clock;
#[cfg(feature = "files")]
pub mod files;
pub mod http;
#[cfg(feature = "ics")]
pub mod ics;
pub mod lambda;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod telemetry;
