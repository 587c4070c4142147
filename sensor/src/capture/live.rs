//! Live capture through libpcap's memory-mapped ring (TPACKET_V3 on Linux).
//!
//! Immediate mode hands every packet over as soon as it lands in the ring instead of waiting for
//! a block to fill. On an idle wire libpcap's own read would block in `poll` for good (the
//! TPACKET_V3 ring ignores the read timeout), so the capture runs non-blocking and this loop
//! polls its descriptor with a 100 ms timeout: it notices SIGINT/SIGTERM and lets idle flows
//! time out while the wire is quiet. On a signal the loop stops taking new work but first drains
//! what the ring held when the signal came (for at most `capture.drain_seconds`): a sensor that
//! was behind would otherwise leave packets the kernel counted as received neither processed
//! nor dropped. What is still unread then is counted as dropped at shutdown, so received =
//! processed + dropped by the kernel + dropped at shutdown under any load. Then every flow is
//! ended and logged, and the counters are reported.
//! SIGHUP reloads the rules between two packets, without touching flows; so does a change of the
//! rules on disk that another thread reports (the bulletin puller). Between batches the
//! loop also lets the uplink close a segment that has aged, and rewrites the metrics file.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::config::CaptureConfig;
use crate::metrics::MetricsFile;
use crate::pipeline::Pipeline;
use crate::stats::CaptureStats;
use icsight_eve::Timestamp;

/// How long the loop waits for packets before it looks around.
const POLL_MS: u16 = 100;
/// Packets handled between looks around on a busy wire.
const BATCH: usize = 1024;

pub struct LiveOptions<'a> {
    pub interface: &'a str,
    pub bpf: Option<&'a str>,
    pub capture: CaptureConfig,
    /// Seconds between `stats` events; 0 for none until exit.
    pub stats_interval: u32,
    /// Loads the rules again, on SIGHUP: the new ruleset and how many rules failed, or `None`
    /// to keep the current one.
    pub reload: &'a dyn Fn() -> Option<(Arc<rules::Ruleset>, usize)>,
    /// Set by another thread when the rules on disk changed (new or revoked bulletins): the loop
    /// clears it and reloads as on SIGHUP.
    pub rules_changed: Option<&'a AtomicBool>,
    /// Stop by itself after this long (learning for a set period), as on SIGTERM.
    pub duration: Option<Duration>,
    /// Rewrite this metrics file every its interval.
    pub metrics: Option<&'a MetricsFile>,
}

