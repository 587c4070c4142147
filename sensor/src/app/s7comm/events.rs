//! EVE bodies of `s7comm` and `s7commplus` events: `Serialize` views over the borrowed PDU, so
//! writing an event allocates nothing. The schema is documented in `docs/eve/s7comm.md`.

use std::fmt;

use crate::app::text::Hex;
use decoders::s7comm::cotp::{disconnect_reason_name, reject_cause_name, Connect};
use decoders::s7comm::header::error_class_name;
use decoders::s7comm::item::{
    area_name, data_transport_size_name, return_code_name, syntax_name, transport_size_name,
    DataItem, DataItems, ReqItems, ReturnCodes,
};
use decoders::s7comm::param::{self, Block, BlockControl, PiService, Setup};
use decoders::s7comm::plus::{self, Plus};
use decoders::s7comm::userdata::{self, Clock, Userdata};
use decoders::s7comm::{CotpType, S7Pdu};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

/// Bytes shown as text: printable ASCII as is, anything else as `\xNN`.
pub struct Ascii<'a>(pub &'a [u8]);

impl fmt::Display for Ascii<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                fmt::Write::write_char(f, char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Ascii<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A 16-bit code as `0x0011`.
pub struct Hex16(pub u16);

impl Serialize for Hex16 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{:04x}", self.0))
    }
}

#[derive(Serialize)]
pub struct Body<E: Serialize> {
    pub s7comm: E,
}

#[derive(Serialize)]
pub struct PlusBody<E: Serialize> {
    pub s7commplus: E,
}

/// A COTP connection setup or teardown TPDU.
#[derive(Serialize)]
pub struct CotpEvent<'a> {
    pub direction: &'static str,
    pub cotp: CotpFacts<'a>,
}

#[derive(Serialize, Default)]
pub struct CotpFacts<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_raw: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_ref: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ref: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_tsap: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_tsap: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpdu_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_raw: Option<u8>,
}

impl<'a> CotpFacts<'a> {
    pub fn connect(c: &Connect<'a>, raw: u8) -> Self {
        CotpFacts {
            kind: c.kind.name(),
            type_raw: raw,
            dst_ref: Some(c.dst_ref),
            src_ref: Some(c.src_ref),
            class: Some(c.class),
            calling_tsap: c.calling_tsap().map(Hex),
            called_tsap: c.called_tsap().map(Hex),
            tpdu_size: c.tpdu_size(),
            ..Default::default()
        }
    }

    pub fn disconnect(
        kind: CotpType,
        raw: u8,
        dst_ref: u16,
        src_ref: u16,
        reason: Option<u8>,
    ) -> Self {
        CotpFacts {
            kind: kind.name(),
            type_raw: raw,
            dst_ref: Some(dst_ref),
            src_ref: Some(src_ref),
            reason: reason.map(disconnect_reason_name),
            reason_raw: reason,
            ..Default::default()
        }
    }

    pub fn error(raw: u8, dst_ref: u16, cause: u8) -> Self {
        CotpFacts {
            kind: CotpType::Error.name(),
            type_raw: raw,
            dst_ref: Some(dst_ref),
            reason: Some(reject_cause_name(cause)),
            reason_raw: Some(cause),
            ..Default::default()
        }
    }
}

/// One S7 PDU.
#[derive(Serialize)]
pub struct PduEvent<'a> {
    pub direction: &'static str,
    pub rosctr: &'static str,
    pub rosctr_raw: u8,
    pub pdu_reference: u16,
    pub param_length: u16,
    pub data_length: u16,
    /// COTP data TPDUs this PDU arrived in (more than 1 when fragmented).
    #[serde(skip_serializing_if = "is_one")]
    pub tpdus: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_raw: Option<u8>,
    /// On ack and ack_data: the function of the job with the same PDU reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_function: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_function_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<SetupEv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Items<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_control: Option<BlockControlEv<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pi_service: Option<PiEv<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userdata: Option<UserdataEv>,
}

fn is_one(n: &u16) -> bool {
    *n == 1
}

