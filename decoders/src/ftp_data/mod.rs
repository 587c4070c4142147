//! FTP data connections: the bytes of a file or a listing, on a connection the control
//! connection announced (`decoders::ftp::port`). Nothing in the bytes says what they are, so
//! this protocol is never probed for: the sensor hands a connection to it when it was
//! expected, and the parser takes each chunk whole.

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// The active-mode data port servers connect from.
pub const PORT: u16 = 20;

pub use crate::ftp::Error;

/// Never by its bytes: only by the control connection's word.
pub fn probe(_dir: Direction, _bytes: &[u8]) -> Probe {
    Probe::NoMatch
}

/// Takes each chunk of a data connection as it comes.
#[derive(Clone, Debug, Default)]
pub struct FtpDataParser;

impl StreamParser for FtpDataParser {
    type Pdu<'a> = &'a [u8];
    type Error = Error;
    const PROTO: AppProto = AppProto::FtpData;
    const MAX_PDU: usize = 64 * 1024;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<&'a [u8], Error> {
        Parsed::Pdu {
            pdu: buf,
            len: buf.len(),
        }
    }
}
