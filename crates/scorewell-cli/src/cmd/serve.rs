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
    /// Address to listen on (0.0.0.0 for every interface). Default: 127.0.0.1, or 0.0.0.0
    /// when a serverless platform's port variable (PORT, FUNCTIONS_CUSTOMHANDLER_PORT) is set.
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on (0 picks a free one; the log says which). Default: $PORT (Cloud Run,
    /// Knative), else $FUNCTIONS_CUSTOMHANDLER_PORT (Azure Functions custom handlers), else 8080.
    #[arg(long)]
    port: Option<u16>,

    /// Also serve the Open Inference Protocol's gRPC API (inference.GRPCInferenceService: what
    /// tritonclient.grpc and KServe clients call) on this port, same host (0 picks a free one;
    /// the log says which). Same models, limits, metrics and shutdown as HTTP
    #[arg(long)]
    grpc_port: Option<u16>,
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

/// The platform variables that name the port a serverless container must listen on.
const PORT_VARS: [&str; 2] = ["PORT", "FUNCTIONS_CUSTOMHANDLER_PORT"];

/// Where to listen: the flags, else the platform's port variable (and every interface, since
/// the platform's router connects from outside the container), else 127.0.0.1:8080.
fn listen_address(
    host: Option<&str>,
    port: Option<u16>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, u16)> {
    let platform = PORT_VARS
        .iter()
        .find_map(|k| env(k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v)));
    let port = match (port, &platform) {
        (Some(p), _) => p,
        (None, Some((k, v))) => v
            .trim()
            .parse()
            .with_context(|| format!("{k}={v}: not a port number"))?,
        (None, None) => 8080,
    };
    let host = match (host, &platform) {
        (Some(h), _) => h.to_string(),
        (None, Some(_)) => "0.0.0.0".into(),
        (None, None) => "127.0.0.1".into(),
    };
    Ok((host, port))
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
    let repo = Repository::open_with(
        specs,
        args.repository.clone(),
        scorewell::FetchOptions::from_env()?,
    )?;
    let app = App::new(repo, config);

    // Before the runtime's threads exist, so they share few malloc arenas (flat memory across
    // reloads: scorewell_server::memory).
    scorewell_server::memory::limit_arenas();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.workers > 0 {
        runtime.worker_threads(args.workers);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the server's threads")?;
    let (host, port) = listen_address(args.host.as_deref(), args.port, |k| std::env::var(k).ok())?;
    runtime.block_on(async move {
        let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("cannot resolve --host {host}"))?
            .next()
            .with_context(|| format!("--host {host} has no address"))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let names = app.repository().names();
        tracing::info!(
            models = %names.join(","),
            admin = app.config().admin_token.is_some(),
            "listening on http://{local}"
        );
        let Some(grpc_port) = args.grpc_port else {
            return scorewell_server::serve(listener, app, shutdown_signal())
                .await
                .context("server failed");
        };
        let grpc_addr = SocketAddr::new(addr.ip(), grpc_port);
        let grpc_listener = tokio::net::TcpListener::bind(grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {grpc_addr} (--grpc-port)"))?;
        tracing::info!("listening on grpc://{}", grpc_listener.local_addr()?);
        // One signal stops both: HTTP drains as usual, gRPC lets its calls in flight end.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let grpc = tokio::spawn(scorewell_server::grpc::serve(
            grpc_listener,
            app.clone(),
            async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
        let http = scorewell_server::serve(listener, app, async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        })
        .await;
        let grpc = grpc.await.context("the gRPC server task failed")?;
        http.context("server failed")?;
        grpc.context("gRPC server failed")
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
    fn platform_port_variables_pick_the_port_and_open_every_interface() {
        let none = |_: &str| None;
        assert_eq!(
            listen_address(None, None, none).unwrap(),
            ("127.0.0.1".into(), 8080)
        );
        let cloud_run = |k: &str| (k == "PORT").then(|| "9000".to_string());
        assert_eq!(
            listen_address(None, None, cloud_run).unwrap(),
            ("0.0.0.0".into(), 9000)
        );
        let azure = |k: &str| (k == "FUNCTIONS_CUSTOMHANDLER_PORT").then(|| "7071".to_string());
        assert_eq!(
            listen_address(None, None, azure).unwrap(),
            ("0.0.0.0".into(), 7071)
        );
        // Flags win over the platform.
        assert_eq!(
            listen_address(Some("127.0.0.1"), Some(1), cloud_run).unwrap(),
            ("127.0.0.1".into(), 1)
        );
        let bad = |k: &str| (k == "PORT").then(|| "http".to_string());
        let err = listen_address(None, None, bad).unwrap_err().to_string();
        assert_eq!(err, "PORT=http: not a port number");
    }

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
        let pinned = format!("s3://b/models/fraud-3.zip#sha256={}", "ab".repeat(32));
        assert_eq!(parse_model(&pinned), ModelSpec::new("fraud-3", &pinned));
        assert_eq!(
            parse_model("fraud=gs://b/latest.zip"),
            ModelSpec::new("fraud", "gs://b/latest.zip")
        );
    }
}
