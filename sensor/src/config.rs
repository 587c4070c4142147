//! `sensor.toml`: who this sensor is, and the limits it runs under.
//!
//! Every key is optional except the `[sensor]` identity. Unknown keys are errors, so a typo never
//! silently falls back to a default. Every error names the file and the key.

use std::path::{Path, PathBuf};

use decoders::AppProto;
pub use icsight_config::ConfigError;
use icsight_eve::codes::{check_province, check_uscc};
use icsight_eve::{EventType, SensorIdentity};
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;

pub use uplink::{Compression, Fsync, UplinkConfig};

/// Where the sensor looks for its configuration when `--config` is not given.
pub const DEFAULT_PATHS: [&str; 2] = ["sensor.toml", "/etc/icsight/sensor.toml"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub sensor: SensorIdentity,
    #[serde(default)]
    pub capture: CaptureConfig,
    #[serde(default)]
    pub flow: FlowConfig,
    #[serde(default)]
    pub stream: StreamConfig,
    #[serde(default)]
    pub defrag: DefragConfig,
    #[serde(default)]
    pub app: AppConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub eve: EveConfig,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub baseline: BaselineConfig,
    #[serde(default)]
    pub uplink: UplinkSection,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub bulletins: BulletinsConfig,
}

/// The `[uplink]` table: how events reach the provincial collector (the keys of
/// [`UplinkConfig`], the `uplink` crate's) and which of them go (`events`, the sensor's own).
/// It is one table in `sensor.toml`; unknown keys are errors, and every error names its key
/// (`uplink.url`, `uplink.events`). See `docs/uplink.md`.
#[derive(Debug, Clone)]
pub struct UplinkSection {
    /// Where and how to send: URL, credentials, spool, segments, retries.
    pub link: UplinkConfig,
    /// Event types sent; the others stay in the local EVE output only.
    pub events: Vec<String>,
}

impl UplinkSection {
    /// The key of the table that is the sensor's, not the uplink crate's.
    const EVENTS: &'static str = "events";

    /// Whether an uplink is configured at all.
    pub fn enabled(&self) -> bool {
        self.link.enabled()
    }

