//! The libraries a rule script may `require`: Suricata's `suricata.packet`, `suricata.flow`,
//! `suricata.dnp3`, `suricata.http`, `suricata.dns`, `suricata.tls`, `suricata.ssh`, and the
//! sensor's `suricata.modbus` and `suricata.s7comm`.
//!
//! Each library's methods are Lua, made once with the state; what they read is a table built in
//! Rust by its `get`/`get_tx`, a function bound for the length of one call (an mlua scope), so
//! a script never holds on to a packet and pays only for what it asks for.

use decoders::Tx;
use mlua::{Lua, Result, Scope, Table, Value};

use super::Call;
use crate::engine::{PacketView, Transport};
use crate::payload::Buffer;

/// What the rule is evaluated on.
#[derive(Clone, Copy)]
pub enum Input<'i> {
    /// A packet's payload, or a chunk of reassembled stream.
    Payload(&'i [u8]),
    Tx(&'i Tx<'i, 'i>),
    /// An application-layer event, by name.
    Event(&'i str),
}

/// A library, by the name a script requires it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    Packet,
    Flow,
    Dnp3,
    Modbus,
    S7comm,
    Http,
    Dns,
    Tls,
    Ssh,
}

impl Lib {
    const ALL: [Lib; 9] = [
        Lib::Packet,
        Lib::Flow,
        Lib::Dnp3,
        Lib::Modbus,
        Lib::S7comm,
        Lib::Http,
        Lib::Dns,
        Lib::Tls,
        Lib::Ssh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lib::Packet => "suricata.packet",
            Lib::Flow => "suricata.flow",
            Lib::Dnp3 => "suricata.dnp3",
            Lib::Modbus => "suricata.modbus",
            Lib::S7comm => "suricata.s7comm",
            Lib::Http => "suricata.http",
            Lib::Dns => "suricata.dns",
            Lib::Tls => "suricata.tls",
            Lib::Ssh => "suricata.ssh",
        }
    }

    pub fn named(name: &str) -> Option<Lib> {
        Lib::ALL.into_iter().find(|l| l.name() == name)
    }

    pub fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The library's methods, over the fields its `get`/`get_tx` fills in.
    fn methods(self) -> &'static str {
        match self {
            Lib::Packet => {
                "function C:payload() return self.payload_ end
                 function C:tuple() return self.ipver_, self.src_, self.dst_, self.proto_, self.sp_, self.dp_ end
                 function C:timestamp() return self.sec_, 0 end"
            }
            Lib::Flow => {
                "function C:id() return self.id_ end
                 function C:app_layer_proto() local p = self.proto_ return p, p, p, p, p end
                 function C:tuple() return self.ipver_, self.src_, self.dst_, self.proto_num_, self.sp_, self.dp_ end"
            }
            Lib::Http => {
                "function C:request_line() return self.request_line_ end
                 function C:response_line() return self.response_line_ end
                 function C:request_uri_raw() return self.uri_raw_ end
                 function C:request_uri_normalized() return self.uri_ end
                 function C:request_host() return self.host_ end
                 function C:request_headers() return self.request_headers_ end
                 function C:response_headers() return self.response_headers_ end
                 function C:request_header(n) return self.request_fields_[string.lower(n)] end
                 function C:response_header(n) return self.response_fields_[string.lower(n)] end
                 function C:request_body() return self.request_body_ end
                 function C:response_body() return self.response_body_ end
                 function C:response_status() return self.status_ end"
            }
            Lib::Dns => {
                "function C:txid() return self.txid_ end
                 function C:rcode() return self.rcode_ end
                 function C:rcode_string() return self.rcode_string_ end
                 function C:recursion_desired() return self.rd_ end
                 function C:rrname() local q = self.queries_[1] return q and q.rrname end
                 function C:queries() return self.queries_ end
                 function C:answers() return self.answers_ end
                 function C:authorities() return self.authorities_ end"
            }
            Lib::Tls => {
                "function C:get_client_version() return self.client_version_ end
                 function C:get_server_version() return self.version_ end
                 function C:get_client_sni() return self.sni_ end
                 function C:get_server_cert_info() return self.version_, self.subject_, self.issuer_, self.fingerprint_ end
                 function C:get_server_serial() return self.serial_ end
                 function C:get_server_cert_validity() return self.not_before_, self.not_after_ end
                 function C:get_ja3() return self.ja3_, self.ja3_hash_ end
                 function C:get_ja4() return self.ja4_ end"
            }
            Lib::Ssh => {
                "function C:server_proto() return self.server_proto_ end
                 function C:server_software() return self.server_software_ end
                 function C:client_proto() return self.client_proto_ end
                 function C:client_software() return self.client_software_ end
                 function C:client_hassh() return self.hassh_, self.hassh_string_ end
                 function C:server_hassh() return self.hassh_server_, self.hassh_server_string_ end"
            }
            Lib::Dnp3 | Lib::Modbus | Lib::S7comm => "",
        }
    }
}

