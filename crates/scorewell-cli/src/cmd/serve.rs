//! `scorewell serve`: the HTTP scoring server (see docs/SERVER.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, ValueEnum};
use scorewell_server::{App, Config, Limits, ModelSpec, Repository};

/// Where the admin token may come from instead of the command line (which `ps` shows).
const TOKEN_ENV: &str = "SCOREWELL_ADMIN_TOKEN";

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `scorewell serve`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Models to serve: `NAME=PATH`, or `PATH` (named after its file stem). A path is a model
    /// file or a bundle (zip or directory).
    #[arg(value_name = "MODEL")]
    models: Vec<String>,
    /// Also serve every model file or bundle directly inside this folder, named after its file
    /// stem; hidden and temporary files are skipped. The folder is watched: models appear,
    /// change and disappear with their files.
    #[arg(long, value_name = "DIR")]
    repository: Option<PathBuf>,
    /// Address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the log says which).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Threads serving requests (0 = one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Largest request body in bytes (413 beyond).
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most rows in one request (413 beyond).
    #[arg(long, default_value_t = Limits::default().max_rows)]
    max_rows: usize,
    /// Most values in one request, counted as rows × fields with missing fields as nulls
    /// (413 beyond).
    #[arg(long, default_value_t = Limits::default().max_cells)]
    max_cells: usize,
    /// Longest a request may take, in milliseconds (504 beyond).
    #[arg(long, default_value_t = Limits::default().timeout.as_millis() as u64)]
    timeout_ms: u64,
    /// Most scoring requests in progress at once (429 beyond).
    #[arg(long, default_value_t = Limits::default().max_concurrency)]
    max_concurrency: usize,
    /// How often to check model files for changes, in milliseconds (0 = never; reload with
    /// `POST /admin/reload`).
    #[arg(long, default_value_t = 2000)]
    poll_interval_ms: u64,
    /// How long a shutdown (SIGTERM, Ctrl-C) waits for in-flight requests, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    drain_timeout_ms: u64,
    /// Bearer token for `POST /admin/reload` (or set SCOREWELL_ADMIN_TOKEN); without one the
    /// admin API answers 403.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log level (`RUST_LOG` overrides it; `debug` logs every request).
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn parse_model(arg: &str) -> ModelSpec {
    match arg.split_once('=') {
        Some((name, path)) if !name.is_empty() && !name.contains(['/', '\\']) => {
            ModelSpec::new(name, path)
        }
        _ => ModelSpec::from_path(arg),
    }
}

fn init_logging(format: LogFormat, level: &str) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match EnvFilter::try_from_default_env() {
        Ok(f) => f,
        Err(_) => EnvFilter::try_new(level).with_context(|| format!("--log-level {level}"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}

/// Run `scorewell serve`.
pub fn run(args: Args) -> Result<()> {
    init_logging(args.log_format, &args.log_level)?;
    let specs: Vec<ModelSpec> = args.models.iter().map(|m| parse_model(m)).collect();
    let admin_token = args
        .admin_token
        .clone()
        .or_else(|| std::env::var(TOKEN_ENV).ok())
        .filter(|t| !t.is_empty());
    let config = Config {
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_rows: args.max_rows,
            max_cells: args.max_cells,
            timeout: Duration::from_millis(args.timeout_ms),
            max_concurrency: args.max_concurrency,
        },
        admin_token,
        poll_interval: (args.poll_interval_ms > 0)
            .then(|| Duration::from_millis(args.poll_interval_ms)),
        drain_timeout: Duration::from_millis(args.drain_timeout_ms),
    };
    let repo = Repository::open(specs, args.repository.clone())?;
    let app = App::new(repo, config);

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.workers > 0 {
        runtime.worker_threads(args.workers);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the server's threads")?;
    runtime.block_on(async move {
        let addr: SocketAddr = tokio::net::lookup_host((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot resolve --host {}", args.host))?
            .next()
            .with_context(|| format!("--host {} has no address", args.host))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let names: Vec<String> = app
            .repository()
            .slots()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        tracing::info!(
            models = %names.join(","),
            admin = app.config().admin_token.is_some(),
            "listening on http://{local}"
        );
        scorewell_server::serve(listener, app, shutdown_signal())
            .await
            .context("server failed")
    })
}

/// Resolves at the first SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received Ctrl-C"),
        _ = term => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_arguments_name_or_infer_names() {
        assert_eq!(
            parse_model("fraud=m/f-3.zip"),
            ModelSpec::new("fraud", "m/f-3.zip")
        );
        assert_eq!(
            parse_model("m/spam.json"),
            ModelSpec::new("spam", "m/spam.json")
        );
        assert_eq!(
            parse_model("./a=b/c.txt"),
            ModelSpec::new("c", "./a=b/c.txt")
        );
    }
}
