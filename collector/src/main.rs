//! `modelplug-collector`: serve, manage keys, print reports, migrate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use modelplug_collector::config::FileSettings;
use modelplug_collector::ingest::Limits;
use modelplug_collector::keys::KeyKind;
use modelplug_collector::policy::signing;
use modelplug_collector::report::{self, ReportQuery};
use modelplug_collector::{DbUrl, ServeOptions, Server, Store, StoreOptions, key_admin};

/// The database used when none is named: a SQLite file in the working directory.
const DEFAULT_DB: &str = "sqlite://modelplug-collector.db";

#[derive(Parser)]
#[command(
    name = "modelplug-collector",
    version,
    about = "The modelplug collector: usage ingest, keys, reports, metrics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// `sqlite://PATH` (default `sqlite://modelplug-collector.db`) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(long, env = "MODELPLUG_COLLECTOR_DB", global = true)]
    db: Option<String>,
    /// A YAML file of settings (flags and environment variables win over it).
    #[arg(long, env = "MODELPLUG_COLLECTOR_CONFIG", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ingest, report, key and metrics API.
    Serve(ServeArgs),
    /// Create, list, revoke and rotate keys (works on the database directly).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print a usage and cost report.
    Report(ReportArgs),
    /// Apply the schema migrations and exit (serve does this on start too).
    Migrate(DbArgs),
    /// Central policy: the signing key clients check policies with.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the public key policies are signed with (`ed25519:…`, for the clients' config);
    /// makes the signing key if the database has none yet.
    PublicKey {
        /// Read the signing key's seed from this file instead of the database.
        #[arg(long, env = "MODELPLUG_COLLECTOR_POLICY_SIGNING_KEY")]
        policy_signing_key: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (default 127.0.0.1:4000).
    #[arg(long, env = "MODELPLUG_COLLECTOR_LISTEN")]
    listen: Option<SocketAddr>,
    /// PEM certificate chain, to listen with TLS (with --tls-key).
    #[arg(long, env = "MODELPLUG_COLLECTOR_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long, env = "MODELPLUG_COLLECTOR_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest request body as sent, in MiB (default 16).
    #[arg(long, env = "MODELPLUG_COLLECTOR_MAX_BODY_MB")]
    max_body_mb: Option<usize>,
    /// Days raw events are kept (default 90; 0 keeps them for ever).
    #[arg(long, env = "MODELPLUG_COLLECTOR_EVENTS_RETENTION_DAYS")]
    events_retention_days: Option<u32>,
    /// Days hourly and daily rollups are kept (default 400; 0 for ever).
    #[arg(long, env = "MODELPLUG_COLLECTOR_ROLLUPS_RETENTION_DAYS")]
    rollups_retention_days: Option<u32>,
    /// SQLite durability: `normal` (survives the process being killed) or `full` (also a power cut).
    #[arg(long, env = "MODELPLUG_COLLECTOR_SQLITE_SYNCHRONOUS")]
    sqlite_synchronous: Option<String>,
    /// PostgreSQL connections per replica (default 8).
    #[arg(long, env = "MODELPLUG_COLLECTOR_PG_POOL_SIZE")]
    pg_pool_size: Option<usize>,
    /// `text` (default) or `json` logs on stderr.
    #[arg(long, env = "MODELPLUG_COLLECTOR_LOG_FORMAT")]
    log_format: Option<String>,
    /// Serve /metrics without a key.
    #[arg(long, env = "MODELPLUG_COLLECTOR_METRICS_PUBLIC")]
    metrics_public: bool,
    /// Where the first admin key is written when the database has none (default: beside a
    /// SQLite file, `<file>.admin-key`).
    #[arg(long, env = "MODELPLUG_COLLECTOR_ADMIN_KEY_FILE")]
    admin_key_file: Option<PathBuf>,
    /// Seconds shutdown waits for requests in flight (default 30).
    #[arg(long, env = "MODELPLUG_COLLECTOR_SHUTDOWN_GRACE_S")]
    shutdown_grace_s: Option<u64>,
    /// A file holding the policy signing key's 32-byte Ed25519 seed (raw, base64 or hex);
    /// default: the seed made at the first start and kept in the database.
    #[arg(long, env = "MODELPLUG_COLLECTOR_POLICY_SIGNING_KEY")]
    policy_signing_key: Option<PathBuf>,
    /// Publish this price catalog (genai-prices JSON, newer than the clients' built-in one) to
    /// every client with central policy.
    #[arg(long, env = "MODELPLUG_COLLECTOR_PRICE_DATA")]
    price_data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (it is shown once).
    Create {
        /// The app an ingest key writes for.
        #[arg(long, conflicts_with = "admin", required_unless_present = "admin")]
        app: Option<String>,
        /// Bind the ingest key to a team.
        #[arg(long, requires = "app")]
        team: Option<String>,
        /// An admin key instead.
        #[arg(long)]
        admin: bool,
        /// A note for people.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key at once.
    Revoke {
        /// The key id (the 16 hex digits after `mpk_`).
        id: String,
    },
    /// Make a new key with the same binding; the old one works for --grace-s more seconds.
    Rotate {
        /// The key id.
        id: String,
        /// Seconds the old key keeps working (default 0).
        #[arg(long, default_value_t = 0)]
        grace_s: i64,
    },
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Start: RFC 3339 UTC, a date, or an age such as `7d` (default 30 days before --to).
    #[arg(long)]
    from: Option<String>,
    /// End (default now).
    #[arg(long)]
    to: Option<String>,
    /// Dimensions, comma-separated: app, team, user, env, operation, provider, deployment,
    /// model, status, error_code, label.<key>, day, hour.
    #[arg(long)]
    group_by: Option<String>,
    /// A filter `DIM=V1,V2` (repeatable), e.g. `--filter env=prod --filter label.exp=a`.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// `table` (default), `csv` or `json`.
    #[arg(long, default_value = "table")]
    format: String,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

fn settings(db: &DbArgs) -> Result<FileSettings, String> {
    match &db.config {
        Some(p) => FileSettings::load(p).map_err(|e| e.to_string()),
        None => Ok(FileSettings::default()),
    }
}

fn db_url(db: &DbArgs, file: &FileSettings) -> Result<DbUrl, String> {
    let url = db
        .db
        .clone()
        .or_else(|| file.text("db"))
        .unwrap_or_else(|| DEFAULT_DB.to_owned());
    DbUrl::parse(&url).map_err(|e| e.to_string())
}

async fn open(db: &DbArgs, opts: &StoreOptions) -> Result<(Store, DbUrl), String> {
    let file = settings(db)?;
    let url = db_url(db, &file)?;
    let store = Store::open(&url, opts).await.map_err(|e| format!("{url}: {e}"))?;
    Ok((store, url))
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    let file = settings(&a.db)?;
    let log_format = a
        .log_format
        .clone()
        .or_else(|| file.text("log_format"))
        .unwrap_or_else(|| "text".into());
    if !matches!(log_format.as_str(), "text" | "json") {
        return Err("`log_format`: `text` or `json`".into());
    }
    init_logs(log_format == "json");
    let num = |v: Option<u64>, key: &str, default: u64| -> Result<u64, String> {
        Ok(match v {
            Some(v) => v,
            None => file
                .number::<u64>(key)
                .map_err(|e| e.to_string())?
                .unwrap_or(default),
        })
    };
    let store_opts = StoreOptions {
        sqlite_synchronous: a
            .sqlite_synchronous
            .clone()
            .or_else(|| file.text("sqlite_synchronous"))
            .unwrap_or_else(|| "normal".into()),
        pg_pool_size: num(a.pg_pool_size.map(|n| n as u64), "pg_pool_size", 8)? as usize,
        serving: true,
    };
    if !matches!(store_opts.sqlite_synchronous.as_str(), "normal" | "full") {
        return Err("`sqlite_synchronous`: `normal` or `full`".into());
    }
    let listen = match a.listen.or(file
        .text("listen")
        .map(|l| l.parse())
        .transpose()
        .map_err(|_| "`listen`: expected HOST:PORT".to_owned())?)
    {
        Some(l) => l,
        None => SocketAddr::from(([127, 0, 0, 1], 4000)),
    };
    let tls_cert = a
        .tls_cert
        .clone()
        .or_else(|| file.text("tls_cert").map(PathBuf::from));
    let tls_key = a
        .tls_key
        .clone()
        .or_else(|| file.text("tls_key").map(PathBuf::from));
    let tls = match (tls_cert, tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("`tls_cert` and `tls_key` go together".into()),
    };
    let max_body_mb = num(a.max_body_mb.map(|n| n as u64), "max_body_mb", 16)?.clamp(1, 1024) as usize;
    let opts = ServeOptions {
        listen,
        tls,
        limits: Limits {
            max_body_bytes: max_body_mb << 20,
            max_decoded_bytes: (max_body_mb * 4) << 20,
            ..Limits::default()
        },
        metrics_public: a.metrics_public
            || file
                .flag("metrics_public")
                .map_err(|e| e.to_string())?
                .unwrap_or(false),
        events_retention_days: num(
            a.events_retention_days.map(u64::from),
            "events_retention_days",
            90,
        )? as u32,
        rollups_retention_days: num(
            a.rollups_retention_days.map(u64::from),
            "rollups_retention_days",
            400,
        )? as u32,
        shutdown_grace: Duration::from_secs(num(a.shutdown_grace_s, "shutdown_grace_s", 30)?),
        policy_signing_key: a
            .policy_signing_key
            .clone()
            .or_else(|| file.text("policy_signing_key").map(PathBuf::from)),
        price_data: a
            .price_data
            .clone()
            .or_else(|| file.text("price_data").map(PathBuf::from)),
    };
    let url = db_url(&a.db, &file)?;
    let store = Store::open(&url, &store_opts)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tracing::info!(db = %url, "database ready (migrations applied)");
    let key_file = a
        .admin_key_file
        .clone()
        .or_else(|| file.text("admin_key_file").map(PathBuf::from))
        .or_else(|| match &url {
            DbUrl::Sqlite(p) => Some(PathBuf::from(format!("{}.admin-key", p.display()))),
            DbUrl::Postgres(_) => None,
        });
    first_admin_key(&store, key_file).await?;
    let server = Server::start(store, opts).await.map_err(|e| e.to_string())?;
    server.run_until_signal().await;
    Ok(())
}

/// With no working admin key in the database, makes one and writes it to `file` (mode 0600):
/// the key never goes to the logs.
async fn first_admin_key(store: &Store, file: Option<PathBuf>) -> Result<(), String> {
    let now = now_ms();
    let keys = store.keys().await.map_err(|e| e.to_string())?;
    if keys.iter().any(|k| k.kind == KeyKind::Admin && k.active(now)) {
        return Ok(());
    }
    let Some(path) = file else {
        tracing::warn!("no admin key yet: create one with `modelplug-collector keys create --admin --db …`");
        return Ok(());
    };
    let key = key_admin::create(
        store,
        KeyKind::Admin,
        None,
        None,
        Some("first admin key".into()),
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    write_secret(&path, &key.token).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::info!(file = %path.display(), id = %key.record.id, "made the first admin key; it is in the file");
    Ok(())
}

fn write_secret(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    writeln!(f, "{secret}")
}

async fn keys(command: KeysCommand, db: DbArgs) -> Result<(), String> {
    let (store, _) = open(&db, &StoreOptions::default()).await?;
    let now = now_ms();
    let result = match command {
        KeysCommand::Create {
            app,
            team,
            admin,
            name,
        } => {
            let kind = if admin { KeyKind::Admin } else { KeyKind::Ingest };
            key_admin::create(&store, kind, app, team, name, now)
                .await
                .map(|k| {
                    eprintln!(
                        "created {} key {} (shown once; store it now)",
                        kind.as_str(),
                        k.record.id
                    );
                    println!("{}", k.token);
                })
        }
        KeysCommand::List => match store.keys().await {
            Ok(keys) => {
                println!(
                    "{:<18} {:<7} {:<24} {:<16} {:<26} name",
                    "id", "kind", "app", "team", "state"
                );
                for k in keys {
                    println!(
                        "{:<18} {:<7} {:<24} {:<16} {:<26} {}",
                        k.id,
                        k.kind.as_str(),
                        k.app.as_deref().unwrap_or("-"),
                        k.team.as_deref().unwrap_or("-"),
                        k.state(now),
                        k.name.as_deref().unwrap_or("")
                    );
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        },
        KeysCommand::Revoke { id } => key_admin::revoke(&store, &id, now)
            .await
            .map(|()| eprintln!("revoked {id}")),
        KeysCommand::Rotate { id, grace_s } => {
            key_admin::rotate(&store, &id, grace_s.saturating_mul(1000), now)
                .await
                .map(|k| {
                    eprintln!(
                        "key {} replaces {id} (which works {grace_s} s more); shown once:",
                        k.record.id
                    );
                    println!("{}", k.token);
                })
        }
    };
    store.close().await;
    result.map_err(|e| e.to_string())
}

async fn policy_cmd(command: PolicyCommand, db: DbArgs) -> Result<(), String> {
    match command {
        PolicyCommand::PublicKey { policy_signing_key } => {
            let file = settings(&db)?;
            let seed_file = policy_signing_key.or_else(|| file.text("policy_signing_key").map(PathBuf::from));
            let (store, _) = open(&db, &StoreOptions::default()).await?;
            let signer = signing::load_signer(&store, seed_file.as_deref(), now_ms()).await;
            store.close().await;
            let signer = signer?;
            eprintln!("key id {}", signer.key_id());
            println!("{}", signer.public_key());
            Ok(())
        }
    }
}

async fn report_cmd(a: ReportArgs) -> Result<(), String> {
    let mut pairs: Vec<(String, String)> = vec![];
    if let Some(f) = a.from {
        pairs.push(("from".into(), f));
    }
    if let Some(t) = a.to {
        pairs.push(("to".into(), t));
    }
    if let Some(g) = a.group_by {
        pairs.push(("group_by".into(), g));
    }
    for f in a.filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| format!("--filter `{f}`: expected DIM=VALUE[,VALUE…]"))?;
        pairs.push((k.to_owned(), v.to_owned()));
    }
    let q = ReportQuery::from_pairs(&pairs, now_ms(), &[]).map_err(|e| e.to_string())?;
    let (store, _) = open(&a.db, &StoreOptions::default()).await?;
    let r = report::run(&store, &q).await.map_err(|e| e.to_string());
    store.close().await;
    let r = r?;
    match a.format.as_str() {
        "csv" => print!("{}", r.to_csv()),
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&r.to_json()).unwrap_or_default()
        ),
        "table" => print!("{}", table(&r)),
        other => return Err(format!("--format `{other}`: table, csv or json")),
    }
    Ok(())
}

/// A readable table: the group columns and the headline numbers.
fn table(r: &report::Report) -> String {
    let mut columns: Vec<String> = r.query.group_by.iter().map(ToString::to_string).collect();
    columns.extend(
        [
            "requests",
            "error_rate",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "latency_ms_p95",
        ]
        .map(String::from),
    );
    let cell = |row: &serde_json::Map<String, serde_json::Value>, c: &str| match row.get(c) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "-".into(),
        Some(serde_json::Value::Number(n)) if c == "cost_usd" => format!("{:.4}", n.as_f64().unwrap_or(0.0)),
        Some(serde_json::Value::Number(n)) if c == "error_rate" => {
            format!("{:.2}%", n.as_f64().unwrap_or(0.0) * 100.0)
        }
        Some(v) => v.to_string(),
    };
    let mut lines: Vec<Vec<String>> = vec![columns.clone()];
    for row in &r.rows {
        lines.push(columns.iter().map(|c| cell(row, c)).collect());
    }
    let mut total: Vec<String> = columns.iter().map(|c| cell(&r.totals, c)).collect();
    if !r.query.group_by.is_empty() {
        total[0] = "TOTAL".into();
        for t in total.iter_mut().take(r.query.group_by.len()).skip(1) {
            *t = String::new();
        }
    }
    lines.push(total);
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for l in lines {
        let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("modelplug-collector: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve(a).await,
            Command::Keys { command, db } => keys(command, db).await,
            Command::Report(a) => report_cmd(a).await,
            Command::Policy { command, db } => policy_cmd(command, db).await,
            Command::Migrate(db) => {
                let (store, url) = open(&db, &StoreOptions::default()).await?;
                store.close().await;
                eprintln!("{url}: migrations applied");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("modelplug-collector: {e}");
            ExitCode::FAILURE
        }
    }
}