    fn validate(&self) -> Result<(), (String, String)> {
        self.link
            .validate(crate::uplink::TABLE)
            .map_err(|e| (e.full_key(), e.detail()))?;
        // Every event type can be sent.
        for e in &self.events {
            if EventType::parse(e).is_none() {
                return Err((
                    "uplink.events".into(),
                    format!(
                        "{e:?} is not an event type that can be sent: use {}",
                        EventType::known()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Default for UplinkSection {
    fn default() -> Self {
        UplinkSection {
            link: UplinkConfig::default(),
            events: ["alert", "anomaly", "asset", "flow", "stats"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// One table, two owners: `events` is taken out for the sensor, every other key goes to
/// [`UplinkConfig`]'s own `Deserialize` (unknown keys refused, defaults filled in). Keys are
/// read through the caller's map, so an error names `uplink.KEY` as with a derived struct
/// (`#[serde(flatten)]` would lose that, and would not refuse unknown keys).
impl<'de> Deserialize<'de> for UplinkSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Table;
        impl<'de> Visitor<'de> for Table {
            type Value = UplinkSection;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the [uplink] table")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<UplinkSection, A::Error> {
                let mut events = None;
                let link = UplinkConfig::deserialize(AllBut {
                    map,
                    key: UplinkSection::EVENTS,
                    value: &mut events,
                })?;
                Ok(UplinkSection {
                    link,
                    events: events.unwrap_or_else(|| UplinkSection::default().events),
                })
            }
        }
        d.deserialize_map(Table)
    }
}

/// A table's entries but `key`'s, as a deserializer of their own; `key`'s value lands in `value`.
struct AllBut<'a, A, T> {
    map: A,
    key: &'static str,
    value: &'a mut Option<T>,
}

impl<'de, A: MapAccess<'de>, T: Deserialize<'de>> serde::Deserializer<'de> for AllBut<'_, A, T> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>, T: Deserialize<'de>> MapAccess<'de> for AllBut<'_, A, T> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        mut seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let key = self.map.next_key_seed(KeyOrTaken {
                seed,
                taken: self.key,
            })?;
            match key {
                None => return Ok(None),
                Some(Key::Other(k)) => return Ok(Some(k)),
                Some(Key::Taken(unused)) => {
                    *self.value = Some(self.map.next_value()?);
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A key read from the table: the one taken out (with the seed, unused), or another, read by
/// the seed it was meant for.
enum Key<S, K> {
    Taken(S),
    Other(K),
}

/// Reads a key as the table's deserializer gives it, so its errors carry the key and its line.
struct KeyOrTaken<S> {
    seed: S,
    taken: &'static str,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeyOrTaken<S> {
    type Value = Key<S, S::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for KeyOrTaken<S> {
    type Value = Key<S, S::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v == self.taken {
            return Ok(Key::Taken(self.seed));
        }
        self.seed.deserialize(v.into_deserializer()).map(Key::Other)
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v == self.taken {
            return Ok(Key::Taken(self.seed));
        }
        self.seed
            .deserialize(BorrowedStrDeserializer::new(v))
            .map(Key::Other)
    }
}

/// Threat bulletins pulled from the collector (`GET {uplink.url}/v1/bulletins/feed`, with the
/// uplink's credentials): their rules are loaded with the others. Off unless `dir` is set, and
/// then `[uplink] url` must be set too. See `docs/uplink.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BulletinsConfig {
    /// Where each bulletin's rules file (`<bulletin_id>.rules`) and the feed's cursor
    /// (`feed.cursor`) are kept; empty: no bulletins.
    pub dir: PathBuf,
    /// Seconds between pulls on live capture (a replay pulls once, at start).
    pub poll_seconds: u32,
}

impl BulletinsConfig {
    /// Whether bulletins are pulled and loaded.
    pub fn enabled(&self) -> bool {
        !self.dir.as_os_str().is_empty()
    }
}

impl Default for BulletinsConfig {
    fn default() -> Self {
        BulletinsConfig {
            dir: PathBuf::new(),
            poll_seconds: 30,
        }
    }
}

/// A Prometheus text-format file the sensor rewrites for node_exporter's textfile collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where to write; empty: no metrics file.
    pub file: PathBuf,
    /// Seconds between rewrites on live capture.
    pub interval: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            file: PathBuf::new(),
            interval: 10,
        }
    }
}

/// Anomaly baselines: what learning keeps, and how far detection lets behaviour stray from it.
/// The caps bound a baseline's memory on a large network; what falls beyond one is counted,
/// not learned, and the count is reported.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Seconds `sensor learn --interface` watches before it writes the baseline.
    pub learn_seconds: u64,
    /// Hosts kept in the inventory.
    pub max_assets: u32,
    /// (client, server) pairs learned.
    pub max_pairs: u32,
    /// Address ranges kept per table or area; past it the closest ranges join.
    pub max_ranges: u32,
    /// Points whose values are enveloped, per pair.
    pub max_points: u32,
    /// Distinct polling operations timed, per pair.
    pub max_operations: u32,
    /// How far beyond a learned value envelope a value may go, as a fraction of its span.
    pub value_tolerance: f64,
    /// Samples an envelope, period or rate needs before it is judged.
    pub min_samples: u32,
    /// Seconds before the same deviation of the same pair is reported again.
    pub realert_seconds: u64,
    /// A master is silent after this many of its longest learned polling periods without a
    /// request (and at least a minute).
    pub silence_periods: f64,
    /// A pair's request rate is abnormal beyond this factor of its learned per-minute maximum
    /// (or below its minimum divided by it).
    pub rate_factor: f64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            learn_seconds: 86_400,
            max_assets: 65_536,
            max_pairs: 16_384,
            max_ranges: 32,
            max_points: 512,
            max_operations: 64,
            value_tolerance: 0.25,
            min_samples: 10,
            realert_seconds: 300,
            silence_periods: 10.0,
            rate_factor: 3.0,
        }
    }
}

/// Signatures: which rules load without `--rules`, how they are classified, and the rule
/// variables (`$HOME_NET`, `$MODBUS_SERVER`, `$S7_PORTS` …) for this plant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Rules files or directories; empty: the default ICS ruleset built into the sensor.
    pub files: Vec<PathBuf>,
    /// PCRE2's match limit for the expressions that backtrack (Suricata's
    /// `pcre.match-limit`).
    pub pcre_match_limit: u32,
    /// PCRE2's depth limit (Suricata's `pcre.match-limit-recursion`).
    pub pcre_match_limit_recursion: u32,
    /// A Suricata `classification.config`; none: the one shipped in `rules/`.
    pub classification: Option<PathBuf>,
    /// Address variables, e.g. `HOME_NET = "[10.10.0.0/16]"`, `MODBUS_SERVER = "10.10.1.5"`.
    pub address_groups: std::collections::BTreeMap<String, String>,
    /// Port variables, e.g. `MODBUS_PORTS = "[502,5020]"`.
    pub port_groups: std::collections::BTreeMap<String, String>,
    /// Refuse a rule, by name, for a keyword accepted without effect on a passive sensor
    /// (`rawbytes`, `target`, `prefilter`) too, not only for what the sensor lacks.
    pub strict: bool,
    /// Run the `lua` scripts rules name (Suricata 8's `security.lua.allow-rules`); off, such
    /// rules are refused by name.
    pub lua: bool,
    /// Bytes one rule script's Lua state may hold (`security.lua.max-bytes`).
    pub lua_max_bytes: usize,
    /// VM instructions one call of a rule script may run (`security.lua.max-instructions`).
    pub lua_max_instructions: u64,
}

impl RulesConfig {
    /// How rules are loaded under this configuration.
    pub fn load_options(&self) -> rules::LoadOptions {
        rules::LoadOptions {
            strict: self.strict,
            lua: self.lua.then_some(rules::lua::Limits {
                max_bytes: self.lua_max_bytes,
                max_instructions: self.lua_max_instructions,
            }),
        }
    }
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            files: Vec::new(),
            pcre_match_limit: rules::pcre::backtrack::MATCH_LIMIT,
            pcre_match_limit_recursion: rules::pcre::backtrack::DEPTH_LIMIT,
            classification: None,
            address_groups: Default::default(),
            port_groups: Default::default(),
            strict: false,
            lua: false,
            lua_max_bytes: rules::lua::Limits::default().max_bytes,
            lua_max_instructions: rules::lua::Limits::default().max_instructions,
        }
    }
}