/// Every library's module table, each with its method class (`C`) for `get`/`get_tx` to hand
/// out.
pub fn modules(lua: &Lua) -> Result<Table> {
    let all = lua.create_table()?;
    for lib in Lib::ALL {
        let code = format!(
            "local C = {{}} C.__index = C {} return {{ class_ = C }}",
            lib.methods()
        );
        let m: Table = lua.load(code).set_name(lib.name()).eval()?;
        all.raw_set(lib.name(), m)?;
    }
    Ok(all)
}

/// Bind the required libraries' accessors to `call` for the length of `scope`.
pub fn bind<'s>(
    scope: &'s Scope<'s, '_>,
    modules: &Table,
    required: u32,
    call: &'s Call<'s>,
) -> Result<()> {
    for lib in Lib::ALL.into_iter().filter(|l| required & l.bit() != 0) {
        let m: Table = modules.raw_get(lib.name())?;
        let class: Table = m.raw_get("class_")?;
        let (key, f) = match lib {
            Lib::Packet => (
                "get",
                scope.create_function(move |lua, ()| object(&class, packet(lua, call)?))?,
            ),
            Lib::Flow => (
                "get",
                scope.create_function(move |lua, ()| object(&class, flow(lua, call)?))?,
            ),
            lib => (
                "get_tx",
                scope.create_function(move |lua, ()| match tx_table(lua, lib, call)? {
                    Some(t) if lib.methods().is_empty() => Ok(Value::Table(t)),
                    Some(t) => object(&class, t),
                    None => Ok(Value::Nil),
                })?,
            ),
        };
        m.raw_set(key, f)?;
    }
    Ok(())
}

/// `t` as an object of `class`, its methods reading its fields.
fn object(class: &Table, t: Table) -> Result<Value> {
    t.set_metatable(Some(class.clone()))?;
    Ok(Value::Table(t))
}

/// The bytes a legacy `needs` entry names (`payload`, `http.uri`, `http.request_headers` …).
pub fn need<'i>(name: &str, call: &Call<'i>) -> Option<&'i [u8]> {
    let b = match name {
        "payload" | "stream" => return payload(call),
        "http.request_line" => Buffer::Http(crate::http::Buf::RequestLine),
        "http.response_line" => Buffer::Http(crate::http::Buf::ResponseLine),
        "http.request_headers" => Buffer::Http(crate::http::Buf::Header),
        "http.request_headers.raw" | "http.response_headers.raw" => {
            Buffer::Http(crate::http::Buf::RawHeader)
        }
        "http.response_headers" => Buffer::Http(crate::http::Buf::Header),
        "http.request_cookie" | "http.response_cookie" => Buffer::Http(crate::http::Buf::Cookie),
        "http.request_user_agent" => Buffer::Http(crate::http::Buf::UserAgent),
        n => Buffer::from_keyword(n).ok()??,
    };
    buffer(b, call.input, call.pkt)
}

fn payload<'i>(call: &Call<'i>) -> Option<&'i [u8]> {
    match call.input {
        Input::Payload(p) => Some(p),
        _ => None,
    }
}

/// A buffer's bytes in `input`, where it has them: what `args.buffer` and `needs` hand over.
pub fn buffer<'i>(b: Buffer, input: Input<'i>, pkt: &PacketView) -> Option<&'i [u8]> {
    match (b, input) {
        (Buffer::Payload, Input::Payload(p)) => Some(p),
        (Buffer::Dnp3Data, Input::Tx(Tx::Dnp3(f))) => Some(f.as_bytes()),
        (Buffer::S7Param, Input::Tx(Tx::S7comm(s))) => Some(s.pdu.param),
        (Buffer::MmsData, Input::Tx(Tx::Mms(m))) => m.upper.mms,
        (Buffer::Http(h), Input::Tx(Tx::Http { tx, progress })) => {
            h.get(tx, progress.in_response())
        }
        (Buffer::Tls(t), Input::Tx(Tx::Tls { tls, .. })) => t.get(tls),
        (Buffer::Ssh(s), Input::Tx(Tx::Ssh { ssh, .. })) => s.get(ssh, pkt.dir),
        _ => None,
    }
}

