//! The EVE wire contract: what a sensor writes and a collector reads, in one place.
//!
//! Both sides build on these types, so a field renamed on one side fails to compile on the
//! other instead of being refused at ingest. The crate does no I/O: it owns the envelope every
//! event shares ([`Tuple`], [`Proto`], [`EventId`], [`Event`]), the [`EventType`]s, the
//! [`AlertRecord`] every alert carries, the
//! [`Timestamp`] and its one parser, the [`SensorIdentity`] block, the [`codes`] that say
//! whose a record is (GB 32100 unified social credit codes, GB/T 2260 provinces), and an
//! anomaly's whole name from Suricata's layout ([`anomaly_name`]).

mod alert;
mod anomaly;
pub mod codes;
mod envelope;
mod event_type;
mod identity;
mod time;

pub use alert::AlertRecord;
pub use anomaly::{anomaly_name, anomaly_name_of};
pub use envelope::{Event, EventId, Proto, Tuple};
pub use event_type::EventType;
pub use identity::{Industry, SensorIdentity};
pub use time::Timestamp;
