//! The parameter part of jobs and ack_data: what each function code carries.

use super::header::{Rosctr, S7Pdu};
use super::item::{DataItems, ReqItems, ReturnCodes};

/// Function codes of jobs and ack_data.
pub mod code {
    pub const CPU_SERVICES: u8 = 0x00;
    pub const READ_VAR: u8 = 0x04;
    pub const WRITE_VAR: u8 = 0x05;
    pub const REQUEST_DOWNLOAD: u8 = 0x1a;
    pub const DOWNLOAD_BLOCK: u8 = 0x1b;
    pub const DOWNLOAD_ENDED: u8 = 0x1c;
    pub const START_UPLOAD: u8 = 0x1d;
    pub const UPLOAD: u8 = 0x1e;
    pub const END_UPLOAD: u8 = 0x1f;
    pub const PI_SERVICE: u8 = 0x28;
    pub const PLC_STOP: u8 = 0x29;
    pub const SETUP_COMMUNICATION: u8 = 0xf0;
}

/// Wireshark's name of a function code, in snake case; `None` for codes it does not know.
pub fn function_name(f: u8) -> Option<&'static str> {
    Some(match f {
        code::CPU_SERVICES => "cpu_services",
        code::READ_VAR => "read_var",
        code::WRITE_VAR => "write_var",
        code::REQUEST_DOWNLOAD => "request_download",
        code::DOWNLOAD_BLOCK => "download_block",
        code::DOWNLOAD_ENDED => "download_ended",
        code::START_UPLOAD => "start_upload",
        code::UPLOAD => "upload",
        code::END_UPLOAD => "end_upload",
        code::PI_SERVICE => "pi_service",
        code::PLC_STOP => "plc_stop",
        code::SETUP_COMMUNICATION => "setup_communication",
        _ => return None,
    })
}

/// Setup communication: the negotiated queue depths and PDU size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    pub max_amq_calling: u16,
    pub max_amq_called: u16,
    pub pdu_size: u16,
}

/// A block file name: `_0A00001P` is block type `0A` (DB), number 1, file system `P`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileName<'a> {
    pub raw: &'a [u8],
}

impl<'a> FileName<'a> {
    /// The block named in a PLC file name (`_` + type + 5 digits + file system), if it is one.
    pub fn block(&self) -> Option<Block> {
        match self.raw {
            [b'_', t0, t1, digits @ .., fs] if digits.len() == 5 => {
                Block::from_ascii([*t0, *t1], digits, *fs)
            }
            _ => None,
        }
    }
}

/// A PLC block: type, number and the file system it lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// The two ASCII characters of the type (`0A` for DB).
    pub kind: [u8; 2],
    pub number: u32,
    /// Destination file system: `P` passive, `A` active, `B` both.
    pub filesystem: u8,
}

impl Block {
    /// From the ASCII type, the decimal digits of the number and the file-system letter.
    pub fn from_ascii(kind: [u8; 2], digits: &[u8], filesystem: u8) -> Option<Self> {
        let mut number = 0u32;
        for d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            number = number.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
        }
        Some(Block {
            kind,
            number,
            filesystem,
        })
    }

    /// Wireshark's block type name, lower-cased (`ob`, `db`, `sdb`, `fc`, `sfc`, `fb`, `sfb`).
    pub fn kind_name(&self) -> &'static str {
        block_type_name(u16::from_be_bytes(self.kind))
    }
}

/// Name of a block type given as its two ASCII characters read big-endian (`0x3041` is DB).
pub fn block_type_name(kind: u16) -> &'static str {
    match kind {
        0x3038 => "ob",
        0x3039 => "cmod",
        0x3041 => "db",
        0x3042 => "sdb",
        0x3043 => "fc",
        0x3044 => "sfc",
        0x3045 => "fb",
        0x3046 => "sfb",
        _ => "unknown",
    }
}

