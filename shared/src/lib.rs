//! Espace Famille's shared library: the pure domain, the single-table store over its two
//! backends, and the HTTP pieces every function uses.

pub mod audit;
pub mod auth;
pub mod aws;
pub mod clock;
pub mod domain;
#[cfg(feature = "files")]
pub mod files;
pub mod fr;
pub mod gate;
pub mod http;
pub mod json;
pub mod lambda;
pub mod mail;
pub mod operations;
pub mod privacy;
pub mod store;
pub mod telemetry;
