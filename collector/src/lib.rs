//! The provincial collector: sensors' events in over HTTPS, into ClickHouse, out to analysts.
//!
//! `ingest` checks and admits batches, `store` writes them exactly once, `schema` is the
//! ClickHouse layout and its migrations, `retention` drops old partitions, `query` answers
//! analysts, `server` ties them to an HTTP(S) listener.

pub mod auth;
pub mod config;
pub mod event;
pub mod ingest;
pub mod metrics;
pub mod pki;
pub mod query;
pub mod retention;
pub mod schema;
pub mod server;
pub mod store;
pub mod time;
