//! The modelplug collector: the one service an organisation runs for all its applications.
//! Every SDK's usage events arrive here (`POST /v1/events`, [`ingest`]); they are stored once
//! each, on SQLite (embedded default) or PostgreSQL (several replicas on one database)
//! ([`store`]), rolled up per hour and day ([`rollup`]), and answered as usage and cost reports
//! ([`report`]); `/metrics` exposes the collector's own numbers ([`metrics`]).
//!
//! Central policy ([`policy`]): a versioned, audited policy document, signed per app and pushed
//! to every running client, with budgets computed from the stored events.
//!
//! It depends on the schema crate (the wire contract) and on the core for one thing: policies
//! are validated with the same code every client applies them with, so an accepted policy can
//! never be half-applied by a client.

pub mod auth;
pub mod compress;
pub mod config;
pub mod csv;
pub mod dashboard;
pub mod event;
pub mod hist;
pub mod ingest;
pub mod key_admin;
pub mod keys;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod rollup;
pub mod server;
pub mod store;
mod tls;

pub use server::{ServeOptions, Server};
pub use store::{DbUrl, Store, StoreOptions};
