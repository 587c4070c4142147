//! The `modbus` event body, as Suricata 7 writes it (`rust/src/modbus/log.rs`): field names and
//! value spellings are Suricata's, and what Suricata does not log (register and coil values,
//! MEI device identification objects, file records, FIFO contents) is added beside, in the same
//! style. Everything is serialized straight from the borrowed PDU.

use std::fmt;

use decoders::modbus::function::{diagnostic_name, exception_name, mei_name, MEI_READ_DEVICE_ID};
use decoders::modbus::mei::{DeviceIdRequest, DeviceIdResponse};
use decoders::modbus::message::{bits, words};
use decoders::modbus::records::{Fifo, FileRecordResponses, FileRecords};
use decoders::modbus::{Data, FunctionCode, Message, Read, Write};
use decoders::Direction;
use serde::ser::{Serialize, SerializeMap, Serializer};

#[derive(serde::Serialize)]
pub struct Body<'a> {
    pub modbus: Tx<'a>,
}

/// One transaction: its request, its response, or both.
#[derive(serde::Serialize)]
pub struct Tx<'a> {
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Side<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Side<'a>>,
}

/// One PDU of a transaction.
pub struct Side<'a> {
    m: &'a Message<'a>,
    /// How many coils or inputs the request read, to cut the response's padding bits.
    bit_quantity: Option<u16>,
}

impl<'a> Side<'a> {
    pub fn new(m: &'a Message<'a>, bit_quantity: Option<u16>) -> Self {
        Side { m, bit_quantity }
    }
}

/// The coils or inputs a read request asks for.
pub fn bit_quantity(req: &Message<'_>) -> Option<u16> {
    match req.data {
        Data::Read(Read::Request { quantity, .. }) if req.is_bit_access() => Some(quantity),
        _ => None,
    }
}

/// Bytes as Suricata's `set_string_from_bytes` writes them: the text if it is UTF-8, else each
/// byte below 0x80 as a character and the others as `\xhh`.
struct Text<'a>(&'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(s) = std::str::from_utf8(self.0) {
            return f.write_str(s);
        }
        for &b in self.0 {
            if b < 0x80 {
                fmt::Write::write_char(f, char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Values serialized as `collect_str` of a `Display`.
struct Shown<T: fmt::Display>(T);

impl<T: fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Register values.
struct Words<'a>(&'a [u8]);

impl Serialize for Words<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(words(self.0))
    }
}

/// Coil or input states.
struct Bits<'a>(&'a [u8], usize);

impl Serialize for Bits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(bits(self.0, self.1))
    }
}

/// The values of a read response or a write request: registers, or coil states.
fn values<M: SerializeMap>(
    map: &mut M,
    bit_access: bool,
    data: &[u8],
    bits: usize,
) -> Result<(), M::Error> {
    if bit_access {
        map.serialize_entry("values", &Bits(data, bits))
    } else {
        map.serialize_entry("values", &Words(data))
    }
}

/// `read` of a request or response.
struct ReadObj<'a> {
    read: Read<'a>,
    bit_access: bool,
    bit_quantity: Option<u16>,
}

impl Serialize for ReadObj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.read {
            Read::Request { address, quantity } => {
                map.serialize_entry("address", &address)?;
                map.serialize_entry("quantity", &quantity)?;
            }
            Read::Response { byte_count, data } => {
                map.serialize_entry("data", &Text(data))?;
                map.serialize_entry("byte_count", &byte_count)?;
                let bits = self.bit_quantity.map_or(8 * data.len(), usize::from);
                values(&mut map, self.bit_access, data, bits)?;
            }
        }
        map.end()
    }
}

/// `write` of a request or response.
struct WriteObj<'a> {
    write: Write<'a>,
    bit_access: bool,
}

