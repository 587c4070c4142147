//! A decoded Modbus PDU: what its function means and what it carries, as `sawp-modbus` (and so
//! Suricata) sees it.
//!
//! Requests and responses of one function code lay their data out differently, so a PDU is
//! decoded by direction ([`request`](super::request), [`response`](super::response)). Nothing
//! here rejects a PDU: a body that is short, too long or inconsistent decodes as far as it goes
//! and says what is wrong in [`Message::flags`], so one bad PDU never costs the stream.

use super::function::{
    AccessType, Category, ErrorFlags, FunctionCode, DIAGNOSTIC_RESERVED, EXCEPTION_BIT, MAX_BITS,
    MAX_WORDS, MEI_CANOPEN, MEI_READ_DEVICE_ID,
};
use super::mbap::{Adu, Mbap};
use crate::app::Direction;

/// Big-endian reads that stop at the end of the input instead of panicking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub fn rest(self) -> &'a [u8] {
        self.0
    }

    /// The AND and OR masks of a mask write (FC 22) to `address`, alike in request and response.
    pub fn mask_write(&mut self, address: u16) -> Option<Write<'a>> {
        let and_mask = self.u16()?;
        let or_mask = self.u16()?;
        Some(Write::Mask {
            address,
            and_mask,
            or_mask,
        })
    }
}

/// Read quantities and starting addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// FC 1–4 and the read half of FC 23.
    Request { address: u16, quantity: u16 },
    /// The values read, after the byte count.
    Response { byte_count: u8, data: &'a [u8] },
}

/// What a write request asks, or its response echoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write<'a> {
    /// FC 15, 16 and the write half of FC 23: the values after the byte count.
    Multiple {
        address: u16,
        quantity: u16,
        byte_count: u8,
        data: &'a [u8],
    },
    /// FC 22 request and response.
    Mask {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// FC 5 and 6, request and response: one value.
    Single { address: u16, value: u16 },
    /// FC 15 and 16 responses: the address and quantity written.
    Echo { address: u16, quantity: u16 },
}

/// The function-specific part of a PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data<'a> {
    /// An exception response's code.
    Exception(u8),
    /// FC 8: the sub-function and its data.
    Diagnostic {
        sub: u16,
        data: &'a [u8],
    },
    /// FC 43: the MEI type and its data.
    Mei {
        mei_type: u8,
        data: &'a [u8],
    },
    Read(Read<'a>),
    Write(Write<'a>),
    /// FC 23 requests.
    ReadWrite {
        read: Read<'a>,
        write: Write<'a>,
    },
    /// Everything after the function code, for functions decoded no further here (user-defined
    /// and vendor codes among them) and for bodies too short to decode.
    Bytes(&'a [u8]),
    /// A body too short to hold even its first field.
    Empty,
}

/// One decoded PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Mbap,
    pub direction: Direction,
    /// The function code byte as sent, exception bit included.
    pub function_raw: u8,
    pub function: FunctionCode,
    pub access: AccessType,
    pub category: Category,
    pub data: Data<'a>,
    pub flags: ErrorFlags,
    /// The PDU after the function code.
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// Decode an ADU sent in `dir`.
    pub fn decode(adu: &Adu<'a>, dir: Direction) -> Self {
        let function_raw = adu.function_code().unwrap_or(0);
        let function = FunctionCode::from_raw(function_raw);
        let body = adu.data();
        let mut m = Message {
            header: adu.header,
            direction: dir,
            function_raw,
            function,
            access: function.access(),
            category: Category::NONE,
            data: Data::Empty,
            flags: ErrorFlags::NONE,
            body,
        };
        if m.header.protocol_id != 0 {
            m.flags |= ErrorFlags::PROTO_ID;
        }
        if !m.header.length_within_spec() {
            m.flags |= ErrorFlags::DATA_LENGTH;
        }
        let rest = match dir {
            Direction::ToServer => super::request::decode(&mut m, body),
            Direction::ToClient => super::response::decode(&mut m, body),
        };
        match rest {
            Some([]) => {}
            Some(_) => m.flags |= ErrorFlags::DATA_LENGTH,
            None => {
                m.flags |= ErrorFlags::DATA_LENGTH;
                if m.data == Data::Empty {
                    m.data = Data::Bytes(body);
                }
            }
        }
        m.category = m.category_of();
        m
    }

    /// Whether this is an exception response.
    pub fn is_exception(&self) -> bool {
        self.function_raw & EXCEPTION_BIT != 0
    }

    /// The exception code of an exception response.
    pub fn exception_code(&self) -> Option<u8> {
        match self.data {
            Data::Exception(code) => Some(code),
            _ => None,
        }
    }

    fn category_of(&self) -> Category {
        match (self.function, self.data) {
            (FunctionCode::Diagnostic, Data::Diagnostic { sub, .. }) => {
                if super::function::diagnostic_name(sub) == DIAGNOSTIC_RESERVED {
                    Category::RESERVED
                } else {
                    Category::PUBLIC_ASSIGNED
                }
            }
            (FunctionCode::MEI, Data::Mei { mei_type, .. }) => {
                if mei_type == MEI_CANOPEN || mei_type == MEI_READ_DEVICE_ID {
                    Category::PUBLIC_ASSIGNED
                } else {
                    Category::RESERVED
                }
            }
            (FunctionCode::Diagnostic | FunctionCode::MEI, _) => Category::NONE,
            (FunctionCode::Unknown, _) => Category::of_unassigned(self.function_raw),
            _ => Category::PUBLIC_ASSIGNED,
        }
    }

    /// Whether the bits read or written are coils or discrete inputs (else registers).
    pub fn is_bit_access(&self) -> bool {
        self.access.intersects(AccessType::BIT_ACCESS_MASK)
    }

    /// Flag a quantity of coils or registers the standard does not allow in one PDU (none, or
    /// more than 2,000 coils or 125 registers).
    pub(crate) fn check_quantity(&mut self, quantity: u16) {
        let max = if self.is_bit_access() {
            MAX_BITS
        } else {
            MAX_WORDS
        };
        if quantity == 0 || quantity > max {
            self.flags |= ErrorFlags::DATA_VALUE;
        }
    }
}

/// How a response relates to a pending request of the same transaction id and unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// Not this request's response (another function, or another kind of data).
    NoMatch,
    /// Its response, consistent with it.
    Match,
    /// Its response, but what it echoes or how much it returns disagrees with the request.
    Mismatch,
}

