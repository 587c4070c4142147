//! The compiled ruleset and its three ways in: packets, application transactions, and
//! application-layer events.
//!
//! * Packet rules (`tcp`, `udp`, `ip`, and protocol rules without transaction keywords) are
//!   found through the [`Prefilter`] over each packet's payload; `flow:only_stream` rules look
//!   at reassembled stream data instead.
//! * Transaction rules (`modbus:`, `dnp3_*`, `s7comm.*`, `s7commplus_*`) are indexed by the
//!   protocol field they require — Modbus function, DNP3 function, S7 function — so a
//!   transaction meets only the rules for its own code plus those that name none.
//! * HTTP rules are inspected once per transaction, at the [`Progress`] where all their
//!   buffers have arrived; at each point a prefilter per buffer (the URI, the header fields,
//!   the body…) over that buffer's fast patterns picks the candidates.
//! * `app-layer-event` rules are indexed by event name.
//!
//! Matching allocates nothing once its [`Detector`] is warm: candidates and alerts go into
//! vectors that are reused.

use std::collections::HashMap;
use std::net::IpAddr;

use decoders::http::{Progress, Transaction};
use decoders::{AppProto, Direction, Tx};

use crate::classification::Classification;
use crate::flow::{FlowVars, FlowbitNames, FlowbitOp};
use crate::http::{self, Plan};
use crate::lua::Input;
use crate::payload::{Buffer, Op};
use crate::prefilter::{Entry, Prefilter, Scratch};
use crate::threshold::{Seen, Thresholds};
use crate::{dnp3, Action, Direction as RuleDirection, KeywordError, Protocol, Signature};

/// The transport of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    /// Another IP protocol, by number.
    Other(u8),
    /// An Ethernet frame that is not IP (GOOSE, Sampled Values), by ethertype: its view's
    /// addresses are unspecified and its ports 0.
    Ether(u16),
}

/// What the rules see of the packet (or transaction) being inspected: its addresses in the
/// direction it travels, and the state of its flow.
#[derive(Debug, Clone, Copy)]
pub struct PacketView {
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub transport: Transport,
    pub dir: Direction,
    pub established: bool,
    pub app_proto: Option<AppProto>,
    pub flow_id: u64,
    /// Packet time, in seconds.
    pub secs: u64,
    /// The packet's own headers, when a single packet is inspected (not a stream chunk or a
    /// transaction): what `flags`, `ttl`, `itype`… read.
    pub ip: Option<crate::IpFields>,
}

/// A loaded rule with what its alerts carry.
#[derive(Debug, Clone)]
pub struct Rule {
    pub sig: Signature,
    /// The classification's description of the rule's classtype (EVE `alert.category`).
    pub category: String,
    /// `priority`, else the classtype's, else 3 (EVE `alert.severity`).
    pub severity: u8,
    /// `metadata` grouped by key, values in order.
    pub metadata: Vec<(String, Vec<String>)>,
    noalert: bool,
    /// The application protocol the rule is about, found once at load.
    app: Option<AppProto>,
    /// When and on which side an HTTP rule inspects a transaction.
    http: Option<Plan>,
}

impl Rule {
    fn new(sig: Signature, classes: &Classification) -> Result<Self, KeywordError> {
        let class = class_of(&sig, classes)?;
        let mut metadata: Vec<(String, Vec<String>)> = Vec::new();
        for (k, v) in &sig.metadata {
            match metadata.iter_mut().find(|(key, _)| key == k) {
                Some((_, vs)) => vs.push(v.clone()),
                None => metadata.push((k.clone(), vec![v.clone()])),
            }
        }
        Ok(Rule {
            category: class.map(|c| c.description.clone()).unwrap_or_default(),
            severity: sig.priority.or(class.map(|c| c.priority)).unwrap_or(3),
            metadata,
            noalert: sig.flowbits.contains(&FlowbitOp::NoAlert),
            app: sig.app_proto(),
            http: sig.has_http_keywords().then(|| {
                let to_client = sig.flow.direction.map(|d| d == Direction::ToClient);
                Plan::new(sig.http_buffers(), to_client)
            }),
            sig,
        })
    }
}

/// The classification of a rule's classtype; an error if it names one the classification lacks.
pub(crate) fn class_of<'c>(
    sig: &Signature,
    classes: &'c Classification,
) -> Result<Option<&'c crate::classification::Class>, KeywordError> {
    match &sig.classtype {
        Some(c) => classes
            .get(c)
            .map(Some)
            .ok_or_else(|| KeywordError::UnknownClasstype {
                classtype: c.clone(),
            }),
        None => Ok(None),
    }
}

/// Transaction rules of one protocol, by the code they require.
#[derive(Debug, Clone, Default)]
struct TxIndex {
    by_code: HashMap<u8, Vec<u32>>,
    any_code: Vec<u32>,
}

impl TxIndex {
    fn add(&mut self, rule: u32, code: Option<u8>) {
        match code {
            Some(c) => self.by_code.entry(c).or_default().push(rule),
            None => self.any_code.push(rule),
        }
    }

    fn candidates(&self, code: Option<u8>, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.any_code);
        if let Some(rules) = code.and_then(|c| self.by_code.get(&c)) {
            out.extend_from_slice(rules);
            out.sort_unstable();
        }
    }
}

/// Transaction rules read through named buffers (HTTP at one progress point, DNS names, TLS
/// at one progress point): a prefilter for each buffer over the fast patterns its rules take
/// from it, and the rules that offer none. `K` names a buffer (for HTTP, with its side).
#[derive(Debug, Clone)]
struct BufferIndex<K> {
    by_buffer: Vec<(K, Prefilter)>,
    always: Vec<u32>,
}

impl<K> Default for BufferIndex<K> {
    fn default() -> Self {
        BufferIndex {
            by_buffer: Vec::new(),
            always: Vec::new(),
        }
    }
}

/// A [`BufferIndex`] being filled at compile time.
struct IndexBuilder<'s, K> {
    pending: HashMap<K, Vec<(u32, Entry<'s>)>>,
    always: Vec<u32>,
}

impl<K> Default for IndexBuilder<'_, K> {
    fn default() -> Self {
        IndexBuilder {
            pending: HashMap::new(),
            always: Vec::new(),
        }
    }
}

