//! Read var / write var items: the addresses a job names (variable specifications in the
//! parameter part) and the data items of write jobs and read responses.

/// Most items one read var or write var may carry (Snap7's `MaxVars`; a 960-byte PDU holds no
/// more than 20 S7ANY addresses).
pub const MAX_ITEMS: u8 = 20;

/// Variable specification marker that starts every request item.
const VAR_SPEC: u8 = 0x12;
/// Syntax id of the classic S7 address.
pub const SYNTAX_S7ANY: u8 = 0x10;

/// One request item: its syntax id and the address bytes after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqItem<'a> {
    pub syntax: u8,
    pub spec: &'a [u8],
}

/// A classic S7ANY address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyAddress {
    pub transport_size: u8,
    /// Number of elements of `transport_size`.
    pub count: u16,
    pub db: u16,
    pub area: u8,
    /// Bit address: byte `address >> 3`, bit `address & 7`.
    pub address: u32,
}

impl AnyAddress {
    /// Timers (0x1d) and counters (0x1c) are addressed by number: `address` is the number.
    pub fn is_numbered(&self) -> bool {
        matches!(self.area, 0x1c | 0x1d)
    }

    pub fn byte(&self) -> u32 {
        self.address >> 3
    }

    pub fn bit(&self) -> u8 {
        (self.address & 7) as u8
    }
}

impl<'a> ReqItem<'a> {
    /// The S7ANY address, when the syntax is S7ANY and all ten bytes are there.
    pub fn any(&self) -> Option<AnyAddress> {
        match (self.syntax, self.spec) {
            (SYNTAX_S7ANY, [ts, c0, c1, d0, d1, area, a0, a1, a2, ..]) => Some(AnyAddress {
                transport_size: *ts,
                count: u16::from_be_bytes([*c0, *c1]),
                db: u16::from_be_bytes([*d0, *d1]),
                area: *area,
                address: u32::from_be_bytes([0, *a0, *a1, *a2]),
            }),
            _ => None,
        }
    }
}

/// Iterator over the request items of a read var or write var job. Stops at the announced count
/// or at the first item that does not fit; [`ReqItems::rest`] then tells what was left over.
#[derive(Clone, Debug)]
pub struct ReqItems<'a> {
    rest: &'a [u8],
    remaining: u8,
    broken: bool,
}

impl<'a> ReqItems<'a> {
    pub fn new(bytes: &'a [u8], count: u8) -> Self {
        ReqItems {
            rest: bytes,
            remaining: count,
            broken: false,
        }
    }

    /// Bytes after the last item read so far.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether an item was malformed (wrong marker or longer than the parameter).
    pub fn broken(&self) -> bool {
        self.broken
    }
}

impl<'a> Iterator for ReqItems<'a> {
    type Item = ReqItem<'a>;

    fn next(&mut self) -> Option<ReqItem<'a>> {
        if self.remaining == 0 || self.broken {
            return None;
        }
        let item = match self.rest {
            [VAR_SPEC, len, syntax, ..] if *len >= 1 => {
                self.rest.get(2..2 + usize::from(*len)).map(|body| ReqItem {
                    syntax: *syntax,
                    spec: &body[1..],
                })
            }
            _ => None,
        };
        match item {
            Some(i) => {
                self.rest = &self.rest[2 + 1 + i.spec.len()..];
                self.remaining -= 1;
                Some(i)
            }
            None => {
                self.broken = true;
                None
            }
        }
    }
}

/// One data item: a return code, the data's transport size and the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataItem<'a> {
    pub return_code: u8,
    pub transport_size: u8,
    /// The length field as sent (bits for bit, byte and integer transport sizes).
    pub length: u16,
    pub data: &'a [u8],
}

/// Return code of a data item that carries data.
pub const RETURN_SUCCESS: u8 = 0xff;

/// Iterator over data items (write var job data, read var ack_data). Lengths given in bits are
/// rounded up to bytes and every item but the last is padded to an even length, as the CPU
/// sends them.
#[derive(Clone, Debug)]
pub struct DataItems<'a> {
    rest: &'a [u8],
    remaining: u8,
    broken: bool,
}

impl<'a> DataItems<'a> {
    pub fn new(bytes: &'a [u8], count: u8) -> Self {
        DataItems {
            rest: bytes,
            remaining: count,
            broken: false,
        }
    }

    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub fn broken(&self) -> bool {
        self.broken
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;

    fn next(&mut self) -> Option<DataItem<'a>> {
        if self.remaining == 0 || self.broken {
            return None;
        }
        let [rc, ts, l0, l1, body @ ..] = self.rest else {
            self.broken = true;
            return None;
        };
        let length = u16::from_be_bytes([*l0, *l1]);
        let mut len = usize::from(length);
        if matches!(*ts, 0x03..=0x05) {
            len = len.div_ceil(8);
        }
        // Only items that succeeded (or the reserved code of write data) carry data.
        if !matches!(*rc, RETURN_SUCCESS | 0x00) {
            len = 0;
        }
        let Some(data) = body.get(..len) else {
            self.broken = true;
            return None;
        };
        self.remaining -= 1;
        let pad = usize::from(len % 2 == 1 && self.remaining > 0);
        self.rest = body.get(len + pad..).unwrap_or_default();
        Some(DataItem {
            return_code: *rc,
            transport_size: *ts,
            length,
            data,
        })
    }
}

