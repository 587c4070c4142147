//! Replay throughput: the whole sensor pipeline against a bare read + etherparse loop over the
//! same capture, in one run, so the ratio is the cost of flows, reassembly, decoding and EVE.
//!
//! The capture is `ICSIGHT_BENCH_PCAP`, else the largest Modbus capture of the public corpus
//! (`../shared/pcaps/modbus/Modbus_dataset-CSET16/channel_5d_3s.pcap`, 143,809 packets), else
//! the project's own Modbus capture. Run: `cargo bench -p icsight-sensor --bench replay`.

use std::path::Path;

mod common;

use common::capture;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use etherparse::LaxSlicedPacket;
use icsight_eve::Timestamp;
use sensor::capture::link_type;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

fn count_packets(path: &Path) -> u64 {
    let mut cap = pcap::Capture::from_file(path).unwrap();
    let mut n = 0;
    while cap.next_packet().is_ok() {
        n += 1;
    }
    n
}

/// Read every packet and slice it down to the transport: the floor any sensor pays.
fn bare(path: &Path) -> u64 {
    let mut cap = pcap::Capture::from_file(path).unwrap();
    let mut tcp = 0u64;
    while let Ok(p) = cap.next_packet() {
        if let Ok(s) = LaxSlicedPacket::from_ethernet(p.data) {
            tcp += u64::from(s.transport.is_some());
            black_box(&s);
        }
    }
    tcp
}

/// The sensor's replay: decode, flows, reassembly, app layer, EVE serialized (to a sink).
fn sensor_replay(path: &Path, config: &Config) -> u64 {
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(config, eve);
    let mut cap = pcap::Capture::from_file(path).unwrap();
    pipeline.begin_capture(link_type(cap.get_datalink(), "bench").unwrap(), "test");
    while let Ok(p) = cap.next_packet() {
        let ts = Timestamp::from_timeval(p.header.ts.tv_sec, p.header.ts.tv_usec);
        pipeline.packet(ts, p.data, p.header.len);
    }
    pipeline.finish();
    pipeline.eve().counts.total
}

fn replay(c: &mut Criterion) {
    let path = capture();
    let packets = count_packets(&path);
    let config = Config::unregistered();
    eprintln!(
        "capture: {} ({packets} packets, {} events per replay)",
        path.display(),
        sensor_replay(&path, &config)
    );
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(packets));
    g.sample_size(10);
    g.bench_function("bare_read_etherparse", |b| b.iter(|| bare(&path)));
    g.bench_function("sensor_pipeline", |b| {
        b.iter(|| sensor_replay(&path, &config))
    });
    g.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
