//! Process-wide counters of the routing stages, for the server's `/metrics` and for tests.
//!
//! Stages register under (bundle name, stage name), so a reloaded bundle keeps counting where
//! the previous one stopped. Model sets count model builds and evictions; splits and shadows
//! count requests (batches) and rows per arm and keep a histogram of each arm's score, so a
//! challenger can be watched before it is promoted. Per-key figures of a model set are not
//! kept: ten thousand keys would be ten thousand label values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Upper bounds of the score histogram's buckets when a stage gives none: tenths of [0, 1],
/// the range of a probability.
pub(crate) const DEFAULT_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// One stage's counters.
#[derive(Debug, Default)]
pub struct StageStats {
    kind: &'static str,
    builds: AtomicU64,
    evictions: AtomicU64,
    cached_models: AtomicU64,
    cached_bytes: AtomicU64,
    shadow_errors: AtomicU64,
    buckets: Vec<f64>,
    arms: Mutex<BTreeMap<String, ArmStats>>,
}

/// One arm's counters and score histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmStats {
    /// Batches (requests, in the server) with at least one row sent to the arm.
    pub requests: u64,
    /// Rows sent to the arm.
    pub rows: u64,
    /// Rows per bucket: `counts[i]` has the scores `<= buckets[i]` and above the previous
    /// bound; the last entry counts scores above every bound (and NaN).
    pub counts: Vec<u64>,
    /// Sum of the non-NaN scores.
    pub sum: f64,
}

/// A copy of one stage's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    /// The bundle's name.
    pub bundle: String,
    /// The stage's name.
    pub stage: String,
    /// `model_set`, `split` or `shadow`.
    pub kind: &'static str,
    /// Models built (a model built again after its eviction counts again).
    pub builds: u64,
    /// Models dropped from the cache to keep it under its budget.
    pub evictions: u64,
    /// Models cached now.
    pub cached_models: u64,
    /// Their artifacts' total size in bytes (what the budget counts).
    pub cached_bytes: u64,
    /// Batches whose shadow model failed (its outputs were left null).
    pub shadow_errors: u64,
    /// Histogram bucket bounds.
    pub buckets: Vec<f64>,
    /// Per-arm counters, by arm name.
    pub arms: BTreeMap<String, ArmStats>,
}

type Registry = Mutex<BTreeMap<(String, String), Arc<StageStats>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// The counters of stage `stage` of bundle `bundle`, made on first use.
pub(crate) fn stage_stats(
    bundle: &str,
    stage: &str,
    kind: &'static str,
    buckets: Vec<f64>,
) -> Arc<StageStats> {
    let make = || {
        Arc::new(StageStats {
            kind,
            buckets: buckets.clone(),
            ..StageStats::default()
        })
    };
    let Ok(mut map) = registry().lock() else {
        return make();
    };
    let key = (bundle.to_string(), stage.to_string());
    match map.get(&key) {
        // A reload with other buckets starts a fresh histogram rather than mixing bounds.
        Some(s) if s.kind == kind && s.buckets == buckets => s.clone(),
        _ => {
            let s = make();
            map.insert(key, s.clone());
            s
        }
    }
}

/// Every routing stage's counters in this process, by bundle and stage name.
pub fn route_stats() -> Vec<StatsSnapshot> {
    let Ok(map) = registry().lock() else {
        return Vec::new();
    };
    map.iter()
        .map(|((bundle, stage), s)| {
            let mut snap = s.snapshot();
            snap.bundle = bundle.clone();
            snap.stage = stage.clone();
            snap
        })
        .collect()
}