impl<'a> PduEvent<'a> {
    pub fn new(direction: &'static str, pdu: &S7Pdu<'a>, tpdus: u16) -> Self {
        let f = pdu.function();
        PduEvent {
            direction,
            rosctr: pdu.rosctr.name(),
            rosctr_raw: pdu.rosctr.code(),
            pdu_reference: pdu.pdu_ref,
            param_length: pdu.param_len,
            data_length: pdu.data_len,
            tpdus,
            error_class: pdu.error.map(|(c, _)| error_class_name(c)),
            error_class_raw: pdu.error.map(|(c, _)| c),
            error_code_raw: pdu.error.map(|(_, e)| e),
            function: f.map(|f| param::function_name(f).unwrap_or("unknown")),
            function_raw: f,
            job_function: None,
            job_function_raw: None,
            setup: None,
            item_count: None,
            items: None,
            block_control: None,
            pi_service: None,
            userdata: None,
        }
    }
}

#[derive(Serialize)]
pub struct SetupEv {
    pub max_amq_calling: u16,
    pub max_amq_called: u16,
    pub pdu_size: u16,
}

impl From<Setup> for SetupEv {
    fn from(s: Setup) -> Self {
        SetupEv {
            max_amq_calling: s.max_amq_calling,
            max_amq_called: s.max_amq_called,
            pdu_size: s.pdu_size,
        }
    }
}

/// The items of a read var / write var job or response, serialized from their iterators.
pub enum Items<'a> {
    Request {
        items: ReqItems<'a>,
        data: DataItems<'a>,
    },
    Data(DataItems<'a>),
    Codes(ReturnCodes<'a>),
}

/// `byte.bit`.
struct Address(u32, u8);

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}.{}", self.0, self.1))
    }
}

#[derive(Serialize, Default)]
struct ItemEv {
    #[serde(skip_serializing_if = "Option::is_none")]
    syntax: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syntax_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    area: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    area_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    db: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address>,
    /// Timers and counters are addressed by number, not by byte and bit.
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport_size: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport_size_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_code_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_transport_size: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_transport_size_raw: Option<u8>,
    /// Bytes of data the item carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    data_length: Option<usize>,
}

impl ItemEv {
    fn data(mut self, d: &DataItem<'_>) -> Self {
        self.return_code = Some(return_code_name(d.return_code));
        self.return_code_raw = Some(d.return_code);
        self.data_transport_size = Some(data_transport_size_name(d.transport_size));
        self.data_transport_size_raw = Some(d.transport_size);
        self.data_length = Some(d.data.len());
        self
    }
}

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Items::Request { items, data } => {
                let mut data = data.clone();
                let mut seq = s.serialize_seq(None)?;
                for item in items.clone() {
                    let mut ev = ItemEv {
                        syntax: Some(syntax_name(item.syntax)),
                        syntax_raw: Some(item.syntax),
                        ..Default::default()
                    };
                    if let Some(a) = item.any() {
                        ev.area = Some(area_name(a.area));
                        ev.area_raw = Some(a.area);
                        ev.db = Some(a.db);
                        if a.is_numbered() {
                            ev.number = Some(a.address);
                        } else {
                            ev.address = Some(Address(a.byte(), a.bit()));
                        }
                        ev.transport_size = Some(transport_size_name(a.transport_size));
                        ev.transport_size_raw = Some(a.transport_size);
                        ev.count = Some(a.count);
                    }
                    if let Some(d) = data.next() {
                        ev = ev.data(&d);
                    }
                    seq.serialize_element(&ev)?;
                }
                seq.end()
            }
            Items::Data(data) => s.collect_seq(data.clone().map(|d| ItemEv::default().data(&d))),
            Items::Codes(codes) => s.collect_seq(codes.iter().map(|rc| ItemEv {
                return_code: Some(return_code_name(rc)),
                return_code_raw: Some(rc),
                ..Default::default()
            })),
        }
    }
}

#[derive(Serialize)]
pub struct BlockEv {
    #[serde(rename = "type")]
    kind: &'static str,
    type_raw: Ascii<'static>,
    number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    filesystem: Option<char>,
}

/// The two ASCII type characters, kept in the event without borrowing the PDU.
fn block_ev(b: Block) -> BlockEv {
    const TYPES: [&[u8; 2]; 8] = [b"08", b"09", b"0A", b"0B", b"0C", b"0D", b"0E", b"0F"];
    let raw: &'static [u8] = TYPES
        .iter()
        .find(|t| **t == &b.kind)
        .map_or(&b"??"[..], |t| &t[..]);
    BlockEv {
        kind: b.kind_name(),
        type_raw: Ascii(raw),
        number: b.number,
        filesystem: (b.filesystem != 0).then(|| char::from(b.filesystem)),
    }
}

