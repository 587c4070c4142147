//! Zero-copy decoders for the protocols icsight watches: industrial ones, and the IT protocols
//! beside them (HTTP, DNS, TLS, SSH, FTP, SMTP, SMB).
//!
//! # The no-panic contract
//!
//! Every function in this crate takes untrusted bytes straight off the wire. None of them panics,
//! whatever the input: lengths are checked once, up front, and every later read stays inside the
//! checked range. Views borrow from the packet; nothing here allocates.
//!
//! # Layout
//!
//! * [`app`]: the interface between a reassembled byte stream and a protocol parser, shared by
//!   every protocol.
//! * One module per protocol — [`modbus`], [`s7comm`], [`dnp3`], [`http`] — each with a `probe`
//!   used for protocol detection and a [`app::StreamParser`] that frames and parses PDUs. An
//!   HTTP transaction ([`http::Transaction`]) is the one view that holds copies: it outlives
//!   the segments it came in, and the caller fills and reuses it.
#![forbid(unsafe_code)]

pub mod app;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod ftp;
pub mod ftp_data;
pub mod goose;
pub mod http;
pub mod iec104;
pub mod line;
pub mod mms;
pub mod modbus;
pub mod opcua;
pub mod s7comm;
pub mod smb;
pub mod smtp;
pub mod ssh;
pub mod sv;
pub mod tls;

pub use app::{AppProto, Direction, Parsed, Probe, StreamParser, Tx};
