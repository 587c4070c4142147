//! `collector`: serve sensors, lower tiers and people, create or upgrade the schema, apply
//! retention, import the registry, and issue the credentials sensors and collectors use.

/// A batch is thousands of rows of small strings, made and freed together; glibc's allocator
/// spent half the ingest CPU on them. mimalloc also hands the ~19 MiB of a password check back
/// when it is freed, whichever thread ran it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use collector::auth::Credentials;
use collector::config::{Config, TierRole};
use collector::http::{self, App};
use collector::metrics::Metrics;
use collector::notify::{self, Notifier};
use collector::pki;
use collector::store::audit::{Audit, Record};
use collector::store::buffer::Buffering;
use collector::store::{self, retention, schema, settle, Store};
use collector::tier::bulletin::Bulletins;
use collector::tier::fleet::{self, Fleet};
use collector::tier::grading::{self, Grading};
use collector::tier::hazard::{self, Register};
use collector::tier::incident::coordination::Coordination;
use collector::tier::incident::{self, Escalator, Incidents};
use collector::tier::registry;
use collector::tier::report::EnterpriseRow;
use collector::tier::report::Heartbeat;
use collector::tier::upstream::{self, Upstream};

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
    /// Security advisories (CSAF 2.0) the inventory is matched against.
    Advisories {
        #[command(subcommand)]
        command: AdvisoriesCommand,
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
enum AdvisoriesCommand {
    /// Import CSAF 2.0 documents: a file, or a directory walked for `*.json`. Each is checked
    /// on its own; a bad one is refused by name and the rest are imported.
    Import {
        #[arg(long, default_value = "collector.toml")]
        config: PathBuf,
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Make a CA, the collector's server certificate and an empty revocation list in DIR.
    Init {
        dir: PathBuf,
        /// DNS names or IP addresses the collector is reached by.
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
        /// Days the server certificate lives.
        #[arg(long, default_value_t = pki::DEFAULT_DAYS)]
        days: u32,
    },
    /// Renew the collector's server certificate in DIR; a running collector picks it up.
    Server {
        dir: PathBuf,
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
        #[arg(long, default_value_t = pki::DEFAULT_DAYS)]
        days: u32,
    },
    /// Make, or renew, a client certificate for ID (a sensor's or a lower tier's id, its
    /// common name), signed by DIR's CA. The one it replaces stays valid until revoked.
    Sensor {
        dir: PathBuf,
        id: String,
        #[arg(long, default_value_t = pki::DEFAULT_DAYS)]
        days: u32,
    },
    /// Revoke a certificate: by serial, by certificate file, or every valid one of a name.
    Revoke {
        dir: PathBuf,
        what: String,
        /// unspecified, key-compromise, superseded, cessation-of-operation, affiliation-changed.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// List the certificates DIR's CA has issued: serial, name, expiry, status.
    List { dir: PathBuf },
    /// Sign DIR's revocation list again (it names a next update a year ahead).
    Crl { dir: PathBuf },
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
            let list = registry::read_csv(std::io::BufReader::new(f), &file)?;
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
        Command::Advisories {
            command: AdvisoriesCommand::Import { config, path },
        } => {
            let config = Config::load(&config)?;
            let started = std::time::Instant::now();
            let mut loaded = collector::csaf::load(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            for (file, why) in &loaded.refused {
                eprintln!("refused {}: {why}", file.display());
            }
            let refused = loaded.refused.len();
            runtime()?.block_on(async {
                let store = Store::new(&config.clickhouse);
                let source = path.display().to_string();
                let n = hazard::import(&store, &mut loaded, &source)
                    .await
                    .context("storing the advisories")?;
                let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
                let r = Record::new(&user, "admin", "advisories.import", "ok")
                    .target(&source)
                    .scope(&config.tier.province, &config.tier.enterprise_id)
                    .detail(format!("{n} imported, {refused} refused"));
                store
                    .insert("audit", &[r])
                    .await
                    .context("auditing the import")?;
                println!(
                    "{}: {n} advisories imported, {refused} refused, in {:.1} s",
                    path.display(),
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            })
        }
        Command::Pki { command } => match command {
            PkiCommand::Init { dir, hosts, days } => {
                pki::init(&dir, &hosts, days)?;
                println!(
                    "{}: ca.pem, ca.key, server.pem, server.key, crl.pem",
                    dir.display()
                );
                Ok(())
            }
            PkiCommand::Server { dir, hosts, days } => {
                let i = pki::server(&dir, &hosts, days)?;
                println!(
                    "{}/server.pem: serial {}, valid until {}",
                    dir.display(),
                    i.serial,
                    i.not_after.date()
                );
                Ok(())
            }
            PkiCommand::Sensor { dir, id, days } => {
                let i = pki::sensor(&dir, &id, days)?;
                println!(
                    "{}/sensors/{id}.pem and {id}.key: serial {}, valid until {}",
                    dir.display(),
                    i.serial,
                    i.not_after.date()
                );
                Ok(())
            }
            PkiCommand::Revoke { dir, what, reason } => {
                let newly = pki::revoke(&dir, &what, &reason)?;
                for s in &newly {
                    println!("revoked {s}");
                }
                println!(
                    "{}/crl.pem signed: {} newly revoked",
                    dir.display(),
                    newly.len()
                );
                Ok(())
            }
            PkiCommand::List { dir } => {
                let now = time::OffsetDateTime::now_utc();
                println!("serial\tname\tnot_after\tstatus");
                for e in pki::list(&dir)? {
                    let status = match e.revoked {
                        Some(t) => format!("revoked {}", t.date()),
                        None if e.not_after <= now => "expired".to_owned(),
                        None => format!("valid, {} days left", (e.not_after - now).whole_days()),
                    };
                    println!("{}\t{}\t{}\t{status}", e.serial, e.name, e.not_after.date());
                }
                Ok(())
            }
            PkiCommand::Crl { dir } => {
                let n = pki::sign_crl(&dir)?;
                println!("{}/crl.pem signed: {n} revoked", dir.display());
                Ok(())
            }
        },
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let tls = http::tls_config(&config)?;
    let store = Store::new(&config.clickhouse).with_buffering(Buffering::of(&config.storage));
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
    let config = Arc::new(config);
    let metrics = Metrics::new();
    metrics.schema_version.set(i64::from(version));
    let registry = Arc::new(registry::Shared::new(
        registry::load(&store)
            .await
            .context("loading the enterprise registry")?,
    ));
    let escalator = Escalator::new(config.escalation.clone(), &config.tier.id)
        .with_deadlines(config.incidents.clone());
    let open = incident::load_open(&store)
        .await
        .context("loading open incidents")?;
    let fleet = Arc::new(Fleet::new(
        &config.sensors,
        config.tier.offline_seconds,
        &config.tier.id,
    ));
    for (who, at, raw) in fleet::recent(&store)
        .await
        .context("loading the sensors' latest heartbeats")?
    {
        fleet.heard(&who, Heartbeat::parse(&raw), at);
    }
    fleet.restore(&open);
    escalator.restore(open);
    let upstream = Upstream::start(&config)?.map(Arc::new);
    let coordination = Arc::new(Coordination::new(
        store.clone(),
        upstream.clone(),
        &config.tier.id,
    ));
    let incidents = Arc::new(Incidents::new(
        escalator,
        store.clone(),
        upstream.clone(),
        metrics.incidents.clone(),
        collector::tier::live::Live::default(),
        coordination.clone(),
    ));
    let bulletins = Arc::new(Bulletins::new(
        Bulletins::load(&store).await.context("loading bulletins")?,
        store.clone(),
        upstream.clone(),
        config.tier.clone(),
    ));
    let (notifier, queue) = Notifier::new(config.clone(), store.clone())?;
    let notifier = if notifier.enabled() {
        notify::deliver::run(config.clone(), store.clone(), queue).await?;
        Some(notifier)
    } else {
        None
    };
    let hazards = Arc::new(Register::new(
        store.clone(),
        upstream.clone(),
        registry.clone(),
        config.clone(),
    ));
    let grading = Arc::new(Grading::new(
        store.clone(),
        registry.clone(),
        config.clone(),
        incidents.clone(),
        hazards.clone(),
    ));
    let app = Arc::new(App {
        notifier,
        hazards: hazards.clone(),
        grading: grading.clone(),
        credentials: Credentials::new(&config),
        audit: Audit::start(store.clone(), metrics.audit_records.clone()),
        registry: registry.clone(),
        incidents,
        bulletins: bulletins.clone(),
        fleet: fleet.clone(),
        upstream: upstream.clone(),
        store: store.clone(),
        metrics,
        guards: http::guard::Guards::new(&config.server),
        situations: Default::default(),
        config: config.clone(),
    });
    tracing::info!(
        listen = %config.server.listen,
        tier = config.tier.role.name(),
        id = %config.tier.id,
        tls = tls.is_some(),
        sensors = config.sensors.len(),
        collectors = config.collectors.len(),
        accounts = config.accounts.len(),
        enterprises = app.registry().len(),
        upstream = upstream.is_some(),
        "collector serving"
    );
    tokio::spawn(http::web::reports::schedule_loop(app.clone()));
    tokio::spawn(hazard::run(hazards));
    tokio::spawn(grading::run(grading));
    for src in &config.csaf {
        tokio::spawn(hazard::feed::run(
            src.clone(),
            store.clone(),
            config.tier.id.clone(),
        ));
    }
    tokio::spawn(registry::refresh_loop(
        registry.clone(),
        store.clone(),
        Duration::from_secs(config.tier.registry_refresh_s),
    ));
    if let Some(up) = &upstream {
        tokio::spawn(upstream::tick_loop(up.clone()));
        tokio::spawn(upstream::rollup_loop(
            up.clone(),
            store.clone(),
            config.clone(),
            app.metrics.clickhouse_errors.clone(),
        ));
        let watched = fleet.clone();
        tokio::spawn(upstream::inventory_loop(
            up.clone(),
            store.clone(),
            registry.clone(),
            config.clone(),
            move || watched.list(|_, _| true),
        ));
    }
    if let Some(n) = &app.notifier {
        tokio::spawn(n.clone().watch_loop(
            bulletins.clone(),
            app.incidents.clone(),
            coordination.clone(),
        ));
    }
    for src in &config.taxii {
        tokio::spawn(collector::tier::bulletin::share::pull_loop(
            src.clone(),
            config.tier.id.clone(),
            bulletins.clone(),
            registry.clone(),
        ));
    }
    tokio::spawn(bulletins.pull_loop(config.upstream.clone()));
    tokio::spawn(coordination.pull_loop(config.upstream.clone()));
    tokio::spawn(fleet::sweep_loop(
        fleet,
        app.incidents.clone(),
        config.tier.offline_seconds,
    ));
    tokio::spawn(incident::overdue_loop(
        app.incidents.clone(),
        Duration::from_secs(config.incidents.overdue_check_s),
    ));
    if config.tier.role == TierRole::National {
        tokio::spawn(http::web::warm_loop(app.clone()));
        tokio::spawn(settle::run_loop(
            store.clone(),
            Duration::from_secs(config.tier.settle_interval_s),
        ));
    }
    tokio::spawn(retention::run_loop(
        store,
        config.storage.clone(),
        app.metrics.partitions_dropped.clone(),
    ));
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("stopping");
    };
    http::serve(listener, tls, app, shutdown).await
}