fn proto_number(t: Transport) -> u8 {
    match t {
        Transport::Tcp => 6,
        Transport::Udp => 17,
        Transport::Other(n) => n,
        // Not IP: no protocol number.
        Transport::Ether(_) => 0,
    }
}

fn tuple(t: &Table, pkt: &PacketView) -> Result<()> {
    t.raw_set("ipver_", if pkt.src.is_ipv4() { 4 } else { 6 })?;
    t.raw_set("src_", pkt.src.to_string())?;
    t.raw_set("dst_", pkt.dst.to_string())?;
    t.raw_set("sp_", pkt.sport)?;
    t.raw_set("dp_", pkt.dport)?;
    Ok(())
}

fn packet(lua: &Lua, call: &Call<'_>) -> Result<Table> {
    let t = lua.create_table()?;
    tuple(&t, call.pkt)?;
    t.raw_set("proto_", proto_number(call.pkt.transport))?;
    t.raw_set("sec_", call.pkt.secs)?;
    t.raw_set(
        "payload_",
        lua.create_string(payload(call).unwrap_or_default())?,
    )?;
    Ok(t)
}

fn flow(lua: &Lua, call: &Call<'_>) -> Result<Table> {
    let t = lua.create_table()?;
    tuple(&t, call.pkt)?;
    t.raw_set("proto_num_", proto_number(call.pkt.transport))?;
    // Lua integers are 64-bit signed: the id's bits, as Suricata hands them over.
    t.raw_set("id_", call.pkt.flow_id as i64)?;
    let proto = call.pkt.app_proto.map_or("unknown", |p| p.label());
    t.raw_set("proto_", proto)?;
    Ok(t)
}

/// The transaction table of `lib`, when the call is on one of its transactions.
fn tx_table(lua: &Lua, lib: Lib, call: &Call<'_>) -> Result<Option<Table>> {
    let Input::Tx(tx) = call.input else {
        return Ok(None);
    };
    match (lib, tx) {
        (Lib::Dnp3, Tx::Dnp3(f)) => dnp3(lua, f).map(Some),
        (Lib::Modbus, Tx::Modbus { request, response }) => {
            modbus(lua, *request, *response).map(Some)
        }
        (Lib::S7comm, Tx::S7comm(s)) => s7comm(lua, s).map(Some),
        (Lib::Http, Tx::Http { tx, .. }) => http(lua, tx).map(Some),
        (Lib::Dns, Tx::Dns(m)) => dns(lua, m).map(Some),
        (Lib::Tls, Tx::Tls { tls, .. }) => self::tls(lua, tls).map(Some),
        (Lib::Ssh, Tx::Ssh { ssh, .. }) => self::ssh(lua, ssh).map(Some),
        _ => Ok(None),
    }
}

/// Suricata's DNP3 transaction table: `is_request`, and `request` or `response` with
/// `done`, `complete`, `application_header` and `objects` (`iin` on responses). The sensor
/// hands a rule one reassembled application fragment, so it is always done and complete.
fn dnp3(lua: &Lua, f: &decoders::dnp3::Fragment<'_>) -> Result<Table> {
    use decoders::dnp3::application::Kind;
    let t = lua.create_table()?;
    let is_request = f.kind() == Kind::Request;
    t.raw_set("tx_num", 0)?;
    t.raw_set("is_request", is_request)?;
    let side = lua.create_table()?;
    side.raw_set("done", true)?;
    side.raw_set("complete", true)?;
    let header = lua.create_table()?;
    header.raw_set("control", f.control().0)?;
    header.raw_set("function_code", f.function())?;
    side.raw_set("application_header", header)?;
    if let Some(iin) = f.iin() {
        let i = lua.create_table()?;
        i.raw_set("iin1", iin.0 >> 8)?;
        i.raw_set("iin2", iin.0 & 0xff)?;
        side.raw_set("iin", i)?;
    }
    let objects = lua.create_table()?;
    for (n, o) in f.objects(decoders::dnp3::Limits::default()).enumerate() {
        let ot = lua.create_table()?;
        ot.raw_set("group", o.group)?;
        ot.raw_set("variation", o.variation)?;
        ot.raw_set("qualifier", o.qualifier)?;
        ot.raw_set("prefix_code", o.prefix_code())?;
        ot.raw_set("range_code", o.range_code())?;
        ot.raw_set("start", o.start)?;
        ot.raw_set("stop", o.stop)?;
        ot.raw_set("count", o.count)?;
        objects.raw_set(n + 1, ot)?;
    }
    side.raw_set("objects", objects)?;
    t.raw_set(if is_request { "request" } else { "response" }, side)?;
    Ok(t)
}

