//! The application-layer interface.
//!
//! The sensor reassembles each TCP direction into an in-order byte stream (or hands over a UDP
//! datagram whole) and asks a [`StreamParser`] what sits at the front of it. The parser answers
//! with one [`Parsed`] value: a whole PDU and its length, a request for more bytes, or a verdict
//! that the bytes are not this protocol. The parser never buffers: the sensor keeps partial PDUs
//! and calls again, so one PDU may be spread over many segments and one segment may carry many
//! PDUs.

use core::fmt;

use crate::dnp3::Fragment;
use crate::modbus::Message;
use crate::s7comm::{Plus, S7Tx};

/// Which way bytes travel within a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the side that opened the flow (the client, the master).
    ToServer,
    /// From the side that accepted it (the server, the outstation).
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }

    /// Index for per-direction arrays: 0 to server, 1 to client.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The application protocols icsight decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppProto {
    Modbus,
    S7comm,
    Dnp3,
}

impl AppProto {
    /// Every protocol, in probing order.
    pub const ALL: [AppProto; 3] = [AppProto::Modbus, AppProto::S7comm, AppProto::Dnp3];

    /// The name used in EVE's `app_proto` field (Suricata's spelling).
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Modbus => "modbus",
            AppProto::S7comm => "s7comm",
            AppProto::Dnp3 => "dnp3",
        }
    }

    /// Whether `bytes`, the first payload seen in `dir`, looks like this protocol.
    pub fn probe(self, dir: Direction, bytes: &[u8]) -> Probe {
        match self {
            AppProto::Modbus => crate::modbus::probe(dir, bytes),
            AppProto::S7comm => crate::s7comm::probe(dir, bytes),
            AppProto::Dnp3 => crate::dnp3::probe(dir, bytes),
        }
    }
}

impl fmt::Display for AppProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An application transaction, borrowed from the decoded PDUs: what signatures and baselines
/// inspect. It lives with the decoders so that every consumer takes it from the layer that
/// produces it, not from one another.
#[derive(Debug, Clone, Copy)]
pub enum Tx<'p, 'a> {
    /// A request and its response; either may be missing.
    Modbus {
        request: Option<&'p Message<'a>>,
        response: Option<&'p Message<'a>>,
    },
    /// One application fragment.
    Dnp3(&'p Fragment<'a>),
    S7comm(S7Tx<'p, 'a>),
    S7commPlus(&'p Plus<'a>),
}

impl Tx<'_, '_> {
    /// The protocol the transaction belongs to.
    pub fn proto(&self) -> AppProto {
        match self {
            Tx::Modbus { .. } => AppProto::Modbus,
            Tx::Dnp3(_) => AppProto::Dnp3,
            Tx::S7comm(_) | Tx::S7commPlus(_) => AppProto::S7comm,
        }
    }
}

/// The verdict of a protocol probe on the first bytes of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// Too few bytes to decide; probe again with more.
    NeedMore,
    /// The bytes are not this protocol.
    NoMatch,
}

/// What a [`StreamParser`] found at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<P, E> {
    /// A whole PDU occupying the first `len` bytes.
    Pdu { pdu: P, len: usize },
    /// A PDU has begun but at least `needed` more bytes are required before it can be framed.
    Incomplete { needed: usize },
    /// The front of the buffer is not a valid PDU of this protocol. The stream has lost its
    /// framing; the caller discards what it holds and probes again at the next chunk.
    Invalid(E),
}

impl<P, E> Parsed<P, E> {
    /// The PDU of `len` bytes at the front of `buf`, viewed by `view`, once all of it is there.
    pub fn take<'a>(buf: &'a [u8], len: usize, view: impl FnOnce(&'a [u8]) -> P) -> Self {
        match buf.get(..len) {
            Some(pdu) => Parsed::Pdu {
                pdu: view(pdu),
                len,
            },
            None => Parsed::Incomplete {
                needed: len - buf.len(),
            },
        }
    }
}

/// A framing parser for one application protocol.
///
/// `parse` must frame before it decodes: if the header announces a length, a PDU whose body is
/// malformed is still returned as a PDU (with its oddities inside), so one bad body never costs
/// the stream its framing. `Invalid` is reserved for a header that cannot be trusted.
pub trait StreamParser: Default {
    /// A borrowed view of one PDU.
    type Pdu<'a>;
    /// Why the front of a buffer is not a PDU. Small, `Copy` data.
    type Error: Copy + fmt::Debug + fmt::Display + AnomalyName;
    /// The protocol this parser decodes.
    const PROTO: AppProto;
    /// The largest PDU this protocol allows: the cap on what the caller buffers.
    const MAX_PDU: usize;

    /// Frame and decode the PDU at the front of `buf`.
    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Self::Pdu<'a>, Self::Error>;
}

/// A stable, machine-readable name for an anomaly, used as EVE's `anomaly.event`.
pub trait AnomalyName {
    fn anomaly_name(&self) -> &'static str;
}
