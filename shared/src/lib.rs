//! Espace Famille's shared library: the pure domain, the single-table store over its two
//! backends, and the HTTP pieces every function uses.

pub mod domain;
pub mod http;
pub mod json;
pub mod store;
pub mod telemetry;