/// Block control of up- and download: status, upload id, the file name or the block length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockControl<'a> {
    /// Function status: bit 0 more data following, bit 1 error.
    pub status: Option<u8>,
    /// Upload id (start upload, upload, end upload).
    pub upload_id: Option<u32>,
    /// Error code (download ended and end upload jobs).
    pub error_code: Option<u16>,
    /// The block's file name.
    pub filename: Option<FileName<'a>>,
    /// The block length as the CPU spells it in ASCII (start upload ack_data).
    pub block_length: Option<&'a [u8]>,
}

/// PI service: the service name and its parameter block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiService<'a> {
    pub service: &'a [u8],
    pub param_block: &'a [u8],
}

impl<'a> PiService<'a> {
    /// For `_INSE` and `_DELE`, the blocks their parameter block lists: a count, a reserved
    /// byte, then 8 bytes a block (type, five digits, file system).
    pub fn blocks(&self) -> impl Iterator<Item = Block> + 'a {
        let list: &'a [u8] = match (self.service, self.param_block) {
            (b"_INSE" | b"_DELE", [n, _, rest @ ..]) => {
                rest.get(..usize::from(*n) * 8).unwrap_or_default()
            }
            _ => &[],
        };
        list.chunks_exact(8)
            .filter_map(|c| Block::from_ascii([c[0], c[1]], &c[2..7], c[7]))
    }

    /// Whether the parameter block is a list of blocks rather than free text.
    pub fn has_block_list(&self) -> bool {
        matches!(self.service, b"_INSE" | b"_DELE")
    }
}