impl<'s, K: std::hash::Hash + Eq> IndexBuilder<'s, K> {
    /// Rule `rule`, with the buffer and entry its fast pattern comes from, if it has one.
    fn add(&mut self, rule: u32, found: Option<(K, Entry<'s>)>) {
        match found {
            Some((k, entry)) => self.pending.entry(k).or_default().push((rule, entry)),
            None => self.always.push(rule),
        }
    }

    fn build(self) -> BufferIndex<K> {
        BufferIndex {
            by_buffer: self
                .pending
                .into_iter()
                .map(|(k, entries)| (k, Prefilter::build(entries)))
                .collect(),
            always: self.always,
        }
    }
}

/// Mutable matching state: threshold counters and reusable buffers.
#[derive(Debug, Default)]
pub struct Detector {
    pub thresholds: Thresholds,
    /// The `xbits` set, by host or host pair.
    pub xbits: crate::xbits::XbitTable,
    scratch: Scratch,
    /// Candidates gathered from several prefilters.
    gathered: Vec<u32>,
    /// A DNS message's names, per name buffer.
    names: [Vec<Vec<u8>>; crate::dns::Buf::ALL.len()],
    /// Rules fully evaluated, over the run.
    pub evaluated: u64,
    /// This thread's Lua states, by rule.
    pub lua: crate::lua::LuaStates,
}

/// How many rules of each kind a ruleset holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rules: usize,
    pub packet: usize,
    pub stream: usize,
    pub transaction: usize,
    pub event: usize,
    /// Distinct literals in the packet prefilter.
    pub patterns: usize,
    /// Expressions in the packet prefilter's Hyperscan database: pcre-only rules, and the
    /// literals too when there are thousands.
    pub expressions: usize,
    /// Packet rules the prefilter cannot narrow: candidates for every packet.
    pub unfiltered: usize,
}

/// A compiled set of rules.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    rules: Vec<Rule>,
    packet: Prefilter,
    stream: Prefilter,
    modbus: TxIndex,
    dnp3: TxIndex,
    s7comm: TxIndex,
    s7plus: TxIndex,
    /// By [`Progress`].
    http: [BufferIndex<(http::Buf, bool)>; 4],
    dns: BufferIndex<crate::dns::Buf>,
    /// By [`decoders::tls::Progress`].
    tls: [BufferIndex<crate::tls::Buf>; 2],
    /// By [`decoders::ssh::Progress`].
    ssh: [BufferIndex<crate::ssh::Buf>; 2],
    /// By [`decoders::ftp::Progress`].
    ftp: [BufferIndex<crate::ftp::Buf>; 2],
    /// Rules on FTP data connections: few, each checked.
    ftp_data: Vec<u32>,
    /// Rules on EtherNet/IP messages, each checked.
    enip: Vec<u32>,
    /// Rules on IEC 104 APDUs, each checked.
    iec104: Vec<u32>,
    opcua: Vec<u32>,
    mms: Vec<u32>,
    /// Rules on GOOSE frames' fields, each checked.
    goose: Vec<u32>,
    /// By [`decoders::smtp::Progress`].
    smtp: [BufferIndex<crate::smtp::Buf>; 2],
    smb: BufferIndex<crate::smb::Buf>,
    events: HashMap<String, Vec<u32>>,
    counts: Counts,
    flowbits: FlowbitNames,
    /// The named sets the rules' `dataset`/`datarep` share.
    pub datasets: crate::dataset::Datasets,
}

/// What a rule's payload inspection offers the prefilter.
fn fast_pattern(sig: &Signature) -> Entry<'_> {
    fast_pattern_in(sig, |b| b == Buffer::Payload).1
}

/// What the inspections of the buffers `take` accepts offer the prefilter, and from which
/// buffer: the content marked `fast_pattern`, else the longest positive content, else the
/// first pcre that looks at its whole buffer (not relative to an earlier match, not negated).
fn fast_pattern_in(sig: &Signature, take: impl Fn(Buffer) -> bool) -> (Option<Buffer>, Entry<'_>) {
    let contents = || sig.contents().filter(|(b, c)| take(*b) && !c.negated);
    let chosen = contents()
        .find(|(_, c)| c.fast_pattern)
        .or_else(|| contents().max_by_key(|(_, c)| c.bytes.len()));
    if let Some((b, c)) = chosen {
        let entry = Entry::Pattern {
            bytes: &c.bytes,
            nocase: c.nocase,
        };
        return (Some(b), entry);
    }
    sig.inspections
        .iter()
        .filter(|i| take(i.buffer))
        .flat_map(|i| i.ops.iter().map(move |op| (i.buffer, op)))
        .find_map(|(b, op)| match op {
            Op::Pcre(p) if !p.negated && !p.relative => Some((Some(b), Entry::Regex(p))),
            _ => None,
        })
        .unwrap_or((None, Entry::Always))
}

/// The fast pattern among the inspections of the buffers `key` names, keyed by what it
/// returns for the buffer the pattern comes from: a transaction index's entry.
fn keyed_fast_pattern<K>(
    sig: &Signature,
    key: impl Fn(Buffer) -> Option<K>,
) -> Option<(K, Entry<'_>)> {
    match fast_pattern_in(sig, |b| key(b).is_some()) {
        (Some(b), entry) => key(b).map(|k| (k, entry)),
        (None, _) => None,
    }
}

/// Which of a rule's buffers are one app layer's, and which: `layer!(Tls)`.
macro_rules! layer {
    ($layer:ident) => {
        |b: Buffer| match b {
            Buffer::$layer(b) => Some(b),
            _ => None,
        }
    };
}

/// [`keyed_fast_pattern`] over one app layer's buffers: `keyed!(sig, Ssh)`.
macro_rules! keyed {
    ($sig:expr, $layer:ident) => {
        keyed_fast_pattern($sig, layer!($layer))
    };
}

