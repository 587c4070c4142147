//! `sensor`: replay captures or watch an interface, writing EVE JSON.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use icsight_eve::Timestamp;
use sensor::baseline::{self, model::Baseline, Watch};
use sensor::capture::{file, live};
use sensor::{Config, Purpose, Sensor};

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
    /// Load rules and report every refused one (FILE:LINE: reason) on stderr, then a table on
    /// stdout: rules loaded and refused per file, and refusals per reason; exit 1 if any rule
    /// was refused. With no path, checks the built-in ruleset.
    Check {
        #[arg(value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also refuse rules for keywords accepted without effect on a passive sensor
        /// (`rawbytes`, `target`, `prefilter`), as `[rules] strict` does for a run.
        #[arg(long)]
        strict: bool,
    },
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
            let purpose = Purpose::Detect {
                rules,
                baseline,
                pull_bulletins: true,
            };
            let out = open_eve(&eve, false)?;
            let mut sensor = Sensor::build(&config, config_path.as_deref(), out, purpose)?;
            let pipeline = &mut sensor.pipeline;
            let mut errors = Vec::new();
            let files = file::expand_inputs(&inputs, &mut errors);
            let mut summary = file::replay(pipeline, &files, !no_progress);
            errors.append(&mut summary.errors);
            let end = pipeline.last_ts().max(Timestamp(1));
            pipeline.log_stats(end, None);
            sensor.finish(None)?;
            let pipeline = &mut sensor.pipeline;
            let c = pipeline.eve().counts;
            let s = pipeline.stats();
            let failed = errors.len();
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "replayed {} file(s), {} failed: {} packets, {} bytes, {} flows, {} events ({}), {} errors, {:.3} s, {:.0} packets/s",
                summary.files,
                failed,
                s.decoder.pkts,
                s.decoder.bytes,
                s.flow.total,
                c.total,
                c.by_type()
                    .filter(|(_, n)| *n > 0)
                    .map(|(t, n)| format!("{t} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                failed,
                summary.seconds,
                s.decoder.pkts as f64 / summary.seconds.max(1e-9),
            );
            sensor.report_watch();
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
            let purpose = Purpose::Detect {
                rules,
                baseline,
                pull_bulletins: false,
            };
            let out = open_eve(&eve, true)?;
            let mut sensor = Sensor::build(&config, config_path.as_deref(), out, purpose)?;
            // Pulled on a thread of their own, at once and every poll_seconds; new or revoked
            // bulletins reload the rules as SIGHUP does.
            let rules_changed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let poller = sensor
                .bulletins
                .take()
                .map(|b| b.spawn(std::sync::Arc::clone(&rules_changed)));
            // A reload that cannot read its configuration or classification keeps the rules
            // in force; bad rules are reported and the rest load.
            let source = sensor.rules();
            let reload = || match source.load() {
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
                metrics: sensor.metrics.as_ref(),
            };
            let counters = live::run(&mut sensor.pipeline, &opts)?;
            if let Some(p) = poller {
                p.stop();
            }
            sensor.pipeline.finish();
            sensor.pipeline.log_stats(Timestamp::now(), Some(counters));
            sensor.finish(Some(counters))?;
            let pipeline = &mut sensor.pipeline;
            let events = pipeline.eve().counts.total;
            let s = pipeline.stats();
            eprintln!(
                "stopped: received {}, dropped by kernel {}, dropped by interface {}, dropped at shutdown {}; processed {} packets, {} flows, {} events",
                counters.kernel_packets,
                counters.kernel_drops,
                counters.kernel_ifdrops,
                counters.shutdown_drops,
                s.decoder.pkts,
                s.flow.total,
                events,
            );
            sensor.report_watch();
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
            command:
                RulesCommand::Check {
                    paths,
                    config,
                    strict,
                },
        } => {
            let mut config = match config {
                Some(p) => Config::load(&p)?,
                None => Config::discover(None)?
                    .map(|(c, _)| c)
                    .unwrap_or_else(Config::unregistered),
            };
            config.rules.strict |= strict;
            let loaded = sensor::run::check_rules(&paths, &config.rules)?;
            print!("{}", sensor::run::rules_table(&loaded));
            let failed = loaded.failed_rules();
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
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
    let mut sensor = Sensor::build(&config, None, sink, Purpose::Learn(start))?;
    let pipeline = &mut sensor.pipeline;
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
            live::run(pipeline, &opts)?;
            pipeline.finish();
        }
        None => {
            let files = file::expand_inputs(&args.inputs, &mut errors);
            let mut summary = file::replay(pipeline, &files, !args.no_progress);
            errors.append(&mut summary.errors);
        }
    }
    sensor.finish(None)?;
    let pipeline = &mut sensor.pipeline;
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
