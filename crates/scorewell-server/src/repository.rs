//! The served models: a name → slot map whose slots each hold the model serving now,
//! swapped atomically when a reload builds a new one.
//!
//! A reload builds the new scorer off to the side (on a blocking thread) and only then swaps
//! it in; requests already holding the old model finish on it. A model that fails to load
//! keeps its old version serving and records the error (logs, metrics, `GET /v1/models/{name}`).
//!
//! Change detection polls: each source's fingerprint (size and modification time of the file,
//! or of every file under a directory) is compared with the last one seen, and only a changed
//! source is re-read; a source whose content digest is unchanged is not rebuilt. A source that
//! changes while it is being read is left for the next poll, so half-written files are never
//! swapped in.
//!
//! A remote source (`s3://…`, `https://…`) is first brought up to date in the local cache with
//! a conditional GET (its ETag); an unchanged object costs one 304 and nothing else, a changed
//! one lands in the cache whole and verified, and the fingerprint of the cached file then
//! drives the same reload as a local file's. A fetch that fails keeps the old version serving.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use arrow_schema::{FieldRef, Schema};
use scorewell::{InputColumn, Scorer};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ServerError};
use crate::metrics::Metrics;

/// A model to serve: its name in URLs and its source (a model file, or a bundle file or
/// directory — whatever [`scorewell::load`] accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name in `/v1/models/{name}`.
    pub name: String,
    /// The source.
    pub path: PathBuf,
}

impl ModelSpec {
    /// A model named `name` loaded from `path`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
        }
    }

    /// A model named after its file stem (`models/fraud.json` → `fraud`;
    /// `s3://b/fraud.zip#sha256=…` → `fraud`).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let file = path
            .to_str()
            .and_then(|s| scorewell::Location::parse(s).ok())
            .and_then(|(l, _)| l.file_name())
            .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let name = Path::new(&file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self { name, path }
    }
}

/// Whether `name` can be used in a URL path segment as is.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// One version of a model, loaded and ready to score.
#[derive(Debug)]
pub struct LoadedModel {
    name: String,
    scorer: Scorer,
    inputs: Vec<InputColumn>,
    input_index: HashMap<String, usize>,
    outputs: Vec<FieldRef>,
    version: String,
    digest: String,
    loaded_at: SystemTime,
    load_duration: Duration,
    /// The schema of the last request batch, reused when the next request has the same
    /// columns so the scorer sees the same `Arc` and skips re-binding.
    pub(crate) last_schema: ArcSwapOption<Schema>,
}

impl LoadedModel {
    fn new(
        name: &str,
        scorer: Scorer,
        version: String,
        digest: String,
        load_duration: Duration,
    ) -> Self {
        let inputs = scorer.inputs();
        let input_index = inputs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let pipeline = scorer.pipeline();
        let produced: Vec<FieldRef> = pipeline
            .stages()
            .iter()
            .flat_map(|s| s.output_fields())
            .collect();
        let outputs = match pipeline.selected_outputs() {
            None => produced,
            Some(names) => names
                .iter()
                .filter_map(|n| produced.iter().find(|f| f.name() == n).cloned())
                .collect(),
        };
        Self {
            name: name.to_string(),
            scorer,
            inputs,
            input_index,
            outputs,
            version,
            digest,
            loaded_at: SystemTime::now(),
            load_duration,
            last_schema: ArcSwapOption::empty(),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The scorer.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }
    /// The columns the model reads.
    pub fn inputs(&self) -> &[InputColumn] {
        &self.inputs
    }
    /// The position of input `name` in [`LoadedModel::inputs`].
    pub fn input_position(&self, name: &str) -> Option<usize> {
        self.input_index.get(name).copied()
    }
    /// The columns scoring appends.
    pub fn outputs(&self) -> &[FieldRef] {
        &self.outputs
    }
    /// The load generation: `1` for the first load, incremented by every successful reload.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The sha256 of the source (hex); for a directory, of its files' paths and contents.
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// When this version was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }
    /// How long loading took.
    pub fn load_duration(&self) -> Duration {
        self.load_duration
    }
}

/// A failed load attempt.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    /// What the loader said.
    pub message: String,
    /// When.
    pub at: SystemTime,
}

type Fingerprint = Result<Vec<(PathBuf, u64, Option<SystemTime>)>, String>;

