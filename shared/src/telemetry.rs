//! Logging set-up shared by every binary: JSON lines in Lambda (CloudWatch), text locally.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber once; `RUST_LOG` overrides the default `info` level.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // A second call (tests starting several apps) keeps the first subscriber.
    let _ = if json { builder.json().without_time().try_init() } else { builder.compact().try_init() };
}
