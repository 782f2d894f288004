//! Logging set-up shared by every binary: JSON lines in Lambda (CloudWatch), text locally.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::{fmt, prelude::*};

/// Installs the global subscriber once; `RUST_LOG` (`info`, `warn,shared=debug`, `off`: levels
/// per target, as `Targets` reads them) overrides the default `info` level.
pub fn init(json: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let registry = tracing_subscriber::registry().with(filter);
    // A second call (tests starting several apps) keeps the first subscriber.
    let _ = if json {
        registry.with(fmt::layer().json().without_time().with_target(false)).try_init()
    } else {
        registry.with(fmt::layer().compact().with_target(false)).try_init()
    };
}