#[derive(Serialize)]
pub struct BlockControlEv<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    function_status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<Hex16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<Ascii<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<BlockEv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_length: Option<Ascii<'a>>,
}

impl<'a> From<BlockControl<'a>> for BlockControlEv<'a> {
    fn from(b: BlockControl<'a>) -> Self {
        BlockControlEv {
            function_status: b.status,
            upload_id: b.upload_id,
            error_code: b.error_code.map(Hex16),
            filename: b.filename.map(|f| Ascii(f.raw)),
            block: b.filename.and_then(|f| f.block()).map(block_ev),
            block_length: b.block_length.map(Ascii),
        }
    }
}

pub struct PiEv<'a> {
    pub service: &'a [u8],
    pub pi: Option<PiService<'a>>,
}

impl Serialize for PiEv<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("service", &Ascii(self.service))?;
        if let Some(pi) = &self.pi {
            if pi.has_block_list() {
                m.serialize_entry("blocks", &BlockList(*pi))?;
            } else {
                m.serialize_entry("parameter", &Ascii(pi.param_block))?;
            }
        }
        m.end()
    }
}

struct BlockList<'a>(PiService<'a>);

impl Serialize for BlockList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.blocks().map(block_ev))
    }
}

#[derive(Serialize)]
pub struct UserdataEv {
    method: &'static str,
    method_raw: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    type_raw: u8,
    group: &'static str,
    group_raw: u8,
    subfunction: &'static str,
    subfunction_raw: u8,
    sequence_number: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_unit_reference: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_data_unit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<Hex16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_code_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    szl: Option<SzlEv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<BlockEv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<ClockEv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<bool>,
}

#[derive(Serialize)]
pub struct SzlEv {
    id: Hex16,
    id_raw: u16,
    name: &'static str,
    index: Hex16,
    index_raw: u16,
}

pub struct ClockEv(Clock);

impl Serialize for ClockEv {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl UserdataEv {
    /// `continuation`: this unit continues a response begun in an earlier one, so its data
    /// does not start with the SZL header.
    pub fn new(u: &Userdata<'_>, continuation: bool) -> Self {
        UserdataEv {
            method: match u.method {
                0x11 => "request",
                0x12 => "response",
                _ => "unknown",
            },
            method_raw: u.method,
            kind: userdata::kind_name(u.kind),
            type_raw: u.kind,
            group: userdata::group_name(u.group),
            group_raw: u.group,
            subfunction: userdata::subfunction_name(u.group, u.subfunction),
            subfunction_raw: u.subfunction,
            sequence_number: u.sequence_number,
            data_unit_reference: u.data_unit_reference,
            last_data_unit: u.last_data_unit.map(|l| l == 0),
            error_code: u.error_code.map(Hex16),
            return_code: u.data.map(|d| return_code_name(d.return_code)),
            return_code_raw: u.data.map(|d| d.return_code),
            szl: (!continuation)
                .then(|| u.szl())
                .flatten()
                .map(|(id, index)| SzlEv {
                    id: Hex16(id),
                    id_raw: id,
                    name: userdata::szl_name(id),
                    index: Hex16(index),
                    index_raw: index,
                }),
            block: u.block().map(block_ev),
            clock: u.clock().map(ClockEv),
            password: u.is_password().then_some(true),
        }
    }
}

/// One S7comm-plus frame.
#[derive(Serialize)]
pub struct PlusEvent {
    pub direction: &'static str,
    pub version: u8,
    pub version_name: &'static str,
    pub data_length: u16,
    #[serde(skip_serializing_if = "is_one")]
    pub tpdus: u16,
    pub integrity: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode_raw: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_raw: Option<Hex16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
}

impl PlusEvent {
    pub fn new(direction: &'static str, p: &Plus<'_>, tpdus: u16) -> Self {
        PlusEvent {
            direction,
            version: p.version,
            version_name: plus::version_name(p.version),
            data_length: p.data_length,
            tpdus,
            integrity: p.digest.is_some(),
            opcode: p.opcode.map(plus::opcode_name),
            opcode_raw: p.opcode,
            function: p.function.map(plus::function_name),
            function_raw: p.function.map(Hex16),
            sequence_number: p.sequence_number,
            session_id: p.session_id,
        }
    }
}
