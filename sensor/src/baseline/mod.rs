//! Learned baselines of an industrial network's behaviour, and what breaks them.
//!
//! An industrial network repeats itself: the same masters poll the same devices for the same
//! addresses at the same pace. A baseline records that behaviour in versioned JSON an engineer
//! can read and edit; detection reports what leaves it.
//!
//! The building blocks: [`ranges`] holds the address ranges a pair reads or writes, capped so
//! that a scattered master cannot grow a baseline without bound; [`envelope`] holds the range
//! and spread of a process value.

pub mod envelope;
pub mod ranges;

pub use envelope::Envelope;
pub use ranges::Ranges;
