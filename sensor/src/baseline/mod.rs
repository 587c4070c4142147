//! Learned baselines of an industrial network's behaviour, the passive asset inventory, and
//! what breaks them.
//!
//! An industrial network repeats itself: the same masters poll the same devices for the same
//! addresses at the same pace. A [`Watch`] learns that behaviour from the transactions the
//! protocol loggers decode — per host an [`model::Asset`], per (client, server) pair a
//! [`model::Pair`] with per-protocol facts ([`modbus`], [`s7comm`], [`dnp3`], [`iec104`], [`enip`],
//! [`opcua`], [`mms`]) and its pace —
//! or, given a baseline, reports what leaves it as `alert` events with an `anomaly` block.
//! Hosts that appear or change are written as `asset` events either way.
//!
//! Memory is bounded by the `[baseline]` caps of sensor.toml: hosts, pairs, ranges per table,
//! value points and timed operations per pair; what a cap keeps out is counted in
//! `learned.dropped`.

pub mod anomaly;
pub mod diff;
pub mod dnp3;
pub mod enip;
pub mod envelope;
pub mod iec104;
mod judge;
pub mod mms;
pub mod modbus;
pub mod model;
pub mod opcua;
pub mod ranges;
pub mod s7comm;

use std::collections::HashMap;
use std::net::IpAddr;

use decoders::Direction;
use serde::Serialize;

use self::anomaly::{Finding, Kind, Place, Subject};
use self::envelope::Envelope;
pub use self::judge::Mode;
use self::judge::{detail, Judge, Request};
use self::model::{insert_sorted, Activity, Asset, Baseline, Identity, Mac, Operation, Pair};
use self::model::{Protocol, MAX_MACS};
use crate::config::BaselineConfig;
use crate::eve::EveWriter;
use crate::flow::FlowMeta;
use icsight_eve::{Event, EventType, Timestamp};

/// Seconds in a rate window.
const WINDOW_SECS: u64 = 60;
/// Deviations remembered for re-alert pacing; past it the memory starts afresh.
const MAX_SUPPRESSED: usize = 262_144;

/// Counters of a watch, for the run's summary.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WatchStats {
    pub transactions: u64,
    /// Anomaly alerts written.
    pub anomalies: u64,
    /// Deviations not written again within `realert_seconds`.
    pub suppressed: u64,
    pub asset_events: u64,
}

/// What a pair needs while traffic flows: timers, the rate window, flags.
#[derive(Debug, Clone, Default)]
struct PairRuntime {
    /// Not in the baseline this run started from.
    provisional: bool,
    /// When each of the pair's operations was last requested (parallel to `operations`).
    ops_last: Vec<Option<Timestamp>>,
    last_request: Option<Timestamp>,
    window_start: Option<Timestamp>,
    window_count: u64,
    rate_alerted: bool,
    silent: bool,
    points: usize,
}

/// Learns a baseline, or detects against one.
pub struct Watch {
    mode: Mode,
    cfg: BaselineConfig,
    base: Baseline,
    asset_index: HashMap<IpAddr, usize>,
    pair_index: HashMap<(IpAddr, IpAddr), usize>,
    rt: Vec<PairRuntime>,
    findings: Vec<Finding>,
    pending: Vec<(Subject, Finding)>,
    /// Assets whose `asset` event is due, with whether they are new.
    changed: Vec<(usize, bool)>,
    suppress: HashMap<u64, Timestamp>,
    /// First and last packet time of the capture being read.
    capture: Option<(Timestamp, Timestamp)>,
    pub stats: WatchStats,
}

/// Addresses that are not hosts: unspecified, broadcast, multicast.
fn is_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// A MAC worth keeping: set, unicast.
fn is_host_mac(m: &[u8; 6]) -> bool {
    *m != [0; 6] && m[0] & 1 == 0
}

/// Whether learned periods are polling worth judging: enough of them, at least 0.1 s apart
/// on average, and regular (spread within half the mean). Bursts (a multi-part answer, a
/// script's loop) and irregular requests are learned but not judged.
fn is_polling(p: &Envelope, min_samples: u64) -> bool {
    p.count >= min_samples && p.mean >= 0.1 && p.std <= 0.5 * p.mean
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    b.0.saturating_sub(a.0) as f64 / 1e6
}

