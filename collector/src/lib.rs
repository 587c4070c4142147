//! The collector, at any of the three tiers (enterprise, provincial, national): events in over
//! HTTPS from sensors or the tier below, into ClickHouse, roll-ups and incidents up to the tier
//! above, bulletins down, and the scoped API for the people at each tier.
//!
//! `ingest` checks and admits batches, `store` writes them exactly once, `schema` is the
//! ClickHouse layout and its migrations, `retention` drops old partitions, `query` answers
//! analysts, `registry` knows the enterprises, `incident` escalates, `report` and `upstream`
//! carry what goes up, `account`, `login` and `audit` are who may do what and the trail of it,
//! `server` ties them to an HTTP(S) listener.

pub mod account;
pub mod audit;
pub mod auth;
pub mod bulletin;
pub mod config;
pub mod event;
pub mod incident;
pub mod ingest;
pub mod login;
pub mod metrics;
pub mod pki;
pub mod query;
pub mod registry;
pub mod repair;
pub mod report;
pub mod retention;
pub mod schema;
pub mod server;
pub mod store;
pub mod time;
pub mod upstream;