impl Serialize for WriteObj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.write {
            Write::Multiple {
                address,
                quantity,
                byte_count,
                data,
            } => {
                map.serialize_entry("address", &address)?;
                map.serialize_entry("quantity", &quantity)?;
                // Not `data`: in Suricata's schema `write.data` is the integer of a single
                // write, and one field with two types breaks a SIEM indexing both.
                map.serialize_entry("bytes", &Text(data))?;
                map.serialize_entry("byte_count", &byte_count)?;
                values(&mut map, self.bit_access, data, usize::from(quantity))?;
            }
            Write::Mask {
                address,
                and_mask,
                or_mask,
            } => {
                map.serialize_entry("address", &address)?;
                map.serialize_entry("and_mask", &and_mask)?;
                map.serialize_entry("or_mask", &or_mask)?;
            }
            Write::Single {
                address,
                value: data,
            }
            | Write::Echo {
                address,
                quantity: data,
            } => {
                map.serialize_entry("address", &address)?;
                map.serialize_entry("data", &data)?;
            }
        }
        map.end()
    }
}

/// `mei`: Suricata's raw type, name and data, and for read device identification its fields.
struct MeiObj<'a> {
    mei_type: u8,
    data: &'a [u8],
    dir: Direction,
}

struct Objects<'a>(DeviceIdResponse<'a>);

impl Serialize for Objects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.objects().map(|o| Object {
            id: o.id,
            length: o.value.len(),
            value: Text(o.value),
        }))
    }
}

#[derive(serde::Serialize)]
struct Object<'a> {
    id: u8,
    length: usize,
    value: Text<'a>,
}

impl Serialize for MeiObj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("raw", &self.mei_type)?;
        map.serialize_entry("code", mei_name(self.mei_type))?;
        map.serialize_entry("data", &Text(self.data))?;
        if self.mei_type == MEI_READ_DEVICE_ID {
            match self.dir {
                Direction::ToServer => {
                    if let Some(r) = DeviceIdRequest::parse(self.data) {
                        map.serialize_entry("read_device_id_code", &r.read_device_id_code)?;
                        map.serialize_entry("object_id", &r.object_id)?;
                    }
                }
                Direction::ToClient => {
                    if let Some(r) = DeviceIdResponse::parse(self.data) {
                        map.serialize_entry("read_device_id_code", &r.read_device_id_code)?;
                        map.serialize_entry("conformity_level", &r.conformity_level)?;
                        map.serialize_entry("more_follows", &r.more_follows)?;
                        map.serialize_entry("next_object_id", &r.next_object_id)?;
                        map.serialize_entry("number_of_objects", &r.number_of_objects)?;
                        map.serialize_entry("objects", &Objects(r))?;
                    }
                }
            }
        }
        map.end()
    }
}

/// FC 20 / 21 sub-requests.
struct Records<'a> {
    body: &'a [u8],
    with_data: bool,
}

#[derive(serde::Serialize)]
struct Record<'a> {
    reference_type: u8,
    file_number: u16,
    record_number: u16,
    record_length: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Words<'a>>,
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let with_data = self.with_data;
        s.collect_seq(FileRecords::new(self.body, with_data).map(|r| Record {
            reference_type: r.reference_type,
            file_number: r.file_number,
            record_number: r.record_number,
            record_length: r.record_length,
            values: with_data.then_some(Words(r.data)),
        }))
    }
}

/// FC 20 sub-responses.
struct RecordResponses<'a>(&'a [u8]);

#[derive(serde::Serialize)]
struct RecordData<'a> {
    reference_type: u8,
    values: Words<'a>,
}

impl Serialize for RecordResponses<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(FileRecordResponses::new(self.0).map(|r| RecordData {
            reference_type: r.reference_type,
            values: Words(r.data),
        }))
    }
}

/// FC 24 request (`address`) or response (`fifo_count`, `values`).
struct FifoObj<'a> {
    body: &'a [u8],
    dir: Direction,
}