/// What a job or ack_data carries, decoded by function.
#[derive(Clone, Debug)]
pub enum Function<'a> {
    Setup(Setup),
    /// Read var or write var job: the item addresses (and for write var, the data).
    VarRequest {
        count: u8,
        items: ReqItems<'a>,
        data: DataItems<'a>,
    },
    /// Read var ack_data: one data item per requested item.
    ReadResponse {
        count: u8,
        data: DataItems<'a>,
    },
    /// Write var ack_data: one return code per item.
    WriteResponse {
        count: u8,
        codes: ReturnCodes<'a>,
    },
    Block(BlockControl<'a>),
    PiService(PiService<'a>),
    /// PLC stop: the PI service name it carries (`P_PROGRAM`).
    PlcStop {
        service: &'a [u8],
    },
    /// A function whose parameters are not decoded, or too short to be.
    Other,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let v = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}

/// A length-prefixed string at `at`: the bytes, cut to what is there.
fn lstring(b: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(*b.get(at)?);
    let s = b.get(at + 1..)?;
    Some(&s[..len.min(s.len())])
}

impl<'a> Function<'a> {
    /// Decode the parameter (and data) of a job or ack_data.
    pub fn parse(pdu: &S7Pdu<'a>) -> Self {
        let (p, job) = (pdu.param, pdu.rosctr == Rosctr::Job);
        let Some(&f) = p.first() else {
            return Function::Other;
        };
        match f {
            code::SETUP_COMMUNICATION => match (be16(p, 2), be16(p, 4), be16(p, 6)) {
                (Some(a), Some(b), Some(c)) => Function::Setup(Setup {
                    max_amq_calling: a,
                    max_amq_called: b,
                    pdu_size: c,
                }),
                _ => Function::Other,
            },
            code::READ_VAR | code::WRITE_VAR => {
                let count = p.get(1).copied().unwrap_or(0);
                let rest = p.get(2..).unwrap_or_default();
                match (job, f) {
                    (true, _) => Function::VarRequest {
                        count,
                        items: ReqItems::new(rest, count),
                        data: DataItems::new(
                            if f == code::WRITE_VAR { pdu.data } else { &[] },
                            if f == code::WRITE_VAR { count } else { 0 },
                        ),
                    },
                    (false, code::READ_VAR) => Function::ReadResponse {
                        count,
                        data: DataItems::new(pdu.data, count),
                    },
                    (false, _) => Function::WriteResponse {
                        count,
                        codes: ReturnCodes::new(pdu.data, count),
                    },
                }
            }
            code::REQUEST_DOWNLOAD..=code::END_UPLOAD => Function::Block(block_control(f, p, job)),
            code::PI_SERVICE if job => {
                // func, 7 unknown bytes, parameter block length, parameter block, service name.
                let Some(plen) = be16(p, 8) else {
                    return Function::Other;
                };
                let block = p.get(10..).unwrap_or_default();
                let (param_block, rest) = block.split_at(usize::from(plen).min(block.len()));
                Function::PiService(PiService {
                    service: lstring(rest, 0).unwrap_or_default(),
                    param_block,
                })
            }
            code::PLC_STOP if job => Function::PlcStop {
                // func, 5 unknown bytes, then the PI service name.
                service: lstring(p, 6).unwrap_or_default(),
            },
            _ => Function::Other,
        }
    }
}

/// Up- and download parameters, laid out as Wireshark's `packet-s7comm.c` reads them.
fn block_control(f: u8, p: &[u8], job: bool) -> BlockControl<'_> {
    let mut b = BlockControl {
        status: p.get(1).copied(),
        upload_id: None,
        error_code: None,
        filename: None,
        block_length: None,
    };
    let filename = |at| lstring(p, at).map(|raw| FileName { raw });
    match (f, job) {
        (code::REQUEST_DOWNLOAD | code::DOWNLOAD_BLOCK, true) => b.filename = filename(8),
        (code::START_UPLOAD, true) => {
            b.upload_id = be32(p, 4);
            b.filename = filename(8);
        }
        (code::START_UPLOAD, false) => {
            b.upload_id = be32(p, 4);
            b.block_length = lstring(p, 8);
        }
        (code::UPLOAD, true) => b.upload_id = be32(p, 4),
        (code::END_UPLOAD, true) => {
            b.error_code = be16(p, 2);
            b.upload_id = be32(p, 4);
        }
        (code::DOWNLOAD_ENDED, true) => {
            b.error_code = be16(p, 2);
            b.filename = filename(8);
        }
        _ => {}
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdu(b: &[u8]) -> S7Pdu<'_> {
        S7Pdu::parse(b).unwrap()
    }

    /// Start upload job for `_0B00000A` (SDB 0), from icsnpp-s7comm's snap7.pcap.
    static START_UPLOAD: [u8; 28] = [
        0x32, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x12, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x09, b'_', b'0', b'B', b'0', b'0', b'0', b'0', b'0', b'A',
    ];
    /// PI service `_MODU` with argument "EP" (copy RAM to ROM), same capture.
    static PI_MODU: [u8; 28] = [
        0x32, 0x01, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x12, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xfd, 0x00, 0x02, b'E', b'P', 0x05, b'_', b'M', b'O', b'D', b'U',
    ];

    #[test]
    fn start_upload() {
        let Function::Block(b) = Function::parse(&pdu(&START_UPLOAD)) else {
            panic!()
        };
        assert_eq!(b.upload_id, Some(0));
        let block = b.filename.unwrap().block().unwrap();
        assert_eq!(
            (block.kind_name(), block.number, block.filesystem),
            ("sdb", 0, b'A')
        );
    }

    #[test]
    fn pi_service() {
        let Function::PiService(pi) = Function::parse(&pdu(&PI_MODU)) else {
            panic!()
        };
        assert_eq!(pi.service, b"_MODU");
        assert_eq!(pi.param_block, b"EP");
        assert_eq!(pi.blocks().count(), 0);
    }

    #[test]
    fn inse_block_list() {
        let pi = PiService {
            service: b"_INSE",
            param_block: b"\x01\x000A00002P",
        };
        let blocks: Vec<_> = pi.blocks().collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].kind_name(), blocks[0].number), ("db", 2));
    }

    #[test]
    fn truncated_parameters_do_not_panic() {
        for n in 10..START_UPLOAD.len() {
            let mut b = START_UPLOAD[..n].to_vec();
            b[7] = (n - 10) as u8;
            let _ = Function::parse(&pdu(&b));
        }
    }
}