/// Whether `resp` answers `req`, and whether it agrees with it, by `sawp-modbus`'s rules:
/// same transaction id, unit and function; a read returns as many bytes as the quantity asks
/// (one bit or two bytes an item); a write echoes the address and the value or quantity.
pub fn pair(req: &Message<'_>, resp: &Message<'_>) -> Pairing {
    if req.header.transaction_id != resp.header.transaction_id
        || req.header.unit_id != resp.header.unit_id
    {
        return Pairing::NoMatch;
    }
    // Some servers (pymodbus among them) answer a function they do not know with exception
    // function 0x80, not echoing the code: still the answer to that request.
    if resp.function_raw == EXCEPTION_BIT && matches!(resp.data, Data::Exception(_)) {
        return Pairing::Match;
    }
    if req.function_raw & !EXCEPTION_BIT != resp.function_raw & !EXCEPTION_BIT {
        return Pairing::NoMatch;
    }
    if resp.category != Category::PUBLIC_ASSIGNED {
        return Pairing::Match;
    }
    let agree = |ok: bool| {
        if ok {
            Pairing::Match
        } else {
            Pairing::Mismatch
        }
    };
    let matched = |ok: bool| if ok { Pairing::Match } else { Pairing::NoMatch };
    let expected_bytes = |quantity: u16| {
        if resp.is_bit_access() {
            usize::from(quantity).div_ceil(8)
        } else {
            2 * usize::from(quantity)
        }
    };
    match (resp.data, req.data) {
        (Data::Exception(_), _) | (_, Data::Exception(_)) | (Data::Bytes(_), Data::Bytes(_)) => {
            Pairing::Match
        }
        (Data::Bytes(_), _) => matched(resp.flags.intersects(ErrorFlags::DATA_LENGTH)),
        (_, Data::Bytes(_)) => matched(req.flags.intersects(ErrorFlags::DATA_LENGTH)),
        (
            Data::Read(Read::Response { data, .. }),
            Data::Read(Read::Request { quantity, .. })
            | Data::ReadWrite {
                read: Read::Request { quantity, .. },
                ..
            },
        ) => agree(data.len() == expected_bytes(quantity)),
        (
            Data::Write(Write::Single { address, value }),
            Data::Write(Write::Single {
                address: a,
                value: v,
            }),
        ) => agree(address == a && value == v),
        (
            Data::Write(Write::Echo { address, quantity }),
            Data::Write(Write::Multiple {
                address: a,
                quantity: q,
                ..
            }),
        ) => agree(address == a && quantity == q),
        (
            Data::Write(Write::Mask {
                address,
                and_mask,
                or_mask,
            }),
            Data::Write(Write::Mask {
                address: a,
                and_mask: and,
                or_mask: or,
            }),
        ) => agree(address == a && and_mask == and && or_mask == or),
        (Data::Diagnostic { sub, .. }, Data::Diagnostic { sub: s, .. }) => matched(sub == s),
        (Data::Mei { mei_type, .. }, Data::Mei { mei_type: t, .. }) => matched(mei_type == t),
        _ => Pairing::NoMatch,
    }
}

/// Register values: big-endian words, a trailing odd byte ignored.
pub fn words(data: &[u8]) -> impl Iterator<Item = u16> + Clone + '_ {
    data.chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
}

/// Coil or input states, least significant bit of the first byte first, at most `count`.
pub fn bits(data: &[u8], count: usize) -> impl Iterator<Item = bool> + Clone + '_ {
    data.iter()
        .flat_map(|b| (0..8).map(move |i| b >> i & 1 == 1))
        .take(count)
}
