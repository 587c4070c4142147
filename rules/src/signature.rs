//! A rule given meaning: its header, its identity (`sid`, `rev`, `gid`, `msg`, `classtype`,
//! `priority`, `reference`, `metadata`) and every option the engine evaluates.
//!
//! Options are checked as they are read, so a rule either loads whole or is refused with the
//! reason; an option this engine does not know is a refusal too (naming it), never silently
//! dropped, since a rule missing a condition would alert on traffic its author never meant.

use decoders::AppProto;

use crate::byte::{ByteExtract, ByteJump, ByteTest};
use crate::content::{quoted_text, Content};
use crate::dnp3::{self, IndMatch};
use crate::flow::{FlowOpts, FlowbitNames, FlowbitOp};
use crate::http::{self, Urilen};
use crate::modbus::ModbusMatch;
use crate::num::UintMatch;
use crate::packet::{self, HeaderMatch};
use crate::payload::{parse_isdataat, Buffer, Inspection, Op};
use crate::pcre::Pcre;
use crate::s7comm::{self, PlusMatch, S7Match};
use crate::threshold::Threshold;
use crate::{
    split_rules, Conflict, Error, Header, KeywordError, Protocol, RawRule, RuleText, Vars,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub line: usize,
    pub header: Header,
    pub gid: u32,
    pub sid: u32,
    pub rev: u32,
    pub msg: String,
    pub classtype: Option<String>,
    pub priority: Option<u8>,
    /// `reference:TYPE,ID`, in order.
    pub references: Vec<(String, String)>,
    /// `metadata:KEY VALUE, …`, in order (e.g. `mitre_attack_ics T0843`).
    pub metadata: Vec<(String, String)>,
    /// The byte-inspecting options, one list per buffer, in the order the buffers appear.
    pub inspections: Vec<Inspection>,
    pub dsize: Option<UintMatch>,
    /// Keywords on the packet's own headers: `flags`, `ttl`, `ip_proto`, `itype`….
    pub headers: Vec<HeaderMatch>,
    pub flow: FlowOpts,
    pub flowbits: Vec<FlowbitOp>,
    /// `flowint`, in rule order.
    pub flowint: Vec<crate::flowint::FlowintOp>,
    /// `lua`/`luajit`: a script the rule must also satisfy.
    pub lua: Option<crate::lua::LuaUse>,
    /// `xbits`: flags kept per host or host pair, beyond the flow.
    pub xbits: Vec<crate::xbits::Xbit>,
    /// `threshold` or `detection_filter`.
    pub threshold: Option<Threshold>,
    /// `tag`: noted on the alert.
    pub tag: Option<crate::tag::Tag>,
    /// `app-layer-event` names (`dnp3.flooded`, …): the rule matches when the event occurs.
    pub app_events: Vec<String>,
    /// `app-layer-protocol`: the flow's protocol must (or, negated, must not) be this one.
    pub app_layer_protocol: Option<(AppProto, bool)>,
    pub modbus: Vec<ModbusMatch>,
    pub dnp3_func: Option<u8>,
    pub dnp3_ind: Vec<IndMatch>,
    pub dnp3_obj: Vec<(u8, u8)>,
    pub s7: Vec<S7Match>,
    pub s7plus: Vec<PlusMatch>,
    /// `urilen`.
    pub urilen: Option<Urilen>,
    /// `dns.opcode`, `dns.rcode`, `dns.rrtype`.
    pub dns: Vec<crate::dns::Field>,
    /// `tls.version`, `tls.subject`, `ssl_state` ….
    pub tls: Vec<crate::tls::Field>,
    /// `ssh.protoversion`, `ssh.softwareversion`.
    pub ssh: Vec<crate::ssh::Field>,
    /// `ftp.dynamic_port`, `ftp.mode`, `ftpbounce`, `ftpdata_command` ….
    pub ftp: Vec<crate::ftp::Field>,
    /// `enip_command`, `cip_service`.
    pub enip: Vec<crate::enip::Field>,
    /// `iec104_apci_type`, `iec104_asdu_func`, `iec104.*`.
    pub iec104: Vec<crate::iec104::Field>,
    /// `opcua.*`.
    pub opcua: Vec<crate::opcua::Field>,
    /// `mms_func`, `mms.*`.
    pub mms: Vec<crate::mms::Field>,
    /// `goose.*`: fields of a GOOSE frame.
    pub goose: Vec<crate::goose::Field>,
    /// Keywords accepted that change nothing on a passive sensor (`rawbytes`, `target`,
    /// `prefilter`): what a strict load refuses the rule for.
    pub without_effect: Vec<&'static str>,
}

/// Keywords accepted and deliberately without effect on a passive sensor.
const NO_EFFECT: [&str; 3] = ["rawbytes", "target", "prefilter"];