/// The return codes of a write var ack_data, one byte an item.
#[derive(Clone, Debug)]
pub struct ReturnCodes<'a> {
    codes: &'a [u8],
    count: u8,
}

impl<'a> ReturnCodes<'a> {
    pub fn new(bytes: &'a [u8], count: u8) -> Self {
        ReturnCodes {
            codes: bytes,
            count,
        }
    }

    /// Whether the data holds exactly one code per item.
    pub fn complete(&self) -> bool {
        self.codes.len() == usize::from(self.count)
    }

    pub fn iter(&self) -> impl Iterator<Item = u8> + 'a {
        let codes: &'a [u8] = self.codes;
        codes.iter().take(usize::from(self.count)).copied()
    }
}

/// Wireshark's name of an item return code.
pub fn return_code_name(rc: u8) -> &'static str {
    match rc {
        0x00 => "reserved",
        0x01 => "hardware_fault",
        0x03 => "access_denied",
        0x05 => "invalid_address",
        0x06 => "data_type_not_supported",
        0x07 => "data_type_inconsistent",
        0x0a => "object_does_not_exist",
        0xff => "success",
        _ => "unknown",
    }
}

/// Wireshark's name of a memory area.
pub fn area_name(area: u8) -> &'static str {
    match area {
        0x03 => "system_info_200",
        0x05 => "system_flags_200",
        0x06 => "analog_inputs_200",
        0x07 => "analog_outputs_200",
        0x1c => "counter",
        0x1d => "timer",
        0x1e => "iec_counter_200",
        0x1f => "iec_timer_200",
        0x80 => "peripheral",
        0x81 => "inputs",
        0x82 => "outputs",
        0x83 => "flags",
        0x84 => "data_blocks",
        0x85 => "instance_data_blocks",
        0x86 => "local_data",
        0x87 => "previous_local_data",
        _ => "unknown",
    }
}

/// Wireshark's name of an item transport size (in request items).
pub fn transport_size_name(ts: u8) -> &'static str {
    match ts {
        0x01 => "bit",
        0x02 => "byte",
        0x03 => "char",
        0x04 => "word",
        0x05 => "int",
        0x06 => "dword",
        0x07 => "dint",
        0x08 => "real",
        0x09 => "date",
        0x0a => "tod",
        0x0b => "time",
        0x0c => "s5time",
        0x0f => "date_and_time",
        0x1c => "counter",
        0x1d => "timer",
        0x1e => "iec_timer",
        0x1f => "iec_counter",
        0x20 => "hs_counter",
        _ => "unknown",
    }
}

/// Wireshark's name of a data transport size (in data items).
pub fn data_transport_size_name(ts: u8) -> &'static str {
    match ts {
        0x00 => "null",
        0x03 => "bit",
        0x04 => "byte_word_dword",
        0x05 => "integer",
        0x06 => "dinteger",
        0x07 => "real",
        0x09 => "octet_string",
        _ => "unknown",
    }
}

/// Wireshark's name of an item syntax id.
pub fn syntax_name(syntax: u8) -> &'static str {
    match syntax {
        0x10 => "s7any",
        0x13 => "pbc_id",
        0x15 => "alarm_lockfree",
        0x16 => "alarm_ind",
        0x19 => "alarm_ack",
        0x1a => "alarm_queryreq",
        0x1c => "notify_ind",
        0x82 => "nck",
        0x83 => "nck_metric",
        0x84 => "nck_inch",
        0xa2 => "driveesany",
        0xb2 => "1200sym",
        0xb0 => "dbread",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read var items from Snap7's multi-item read: MB0 ×4 and DB1.DBX2.0 ×2.
    static ITEMS: [u8; 24] = [
        0x12, 0x0a, 0x10, 0x02, 0x00, 0x04, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, //
        0x12, 0x0a, 0x10, 0x02, 0x00, 0x02, 0x00, 0x01, 0x84, 0x00, 0x00, 0x10,
    ];

    #[test]
    fn request_items() {
        let mut it = ReqItems::new(&ITEMS, 2);
        let a = it.next().unwrap().any().unwrap();
        assert_eq!(
            (a.area, a.db, a.count, a.byte(), a.bit()),
            (0x83, 0, 4, 0, 0)
        );
        let b = it.next().unwrap().any().unwrap();
        assert_eq!(
            (b.area, b.db, b.count, b.byte(), b.bit()),
            (0x84, 1, 2, 2, 0)
        );
        assert!(it.next().is_none());
        assert!(it.rest().is_empty() && !it.broken());
        let mut short = ReqItems::new(&ITEMS[..20], 2);
        assert_eq!(short.by_ref().count(), 1);
        assert!(short.broken());
    }

    #[test]
    fn data_items_pad_and_bits() {
        // A 1-bit item (padded), then 3 bytes given in bits, then an error item without data.
        let d = [
            0xff, 0x03, 0x00, 0x01, 0x01, 0x00, //
            0xff, 0x04, 0x00, 0x18, 1, 2, 3, 0x00, //
            0x0a, 0x00, 0x00, 0x00,
        ];
        let items: Vec<_> = DataItems::new(&d, 3).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].data, &[1]);
        assert_eq!(items[1].data, &[1, 2, 3]);
        assert_eq!((items[2].return_code, items[2].data.len()), (0x0a, 0));
    }
}
