//! The deployed stack on one machine. [`template`] reads `template.yaml` as a local stack
//! resolves it: each function's binary, environment, routes, schedules and IAM policy (the IAM
//! test in `tests/it/iam.rs` and the twin both read it from here). The twin
//! (`espace-famille-stack`, src/main.rs) runs each function's own binary behind a Lambda
//! Runtime API ([`lambda`]) and API Gateway's routes and payload 2.0 events ([`gateway`]), over
//! moto ([`aws`]); its stream and SNS events are delivered as AWS delivers them ([`events`]).

pub mod aws;
pub mod events;
pub mod gateway;
pub mod lambda;
pub mod template;
