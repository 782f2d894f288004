//! Authentication: password hashing and sessions here; secrets and accounts are the store's
//! (re-exported so a handler finds them all under `auth`).

pub mod password;
pub mod session;

pub use store::{accounts, secret};
