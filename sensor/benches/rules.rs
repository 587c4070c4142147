//! Rule-count scaling: the whole pipeline over one capture with 10, 1,000 and 10,000 rules.
//!
//! The rules are synthetic but shaped like real ones, in equal parts: Modbus packet rules with a
//! content at an offset, content plus a relative `pcre`, an MBAP check followed by a relative
//! content, and Modbus transaction rules on a function code and unit. Their literals are random
//! (seeded), so nearly none match: the cost measured is that of looking. Frames are read into
//! memory first, so the file read is not measured. The capture is `ICSIGHT_BENCH_PCAP`, else the
//! largest Modbus capture of the public corpus, else the project's own.
//!
//! A second group runs 1,000 pcre-only rules (no literal for Aho–Corasick) twice: as written,
//! so that Hyperscan narrows them, and with the same expressions relative (`R`), which no
//! prefilter can take, so every rule is evaluated on every packet.
//! Run: `cargo bench -p icsight-sensor --bench rules`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

use common::capture;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use icsight_eve::Timestamp;
use rand::{Rng, SeedableRng};
use sensor::capture::link_type;
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

struct Frames {
    link: LinkType,
    frames: Vec<(Timestamp, Vec<u8>, u32)>,
}

fn read(path: &Path) -> Frames {
    let mut cap = pcap::Capture::from_file(path).unwrap();
    let link = link_type(cap.get_datalink(), "bench").unwrap();
    let mut frames = Vec::new();
    while let Ok(p) = cap.next_packet() {
        let ts = Timestamp::from_timeval(p.header.ts.tv_sec, p.header.ts.tv_usec);
        frames.push((ts, p.data.to_vec(), p.header.len));
    }
    Frames { link, frames }
}

fn hex(rng: &mut rand::rngs::StdRng, n: usize) -> String {
    (0..n)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `n` synthetic rules.
fn synthetic(n: usize) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut out = String::new();
    for i in 0..n {
        let sid = 1_000_000 + i;
        let rule = match i % 4 {
            0 => format!(
                "alert tcp any any -> any 502 (msg:\"s{sid}\"; flow:to_server; content:\"|{}|\"; offset:{}; depth:32; sid:{sid};)",
                hex(&mut rng, 5),
                rng.gen_range(0..8)
            ),
            1 => format!(
                "alert tcp any 502 -> any any (msg:\"s{sid}\"; content:\"|{}|\"; pcre:\"/^.{{2}}\\x{:02x}/sR\"; sid:{sid};)",
                hex(&mut rng, 4),
                rng.gen::<u8>()
            ),
            2 => format!(
                "alert tcp any any -> any 502 (msg:\"s{sid}\"; content:\"|00 00|\"; offset:2; depth:2; content:\"|{}|\"; distance:0; within:40; sid:{sid};)",
                hex(&mut rng, 6)
            ),
            _ => format!(
                "alert modbus any any -> any any (msg:\"s{sid}\"; modbus: unit {}, function {}; sid:{sid};)",
                rng.gen_range(100..=247),
                rng.gen_range(1..=127)
            ),
        };
        out.push_str(&rule);
        out.push('\n');
    }
    out
}

/// `n` pcre-only rules: a Modbus request's MBAP protocol id and length, then a random unit and
/// function (seeded), so nearly none match. `relative` adds `R`, which keeps them out of the
/// prefilter.
fn pcre_only(n: usize, relative: bool) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut out = String::new();
    for i in 0..n {
        let sid = 2_000_000 + i;
        out.push_str(&format!(
            "alert tcp any any -> any 502 (msg:\"p{sid}\"; pcre:\"/^.{{2}}\\x00\\x00.{{2}}\\x{:02x}[\\x{:02x}\\x{:02x}]/s{}\"; sid:{sid};)\n",
            rng.gen::<u8>(),
            rng.gen::<u8>(),
            rng.gen::<u8>(),
            if relative { "R" } else { "" }
        ));
    }
    out
}

fn compile(text: String) -> Arc<rules::Ruleset> {
    let loaded = rules::load_sources(
        &[(PathBuf::from("synthetic.rules"), text)],
        &rules::Vars::suricata_defaults(),
        &rules::Classification::builtin(),
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    Arc::new(loaded.ruleset)
}

fn run(frames: &Frames, config: &Config, ruleset: &Arc<rules::Ruleset>) -> u64 {
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(config, eve);
    pipeline.detect().replace_initial(Arc::clone(ruleset), 0);
    pipeline.begin_capture(frames.link, "test");
    for (ts, data, len) in &frames.frames {
        pipeline.packet(*ts, data, *len);
    }
    pipeline.finish();
    pipeline.eve().counts.alert
}

fn rules_scaling(c: &mut Criterion) {
    let path = capture();
    let frames = read(&path);
    let config = Config::unregistered();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(frames.frames.len() as u64));
    g.sample_size(10);
    for n in [10usize, 1_000, 10_000] {
        let ruleset = compile(synthetic(n));
        eprintln!(
            "{n} rules ({:?}) on {} ({} packets): {} alerts",
            ruleset.counts(),
            path.display(),
            frames.frames.len(),
            run(&frames, &config, &ruleset)
        );
        g.bench_function(format!("{n}_rules"), |b| {
            b.iter(|| run(&frames, &config, &ruleset))
        });
    }
    g.finish();
}

fn pcre_prefilter(c: &mut Criterion) {
    let path = capture();
    let frames = read(&path);
    let config = Config::unregistered();
    let mut g = c.benchmark_group("pcre_only");
    g.throughput(Throughput::Elements(frames.frames.len() as u64));
    g.sample_size(10);
    for (name, relative) in [("hyperscan", false), ("unfiltered", true)] {
        let ruleset = compile(pcre_only(1_000, relative));
        let alerts = run(&frames, &config, &ruleset);
        eprintln!(
            "1000 pcre-only rules, {name} ({:?}): {alerts} alerts",
            ruleset.counts()
        );
        g.bench_function(format!("1000_rules_{name}"), |b| {
            b.iter(|| run(&frames, &config, &ruleset))
        });
    }
    g.finish();
}

criterion_group!(benches, rules_scaling, pcre_prefilter);
criterion_main!(benches);