impl Watch {
    /// Learn into `base` (a new baseline, or one to learn more into).
    pub fn learn(cfg: BaselineConfig, base: Baseline) -> Watch {
        Watch::new(Mode::Learn, cfg, base)
    }

    /// Detect deviations from `base`.
    pub fn detect(cfg: BaselineConfig, base: Baseline) -> Watch {
        Watch::new(Mode::Detect, cfg, base)
    }

    fn new(mode: Mode, cfg: BaselineConfig, base: Baseline) -> Watch {
        let asset_index = base
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.ip, i))
            .collect();
        let pair_index = base
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.client, p.server), i))
            .collect();
        let rt = base
            .pairs
            .iter()
            .map(|p| PairRuntime {
                ops_last: vec![None; p.operations.len()],
                points: p.points(),
                ..PairRuntime::default()
            })
            .collect();
        Watch {
            mode,
            cfg,
            base,
            asset_index,
            pair_index,
            rt,
            findings: Vec::with_capacity(8),
            pending: Vec::with_capacity(8),
            changed: Vec::with_capacity(8),
            suppress: HashMap::new(),
            capture: None,
            stats: WatchStats::default(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn baseline(&self) -> &Baseline {
        &self.base
    }

    /// A new capture (file or interface) starts: timers start afresh, since the time between
    /// two captures says nothing about polling.
    pub fn begin_capture(&mut self, source: Option<String>) {
        self.end_capture();
        for rt in &mut self.rt {
            rt.ops_last.iter_mut().for_each(|t| *t = None);
            rt.last_request = None;
            rt.window_start = None;
            rt.window_count = 0;
            rt.rate_alerted = false;
            rt.silent = false;
        }
        if let (Mode::Learn, Some(s)) = (self.mode, source) {
            self.base.learned.add_source(s);
        }
    }

    fn end_capture(&mut self) {
        if let (Some((first, last)), Mode::Learn) = (self.capture.take(), self.mode) {
            let l = &mut self.base.learned;
            l.seconds += secs_between(first, last);
            l.first = Some(l.first.map_or(first, |f| f.min(first)));
            l.last = Some(l.last.map_or(last, |t| t.max(last)));
        }
        self.capture = None;
    }

    /// Every packet's time, for the span learned.
    pub fn packet_time(&mut self, ts: Timestamp) {
        match &mut self.capture {
            Some((first, last)) => {
                *first = (*first).min(ts);
                *last = (*last).max(ts);
            }
            None => self.capture = Some((ts, ts)),
        }
    }

    /// The baseline as learned (or as detection left it), ready to save.
    pub fn into_baseline(mut self) -> Baseline {
        self.end_capture();
        let mut b = self.base;
        for a in &mut b.assets {
            a.update_roles();
        }
        b.assets.sort_by_key(|a| a.ip);
        b.pairs.sort_by_key(|p| (p.client, p.server));
        b
    }

    /// The inventory entry of `ip`, made when new; `None` for non-hosts and past the cap.
    fn asset(&mut self, ip: IpAddr, ts: Timestamp) -> Option<usize> {
        if !is_host(ip) {
            return None;
        }
        if let Some(&i) = self.asset_index.get(&ip) {
            let a = &mut self.base.assets[i];
            a.last_seen = a.last_seen.max(ts);
            a.first_seen = a.first_seen.min(ts);
            return Some(i);
        }
        let full = self.base.assets.len() >= self.cfg.max_assets as usize;
        let i = self.base.assets.len();
        if full {
            self.base.learned.dropped.assets += 1;
        } else {
            self.base.assets.push(Asset::new(ip, ts));
            self.asset_index.insert(ip, i);
            self.changed.push((i, true));
        }
        // A full inventory still reports the host; re-alert pacing keeps it to one alert.
        if self.mode == Mode::Detect {
            let f = Finding::new(
                Kind::NewAsset,
                "asset",
                0,
                format!("host {ip} is not in the baseline's inventory"),
            )
            .values(ip, serde_json::Value::Null);
            let subject = Subject {
                host: ip,
                pair: None,
                protocol: None,
            };
            self.pending.push((subject, f));
        }
        (!full).then_some(i)
    }

    /// The pair (client, server), made when new; whether it was made.
    fn pair(&mut self, client: IpAddr, server: IpAddr, ts: Timestamp) -> Option<(usize, bool)> {
        if let Some(&i) = self.pair_index.get(&(client, server)) {
            let p = &mut self.base.pairs[i];
            p.last_seen = p.last_seen.max(ts);
            return Some((i, false));
        }
        if self.base.pairs.len() >= self.cfg.max_pairs as usize {
            self.base.learned.dropped.pairs += 1;
            return None;
        }
        let i = self.base.pairs.len();
        self.base.pairs.push(Pair::new(client, server, ts));
        self.pair_index.insert((client, server), i);
        self.rt.push(PairRuntime {
            provisional: self.mode == Mode::Detect,
            ..PairRuntime::default()
        });
        Some((i, true))
    }

    /// A flow starts: both ends are hosts seen.
    pub fn flow_started(&mut self, eve: &mut EveWriter, place: &Place<'_>, meta: &FlowMeta) {
        self.asset(meta.client.0, place.ts);
        self.asset(meta.server.0, place.ts);
        self.flush::<()>(eve, place, None);
    }

    /// A flow ended: the MAC addresses its ends sent from, and when they were last seen.
    pub fn flow_ended(&mut self, eve: &mut EveWriter, meta: &FlowMeta, last: Timestamp) {
        for (ip, mac) in [(meta.client.0, meta.macs[0]), (meta.server.0, meta.macs[1])] {
            let Some(i) = self.asset(ip, last) else {
                continue;
            };
            let Some(m) = mac.filter(is_host_mac) else {
                continue;
            };
            let macs = &mut self.base.assets[i].macs;
            if macs.len() < MAX_MACS && insert_sorted(macs, Mac(m)) {
                self.changed.push((i, false));
            }
        }
        let place = Place::hosts(last, meta.client.0, meta.server.0);
        self.flush::<()>(eve, &place, None);
    }

    /// A DNP3 link frame: the link address its sender uses is part of its identity.
    pub fn dnp3_link(&mut self, meta: &FlowMeta, dir: Direction, source: u16, ts: Timestamp) {
        let ip = match dir {
            Direction::ToServer => meta.client.0,
            Direction::ToClient => meta.server.0,
        };
        if let Some(i) = self.asset(ip, ts) {
            if self.base.assets[i].identity.add_dnp3_address(source) {
                self.changed.push((i, false));
            }
        }
    }

    /// One decoded transaction of a flow: learn it, or check it. `true` if an anomaly alert
    /// was written.
    pub fn transaction<A: Serialize>(
        &mut self,
        eve: &mut EveWriter,
        place: &Place<'_>,
        meta: &FlowMeta,
        tx: &decoders::Tx<'_, '_>,
        app: Option<&A>,
    ) -> bool {
        let ts = place.ts;
        let (client, server) = (meta.client.0, meta.server.0);
        let Some(protocol) = learned_protocol(tx) else {
            return false;
        };
        self.stats.transactions += 1;
        if self.mode == Mode::Learn {
            self.base.learned.transactions += 1;
        }
        let ci = self.asset(client, ts);
        let si = self.asset(server, ts);
        let detecting = self.mode == Mode::Detect;
        let Some((pi, created)) = self.pair(client, server, ts) else {
            // The pair table is full: a new pair is still reported, not kept.
            if detecting {
                let f = new_pair(client, server, protocol);
                let s = Subject {
                    host: client,
                    pair: Some((client, server)),
                    protocol: Some(protocol.name()),
                };
                self.pending.push((s, f));
            }
            return self.flush(eve, place, app);
        };
        let subject = |protocol| Subject {
            host: client,
            pair: Some((client, server)),
            protocol: Some(protocol),
        };
        let pair = &self.base.pairs[pi];
        if detecting && created {
            let f = new_pair(client, server, protocol);
            self.pending.push((subject(protocol.name()), f));
        } else if detecting && !pair.has(protocol) {
            let f = Finding::new(
                Kind::NewProtocol,
                "pair.protocol",
                0,
                format!(
                    "{client} speaks {} to {server}, not learned for this pair",
                    protocol.name()
                ),
            )
            .values(protocol, pair.protocols());
            self.pending.push((subject(protocol.name()), f));
        }
        let client_only_read = ci.is_some_and(|i| {
            let a = &self.base.assets[i].activity;
            a.contains(&Activity::Read)
                && a.iter()
                    .all(|x| matches!(x, Activity::Read | Activity::Identify | Activity::Other))
        });
        let points_left = (self.cfg.max_points as usize).saturating_sub(self.rt[pi].points);
        let Baseline {
            assets,
            pairs,
            learned,
            ..
        } = &mut self.base;
        let mut scratch = Identity::default();
        let identity = match si {
            Some(i) => &mut assets[i].identity,
            None => &mut scratch,
        };
        let pair = &mut pairs[pi];
        let mut j = Judge {
            mode: self.mode,
            cfg: &self.cfg,
            findings: &mut self.findings,
            dropped: &mut learned.dropped,
            points_left,
            client_only_read,
            fresh_function: false,
            from_server: false,
        };
        let (request, id_changed) = match tx {
            decoders::Tx::Modbus { request, response } => modbus::observe(
                pair.modbus.get_or_insert_with(Default::default),
                identity,
                *request,
                *response,
                &mut j,
            ),
            decoders::Tx::S7comm(s) => s7comm::observe(
                pair.s7comm.get_or_insert_with(Default::default),
                identity,
                s.pdu,
                &mut j,
            ),
            decoders::Tx::S7commPlus(p) => (
                s7comm::observe_plus(
                    pair.s7commplus.get_or_insert_with(Default::default),
                    p,
                    &mut j,
                ),
                false,
            ),
            decoders::Tx::Dnp3(f) => (
                dnp3::observe(pair.dnp3.get_or_insert_with(Default::default), f, &mut j),
                false,
            ),
            decoders::Tx::Enip(p) => enip::observe(
                pair.enip.get_or_insert_with(Default::default),
                identity,
                p,
                &mut j,
            ),
            decoders::Tx::Iec104(a) => iec104::observe(
                pair.iec104.get_or_insert_with(Default::default),
                identity,
                a,
                &mut j,
            ),
            decoders::Tx::Opcua(t) => opcua::observe(
                pair.opcua.get_or_insert_with(Default::default),
                identity,
                t,
                &mut j,
            ),
            decoders::Tx::Mms(m) => mms::observe(
                pair.mms.get_or_insert_with(Default::default),
                identity,
                m,
                &mut j,
            ),
            // `learned_protocol` let no other transaction this far.
            _ => return false,
        };
        let left = j.points_left;
        self.rt[pi].points = (self.cfg.max_points as usize).saturating_sub(left);
        for f in self.findings.drain(..) {
            let host = if f.by_server { server } else { client };
            let s = Subject {
                host,
                ..subject(protocol.name())
            };
            self.pending.push((s, f));
        }
        if let (true, Some(i)) = (id_changed, si) {
            self.changed.push((i, false));
        }
        if let Some(r) = request {
            self.requested(pi, ci, si, protocol, r, ts);
        }
        self.flush(eve, place, app)
    }

    /// What a request tells about its two hosts, and the pair's pace.
    fn requested(
        &mut self,
        pi: usize,
        ci: Option<usize>,
        si: Option<usize>,
        protocol: Protocol,
        r: Request,
        ts: Timestamp,
    ) {
        if self.mode == Mode::Learn {
            self.base.pairs[pi].requests += 1;
        }
        if let Some(i) = ci {
            let a = &mut self.base.assets[i];
            let mut changed = insert_sorted(&mut a.uses, protocol);
            changed |= insert_sorted(&mut a.activity, r.activity);
            if changed {
                a.update_roles();
                self.changed.push((i, false));
            }
        }
        if let Some(i) = si {
            let a = &mut self.base.assets[i];
            if insert_sorted(&mut a.serves, protocol) {
                a.update_roles();
                self.changed.push((i, false));
            }
        }
        self.pace(pi, r, ts);
    }

    /// Polling period of the operation, and the pair's request rate.
    fn pace(&mut self, pi: usize, r: Request, ts: Timestamp) {
        let learning = self.mode == Mode::Learn;
        let min_samples = u64::from(self.cfg.min_samples);
        let pair = &mut self.base.pairs[pi];
        let rt = &mut self.rt[pi];
        rt.last_request = Some(ts);
        rt.silent = false;
        let subject = Subject {
            host: pair.client,
            pair: Some((pair.client, pair.server)),
            protocol: Some(r.op.protocol.name()),
        };
        let k = match pair.operations.iter().position(|o| o.op == r.op) {
            Some(k) => Some(k),
            None if learning && pair.operations.len() < self.cfg.max_operations as usize => {
                pair.operations.push(Operation {
                    op: r.op,
                    period: None,
                });
                rt.ops_last.push(None);
                Some(pair.operations.len() - 1)
            }
            None if learning => {
                self.base.learned.dropped.operations += 1;
                None
            }
            None => None,
        };
        if let Some(k) = k {
            let op = &mut pair.operations[k];
            if let Some(prev) = rt.ops_last[k].replace(ts) {
                let dt = secs_between(prev, ts);
                match (&mut op.period, learning) {
                    (Some(p), true) => p.add(dt),
                    (None, true) => op.period = Some(Envelope::new(dt)),
                    (Some(p), false) if is_polling(p, min_samples) => {
                        let d = detail(&[op_hash(&r.op)]);
                        let describe = |what| {
                            format!(
                                "{} repeated after {dt:.3} s, {what} (learned {:.3}-{:.3} s)",
                                r.op, p.min, p.max
                            )
                        };
                        let off = if dt < p.min * 0.5 && dt < p.mean - 4.0 * p.std {
                            Some((Kind::PeriodTooShort, "too soon"))
                        } else if dt > (p.max * 3.0).max(p.mean + 6.0 * p.std) + 1.0 {
                            Some((Kind::PeriodTooLong, "too late"))
                        } else {
                            None
                        };
                        if let Some((kind, what)) = off {
                            let f = Finding::new(kind, "period", d, describe(what)).values(dt, &*p);
                            self.pending.push((subject, f));
                        }
                    }
                    _ => {}
                }
            }
        }
        // Requests per minute, in windows that start with the first request.
        let start = *rt.window_start.get_or_insert(ts);
        if ts.secs().saturating_sub(start.secs()) < WINDOW_SECS {
            rt.window_count += 1;
            if let (false, Some(rpm)) = (learning, &pair.requests_per_minute) {
                let high = rpm.max * self.cfg.rate_factor + 10.0;
                if rpm.count >= min_samples && rt.window_count as f64 > high && !rt.rate_alerted {
                    rt.rate_alerted = true;
                    let f = Finding::new(
                        Kind::RateHigh,
                        "requests_per_minute",
                        0,
                        format!(
                            "more than {high:.0} requests within a minute (learned at most {:.0})",
                            rpm.max
                        ),
                    )
                    .values(rt.window_count, rpm);
                    self.pending.push((subject, f));
                }
            }
            return;
        }
        let count = rt.window_count;
        // A gap of more than one window means the minute between had no requests at all:
        // silence is judged by `tick`, not as a rate.
        let whole = ts.secs().saturating_sub(start.secs()) < 2 * WINDOW_SECS;
        rt.window_start = Some(ts);
        rt.window_count = 1;
        rt.rate_alerted = false;
        if !whole {
            return;
        }
        match (learning, &mut pair.requests_per_minute) {
            (true, Some(rpm)) => rpm.add(count as f64),
            (true, None) => pair.requests_per_minute = Some(Envelope::new(count as f64)),
            (false, Some(rpm)) => {
                let low = rpm.min / self.cfg.rate_factor;
                if rpm.count >= min_samples && rpm.min >= 10.0 && (count as f64) < low {
                    let f = Finding::new(
                        Kind::RateLow,
                        "requests_per_minute",
                        0,
                        format!(
                            "{count} requests in a minute, fewer than {low:.0} (learned at least {:.0})",
                            rpm.min
                        ),
                    )
                    .values(count, &*rpm);
                    self.pending.push((subject, f));
                }
            }
            (false, None) => {}
        }
    }

    /// Once a second of packet time: masters that went silent.
    pub fn tick(&mut self, eve: &mut EveWriter, now: Timestamp) {
        if self.mode != Mode::Detect {
            return;
        }
        let start = self.capture.map_or(now, |c| c.0);
        let min_samples = u64::from(self.cfg.min_samples);
        for (pair, rt) in self.base.pairs.iter().zip(&mut self.rt) {
            if rt.silent || rt.provisional {
                continue;
            }
            let longest = pair
                .operations
                .iter()
                .filter_map(|o| o.period.as_ref())
                .filter(|p| is_polling(p, min_samples))
                .map(|p| p.max)
                .fold(0.0, f64::max);
            if longest <= 0.0 {
                continue;
            }
            let limit = (longest * self.cfg.silence_periods).max(60.0);
            let since = rt.last_request.unwrap_or(start);
            let quiet = secs_between(since, now);
            if quiet <= limit {
                continue;
            }
            rt.silent = true;
            let f = Finding::new(
                Kind::MasterSilent,
                "silence",
                0,
                format!(
                    "{} sent {} no request for {quiet:.0} s (learned polling at most every {longest:.3} s)",
                    pair.client, pair.server
                ),
            )
            .values(quiet, longest);
            let s = Subject {
                host: pair.client,
                pair: Some((pair.client, pair.server)),
                protocol: pair.protocols().first().map(|p| p.name()),
            };
            self.pending.push((s, f));
        }
        // Each silent pair's alert is placed on its own two hosts.
        let mut pending = std::mem::take(&mut self.pending);
        for (s, f) in pending.drain(..) {
            let (c, sv) = s.pair.unwrap_or((s.host, s.host));
            self.emit::<()>(eve, &Place::hosts(now, c, sv), &s, &f, None);
        }
        self.pending = pending;
    }

    /// Write pending anomaly alerts (paced) and asset events; `true` if an alert was written.
    fn flush<A: Serialize>(
        &mut self,
        eve: &mut EveWriter,
        place: &Place<'_>,
        app: Option<&A>,
    ) -> bool {
        let mut wrote = false;
        // Taken out and put back, so its buffer is reused.
        let mut pending = std::mem::take(&mut self.pending);
        for (subject, f) in pending.drain(..) {
            wrote |= self.emit(eve, place, &subject, &f, app);
        }
        self.pending = pending;
        if !self.changed.is_empty() {
            // One event per asset, `new` if it is.
            self.changed.sort_unstable_by_key(|c| (c.0, !c.1));
            self.changed.dedup_by_key(|c| c.0);
            for &(i, new) in &self.changed {
                write_asset(eve, place.ts, &self.base.assets[i], new);
                self.stats.asset_events += 1;
            }
            self.changed.clear();
        }
        wrote
    }

    /// Write one anomaly alert unless the same deviation was written within
    /// `realert_seconds`; `true` if written.
    fn emit<A: Serialize>(
        &mut self,
        eve: &mut EveWriter,
        place: &Place<'_>,
        subject: &Subject,
        f: &Finding,
        app: Option<&A>,
    ) -> bool {
        let key = detail(&[
            f.kind as u64,
            host_key(subject.host),
            subject.pair.map_or(0, |p| host_key(p.1)),
            f.detail,
        ]);
        let realert = self.cfg.realert_seconds * 1_000_000;
        if let Some(t) = self.suppress.get(&key) {
            if place.ts.0 < t.0.saturating_add(realert) {
                self.stats.suppressed += 1;
                return false;
            }
        }
        if self.suppress.len() >= MAX_SUPPRESSED {
            self.suppress.clear();
        }
        self.suppress.insert(key, place.ts);
        anomaly::write(eve, place, subject, f, app);
        self.stats.anomalies += 1;
        true
    }
}

fn new_pair(client: IpAddr, server: IpAddr, protocol: Protocol) -> Finding {
    Finding::new(
        Kind::NewPair,
        "pair",
        0,
        format!(
            "{client} has not spoken {} to {server} before",
            protocol.name()
        ),
    )
    .values(
        [client.to_string(), server.to_string()],
        serde_json::Value::Null,
    )
}

fn host_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    }
}

