//! The whole sensor pipeline on arbitrary frames: the input's first byte picks a link type, the
//! rest is a sequence of frames, each prefixed by a 2-byte length. Decode, defragmentation,
//! flows, reassembly, detection and every app parser run; nothing may panic.

use icsight_eve::Timestamp;
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Null,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Ethernet,
];

/// One fuzz input.
pub fn run(data: &[u8]) {
    let Some((&link, mut rest)) = data.split_first() else {
        return;
    };
    let config = Config::unregistered();
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(&config, eve);
    pipeline.begin_capture(LINKS[usize::from(link) % LINKS.len()], "test");
    let mut ts = 1_000_000u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        ts += 250_000;
        pipeline.packet(Timestamp(ts), frame, frame.len() as u32);
        rest = &rest[2 + len..];
    }
    pipeline.finish();
}
