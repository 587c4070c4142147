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

/// The application protocols icsight decodes, in probing order: the one list a new protocol
/// joins. Each line names the protocol's [`AppProto`] variant, its module — the same name in
/// every crate (`decoders::modbus`, the sensor's `app::modbus`, `[app.modbus]` in
/// `sensor.toml`, `stats.app_layer.modbus`) and its EVE `app_proto` — and its [`StreamParser`].
///
/// `for_each_protocol!(m)` hands the list to the macro `m`, which is how [`AppProto`] here and
/// the sensor's per-protocol state, counters and configuration are declared: adding a line is
/// what makes them grow (see `docs/adding-a-protocol.md`).
#[macro_export]
macro_rules! for_each_protocol {
    ($m:ident) => {
        $m! {
            Modbus, modbus, $crate::modbus::ModbusParser;
            S7comm, s7comm, $crate::s7comm::S7commParser;
            Dnp3, dnp3, $crate::dnp3::Dnp3Parser;
            Enip, enip, $crate::enip::EnipParser;
            Iec104, iec104, $crate::iec104::Iec104Parser;
            Opcua, opcua, $crate::opcua::OpcuaParser;
            Mms, mms, $crate::mms::MmsParser;
            Http, http, $crate::http::HttpParser;
            Dns, dns, $crate::dns::DnsParser;
            Tls, tls, $crate::tls::TlsParser;
            Ssh, ssh, $crate::ssh::SshParser;
            Ftp, ftp, $crate::ftp::FtpParser;
            Smtp, smtp, $crate::smtp::SmtpParser;
            Smb, smb, $crate::smb::SmbParser;
            FtpData, ftp_data, $crate::ftp_data::FtpDataParser;
        }
    };
}

macro_rules! declare_app_proto {
    ($($variant:ident, $name:ident, $parser:ty;)*) => {
        /// An application protocol icsight decodes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum AppProto {
            $($variant,)*
        }

        impl AppProto {
            /// How many there are.
            pub const COUNT: usize = [$(stringify!($name)),*].len();

            /// Every protocol, in probing order.
            pub const ALL: [AppProto; AppProto::COUNT] = [$(AppProto::$variant),*];

            /// The name used in EVE's `app_proto` field (Suricata's spelling), and the name of
            /// the protocol's module everywhere.
            pub fn name(self) -> &'static str {
                match self {
                    $(AppProto::$variant => stringify!($name),)*
                }
            }

            /// The protocol's registered port.
            pub fn default_port(self) -> u16 {
                match self {
                    $(AppProto::$variant => crate::$name::PORT,)*
                }
            }

            /// Whether `bytes`, the first payload seen in `dir`, looks like this protocol.
            pub fn probe(self, dir: Direction, bytes: &[u8]) -> Probe {
                match self {
                    $(AppProto::$variant => crate::$name::probe(dir, bytes),)*
                }
            }
        }
    };
}

for_each_protocol!(declare_app_proto);

impl AppProto {
    /// Whether the protocol is looked for off its configured ports. DNS's message format is
    /// also NetBIOS name service's, mDNS's and LLMNR's, so off port 53 a DNS-shaped message is
    /// not taken for DNS, as Suricata does not take it; FTP data is only ever expected.
    pub fn probed_off_port(self) -> bool {
        !matches!(self, AppProto::Dns | AppProto::FtpData)
    }

    /// The name EVE's `app_proto` and a rule's header spell: the module's name, but for
    /// Suricata's `ftp-data`.
    pub fn label(self) -> &'static str {
        match self {
            AppProto::FtpData => "ftp-data",
            p => p.name(),
        }
    }
}