/// Live capture settings.
///
/// In immediate mode libpcap uses a TPACKET_V2 ring of fixed-size frames; on an interface with
/// segmentation offloads on, each frame is as large as the snap length. The ring holds about
/// `buffer_mb` MiB / (`snaplen` + 64) packets: 14,000 with the defaults. Turn GRO/LRO off on a
/// capture interface (`ethtool -K IF gro off lro off`), as for any IDS, and frames shrink to the
/// MTU.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Kernel ring buffer for live capture, in MiB.
    pub buffer_mb: u32,
    /// Bytes kept of each packet: 9216 holds a jumbo frame.
    pub snaplen: u32,
    pub promiscuous: bool,
    /// On SIGINT/SIGTERM, how long the sensor may go on handling what the ring already holds
    /// before it stops; what is still unread then is counted as dropped at shutdown.
    pub drain_seconds: f64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            buffer_mb: 128,
            snaplen: 9216,
            promiscuous: true,
            // A full default ring (~14,000 packets) takes well under a second; the uplink's
            // drain comes after this, and both fit in systemd's 90 s stop timeout.
            drain_seconds: 10.0,
        }
    }
}

/// Flow table limits and idle timeouts (seconds), per protocol and state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Hard cap on tracked flows; the least recently seen flow is evicted to make room.
    pub max_flows: u32,
    /// Hard cap on memory held by flows (state, reassembly queues, app buffers), in MiB.
    pub memcap_mb: u32,
    pub tcp_new_timeout: u32,
    pub tcp_established_timeout: u32,
    pub tcp_closed_timeout: u32,
    pub udp_new_timeout: u32,
    pub udp_established_timeout: u32,
    pub other_new_timeout: u32,
    pub other_established_timeout: u32,
}