impl Ruleset {
    /// Compile signatures. A rule whose classtype is unknown is refused with its line; pass
    /// rules are ordered first, so that they can silence the others.
    pub fn compile(
        sigs: Vec<Signature>,
        classes: &Classification,
        flowbits: FlowbitNames,
    ) -> (Self, Vec<crate::Error>) {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        for sig in sigs {
            let line = sig.line;
            match Rule::new(sig, classes) {
                Ok(r) => rules.push(r),
                Err(k) => errors.push(crate::Error::keyword(line, k)),
            }
        }
        rules.sort_by_key(|r| r.sig.header.action != Action::Pass);
        let mut set = Ruleset {
            flowbits,
            ..Ruleset::default()
        };
        let (mut packet, mut stream) = (Vec::new(), Vec::new());
        let mut http: [IndexBuilder<(http::Buf, bool)>; 4] = Default::default();
        let mut dns: IndexBuilder<crate::dns::Buf> = IndexBuilder::default();
        let mut tls: [IndexBuilder<crate::tls::Buf>; 2] = Default::default();
        let mut ssh: [IndexBuilder<crate::ssh::Buf>; 2] = Default::default();
        let mut ftp: [IndexBuilder<crate::ftp::Buf>; 2] = Default::default();
        let mut smtp: [IndexBuilder<crate::smtp::Buf>; 2] = Default::default();
        let mut smb: IndexBuilder<crate::smb::Buf> = IndexBuilder::default();
        for (i, r) in rules.iter().enumerate() {
            let i = i as u32;
            let s = &r.sig;
            if !s.goose.is_empty() {
                set.goose.push(i);
                set.counts.transaction += 1;
            } else if s.has_ssh_keywords() {
                ssh[s.ssh_stage() as usize].add(i, keyed!(s, Ssh));
                set.counts.transaction += 1;
            } else if s.has_ftp_keywords() {
                ftp[s.ftp_stage() as usize].add(i, keyed!(s, Ftp));
                set.counts.transaction += 1;
            } else if s.has_smtp_keywords() {
                smtp[s.smtp_stage() as usize].add(i, keyed!(s, Smtp));
                set.counts.transaction += 1;
            } else if s.has_smb_keywords() {
                smb.add(i, keyed!(s, Smb));
                set.counts.transaction += 1;
            } else if s.has_enip_keywords() {
                set.enip.push(i);
                set.counts.transaction += 1;
            } else if !s.iec104.is_empty() {
                set.iec104.push(i);
                set.counts.transaction += 1;
            } else if !s.opcua.is_empty() {
                set.opcua.push(i);
                set.counts.transaction += 1;
            } else if s.has_mms_keywords() {
                set.mms.push(i);
                set.counts.transaction += 1;
            } else if s.has_ftp_data_keywords() {
                set.ftp_data.push(i);
                set.counts.transaction += 1;
            } else if s.has_tls_keywords() {
                tls[s.tls_stage() as usize].add(i, keyed!(s, Tls));
                set.counts.transaction += 1;
            } else if s.has_dns_keywords() {
                dns.add(i, keyed!(s, Dns));
                set.counts.transaction += 1;
            } else if let Some(plan) = r.http {
                let found = keyed_fast_pattern(s, |b| match b {
                    Buffer::Http(b) => Some((b, plan.response)),
                    _ => None,
                });
                http[plan.stage as usize].add(i, found);
                set.counts.transaction += 1;
            } else if !s.app_events.is_empty() {
                for e in &s.app_events {
                    set.events.entry(e.clone()).or_default().push(i);
                }
                set.counts.event += 1;
            } else if s.is_transactional() {
                let (index, code) = match s.app_proto() {
                    Some(AppProto::Modbus) => (
                        &mut set.modbus,
                        match s.modbus.as_slice() {
                            [m] => m.function_key(),
                            _ => None,
                        },
                    ),
                    Some(AppProto::Dnp3) => (&mut set.dnp3, s.dnp3_func),
                    _ if !s.s7plus.is_empty() || s.header.protocol == Protocol::S7commPlus => {
                        (&mut set.s7plus, None)
                    }
                    _ => (&mut set.s7comm, s.s7.iter().find_map(|m| m.function_key())),
                };
                index.add(i, code);
                set.counts.transaction += 1;
            } else if s.flow.only_stream {
                stream.push((i, fast_pattern(s)));
                set.counts.stream += 1;
            } else {
                packet.push((i, fast_pattern(s)));
                set.counts.packet += 1;
            }
        }
        set.http = http.map(IndexBuilder::build);
        set.tls = tls.map(IndexBuilder::build);
        set.ssh = ssh.map(IndexBuilder::build);
        set.ftp = ftp.map(IndexBuilder::build);
        set.smtp = smtp.map(IndexBuilder::build);
        set.dns = dns.build();
        set.smb = smb.build();
        set.packet = Prefilter::build(packet);
        set.stream = Prefilter::build(stream);
        set.counts.rules = rules.len();
        set.counts.patterns = set.packet.patterns();
        set.counts.expressions = set.packet.regexes();
        set.counts.unfiltered = set.packet.always();
        set.rules = rules;
        (set, errors)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, i: u32) -> &Rule {
        &self.rules[i as usize]
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub fn flowbit_names(&self) -> &FlowbitNames {
        &self.flowbits
    }

    /// Write the datasets that have a `state` or `save` file: when the sensor stops.
    pub fn save_datasets(&self) -> Result<(), String> {
        self.datasets.save()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules matching a packet's payload (`stream`: a chunk of reassembled stream instead).
    /// Alerting rules are appended to `alerts`.
    pub fn match_packet(
        &self,
        pkt: &PacketView,
        payload: &[u8],
        stream: bool,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let prefilter = if stream { &self.stream } else { &self.packet };
        let mut scratch = std::mem::take(&mut det.scratch);
        prefilter.candidates(payload, &mut scratch);
        let input = Input::Payload(payload);
        self.evaluate(&scratch.candidates, pkt, input, bits, det, alerts, |r| {
            let s = &r.sig;
            s.headers.iter().all(|h| h.matches(pkt.ip.as_ref()))
                && s.dsize.is_none_or(|d| d.matches(payload.len() as u64))
                && s.inspections.iter().all(|i| {
                    i.buffer == Buffer::Payload
                        && (!payload.is_empty() || i.ops.is_empty())
                        && i.matches(payload)
                })
        });
        det.scratch = scratch;
    }

    /// Rules matching an application transaction, seen as `pkt` (oriented the way the
    /// transaction goes: a Modbus request-response pair from client to server).
    pub fn match_tx(
        &self,
        pkt: &PacketView,
        tx: &Tx<'_, '_>,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let (index, code) = match tx {
            Tx::Http { tx, progress } => {
                self.match_http(pkt, tx, *progress, bits, det, alerts);
                return;
            }
            Tx::Dns(m) => {
                self.match_dns(pkt, m, bits, det, alerts);
                return;
            }
            Tx::Tls { tls, progress } => {
                self.match_tls(pkt, tls, *progress, bits, det, alerts);
                return;
            }
            Tx::Ssh { ssh, progress } => {
                self.match_ssh(pkt, ssh, *progress, bits, det, alerts);
                return;
            }
            Tx::Ftp { tx, progress } => {
                self.match_ftp(pkt, tx, *progress, bits, det, alerts);
                return;
            }
            Tx::FtpData {
                command,
                filename,
                data,
            } => {
                self.match_ftp_data(pkt, *command, (filename, data), bits, det, alerts);
                return;
            }
            Tx::Enip(pdu) => {
                self.evaluate(&self.enip, pkt, Input::Tx(tx), bits, det, alerts, |r| {
                    r.sig.enip.iter().all(|f| f.matches(pdu))
                        && r.sig.inspections.iter().all(|i| match i.buffer {
                            Buffer::Enip(b) => b.get(pdu).is_some_and(|d| i.matches(d)),
                            _ => false,
                        })
                });
                return;
            }
            Tx::Iec104(apdu) => {
                self.evaluate(&self.iec104, pkt, Input::Tx(tx), bits, det, alerts, |r| {
                    r.sig.iec104.iter().all(|f| f.matches(apdu)) && r.sig.inspections.is_empty()
                });
                return;
            }
            Tx::Opcua(t) => {
                self.evaluate(&self.opcua, pkt, Input::Tx(tx), bits, det, alerts, |r| {
                    r.sig.opcua.iter().all(|f| f.matches(t)) && r.sig.inspections.is_empty()
                });
                return;
            }
            Tx::Mms(m) => {
                self.evaluate(&self.mms, pkt, Input::Tx(tx), bits, det, alerts, |r| {
                    r.sig.mms.iter().all(|f| f.matches(m))
                        && r.sig.inspections.iter().all(|i| {
                            i.buffer == Buffer::MmsData && m.upper.mms.is_some_and(|b| i.matches(b))
                        })
                });
                return;
            }
            Tx::Smtp { helo, tx, progress } => {
                self.match_smtp(pkt, helo, tx, *progress, bits, det, alerts);
                return;
            }
            Tx::Smb(t) => {
                self.match_smb(pkt, t, bits, det, alerts);
                return;
            }
            Tx::Modbus { request, .. } => (&self.modbus, request.map(|r| r.function_raw)),
            Tx::Dnp3(f) => (&self.dnp3, Some(f.function())),
            Tx::S7comm(s) => (&self.s7comm, s.pdu.function().or(s.job_function)),
            Tx::S7commPlus(_) => (&self.s7plus, None),
        };
        if index.any_code.is_empty() && index.by_code.is_empty() {
            return;
        }
        let mut scratch = std::mem::take(&mut det.scratch);
        index.candidates(code, &mut scratch.candidates);
        let input = Input::Tx(tx);
        self.evaluate(&scratch.candidates, pkt, input, bits, det, alerts, |r| {
            tx_matches(&r.sig, tx)
        });
        det.scratch = scratch;
    }

    /// The rules of `always`, and those each prefilter finds in its bytes, sorted and once
    /// each, into `det.gathered`: the candidates of a transaction read through several
    /// buffers.
    fn gather<'b>(
        det: &mut Detector,
        always: &[u32],
        scans: impl Iterator<Item = (&'b Prefilter, &'b [u8])>,
    ) {
        det.gathered.clear();
        det.gathered.extend_from_slice(always);
        for (prefilter, bytes) in scans {
            prefilter.candidates(bytes, &mut det.scratch);
            det.gathered.extend_from_slice(&det.scratch.candidates);
        }
        det.gathered.sort_unstable();
        det.gathered.dedup();
    }

    /// Evaluate the candidates [`Ruleset::gather`] left in `det.gathered`.
    fn evaluate_gathered(
        &self,
        pkt: &PacketView,
        input: Input<'_>,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
        specific: impl Fn(&Rule) -> bool,
    ) {
        let gathered = std::mem::take(&mut det.gathered);
        self.evaluate(&gathered, pkt, input, bits, det, alerts, specific);
        det.gathered = gathered;
    }

    /// A transaction read through one app layer's [`BufferIndex`]: each buffer's prefilter
    /// over each of the buffer's instances in the transaction (`instances`) gathers the
    /// candidates, which then meet the layer's own keywords (`fields`) and their inspections,
    /// each over the instances of its buffer (`key`: which of a rule's buffers are the
    /// layer's). A rule inspecting a buffer the transaction lacks does not match.
    #[allow(clippy::too_many_arguments)]
    fn match_indexed<'b, K: Copy, I: Iterator<Item = &'b [u8]>>(
        &self,
        index: &'b BufferIndex<K>,
        (pkt, input): (&PacketView, Input<'_>),
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
        instances: impl Fn(K) -> I,
        key: impl Fn(Buffer) -> Option<K>,
        fields: impl Fn(&Signature) -> bool,
    ) {
        let each = &instances;
        let scans = index
            .by_buffer
            .iter()
            .flat_map(move |(k, p)| each(*k).map(move |bytes| (p, bytes)));
        Self::gather(det, &index.always, scans);
        self.evaluate_gathered(pkt, input, bits, det, alerts, |r| {
            let s = &r.sig;
            fields(s)
                && s.inspections.iter().all(|i| {
                    key(i.buffer).is_some_and(|k| instances(k).any(|bytes| i.matches(bytes)))
                })
        });
    }

    /// The TLS rules due at `progress`, through the prefilters of the buffers there.
    fn match_tls(
        &self,
        pkt: &PacketView,
        t: &decoders::tls::Tls,
        progress: decoders::tls::Progress,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let tx = Tx::Tls { tls: t, progress };
        self.match_indexed(
            &self.tls[progress as usize],
            (pkt, Input::Tx(&tx)),
            bits,
            det,
            alerts,
            |b: crate::tls::Buf| b.get(t).into_iter(),
            layer!(Tls),
            |s| s.tls.iter().all(|f| f.matches(t)),
        );
    }

    /// The SSH rules due at `progress` of the side sending the way `pkt` goes.
    fn match_ssh(
        &self,
        pkt: &PacketView,
        ssh: &decoders::ssh::Ssh,
        progress: decoders::ssh::Progress,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let tx = Tx::Ssh { ssh, progress };
        self.match_indexed(
            &self.ssh[progress as usize],
            (pkt, Input::Tx(&tx)),
            bits,
            det,
            alerts,
            |b: crate::ssh::Buf| b.get(ssh, pkt.dir).into_iter(),
            layer!(Ssh),
            |s| s.ssh.iter().all(|f| f.matches(ssh, pkt.dir)),
        );
    }

    /// The FTP rules due at `progress`, through the prefilter of each buffer over each of its
    /// instances (every reply line, every code).
    fn match_ftp(
        &self,
        pkt: &PacketView,
        tx: &decoders::ftp::Transaction,
        progress: decoders::ftp::Progress,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let client = match pkt.dir {
            Direction::ToServer => pkt.src,
            Direction::ToClient => pkt.dst,
        };
        let ftp = Tx::Ftp { tx, progress };
        self.match_indexed(
            &self.ftp[progress as usize],
            (pkt, Input::Tx(&ftp)),
            bits,
            det,
            alerts,
            |b: crate::ftp::Buf| b.instances(tx),
            layer!(Ftp),
            |s| {
                (pkt.dir == Direction::ToClient || !s.ftp_to_client_only())
                    && s.ftp.iter().all(|f| f.matches(tx, client))
            },
        );
    }

    /// The rules on an FTP data connection, seen going the way `pkt` goes with what it
    /// carried that way.
    fn match_ftp_data(
        &self,
        pkt: &PacketView,
        command: Option<decoders::ftp::DataCommand>,
        (filename, data): (&[u8], &[u8]),
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let tx = Tx::FtpData {
            command,
            filename,
            data,
        };
        self.evaluate(
            &self.ftp_data,
            pkt,
            Input::Tx(&tx),
            bits,
            det,
            alerts,
            |r| {
                let s = &r.sig;
                s.ftp.iter().all(|f| f.matches_data(command, pkt.dir))
                    && s.inspections.iter().all(|i| match i.buffer {
                        Buffer::Ftp(crate::ftp::Buf::Data) => !data.is_empty() && i.matches(data),
                        Buffer::Ftp(crate::ftp::Buf::FileName) => {
                            !filename.is_empty() && i.matches(filename)
                        }
                        _ => false,
                    })
            },
        );
    }

    /// The SMTP rules due at `progress`, through the prefilter of each buffer over each of
    /// its instances (every recipient, every attachment).
    #[allow(clippy::too_many_arguments)]
    fn match_smtp(
        &self,
        pkt: &PacketView,
        helo: &[u8],
        tx: &decoders::smtp::Transaction,
        progress: decoders::smtp::Progress,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let smtp = Tx::Smtp { helo, tx, progress };
        self.match_indexed(
            &self.smtp[progress as usize],
            (pkt, Input::Tx(&smtp)),
            bits,
            det,
            alerts,
            |b: crate::smtp::Buf| b.instances(helo, tx),
            layer!(Smtp),
            |_| true,
        );
    }

    /// The SMB rules for a command, inspected as it arrives (or, for a rule that says
    /// `to_client`, at its response), through the prefilter of each buffer.
    fn match_smb(
        &self,
        pkt: &PacketView,
        t: &decoders::smb::Transaction,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        if self.smb.always.is_empty() && self.smb.by_buffer.is_empty() {
            return;
        }
        let tx = Tx::Smb(t);
        self.match_indexed(
            &self.smb,
            (pkt, Input::Tx(&tx)),
            bits,
            det,
            alerts,
            |b: crate::smb::Buf| b.get(t).into_iter(),
            layer!(Smb),
            |s| s.flow.direction.unwrap_or(Direction::ToServer) == pkt.dir,
        );
    }

    /// The DNS rules for a message, through the prefilter of each name buffer over each name.
    fn match_dns(
        &self,
        pkt: &PacketView,
        m: &decoders::dns::Message<'_>,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        if self.dns.always.is_empty() && self.dns.by_buffer.is_empty() {
            return;
        }
        let mut names = std::mem::take(&mut det.names);
        for b in crate::dns::Buf::ALL {
            b.names(m, &mut names[b as usize]);
        }
        let tx = Tx::Dns(m);
        self.match_indexed(
            &self.dns,
            (pkt, Input::Tx(&tx)),
            bits,
            det,
            alerts,
            |b: crate::dns::Buf| names[b as usize].iter().map(Vec::as_slice),
            layer!(Dns),
            |s| s.dns.iter().all(|f| f.matches(m)),
        );
        det.names = names;
    }

    /// The HTTP rules due at `progress`, through the prefilters of the buffers there.
    fn match_http(
        &self,
        pkt: &PacketView,
        tx: &Transaction,
        progress: Progress,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        let stage = &self.http[progress as usize];
        let scans = stage
            .by_buffer
            .iter()
            .filter_map(|((buf, response), p)| Some((p, buf.get(tx, *response)?)));
        Self::gather(det, &stage.always, scans);
        let input = Input::Tx(&Tx::Http { tx, progress });
        self.evaluate_gathered(pkt, input, bits, det, alerts, |r| http_matches(r, tx));
    }

    /// Rules on an application-layer event (`dnp3.flooded`, …) raised on the flow.
    pub fn match_event(
        &self,
        pkt: &PacketView,
        event: &str,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        if let Some(rules) = self.events.get(event) {
            self.evaluate(rules, pkt, Input::Event(event), bits, det, alerts, |_| true);
        }
    }

    /// A GOOSE frame against the rules on its fields (`goose.*`). Frames have no flow: no
    /// flowbits.
    pub fn match_goose(
        &self,
        pkt: &PacketView,
        g: &decoders::goose::Goose<'_>,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
    ) {
        if self.goose.is_empty() {
            return;
        }
        let mut bits = FlowVars::default();
        let input = Input::Payload(&[]);
        self.evaluate(&self.goose, pkt, input, &mut bits, det, alerts, |r| {
            r.sig.goose.iter().all(|f| f.matches(g))
        });
    }

    /// Whether any rule listens for application-layer events.
    pub fn has_event_rules(&self) -> bool {
        !self.events.is_empty()
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        candidates: &[u32],
        pkt: &PacketView,
        input: Input<'_>,
        bits: &mut FlowVars,
        det: &mut Detector,
        alerts: &mut Vec<u32>,
        specific: impl Fn(&Rule) -> bool,
    ) {
        let first = alerts.len();
        for &i in candidates {
            let rule = &self.rules[i as usize];
            let s = &rule.sig;
            det.evaluated += 1;
            let hosts = (pkt.src, pkt.dst);
            if !header_matches(rule, pkt)
                || !bits.check(&s.flowbits)
                || !det.xbits.check(&s.xbits, hosts, pkt.secs)
                || !specific(rule)
                || !Self::lua_matches(i, rule, pkt, input, det)
                || !bits.ints.run(&s.flowint)
            {
                continue;
            }
            bits.apply(&s.flowbits);
            det.xbits.apply(&s.xbits, hosts, pkt.secs);
            if s.header.action == Action::Pass {
                // A pass rule stops inspection of this packet: nothing else alerts.
                alerts.truncate(first);
                return;
            }
            if rule.noalert {
                continue;
            }
            if let Some(t) = &s.threshold {
                let seen = Seen {
                    src: pkt.src,
                    dst: pkt.dst,
                    flow: pkt.flow_id,
                    now: pkt.secs,
                };
                if !det.thresholds.alert(i, t, seen) {
                    continue;
                }
            }
            alerts.push(i);
        }
    }
}

impl Ruleset {
    /// Whether the rule's Lua script, if it has one, matches.
    fn lua_matches(
        i: u32,
        rule: &Rule,
        pkt: &PacketView,
        input: Input<'_>,
        det: &mut Detector,
    ) -> bool {
        let Some(u) = &rule.sig.lua else {
            return true;
        };
        // A rule whose script was never loaded (compiled outside `load`) cannot match.
        let Some(script) = u.script.as_deref() else {
            return false;
        };
        let call = crate::lua::Call {
            pkt,
            input,
            buffer: u.buffer.and_then(|b| crate::lua::buffer(b, input, pkt)),
        };
        det.lua.matches(i, script, &call)
    }
}

/// Protocol, addresses, ports, direction and flow state.
fn header_matches(rule: &Rule, pkt: &PacketView) -> bool {
    let s = &rule.sig;
    let h = &s.header;
    let proto_ok = match h.protocol {
        Protocol::Ip => !matches!(pkt.transport, Transport::Ether(_)),
        Protocol::Goose | Protocol::Sv => {
            h.protocol.ether_type().map(Transport::Ether) == Some(pkt.transport)
        }
        Protocol::Tcp => pkt.transport == Transport::Tcp,
        Protocol::Udp => pkt.transport == Transport::Udp,
        Protocol::Icmp => matches!(pkt.transport, Transport::Other(1 | 58)),
        app => pkt.app_proto == app.app_proto(),
    };
    if !proto_ok || !s.flow.matches(pkt.dir, pkt.established) {
        return false;
    }
    if let Some(p) = rule.app {
        if pkt.app_proto != Some(p) {
            return false;
        }
    }
    if let Some((p, want)) = s.app_layer_protocol {
        if (pkt.app_proto == Some(p)) != want {
            return false;
        }
    }
    // Ports before addresses: they are cheaper, and decide most rules.
    let forward = h.src_ports.matches(pkt.sport)
        && h.dst_ports.matches(pkt.dport)
        && h.src.matches(pkt.src)
        && h.dst.matches(pkt.dst);
    forward
        || (h.direction == RuleDirection::Both
            && h.src_ports.matches(pkt.dport)
            && h.dst_ports.matches(pkt.sport)
            && h.src.matches(pkt.dst)
            && h.dst.matches(pkt.src))
}

/// The ICS keywords and sticky-buffer contents (`dnp3_data`, `s7comm.param`) of a transaction
/// rule.
fn tx_matches(s: &Signature, tx: &Tx<'_, '_>) -> bool {
    match tx {
        Tx::Modbus { request, .. } => {
            !s.modbus.is_empty() && s.modbus.iter().all(|m| m.matches(*request))
        }
        Tx::Dnp3(f) => {
            s.dnp3_func.is_none_or(|fc| fc == f.function())
                && s.dnp3_ind.iter().all(|m| m.matches(f))
                && s.dnp3_obj.iter().all(|&(g, v)| dnp3::has_object(f, g, v))
                && s.inspections
                    .iter()
                    .all(|i| i.buffer == Buffer::Dnp3Data && i.matches(f.as_bytes()))
                && (s.dnp3_func.is_some()
                    || !s.dnp3_ind.is_empty()
                    || !s.dnp3_obj.is_empty()
                    || !s.inspections.is_empty())
        }
        Tx::S7comm(t) => {
            s.s7plus.is_empty()
                && (!s.s7.is_empty() || !s.inspections.is_empty())
                && s.header.protocol != Protocol::S7commPlus
                && s.s7.iter().all(|m| m.matches(t))
                && s.inspections
                    .iter()
                    .all(|i| i.buffer == Buffer::S7Param && i.matches(t.pdu.param))
        }
        Tx::S7commPlus(p) => {
            s.s7.is_empty() && s.inspections.is_empty() && s.s7plus.iter().all(|m| m.matches(p))
        }
        // The IT protocols' rules are matched by their own `match_*`.
        Tx::Http { .. }
        | Tx::Dns(_)
        | Tx::Tls { .. }
        | Tx::Ssh { .. }
        | Tx::Ftp { .. }
        | Tx::FtpData { .. }
        | Tx::Smtp { .. }
        | Tx::Smb(_)
        | Tx::Enip(_)
        | Tx::Iec104(_)
        | Tx::Opcua(_)
        | Tx::Mms(_) => false,
    }
}

/// An HTTP rule's buffers and `urilen` against a transaction.
fn http_matches(r: &Rule, tx: &Transaction) -> bool {
    let Some(plan) = r.http else {
        return false;
    };
    let s = &r.sig;
    s.urilen.is_none_or(|u| u.matches(tx))
        && s.inspections.iter().all(|i| match i.buffer {
            Buffer::Http(b) => b
                .get(tx, plan.response)
                .is_some_and(|bytes| i.matches(bytes)),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_rules, Vars};
    use decoders::modbus::Message;
    use decoders::s7comm::S7Tx;

    fn ruleset(text: &str) -> Ruleset {
        let (sigs, errs) = parse_rules(text, &Vars::suricata_defaults());
        assert!(errs.is_empty(), "{errs:?}");
        let (set, errs) =
            Ruleset::compile(sigs, &Classification::builtin(), FlowbitNames::default());
        assert!(errs.is_empty(), "{errs:?}");
        set
    }

    fn view(dir: Direction, app: Option<AppProto>) -> PacketView {
        let (c, s) = (IpAddr::from([10, 0, 0, 2]), IpAddr::from([10, 0, 0, 1]));
        let (src, sport, dst, dport) = match dir {
            Direction::ToServer => (c, 40000, s, 502),
            Direction::ToClient => (s, 502, c, 40000),
        };
        PacketView {
            src,
            sport,
            dst,
            dport,
            transport: Transport::Tcp,
            dir,
            established: true,
            app_proto: app,
            flow_id: 1,
            secs: 0,
            ip: None,
        }
    }

    fn sids(set: &Ruleset, alerts: &[u32]) -> Vec<u32> {
        alerts.iter().map(|&i| set.rule(i).sig.sid).collect()
    }

    #[test]
    fn xbits_carry_from_one_flow_to_another() {
        let set = ruleset(
            r#"
alert tcp any any -> any 502 (msg:"mark the server"; content:"|08|"; xbits:set,probed,track ip_dst,expire 10; noalert; sid:1;)
alert tcp any any -> any 502 (msg:"marked server written"; content:"|10|"; xbits:isset,probed,track ip_dst; sid:2;)
"#,
        );
        let (mut det, mut alerts) = (Detector::default(), vec![]);
        let mut v = view(Direction::ToServer, None);
        // A write before the mark: nothing.
        set.match_packet(
            &v,
            &[0x10],
            false,
            &mut FlowVars::default(),
            &mut det,
            &mut alerts,
        );
        assert!(alerts.is_empty());
        set.match_packet(
            &v,
            &[0x08],
            false,
            &mut FlowVars::default(),
            &mut det,
            &mut alerts,
        );
        assert!(alerts.is_empty(), "noalert");
        // Another flow (its own flowbits), another client, the same server.
        v.src = IpAddr::from([10, 0, 0, 9]);
        v.secs = 5;
        set.match_packet(
            &v,
            &[0x10],
            false,
            &mut FlowVars::default(),
            &mut det,
            &mut alerts,
        );
        assert_eq!(sids(&set, &alerts), [2]);
        alerts.clear();
        v.secs = 11;
        set.match_packet(
            &v,
            &[0x10],
            false,
            &mut FlowVars::default(),
            &mut det,
            &mut alerts,
        );
        assert!(alerts.is_empty(), "expired");
    }

    #[test]
    fn packet_rules_through_the_prefilter() {
        let set = ruleset(
            r#"
alert tcp any any -> any 502 (msg:"FC8 restart"; content:"|00 00|"; offset:2; depth:2; content:"|08 00 01|"; offset:7; depth:3; classtype:attempted-dos; sid:1;)
alert tcp any any -> any 502 (msg:"tiny"; dsize:<8; sid:2;)
alert tcp any any -> any 502 (msg:"to client only"; flow:to_client; content:"|08|"; sid:3;)
alert tcp any any <> any 502 (msg:"either way"; content:"|ff 00|"; sid:4;)
alert tcp any any -> any 503 (msg:"other port"; content:"|08|"; sid:5;)
"#,
        );
        assert_eq!(set.counts().packet, 5);
        let pkt = [0, 5, 0, 0, 0, 6, 1, 8, 0, 1, 0xff, 0];
        let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), vec![]);
        let v = view(Direction::ToServer, Some(AppProto::Modbus));
        set.match_packet(&v, &pkt, false, &mut bits, &mut det, &mut alerts);
        assert_eq!(sids(&set, &alerts), [1, 4]);
        assert_eq!(set.rule(alerts[0]).category, "Attempted Denial of Service");
        assert_eq!(set.rule(alerts[0]).severity, 2);
        alerts.clear();
        let v = view(Direction::ToClient, Some(AppProto::Modbus));
        set.match_packet(&v, &pkt, false, &mut bits, &mut det, &mut alerts);
        assert_eq!(
            sids(&set, &alerts),
            [4],
            "`->` rules do not match the reverse way"
        );
        alerts.clear();
        let v = view(Direction::ToServer, None);
        set.match_packet(&v, &pkt[..6], false, &mut bits, &mut det, &mut alerts);
        assert_eq!(sids(&set, &alerts), [2]);
    }

