//! A run of the sensor, put together one way for replay, live capture and learning.
//!
//! [`Sensor::build`] takes the configuration and what the run is for ([`Purpose`]) and gives
//! back the [`Pipeline`] with everything plugged in: the EVE writer and, when detecting, the
//! uplink beside it, the rules (the bulletins' among them), the baseline to detect against or
//! the one to learn into, and the metrics file. [`Sensor::finish`] ends a run the same way
//! for all three: EVE flushed, the uplink drained, the metrics written a last time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::baseline::model::Baseline;
use crate::baseline::Watch;
use crate::bulletin::Bulletins;
use crate::config::{Config, RulesConfig};
use crate::eve::EveWriter;
use crate::metrics::{MetricsFile, Snapshot};
use crate::stats::CaptureStats;
use crate::uplink::{Uplink, UplinkStats};
use crate::Pipeline;

/// What a run is for.
pub enum Purpose {
    /// Match signatures — `rules` (files or directories), else the configuration's
    /// `rules.files`, else the built-in ICS ruleset, and the bulletins' — and, with a
    /// `baseline`, report deviations from it. Events also go up through the uplink when one is
    /// configured. `pull_bulletins` pulls the bulletin feed once before the rules load (a
    /// replay; a live capture pulls on a thread of its own).
    Detect {
        rules: Vec<PathBuf>,
        baseline: Option<PathBuf>,
        pull_bulletins: bool,
    },
    /// Learn a baseline, starting from this one. Behaviour only: no signatures, no uplink, no
    /// bulletins, no metrics file.
    Learn(Baseline),
}

/// A sensor ready to be fed packets.
pub struct Sensor {
    pub pipeline: Pipeline,
    pub metrics: Option<MetricsFile>,
    /// The bulletins, when `[bulletins] dir` is set (a live capture takes them to poll).
    pub bulletins: Option<Bulletins>,
    /// The uplink's spool and sender, when `[uplink] url` is set; the EVE writer spools into
    /// it through a sink of its own.
    uplink: Option<Uplink>,
    rules: Rules,
    drain: std::time::Duration,
}

impl Sensor {
    /// Put a sensor together from `config` (read from `config_path`, which names the file in
    /// errors), writing EVE lines to `eve`.
    pub fn build(
        config: &Config,
        config_path: Option<&Path>,
        eve: Box<dyn Write + Send>,
        purpose: Purpose,
    ) -> anyhow::Result<Sensor> {
        let file = || config_path.map_or("sensor.toml".into(), |p| p.display().to_string());
        let writer = EveWriter::new(eve, &config.sensor);
        let (rule_paths, baseline, pull) = match purpose {
            Purpose::Detect {
                rules,
                baseline,
                pull_bulletins,
            } => (rules, baseline, pull_bulletins),
            Purpose::Learn(start) => {
                let mut pipeline = Pipeline::new(config, writer);
                pipeline
                    .detect()
                    .replace_initial(Arc::new(rules::Ruleset::default()), 0);
                pipeline.set_watch(Watch::learn(config.baseline.clone(), start));
                return Ok(Sensor {
                    pipeline,
                    metrics: None,
                    bulletins: None,
                    uplink: None,
                    rules: Rules::none(config),
                    drain: std::time::Duration::ZERO,
                });
            }
        };
        let bulletins = Bulletins::new(config)
            .map_err(|e| anyhow::anyhow!("{}: key `{}`: {}", file(), e.full_key(), e.detail()))?;
        if let (true, Some(b)) = (pull, &bulletins) {
            // Once, before the rules load; unreachable: what the directory holds is loaded.
            b.pull_now(false);
        }
        let rules = Rules {
            paths: rule_paths,
            config: config.rules.clone(),
            bulletins: bulletins.as_ref().map(|b| b.dir().to_owned()),
        };
        let (ruleset, failed) = rules.load()?;
        let metrics = MetricsFile::new(&config.metrics, &config.sensor.id);
        let uplink = start_uplink(config)
            .map_err(|(key, detail)| anyhow::anyhow!("{}: key `{key}`: {detail}", file()))?;
        let sink = uplink.as_ref().map(Uplink::sink);
        let mut pipeline = Pipeline::new(config, writer.with_uplink(sink));
        pipeline.detect().replace_initial(ruleset, failed);
        if let Some(b) = &bulletins {
            pipeline.set_bulletins(b.status());
        }
        if let Some(path) = &baseline {
            pipeline.set_watch(detect_watch(path, config)?);
            pipeline.set_baseline_file(path);
        }
        Ok(Sensor {
            pipeline,
            metrics,
            bulletins,
            uplink,
            rules,
            drain: std::time::Duration::try_from_secs_f64(config.uplink.link.drain_seconds)
                .unwrap_or_default(),
        })
    }

    /// What reloads the rules (SIGHUP, new bulletins): owned, so it can run beside the
    /// pipeline.
    pub fn rules(&self) -> Rules {
        self.rules.clone()
    }

