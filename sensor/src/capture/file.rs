//! Replaying capture files (pcap and pcapng, through libpcap).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::Pipeline;
use icsight_eve::Timestamp;

/// File names taken from a directory.
const EXTENSIONS: [&str; 4] = ["pcap", "pcapng", "cap", "dmp"];

/// The outcome of a replay.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    pub files: usize,
    /// One line per input that failed, naming it.
    pub errors: Vec<String>,
    pub seconds: f64,
}

/// Expand the command line's inputs: files as given, directories walked for capture files,
/// in name order. A missing input is an error of its own; the others still run.
pub fn expand_inputs(inputs: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = out.len();
            walk(input, &mut out, errors);
            out[before..].sort();
        } else if input.exists() {
            out.push(input.clone());
        } else {
            errors.push(format!("{}: no such file or directory", input.display()));
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(format!("{}: {e}", dir.display())),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out, errors);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
}

/// Replay `files` in order through one pipeline. Each file is a capture of its own: its flows
/// end (reason `shutdown`) when it ends. A file that cannot be opened or read stops there, is
/// reported, and the next file runs.
pub fn replay(pipeline: &mut Pipeline, files: &[PathBuf], progress: bool) -> ReplaySummary {
    let started = Instant::now();
    let mut summary = ReplaySummary::default();
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let bar = (progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut done_bytes = 0u64;
    for path in files {
        summary.files += 1;
        if let Some(bar) = &bar {
            bar.set_message(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
        if let Err(e) = replay_file(pipeline, path, bar.as_ref(), done_bytes) {
            summary.errors.push(e);
        }
        pipeline.finish();
        pipeline.eve().tick();
        done_bytes += path.metadata().map(|m| m.len()).unwrap_or(0);
        if let Some(bar) = &bar {
            bar.set_position(done_bytes);
        }
        if let Some(e) = pipeline.eve().error() {
            summary.errors.push(format!("EVE output: {e}"));
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

fn replay_file(
    pipeline: &mut Pipeline,
    path: &Path,
    bar: Option<&ProgressBar>,
    done_bytes: u64,
) -> Result<(), String> {
    let name = path.display().to_string();
    let mut cap =
        pcap::Capture::from_file(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
    let link = super::link_type(cap.get_datalink(), &name)?;
    pipeline.begin_capture(link, &name);
    let mut n: u64 = 0;
    // Record headers on disk are 16 bytes (pcap) or more (pcapng): the position is an estimate.
    let mut pos = done_bytes + 24;
    loop {
        match cap.next_packet() {
            Ok(p) => {
                n += 1;
                let ts = Timestamp::from_timeval(p.header.ts.tv_sec, p.header.ts.tv_usec);
                pipeline.packet(ts, p.data, p.header.len);
                if let Some(bar) = bar {
                    pos += 16 + u64::from(p.header.caplen);
                    if n.is_multiple_of(4096) {
                        bar.set_position(pos);
                    }
                }
                if n.is_multiple_of(65536) {
                    if pipeline.eve().error().is_some() {
                        return Ok(());
                    }
                    pipeline.eve().tick();
                }
            }
            Err(pcap::Error::NoMorePackets) => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "{name}: read error after packet {n}: {e} (the {n} packets before it were processed)"
                ))
            }
        }
    }
}
