//! `collector`: serve sensors, lower tiers and people, create or upgrade the schema, apply
//! retention, import the registry, and issue the credentials sensors and collectors use.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use collector::audit::{Audit, Record};
use collector::auth::Credentials;
use collector::config::Config;
use collector::incident::Escalator;
use collector::metrics::Metrics;
use collector::registry::{Enterprise, Registry};
use collector::report::EnterpriseRow;
use collector::server::{self, App};
use collector::store::{self, Store};
use collector::upstream::{self, Upstream};
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
    /// Hash a password (read from stdin) for an account's `password_argon2`.
    Password,
    /// The enterprise registry.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Certificates for mutual TLS.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Import enterprises from a CSV (enterprise_id,name,province,industry,grade), checked
    /// whole first; a provincial or enterprise tier takes only its own.
    Import {
        #[arg(long, default_value = "collector.toml")]
        config: PathBuf,
        file: PathBuf,
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
        Command::Password => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.len() < 12 {
                bail!("a password has at least 12 characters");
            }
            let phc = collector::account::hash_password(password).map_err(anyhow::Error::msg)?;
            println!("password_argon2 = \"{phc}\"");
            Ok(())
        }
        Command::Registry {
            command: RegistryCommand::Import { config, file },
        } => {
            let config = Config::load(&config)?;
            let f = std::fs::File::open(&file)
                .with_context(|| format!("{}: cannot open", file.display()))?;
            let list = collector::registry::read_csv(std::io::BufReader::new(f), &file)?;
            let tier = &config.tier;
            for e in &list {
                if (!tier.province.is_empty() && e.province != tier.province)
                    || (!tier.enterprise_id.is_empty() && e.enterprise_id != tier.enterprise_id)
                {
                    bail!(
                        "{}: enterprise {} ({}) is outside this {} tier's scope",
                        file.display(),
                        e.enterprise_id,
                        e.province,
                        tier.role.name()
                    );
                }
            }
            runtime()?.block_on(async {
                let store = Store::new(&config.clickhouse);
                let version = collector::time::now_us();
                let rows: Vec<EnterpriseRow> = list
                    .iter()
                    .map(|e| EnterpriseRow::new(e, version, "import"))
                    .collect();
                store
                    .insert("enterprises", &rows)
                    .await
                    .context("storing the registry")?;
                let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
                let r = Record::new(&user, "admin", "registry.import", "ok")
                    .target(&file.display().to_string())
                    .scope(&tier.province, &tier.enterprise_id)
                    .detail(format!("{} enterprises", rows.len()));
                store
                    .insert("audit", &[r])
                    .await
                    .context("auditing the import")?;
                println!("{}: {} enterprises imported", file.display(), rows.len());
                Ok(())
            })
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
    let registry = registry_of(&store)
        .await
        .context("loading the enterprise registry")?;
    let escalator = Escalator::new(config.escalation.clone(), &config.tier.id);
    escalator.restore(
        collector::incident::load_open(&store)
            .await
            .context("loading open incidents")?,
    );
    let upstream = Upstream::start(&config)?;
    let app = Arc::new(App {
        credentials: Credentials::new(&config),
        audit: Audit::start(store.clone(), metrics.audit_records.clone()),
        registry: std::sync::RwLock::new(Arc::new(registry)),
        escalator,
        upstream,
        bulletins: load_bulletins(&store).await.context("loading bulletins")?,
        issuing: tokio::sync::Mutex::new(()),
        store,
        metrics,
        config,
    });
    tracing::info!(
        listen = %app.config.server.listen,
        tier = app.config.tier.role.name(),
        id = %app.config.tier.id,
        tls = tls.is_some(),
        sensors = app.config.sensors.len(),
        collectors = app.config.collectors.len(),
        accounts = app.config.accounts.len(),
        enterprises = app.registry().len(),
        upstream = app.upstream.is_some(),
        "collector serving"
    );
    tokio::spawn(registry_loop(app.clone()));
    tokio::spawn(upstream::tick_loop(app.clone()));
    tokio::spawn(upstream::rollup_loop(app.clone()));
    tokio::spawn(upstream::inventory_loop(app.clone()));
    tokio::spawn(collector::bulletin::pull_loop(app.clone()));
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

/// The registry as ClickHouse holds it: the newest version of each enterprise.
async fn registry_of(store: &Store) -> clickhouse::error::Result<Registry> {
    let rows: Vec<Enterprise> = store
        .client()
        .query("SELECT enterprise_id, name, province, industry, grade FROM enterprises FINAL")
        .fetch_all()
        .await?;
    Ok(Registry::new(rows))
}

/// The bulletins held here, their targets and the progress recorded.
async fn load_bulletins(store: &Store) -> clickhouse::error::Result<collector::bulletin::Book> {
    let c = store.client();
    let list = c
        .query(
            "SELECT bulletin_id, seq, issuer, toUInt32(issued) AS issued, title, severity, \
             description, scope, indicators, rules, actions, toUInt32(deadline) AS deadline, \
             revoked, version FROM bulletins FINAL",
        )
        .fetch_all()
        .await?;
    let targets = c
        .query("SELECT DISTINCT bulletin_id, province, enterprise_id, name, industry, grade FROM bulletin_targets")
        .fetch_all()
        .await?;
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Step {
        bulletin_id: String,
        enterprise_id: String,
        state: String,
    }
    let progress: Vec<Step> = c
        .query("SELECT DISTINCT bulletin_id, enterprise_id, state FROM bulletin_progress")
        .fetch_all()
        .await?;
    Ok(collector::bulletin::Book::load(
        list,
        targets,
        progress
            .into_iter()
            .map(|s| (s.bulletin_id, s.enterprise_id, s.state))
            .collect(),
    ))
}

/// Reload the registry every `registry_refresh_s`: imports and reports from below.
async fn registry_loop(app: Arc<App>) {
    let every = Duration::from_secs(app.config.tier.registry_refresh_s);
    loop {
        tokio::time::sleep(every).await;
        match registry_of(&app.store).await {
            Ok(r) => *app.registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(r),
            Err(e) => tracing::warn!(error = %e, "reloading the registry failed; keeping the last"),
        }
    }
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