impl StageStats {
    pub(crate) fn built(&self) {
        self.builds.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn evicted(&self) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn cached(&self, models: u64, bytes: u64) {
        self.cached_models.store(models, Ordering::Relaxed);
        self.cached_bytes.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn shadow_failed(&self) {
        self.shadow_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one batch's rows sent to `arm` and their scores (`None` when the arm's output
    /// is not a float column: only rows are counted then).
    pub(crate) fn observe(&self, arm: &str, rows: usize, scores: Option<&[f64]>) {
        if rows == 0 {
            return;
        }
        // Bucket outside the lock: the lock then only adds.
        let mut counts = vec![0u64; self.buckets.len() + 1];
        let mut sum = 0.0;
        for &s in scores.unwrap_or(&[]) {
            let b = self.buckets.partition_point(|&bound| bound < s);
            // NaN compares false, so partition_point puts it in bucket 0; count it as +Inf.
            let b = if s.is_nan() { self.buckets.len() } else { b };
            counts[b] += 1;
            if !s.is_nan() {
                sum += s;
            }
        }
        let Ok(mut arms) = self.arms.lock() else {
            return;
        };
        let entry = arms.entry(arm.to_string()).or_insert_with(|| ArmStats {
            counts: vec![0; self.buckets.len() + 1],
            ..ArmStats::default()
        });
        entry.requests += 1;
        entry.rows += rows as u64;
        entry.sum += sum;
        for (total, c) in entry.counts.iter_mut().zip(counts) {
            *total += c;
        }
    }

    /// A copy of the counters (bundle and stage names left empty).
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            bundle: String::new(),
            stage: String::new(),
            kind: self.kind,
            builds: self.builds.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            cached_models: self.cached_models.load(Ordering::Relaxed),
            cached_bytes: self.cached_bytes.load(Ordering::Relaxed),
            shadow_errors: self.shadow_errors.load(Ordering::Relaxed),
            buckets: self.buckets.clone(),
            arms: self.arms.lock().map(|a| a.clone()).unwrap_or_default(),
        }
    }
}

/// Every routing stage's counters in the OpenMetrics text format, without the final `# EOF`
/// (the server appends this to its own metrics):
///
/// | metric | type | labels |
/// |---|---|---|
/// | `scorewell_route_model_builds_total` | counter | `bundle`, `stage` |
/// | `scorewell_route_model_evictions_total` | counter | `bundle`, `stage` |
/// | `scorewell_route_models_cached` | gauge | `bundle`, `stage` |
/// | `scorewell_route_cache_bytes` | gauge | `bundle`, `stage` |
/// | `scorewell_route_arm_requests_total` | counter | `bundle`, `stage`, `arm` |
/// | `scorewell_route_arm_rows_total` | counter | `bundle`, `stage`, `arm` |
/// | `scorewell_route_arm_score` | histogram | `bundle`, `stage`, `arm` |
/// | `scorewell_route_shadow_errors_total` | counter | `bundle`, `stage` |
pub fn encode_route_metrics() -> String {
    let stats = route_stats();
    let mut out = String::new();
    if stats.is_empty() {
        return out;
    }
    let labels = |s: &StatsSnapshot| {
        format!(
            "bundle=\"{}\",stage=\"{}\"",
            escape(&s.bundle),
            escape(&s.stage)
        )
    };
    let sets: Vec<&StatsSnapshot> = stats.iter().filter(|s| s.kind == "model_set").collect();
    type Field = fn(&StatsSnapshot) -> u64;
    let per_stage: [(&str, &str, &str, Field); 4] = [
        (
            "route_model_builds",
            "counter",
            "Models of a model set built on first use (again after an eviction)",
            |s| s.builds,
        ),
        (
            "route_model_evictions",
            "counter",
            "Models dropped from a model set's cache to keep it under its memory budget",
            |s| s.evictions,
        ),
        (
            "route_models_cached",
            "gauge",
            "Models of a model set held built now",
            |s| s.cached_models,
        ),
        (
            "route_cache_bytes",
            "gauge",
            "Artifact bytes of the models a model set holds built now (what its budget counts)",
            |s| s.cached_bytes,
        ),
    ];
    for (name, kind, help, get) in per_stage {
        if sets.is_empty() {
            break;
        }
        let _ = writeln!(out, "# HELP scorewell_{name} {help}.");
        let _ = writeln!(out, "# TYPE scorewell_{name} {kind}");
        let suffix = if kind == "counter" { "_total" } else { "" };
        for s in &sets {
            let _ = writeln!(out, "scorewell_{name}{suffix}{{{}}} {}", labels(s), get(s));
        }
    }
    let armed: Vec<&StatsSnapshot> = stats.iter().filter(|s| !s.arms.is_empty()).collect();
    if !armed.is_empty() {
        for (name, help, get) in [
            (
                "route_arm_requests",
                "Batches (requests) with rows sent to each arm of a split or shadow stage",
                (|a: &ArmStats| a.requests) as fn(&ArmStats) -> u64,
            ),
            (
                "route_arm_rows",
                "Rows sent to each arm of a split or shadow stage",
                |a: &ArmStats| a.rows,
            ),
        ] {
            let _ = writeln!(out, "# HELP scorewell_{name} {help}.");
            let _ = writeln!(out, "# TYPE scorewell_{name} counter");
            for s in &armed {
                for (arm, a) in &s.arms {
                    let _ = writeln!(
                        out,
                        "scorewell_{name}_total{{{},arm=\"{}\"}} {}",
                        labels(s),
                        escape(arm),
                        get(a)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP scorewell_route_arm_score Scores written by each arm of a split or shadow stage."
        );
        let _ = writeln!(out, "# TYPE scorewell_route_arm_score histogram");
        for s in &armed {
            for (arm, a) in &s.arms {
                let l = format!("{},arm=\"{}\"", labels(s), escape(arm));
                let mut cumulative = 0;
                for (bound, c) in s.buckets.iter().zip(&a.counts) {
                    cumulative += c;
                    let _ = writeln!(
                        out,
                        "scorewell_route_arm_score_bucket{{{l},le=\"{bound:?}\"}} {cumulative}"
                    );
                }
                let total: u64 = a.counts.iter().sum();
                let _ = writeln!(
                    out,
                    "scorewell_route_arm_score_bucket{{{l},le=\"+Inf\"}} {total}"
                );
                let _ = writeln!(out, "scorewell_route_arm_score_sum{{{l}}} {:?}", a.sum);
                let _ = writeln!(out, "scorewell_route_arm_score_count{{{l}}} {total}");
            }
        }
    }
    let shadows: Vec<&StatsSnapshot> = stats.iter().filter(|s| s.kind == "shadow").collect();
    if !shadows.is_empty() {
        let _ = writeln!(
            out,
            "# HELP scorewell_route_shadow_errors Batches whose shadow model failed (its outputs were left null)."
        );
        let _ = writeln!(out, "# TYPE scorewell_route_shadow_errors counter");
        for s in &shadows {
            let _ = writeln!(
                out,
                "scorewell_route_shadow_errors_total{{{}}} {}",
                labels(s),
                s.shadow_errors
            );
        }
    }
    out
}

/// A label value as OpenMetrics writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