impl fmt::Display for AppProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
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
    /// One EtherNet/IP encapsulation message (a request to the server, a response to the
    /// client).
    Enip(&'p crate::enip::Pdu<'a>),
    /// One IEC 60870-5-104 APDU (I, S or U frame), either way.
    Iec104(&'p crate::iec104::Apdu<'a>),
    /// One OPC UA message chunk, either way, with the service it begins.
    Opcua(&'p crate::opcua::Transaction<'a>),
    /// One MMS TSDU (session, presentation, ACSE and the MMS PDU), either way.
    Mms(&'p crate::mms::Message<'a>),
    /// A TLS handshake, as far as it has come.
    Tls {
        tls: &'p crate::tls::Tls,
        progress: crate::tls::Progress,
    },
    /// A DNS query or response.
    Dns(&'p crate::dns::Message<'a>),
    /// An HTTP transaction, as far as it has come.
    Http {
        tx: &'p crate::http::Transaction,
        progress: crate::http::Progress,
    },
    /// An SSH handshake, as far as it has come.
    Ssh {
        ssh: &'p crate::ssh::Ssh,
        progress: crate::ssh::Progress,
    },
    /// An FTP command and its replies, as far as they have come.
    Ftp {
        tx: &'p crate::ftp::Transaction,
        progress: crate::ftp::Progress,
    },
    /// An SMTP mail transaction, as far as it has come; `helo` is the connection's.
    Smtp {
        helo: &'p [u8],
        tx: &'p crate::smtp::Transaction,
        progress: crate::smtp::Progress,
    },
    /// An FTP data connection: what it was opened for and what it carried one way.
    FtpData {
        command: Option<crate::ftp::DataCommand>,
        filename: &'p [u8],
        data: &'p [u8],
    },
    /// An SMB command, with its response once it has come.
    Smb(&'p crate::smb::Transaction),
}

impl Tx<'_, '_> {
    /// The protocol the transaction belongs to.
    pub fn proto(&self) -> AppProto {
        match self {
            Tx::Modbus { .. } => AppProto::Modbus,
            Tx::Dnp3(_) => AppProto::Dnp3,
            Tx::S7comm(_) | Tx::S7commPlus(_) => AppProto::S7comm,
            Tx::Enip(_) => AppProto::Enip,
            Tx::Iec104(_) => AppProto::Iec104,
            Tx::Opcua(_) => AppProto::Opcua,
            Tx::Mms(_) => AppProto::Mms,
            Tx::Http { .. } => AppProto::Http,
            Tx::Dns(_) => AppProto::Dns,
            Tx::Tls { .. } => AppProto::Tls,
            Tx::Ssh { .. } => AppProto::Ssh,
            Tx::Ftp { .. } => AppProto::Ftp,
            Tx::FtpData { .. } => AppProto::FtpData,
            Tx::Smtp { .. } => AppProto::Smtp,
            Tx::Smb(_) => AppProto::Smb,
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

    /// The bytes come in datagrams (UDP), each whole, rather than as a stream: called before
    /// every datagram is parsed. For a protocol framed differently on each (DNS's TCP length).
    fn datagrams(&mut self) {}

    /// Bytes that complete a PDU cut short by the end of the stream, enough for what has come
    /// of it to be read (an HTTP head without its blank line); empty when a partial PDU is
    /// worth nothing.
    fn end_of_stream(&self, _dir: Direction) -> &'static [u8] {
        &[]
    }

    /// `len` bytes of `dir` were lost (a gap in the capture): whether the parser steps over
    /// them and keeps its framing — as a parser inside a body of known length can — and if so
    /// how many of them were what it was reading (a body's bytes; the rest of a hole that runs
    /// past the body's end lay between messages). When it cannot (`None`, the default), the
    /// direction has lost its framing and [`StreamParser::resync`] decides where reading
    /// resumes.
    fn gap(&mut self, _dir: Direction, _len: u64) -> Option<u64> {
        None
    }

    /// After `dir` lost its framing (a gap, an invalid PDU): whether `buf`, the start of a
    /// later chunk, may begin a PDU. The caller then parses `buf` from the start. A parser
    /// whose framing carries state from one PDU to the next resets it here.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        !matches!(self.parse(dir, buf), Parsed::Invalid(_))
    }
}

/// A stable, machine-readable name for an anomaly, used as EVE's `anomaly.event`.
pub trait AnomalyName {
    fn anomaly_name(&self) -> &'static str;
}
