//! End-to-end tests, in one binary to keep link time down.

mod accounts;
mod aws_backends;
mod basket;
mod calendar;
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
mod payments;
mod staff;
mod store_contract;
mod wiring;
mod yaml;