/// Capture until SIGINT or SIGTERM (or the duration asked for); return libpcap's final counters.
pub fn run(pipeline: &mut Pipeline, opts: &LiveOptions<'_>) -> anyhow::Result<CaptureStats> {
    use anyhow::Context;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .context("installing the SIGHUP handler")?;
    let iface = opts.interface;
    let mut cap = pcap::Capture::from_device(iface)
        .and_then(|c| {
            c.immediate_mode(true)
                .buffer_size((opts.capture.buffer_mb as i32).saturating_mul(1 << 20))
                .snaplen(opts.capture.snaplen as i32)
                .promisc(opts.capture.promiscuous)
                .timeout(i32::from(POLL_MS))
                .open()
        })
        .and_then(|c| c.setnonblock())
        .with_context(|| format!("interface {iface}: cannot open for capture"))?;
    if let Some(expr) = opts.bpf {
        cap.filter(expr, true)
            .with_context(|| format!("--bpf {expr:?}: not a valid capture filter"))?;
    }
    let link = super::link_type(cap.get_datalink(), &format!("interface {iface}"))
        .map_err(anyhow::Error::msg)?;
    pipeline.begin_capture(link, &format!("interface {iface}"));
    eprintln!("capturing on {iface} (link type {link:?}); SIGINT or SIGTERM stops");

    let deadline = opts.duration.map(|d| Instant::now() + d);
    let interval = Duration::from_secs(u64::from(opts.stats_interval));
    let mut next_stats = Instant::now() + interval;
    let mut next_metrics = Instant::now();
    let mut metrics_failing = false;
    // Packets handed to the pipeline: what the ring still holds is the kernel's count less these.
    let mut read = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut got = 0;
        while got < BATCH {
            match cap.next_packet() {
                Ok(p) => {
                    handle(pipeline, &p);
                    got += 1;
                }
                Err(pcap::Error::TimeoutExpired) => break,
                Err(pcap::Error::NoMorePackets) => {
                    read += got as u64;
                    return Ok(final_counters(&mut cap, read));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("interface {iface}: capture failed"))
                }
            }
        }
        read += got as u64;
        if got == 0 {
            pipeline.tick(Timestamp::now());
            let mut fds = [PollFd::new(cap.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(POLL_MS)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e).with_context(|| format!("interface {iface}: poll failed")),
            }
        }
        let signalled = hup.swap(false, Ordering::Relaxed);
        let changed = opts
            .rules_changed
            .is_some_and(|c| c.swap(false, Ordering::Relaxed));
        if signalled || changed {
            // Between two packets: flows, flowbits and thresholds carry over.
            if let Some((ruleset, failed)) = (opts.reload)() {
                pipeline.detect().replace(ruleset, failed);
                if signalled {
                    eprintln!("rules reloaded on SIGHUP");
                } else {
                    eprintln!("rules reloaded: bulletins changed");
                }
            }
        }
        pipeline.eve().tick();
        if opts.stats_interval > 0 && Instant::now() >= next_stats {
            next_stats += interval;
            let cs = counters(&mut cap);
            pipeline.log_stats(Timestamp::now(), cs);
        }
        if let Some(m) = opts.metrics {
            let now = Instant::now();
            if now >= next_metrics {
                next_metrics = now + m.interval;
                let cs = counters(&mut cap);
                match m.write_pipeline(pipeline, cs) {
                    Ok(()) => metrics_failing = false,
                    Err(e) if !metrics_failing => {
                        metrics_failing = true;
                        eprintln!("metrics file {}: {e}", m.path().display());
                    }
                    Err(_) => {}
                }
            }
        }
        if let Some(e) = pipeline.eve().error() {
            anyhow::bail!("EVE output: {e}");
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    let limit = Duration::try_from_secs_f64(opts.capture.drain_seconds).unwrap_or_default();
    drain(&mut cap, pipeline, &mut read, limit)
        .with_context(|| format!("interface {iface}: capture failed while stopping"))?;
    Ok(final_counters(&mut cap, read))
}

fn handle(pipeline: &mut Pipeline, p: &pcap::Packet<'_>) {
    let ts = Timestamp::from_timeval(p.header.ts.tv_sec, p.header.ts.tv_usec);
    pipeline.packet(ts, p.data, p.header.len);
}

/// After a stop: hand the pipeline what the ring held when the stop came, until the ring is
/// empty, all of that is read, or `limit` has passed. Packets arriving meanwhile are not
/// chased, so a busy wire cannot hold the stop up beyond what was already taken.
fn drain(
    cap: &mut pcap::Capture<pcap::Active>,
    pipeline: &mut Pipeline,
    read: &mut u64,
    limit: Duration,
) -> Result<(), pcap::Error> {
    let until = Instant::now() + limit;
    let held = counters(cap).map_or(0, |c| in_ring(&c, *read));
    let (start, target) = (*read, *read + held);
    while *read < target && Instant::now() < until {
        match cap.next_packet() {
            Ok(p) => {
                handle(pipeline, &p);
                *read += 1;
            }
            // Empty: the count ran ahead of what was readable, or libpcap filtered packets
            // the kernel had counted; nothing more will come from what was held.
            Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(e),
        }
    }
    if held > 0 {
        eprintln!(
            "stopping: read {} of the {held} packets the ring held",
            *read - start
        );
    }
    Ok(())
}

/// Packets the kernel put in the ring that were not read: received less dropped less read.
fn in_ring(c: &CaptureStats, read: u64) -> u64 {
    c.kernel_packets
        .saturating_sub(c.kernel_drops)
        .saturating_sub(read)
}

/// The counters at the end, with what was left unread counted as dropped at shutdown.
fn final_counters(cap: &mut pcap::Capture<pcap::Active>, read: u64) -> CaptureStats {
    let mut c = counters(cap).unwrap_or_default();
    c.shutdown_drops = in_ring(&c, read);
    c
}

fn counters(cap: &mut pcap::Capture<pcap::Active>) -> Option<CaptureStats> {
    cap.stats().ok().map(|s| CaptureStats {
        kernel_packets: u64::from(s.received),
        kernel_drops: u64::from(s.dropped),
        kernel_ifdrops: u64::from(s.if_dropped),
        shutdown_drops: 0,
    })
}