impl Serialize for FifoObj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.dir {
            Direction::ToServer => {
                if let Some(&[hi, lo]) = self.body.get(..2) {
                    map.serialize_entry("address", &u16::from_be_bytes([hi, lo]))?;
                }
            }
            Direction::ToClient => {
                if let Some(f) = Fifo::parse(self.body) {
                    map.serialize_entry("byte_count", &f.byte_count)?;
                    map.serialize_entry("fifo_count", &f.fifo_count)?;
                    map.serialize_entry("values", &SeqOf(f.values()))?;
                }
            }
        }
        map.end()
    }
}

struct SeqOf<I>(I);

impl<I: Iterator<Item = u16> + Clone> Serialize for SeqOf<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl Serialize for Side<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.m;
        let h = m.header;
        let bit_access = m.is_bit_access();
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("transaction_id", &h.transaction_id)?;
        map.serialize_entry("protocol_id", &h.protocol_id)?;
        map.serialize_entry("unit_id", &h.unit_id)?;
        map.serialize_entry("function_raw", &m.function_raw)?;
        map.serialize_entry("function_code", m.function.name())?;
        map.serialize_entry("access_type", &Shown(m.access))?;
        map.serialize_entry("category", &Shown(m.category))?;
        map.serialize_entry("error_flags", &Shown(m.flags))?;
        let read = |read| ReadObj {
            read,
            bit_access,
            bit_quantity: self.bit_quantity,
        };
        match m.data {
            Data::Exception(code) => {
                map.serialize_entry("exception", &Code(code, exception_name(code)))?;
            }
            Data::Diagnostic { sub, data } => {
                map.serialize_entry(
                    "diagnostic",
                    &CodeData(sub, diagnostic_name(sub), Text(data)),
                )?;
            }
            Data::Mei { mei_type, data } => {
                map.serialize_entry(
                    "mei",
                    &MeiObj {
                        mei_type,
                        data,
                        dir: m.direction,
                    },
                )?;
            }
            Data::Read(r) => map.serialize_entry("read", &read(r))?,
            Data::Write(write) => map.serialize_entry("write", &WriteObj { write, bit_access })?,
            Data::ReadWrite { read: r, write } => {
                map.serialize_entry("read", &read(r))?;
                map.serialize_entry("write", &WriteObj { write, bit_access })?;
            }
            Data::Bytes(data) => {
                map.serialize_entry("data", &Text(data))?;
                let wf = m.flags.is_empty() && !m.is_exception();
                let counted = match (m.function, m.direction) {
                    (FunctionCode::RdFileRec | FunctionCode::WrFileRec, _) => true,
                    (FunctionCode::GetCommEventLog | FunctionCode::ReportServerID, dir) => {
                        dir == Direction::ToClient
                    }
                    _ => false,
                };
                if let (true, false, Some(n)) = (counted, m.is_exception(), data.first()) {
                    map.serialize_entry("byte_count", n)?;
                }
                match (m.function, m.direction) {
                    (FunctionCode::RdFileRec, Direction::ToServer) if wf => map.serialize_entry(
                        "file_records",
                        &Records {
                            body: data,
                            with_data: false,
                        },
                    )?,
                    (FunctionCode::RdFileRec, Direction::ToClient) if wf => {
                        map.serialize_entry("file_records", &RecordResponses(data))?
                    }
                    (FunctionCode::WrFileRec, _) if wf => map.serialize_entry(
                        "file_records",
                        &Records {
                            body: data,
                            with_data: true,
                        },
                    )?,
                    (FunctionCode::RdFIFOQueue, dir) if !m.is_exception() => {
                        map.serialize_entry("fifo", &FifoObj { body: data, dir })?
                    }
                    _ => {}
                }
            }
            Data::Empty => {}
        }
        map.end()
    }
}

/// `{raw, code}`.
struct Code(u8, &'static str);

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("raw", &self.0)?;
        map.serialize_entry("code", self.1)?;
        map.end()
    }
}

/// `{raw, code, data}`.
struct CodeData<'a>(u16, &'static str, Text<'a>);

impl Serialize for CodeData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("raw", &self.0)?;
        map.serialize_entry("code", self.1)?;
        map.serialize_entry("data", &self.2)?;
        map.end()
    }
}
