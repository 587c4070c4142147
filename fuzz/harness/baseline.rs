//! Baseline files on arbitrary text: parse and check; what parses must write back to a file
//! that parses to the same baseline, and detection against it over the plant's attack capture
//! (`pcaps/baseline_attack.pcap`, built in) must run through. Nothing may panic, and every
//! refusal must name its place.

use icsight_eve::Timestamp;
use sensor::baseline::model::Baseline;
use sensor::baseline::{diff::diff, Watch};
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

const CAPTURE: &[u8] = include_bytes!("../../pcaps/baseline_attack.pcap");

/// The records of a little-endian microsecond pcap file: (timestamp, frame).
fn records(pcap: &[u8]) -> impl Iterator<Item = (Timestamp, &[u8])> {
    let mut rest = pcap.get(24..).unwrap_or_default();
    std::iter::from_fn(move || {
        let h = rest.get(..16)?;
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let len = word(8) as usize;
        let frame = rest.get(16..16 + len)?;
        rest = &rest[16 + len..];
        Some((
            Timestamp::from_timeval(word(0).into(), word(4).into()),
            frame,
        ))
    })
}

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let b = match Baseline::parse(text) {
        Ok(b) => b,
        Err((at, message)) => {
            assert!(!at.is_empty() && !message.is_empty());
            return;
        }
    };
    let written = serde_json::to_string(&b).expect("a baseline serializes");
    let again = Baseline::parse(&written).expect("what the sensor writes, it reads");
    assert!(diff(&b, &again).is_empty(), "written back unchanged");
    let config = Config::unregistered();
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(&config, eve);
    pipeline.set_watch(Watch::detect(config.baseline.clone(), b));
    pipeline.begin_capture(LinkType::Ethernet, "fuzz");
    for (ts, frame) in records(CAPTURE) {
        pipeline.packet(ts, frame, frame.len() as u32);
    }
    pipeline.finish();
}
