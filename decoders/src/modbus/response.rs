//! Response layouts: what a server returns for each function code, and exceptions.

use super::function::{AccessType, ErrorFlags, FunctionCode, EXCEPTION_BIT};
use super::message::{Data, Message, Read, Reader, Write};
use super::request::{diagnostic, mei};

/// Exception code 8, memory parity error, only file record functions may return.
const MEM_PARITY_ERR: u8 = 0x08;

/// Decode the body of a response into `m`; the bytes left over, or `None` when it ends early.
pub(crate) fn decode<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let len = body.len();
    if m.function_raw & EXCEPTION_BIT != 0 {
        return exception(m, body);
    }
    match m.function {
        FunctionCode::Diagnostic => return diagnostic(m, body),
        FunctionCode::MEI => return mei(m, body),
        FunctionCode::RdExcStatus if len != 1 => m.flags |= ErrorFlags::DATA_LENGTH,
        FunctionCode::GetCommEventCtr if len != 4 => m.flags |= ErrorFlags::DATA_LENGTH,
        _ => {
            if m.access.intersects(AccessType::READ) {
                return read(m, body);
            }
            if m.access.intersects(AccessType::WRITE) {
                return write(m, body);
            }
        }
    }
    m.data = Data::Bytes(body);
    Some(&[])
}

fn exception<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    let code = r.u8()?;
    let known = matches!(code, 0x01..=0x08 | 0x0a | 0x0b);
    let file = matches!(
        m.function,
        FunctionCode::RdFileRec | FunctionCode::WrFileRec
    );
    if !known || (code == MEM_PARITY_ERR && !file) {
        m.flags |= ErrorFlags::EXC_CODE;
    }
    m.data = Data::Exception(code);
    Some(r.rest())
}

fn read<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    let Some(byte_count) = r.u8() else {
        m.flags |= ErrorFlags::DATA_LENGTH;
        return Some(body);
    };
    let data = r.rest();
    if !(1..=250).contains(&byte_count) || data.len() != usize::from(byte_count) {
        m.flags |= ErrorFlags::DATA_VALUE;
    }
    m.data = Data::Read(Read::Response { byte_count, data });
    Some(&[])
}

fn write<'a>(m: &mut Message<'a>, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut r = Reader(body);
    let address = r.u16()?;
    if m.access.contains(AccessType::SINGLE) {
        let value = r.u16()?;
        m.data = Data::Write(Write::Single { address, value });
    } else if m.access.contains(AccessType::MULTIPLE) {
        let quantity = r.u16()?;
        m.check_quantity(quantity);
        m.data = Data::Write(Write::Echo { address, quantity });
    } else {
        m.data = Data::Write(r.mask_write(address)?);
    }
    Some(r.rest())
}
