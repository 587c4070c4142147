//! Request layouts: what a client asks of each function code.

use super::function::{AccessType, ErrorFlags, FunctionCode, EXCEPTION_BIT, MAX_BITS, MAX_WORDS};
use super::message::{Data, Message, Read, Reader, Write};

/// Decode the body of a request into `m`; the bytes left over, or `None` when it ends early.
pub(crate) fn decode<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let len = body.len();
    match m.function {
        FunctionCode::Diagnostic => {
            if len != 4 {
                m.flags |= ErrorFlags::DATA_LENGTH;
            }
            let rest = diagnostic(m, body)?;
            if let Data::Diagnostic {
                sub,
                data: &[hi, lo],
            } = m.data
            {
                let ok = match sub {
                    // Return query data echoes anything; listen-only and reserved take anything.
                    0x00 | 0x04 | 0x05..=0x09 | 0x16.. => true,
                    // Restart communications: 0x0000 or 0xff00 (clear the event log).
                    0x01 => lo == 0 && (hi == 0 || hi == 0xff),
                    // Change ASCII input delimiter: the character, then 0.
                    0x03 => lo == 0,
                    _ => hi == 0 && lo == 0,
                };
                if !ok {
                    m.flags |= ErrorFlags::DATA_VALUE;
                }
            }
            return Some(rest);
        }
        FunctionCode::MEI => return mei(m, body),
        FunctionCode::RdFileRec | FunctionCode::WrFileRec if len == 0 => {
            m.flags |= ErrorFlags::DATA_LENGTH
        }
        FunctionCode::RdExcStatus
        | FunctionCode::GetCommEventCtr
        | FunctionCode::GetCommEventLog
        | FunctionCode::ReportServerID
            if len > 0 =>
        {
            m.flags |= ErrorFlags::DATA_LENGTH
        }
        FunctionCode::RdFIFOQueue if len != 2 => m.flags |= ErrorFlags::DATA_LENGTH,
        _ => {
            if m.function_raw == 0 || m.function_raw & EXCEPTION_BIT != 0 {
                m.flags |= ErrorFlags::FUNC_CODE;
            }
            if m.access.intersects(AccessType::READ) {
                let rest = read(m, body)?;
                if m.access.intersects(AccessType::WRITE) {
                    return write(m, rest);
                }
                return Some(rest);
            }
            if m.access.intersects(AccessType::WRITE) {
                return write(m, body);
            }
        }
    }
    m.data = Data::Bytes(body);
    Some(&[])
}

/// The sub-function and its data (shared with responses).
pub(crate) fn diagnostic<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    if body.len() < 2 {
        m.flags |= ErrorFlags::DATA_LENGTH;
        return Some(body);
    }
    let sub = r.u16()?;
    m.data = Data::Diagnostic {
        sub,
        data: r.rest(),
    };
    Some(&[])
}

/// The MEI type and its data (shared with responses).
pub(crate) fn mei<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    let Some(mei_type) = r.u8() else {
        m.flags |= ErrorFlags::DATA_LENGTH;
        return Some(body);
    };
    m.data = Data::Mei {
        mei_type,
        data: r.rest(),
    };
    Some(&[])
}

fn read<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    let address = r.u16()?;
    let quantity = r.u16()?;
    m.check_quantity(quantity);
    if m.function != FunctionCode::RdWrMultRegs && body.len() > 4 {
        m.flags |= ErrorFlags::DATA_LENGTH;
    }
    m.data = Data::Read(Read::Request { address, quantity });
    Some(r.rest())
}

fn write<'a>(m: &mut Message<'a>, input: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(input);
    let address = r.u16()?;
    if m.access.contains(AccessType::SINGLE) {
        let value = r.u16()?;
        if m.access.contains(AccessType::COILS) && value != 0x0000 && value != 0xff00 {
            m.flags |= ErrorFlags::DATA_VALUE;
        }
        m.data = Data::Write(Write::Single { address, value });
    } else if m.access.contains(AccessType::MULTIPLE) {
        let quantity = r.u16()?;
        let byte_count = r.u8()?;
        let data = r.rest();
        r = Reader(&[]);
        if quantity == 0 || data.len() != usize::from(byte_count) {
            m.flags |= ErrorFlags::DATA_LENGTH;
        }
        let (max, needed) = if m.is_bit_access() {
            (MAX_BITS, usize::from(quantity).div_ceil(8))
        } else {
            (MAX_WORDS, 2 * usize::from(quantity))
        };
        if quantity > max || usize::from(byte_count) != needed {
            m.flags |= ErrorFlags::DATA_VALUE;
        }
        let write = Write::Multiple {
            address,
            quantity,
            byte_count,
            data,
        };
        m.data = match m.data {
            Data::Read(read) => Data::ReadWrite { read, write },
            _ => Data::Write(write),
        };
    } else {
        m.data = Data::Write(r.mask_write(address)?);
    }
    Some(r.rest())
}
