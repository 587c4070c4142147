//! One flow for the app layers' unit tests: a stage that writes EVE to memory, the flow's
//! metadata and the per-packet context, so a test hands bytes to a driver and reads the
//! events back.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::app::{AppCtx, AppStats, Detection};
use crate::detect::{Detect, Stage};
use crate::eve::EveWriter;
use crate::flow::FlowMeta;
use decoders::AppProto;
use icsight_eve::{Proto, Timestamp};

/// The EVE lines written, shared with the writer.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A flow from 10.0.0.2:40000 to 10.0.0.1, already `app`, with its own EVE output.
pub struct TestFlow {
    stage: Stage,
    meta: FlowMeta,
    bits: rules::FlowVars,
    stats: AppStats,
    lines: Lines,
    packets: u64,
}

impl TestFlow {
    /// The flow to `port` over `proto`; alerts come from `rules` (Suricata's syntax), which
    /// must all load.
    pub fn new(app: AppProto, proto: Proto, port: u16, rules: &str) -> Self {
        let (sigs, errs) = rules::parse_rules(rules, &rules::Vars::suricata_defaults());
        assert!(errs.is_empty(), "{errs:?}");
        let (set, errs) = rules::Ruleset::compile(
            sigs,
            &rules::Classification::builtin(),
            rules::flow::FlowbitNames::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
        let config = crate::Config::unregistered();
        let lines = Lines::default();
        TestFlow {
            stage: Stage {
                eve: EveWriter::new(Box::new(lines.clone()), &config.sensor),
                detect: Detect::new(Arc::new(set), 0),
                watch: None,
                detection: Detection::new(&config.app),
                expected: Default::default(),
                limits: Default::default(),
            },
            meta: FlowMeta {
                id: 1,
                client: (IpAddr::from([10, 0, 0, 2]), 40000),
                server: (IpAddr::from([10, 0, 0, 1]), port),
                proto,
                vlan: [0; 2],
                vlan_len: 0,
                app_proto: Some(app),
                app_proto_orig: None,
                app_failed: false,
                alerted: false,
                macs: [None; 2],
            },
            bits: rules::FlowVars::default(),
            stats: AppStats::default(),
            lines,
            packets: 0,
        }
    }

    /// The context of the flow's next packet.
    pub fn packet(&mut self) -> AppCtx<'_> {
        self.packets += 1;
        let parts = (&mut self.meta, &mut self.bits, true);
        AppCtx::new(
            Timestamp(1),
            self.packets,
            parts,
            &mut self.stats,
            &mut self.stage,
        )
    }

    /// Every event written so far, parsed.
    pub fn events(&mut self) -> Vec<Value> {
        self.stage.eve.flush().unwrap();
        let text = String::from_utf8(self.lines.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