impl Signature {
    /// Parse one rule; flowbit names are shared with the other rules of the set.
    pub fn parse(rule: &RuleText, vars: &Vars, bits: &mut FlowbitNames) -> Result<Self, Error> {
        let raw = RawRule::parse(rule)?;
        let line = raw.line;
        let err = |m: String| Error::new(line, m);
        let kw = |k: KeywordError| Error::keyword(line, k);
        let header = Header::parse(&raw.header, line, vars)?;
        let mut sig = Signature {
            line,
            header,
            gid: 1,
            sid: 0,
            rev: 1,
            msg: String::new(),
            classtype: None,
            priority: None,
            references: Vec::new(),
            metadata: Vec::new(),
            inspections: Vec::new(),
            dsize: None,
            headers: Vec::new(),
            flow: FlowOpts::default(),
            flowbits: Vec::new(),
            flowint: Vec::new(),
            lua: None,
            xbits: Vec::new(),
            threshold: None,
            tag: None,
            app_events: Vec::new(),
            app_layer_protocol: None,
            modbus: Vec::new(),
            dnp3_func: None,
            dnp3_ind: Vec::new(),
            dnp3_obj: Vec::new(),
            s7: Vec::new(),
            s7plus: Vec::new(),
            urilen: None,
            dns: Vec::new(),
            tls: Vec::new(),
            ssh: Vec::new(),
            ftp: Vec::new(),
            enip: Vec::new(),
            iec104: Vec::new(),
            opcua: Vec::new(),
            mms: Vec::new(),
            goose: Vec::new(),
            without_effect: Vec::new(),
        };
        // The sticky buffer options go to, once one is named; and the buffer the last content
        // or pcre went to, which relative options and content modifiers continue.
        let mut sticky: Option<Buffer> = None;
        let mut last: Option<Buffer> = None;
        let place = |sticky: Option<Buffer>, last: Option<Buffer>, relative: bool| {
            sticky
                .or(if relative { last } else { None })
                .unwrap_or(Buffer::Payload)
        };
        let mut extract_names: Vec<String> = Vec::new();
        for opt in raw.options {
            let name = opt.name.as_str();
            let value = opt.value.as_deref();
            // An error in the option's value, after the option's name.
            let e = |k: KeywordError| Error::keyword_in(line, name, k);
            let need = || {
                value.ok_or_else(|| {
                    kw(KeywordError::MissingValue {
                        keyword: name.into(),
                    })
                })
            };
            let number = |v: &str| -> Result<u32, Error> {
                v.trim().parse().map_err(|_| {
                    kw(KeywordError::NotAWholeNumber {
                        keyword: name.into(),
                        value: v.into(),
                    })
                })
            };
            match name {
                "msg" => sig.msg = quoted_text(need()?).map_err(|t| e(t.into()))?,
                "sid" => sig.sid = number(need()?)?,
                "rev" => sig.rev = number(need()?)?,
                "gid" => sig.gid = number(need()?)?,
                "classtype" => sig.classtype = Some(need()?.trim().to_owned()),
                "priority" => {
                    let p = number(need()?)?;
                    sig.priority = Some(
                        u8::try_from(p)
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| kw(KeywordError::Priority { value: p }))?,
                    );
                }
                "reference" => {
                    let (kind, id) = need()?.split_once(',').ok_or_else(|| {
                        kw(KeywordError::Form {
                            keyword: "reference",
                            form: "TYPE,ID",
                        })
                    })?;
                    sig.references
                        .push((kind.trim().to_owned(), id.trim().to_owned()));
                }
                "metadata" => {
                    for item in need()?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (k, v) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
                        sig.metadata.push((k.to_owned(), v.trim().to_owned()));
                    }
                }
                "content" | "uricontent" => {
                    let c = Content::parse(need()?).map_err(e)?;
                    let b = match name {
                        "uricontent" => Buffer::Http(http::Buf::Uri),
                        _ => sticky.unwrap_or(Buffer::Payload),
                    };
                    sig.op(b, Op::Content(c));
                    last = Some(b);
                }
                "pcre" => {
                    let p = Pcre::parse(need()?).map_err(e)?;
                    let b = match p.http {
                        Some(h) => Buffer::Http(h),
                        None => place(sticky, last, p.relative),
                    };
                    sig.op(b, Op::Pcre(p));
                    last = Some(b);
                }
                "isdataat" => {
                    let op = parse_isdataat(need()?).map_err(e)?;
                    sig.op(place(sticky, last, op.relative()), op);
                }
                "byte_test" => {
                    let t = ByteTest::parse(need()?, &extract_names).map_err(e)?;
                    sig.op(place(sticky, last, t.read.relative), Op::ByteTest(t));
                }
                "byte_jump" => {
                    let j = ByteJump::parse(need()?, &extract_names).map_err(e)?;
                    sig.op(place(sticky, last, j.read.relative), Op::ByteJump(j));
                }
                "byte_extract" => {
                    let x = ByteExtract::parse(need()?, &mut extract_names).map_err(e)?;
                    sig.op(place(sticky, last, x.read.relative), Op::ByteExtract(x));
                }
                "asn1" => {
                    let a = crate::asn1::Asn1::parse(need()?).map_err(e)?;
                    sig.op(
                        place(sticky, last, a.relative_offset.is_some()),
                        Op::Asn1(a),
                    );
                }
                "dataset" | "datarep" => {
                    let u = crate::dataset::Use::parse(need()?, name == "datarep").map_err(e)?;
                    let on = sticky.ok_or_else(|| {
                        err(format!(
                            "`{name}` reads a sticky buffer: name one before it"
                        ))
                    })?;
                    if on == Buffer::Base64Data {
                        return Err(err(format!("`{name}` cannot read `base64_data`")));
                    }
                    sig.op(on, Op::Dataset(u));
                }
                "lua" | "luajit" => {
                    if sig.lua.is_some() {
                        return Err(err("one `lua` script a rule".into()));
                    }
                    let path = need()?.trim();
                    if path.is_empty() {
                        return Err(kw(KeywordError::MissingValue {
                            keyword: name.into(),
                        }));
                    }
                    sig.lua = Some(crate::lua::LuaUse {
                        path: path.to_owned(),
                        buffer: sticky.filter(|b| *b != Buffer::Base64Data),
                        script: None,
                    });
                }
                "base64_decode" => {
                    if sticky == Some(Buffer::Base64Data) {
                        return Err(err("`base64_decode` inside `base64_data`".into()));
                    }
                    let d = crate::base64::Base64Decode::parse(value).map_err(e)?;
                    sig.op(place(sticky, last, d.relative), Op::Base64(Box::new(d)));
                }
                "base64_data" => {
                    if !sig.decodes_base64() {
                        return Err(err(
                            "`base64_data` without a `base64_decode` before it".into()
                        ));
                    }
                    sticky = Some(Buffer::Base64Data);
                    last = None;
                }
                "bsize" => {
                    let m = crate::num::UintMatch::parse(need()?).map_err(e)?;
                    sig.op(sticky.unwrap_or(Buffer::Payload), Op::Bsize(m));
                }
                k if crate::dns::Field::KEYWORDS.contains(&k) => sig
                    .dns
                    .push(crate::dns::Field::parse(k, need()?).map_err(e)?),
                k if crate::tls::Field::KEYWORDS.contains(&k) => sig
                    .tls
                    .push(crate::tls::Field::parse(k, need()?).map_err(e)?),
                k if crate::ssh::Field::KEYWORDS.contains(&k) => sig
                    .ssh
                    .push(crate::ssh::Field::parse(k, need()?).map_err(e)?),
                k if crate::enip::Field::KEYWORDS.contains(&k) => sig
                    .enip
                    .push(crate::enip::Field::parse(k, need()?).map_err(e)?),
                k if crate::iec104::Field::KEYWORDS.contains(&k) => sig
                    .iec104
                    .push(crate::iec104::Field::parse(k, need()?).map_err(e)?),
                k if crate::opcua::Field::KEYWORDS.contains(&k) => sig
                    .opcua
                    .push(crate::opcua::Field::parse(k, need()?).map_err(e)?),
                k if crate::goose::Field::KEYWORDS.contains(&k) => sig
                    .goose
                    .push(crate::goose::Field::parse(k, need()?).map_err(e)?),
                k if crate::mms::Field::KEYWORDS.contains(&k) => sig
                    .mms
                    .push(crate::mms::Field::parse(k, need()?).map_err(e)?),
                k if crate::ftp::Field::KEYWORDS.contains(&k) => {
                    sig.ftp.push(crate::ftp::Field::parse(k, value).map_err(e)?)
                }
                "urilen" => sig.urilen = Some(Urilen::parse(need()?).map_err(e)?),
                m if value.is_none() && http::Buf::modifier(m).is_some() => {
                    // Suricata 4's spelling: the content just before moves into the buffer.
                    let to = Buffer::Http(http::Buf::modifier(m).unwrap_or(http::Buf::Uri));
                    let from = last.ok_or_else(|| {
                        err(format!("`{name}` without a content right before it"))
                    })?;
                    let ops = sig.take_from_last_content(from).ok_or_else(|| {
                        err(format!("`{name}` without a content right before it"))
                    })?;
                    for op in ops {
                        sig.op(to, op);
                    }
                    last = Some(to);
                }
                "dsize" => sig.dsize = Some(UintMatch::parse(need()?).map_err(e)?),
                k if packet::KEYWORDS.contains(&k) => {
                    let v = match value {
                        None if packet::NO_VALUE.contains(&k) => "",
                        _ => need()?,
                    };
                    sig.headers.push(HeaderMatch::parse(k, v).map_err(e)?)
                }
                "flow" => sig.flow = FlowOpts::parse(need()?).map_err(e)?,
                "flowbits" => sig.flowbits.push(bits.parse(need()?).map_err(e)?),
                "noalert" => sig.flowbits.push(FlowbitOp::NoAlert),
                "flowint" => sig
                    .flowint
                    .push(crate::flowint::FlowintOp::parse(need()?, bits).map_err(e)?),
                "tag" => sig.tag = Some(crate::tag::Tag::parse(need()?).map_err(e)?),
                "xbits" => sig
                    .xbits
                    .push(crate::xbits::Xbit::parse(need()?).map_err(e)?),
                "threshold" | "detection_filter" => {
                    if sig.threshold.is_some() {
                        return Err(kw(Conflict::TwoThresholds.into()));
                    }
                    let t = Threshold::parse(need()?, name == "detection_filter").map_err(e)?;
                    sig.threshold = Some(t);
                }
                "app-layer-event" => sig.app_events.push(need()?.trim().to_owned()),
                "app-layer-protocol" => {
                    let v = need()?.trim();
                    let (neg, p) = match v.strip_prefix('!') {
                        Some(p) => (true, p),
                        None => (false, v),
                    };
                    let Some(proto) = AppProto::ALL
                        .into_iter()
                        .find(|a| a.name() == p || a.label() == p)
                    else {
                        return Err(e(KeywordError::invalid(
                            None,
                            p,
                            "a protocol this sensor decodes",
                        )));
                    };
                    sig.app_layer_protocol = Some((proto, !neg));
                }
                "modbus" => sig.modbus.push(ModbusMatch::parse(need()?).map_err(e)?),
                "dnp3_func" | "dnp3.func" => {
                    sig.dnp3_func = Some(dnp3::parse_func(need()?).map_err(e)?)
                }
                "dnp3_ind" | "dnp3.ind" => sig.dnp3_ind.push(IndMatch::parse(need()?).map_err(e)?),
                "dnp3_obj" | "dnp3.obj" => sig.dnp3_obj.push(dnp3::parse_obj(need()?).map_err(e)?),
                _ if s7comm::is_keyword(name) => {
                    if name.starts_with("s7commplus_") {
                        sig.s7plus.push(PlusMatch::parse(name, value).map_err(e)?);
                    } else {
                        sig.s7.push(S7Match::parse(name, value).map_err(e)?);
                    }
                }
                _ => {
                    if value.is_none() {
                        match Buffer::from_keyword(name).map_err(kw)? {
                            Some(b) => {
                                sticky = Some(b);
                                continue;
                            }
                            None if is_content_modifier(name) => {}
                            None if NO_EFFECT.contains(&name) => {
                                sig.no_effect(name);
                                continue;
                            }
                            None => {}
                        }
                    }
                    if is_content_modifier(name) {
                        let Some(c) = last.and_then(|b| sig.last_content_mut(b)) else {
                            return Err(err(format!("`{name}` without a content right before it")));
                        };
                        c.modify_with(name, value, &extract_names).map_err(kw)?;
                        continue;
                    }
                    if NO_EFFECT.contains(&name) {
                        sig.no_effect(name);
                        continue;
                    }
                    return Err(err(format!("keyword `{name}` is not supported")));
                }
            }
        }
        if sig.sid == 0 {
            return Err(err("no `sid` (or sid 0)".into()));
        }
        // On a data connection `file_data` is what the connection carried, in a mail the
        // attachments: not an HTTP body.
        let files = match sig.header.protocol {
            Protocol::FtpData => Some((
                Buffer::Ftp(crate::ftp::Buf::Data),
                Buffer::Ftp(crate::ftp::Buf::FileName),
            )),
            Protocol::Smtp => Some((
                Buffer::Smtp(crate::smtp::Buf::FileData),
                Buffer::Smtp(crate::smtp::Buf::FileName),
            )),
            _ => None,
        };
        let smb = sig.header.protocol == Protocol::Smb;
        for i in &mut sig.inspections {
            match (i.buffer, files) {
                (Buffer::Http(http::Buf::FileData), Some((data, _))) => i.buffer = data,
                (Buffer::FileName, Some((_, name))) => i.buffer = name,
                (Buffer::FileName, None) if smb => {
                    i.buffer = Buffer::Smb(crate::smb::Buf::FileName)
                }
                (Buffer::Http(http::Buf::FileData), None) if smb => {
                    return Err(err(
                        "`file_data` on `smb` rules: the sensor keeps no SMB file contents".into(),
                    ))
                }
                (Buffer::FileName, None) => {
                    return Err(err(
                        "`file.name` is read on `smtp`, `ftp-data` and `smb` rules only".into(),
                    ))
                }
                _ => {}
            }
        }
        // The payload keywords of a rule on an FTP command read the command line.
        if sig.has_ftp_keywords() {
            for i in &mut sig.inspections {
                if i.buffer == Buffer::Payload {
                    i.buffer = Buffer::Ftp(crate::ftp::Buf::Line);
                }
            }
        }
        // The payload keywords of a rule on a TLS handshake read the handshake messages of
        // the way the rule looks (the client's unless it says `to_client`).
        if sig.has_tls_keywords() {
            let to_client = sig.flow.direction == Some(decoders::Direction::ToClient);
            let wire = if to_client {
                crate::tls::Buf::ServerWire
            } else {
                crate::tls::Buf::ClientWire
            };
            for i in &mut sig.inspections {
                if i.buffer == Buffer::Payload {
                    i.buffer = Buffer::Tls(wire);
                }
            }
        }
        // The payload keywords of a rule that reads an HTTP transaction read the messages as
        // the stream carried them.
        if sig.has_http_keywords() {
            for i in &mut sig.inspections {
                if i.buffer == Buffer::Payload {
                    i.buffer = Buffer::Http(http::Buf::Wire);
                }
            }
        }
        sig.check().map_err(|c| kw(c.into()))?;
        Ok(sig)
    }

    /// Note a keyword accepted without effect, by its static name.
    fn no_effect(&mut self, name: &str) {
        if let Some(n) = NO_EFFECT.iter().find(|n| **n == name) {
            if !self.without_effect.contains(n) {
                self.without_effect.push(n);
            }
        }
    }

    fn op(&mut self, buffer: Buffer, op: Op) {
        if buffer == Buffer::Base64Data {
            // `base64_data` is only accepted after a decode, so there is one to hold it.
            if let Some(d) = self.last_base64_mut() {
                d.data.push(op);
            }
            return;
        }
        match self.inspections.iter_mut().find(|i| i.buffer == buffer) {
            Some(i) => i.ops.push(op),
            None => self.inspections.push(Inspection {
                buffer,
                ops: vec![op],
            }),
        }
    }

    /// The last content of `buffer`'s list and the options after it (relative to it),
    /// removed.
    fn take_from_last_content(&mut self, buffer: Buffer) -> Option<Vec<Op>> {
        let i = self.inspections.iter().position(|i| i.buffer == buffer)?;
        let ops = &mut self.inspections[i].ops;
        let at = ops.iter().rposition(|op| matches!(op, Op::Content(_)))?;
        let taken = ops.split_off(at);
        if ops.is_empty() {
            self.inspections.remove(i);
        }
        Some(taken)
    }

    /// The last content of `buffer`'s list: what a content modifier applies to, even with other
    /// options (`isdataat`, `pcre`) after it.
    fn last_content_mut(&mut self, buffer: Buffer) -> Option<&mut Content> {
        let ops = match buffer {
            Buffer::Base64Data => &mut self.last_base64_mut()?.data,
            _ => {
                &mut self
                    .inspections
                    .iter_mut()
                    .find(|i| i.buffer == buffer)?
                    .ops
            }
        };
        ops.iter_mut().rev().find_map(|op| match op {
            Op::Content(c) => Some(c),
            _ => None,
        })
    }

    /// The rule's last `base64_decode`, whatever buffer it reads.
    fn last_base64_mut(&mut self) -> Option<&mut crate::base64::Base64Decode> {
        self.inspections.iter_mut().rev().find_map(|i| {
            i.ops.iter_mut().rev().find_map(|op| match op {
                Op::Base64(d) => Some(&mut **d),
                _ => None,
            })
        })
    }

    /// Whether the rule decodes base64 anywhere.
    fn decodes_base64(&self) -> bool {
        self.inspections
            .iter()
            .any(|i| i.ops.iter().any(|op| matches!(op, Op::Base64(_))))
    }

    /// The dataset uses of the rule, to bind to the ruleset's shared sets.
    pub fn datasets_mut(&mut self) -> impl Iterator<Item = &mut crate::dataset::Use> {
        self.inspections.iter_mut().flat_map(|i| {
            i.ops.iter_mut().filter_map(|op| match op {
                Op::Dataset(u) => Some(u),
                _ => None,
            })
        })
    }

    /// Every content of the rule, with the buffer it inspects.
    pub fn contents(&self) -> impl Iterator<Item = (Buffer, &Content)> {
        self.inspections.iter().flat_map(|i| {
            i.ops.iter().filter_map(move |op| match op {
                Op::Content(c) => Some((i.buffer, c)),
                _ => None,
            })
        })
    }

    /// The application protocol the rule is about, from its header or its keywords.
    pub fn app_proto(&self) -> Option<AppProto> {
        self.header
            .protocol
            .app_proto()
            .or_else(|| self.keyword_protos().next())
    }

    /// The application protocols the rule's keywords belong to, one a family: more than one
    /// is refused at load.
    fn keyword_protos(&self) -> impl Iterator<Item = AppProto> {
        [
            (!self.modbus.is_empty(), AppProto::Modbus),
            (self.has_dnp3_keywords(), AppProto::Dnp3),
            (self.has_enip_keywords(), AppProto::Enip),
            (!self.iec104.is_empty(), AppProto::Iec104),
            (!self.opcua.is_empty(), AppProto::Opcua),
            (self.has_mms_keywords(), AppProto::Mms),
            (self.has_s7_keywords(), AppProto::S7comm),
            (self.has_http_keywords(), AppProto::Http),
            (self.has_dns_keywords(), AppProto::Dns),
            (self.has_tls_keywords(), AppProto::Tls),
            (self.has_ssh_keywords(), AppProto::Ssh),
            (self.has_ftp_keywords(), AppProto::Ftp),
            (self.has_ftp_data_keywords(), AppProto::FtpData),
            (self.has_smtp_keywords(), AppProto::Smtp),
            (self.has_smb_keywords(), AppProto::Smb),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, p)| p)
    }

    /// Whether the rule reads an EtherNet/IP message: a keyword or a buffer.
    pub fn has_enip_keywords(&self) -> bool {
        !self.enip.is_empty()
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Enip(_)))
    }

    /// Whether the rule reads an MMS PDU: a keyword or `mms_data`.
    pub fn has_mms_keywords(&self) -> bool {
        !self.mms.is_empty() || self.inspections.iter().any(|i| i.buffer == Buffer::MmsData)
    }

    fn has_dnp3_keywords(&self) -> bool {
        self.dnp3_func.is_some()
            || !self.dnp3_ind.is_empty()
            || !self.dnp3_obj.is_empty()
            || self
                .inspections
                .iter()
                .any(|i| i.buffer == Buffer::Dnp3Data)
    }

    /// Whether the rule reads an HTTP transaction: an HTTP buffer, or `urilen`.
    pub fn has_http_keywords(&self) -> bool {
        self.urilen.is_some()
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Http(_)))
    }

    /// Whether the rule reads a TLS handshake: a buffer or a value keyword.
    pub fn has_tls_keywords(&self) -> bool {
        !self.tls.is_empty()
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Tls(_)))
    }

    /// When a TLS rule can be decided: once the ClientHello is in, or the server's side.
    pub fn tls_stage(&self) -> decoders::tls::Progress {
        let bufs = self.inspections.iter().filter_map(|i| match i.buffer {
            Buffer::Tls(b) => Some(b.ready_at()),
            _ => None,
        });
        bufs.chain(self.tls.iter().map(crate::tls::Field::ready_at))
            .max()
            .unwrap_or(decoders::tls::Progress::ClientHello)
    }

    /// Whether the rule reads an SSH handshake: a buffer or a value keyword.
    pub fn has_ssh_keywords(&self) -> bool {
        !self.ssh.is_empty()
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Ssh(_)))
    }

    /// When an SSH rule can be decided: at a side's banner, or once its KEXINIT is in.
    pub fn ssh_stage(&self) -> decoders::ssh::Progress {
        self.inspections
            .iter()
            .filter_map(|i| match i.buffer {
                Buffer::Ssh(b) => Some(b.ready_at()),
                _ => None,
            })
            .max()
            .unwrap_or(decoders::ssh::Progress::Banner)
    }

    /// Whether the rule reads an FTP control connection's transactions.
    pub fn has_ftp_keywords(&self) -> bool {
        self.ftp.iter().any(|f| !f.on_data())
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Ftp(b) if !b.on_data()))
    }

    /// Whether the rule reads an FTP data connection (`ftpdata_command`, its `file_data`).
    pub fn has_ftp_data_keywords(&self) -> bool {
        self.ftp.iter().any(crate::ftp::Field::on_data)
            || self.inspections.iter().any(|i| {
                matches!(
                    i.buffer,
                    Buffer::Ftp(crate::ftp::Buf::Data | crate::ftp::Buf::FileName)
                )
            })
    }

    /// When an FTP rule can be decided: at the command if it reads only the command, else
    /// at the final reply.
    pub fn ftp_stage(&self) -> decoders::ftp::Progress {
        let bufs = self.inspections.iter().filter_map(|i| match i.buffer {
            Buffer::Ftp(b) => Some(b.ready_at()),
            _ => None,
        });
        bufs.chain(self.ftp.iter().map(crate::ftp::Field::ready_at))
            .max()
            .unwrap_or(decoders::ftp::Progress::Request)
    }

    /// Whether an FTP rule reads what only a reply has (`ftp.reply`, `ftp.completion_code`,
    /// `ftp.reply_received`): it is inspected going to the client only, as Suricata does.
    pub fn ftp_to_client_only(&self) -> bool {
        use crate::ftp::{Buf, Field};
        self.ftp
            .iter()
            .any(|f| matches!(f, Field::ReplyReceived(_)))
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Ftp(Buf::Reply | Buf::CompletionCode)))
    }

    /// Whether the rule reads an SMTP transaction: a buffer of it, or `file_data` in an
    /// `smtp` rule.
    pub fn has_smtp_keywords(&self) -> bool {
        self.inspections
            .iter()
            .any(|i| matches!(i.buffer, Buffer::Smtp(_)))
    }

    /// Whether the rule reads an SMB transaction: `smb.share`, `smb.named_pipe`, or
    /// `file.name` in an `smb` rule.
    pub fn has_smb_keywords(&self) -> bool {
        self.inspections
            .iter()
            .any(|i| matches!(i.buffer, Buffer::Smb(_)))
    }

    /// When an SMTP rule can be decided: at the envelope, or once the message is read.
    pub fn smtp_stage(&self) -> decoders::smtp::Progress {
        self.inspections
            .iter()
            .filter_map(|i| match i.buffer {
                Buffer::Smtp(b) => Some(b.ready_at()),
                _ => None,
            })
            .max()
            .unwrap_or(decoders::smtp::Progress::Envelope)
    }

    /// Whether the rule reads a DNS message: a name buffer or a field keyword.
    pub fn has_dns_keywords(&self) -> bool {
        !self.dns.is_empty()
            || self
                .inspections
                .iter()
                .any(|i| matches!(i.buffer, Buffer::Dns(_)))
    }

    /// The HTTP buffers the rule reads (`urilen` reads the URI).
    pub fn http_buffers(&self) -> impl Iterator<Item = http::Buf> + Clone + '_ {
        self.inspections
            .iter()
            .filter_map(|i| match i.buffer {
                Buffer::Http(b) => Some(b),
                _ => None,
            })
            .chain(self.urilen.map(|_| http::Buf::Uri))
    }

    fn has_s7_keywords(&self) -> bool {
        !self.s7.is_empty()
            || !self.s7plus.is_empty()
            || self.inspections.iter().any(|i| i.buffer == Buffer::S7Param)
    }

    /// Whether the rule looks into application transactions rather than packets.
    pub fn is_transactional(&self) -> bool {
        !self.modbus.is_empty()
            || self.has_dnp3_keywords()
            || self.has_enip_keywords()
            || !self.iec104.is_empty()
            || !self.opcua.is_empty()
            || self.has_mms_keywords()
            || self.has_s7_keywords()
            || self.has_http_keywords()
            || self.has_dns_keywords()
            || self.has_tls_keywords()
            || self.has_ssh_keywords()
            || self.has_ftp_keywords()
            || self.has_ftp_data_keywords()
            || self.has_smtp_keywords()
            || self.has_smb_keywords()
            || self.header.protocol == Protocol::S7commPlus
    }

    /// Combinations no traffic could match, refused at load.
    fn check(&self) -> Result<(), Conflict> {
        // A frame on Ethernet alone: its fields, or the follower's events, nothing else.
        let frame = self.header.protocol.ether_type().is_some();
        if !self.goose.is_empty() && self.header.protocol != Protocol::Goose {
            return Err(Conflict::Protocol {
                keywords: "goose",
                rule: self.header.protocol.name(),
            });
        }
        if frame
            && (self.is_transactional()
                || !self.inspections.is_empty()
                || !self.headers.is_empty()
                || self.dsize.is_some()
                || (self.goose.is_empty() && self.app_events.is_empty()))
        {
            return Err(Conflict::FrameRule {
                rule: self.header.protocol.name(),
            });
        }
        if !self.goose.is_empty() && !self.app_events.is_empty() {
            return Err(Conflict::EventWithTransaction);
        }
        if !self.headers.is_empty() && (self.is_transactional() || self.flow.only_stream) {
            return Err(Conflict::HeaderNotPacket);
        }
        let mut protos = self.keyword_protos();
        let implied = protos.next();
        if protos.next().is_some() {
            return Err(Conflict::IcsProtocols);
        }
        if self.header.protocol == Protocol::Icmp && implied.is_some() {
            return Err(Conflict::IcsInIcmp);
        }
        let header = self.header.protocol.app_proto();
        if let (Some(h), Some(k)) = (header, implied) {
            if h != k {
                return Err(Conflict::Protocol {
                    keywords: k.name(),
                    rule: self.header.protocol.name(),
                });
            }
        }
        if !self.s7.is_empty() && self.header.protocol == Protocol::S7commPlus {
            return Err(Conflict::S7InPlus);
        }
        let s7_param = self.inspections.iter().any(|i| i.buffer == Buffer::S7Param);
        if (!self.s7plus.is_empty() || self.header.protocol == Protocol::S7commPlus) && s7_param {
            return Err(Conflict::S7ParamInPlus);
        }
        if !self.s7plus.is_empty() && self.header.protocol == Protocol::S7comm {
            return Err(Conflict::PlusInS7);
        }
        if !self.app_events.is_empty() && self.is_transactional() {
            return Err(Conflict::EventWithTransaction);
        }
        if !self.app_events.is_empty() && !self.inspections.is_empty() {
            return Err(Conflict::EventWithPayload);
        }
        if self.is_transactional() && self.dsize.is_some() {
            return Err(Conflict::DsizeWithTransaction);
        }
        if self.is_transactional() && self.inspections.iter().any(|i| i.buffer == Buffer::Payload) {
            return Err(Conflict::PayloadWithTransaction);
        }
        Ok(())
    }
}