    #[test]
    fn modbus_transactions_by_function() {
        let set = ruleset(
            r#"
alert modbus any any -> any any (msg:"restart"; modbus: function 8, subfunction 1; sid:1;)
alert modbus any any -> any any (msg:"write"; modbus: access write; sid:2;)
alert modbus any any -> any any (msg:"unit 1"; modbus: unit 1; sid:3;)
alert dnp3 any any -> any any (msg:"cold"; dnp3_func: cold_restart; sid:4;)
"#,
        );
        assert_eq!(set.counts().transaction, 4);
        let adu = [0, 2, 0, 0, 0, 6, 1, 8, 0, 1, 0, 0];
        let m = Message::decode(&decoders::modbus::frame(&adu).unwrap(), Direction::ToServer);
        let tx = Tx::Modbus {
            request: Some(&m),
            response: None,
        };
        let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), vec![]);
        let v = view(Direction::ToServer, Some(AppProto::Modbus));
        set.match_tx(&v, &tx, &mut bits, &mut det, &mut alerts);
        assert_eq!(sids(&set, &alerts), [1, 3]);
        // Only the rules for function 8 and those naming none were evaluated.
        assert_eq!(det.evaluated, 3);
    }

    #[test]
    fn flowbits_pass_and_thresholds() {
        let set = ruleset(
            r#"
alert tcp any any -> any any (msg:"login"; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:1;)
alert tcp any any -> any any (msg:"write after login"; content:"WRITE"; flowbits:isset,logged_in; sid:2;)
pass tcp 10.0.0.9 any -> any any (msg:"trusted"; sid:3;)
alert tcp any any -> any any (msg:"scan"; content:"PROBE"; threshold: type both, track by_src, count 3, seconds 60; sid:4;)
"#,
        );
        let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), vec![]);
        let v = view(Direction::ToServer, None);
        set.match_packet(&v, b"WRITE", false, &mut bits, &mut det, &mut alerts);
        assert!(alerts.is_empty(), "the bit is not set yet");
        set.match_packet(&v, b"LOGIN", false, &mut bits, &mut det, &mut alerts);
        assert!(alerts.is_empty(), "noalert");
        set.match_packet(&v, b"WRITE", false, &mut bits, &mut det, &mut alerts);
        assert_eq!(sids(&set, &alerts), [2]);
        alerts.clear();
        for _ in 0..5 {
            set.match_packet(&v, b"PROBE", false, &mut bits, &mut det, &mut alerts);
        }
        assert_eq!(sids(&set, &alerts), [4], "one alert at the third probe");
        alerts.clear();
        let mut trusted = v;
        trusted.src = IpAddr::from([10, 0, 0, 9]);
        set.match_packet(&trusted, b"WRITE", false, &mut bits, &mut det, &mut alerts);
        assert!(alerts.is_empty(), "a pass rule silences the packet");
    }

    #[test]
    fn flowint_counts_on_the_flow() {
        let set = ruleset(
            r#"
alert tcp any any -> any any (msg:"count"; content:"BAD"; flowint:bad,+,1; noalert; sid:1;)
alert tcp any any -> any any (msg:"third bad"; content:"BAD"; flowint:bad,==,3; sid:2;)
"#,
        );
        let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), vec![]);
        let v = view(Direction::ToServer, None);
        for _ in 0..4 {
            set.match_packet(&v, b"BAD", false, &mut bits, &mut det, &mut alerts);
        }
        assert_eq!(
            sids(&set, &alerts),
            [2],
            "one alert, when the count reaches 3"
        );
        // Another flow counts from zero.
        let (mut other, mut alerts) = (FlowVars::default(), vec![]);
        set.match_packet(&v, b"BAD", false, &mut other, &mut det, &mut alerts);
        assert!(alerts.is_empty());
    }

    #[test]
    fn base64_data_reads_what_base64_decode_decoded() {
        // "cmd=" then base64 of "whoami && id", relative to it; then a check back in the
        // packet.
        let set = ruleset(
            r#"
alert tcp any any -> any any (msg:"encoded command"; content:"cmd="; base64_decode:bytes 16, relative; base64_data; content:"whoami"; nocase; content:"id"; distance:0; pkt_data; content:"HTTP"; sid:1;)
alert tcp any any -> any any (msg:"decoded at an offset"; base64_decode:offset 4; base64_data; content:"hello"; depth:5; sid:2;)
"#,
        );
        let (mut bits, mut det) = (FlowVars::default(), Detector::default());
        let v = view(Direction::ToServer, None);
        let mut hit = |payload: &[u8]| {
            let mut alerts = vec![];
            set.match_packet(&v, payload, false, &mut bits, &mut det, &mut alerts);
            sids(&set, &alerts)
        };
        assert_eq!(hit(b"GET /?cmd=d2hvYW1pICYmIGlk HTTP/1.1"), [1]);
        assert_eq!(
            hit(b"GET /?cmd=d2hvYW1p HTTP/1.1"),
            Vec::<u32>::new(),
            "no id"
        );
        assert_eq!(
            hit(b"GET /?cmd=d2hvYW1pICYmIGlk"),
            Vec::<u32>::new(),
            "no HTTP"
        );
        assert_eq!(hit(b"xxxxaGVsbG8gd29ybGQ="), [2]);
        assert_eq!(hit(b"xxxaGVsbG8gd29ybGQ="), Vec::<u32>::new());
        assert_eq!(hit(b"cmd=!!!!"), Vec::<u32>::new(), "nothing decodes");

        let (_, errors) = parse_rules(
            r#"alert tcp any any -> any any (msg:"x"; base64_data; content:"a"; sid:1;)
alert tcp any any -> any any (msg:"x"; base64_decode; base64_data; base64_decode; sid:2;)
alert tcp any any -> any any (msg:"x"; base64_decode:bytes 0; sid:3;)
alert tls any any -> any any (msg:"x"; tls.sni; base64_decode; base64_data; dataset:isset,s,type string; sid:4;)"#,
            &Vars::suricata_defaults(),
        );
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(
            messages[0].contains("without a `base64_decode`"),
            "{messages:?}"
        );
        assert!(messages[1].contains("inside `base64_data`"), "{messages:?}");
        assert!(messages[2].contains("1 to 65535"), "{messages:?}");
        assert!(
            messages[3].contains("cannot read `base64_data`"),
            "{messages:?}"
        );
    }

    #[test]
    fn unknown_classtype_is_refused() {
        let (sigs, _) = parse_rules(
            "alert tcp any any -> any any (classtype:made-up; sid:1;)",
            &Vars::suricata_defaults(),
        );
        let (set, errs) =
            Ruleset::compile(sigs, &Classification::builtin(), FlowbitNames::default());
        assert!(set.is_empty());
        assert!(errs[0].message.contains("made-up"));
    }

    #[test]
    fn s7_param_buffer_tells_cold_from_hot_start() {
        let set = ruleset(
            r#"
alert s7comm any any -> any any (msg:"start"; s7comm.pi: P_PROGRAM; sid:1;)
alert s7comm any any -> any any (msg:"cold"; s7comm.pi: P_PROGRAM; s7comm.param; content:"|00 02|C |09|P_PROGRAM"; sid:2;)
alert s7comm any any -> any any (msg:"param only"; s7comm.param; content:"P_PROGRAM"; sid:3;)
"#,
        );
        // PI service job: function 0x28, seven unknown bytes, then the argument block and the
        // service name, each after its length.
        let pi = |args: &[u8]| {
            let mut param = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd];
            param.extend_from_slice(&(args.len() as u16).to_be_bytes());
            param.extend_from_slice(args);
            param.push(9);
            param.extend_from_slice(b"P_PROGRAM");
            let mut v = vec![0x32, 1, 0, 0, 0, 1];
            v.extend_from_slice(&(param.len() as u16).to_be_bytes());
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&param);
            v
        };
        let v = view(Direction::ToServer, Some(AppProto::S7comm));
        let fired = |bytes: &[u8]| {
            let pdu = decoders::s7comm::S7Pdu::parse(bytes).unwrap();
            let tx = Tx::S7comm(S7Tx {
                pdu: &pdu,
                job_function: None,
            });
            let (mut bits, mut det, mut alerts) =
                (FlowVars::default(), Detector::default(), vec![]);
            set.match_tx(&v, &tx, &mut bits, &mut det, &mut alerts);
            let mut got = sids(&set, &alerts);
            got.sort();
            got
        };
        assert_eq!(fired(&pi(b"C ")), [1, 2, 3]);
        assert_eq!(fired(&pi(b"")), [1, 3], "a hot start has no argument");
    }

    #[test]
    fn http_rules_at_the_point_their_buffers_arrive() {
        use decoders::http::{HttpParser, Pdu};
        use decoders::{Parsed, StreamParser};
        let set = ruleset(
            r#"
alert http any any -> any any (msg:"uri, modifier style"; flow:to_server; content:"/admin"; http_uri; content:"login"; http_uri; distance:0; sid:1;)
alert http any any -> any any (msg:"uri, sticky"; http.uri; content:"/admin/login.php"; startswith; sid:2;)
alert http any any -> any any (msg:"raw uri keeps the escape"; http.uri.raw; content:"%2e"; sid:3;)
alert http any any -> any any (msg:"method and ua"; content:"POST"; http_method; content:"curl"; http_user_agent; sid:4;)
alert http any any -> any any (msg:"pcre U"; pcre:"/^\/admin\/[a-z]+\.php$/U"; sid:5;)
alert http any any -> any any (msg:"request body"; content:"user=root"; http_client_body; sid:6;)
alert http any any -> any any (msg:"status"; flow:to_client; content:"403"; http_stat_code; sid:7;)
alert http any any -> any any (msg:"response body"; flow:to_client; file_data; content:"denied"; sid:8;)
alert http any any -> any any (msg:"no referer"; http_header_names; content:!"Referer"; sid:9;)
alert http any any -> any any (msg:"urilen"; urilen:16; sid:10;)
alert http any any -> any any (msg:"mixed payload"; content:"POST"; http_method; content:"user=root"; sid:11;)
alert http any any -> any any (msg:"cookie is not a header"; content:"sess"; http_header; sid:12;)
alert http any any -> any any (msg:"cookie"; content:"sess=1"; http_cookie; sid:13;)
alert http any any -> any any (msg:"bsize"; http.method; bsize:4; sid:14;)
alert http any any -> any any (msg:"never"; content:"GET"; http_method; sid:15;)
"#,
        );
        assert_eq!(set.counts().transaction, 15);
        let mut p = HttpParser::default();
        let req = b"POST /admin/%2e/login.php HTTP/1.1\r\nHost: plc\r\nUser-Agent: curl/8\r\nCookie: sess=1\r\nContent-Length: 9\r\n\r\nuser=root";
        let res = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied";
        let mut tx = Transaction::default();
        let Parsed::Pdu {
            pdu: Pdu::Request(h),
            len,
        } = p.parse(Direction::ToServer, req)
        else {
            panic!()
        };
        tx.set_request(0, &h);
        tx.request.add_body(&req[len..], 1024);
        let Parsed::Pdu {
            pdu: Pdu::Response(h),
            len,
        } = p.parse(Direction::ToClient, res)
        else {
            panic!()
        };
        tx.set_response(&h);
        tx.response.add_body(&res[len..], 1024);
        let mut fired = Vec::new();
        for progress in Progress::ALL {
            let dir = if progress.in_response() {
                Direction::ToClient
            } else {
                Direction::ToServer
            };
            let (mut bits, mut det, mut alerts) =
                (FlowVars::default(), Detector::default(), vec![]);
            let v = view(dir, Some(AppProto::Http));
            set.match_tx(
                &v,
                &Tx::Http { tx: &tx, progress },
                &mut bits,
                &mut det,
                &mut alerts,
            );
            let mut got = sids(&set, &alerts);
            got.sort();
            fired.push(got);
        }
        assert_eq!(
            fired,
            [
                vec![1, 2, 3, 4, 5, 9, 10, 13, 14],
                vec![6, 11],
                vec![7],
                vec![8]
            ]
        );
    }

    #[test]
    fn dns_names_one_at_a_time() {
        let set = ruleset(
            r#"
alert dns any any -> any any (msg:"query, ET style"; dns_query; content:"evil.example"; nocase; isdataat:!1,relative; sid:1;)
alert dns any any -> any any (msg:"a label that starts a name"; dns.query; content:"www."; startswith; sid:2;)
alert dns any any -> any any (msg:"type A"; dns.rrtype:1; sid:3;)
alert dns any any -> any any (msg:"answer names"; dns.answers.rrname; content:"evil"; sid:4;)
alert dns any any -> any any (msg:"not a query"; dns.opcode:!0; sid:5;)
"#,
        );
        assert_eq!(set.counts().transaction, 5);
        // Two questions: the rules must match within one of them.
        let mut q = vec![0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x03www\x03ics\x03org\x00\x00\x01\x00\x01");
        q.extend_from_slice(b"\x04Evil\x07Example\x00\x00\x10\x00\x01");
        let m = decoders::dns::Message::parse(&q).unwrap();
        let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), vec![]);
        let v = view(Direction::ToServer, Some(AppProto::Dns));
        set.match_tx(&v, &Tx::Dns(&m), &mut bits, &mut det, &mut alerts);
        let mut got = sids(&set, &alerts);
        got.sort();
        assert_eq!(got, [1, 2, 3]);
    }
}
