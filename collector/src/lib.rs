//! The collector, at any of the three tiers (enterprise, provincial, national): events in over
//! HTTPS from sensors or the tier below, into ClickHouse, roll-ups and incidents up to the tier
//! above, bulletins down, and the scoped API for the people at each tier.
//!
//! The code lives in three rooms, each allowed to call only the ones below it, so a change to
//! one reads without the others and no circle can form (`tests/rooms.rs` checks it):
//!
//! - [`http`] — the service: the shared `App`, the router, TLS, one file per handler group,
//!   the extractors that say who is asking and the one `ApiError` every handler answers with;
//! - [`tier`] — what makes this collector a tier: the registry, batches checked and carried
//!   through ([`tier::ingest::check_batch`] is pure), incidents and their escalation, bulletins
//!   and STIX, and what is reported to the tier above;
//! - [`store`] — ClickHouse: the schema and its migrations, batches written exactly once,
//!   roll-ups repaired, retention, the audit trail.
//!
//! Below them, leaves any room may use and that use no room: [`config`], [`account`] and
//! [`auth`] (who may do what), [`codes`], [`event`] (a sensor's line as rows), [`metrics`],
//! [`pki`] and [`time`].

pub mod account;
pub mod auth;
pub mod codes;
pub mod config;
pub mod csaf;
pub mod event;
pub mod http;
pub mod i18n;
pub mod metrics;
pub mod notify;
pub mod pki;
pub mod store;
pub mod tier;
pub mod time;