/// A Modbus request and response: `transaction_id`, `unit_id`, `function_code`, and per side
/// `function_code` (as sent, exception bit included), `exception` (the code, on an
/// exception), `address`, `quantity`, `value`.
fn modbus(
    lua: &Lua,
    request: Option<&decoders::modbus::Message<'_>>,
    response: Option<&decoders::modbus::Message<'_>>,
) -> Result<Table> {
    use decoders::modbus::{Data, Read, Write};
    let t = lua.create_table()?;
    let Some(first) = request.or(response) else {
        return Ok(t);
    };
    t.raw_set("transaction_id", first.header.transaction_id)?;
    t.raw_set("unit_id", first.header.unit_id)?;
    t.raw_set("function_code", first.function_raw & 0x7f)?;
    for (key, m) in [("request", request), ("response", response)] {
        let Some(m) = m else { continue };
        let s = lua.create_table()?;
        s.raw_set("function_code", m.function_raw)?;
        if let Some(code) = m.exception_code() {
            s.raw_set("exception", code)?;
        }
        let (address, quantity, value) = match m.data {
            Data::Read(Read::Request { address, quantity }) => {
                (Some(address), Some(quantity), None)
            }
            Data::Write(Write::Multiple {
                address, quantity, ..
            })
            | Data::Write(Write::Echo { address, quantity }) => {
                (Some(address), Some(quantity), None)
            }
            Data::Write(Write::Single { address, value }) => (Some(address), None, Some(value)),
            Data::Write(Write::Mask { address, .. }) => (Some(address), None, None),
            Data::ReadWrite { read, .. } => match read {
                Read::Request { address, quantity } => (Some(address), Some(quantity), None),
                Read::Response { .. } => (None, None, None),
            },
            _ => (None, None, None),
        };
        s.raw_set("address", address)?;
        s.raw_set("quantity", quantity)?;
        s.raw_set("value", value)?;
        t.raw_set(key, s)?;
    }
    Ok(t)
}

/// An S7 PDU: `rosctr` (name) and `rosctr_code`, `function_code`, `pdu_ref`, `error_class`,
/// `error_code`, and the `param` and `data` parts as strings.
fn s7comm(lua: &Lua, s: &decoders::s7comm::S7Tx<'_, '_>) -> Result<Table> {
    let t = lua.create_table()?;
    let p = s.pdu;
    t.raw_set("rosctr", p.rosctr.name())?;
    t.raw_set("rosctr_code", p.rosctr.code())?;
    t.raw_set("function_code", p.function().or(s.job_function))?;
    t.raw_set("pdu_ref", p.pdu_ref)?;
    if let Some((class, code)) = p.error {
        t.raw_set("error_class", class)?;
        t.raw_set("error_code", code)?;
    }
    t.raw_set("param", lua.create_string(p.param)?)?;
    t.raw_set("data", lua.create_string(p.data)?)?;
    Ok(t)
}

/// Header fields of a raw header block, by lower-case name (the first of a repeated one).
fn fields(lua: &Lua, block: &[u8]) -> Result<Table> {
    let t = lua.create_table()?;
    for line in block.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon])
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() || t.contains_key(name.as_str())? {
            continue;
        }
        let value = decoders::http::head::trim(&line[colon + 1..]);
        t.raw_set(name, lua.create_string(value)?)?;
    }
    Ok(t)
}

fn http(lua: &Lua, tx: &decoders::http::Transaction) -> Result<Table> {
    let t = lua.create_table()?;
    let s = |b: &[u8]| lua.create_string(b);
    t.raw_set("request_line_", s(tx.request.line())?)?;
    t.raw_set("uri_raw_", s(tx.raw_uri())?)?;
    t.raw_set("uri_", s(&tx.uri)?)?;
    t.raw_set("host_", s(&tx.host)?)?;
    t.raw_set("request_headers_", s(tx.request.raw_header())?)?;
    t.raw_set("request_fields_", fields(lua, tx.request.raw_header())?)?;
    t.raw_set("request_body_", s(tx.request.body())?)?;
    let response = lua.create_table()?;
    if tx.has_response {
        t.raw_set("response_line_", s(tx.response.line())?)?;
        t.raw_set("response_headers_", s(tx.response.raw_header())?)?;
        t.raw_set("response_body_", s(tx.response.body())?)?;
        t.raw_set("status_", tx.status)?;
        t.raw_set("response_fields_", fields(lua, tx.response.raw_header())?)?;
    } else {
        t.raw_set("response_fields_", response)?;
    }
    Ok(t)
}