    /// End the run: flush EVE, drain and stop the uplink (and say how it went), write the
    /// metrics file a last time. The uplink's final counters, when one ran.
    pub fn finish(&mut self, capture: Option<CaptureStats>) -> anyhow::Result<Option<UplinkStats>> {
        self.pipeline.eve().flush().context("writing EVE output")?;
        // The sets rules filled (`dataset:set` with a `state` or `save` file) outlive the run.
        if let Err(e) = self.pipeline.detect().ruleset.save_datasets() {
            eprintln!("error: {e}");
        }
        let uplink = self.uplink.take().map(|u| {
            let s = u.finish(self.drain);
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
            s
        });
        if let Some(m) = &self.metrics {
            let p = &mut self.pipeline;
            p.refresh_stats(capture);
            let events = p.eve().counts;
            let bulletins = p.bulletin_stats();
            let snap = Snapshot {
                stats: p.stats(),
                events,
                capture: p.stats().capture,
                uplink: uplink.as_ref(),
                bulletins: bulletins.as_ref(),
            };
            if let Err(e) = m.write(&snap) {
                eprintln!("metrics file {}: {e}", m.path().display());
            }
        }
        Ok(uplink)
    }

    /// Say what the baseline did, when one was watched.
    pub fn report_watch(&self) {
        if let Some(w) = self.pipeline.watch() {
            let s = w.stats;
            eprintln!(
                "baseline: {} transactions checked, {} anomaly alerts ({} repeats held back), {} asset events",
                s.transactions, s.anomalies, s.suppressed, s.asset_events
            );
        }
    }
}

/// Where a run's rules come from, to load them again.
#[derive(Clone, Debug)]
pub struct Rules {
    paths: Vec<PathBuf>,
    config: RulesConfig,
    bulletins: Option<PathBuf>,
}

impl Rules {
    /// The rules of a run that matches none.
    fn none(config: &Config) -> Rules {
        Rules {
            paths: Vec::new(),
            config: config.rules.clone(),
            bulletins: None,
        }
    }

    /// Load the rules; print every bad one and a one-line summary to stderr. The ruleset and
    /// how many rules failed.
    pub fn load(&self) -> anyhow::Result<(Arc<rules::Ruleset>, usize)> {
        load_rules(&self.paths, &self.config, self.bulletins.as_deref())
    }
}

/// Load rules as [`crate::detect::load_rules`] does, printing what failed and a summary.
pub fn load_rules(
    paths: &[PathBuf],
    config: &RulesConfig,
    bulletins: Option<&Path>,
) -> anyhow::Result<(Arc<rules::Ruleset>, usize)> {
    let loaded = load_reported(paths, config, bulletins)?;
    let failed = loaded.failed_rules();
    Ok((Arc::new(loaded.ruleset), failed))
}

/// Load rules as [`load_rules`] reports them, for `sensor rules check`: what loaded and what
/// was refused, file by file.
pub fn check_rules(paths: &[PathBuf], config: &RulesConfig) -> anyhow::Result<rules::Loaded> {
    load_reported(paths, config, None)
}

/// The table `sensor rules check` prints: rules loaded and refused per file, then refusals
/// by reason.
pub fn rules_table(loaded: &rules::Loaded) -> String {
    use std::fmt::Write;
    let by_file = loaded.by_file();
    let width = by_file
        .iter()
        .map(|(f, ..)| f.display().to_string().chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    let _ = writeln!(out, "{:<width$}  {:>7}  {:>7}", "file", "loaded", "refused");
    for (f, ok, bad) in &by_file {
        let _ = writeln!(
            out,
            "{:<width$}  {ok:>7}  {bad:>7}",
            f.display().to_string()
        );
    }
    let (ok, bad) = by_file
        .iter()
        .fold((0, 0), |(a, b), (_, ok, bad)| (a + ok, b + bad));
    let _ = writeln!(out, "{:<width$}  {ok:>7}  {bad:>7}", "total");
    let reasons = loaded.by_reason();
    if !reasons.is_empty() {
        let _ = writeln!(out, "\nrefused, by reason:");
        for (why, n) in reasons {
            let _ = writeln!(out, "{n:>7}  {why}");
        }
    }
    out
}

fn load_reported(
    paths: &[PathBuf],
    config: &RulesConfig,
    bulletins: Option<&Path>,
) -> anyhow::Result<rules::Loaded> {
    rules::pcre::backtrack::set_limits(config.pcre_match_limit, config.pcre_match_limit_recursion);
    let loaded = crate::detect::load_rules(paths, config, bulletins)?;
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
    Ok(loaded)
}

/// The uplink, when `[uplink] url` is set; an error is the key at fault and why.
fn start_uplink(config: &Config) -> Result<Option<Uplink>, (String, String)> {
    let u = &config.uplink;
    if !u.enabled() {
        return Ok(None);
    }
    let uplink = Uplink::start(u, &config.sensor).map_err(|e| (e.full_key(), e.detail()))?;
    eprintln!(
        "uplink: sending {} events to {} (spool {})",
        u.events.join(", "),
        u.link.url,
        u.link.spool_dir.display()
    );
    Ok(Some(uplink))
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
