//! icsight sensor: passive capture of industrial networks.
//!
//! Data flows one way: [`capture`] → [`decode`] → [`flow`] → [`reassembly`] → [`app`] →
//! [`detect`] → [`eve`], driven by the [`pipeline`]; [`uplink`] sends events on to the collector
//! and [`metrics`] writes the counters for Prometheus; [`bulletin`] pulls the collector's threat
//! bulletins, whose rules [`detect`] loads with the others.

pub mod app;
pub mod baseline;
pub mod bulletin;
pub mod capture;
pub mod config;
pub mod decode;
pub mod detect;
pub mod eve;
pub mod flow;
pub mod metrics;
pub mod pipeline;
pub mod reassembly;
pub mod run;
pub mod stats;
pub mod uplink;

pub use config::Config;
pub use pipeline::Pipeline;
pub use run::{Purpose, Sensor};