fn is_content_modifier(name: &str) -> bool {
    matches!(
        name,
        "nocase"
            | "offset"
            | "depth"
            | "distance"
            | "within"
            | "fast_pattern"
            | "startswith"
            | "endswith"
    )
}

/// Every rule of a rules file: the ones that parse, and an error for each that does not
/// (including a second rule with a `gid:sid` already taken). One bad rule costs only itself.
pub fn parse_rules(file: &str, vars: &Vars) -> (Vec<Signature>, Vec<Error>) {
    parse_rules_with(file, vars, &mut FlowbitNames::default())
}

/// [`parse_rules`] with flowbit names shared across files.
pub fn parse_rules_with(
    file: &str,
    vars: &Vars,
    bits: &mut FlowbitNames,
) -> (Vec<Signature>, Vec<Error>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashMap::new();
    for rule in split_rules(file) {
        match Signature::parse(&rule, vars, bits) {
            Ok(sig) => match seen.insert((sig.gid, sig.sid), sig.line) {
                Some(first) => bad.push(Error::new(
                    sig.line,
                    format!(
                        "sid {}:{} is already used by the rule on line {first}",
                        sig.gid, sig.sid
                    ),
                )),
                None => good.push(sig),
            },
            Err(e) => bad.push(e),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Signature, Error> {
        Signature::parse(
            &split_rules(text)[0],
            &Vars::suricata_defaults(),
            &mut FlowbitNames::default(),
        )
    }

    #[test]
    fn identity_and_contents() {
        let text = r#"alert tcp any any -> any 502 (msg:"Modbus \"write\" to PLC"; content:"|00 00|"; offset:2; depth:2; classtype:attempted-admin; priority:2; reference:url,attack.mitre.org/techniques/T0836; metadata: mitre_attack_ics T0836, created_at 2026_11_21; sid:9000001; rev:3;)"#;
        let s = one(text).unwrap();
        assert_eq!((s.gid, s.sid, s.rev), (1, 9000001, 3));
        assert_eq!(s.msg, r#"Modbus "write" to PLC"#);
        assert_eq!(s.classtype.as_deref(), Some("attempted-admin"));
        assert_eq!(s.priority, Some(2));
        assert_eq!(s.references[0].0, "url");
        assert_eq!(
            s.metadata[0],
            ("mitre_attack_ics".to_owned(), "T0836".to_owned())
        );
        let contents: Vec<_> = s.contents().collect();
        assert_eq!(contents.len(), 1);
        assert_eq!(
            (contents[0].1.offset, contents[0].1.depth),
            (Some(2), Some(2))
        );
        assert!(!s.is_transactional());
    }

    #[test]
    fn sticky_buffers_scope_contents() {
        let text = r#"alert dnp3 any any -> any any (dnp3_data; content:"b"; pkt_data; sid:1;)"#;
        let s = one(text).unwrap();
        let bufs: Vec<_> = s.contents().map(|(b, _)| b).collect();
        assert_eq!(bufs, [Buffer::Dnp3Data]);
        assert!(s.is_transactional());
        let mixed = r#"alert dnp3 any any -> any any (content:"a"; dnp3_func:1; sid:1;)"#;
        assert!(one(mixed).unwrap_err().message.contains("sticky buffer"));
        let s7 = r#"alert tcp any any -> any any (s7comm.param; content:"P_"; sid:1;)"#;
        let s = one(s7).unwrap();
        assert_eq!(s.app_proto(), Some(AppProto::S7comm));
        assert!(s.is_transactional());
        let plus = r#"alert s7commplus any any -> any any (s7comm.param; content:"P_"; sid:1;)"#;
        assert!(one(plus).unwrap_err().message.contains("S7comm-plus"));
        let both = r#"alert tcp any any -> any any (s7comm.param; content:"P_"; dnp3_data; content:"x"; sid:1;)"#;
        assert!(one(both).is_err());
    }

    #[test]
    fn ics_keywords_and_their_protocols() {
        let s = one("alert tcp any any -> any 502 (modbus: function 8, subfunction 1; sid:1;)")
            .unwrap();
        assert_eq!(s.app_proto(), Some(AppProto::Modbus));
        assert!(s.is_transactional());
        let s = one("alert s7comm any any -> any any (s7comm.function: plc_stop; s7comm.rosctr: job; sid:1;)").unwrap();
        assert_eq!(s.s7.len(), 2);
        assert!(one("alert dnp3 any any -> any any (modbus: function 1; sid:1;)").is_err());
        assert!(one("alert s7comm any any -> any any (s7commplus_func: explore; sid:1;)").is_err());
        assert!(one(
            "alert modbus any any -> any any (modbus: function 1; dnp3_func: read; sid:1;)"
        )
        .is_err());
        // A script is read when the rules are loaded, not parsed.
        let s = one("alert tcp any any -> any any (http.uri; lua:x.lua; sid:1;)").unwrap();
        let lua = s.lua.unwrap();
        assert_eq!(
            (lua.path.as_str(), lua.buffer),
            ("x.lua", Some(Buffer::Http(http::Buf::Uri)))
        );
        assert!(lua.script.is_none());
        let e = one("alert tcp any any -> any any (lua:a.lua; luajit:b.lua; sid:1;)").unwrap_err();
        assert!(e.message.contains("one `lua` script"), "{}", e.message);
        let e =
            one("alert tcp any any -> any any (krb5.cname; content:\"x\"; sid:1;)").unwrap_err();
        assert!(e.message.contains("does not decode"));
        let s = one("alert tcp any any -> any any (smb.share; content:\"x\"; sid:1;)").unwrap();
        assert_eq!(s.app_proto(), Some(AppProto::Smb));
        let s = one("alert smb any any -> any any (file.name; content:\".ap17\"; sid:1;)").unwrap();
        assert!(s.has_smb_keywords());
        assert!(one("alert smb any any -> any any (file_data; content:\"x\"; sid:1;)").is_err());
        let s = one("alert tcp any any -> any any (ssh.software; content:\"x\"; sid:1;)").unwrap();
        assert_eq!(s.app_proto(), Some(AppProto::Ssh));
        let s = one("alert ftp any any -> any any (ftp.command; content:\"RETR\"; ftp.reply; content:\"226\"; sid:1;)").unwrap();
        assert_eq!(s.ftp_stage(), decoders::ftp::Progress::Response);
        assert!(s.ftp_to_client_only());
        // `file_data` on a data connection is what it carried, not an HTTP body.
        let s = one("alert ftp-data any any -> any any (ftpdata_command:stor; file_data; content:\"root\"; sid:1;)").unwrap();
        assert_eq!(s.app_proto(), Some(AppProto::FtpData));
        assert!(s.has_ftp_data_keywords() && !s.has_http_keywords());
        assert!(one("alert ftp any any -> any any (ftpdata_command:retr; sid:1;)").is_err());
        // `file.name` is whose file the rule's protocol says.
        let s =
            one("alert smtp any any -> any any (file.name; content:\".ap17\"; sid:1;)").unwrap();
        assert_eq!(
            s.inspections[0].buffer,
            Buffer::Smtp(crate::smtp::Buf::FileName)
        );
        let s = one("alert ftp-data any any -> any any (file.name; content:\".ap17\"; sid:1;)")
            .unwrap();
        assert_eq!(
            s.inspections[0].buffer,
            Buffer::Ftp(crate::ftp::Buf::FileName)
        );
        let e = one("alert tcp any any -> any any (file.name; content:\"x\"; sid:1;)").unwrap_err();
        assert!(
            e.message.contains("`file.name` is read on"),
            "{}",
            e.message
        );
        // Payload keywords beside TLS keywords read the handshake messages of the rule's way.
        let s = one("alert tls any any -> any any (flow:established,from_server; content:\"|55 04 03|\"; tls.fingerprint:\"4c:1c\"; sid:1;)").unwrap();
        assert_eq!(
            s.inspections[0].buffer,
            Buffer::Tls(crate::tls::Buf::ServerWire)
        );
        assert_eq!(s.tls_stage(), decoders::tls::Progress::Server);
        // Emerging Threats' PORT bounce rule: its payload keywords read the command line.
        let s = one("alert tcp any any -> any 21 (flow:to_server,established; content:\"PORT\"; nocase; ftpbounce; pcre:\"/^PORT/smi\"; sid:2103441;)").unwrap();
        assert_eq!(s.inspections.len(), 1);
        assert_eq!(s.inspections[0].buffer, Buffer::Ftp(crate::ftp::Buf::Line));
        assert_eq!(s.ftp_stage(), decoders::ftp::Progress::Request);
    }

    #[test]
    fn bad_rules_cost_only_themselves() {
        let text = "\
alert tcp any any -> any any (msg:\"ok\"; sid:1;)
alert tcp any any -> any any (msg:\"no sid\";)
alert tcp any any -> any any (nocase; content:\"x\"; sid:3;)
alert tcp any any -> any any (content:\"|0|\"; sid:4;)
alert tcp any any -> any any (msg:\"dup\"; sid:1;)
alert tcp any any -> any any (priority:0; sid:6;)
alert tcp any any -> any any (content:\"y\"; depth:x; sid:7;)
alert tcp any any -> any any (msg:\"ok too\"; sid:8;)
";
        let (sigs, errs) = parse_rules(text, &Vars::suricata_defaults());
        assert_eq!(sigs.iter().map(|s| s.sid).collect::<Vec<_>>(), [1, 8]);
        let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        assert!(errs[0].message.contains("sid"));
        assert!(errs[1].message.contains("without a content"));
        assert!(errs[2].message.contains("hex"));
        assert!(errs[3]
            .message
            .contains("already used by the rule on line 1"));
        assert!(errs[4].message.contains("priority"));
        assert!(errs[5].message.contains("depth:x"));
    }
}