impl Default for FlowConfig {
    fn default() -> Self {
        // Suricata's defaults, so flow records line up with what analysts know.
        FlowConfig {
            max_flows: 100_000,
            memcap_mb: 512,
            tcp_new_timeout: 60,
            tcp_established_timeout: 600,
            tcp_closed_timeout: 60,
            udp_new_timeout: 30,
            udp_established_timeout: 300,
            other_new_timeout: 30,
            other_established_timeout: 300,
        }
    }
}

/// TCP reassembly limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Out-of-order bytes queued per flow direction before the hole is declared a gap, in KiB.
    pub max_queued_kb: u32,
    /// Out-of-order bytes queued over all flows, in MiB.
    pub memcap_mb: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_queued_kb: 1024,
            memcap_mb: 128,
        }
    }
}

/// IP fragment reassembly limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once; beyond it the oldest are dropped.
    pub max_trackers: u32,
    /// Seconds a datagram may wait for its missing fragments.
    pub timeout: u32,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_trackers: 4096,
            timeout: 60,
        }
    }
}

macro_rules! declare_app_config {
    ($($variant:ident, $name:ident, $parser:ty;)*) => {
        /// Application-layer detection: the server ports tried first, and payload probing. One
        /// `[app.NAME]` table a protocol.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct AppConfig {
            /// Probe every protocol on any port, not only on its configured ports.
            pub probe_all_ports: bool,
            $(pub $name: ProtoConfig,)*
        }

        impl Default for AppConfig {
            fn default() -> Self {
                AppConfig {
                    probe_all_ports: true,
                    $($name: ProtoConfig::on(AppProto::$variant.default_port()),)*
                }
            }
        }

        impl AppConfig {
            /// The settings of `proto`.
            pub fn proto(&self, proto: AppProto) -> &ProtoConfig {
                match proto {
                    $(AppProto::$variant => &self.$name,)*
                }
            }
        }
    };
}

decoders::for_each_protocol!(declare_app_config);

/// The application layers' limits that Suricata exposes as configuration, under the names of
/// Suricata's keys: what a message or body may hold before the rest is counted, not kept.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Object headers read from one DNP3 application fragment
    /// (`app-layer.protocols.dnp3.max-objects`); more is `dnp3.too_many_objects`.
    pub dnp3_max_objects: usize,
    /// Request body bytes kept for `http.request_body` (libhtp's `request-body-limit`).
    pub http_request_body: usize,
    /// Response body bytes kept for `file.data` (`response-body-limit`).
    pub http_response_body: usize,
    /// The longest FTP command or reply line kept (`app-layer.protocols.ftp.max-line-length`);
    /// a longer one is cut and marked truncated. At most 65536.
    pub ftp_max_line: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            dnp3_max_objects: decoders::dnp3::Limits::default().max_objects,
            http_request_body: crate::app::http::REQUEST_BODY_LIMIT,
            http_response_body: crate::app::http::RESPONSE_BODY_LIMIT,
            ftp_max_line: decoders::ftp::MAX_LINE,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtoConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub ports: Vec<u16>,
}

fn yes() -> bool {
    true
}

