//! S7comm-plus (protocol id 0x72, S7-1200/1500): the frame header (version, data length), the
//! integrity part of version 3, and the fixed head of the data: opcode, function, sequence
//! number and, on requests, the session id. Objects and attributes are not decoded.

/// S7comm-plus protocol id.
pub const PROTOCOL_ID: u8 = 0x72;
/// Length of the digest a version-3 integrity part carries.
const DIGEST_LEN: u8 = 32;

/// Opcodes.
pub mod opcode {
    pub const REQUEST: u8 = 0x31;
    pub const RESPONSE: u8 = 0x32;
    pub const NOTIFICATION: u8 = 0x33;
    pub const RESPONSE2: u8 = 0x02;
}

/// Why bytes are not an S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlusError {
    /// Fewer than the 4 header bytes.
    Short(usize),
    /// The first byte is not 0x72.
    ProtocolId(u8),
}

/// One S7comm-plus frame, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plus<'a> {
    pub version: u8,
    pub data_length: u16,
    /// The 32-byte digest of a version-3 integrity part.
    pub digest: Option<&'a [u8]>,
    pub opcode: Option<u8>,
    /// Function code of requests and responses.
    pub function: Option<u16>,
    pub sequence_number: Option<u16>,
    /// Session id (requests only).
    pub session_id: Option<u32>,
    /// The data length runs past the frame.
    pub truncated: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

impl<'a> Plus<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<Self, PlusError> {
        let [id, version, l0, l1, rest @ ..] = buf else {
            return Err(PlusError::Short(buf.len()));
        };
        if *id != PROTOCOL_ID {
            return Err(PlusError::ProtocolId(*id));
        }
        let data_length = u16::from_be_bytes([*l0, *l1]);
        let mut data = rest;
        let mut digest = None;
        if *version == 3 {
            if let [DIGEST_LEN, d @ ..] = data {
                if let Some(dg) = d.get(..usize::from(DIGEST_LEN)) {
                    digest = Some(dg);
                    data = &d[dg.len()..];
                }
            }
        }
        let truncated = usize::from(data_length) > rest.len();
        let opcode = data.first().copied();
        let (function, sequence_number, session_id) = match opcode {
            Some(opcode::REQUEST | opcode::RESPONSE | opcode::RESPONSE2) => {
                let session = (opcode == Some(opcode::REQUEST))
                    .then(|| data.get(9..13))
                    .flatten()
                    .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
                (be16(data, 3), be16(data, 7), session)
            }
            _ => (None, None, None),
        };
        Ok(Plus {
            version: *version,
            data_length,
            digest,
            opcode,
            function,
            sequence_number,
            session_id,
            truncated,
        })
    }
}

/// Name of an opcode.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        opcode::REQUEST => "request",
        opcode::RESPONSE => "response",
        opcode::NOTIFICATION => "notification",
        opcode::RESPONSE2 => "response2",
        _ => "unknown",
    }
}

/// Name of a version byte.
pub fn version_name(v: u8) -> &'static str {
    match v {
        0x01 => "v1",
        0x02 => "v2",
        0x03 => "v3",
        0xfe => "system_event",
        _ => "unknown",
    }
}

/// Name of a function code, after the S7comm-plus Wireshark plugin.
pub fn function_name(f: u16) -> &'static str {
    match f {
        0x04b1 => "error",
        0x04bb => "explore",
        0x04ca => "create_object",
        0x04d4 => "delete_object",
        0x04f2 => "set_variable",
        0x04fc => "get_variable",
        0x0506 => "add_link",
        0x051a => "remove_link",
        0x0524 => "get_link",
        0x0542 => "set_multi_variables",
        0x054c => "get_multi_variables",
        0x0556 => "begin_sequence",
        0x0560 => "end_sequence",
        0x056b => "invoke",
        0x057c => "set_var_sub_streamed",
        0x0586 => "get_var_sub_streamed",
        0x0590 => "get_variables_address",
        0x059a => "abort",
        0x05a9 => "error2",
        0x05b3 => "init_ssl",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version-1 CreateObject request (nDPI s7comm-plus.pcap frame 9), first 20 bytes.
    static CREATE: [u8; 20] = [
        0x72, 0x01, 0x00, 0xca, 0x31, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x01, 0x20, 0x36, 0x00, 0x00,
    ];

    #[test]
    fn v1_request() {
        let p = Plus::parse(&CREATE).unwrap();
        assert_eq!(
            (p.version, p.opcode, p.function),
            (1, Some(0x31), Some(0x04ca))
        );
        assert_eq!(p.sequence_number, Some(1));
        assert_eq!(p.session_id, Some(0x120));
        assert!(p.truncated);
        assert_eq!(function_name(0x04ca), "create_object");
    }

    #[test]
    fn v3_integrity() {
        let mut b = vec![0x72, 0x03, 0x00, 0x2c, 0x20];
        b.extend([0xaa; 32]);
        b.extend([0x33, 0, 0, 0, 0, 0, 0]);
        let p = Plus::parse(&b).unwrap();
        assert_eq!(p.digest.map(<[u8]>::len), Some(32));
        assert_eq!((p.opcode, p.function), (Some(0x33), None));
        assert_eq!(Plus::parse(&b[..3]), Err(PlusError::Short(3)));
    }
}
