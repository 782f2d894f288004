//! End-to-end tests, in one binary to keep link time down.

mod helpers;
mod http_bad_input;
mod local_portal;
mod store_contract;
