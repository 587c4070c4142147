//! The tier room: what makes this collector one tier of three — the enterprise registry
//! ([`registry`]), batches checked and carried on ([`ingest`]), incidents opened and escalated
//! ([`incident`]), bulletins issued, pulled and followed ([`bulletin`]), what goes up to
//! the tier above ([`report`], [`upstream`]), and the situation its pages and reports show
//! ([`situation`]).
//!
//! Tier code works with the [`Store`](crate::store::Store) below and the
//! [`Upstream`](upstream::Upstream) above, handed to it as narrow handles; it never names the
//! HTTP room, so it can be driven (and tested) without a request.

pub mod bulletin;
pub mod fleet;
pub mod grading;
pub mod hazard;
pub mod incident;
pub mod ingest;
pub mod live;
pub mod registry;
pub mod report;
pub mod sitrep;
pub mod situation;
pub mod upstream;
