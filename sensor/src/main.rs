//! `sensor`: replay captures or watch an interface, writing EVE JSON.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use icsight_eve::Timestamp;
use sensor::baseline::{self, model::Baseline, Watch};
use sensor::bulletin::Bulletins;
use sensor::capture::{file, live};
use sensor::eve::EveWriter;
use sensor::metrics::{MetricsFile, Snapshot};
use sensor::uplink::{Uplink, UplinkStats};
use sensor::{Config, Pipeline};

#[derive(Parser)]
#[command(
    name = "sensor",
    version,
    about = "icsight sensor: passive monitoring of industrial networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay pcap/pcapng files, or directories of them, and write EVE JSON.
    Replay {
        /// Capture files or directories (walked for .pcap, .pcapng, .cap, .dmp).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Where EVE lines go: a file (truncated) or `-` for stdout.
        #[arg(long, default_value = "-")]
        eve: String,
        /// sensor.toml; default ./sensor.toml, then /etc/icsight/sensor.toml.
        #[arg(long)]
        config: Option<PathBuf>,
        /// No progress bar, even on a terminal.
        #[arg(long)]
        no_progress: bool,
        /// Rules file or directory (repeatable); default: `rules.files` of sensor.toml, else
        /// the built-in ICS ruleset.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
        /// Report deviations from this baseline (from `sensor learn`) as anomaly alerts.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Capture from a network interface until SIGINT or SIGTERM.
    Live {
        #[arg(long, short = 'i')]
        interface: String,
        /// A capture filter in pcap-filter syntax.
        #[arg(long)]
        bpf: Option<String>,
        /// Where EVE lines go: a file (appended) or `-` for stdout.
        #[arg(long, default_value = "-")]
        eve: String,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Kernel ring buffer in MiB (overrides capture.buffer_mb).
        #[arg(long)]
        buffer_mb: Option<u32>,
        /// Rules file or directory (repeatable); reloaded on SIGHUP.
        #[arg(long = "rules", value_name = "FILE|DIR")]
        rules: Vec<PathBuf>,
        /// Report deviations from this baseline as anomaly alerts.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Learn a baseline of normal behaviour from captures, or from an interface for a period.
    /// An existing --out file is learned into (incremental) unless --fresh.
    Learn(LearnArgs),
    /// Print the asset inventory of a baseline.
    Assets {
        #[arg(value_name = "BASELINE")]
        baseline: PathBuf,
        /// JSON (one array) in place of a table.
        #[arg(long)]
        json: bool,
    },
    /// Work with baseline files.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Work with rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// What changed from A to B, one line per fact (+ added, - removed, ~ changed); exit 1
    /// when they differ, as diff does.
    Diff { a: PathBuf, b: PathBuf },
    /// Check a baseline file (after an edit); exit 1 with the place and reason if it is bad.
    Check { baseline: PathBuf },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load rules and report every bad one (FILE:LINE: reason) and a summary; exit 1 if any
    /// rule failed. With no path, checks the built-in ruleset.
    Check {
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Load the rules (with the bulletins' when `bulletins` names their directory), print what
/// failed and a one-line summary to stderr.
fn load_rules(
    paths: &[PathBuf],
    config: &Config,
    bulletins: Option<&Path>,
) -> anyhow::Result<(std::sync::Arc<rules::Ruleset>, usize)> {
    let loaded = sensor::detect::load_rules(paths, &config.rules, bulletins)?;
    for e in &loaded.errors {
        eprintln!("rule error: {e}");
    }
    let c = loaded.ruleset.counts();
    eprintln!(
        "rules: {} loaded from {} file(s), {} failed ({} packet, {} stream, {} transaction, {} event; prefilter: {} literals, {} Hyperscan expressions, {} unfiltered)",
        c.rules,
        loaded.files.len(),
        loaded.failed_rules(),
        c.packet,
        c.stream,
        c.transaction,
        c.event,
        c.patterns,
        c.expressions,
        c.unfiltered,
    );
    let failed = loaded.failed_rules();
    Ok((std::sync::Arc::new(loaded.ruleset), failed))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(load_config_from(path)?.0)
}

/// The configuration and the file it came from (`None`: no file, every default).
fn load_config_from(path: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
    match Config::discover(path)? {
        Some((config, path)) => Ok((config, Some(path))),
        None => {
            eprintln!(
                "warning: no sensor.toml found; events carry only the sensor id, no enterprise identity"
            );
            Ok((Config::unregistered(), None))
        }
    }
}

/// The uplink, when `[uplink] url` is set; its errors name the file and the key.
fn start_uplink(config: &Config, path: Option<&Path>) -> anyhow::Result<Option<Uplink>> {
    let u = &config.uplink;
    if !u.enabled() {
        return Ok(None);
    }
    let uplink = Uplink::start(u, &config.sensor).map_err(|e| {
        let file = path.map_or("sensor.toml".into(), |p| p.display().to_string());
        anyhow::anyhow!("{file}: key `{}`: {}", e.full_key(), e.detail())
    })?;
    eprintln!(
        "uplink: sending {} events to {} (spool {})",
        u.events.join(", "),
        u.link.url,
        u.link.spool_dir.display()
    );
    Ok(Some(uplink))
}

/// The bulletins, when `[bulletins] dir` is set; errors (the uplink's credentials) name the file
/// and the key.
fn bulletins(config: &Config, path: Option<&Path>) -> anyhow::Result<Option<Bulletins>> {
    Bulletins::new(config).map_err(|e| {
        let file = path.map_or("sensor.toml".into(), |p| p.display().to_string());
        anyhow::anyhow!("{file}: key `{}`: {}", e.full_key(), e.detail())
    })
}

/// Drain and stop the uplink, if one runs, and say how it went.
fn finish_uplink(pipeline: &mut Pipeline, config: &Config) -> Option<UplinkStats> {
    let uplink = pipeline.eve().take_uplink()?;
    let drain = std::time::Duration::try_from_secs_f64(config.uplink.link.drain_seconds)
        .unwrap_or_default();
    let s = uplink.finish(drain);
    eprintln!(
        "uplink: spooled {}, sent {}, duplicates {}, dropped (spool full) {}, dropped (write error) {}, rejected {}, left in spool {} segments",
        s.spooled_events,
        s.sent_events,
        s.duplicates,
        s.dropped_spool_full,
        s.dropped_write_error,
        s.rejected_events,
        s.spool_segments,
    );
    Some(s)
}

/// Write the metrics file once more, with the uplink's final counters.
fn final_metrics(
    metrics: Option<&MetricsFile>,
    pipeline: &mut Pipeline,
    capture: Option<sensor::stats::CaptureStats>,
    uplink: Option<&UplinkStats>,
) {
    let Some(m) = metrics else {
        return;
    };
    pipeline.refresh_stats(capture);
    let events = pipeline.eve().counts;
    let bulletins = pipeline.bulletin_stats();
    let snap = Snapshot {
        stats: pipeline.stats(),
        events,
        capture: pipeline.stats().capture,
        uplink,
        bulletins: bulletins.as_ref(),
    };
    if let Err(e) = m.write(&snap) {
        eprintln!("metrics file {}: {e}", m.path().display());
    }
}

fn open_eve(target: &str, append: bool) -> anyhow::Result<Box<dyn Write + Send>> {
    if target == "-" {
        return Ok(Box::new(std::io::stdout()));
    }
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(target)
        .with_context(|| format!("--eve {target}: cannot open for writing"))?;
    Ok(Box::new(file))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay {
            inputs,
            eve,
            config,
            no_progress,
            rules,
            baseline,
        } => {
            let (config, config_path) = load_config_from(config.as_deref())?;
            // Once, before the rules load; unreachable: what the directory holds is loaded.
            let bulletins = bulletins(&config, config_path.as_deref())?;
            if let Some(b) = &bulletins {
                b.pull_now(false);
            }
            let bulletin_dir = bulletins.as_ref().map(Bulletins::dir);
            let (ruleset, failed) = load_rules(&rules, &config, bulletin_dir)?;
            let metrics = MetricsFile::new(&config.metrics, &config.sensor.id);
            let writer = EveWriter::new(open_eve(&eve, false)?, &config.sensor)
                .with_uplink(start_uplink(&config, config_path.as_deref())?);
            let mut pipeline = Pipeline::new(&config, writer);
            pipeline.detect().replace_initial(ruleset, failed);
            if let Some(b) = &bulletins {
                pipeline.set_bulletins(b.status());
            }
            if let Some(path) = &baseline {
                pipeline.set_watch(detect_watch(path, &config)?);
            }
            let mut errors = Vec::new();
            let files = file::expand_inputs(&inputs, &mut errors);
            let mut summary = file::replay(&mut pipeline, &files, !no_progress);
            errors.append(&mut summary.errors);
            let end = pipeline.last_ts().max(Timestamp(1));
            pipeline.log_stats(end, None);
            pipeline.eve().flush().context("writing EVE output")?;
            let uplink = finish_uplink(&mut pipeline, &config);
            final_metrics(metrics.as_ref(), &mut pipeline, None, uplink.as_ref());
            let c = pipeline.eve().counts;
            let s = pipeline.stats();
            let failed = errors.len();
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "replayed {} file(s), {} failed: {} packets, {} bytes, {} flows, {} events (alert {}, flow {}, modbus {}, s7comm {}, s7commplus {}, dnp3 {}, anomaly {}, stats {}), {} errors, {:.3} s, {:.0} packets/s",
                summary.files,
                failed,
                s.decoder.pkts,
                s.decoder.bytes,
                s.flow.total,
                c.total,
                c.alert,
                c.flow,
                c.modbus,
                c.s7comm,
                c.s7commplus,
                c.dnp3,
                c.anomaly,
                c.stats,
                failed,
                summary.seconds,
                s.decoder.pkts as f64 / summary.seconds.max(1e-9),
            );
            report_watch(&pipeline);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Live {
            interface,
            bpf,
            eve,
            config,
            buffer_mb,
            rules,
            baseline,
        } => {
            let (mut config, config_path) = load_config_from(config.as_deref())?;
            if let Some(mb) = buffer_mb {
                config.capture.buffer_mb = mb;
            }
            let bulletins = bulletins(&config, config_path.as_deref())?;
            let bulletin_dir = bulletins.as_ref().map(|b| b.dir().to_owned());
            let (ruleset, failed) = load_rules(&rules, &config, bulletin_dir.as_deref())?;
            let metrics = MetricsFile::new(&config.metrics, &config.sensor.id);
            let writer = EveWriter::new(open_eve(&eve, true)?, &config.sensor)
                .with_uplink(start_uplink(&config, config_path.as_deref())?);
            let mut pipeline = Pipeline::new(&config, writer);
            pipeline.detect().replace_initial(ruleset, failed);
            if let Some(path) = &baseline {
                pipeline.set_watch(detect_watch(path, &config)?);
            }
            // Pulled on a thread of their own, at once and every poll_seconds; new or revoked
            // bulletins reload the rules as SIGHUP does.
            let rules_changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let poller = bulletins.map(|b| {
                pipeline.set_bulletins(b.status());
                b.spawn(std::sync::Arc::clone(&rules_changed))
            });
            // A reload that cannot read its configuration or classification keeps the rules
            // in force; bad rules are reported and the rest load.
            let reload = || match load_rules(&rules, &config, bulletin_dir.as_deref()) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("rules reload failed, keeping the loaded rules: {e:#}");
                    None
                }
            };
            let opts = live::LiveOptions {
                interface: &interface,
                bpf: bpf.as_deref(),
                capture: config.capture.clone(),
                stats_interval: config.eve.stats_interval,
                reload: &reload,
                rules_changed: poller.as_ref().map(|_| &*rules_changed),
                duration: None,
                metrics: metrics.as_ref(),
            };
            let counters = live::run(&mut pipeline, &opts)?;
            if let Some(p) = poller {
                p.stop();
            }
            pipeline.finish();
            pipeline.log_stats(Timestamp::now(), Some(counters));
            pipeline.eve().flush().context("writing EVE output")?;
            let uplink = finish_uplink(&mut pipeline, &config);
            final_metrics(
                metrics.as_ref(),
                &mut pipeline,
                Some(counters),
                uplink.as_ref(),
            );
            let events = pipeline.eve().counts.total;
            let s = pipeline.stats();
            eprintln!(
                "stopped: received {}, dropped by kernel {}, dropped by interface {}; processed {} packets, {} flows, {} events",
                counters.kernel_packets,
                counters.kernel_drops,
                counters.kernel_ifdrops,
                s.decoder.pkts,
                s.flow.total,
                events,
            );
            report_watch(&pipeline);
            Ok(ExitCode::SUCCESS)
        }
        Command::Learn(args) => learn(args),
        Command::Assets { baseline, json } => {
            let b = Baseline::load(&baseline)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&b.assets)?);
            } else {
                print!("{}", assets_table(&b));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            command: BaselineCommand::Diff { a, b },
        } => {
            let (a, b) = (Baseline::load(&a)?, Baseline::load(&b)?);
            let lines = baseline::diff::diff(&a, &b);
            for l in &lines {
                println!("{l}");
            }
            Ok(if lines.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Baseline {
            command: BaselineCommand::Check { baseline },
        } => match Baseline::load(&baseline) {
            Ok(b) => {
                println!(
                    "{}: {} assets, {} pairs",
                    baseline.display(),
                    b.assets.len(),
                    b.pairs.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(1))
            }
        },
        Command::Rules {
            command: RulesCommand::Check { paths, config },
        } => {
            let config = match config {
                Some(p) => Config::load(&p)?,
                None => Config::discover(None)?
                    .map(|(c, _)| c)
                    .unwrap_or_else(Config::unregistered),
            };
            let (_, failed) = load_rules(&paths, &config, None)?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// A detecting watch over the baseline at `path`.
fn detect_watch(path: &Path, config: &Config) -> anyhow::Result<Watch> {
    let b = Baseline::load(path)?;
    eprintln!(
        "baseline: {} assets, {} pairs from {}",
        b.assets.len(),
        b.pairs.len(),
        path.display()
    );
    Ok(Watch::detect(config.baseline.clone(), b))
}

fn report_watch(pipeline: &Pipeline) {
    if let Some(w) = pipeline.watch() {
        let s = w.stats;
        eprintln!(
            "baseline: {} transactions checked, {} anomaly alerts ({} repeats held back), {} asset events",
            s.transactions, s.anomalies, s.suppressed, s.asset_events
        );
    }
}

#[derive(clap::Args)]
struct LearnArgs {
    /// Capture files or directories; none with --interface.
    #[arg(required_unless_present = "interface", conflicts_with = "interface")]
    inputs: Vec<PathBuf>,
    /// Learn from this interface for --seconds (default baseline.learn_seconds).
    #[arg(long, short = 'i')]
    interface: Option<String>,
    #[arg(long, requires = "interface")]
    seconds: Option<u64>,
    #[arg(long, requires = "interface")]
    bpf: Option<String>,
    /// The baseline file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Start from nothing even if --out exists.
    #[arg(long)]
    fresh: bool,
    /// Also write EVE events (asset events among them) here.
    #[arg(long)]
    eve: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    no_progress: bool,
}

fn learn(args: LearnArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    let start = if args.out.exists() && !args.fresh {
        let b = Baseline::load(&args.out)?;
        eprintln!(
            "learning into {} ({} assets, {} pairs)",
            args.out.display(),
            b.assets.len(),
            b.pairs.len()
        );
        b
    } else {
        Baseline::default()
    };
    let sink: Box<dyn Write + Send> = match &args.eve {
        Some(target) => open_eve(target, false)?,
        None => Box::new(std::io::sink()),
    };
    let mut pipeline = Pipeline::new(&config, EveWriter::new(sink, &config.sensor));
    // Learning is about behaviour: signatures are not matched.
    pipeline
        .detect()
        .replace_initial(std::sync::Arc::new(rules::Ruleset::default()), 0);
    pipeline.set_watch(Watch::learn(config.baseline.clone(), start));
    let started = std::time::Instant::now();
    let mut errors = Vec::new();
    match &args.interface {
        Some(iface) => {
            let secs = args.seconds.unwrap_or(config.baseline.learn_seconds);
            eprintln!("learning on {iface} for {secs} s");
            let keep = || None;
            let opts = live::LiveOptions {
                interface: iface,
                bpf: args.bpf.as_deref(),
                capture: config.capture.clone(),
                stats_interval: 0,
                reload: &keep,
                rules_changed: None,
                duration: Some(std::time::Duration::from_secs(secs)),
                metrics: None,
            };
            live::run(&mut pipeline, &opts)?;
            pipeline.finish();
        }
        None => {
            let files = file::expand_inputs(&args.inputs, &mut errors);
            let mut summary = file::replay(&mut pipeline, &files, !args.no_progress);
            errors.append(&mut summary.errors);
        }
    }
    pipeline.eve().flush().context("writing EVE output")?;
    let packets = pipeline.stats().decoder.pkts;
    let b = pipeline
        .take_watch()
        .map(Watch::into_baseline)
        .unwrap_or_default();
    b.save(&args.out)
        .with_context(|| format!("--out {}: cannot write", args.out.display()))?;
    for e in &errors {
        eprintln!("error: {e}");
    }
    let d = b.learned.dropped;
    eprintln!(
        "learned {} assets, {} pairs from {} packets ({} transactions, {:.0} s of traffic) in {:.3} s; kept out by caps: {} assets, {} pairs, {} points, {} operations; wrote {}",
        b.assets.len(),
        b.pairs.len(),
        packets,
        b.learned.transactions,
        b.learned.seconds,
        started.elapsed().as_secs_f64(),
        d.assets,
        d.pairs,
        d.points,
        d.operations,
        args.out.display()
    );
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The inventory as an aligned table.
fn assets_table(b: &Baseline) -> String {
    let names = |v: &[&str]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    let mut rows = vec![[
        "IP".to_owned(),
        "MAC".to_owned(),
        "ROLES".to_owned(),
        "SERVES".to_owned(),
        "USES".to_owned(),
        "FIRST SEEN".to_owned(),
        "LAST SEEN".to_owned(),
        "IDENTITY".to_owned(),
    ]];
    for a in &b.assets {
        let mut t = [0u8; 31];
        let first = a.first_seen.format(&mut t)[..19].to_owned();
        let last = a.last_seen.format(&mut t)[..19].to_owned();
        let macs: Vec<String> = a.macs.iter().map(ToString::to_string).collect();
        let roles: Vec<&str> = a.roles.iter().map(|r| r.name()).collect();
        let serves: Vec<&str> = a.serves.iter().map(|p| p.name()).collect();
        let uses: Vec<&str> = a.uses.iter().map(|p| p.name()).collect();
        rows.push([
            a.ip.to_string(),
            if macs.is_empty() {
                "-".into()
            } else {
                macs.join(",")
            },
            names(&roles),
            names(&serves),
            names(&uses),
            first,
            last,
            a.identity.summary(),
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
