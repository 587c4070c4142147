//! `collector`: serve sensors and analysts, create or upgrade the schema, apply retention, and
//! issue the credentials sensors use.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use collector::auth::Credentials;
use collector::config::Config;
use collector::metrics::Metrics;
use collector::server::{self, App};
use collector::store::{self, Store};
use collector::{pki, retention, schema};

#[derive(Parser)]
#[command(name = "collector", version, about = "icsight provincial collector")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accept sensors' events over HTTPS and answer analysts' queries.
    Serve {
        #[arg(long, default_value = "collector.toml")]
        config: PathBuf,
    },
    /// Create the ClickHouse schema, or bring it up to this version.
    Migrate {
        #[arg(long, default_value = "collector.toml")]
        config: PathBuf,
    },
    /// Drop the partitions older than the configured retention, once.
    Retention {
        #[arg(long, default_value = "collector.toml")]
        config: PathBuf,
    },
    /// Make a random bearer token; prints it and the SHA-256 that goes into collector.toml.
    Token,
    /// Certificates for mutual TLS.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Make a CA and the collector's server certificate in DIR.
    Init {
        dir: PathBuf,
        /// DNS names or IP addresses the collector is reached by.
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
    },
    /// Make a client certificate for sensor ID (its common name), signed by DIR's CA.
    Sensor { dir: PathBuf, id: String },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(&config)?;
            runtime()?.block_on(serve(config))
        }
        Command::Migrate { config } => {
            let config = Config::load(&config)?;
            runtime()?.block_on(async {
                let client = store::client(&config.clickhouse);
                let db = &config.clickhouse.database;
                let applied = schema::migrate(&client, db).await?;
                if applied.is_empty() {
                    println!(
                        "{db}: schema at version {}, nothing to do",
                        schema::latest()
                    );
                } else {
                    println!(
                        "{db}: applied {applied:?}, schema at version {}",
                        schema::latest()
                    );
                }
                Ok(())
            })
        }
        Command::Retention { config } => {
            let config = Config::load(&config)?;
            runtime()?.block_on(async {
                let client = store::client(&config.clickhouse);
                let s = &config.storage;
                let dropped = retention::run(
                    &client,
                    &config.clickhouse.database,
                    s.retention_days,
                    s.rollup_retention_days,
                    now(),
                )
                .await?;
                println!(
                    "dropped {} partition(s): {}",
                    dropped.len(),
                    dropped.join(" ")
                );
                Ok(())
            })
        }
        Command::Token => {
            let mut raw = [0u8; 32];
            getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let token = hex::encode(raw);
            println!("token        {token}");
            println!(
                "token_sha256 {}",
                hex::encode(collector::config::token_digest(&token))
            );
            Ok(())
        }
        Command::Pki { command } => match command {
            PkiCommand::Init { dir, hosts } => {
                pki::init(&dir, &hosts)?;
                println!("{}: ca.pem, ca.key, server.pem, server.key", dir.display());
                Ok(())
            }
            PkiCommand::Sensor { dir, id } => {
                pki::sensor(&dir, &id)?;
                println!("{}/sensors/{id}.pem and {id}.key", dir.display());
                Ok(())
            }
        },
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let tls = server::tls_config(&config)?;
    let store = Store::new(&config.clickhouse);
    let db = config.clickhouse.database.clone();
    let version = schema::current(store.client(), &db)
        .await
        .with_context(|| {
            format!(
                "reading the schema version of {db} at {}",
                config.clickhouse.url
            )
        })?;
    if version != schema::latest() {
        bail!(
            "{db} is at schema version {version}, this collector needs {}: run `collector migrate`",
            schema::latest()
        );
    }
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("server.listen {}: cannot listen", config.server.listen))?;
    let metrics = Metrics::new();
    metrics.schema_version.set(i64::from(version));
    let app = Arc::new(App {
        credentials: Credentials::new(&config),
        store,
        metrics,
        config,
    });
    tracing::info!(
        listen = %app.config.server.listen,
        tls = tls.is_some(),
        sensors = app.config.sensors.len(),
        analysts = app.config.analysts.len(),
        "collector serving"
    );
    tokio::spawn(retention_loop(app.clone()));
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("stopping");
    };
    server::serve(listener, tls, app, shutdown).await
}

/// Apply retention now and then every `retention_interval_s`.
async fn retention_loop(app: Arc<App>) {
    let s = &app.config.storage;
    if s.retention_days == 0 && s.rollup_retention_days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(s.retention_interval_s.max(60)));
    loop {
        tick.tick().await;
        match retention::run(
            app.store.client(),
            app.store.db(),
            s.retention_days,
            s.rollup_retention_days,
            now(),
        )
        .await
        {
            Ok(dropped) => {
                app.metrics.partitions_dropped.inc_by(dropped.len() as u64);
                if !dropped.is_empty() {
                    tracing::info!(partitions = %dropped.join(" "), "retention dropped");
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "retention failed"),
        }
    }
}
