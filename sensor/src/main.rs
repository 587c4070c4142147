//! `sensor`: replay captures or watch an interface, writing EVE JSON.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sensor::capture::{file, live};
use sensor::eve::{EveWriter, Timestamp};
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
    },
    /// Work with rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
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

/// Load the rules, print what failed and a one-line summary to stderr.
fn load_rules(
    paths: &[PathBuf],
    config: &Config,
) -> anyhow::Result<(std::sync::Arc<rules::Ruleset>, usize)> {
    let loaded = sensor::detect::load_rules(paths, &config.rules)?;
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
    match Config::discover(path)? {
        Some((config, _)) => Ok(config),
        None => {
            eprintln!(
                "warning: no sensor.toml found; events carry only the sensor id, no enterprise identity"
            );
            Ok(Config::unregistered())
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
        } => {
            let config = load_config(config.as_deref())?;
            let (ruleset, failed) = load_rules(&rules, &config)?;
            let writer = EveWriter::new(open_eve(&eve, false)?, &config.sensor);
            let mut pipeline = Pipeline::new(&config, writer);
            pipeline.detect().replace_initial(ruleset, failed);
            let mut errors = Vec::new();
            let files = file::expand_inputs(&inputs, &mut errors);
            let mut summary = file::replay(&mut pipeline, &files, !no_progress);
            errors.append(&mut summary.errors);
            let end = pipeline.last_ts().max(Timestamp(1));
            pipeline.log_stats(end, None);
            pipeline.eve().flush().context("writing EVE output")?;
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
        } => {
            let mut config = load_config(config.as_deref())?;
            if let Some(mb) = buffer_mb {
                config.capture.buffer_mb = mb;
            }
            let (ruleset, failed) = load_rules(&rules, &config)?;
            let writer = EveWriter::new(open_eve(&eve, true)?, &config.sensor);
            let mut pipeline = Pipeline::new(&config, writer);
            pipeline.detect().replace_initial(ruleset, failed);
            // A reload that cannot read its configuration or classification keeps the rules
            // in force; bad rules are reported and the rest load.
            let reload = || match load_rules(&rules, &config) {
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
            };
            let counters = live::run(&mut pipeline, &opts)?;
            pipeline.finish();
            pipeline.log_stats(Timestamp::now(), Some(counters));
            pipeline.eve().flush().context("writing EVE output")?;
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
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules {
            command: RulesCommand::Check { paths, config },
        } => {
            let config = match config {
                Some(p) => Config::load(&p)?,
                None => Config::discover(None)?
                    .map(|(c, _)| c)
                    .unwrap_or_else(Config::unregistered),
            };
            let (_, failed) = load_rules(&paths, &config)?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
