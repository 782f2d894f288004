//! The deployed stack on one machine. [`template`] reads `template.yaml` as a local stack
//! resolves it: each function's binary, environment, routes, schedules and IAM policy (the IAM
//! test in `tests/it/iam.rs` and the twin both read it from here).

pub mod template;