/// A served name: the version serving now, if any, and the last load error.
#[derive(Debug)]
pub struct ModelSlot {
    name: String,
    path: PathBuf,
    current: ArcSwapOption<LoadedModel>,
    last_error: ArcSwapOption<LoadFailure>,
    seen: Mutex<Option<Fingerprint>>,
    generation: AtomicU64,
}

/// What a reload did to one model.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// The model.
    pub name: String,
    /// `loaded` (a new version is serving), `unchanged`, `failed` (the old version, if any,
    /// keeps serving), `pending` (the source changed while it was read; retried at the next
    /// poll) or `removed` (its source left the repository folder).
    pub status: &'static str,
    /// The version serving after the reload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The load error, for `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ModelSlot {
    fn new(spec: &ModelSpec) -> Self {
        Self {
            name: spec.name.clone(),
            path: spec.path.clone(),
            current: ArcSwapOption::empty(),
            last_error: ArcSwapOption::empty(),
            seen: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The source.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The version serving now.
    pub fn current(&self) -> Option<Arc<LoadedModel>> {
        self.current.load_full()
    }
    /// The last load error, cleared by a successful load.
    pub fn last_error(&self) -> Option<Arc<LoadFailure>> {
        self.last_error.load_full()
    }

    fn outcome(&self, status: &'static str, error: Option<String>) -> ReloadOutcome {
        ReloadOutcome {
            name: self.name.clone(),
            status,
            version: self.current.load().as_ref().map(|m| m.version.clone()),
            error,
        }
    }

    fn fail(&self, message: String, metrics: &Metrics) -> ReloadOutcome {
        tracing::error!(
            model = %self.name,
            path = %self.path.display(),
            error = %message,
            "model failed to load; the previous version (if any) keeps serving"
        );
        self.last_error.store(Some(Arc::new(LoadFailure {
            message: message.clone(),
            at: SystemTime::now(),
        })));
        metrics.load_failed(&self.name);
        self.outcome("failed", Some(message))
    }

    /// Load the source if it changed since the last look; swap the new version in.
    fn refresh(&self, metrics: &Metrics, fetch: &scorewell::FetchOptions) -> ReloadOutcome {
        // A local path comes back as is; a URL is revalidated (304) or fetched into the cache.
        let local = match scorewell::resolve(&self.path, fetch) {
            Ok(p) => p,
            Err(e) => return self.fail(e.to_string(), metrics),
        };
        let before = fingerprint(&local);
        let remember = |fp: Fingerprint| {
            if let Ok(mut seen) = self.seen.lock() {
                *seen = Some(fp);
            }
        };
        if self
            .seen
            .lock()
            .is_ok_and(|seen| seen.as_ref() == Some(&before))
        {
            return self.outcome("unchanged", None);
        }
        if let Err(e) = &before {
            let out = self.fail(e.clone(), metrics);
            remember(before);
            return out;
        }
        // One read: the digest, the scorer and a bundle's version all come from these bytes.
        let source = match Source::read(&local) {
            Ok(s) => s,
            Err(e) => return self.fail(e, metrics),
        };
        let digest = source.digest();
        if self
            .current
            .load()
            .as_ref()
            .is_some_and(|m| m.digest == digest)
        {
            remember(before);
            return self.outcome("unchanged", None);
        }
        let started = Instant::now();
        let shown = &self.path;
        let result = std::panic::catch_unwind(|| source.build(&local, shown));
        let took = started.elapsed();
        if fingerprint(&local) != before {
            tracing::info!(model = %self.name, "model source changed while loading; will retry");
            return self.outcome("pending", None);
        }
        remember(before);
        let (scorer, bundle_version) = match result {
            Ok(Ok(built)) => built,
            Ok(Err(e)) => return self.fail(e, metrics),
            Err(_) => return self.fail("the model loader panicked".into(), metrics),
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        // A bundle names its own version; a bare model file is numbered by loads.
        let version = bundle_version.unwrap_or_else(|| generation.to_string());
        let model = LoadedModel::new(&self.name, scorer, version.clone(), digest, took);
        metrics.loaded(&self.name, &version, &model.digest, took);
        tracing::info!(
            model = %self.name,
            path = %self.path.display(),
            version = %version,
            digest = %model.digest,
            load_ms = took.as_secs_f64() * 1e3,
            "model loaded"
        );
        self.current.store(Some(Arc::new(model)));
        self.last_error.store(None);
        self.outcome("loaded", None)
    }
}

/// The models a server serves.
#[derive(Debug)]
pub struct Repository {
    explicit: Vec<ModelSpec>,
    folder: Option<PathBuf>,
    models: ArcSwap<BTreeMap<String, Arc<ModelSlot>>>,
    metrics: Metrics,
    /// Reloads (the poller's and `/admin/reload`'s) run one at a time.
    reloading: Mutex<()>,
    /// How remote sources are fetched.
    fetch: scorewell::FetchOptions,
}

impl Repository {
    /// Load `explicit` models (each must load) and every model in `folder` (one that fails is
    /// listed with its error and served once it loads).
    pub fn open(explicit: Vec<ModelSpec>, folder: Option<PathBuf>) -> Result<Self, ServerError> {
        Self::open_with(explicit, folder, scorewell::FetchOptions::default())
    }

    /// [`Repository::open`] with how remote sources (URLs) are fetched: timeouts, retries, the
    /// cache folder. A source's own `#sha256=` pin is always checked.
    pub fn open_with(
        explicit: Vec<ModelSpec>,
        folder: Option<PathBuf>,
        fetch: scorewell::FetchOptions,
    ) -> Result<Self, ServerError> {
        if explicit.is_empty() && folder.is_none() {
            return Err(ServerError::NoModels);
        }
        let mut seen: HashMap<&str, &Path> = HashMap::new();
        for spec in &explicit {
            if !valid_name(&spec.name) {
                return Err(ServerError::BadName {
                    name: spec.name.clone(),
                });
            }
            if let Some(first) = seen.insert(&spec.name, &spec.path) {
                return Err(ServerError::DuplicateName {
                    name: spec.name.clone(),
                    first: first.to_path_buf(),
                    second: spec.path.clone(),
                });
            }
        }
        if let Some(dir) = &folder {
            std::fs::read_dir(dir).map_err(|source| ServerError::Repository {
                path: dir.clone(),
                source,
            })?;
        }
        let repo = Self {
            explicit,
            folder,
            models: ArcSwap::from_pointee(BTreeMap::new()),
            metrics: Metrics::new(),
            reloading: Mutex::new(()),
            fetch,
        };
        repo.reload();
        for spec in &repo.explicit {
            let slot = repo.slot(&spec.name);
            // A source being rewritten right now gets a few chances to settle.
            for _ in 0..20 {
                if slot.as_ref().is_none_or(|s| s.current().is_some()) {
                    break;
                }
                let status = slot
                    .as_ref()
                    .map(|s| s.refresh(&repo.metrics, &repo.fetch).status);
                if status != Some("pending") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            match slot {
                Some(s) if s.current().is_some() => {}
                _ => {
                    let message = slot
                        .and_then(|s| s.last_error())
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "the source kept changing while it was read".into());
                    return Err(ServerError::Load {
                        name: spec.name.clone(),
                        path: spec.path.clone(),
                        message,
                    });
                }
            }
        }
        Ok(repo)
    }

    /// The metrics (load metrics are recorded here; the server adds request metrics).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The slot named `name`.
    pub fn slot(&self, name: &str) -> Option<Arc<ModelSlot>> {
        self.models.load().get(name).cloned()
    }

    /// The served names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.models.load().keys().cloned().collect()
    }

    /// Every slot, by name.
    pub fn slots(&self) -> Vec<Arc<ModelSlot>> {
        self.models.load().values().cloned().collect()
    }

    /// The version of `name` serving now, or the error a request for it gets.
    pub fn model(&self, name: &str) -> Result<Arc<LoadedModel>, ApiError> {
        let models = self.models.load();
        let Some(slot) = models.get(name) else {
            let mut available: Vec<&str> = models.keys().map(String::as_str).collect();
            available.truncate(20);
            return Err(ApiError::UnknownModel {
                name: name.to_string(),
                available: if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                },
            });
        };
        slot.current().ok_or_else(|| ApiError::ModelUnavailable {
            name: name.to_string(),
            reason: slot
                .last_error()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "not loaded yet".into()),
        })
    }

    /// Whether every model has a version serving.
    pub fn all_ready(&self) -> bool {
        self.models.load().values().all(|s| s.current().is_some())
    }

    /// Rescan the repository folder (adding and removing models) and reload every model whose
    /// source changed. Blocking: call it from a blocking thread.
    pub fn reload(&self) -> Vec<ReloadOutcome> {
        let _one_at_a_time = self.reloading.lock();
        let mut wanted = self.explicit.clone();
        if let Some(dir) = &self.folder {
            match scan_folder(dir) {
                Ok(found) => {
                    for spec in found {
                        if wanted.iter().any(|w| w.name == spec.name) {
                            tracing::warn!(
                                model = %spec.name,
                                path = %spec.path.display(),
                                "ignoring a repository entry whose name is already taken"
                            );
                        } else {
                            wanted.push(spec);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(
                        path = %dir.display(),
                        error = %e,
                        "cannot list the model repository; keeping the models loaded now"
                    );
                    wanted.extend(
                        self.models
                            .load()
                            .values()
                            .filter(|s| !self.explicit.iter().any(|e| e.name == s.name))
                            .map(|s| ModelSpec::new(s.name.clone(), s.path.clone())),
                    );
                }
            }
        }
        let old = self.models.load_full();
        let mut outcomes = Vec::new();
        let mut next = BTreeMap::new();
        for spec in &wanted {
            let slot = match old.get(&spec.name) {
                Some(s) if s.path == spec.path => s.clone(),
                _ => Arc::new(ModelSlot::new(spec)),
            };
            next.insert(spec.name.clone(), slot);
        }
        for (name, slot) in old.iter() {
            if !next.contains_key(name) {
                tracing::info!(model = %name, path = %slot.path.display(), "model removed");
                self.metrics.unloaded(name);
                outcomes.push(ReloadOutcome {
                    name: name.clone(),
                    status: "removed",
                    version: None,
                    error: None,
                });
            }
        }
        // New slots are loaded before they are published, so a name never answers 503 just
        // because its file appeared a moment ago.
        for slot in next.values() {
            if !old.get(&slot.name).is_some_and(|o| Arc::ptr_eq(o, slot)) {
                outcomes.push(slot.refresh(&self.metrics, &self.fetch));
            }
        }
        self.models.store(Arc::new(next.clone()));
        for slot in next.values() {
            if old.get(&slot.name).is_some_and(|o| Arc::ptr_eq(o, slot)) {
                outcomes.push(slot.refresh(&self.metrics, &self.fetch));
            }
        }
        outcomes.sort_by(|a, b| a.name.cmp(&b.name));
        drop(old);
        if outcomes.iter().any(|o| o.status != "unchanged") {
            // Old versions were just freed (or will be by the requests still holding them,
            // which the next reload's trim covers): see `memory`.
            crate::memory::release_freed();
        }
        outcomes
    }
}

/// Poll for changed sources every `every` until the task is aborted.
pub(crate) async fn watch(app: crate::App, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let a = app.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || a.repository().reload()).await {
            tracing::error!(error = %e, "model reload task failed");
        }
    }
}