fn dns(lua: &Lua, m: &decoders::dns::Message<'_>) -> Result<Table> {
    use decoders::dns::{rcode_name, rrtype_name, Section};
    let t = lua.create_table()?;
    t.raw_set("txid_", m.id())?;
    t.raw_set("rcode_", m.rcode())?;
    t.raw_set("rcode_string_", rcode_name(m.rcode()).unwrap_or("UNKNOWN"))?;
    t.raw_set("rd_", m.flag(0x0100))?;
    let mut name = Vec::new();
    let type_name = |t: u16| rrtype_name(t).map_or_else(|| t.to_string(), str::to_owned);
    let queries = lua.create_table()?;
    for (i, q) in m.questions().enumerate() {
        name.clear();
        q.name.write_dotted(&mut name);
        let e = lua.create_table()?;
        e.raw_set("rrname", lua.create_string(&name)?)?;
        e.raw_set("type", type_name(q.rrtype))?;
        queries.raw_set(i + 1, e)?;
    }
    t.raw_set("queries_", queries)?;
    for (key, section) in [
        ("answers_", Section::Answer),
        ("authorities_", Section::Authority),
    ] {
        let list = lua.create_table()?;
        for (i, r) in m.records(section).enumerate() {
            name.clear();
            r.name.write_dotted(&mut name);
            let e = lua.create_table()?;
            e.raw_set("rrname", lua.create_string(&name)?)?;
            e.raw_set("type", type_name(r.rrtype))?;
            e.raw_set("ttl", r.ttl)?;
            list.raw_set(i + 1, e)?;
        }
        t.raw_set(key, list)?;
    }
    Ok(t)
}

fn tls(lua: &Lua, t: &decoders::tls::Tls) -> Result<Table> {
    let o = lua.create_table()?;
    let s = |b: &[u8]| lua.create_string(b);
    let text = |b: &[u8]| -> Result<Value> {
        if b.is_empty() {
            Ok(Value::Nil)
        } else {
            Ok(Value::String(lua.create_string(b)?))
        }
    };
    o.raw_set(
        "client_version_",
        decoders::tls::Tls::version_name(t.client_version),
    )?;
    o.raw_set("version_", decoders::tls::Tls::version_name(t.version))?;
    o.raw_set("sni_", text(&t.sni)?)?;
    o.raw_set("subject_", text(&t.subject)?)?;
    o.raw_set("issuer_", text(&t.issuer)?)?;
    o.raw_set("fingerprint_", text(&t.fingerprint)?)?;
    o.raw_set("serial_", text(&t.serial)?)?;
    o.raw_set("not_before_", text(t.not_before.as_bytes())?)?;
    o.raw_set("not_after_", text(t.not_after.as_bytes())?)?;
    o.raw_set("ja3_", s(t.ja3.as_bytes())?)?;
    o.raw_set("ja3_hash_", s(t.ja3_hash.as_bytes())?)?;
    o.raw_set("ja4_", s(t.ja4.as_bytes())?)?;
    Ok(o)
}

fn ssh(lua: &Lua, ssh: &decoders::ssh::Ssh) -> Result<Table> {
    let o = lua.create_table()?;
    let [client, server] = [&ssh.sides[0], &ssh.sides[1]];
    let s = |b: &[u8]| lua.create_string(b);
    o.raw_set("client_proto_", s(&client.proto)?)?;
    o.raw_set("client_software_", s(&client.software)?)?;
    o.raw_set("server_proto_", s(&server.proto)?)?;
    o.raw_set("server_software_", s(&server.software)?)?;
    o.raw_set("hassh_", s(&client.hassh_hash)?)?;
    o.raw_set("hassh_string_", s(&client.hassh)?)?;
    o.raw_set("hassh_server_", s(&server.hassh_hash)?)?;
    o.raw_set("hassh_server_string_", s(&server.hassh)?)?;
    Ok(o)
}
