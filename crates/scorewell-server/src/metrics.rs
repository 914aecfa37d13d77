//! Prometheus metrics, exposed at `GET /metrics` in the OpenMetrics text format.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `scorewell_requests_total` | counter | `model`, `protocol` (`v1`, `v2`), `status` |
//! | `scorewell_request_errors_total` | counter | `model`, `protocol`, `code` (see [`crate::ApiError::code`]) |
//! | `scorewell_request_duration_seconds` | histogram | `model`, `protocol` |
//! | `scorewell_rows_scored_total` | counter | `model` |
//! | `scorewell_in_flight_requests` | gauge | |
//! | `scorewell_model_loaded_info` | gauge (1) | `model`, `version`, `digest` |
//! | `scorewell_model_load_duration_seconds` | gauge | `model` (the last successful load) |
//! | `scorewell_model_loads_total` | counter | `model`, `result` (`ok`, `error`) |
//! | `scorewell_model_load_error` | gauge | `model` (1 while the last load attempt failed) |
//!
//! The routing stages of served bundles (model sets, splits, shadows) add their own
//! `scorewell_route_*` metrics: model builds and evictions, and per-arm requests, rows and
//! score histograms (see `scorewell::bundle::encode_route_metrics`).
//!
//! Requests naming a model that is not served are counted under `model="(unknown)"`, so
//! clients cannot create unbounded label values.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label value for requests that name no served model.
pub const UNKNOWN_MODEL: &str = "(unknown)";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    model: String,
    protocol: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    model: String,
    protocol: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    model: String,
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadLabels {
    model: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadedLabels {
    model: String,
    version: String,
    digest: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~13 s in ×2 steps.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_05, 2.0, 19,
    ))
}

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rows: Family<ModelLabels, Counter>,
    in_flight: Gauge,
    loaded: Family<LoadedLabels, Gauge>,
    /// The label set `loaded` currently shows for each model, so a reload can replace it.
    loaded_now: Mutex<Vec<LoadedLabels>>,
    load_seconds: Family<ModelLabels, Gauge<f64, AtomicU64>>,
    loads: Family<LoadLabels, Counter>,
    load_error: Family<ModelLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("scorewell");
        let requests = Family::<RequestLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let duration = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let rows = Family::<ModelLabels, Counter>::default();
        let in_flight = Gauge::default();
        let loaded = Family::<LoadedLabels, Gauge>::default();
        let load_seconds = Family::<ModelLabels, Gauge<f64, AtomicU64>>::default();
        let loads = Family::<LoadLabels, Counter>::default();
        let load_error = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "requests",
            "Scoring requests by model, protocol and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_errors",
            "Failed scoring requests by model, protocol and error code",
            errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request's arrival to its response, by model and protocol",
            duration.clone(),
        );
        registry.register("rows_scored", "Rows scored, by model", rows.clone());
        registry.register(
            "in_flight_requests",
            "Scoring requests in progress",
            in_flight.clone(),
        );
        registry.register(
            "model_loaded_info",
            "The version and sha256 digest each model serves now (value 1)",
            loaded.clone(),
        );
        registry.register(
            "model_load_duration_seconds",
            "How long the last successful load of each model took",
            load_seconds.clone(),
        );
        registry.register(
            "model_loads",
            "Model load attempts by result",
            loads.clone(),
        );
        registry.register(
            "model_load_error",
            "1 while the last load attempt of a model failed (the old version keeps serving)",
            load_error.clone(),
        );
        Self {
            registry,
            requests,
            errors,
            duration,
            rows,
            in_flight,
            loaded,
            loaded_now: Mutex::new(Vec::new()),
            load_seconds,
            loads,
            load_error,
        }
    }

    /// Count one finished scoring request.
    pub(crate) fn request(
        &self,
        model: &str,
        protocol: &'static str,
        status: u16,
        error: Option<&'static str>,
        elapsed: Duration,
        rows: usize,
    ) {
        let model = model.to_string();
        if let Some(code) = error {
            self.errors
                .get_or_create(&ErrorLabels {
                    model: model.clone(),
                    protocol,
                    code,
                })
                .inc();
        }
        if rows > 0 {
            self.rows
                .get_or_create(&ModelLabels {
                    model: model.clone(),
                })
                .inc_by(rows as u64);
        }
        self.duration
            .get_or_create(&RouteLabels {
                model: model.clone(),
                protocol,
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                model,
                protocol,
                status,
            })
            .inc();
    }

    /// The in-flight gauge.
    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// Record a successful load.
    pub(crate) fn loaded(&self, model: &str, version: &str, digest: &str, took: Duration) {
        let labels = LoadedLabels {
            model: model.to_string(),
            version: version.to_string(),
            digest: digest.to_string(),
        };
        if let Ok(mut now) = self.loaded_now.lock() {
            now.retain(|old| {
                if old.model == model {
                    self.loaded.remove(old);
                    false
                } else {
                    true
                }
            });
            now.push(labels.clone());
        }
        self.loaded.get_or_create(&labels).set(1);
        let m = ModelLabels {
            model: model.to_string(),
        };
        self.load_seconds.get_or_create(&m).set(took.as_secs_f64());
        self.load_error.get_or_create(&m).set(0);
        self.loads
            .get_or_create(&LoadLabels {
                model: model.to_string(),
                result: "ok",
            })
            .inc();
    }

    /// Record a failed load.
    pub(crate) fn load_failed(&self, model: &str) {
        let m = ModelLabels {
            model: model.to_string(),
        };
        self.load_error.get_or_create(&m).set(1);
        self.loads
            .get_or_create(&LoadLabels {
                model: model.to_string(),
                result: "error",
            })
            .inc();
    }

    /// Forget a model that is no longer served.
    pub(crate) fn unloaded(&self, model: &str) {
        if let Ok(mut now) = self.loaded_now.lock() {
            now.retain(|old| {
                if old.model == model {
                    self.loaded.remove(old);
                    false
                } else {
                    true
                }
            });
        }
        let m = ModelLabels {
            model: model.to_string(),
        };
        self.load_error.remove(&m);
        self.load_seconds.remove(&m);
    }

    /// Every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        // The routing stages keep their counters process-wide; they go before the `# EOF`
        // that ends an OpenMetrics exposition.
        let routes = scorewell::bundle::encode_route_metrics();
        if !routes.is_empty() {
            let end = out.rfind("# EOF").unwrap_or(out.len());
            out.insert_str(end, &routes);
        }
        out
    }
}