fn op_hash(op: &model::OpKey) -> u64 {
    detail(&[
        op.protocol as u64,
        u64::from(op.function),
        u64::from(op.unit),
        u64::from(op.object),
        u64::from(op.db),
        u64::from(op.address),
        u64::from(op.count),
    ])
}

#[derive(Serialize)]
struct AssetBody<'a> {
    asset: AssetRecord<'a>,
}

#[derive(Serialize)]
struct AssetRecord<'a> {
    /// `new` the first time the host is seen, else `changed`.
    change: &'static str,
    #[serde(flatten)]
    asset: &'a Asset,
}

fn write_asset(eve: &mut EveWriter, ts: Timestamp, a: &Asset, new: bool) {
    let body = AssetBody {
        asset: AssetRecord {
            change: if new { "new" } else { "changed" },
            asset: a,
        },
    };
    eve.write(&Event::unattached(ts, EventType::Asset, body));
}

/// The protocol a transaction is learned under: the baseline learns the industrial protocols,
/// and leaves the IT ones to the signatures. The one list of what the baseline reads.
fn learned_protocol(tx: &decoders::Tx<'_, '_>) -> Option<Protocol> {
    Some(match tx {
        decoders::Tx::Modbus { .. } => Protocol::Modbus,
        decoders::Tx::S7comm(_) => Protocol::S7comm,
        decoders::Tx::S7commPlus(_) => Protocol::S7commplus,
        decoders::Tx::Dnp3(_) => Protocol::Dnp3,
        decoders::Tx::Iec104(_) => Protocol::Iec104,
        decoders::Tx::Enip(_) => Protocol::Enip,
        decoders::Tx::Opcua(_) => Protocol::Opcua,
        decoders::Tx::Mms(_) => Protocol::Mms,
        decoders::Tx::Http { .. }
        | decoders::Tx::Dns(_)
        | decoders::Tx::Tls { .. }
        | decoders::Tx::Ssh { .. }
        | decoders::Tx::Ftp { .. }
        | decoders::Tx::FtpData { .. }
        | decoders::Tx::Smtp { .. }
        | decoders::Tx::Smb(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    fn small_caps() -> BaselineConfig {
        BaselineConfig {
            max_assets: 10,
            max_pairs: 5,
            max_points: 3,
            ..BaselineConfig::default()
        }
    }

    #[test]
    fn hosts_and_pairs_stop_at_their_caps() {
        let mut w = Watch::learn(small_caps(), Baseline::default());
        for n in 0..40 {
            w.asset(ip(n), Timestamp(n.into()));
            w.pair(ip(100), ip(n), Timestamp(n.into()));
        }
        let b = w.into_baseline();
        assert_eq!(b.assets.len(), 10);
        assert_eq!(b.pairs.len(), 5);
        assert_eq!(b.learned.dropped.assets, 30);
        assert_eq!(b.learned.dropped.pairs, 35);
    }

    #[test]
    fn a_full_inventory_still_reports_new_hosts() {
        let mut learner = Watch::learn(small_caps(), Baseline::default());
        for n in 0..10 {
            learner.asset(ip(n), Timestamp(1));
        }
        let mut w = Watch::detect(small_caps(), learner.into_baseline());
        assert_eq!(w.asset(ip(3), Timestamp(2)), Some(3));
        assert!(w.pending.is_empty());
        assert_eq!(w.asset(ip(77), Timestamp(2)), None, "not kept");
        assert_eq!(w.pending.len(), 1);
        assert_eq!(w.pending[0].1.kind, Kind::NewAsset);
        assert_eq!(w.pending[0].0.host, ip(77));
    }

    #[test]
    fn non_hosts_are_not_assets() {
        let mut w = Watch::learn(small_caps(), Baseline::default());
        for a in ["255.255.255.255", "224.0.0.251", "0.0.0.0", "ff02::1"] {
            assert_eq!(w.asset(a.parse().unwrap(), Timestamp(1)), None, "{a}");
        }
        assert!(is_host_mac(&[0, 0x0c, 0x29, 1, 2, 3]));
        assert!(!is_host_mac(&[0; 6]) && !is_host_mac(&[1, 0, 0x5e, 0, 0, 1]));
    }

    fn judge<'a>(
        mode: Mode,
        cfg: &'a BaselineConfig,
        findings: &'a mut Vec<Finding>,
        dropped: &'a mut model::Dropped,
    ) -> Judge<'a> {
        Judge {
            mode,
            cfg,
            findings,
            dropped,
            points_left: cfg.max_points as usize,
            client_only_read: true,
            fresh_function: false,
            from_server: false,
        }
    }

    #[test]
    fn value_points_stop_at_their_cap() {
        let cfg = small_caps();
        let (mut f, mut d) = (Vec::new(), model::Dropped::default());
        let mut j = judge(Mode::Learn, &cfg, &mut f, &mut d);
        let mut values = model::Values::new();
        for a in 0..10 {
            j.value(&mut values, a, 1.0, "t", 0, String::new);
        }
        assert_eq!(values.len(), 3);
        assert_eq!(d.points, 7);
    }

    #[test]
    fn detection_reports_a_new_fact_once_and_by_what_it_does() {
        let cfg = BaselineConfig::default();
        let (mut f, mut d) = (Vec::new(), model::Dropped::default());
        let mut functions = vec![3u8];
        let mut ranges = ranges::Ranges::default();
        ranges.add(0, 9, 32);
        {
            let mut j = judge(Mode::Detect, &cfg, &mut f, &mut d);
            j.function(
                &mut functions,
                16u8,
                Activity::Write,
                "modbus.function",
                String::new,
            );
            // The new function's own addresses are not reported a second time.
            j.range(&mut ranges, 100, 101, "modbus.address", 0, String::new);
        }
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::ReadOnlyWrites, "a reader that writes");
        assert_eq!(functions, vec![3, 16], "taken in: reported once");
        {
            let mut j = judge(Mode::Detect, &cfg, &mut f, &mut d);
            j.function(
                &mut functions,
                16u8,
                Activity::Write,
                "modbus.function",
                String::new,
            );
            j.range(&mut ranges, 200, 201, "modbus.address", 0, String::new);
            j.range(&mut ranges, 5, 9, "modbus.address", 0, String::new);
            j.function(
                &mut functions,
                0x29u8,
                Activity::Control,
                "s7comm.function",
                String::new,
            );
        }
        let kinds: Vec<Kind> = f.iter().map(|x| x.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::ReadOnlyWrites,
                Kind::AddressOutsideRange,
                Kind::PlcControl
            ]
        );
    }

    #[test]
    fn detection_judges_values_but_never_widens_them() {
        let cfg = BaselineConfig::default();
        let (mut f, mut d) = (Vec::new(), model::Dropped::default());
        let mut values = model::Values::new();
        {
            let mut j = judge(Mode::Learn, &cfg, &mut f, &mut d);
            for v in 400..=600 {
                j.value(&mut values, 0, f64::from(v), "v", 0, String::new);
            }
            // Too few samples to judge: learned, never reported.
            j.value(&mut values, 1, 5.0, "v", 0, String::new);
        }
        let mut j = judge(Mode::Detect, &cfg, &mut f, &mut d);
        j.value(&mut values, 0, 640.0, "v", 0, String::new);
        j.value(&mut values, 0, 9999.0, "v", 0, String::new);
        j.value(&mut values, 0, 9999.0, "v", 0, String::new);
        j.value(&mut values, 1, 9999.0, "v", 0, String::new);
        assert_eq!(f.len(), 2, "640 is within 25% of the span; 9999 twice");
        assert_eq!(values[&0].max, 600.0);
    }
}
