//! End-to-end tests, in one binary to keep link time down.

mod accounts;
mod aws_backends;
mod basket;
mod billing_model;
mod calendar;
mod corrections;
mod dates;
mod documents;
mod erasure;
mod hardening;
mod helpers;
mod http_bad_input;
mod import;
mod invoices;
mod local_portal;
mod news;
mod openapi;
mod operations;
mod orderings;
mod payments;
mod register;
mod settlement;
mod staff;
mod store_contract;
mod wiring;
mod yaml;
