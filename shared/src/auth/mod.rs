//! Authentication: secrets, password hashing, accounts, sessions, login throttling.

pub mod accounts;
pub mod password;
pub mod secret;
pub mod session;