impl ProtoConfig {
    fn on(port: u16) -> Self {
        ProtoConfig {
            enabled: true,
            ports: vec![port],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EveConfig {
    /// Seconds between `stats` events on live capture; 0 logs stats only at exit.
    pub stats_interval: u32,
    /// Log a `flow` event when each flow ends.
    pub flow: bool,
}

impl Default for EveConfig {
    fn default() -> Self {
        EveConfig {
            stats_interval: 60,
            flow: true,
        }
    }
}

impl Config {
    /// Parse and validate a configuration; `path` is only used to name errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = icsight_config::parse(text, path)?;
        config
            .validate()
            .map_err(|(k, m)| ConfigError::key(path, k, m))?;
        Ok(config)
    }

    /// Read `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(&icsight_config::read(path)?, path)
    }

    /// `--config` if given, else the first of [`DEFAULT_PATHS`] that exists; `None` if none.
    pub fn discover(explicit: Option<&Path>) -> Result<Option<(Config, PathBuf)>, ConfigError> {
        if let Some(p) = explicit {
            return Ok(Some((Config::load(p)?, p.to_owned())));
        }
        for p in DEFAULT_PATHS.iter().map(Path::new) {
            if p.exists() {
                return Ok(Some((Config::load(p)?, p.to_owned())));
            }
        }
        Ok(None)
    }

    /// A configuration for a sensor nobody registered: every default, and an id but no enterprise.
    pub fn unregistered() -> Config {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unregistered".into());
        Config {
            sensor: SensorIdentity {
                id: host,
                enterprise_id: None,
                province: None,
                industry: None,
                grade: None,
            },
            capture: Default::default(),
            flow: Default::default(),
            stream: Default::default(),
            defrag: Default::default(),
            app: Default::default(),
            limits: Default::default(),
            eve: Default::default(),
            rules: Default::default(),
            baseline: Default::default(),
            uplink: Default::default(),
            metrics: Default::default(),
            bulletins: Default::default(),
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let s = &self.sensor;
        if s.id.is_empty()
            || s.id.len() > 64
            || !s
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err((
                "sensor.id".into(),
                format!("{:?} must be 1-64 letters, digits, '.', '_' or '-'", s.id),
            ));
        }
        if let Some(code) = &s.enterprise_id {
            check_uscc(code).map_err(|m| ("sensor.enterprise_id".into(), m))?;
        }
        if let Some(code) = &s.province {
            check_province(code).map_err(|m| ("sensor.province".into(), m))?;
        }
        if let Some(g) = s.grade {
            if !(1..=3).contains(&g) {
                return Err((
                    "sensor.grade".into(),
                    format!("{g} is not a grade: use 1, 2 or 3"),
                ));
            }
        }
        let positive: [(&'static str, u32); 13] = [
            ("capture.buffer_mb", self.capture.buffer_mb),
            ("capture.snaplen", self.capture.snaplen),
            ("flow.max_flows", self.flow.max_flows),
            ("flow.memcap_mb", self.flow.memcap_mb),
            ("flow.tcp_new_timeout", self.flow.tcp_new_timeout),
            (
                "flow.tcp_established_timeout",
                self.flow.tcp_established_timeout,
            ),
            ("flow.udp_new_timeout", self.flow.udp_new_timeout),
            (
                "flow.udp_established_timeout",
                self.flow.udp_established_timeout,
            ),
            ("flow.other_new_timeout", self.flow.other_new_timeout),
            (
                "flow.other_established_timeout",
                self.flow.other_established_timeout,
            ),
            ("stream.max_queued_kb", self.stream.max_queued_kb),
            ("stream.memcap_mb", self.stream.memcap_mb),
            ("defrag.max_trackers", self.defrag.max_trackers),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err((key.into(), "must be greater than 0".into()));
            }
        }
        let b = &self.baseline;
        let caps: [(&'static str, u32); 6] = [
            ("baseline.max_assets", b.max_assets),
            ("baseline.max_pairs", b.max_pairs),
            ("baseline.max_ranges", b.max_ranges),
            ("baseline.max_points", b.max_points),
            ("baseline.max_operations", b.max_operations),
            ("baseline.min_samples", b.min_samples),
        ];
        for (key, v) in caps {
            if v == 0 {
                return Err((key.into(), "must be greater than 0".into()));
            }
        }
        if b.learn_seconds == 0 {
            return Err((
                "baseline.learn_seconds".into(),
                "must be greater than 0".into(),
            ));
        }
        let factors = [
            ("baseline.value_tolerance", b.value_tolerance, 0.0),
            ("baseline.silence_periods", b.silence_periods, 1.0),
            ("baseline.rate_factor", b.rate_factor, 1.0),
        ];
        for (key, v, min) in factors {
            if !(v.is_finite() && v >= min) {
                return Err((
                    key.into(),
                    format!("{v} must be a number of at least {min}"),
                ));
            }
        }
        self.uplink.validate()?;
        if self.metrics.interval == 0 {
            return Err(("metrics.interval".into(), "must be greater than 0".into()));
        }
        let bulletins = &self.bulletins;
        if !(1..=86_400).contains(&bulletins.poll_seconds) {
            return Err((
                "bulletins.poll_seconds".into(),
                format!("{} must be from 1 to 86400 seconds", bulletins.poll_seconds),
            ));
        }
        if bulletins.enabled() && !self.uplink.enabled() {
            return Err((
                "bulletins.dir".into(),
                format!(
                    "{:?}: bulletins come from the collector, but [uplink] url is not set: set it, or dir = \"\" for no bulletins",
                    bulletins.dir.display().to_string()
                ),
            ));
        }
        if self.capture.buffer_mb > 4096 {
            return Err(("capture.buffer_mb".into(), "at most 4096 MiB".into()));
        }
        if self.capture.snaplen > 262_144 {
            return Err(("capture.snaplen".into(), "at most 262144 bytes".into()));
        }
        let r = &self.rules;
        if !(64 * 1024..=1 << 30).contains(&r.lua_max_bytes) {
            return Err((
                "rules.lua_max_bytes".into(),
                format!("{} must be from 65536 to 1073741824 bytes", r.lua_max_bytes),
            ));
        }
        if !(1_000..=1_000_000_000).contains(&r.lua_max_instructions) {
            return Err((
                "rules.lua_max_instructions".into(),
                format!("{} must be from 1000 to 1000000000", r.lua_max_instructions),
            ));
        }
        let line = self.limits.ftp_max_line;
        if !(1..=decoders::ftp::MAX_LINE_LIMIT).contains(&line) {
            return Err((
                "limits.ftp_max_line".into(),
                format!("{line} must be from 1 to 65536 bytes"),
            ));
        }
        let drain = self.capture.drain_seconds;
        if !(drain.is_finite() && (0.0..=3600.0).contains(&drain)) {
            return Err((
                "capture.drain_seconds".into(),
                format!("{drain} must be a number of seconds from 0 to 3600"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icsight_eve::Industry;

    const GOOD: &str = r#"
[sensor]
id = "hz-plant1-s01"
enterprise_id = "91330100MA2XXXXXX1"
province = "330000"
industry = "petrochemical"
grade = 2
"#;

    fn err(text: &str) -> String {
        Config::parse(text, Path::new("sensor.toml"))
            .unwrap_err()
            .to_string()
    }

    fn with_uscc(code: &str) -> String {
        GOOD.replace("91330100MA2XXXXXX1", code)
    }

    #[test]
    fn good_config_parses() {
        let c = Config::parse(&with_uscc("91350100M000100Y43"), Path::new("s.toml")).unwrap();
        assert_eq!(c.sensor.grade, Some(2));
        assert_eq!(c.sensor.industry, Some(Industry::Petrochemical));
        assert_eq!(c.flow.max_flows, 100_000);
        assert_eq!(c.app.modbus.ports, vec![502]);
        assert_eq!(c.capture.drain_seconds, 10.0);
    }

    #[test]
    fn errors_name_the_key() {
        let base = with_uscc("91350100M000100Y43");
        let e = err(&base.replace("grade = 2", "grade = 4"));
        assert!(e.starts_with("sensor.toml: key `sensor.grade`"), "{e}");
        let e = err(&base.replace("grade = 2", "grade = \"two\""));
        assert!(
            e.contains("key `sensor.grade`") && e.contains("line 7"),
            "{e}"
        );
        let e = err(&base.replace("petrochemical", "bakery"));
        assert!(
            e.contains("key `sensor.industry`") && e.contains("bakery"),
            "{e}"
        );
        let e = err(&base.replace("330000", "330100"));
        assert!(e.contains("key `sensor.province`"), "{e}");
        let e = err(&format!("{base}\n[flow]\nmax_flow = 3\n"));
        assert!(
            e.contains("key `flow.max_flow`") && e.contains("unknown field"),
            "{e}"
        );
        let e = err(&format!("{base}\n[flow]\nmax_flows = 0\n"));
        assert!(e.contains("key `flow.max_flows`"), "{e}");
        for drain in ["-1.0", "nan", "7200"] {
            let e = err(&format!("{base}\n[capture]\ndrain_seconds = {drain}\n"));
            assert!(e.contains("key `capture.drain_seconds`"), "{drain}: {e}");
        }
        let e = err(&format!("{base}\n[rules]\nlua_max_bytes = 10\n"));
        assert!(e.contains("key `rules.lua_max_bytes`"), "{e}");
        let e = err(&format!("{base}\n[rules]\nlua_max_instructions = 0\n"));
        assert!(e.contains("key `rules.lua_max_instructions`"), "{e}");
        for line in ["0", "65537"] {
            let e = err(&format!("{base}\n[limits]\nftp_max_line = {line}\n"));
            assert!(e.contains("key `limits.ftp_max_line`"), "{line}: {e}");
        }
        let e = err("[sensor]\n");
        assert!(e.contains("missing field `id`"), "{e}");
        let e = err(&with_uscc("91350100M000100Y44"));
        assert!(e.contains("key `sensor.enterprise_id`"), "{e}");
        let e = err("[sensor\nid=1");
        assert!(e.starts_with("sensor.toml: key"), "{e}");
    }

    #[test]
    fn uplink_and_metrics_errors_name_the_key() {
        let base = with_uscc("91350100M000100Y43");
        let up = |body: &str| err(&format!("{base}\n[uplink]\n{body}\n"));
        for (body, key) in [
            ("url = \"ftp://c\"", "uplink.url"),
            ("url = \"https://\"", "uplink.url"),
            ("url = \"https://c:8443\"", "uplink.ca"),
            ("url = \"http://c\"\ncert = \"c.pem\"", "uplink.key"),
            ("url = \"http://c\"\nkey = \"k.pem\"", "uplink.cert"),
            ("events = [\"alert\", \"krb5\"]", "uplink.events"),
            ("fsync = \"sometimes\"", "uplink.fsync"),
            ("compression = \"lz4\"", "uplink.compression"),
            ("segment_max_kb = 0", "uplink.segment_max_kb"),
            (
                "spool_max_mb = 1\nsegment_max_kb = 2048",
                "uplink.segment_max_kb",
            ),
            ("retry_min_ms = 60000", "uplink.retry_min_ms"),
            ("segment_seconds = -1.0", "uplink.segment_seconds"),
            ("drain_seconds = nan", "uplink.drain_seconds"),
            ("timeout_s = 0", "uplink.timeout_s"),
            ("spool_max_mb = \"big\"", "uplink.spool_max_mb"),
            ("urll = \"http://c\"", "uplink.urll"),
        ] {
            let e = up(body);
            assert!(
                e.starts_with(&format!("sensor.toml: key `{key}`")),
                "{body}: {e}"
            );
        }
        let e = err(&format!("{base}\n[metrics]\ninterval = 0\n"));
        assert!(e.contains("key `metrics.interval`"), "{e}");
        let e = err(&format!("{base}\n[metrics]\nfil = \"m.prom\"\n"));
        assert!(e.contains("key `metrics.fil`"), "{e}");
    }

    #[test]
    fn uplink_defaults_and_a_full_section() {
        let c = Config::parse(&with_uscc("91350100M000100Y43"), Path::new("s.toml")).unwrap();
        assert!(!c.uplink.enabled());
        assert_eq!(
            c.uplink.events,
            ["alert", "anomaly", "asset", "flow", "stats"]
        );
        assert_eq!(c.uplink.link.fsync, Fsync::Segment);
        assert!(c.metrics.file.as_os_str().is_empty());
        let text = format!(
            "{}\n[uplink]\nurl = \"https://collector.example:8443\"\nca = \"ca.pem\"\ncert = \"s.pem\"\nkey = \"s.key\"\nfsync = \"always\"\ncompression = \"gzip\"\nevents = [\"modbus\", \"dnp3\"]\n[metrics]\nfile = \"/var/lib/node_exporter/icsight.prom\"\ninterval = 5\n",
            with_uscc("91350100M000100Y43")
        );
        let c = Config::parse(&text, Path::new("s.toml")).unwrap();
        assert!(c.uplink.enabled());
        assert_eq!(c.uplink.link.compression, Compression::Gzip);
        assert_eq!(c.uplink.link.fsync, Fsync::Always);
        assert_eq!(c.metrics.interval, 5);
    }

    #[test]
    fn events_is_the_sensors_key_in_the_uplinks_table() {
        let base = with_uscc("91350100M000100Y43");
        let parse = |body: &str| {
            Config::parse(&format!("{base}\n[uplink]\n{body}\n"), Path::new("s.toml"))
                .map(|c| c.uplink)
        };
        // Anywhere in the table, between the uplink crate's keys.
        let u = parse("spool_max_mb = 9\nevents = [\"dnp3\"]\nsegment_seconds = 2").unwrap();
        assert_eq!(u.events, ["dnp3"]);
        assert_eq!((u.link.spool_max_mb, u.link.segment_seconds), (9, 2.0));
        assert_eq!(parse("events = []").unwrap().events, Vec::<String>::new());
        let u = parse("timeout_s = 3").unwrap();
        assert_eq!(u.events, UplinkSection::default().events);
        assert_eq!(u.link.timeout_s, 3);
        // Its errors and the crate's name their key and line alike.
        let e = err(&format!(
            "{base}\n[uplink]\nurl = \"\"\nevents = \"alert\"\n"
        ));
        assert!(
            e.starts_with("sensor.toml: key `uplink.events`") && e.contains("line 11"),
            "{e}"
        );
        let e = err(&format!("{base}\n[uplink]\nevents = []\nurll = \"x\"\n"));
        assert!(
            e.starts_with("sensor.toml: key `uplink.urll`")
                && e.contains("unknown field `urll`")
                && e.contains("line 11"),
            "{e}"
        );
        let e = err(&format!("uplink = 3\n{base}"));
        assert!(e.starts_with("sensor.toml: key `uplink`"), "{e}");
    }

    #[test]
    fn bulletins_are_off_by_default_and_need_the_uplink() {
        let base = with_uscc("91350100M000100Y43");
        let c = Config::parse(&base, Path::new("s.toml")).unwrap();
        assert!(!c.bulletins.enabled());
        assert_eq!(c.bulletins.poll_seconds, 30);
        let uplink = "[uplink]\nurl = \"http://127.0.0.1:9\"\n";
        let c = Config::parse(
            &format!("{base}\n{uplink}[bulletins]\ndir = \"/var/lib/icsight/bulletins\"\npoll_seconds = 5\n"),
            Path::new("s.toml"),
        )
        .unwrap();
        assert!(c.bulletins.enabled());
        assert_eq!(c.bulletins.dir, Path::new("/var/lib/icsight/bulletins"));
        assert_eq!(c.bulletins.poll_seconds, 5);
        let e = err(&format!("{base}\n[bulletins]\ndir = \"bulletins\"\n"));
        assert!(
            e.starts_with("sensor.toml: key `bulletins.dir`")
                && e.contains("[uplink] url is not set"),
            "{e}"
        );
        for (body, key) in [
            ("poll_seconds = 0", "bulletins.poll_seconds"),
            ("poll_seconds = 86401", "bulletins.poll_seconds"),
            ("poll_seconds = -1", "bulletins.poll_seconds"),
            ("dir = 3", "bulletins.dir"),
            ("poll = 3", "bulletins.poll"),
        ] {
            let e = err(&format!("{base}\n{uplink}[bulletins]\n{body}\n"));
            assert!(
                e.starts_with(&format!("sensor.toml: key `{key}`")),
                "{body}: {e}"
            );
        }
    }

    #[test]
    fn the_shipped_sensor_toml_parses() {
        let text = include_str!("../../sensor.toml");
        let c = Config::parse(text, Path::new("sensor.toml")).unwrap();
        assert!(!c.uplink.enabled());
        let d = UplinkSection::default();
        assert_eq!(c.uplink.link.spool_max_mb, d.link.spool_max_mb);
        assert_eq!(c.uplink.events, d.events);
        assert_eq!(c.metrics.interval, 10);
        let b = BulletinsConfig::default();
        assert_eq!(c.bulletins.dir, b.dir);
        assert_eq!(c.bulletins.poll_seconds, b.poll_seconds);
    }
}
