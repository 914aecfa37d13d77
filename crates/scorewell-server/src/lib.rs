//! The scorewell HTTP scoring server, as a library: an [axum] app that serves models loaded
//! with [`scorewell::load`] and scores every request through [`scorewell::Scorer::score`].
//!
//! Routes (see `docs/SERVER.md` and [`openapi::document`]):
//! - a JSON API: `POST /v1/models/{name}/score` with `{"rows":[{..}]}` or `{"columns":{..}}`,
//!   `GET /v1/models`, `GET /v1/models/{name}`;
//! - the Open Inference Protocol v2 REST paths under `/v2`;
//! - `GET /metrics` (Prometheus), `GET /openapi.json`, `POST /admin/reload`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use scorewell_server::{App, Config, ModelSpec, Repository};
//!
//! let repo = Repository::open(vec![ModelSpec::new("fraud", "fraud.json")], None)?;
//! let app = App::new(repo, Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! scorewell_server::serve(listener, app, std::future::pending::<()>()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod protocol;
pub mod repository;
mod routes;
mod time;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use error::{ApiError, ServerError};
pub use limits::Limits;
pub use metrics::Metrics;
pub use repository::{LoadedModel, ModelSlot, ModelSpec, ReloadOutcome, Repository};
pub use routes::{router, routes};

/// How the server behaves; every field has a documented default.
#[derive(Debug, Clone)]
pub struct Config {
    /// Request limits.
    pub limits: Limits,
    /// The bearer token `POST /admin/reload` requires; `None` disables the admin API.
    pub admin_token: Option<String>,
    /// How often model sources are checked for changes; `None` disables watching.
    /// Default: every 2 s.
    pub poll_interval: Option<Duration>,
    /// How long a shutdown waits for in-flight requests before giving up. Default: 30 s.
    pub drain_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            admin_token: None,
            poll_interval: Some(Duration::from_secs(2)),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// The shared state of a running server: the models, the configuration and the metrics.
/// Cloning it is a reference-count increment.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    repo: Repository,
    config: Config,
    gate: limits::Gate,
    draining: AtomicBool,
}

impl App {
    /// Wrap a repository of loaded models.
    pub fn new(repo: Repository, config: Config) -> Self {
        let gate = limits::Gate::new(config.limits.max_concurrency);
        Self {
            inner: Arc::new(AppInner {
                repo,
                config,
                gate,
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The models.
    pub fn repository(&self) -> &Repository {
        &self.inner.repo
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        self.inner.repo.metrics()
    }

    /// Whether a shutdown has begun (readiness then answers 503).
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    pub(crate) fn gate(&self) -> &limits::Gate {
        &self.inner.gate
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then stop accepting connections and
/// let in-flight requests finish (at most [`Config::drain_timeout`]).
///
/// While serving, model sources are polled every [`Config::poll_interval`] and reloaded when
/// they change.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = app
        .config()
        .poll_interval
        .map(|every| tokio::spawn(repository::watch(app.clone(), every)));
    let started = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let app = app.clone();
        let started = started.clone();
        async move {
            shutdown.await;
            app.inner.draining.store(true, Ordering::Relaxed);
            tracing::info!(
                in_flight = app.gate().in_flight(),
                "shutting down: draining in-flight requests"
            );
            started.notify_waiters();
        }
    };
    let drained = started.notified();
    let drain_timeout = app.config().drain_timeout;
    let router = router(app.clone());
    // TCP_NODELAY: a small answer goes out at once instead of waiting for the client to
    // acknowledge an earlier segment (Nagle's algorithm meeting delayed ACKs).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let result = tokio::select! {
        r = server => r,
        _ = async { drained.await; tokio::time::sleep(drain_timeout).await } => {
            tracing::warn!(
                in_flight = app.gate().in_flight(),
                "drain timeout of {} ms passed; stopping with requests still in flight",
                drain_timeout.as_millis()
            );
            Ok(())
        }
    };
    if let Some(w) = watcher {
        w.abort();
    }
    tracing::info!("stopped");
    result
}