/// Entries directly inside `dir` that are models: everything but hidden and temporary files.
fn scan_folder(dir: &Path) -> std::io::Result<Vec<ModelSpec>> {
    let mut found: Vec<ModelSpec> = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_temporary(file) {
            continue;
        }
        let spec = ModelSpec::from_path(&path);
        if !valid_name(&spec.name) {
            tracing::warn!(path = %path.display(), "skipping a repository entry whose name cannot be a URL segment");
            continue;
        }
        if found.iter().any(|f| f.name == spec.name) {
            tracing::warn!(
                model = %spec.name,
                path = %path.display(),
                "skipping a repository entry with the same name as an earlier one"
            );
            continue;
        }
        found.push(spec);
    }
    Ok(found)
}

/// Hidden files, editor backups and the partial files of downloads and atomic writes.
fn is_temporary(file: &str) -> bool {
    const SUFFIXES: [&str; 7] = [
        "~",
        ".tmp",
        ".temp",
        ".swp",
        ".part",
        ".partial",
        ".crdownload",
    ];
    file.starts_with('.')
        || file.starts_with('#')
        || SUFFIXES
            .iter()
            .any(|s| file.to_ascii_lowercase().ends_with(s))
}

/// Every file under `path` (itself if it is a file), with its path relative to `path`.
fn files_under(path: &Path) -> std::io::Result<Vec<(PathBuf, std::fs::Metadata)>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(vec![(PathBuf::new(), meta)]);
    }
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(path.join(&rel))? {
            let entry = entry?;
            let child = rel.join(entry.file_name());
            let meta = std::fs::metadata(entry.path())?;
            if meta.is_dir() {
                stack.push(child);
            } else {
                out.push((child, meta));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn fingerprint(path: &Path) -> Fingerprint {
    files_under(path)
        .map(|files| {
            files
                .into_iter()
                .map(|(rel, m)| (rel, m.len(), m.modified().ok()))
                .collect()
        })
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A model source read into memory once: a file's bytes, or every file of a directory.
#[derive(Debug)]
enum Source {
    /// A model file or a zipped bundle.
    File(Vec<u8>),
    /// A bundle directory or a saved Spark ML folder: `/`-separated relative paths (sorted)
    /// to contents.
    Dir(BTreeMap<String, Arc<[u8]>>),
}

impl Source {
    /// Read `path`. A directory is read whole (symbolic links refused), within the bundle
    /// size limits, since it is about to be held in memory.
    fn read(path: &Path) -> Result<Self, String> {
        let err = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let meta = std::fs::metadata(path).map_err(err)?;
        if !meta.is_dir() {
            return std::fs::read(path).map(Source::File).map_err(err);
        }
        let limits = scorewell::bundle::Limits::default();
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            for entry in std::fs::read_dir(path.join(&rel)).map_err(err)? {
                let entry = entry.map_err(err)?;
                let child = rel.join(entry.file_name());
                let kind = entry.file_type().map_err(err)?;
                let name = child.to_string_lossy().replace('\\', "/");
                if kind.is_symlink() {
                    return Err(format!(
                        "{}: `{name}` is a symbolic link, which model folders may not hold",
                        path.display()
                    ));
                }
                if kind.is_dir() {
                    stack.push(child);
                    continue;
                }
                let bytes = std::fs::read(entry.path()).map_err(err)?;
                total += bytes.len() as u64;
                if total > limits.max_total_bytes {
                    return Err(format!(
                        "{}: the folder holds more than {} bytes (the bundle size limit)",
                        path.display(),
                        limits.max_total_bytes
                    ));
                }
                files.insert(name, Arc::from(bytes));
            }
        }
        Ok(Source::Dir(files))
    }

    /// sha256 of a file, or of a directory's relative paths and contents in path order.
    fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        match self {
            Source::File(bytes) => hasher.update(bytes),
            Source::Dir(files) => {
                for (name, bytes) in files {
                    hasher.update(name.as_bytes());
                    hasher.update([0]);
                    hasher.update(bytes);
                }
            }
        }
        format!("{:x}", hasher.finalize())
    }

    /// Build the scorer, and the bundle's own version when the source is a bundle. `path`
    /// (the local file, a cached copy for a URL) gives a model file's name for format
    /// detection; `shown` (what the user gave) names the source in errors.
    fn build(&self, path: &Path, shown: &Path) -> Result<(Scorer, Option<String>), String> {
        let at = |e: &dyn std::fmt::Display| format!("{}: {e}", shown.display());
        match self {
            Source::File(bytes) if bytes.starts_with(scorewell::bundle::ZIP_MAGIC) => {
                let bundle = scorewell::Bundle::from_bytes(bytes).map_err(|e| at(&e))?;
                let scorer = bundle.scorer().map_err(|e| at(&e))?;
                Ok((scorer, Some(bundle.manifest().version.clone())))
            }
            Source::File(bytes) => {
                let file_name = path.file_name().and_then(|n| n.to_str());
                let options = scorewell::LoadOptions::default();
                scorewell::load_bytes(bytes, file_name, &options)
                    .map(|scorer| (scorer, None))
                    .map_err(|e| match e {
                        scorewell::Error::Model { source, .. } => at(&source),
                        other => at(&other),
                    })
            }
            Source::Dir(files) if files.contains_key(scorewell::bundle::MANIFEST_FILE) => {
                let bundle = scorewell::Bundle::from_entries(files.clone()).map_err(|e| at(&e))?;
                let scorer = bundle.scorer().map_err(|e| at(&e))?;
                Ok((scorer, Some(bundle.manifest().version.clone())))
            }
            Source::Dir(files) if files.keys().any(|k| k.starts_with("metadata/part-")) => {
                let root = path
                    .file_name()
                    .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
                let files = files
                    .iter()
                    .map(|(k, v)| (format!("{root}/{k}"), v.clone()))
                    .collect();
                let stages = scorewell::spark::load_files(&root, files).map_err(|e| at(&e))?;
                let pipeline = stages
                    .into_iter()
                    .fold(scorewell::Pipeline::new(), |p, s| p.push(s));
                Ok((Scorer::new(pipeline), None))
            }
            Source::Dir(_) => Err(at(&format!(
                "a folder that is neither a bundle (no {}) nor a saved Spark ML model (no metadata/)",
                scorewell::bundle::MANIFEST_FILE
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_temporary_files() {
        assert!(valid_name("fraud-3.v2_x"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
        for t in [
            ".model.json",
            "m.json~",
            "m.json.tmp",
            "#m#",
            "m.SWP",
            "m.part",
        ] {
            assert!(is_temporary(t), "{t}");
        }
        assert!(!is_temporary("fraud.json"));
        assert_eq!(ModelSpec::from_path("/x/fraud-3.zip").name, "fraud-3");
    }

    #[test]
    fn digest_of_a_file_is_its_sha256() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.txt");
        std::fs::write(&p, b"abc").expect("write");
        let digest = |p: &Path| Source::read(p).expect("read").digest();
        assert_eq!(
            digest(&p),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A directory's digest covers its files' names too.
        std::fs::write(dir.path().join("n.txt"), b"abc").expect("write");
        assert_ne!(digest(dir.path()), digest(&p));
    }

    const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

    /// Read the source, delete it, then build: the digest, the scorer and the version all
    /// come from the one read.
    fn build_after_delete(path: &Path) -> (String, Scorer, Option<String>) {
        let source = Source::read(path).expect("read");
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("rm");
        } else {
            std::fs::remove_file(path).expect("rm");
        }
        let (scorer, version) = source.build(path, path).expect("build");
        (source.digest(), scorer, version)
    }

    #[test]
    fn a_reload_reads_its_source_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = dir.path().join("m.txt");
        std::fs::write(&model, STUMP).expect("write");
        let bundle = scorewell::bundle::create(&scorewell::bundle::CreateOptions {
            name: "b".into(),
            version: "7".into(),
            models: vec![model.clone()],
            created_at: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .expect("bundle");
        let zip = dir.path().join("b.zip");
        bundle.write(&zip).expect("write zip");
        let folder = dir.path().join("b");
        bundle.write(&folder).expect("write folder");
        let zip_bytes = std::fs::read(&zip).expect("read");

        let (digest, scorer, version) = build_after_delete(&zip);
        assert_eq!(digest, format!("{:x}", Sha256::digest(&zip_bytes)));
        assert_eq!((scorer.inputs().len(), version.as_deref()), (1, Some("7")));
        let (_, scorer, version) = build_after_delete(&folder);
        assert_eq!((scorer.inputs().len(), version.as_deref()), (1, Some("7")));
        let (digest, scorer, version) = build_after_delete(&model);
        assert_eq!(digest, format!("{:x}", Sha256::digest(STUMP)));
        assert_eq!((scorer.inputs().len(), version), (1, None));
    }

    #[test]
    fn a_spark_folder_builds_from_memory_and_other_folders_are_named() {
        let case = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/spark/cases/spark_4_3_mixed_gbt/model");
        let source = Source::read(&case).expect("read");
        let (from_memory, version) = source.build(&case, &case).expect("build");
        assert_eq!(version, None);
        let from_disk = scorewell::load(&case).expect("load");
        assert_eq!(from_memory.inputs(), from_disk.inputs());

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("notes.txt"), b"hi").expect("write");
        let err = Source::read(dir.path())
            .expect("read")
            .build(dir.path(), dir.path())
            .expect_err("not a model");
        assert!(err.contains("neither a bundle"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_with_a_symbolic_link_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("f");
        std::fs::create_dir_all(folder.join("models")).expect("mkdir");
        std::os::unix::fs::symlink("/etc/hostname", folder.join("models/m.txt")).expect("ln");
        let err = Source::read(&folder).expect_err("symlink");
        assert!(err.contains("`models/m.txt` is a symbolic link"), "{err}");
    }
}
