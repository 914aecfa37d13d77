//! scorewell: load the model files people already have and score them natively.
//!
//! ```no_run
//! # fn main() -> Result<(), scorewell::Error> {
//! let scorer = scorewell::load("model.json")?;           // XGBoost JSON/UBJSON, LightGBM text, bundles, Spark ML folders
//! let remote = scorewell::load("s3://models/fraud-3.zip")?; // with the `remote` feature: s3, gs, az, http(s)
//! # let batch: scorewell::arrow_array::RecordBatch = unimplemented!();
//! let scored = scorer.score(&batch)?;                     // input columns + `prediction`
//! # Ok(()) }
//! ```
//!
//! Every surface (the CLI, the server, the Python package) goes through [`Scorer::score`].
#![warn(missing_docs)]

mod lazy;
mod onnx_format;
mod task;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use lazy::{LazyScorer, lazy_builds};
pub use scorewell_bundle as bundle;
pub use scorewell_bundle::{Bundle, BundleError};
pub use scorewell_core::vector;
pub use scorewell_core::{
    Binding, BoundScorer, FeatureKind, FeatureSpec, ForestModel, ForestStage, InputColumn,
    ModelInfo, NnStage, OutputMode, Pipeline, ScoreError, Scorer, Stage,
};
pub use scorewell_forest as forest;
pub use scorewell_formats::{FORMATS, Format, FormatError};
#[cfg(feature = "keras")]
pub use scorewell_keras as keras;
pub use scorewell_neighbors as neighbors;
#[cfg(feature = "onnx")]
pub use scorewell_onnx as onnx;
#[cfg(feature = "sklearn")]
pub use scorewell_sklearn as sklearn;
pub use scorewell_source as source;
pub use scorewell_source::{FetchOptions, Location, Sha256Pin, SourceError};
pub use scorewell_spark as spark;
pub use task::{ModelTask, model_task};
/// The Arrow crates scorewell's API speaks, re-exported so callers use the same versions.
pub use {arrow_array, arrow_schema};

/// Anything that can go wrong loading a model or scoring with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The model file could not be parsed or is unsupported.
    #[error("{path}: {source}")]
    Model {
        /// The file (or `<bytes>`).
        path: PathBuf,
        /// What the frontend said.
        #[source]
        source: FormatError,
    },
    /// A bundle could not be read, verified or built.
    #[error("{path}: {source}")]
    Bundle {
        /// The bundle (or `<bytes>`).
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: Box<BundleError>,
    },
    /// An option that applies to bare model files was given for a bundle.
    #[error("{0}")]
    BundleOption(String),
    /// Building the scorer or scoring failed.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// A saved Spark ML model folder could not be read or built.
    #[error(transparent)]
    Spark(#[from] Box<scorewell_spark::SparkError>),
    /// An Annoy index could not be read, or its options are missing.
    #[error(transparent)]
    Neighbors(#[from] scorewell_neighbors::Error),
    /// A Keras model could not be loaded.
    #[cfg(feature = "keras")]
    #[error("{path}: {source}")]
    Keras {
        /// The file (or `<bytes>`).
        path: PathBuf,
        /// What the Keras frontend found.
        source: Box<scorewell_keras::KerasError>,
    },
    /// An ONNX model could not be loaded (or was refused).
    #[cfg(feature = "onnx")]
    #[error("{path}: {source}")]
    Onnx {
        /// The file (or `<bytes>`).
        path: PathBuf,
        /// What the ONNX loader found.
        source: Box<scorewell_onnx::OnnxError>,
    },
    /// An ONNX model was given to a build without the `onnx` feature.
    #[error("{path}: ONNX models need scorewell built with the `onnx` cargo feature")]
    OnnxDisabled {
        /// The file (or `<bytes>`).
        path: PathBuf,
    },
    /// A scikit-learn file could not be loaded (or was refused).
    #[cfg(feature = "sklearn")]
    #[error("{path}: {source}")]
    Sklearn {
        /// The file (or `<bytes>`).
        path: PathBuf,
        /// What the scikit-learn frontend found.
        source: Box<scorewell_sklearn::SklearnError>,
    },
    /// A model location could not be fetched or failed its sha256 pin.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// An unknown `format` was requested.
    #[error("unknown model format `{name}` (supported: {supported})")]
    UnknownFormat {
        /// The requested name.
        name: String,
        /// The supported names.
        supported: String,
    },
}

impl Error {
    /// The same error naming `shown` (what the user gave, e.g. a URL) instead of the local
    /// file it was read from (a cached download).
    fn naming(self, shown: &Path) -> Self {
        let shown = shown.to_path_buf();
        match self {
            Error::Io { source, .. } => Error::Io {
                path: shown,
                source,
            },
            Error::Model { source, .. } => Error::Model {
                path: shown,
                source,
            },
            Error::Bundle { source, .. } => Error::Bundle {
                path: shown,
                source,
            },
            #[cfg(feature = "keras")]
            Error::Keras { source, .. } => Error::Keras {
                path: shown,
                source,
            },
            #[cfg(feature = "sklearn")]
            Error::Sklearn { source, .. } => Error::Sklearn {
                path: shown,
                source,
            },
            #[cfg(feature = "onnx")]
            Error::Onnx { source, .. } => Error::Onnx {
                path: shown,
                source,
            },
            Error::OnnxDisabled { .. } => Error::OnnxDisabled { path: shown },
            other => other,
        }
    }
}

/// Run `load` on the local copy of `given`; its errors name `given`.
fn with_local<T>(
    given: &Path,
    fetch: &FetchOptions,
    load: impl FnOnce(&Path) -> Result<T, Error>,
) -> Result<T, Error> {
    let local = resolve(given, fetch)?;
    load(&local).map_err(|e| if local == given { e } else { e.naming(given) })
}

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Predictions (default) or raw margins.
    pub mode: OutputMode,
    /// Force a format by name (see [`FORMATS`]) instead of detecting it.
    pub format: Option<String>,
    /// How to open and query an Annoy index (`.ann`): the file records neither its metric nor
    /// its dimension, so they must be given.
    pub neighbors: Option<NeighborOptions>,
    /// How a remote location (or a pinned one) is fetched and verified.
    pub fetch: FetchOptions,
    /// The weights file of a Keras architecture JSON (`model.to_json()`): Keras 3
    /// `.weights.h5` or Keras 2 `save_weights` output. Given, the model path is read as that
    /// JSON.
    pub weights: Option<PathBuf>,
}

/// Make `path` local: a URL (`s3://…`, `https://…`) is fetched into the cache and a
/// `#sha256=` pin (or [`FetchOptions::sha256`]) is checked before anything parses the bytes.
/// A plain path without a pin is returned as is, untouched.
pub fn resolve(path: &Path, fetch: &FetchOptions) -> Result<PathBuf, Error> {
    let Some(spec) = path.to_str() else {
        return Ok(path.to_path_buf());
    };
    let (location, pin) = Location::parse(spec)?;
    match location {
        Location::Local(local) if pin.is_none() && fetch.sha256.is_none() => Ok(local),
        _ => Ok(scorewell_source::resolve(spec, fetch)?.path),
    }
}

/// How to open and query a bare Annoy index file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NeighborOptions {
    /// The metric the index was built with.
    pub metric: neighbors::Metric,
    /// The vector dimension it was built with.
    pub dims: usize,
    /// Neighbours returned per row.
    pub k: usize,
    /// annoy's `search_k` (`-1`: `k × trees`).
    pub search_k: i64,
    /// The input's vector column (`None`: its one vector column).
    pub query_column: Option<String>,
}

/// True when `file_name` names an Annoy index (`.ann`).
fn is_annoy(file_name: Option<&str>) -> bool {
    file_name.is_some_and(|n| n.ends_with(".ann"))
}

/// A scorer with one nearest-neighbour stage over `index`.
fn neighbors_scorer(index: neighbors::AnnoyIndex, options: &NeighborOptions) -> Scorer {
    let mut stage = neighbors::StageOptions::new(options.query_column.clone(), options.k);
    stage.search_k = options.search_k;
    let stage = neighbors::NeighborsStage::new("annoy", Arc::new(index), stage);
    Scorer::new(Pipeline::new().push(Arc::new(stage)))
}

fn annoy_options<'a>(options: &'a LoadOptions, name: &str) -> Result<&'a NeighborOptions, Error> {
    if options.mode == OutputMode::Margin || options.format.is_some() {
        return Err(Error::BundleOption(format!(
            "{name}: an Annoy index has no margins or model format; give its metric and dimension"
        )));
    }
    options.neighbors.as_ref().ok_or_else(|| {
        Error::BundleOption(format!(
            "{name}: an Annoy index records neither its metric nor its dimension; give them (--metric, --dims)"
        ))
    })
}

/// Read and parse a model file.
pub fn load_model(path: impl AsRef<Path>, format: Option<&str>) -> Result<ForestModel, Error> {
    with_local(path.as_ref(), &FetchOptions::default(), |p| {
        load_local_model(p, format)
    })
}

fn load_local_model(path: &Path, format: Option<&str>) -> Result<ForestModel, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.file_name().and_then(|n| n.to_str());
    parse_model(&bytes, name, format).map_err(|e| match e {
        Error::Model { source, .. } => Error::Model {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

fn parse_model(
    bytes: &[u8],
    file_name: Option<&str>,
    format: Option<&str>,
) -> Result<ForestModel, Error> {
    let model = match format {
        Some(name) => {
            let f = scorewell_formats::format_named(name).ok_or_else(|| Error::UnknownFormat {
                name: name.to_string(),
                supported: scorewell_formats::supported(),
            })?;
            (f.load)(bytes)
        }
        None => scorewell_formats::load(bytes, file_name),
    };
    model.map_err(|source| Error::Model {
        path: PathBuf::from(file_name.unwrap_or("<bytes>")),
        source,
    })
}

/// Build a scorer for a loaded model.
pub fn scorer_for(model: ForestModel, mode: OutputMode) -> Result<Scorer, Error> {
    let name = model.info.format.clone();
    let stage = ForestStage::new(name, Arc::new(model), mode)?;
    Ok(Scorer::new(Pipeline::new().push(Arc::new(stage))))
}

/// Load a model file or a bundle (directory or zip) into a scorer.
pub fn load(path: impl AsRef<Path>) -> Result<Scorer, Error> {
    load_with(path, &LoadOptions::default())
}

/// Load a model file or a bundle with options.
///
/// `path` may also be a URL (see [`resolve`]).
pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Scorer, Error> {
    with_local(path.as_ref(), &options.fetch, |p| load_local(p, options))
}

fn load_local(path: &Path, options: &LoadOptions) -> Result<Scorer, Error> {
    if onnx_format::wants_onnx(options, path.to_str()) {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        return onnx_format::onnx_scorer(&bytes, path, options);
    }
    // Before the bundle check: a `.keras` archive is a zip too.
    #[cfg(feature = "keras")]
    if let Some(model) = keras_model_at(path, options)? {
        return Ok(nn_scorer(model));
    }
    #[cfg(not(feature = "keras"))]
    if options.weights.is_some() {
        return Err(Error::BundleOption(format!(
            "{}: a weights file goes with a Keras architecture JSON, and this build has no Keras support (feature `keras`)",
            path.display()
        )));
    }
    #[cfg(feature = "sklearn")]
    if options.format.is_none() && has_sklearn_extension(path.to_str()) {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        return sklearn_scorer(&bytes, path, options);
    }
    if scorewell_bundle::is_bundle(path) {
        bundle_options(options)?;
        let in_bundle = |source| Error::Bundle {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        return Bundle::open(path)
            .and_then(|b| b.scorer())
            .map_err(in_bundle);
    }
    if scorewell_spark::is_spark_model(path) {
        return scorewell_spark::load(path).map_err(|e| Error::Spark(Box::new(e)));
    }
    let name = path.file_name().and_then(|n| n.to_str());
    if is_annoy(name) || options.neighbors.is_some() {
        let o = annoy_options(options, &path.display().to_string())?;
        let index = neighbors::AnnoyIndex::open(path, o.metric, o.dims)?;
        return Ok(neighbors_scorer(index, o));
    }
    let model = load_model(path, options.format.as_deref())?;
    scorer_for(model, options.mode)
}

/// The Keras model at `path`, when it is one: a `.keras` archive, a folder holding one
/// architecture JSON and one weights file, or an architecture JSON given with
/// [`LoadOptions::weights`]. `None` when `path` is something else.
#[cfg(feature = "keras")]
pub fn keras_model_at(
    path: &Path,
    options: &LoadOptions,
) -> Result<Option<scorewell_keras::KerasModel>, Error> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let named = |e| Error::Keras {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    // Which files make the model, decided before anything is read.
    let (architecture, weights) = if let Some(weights) = &options.weights {
        (path.to_path_buf(), Some(weights.clone()))
    } else if options.format.is_some() {
        return Ok(None);
    } else if has_keras_extension(path.to_str()) {
        (path.to_path_buf(), None)
    } else if let Some((json, weights)) = keras_folder(path) {
        (json, Some(weights))
    } else if looks_like_keras_json(path) {
        return Err(Error::BundleOption(format!(
            "{}: a Keras architecture JSON (`model.to_json()`) needs its weights file: give it with --weights (Python: weights=), or put both in one folder",
            path.display()
        )));
    } else {
        return Ok(None);
    };
    if options.mode == OutputMode::Margin || options.neighbors.is_some() {
        return Err(Error::BundleOption(format!(
            "{}: a Keras model has no margins or Annoy options",
            path.display()
        )));
    }
    let model = match weights {
        Some(w) => scorewell_keras::load_json_and_weights(&read(&architecture)?, &read(&w)?),
        None => keras_model(&read(&architecture)?),
    };
    model.map(Some).map_err(named)
}

/// Packs a Keras architecture JSON (`model.to_json()`) and its weights file into one `.keras`
/// archive's bytes, so the pair travels as one blob (pickles, Spark broadcasts) and loads
/// with [`load_bytes`] under any name ending in `.keras`.
#[cfg(feature = "keras")]
pub fn keras_archive(json: &[u8], weights: &[u8]) -> Result<Vec<u8>, Error> {
    scorewell_keras::archive_from_parts(json, weights).map_err(|e| Error::Keras {
        path: PathBuf::from("<architecture JSON>"),
        source: Box::new(e),
    })
}

/// A `.json` file that starts like `model.to_json()` output: its first kilobytes name a
/// `class_name` (XGBoost's JSON starts with `learner`/`version`). Only a prefix is read: tree
/// models in JSON can be hundreds of megabytes.
#[cfg(feature = "keras")]
fn looks_like_keras_json(path: &Path) -> bool {
    use std::io::Read;
    if path
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("json"))
    {
        return false;
    }
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    read.is_ok() && head.windows(12).any(|w| w == b"\"class_name\"")
}

/// A `.keras` file name (checked before the zip magic, since a `.keras` archive is a zip too
/// and would otherwise be taken for a bundle), or a `.h5`/`.hdf5` one (a legacy whole-model
/// Keras file; HDF5 is no other format scorewell reads).
#[cfg(feature = "keras")]
fn has_keras_extension(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(".keras") || n.ends_with(".h5") || n.ends_with(".hdf5")
    })
}

/// A `.keras` archive's or a whole-model `.h5` file's bytes, told apart by the HDF5 magic.
#[cfg(feature = "keras")]
fn keras_model(bytes: &[u8]) -> Result<scorewell_keras::KerasModel, scorewell_keras::KerasError> {
    if bytes.starts_with(scorewell_keras::HDF5_MAGIC) {
        scorewell_keras::load_h5(bytes)
    } else {
        scorewell_keras::load_keras(bytes)
    }
}

/// A scorer with one Keras model stage for a `.keras` archive's or a whole-model `.h5`
/// file's bytes.
#[cfg(feature = "keras")]
fn keras_scorer(bytes: &[u8], path: &Path) -> Result<Scorer, Error> {
    let model = keras_model(bytes).map_err(|e| Error::Keras {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(nn_scorer(model))
}

/// A `.joblib`, `.pkl` or `.pickle` file name (checked first: a pickle has no magic bytes,
/// and a compressed joblib file starts like any zlib/gzip/xz stream).
#[cfg(feature = "sklearn")]
fn has_sklearn_extension(name: Option<&str>) -> bool {
    name.is_some_and(scorewell_sklearn::has_sklearn_extension)
}

/// A scorer with one scikit-learn stage for a pickle or joblib file's bytes.
#[cfg(feature = "sklearn")]
fn sklearn_scorer(bytes: &[u8], path: &Path, options: &LoadOptions) -> Result<Scorer, Error> {
    if options.mode == OutputMode::Margin {
        return Err(Error::BundleOption(format!(
            "{}: raw margins are not offered for scikit-learn models; they append predict_proba, predict, decision_function or score_samples",
            path.display()
        )));
    }
    let model = scorewell_sklearn::load(bytes).map_err(|e| Error::Sklearn {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let stage = scorewell_sklearn::SklearnStage::new(Arc::new(model));
    Ok(Scorer::new(Pipeline::new().push(Arc::new(stage))))
}

#[cfg(feature = "keras")]
fn nn_scorer(model: scorewell_keras::KerasModel) -> Scorer {
    let stage = scorewell_core::NnStage::new("keras", Arc::new(model.graph));
    Scorer::new(Pipeline::new().push(Arc::new(stage)))
}

/// A folder (not a bundle) holding exactly one architecture `.json` and one `.h5` weights
/// file: the `to_json()` + `save_weights()` pair teams ship.
#[cfg(feature = "keras")]
fn keras_folder(path: &Path) -> Option<(PathBuf, PathBuf)> {
    if !path.is_dir() {
        return None;
    }
    let (mut json, mut h5) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let p = entry.path();
        match p.extension().and_then(|e| e.to_str()) {
            Some("json") => json.push(p),
            Some("h5") => h5.push(p),
            _ => {}
        }
    }
    match (json.as_slice(), h5.as_slice()) {
        ([j], [w]) => Some((j.clone(), w.clone())),
        _ => None,
    }
}

/// Bundles carry their own options in their manifest; refuse per-call ones instead of
/// ignoring them.
fn bundle_options(options: &LoadOptions) -> Result<(), Error> {
    if options.mode == OutputMode::Margin {
        return Err(Error::BundleOption(
            "raw margins are chosen per model stage in a bundle (`output_margin` in the stage's params), not per call".into(),
        ));
    }
    if let Some(format) = &options.format {
        return Err(Error::BundleOption(format!(
            "a model format (`{format}`) cannot be forced for a bundle; set `format` in the model stage's params"
        )));
    }
    Ok(())
}

/// Read what `path` names as bytes a [`LazyScorer`] (or [`load_bytes`]) can rebuild it from,
/// with the file name for format detection.
///
/// A bundle directory is zipped in memory (deterministically: equal bundles, equal bytes); a
/// folder saved by Spark ML becomes such a bundle with one `spark_pipeline` stage. A URL is
/// fetched first (see [`resolve`]).
pub fn source_bytes(path: impl AsRef<Path>) -> Result<(Vec<u8>, Option<String>), Error> {
    source_bytes_with(path, &FetchOptions::default())
}

/// [`source_bytes`] with explicit fetch options (a sha256 pin, the cache folder, timeouts).
pub fn source_bytes_with(
    path: impl AsRef<Path>,
    fetch: &FetchOptions,
) -> Result<(Vec<u8>, Option<String>), Error> {
    with_local(path.as_ref(), fetch, local_source_bytes)
}

fn local_source_bytes(path: &Path) -> Result<(Vec<u8>, Option<String>), Error> {
    if !scorewell_bundle::is_bundle(path) && scorewell_spark::is_spark_model(path) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spark".into());
        let bytes = bundle::create(&bundle::CreateOptions {
            name: name.clone(),
            version: "1".into(),
            spark: vec![path.to_path_buf()],
            created_at: Some("1970-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .and_then(|b| b.to_zip_bytes())
        .map_err(|source| Error::Bundle {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        return Ok((bytes, Some(format!("{name}.zip"))));
    }
    if path.is_dir() {
        let bytes = Bundle::open(path)
            .and_then(|b| b.to_zip_bytes())
            .map_err(|source| Error::Bundle {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        let name = path
            .file_name()
            .map(|n| format!("{}.zip", n.to_string_lossy()));
        return Ok((bytes, name));
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    Ok((bytes, name))
}

/// Load a model or a zipped bundle held in memory (`file_name` helps detection, e.g.
/// `model.ubj`).
pub fn load_bytes(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &LoadOptions,
) -> Result<Scorer, Error> {
    if options.weights.is_some() {
        return Err(Error::BundleOption(
            "a weights file path applies to a model path; pack in-memory Keras JSON and weights with `keras_archive`".into(),
        ));
    }
    if onnx_format::wants_onnx(options, file_name) {
        return onnx_format::onnx_scorer(bytes, Path::new(file_name.unwrap_or("<bytes>")), options);
    }
    // Keras bytes need no name: HDF5 is no other format scorewell reads, and a `.keras`
    // archive is a zip whose members, not a manifest, say what it is.
    #[cfg(feature = "keras")]
    if options.format.is_none()
        && (has_keras_extension(file_name)
            || bytes.starts_with(scorewell_keras::HDF5_MAGIC)
            || (bytes.starts_with(scorewell_bundle::ZIP_MAGIC)
                && scorewell_keras::is_keras_archive(bytes)))
    {
        return keras_scorer(bytes, Path::new(file_name.unwrap_or("<bytes>")));
    }
    #[cfg(feature = "sklearn")]
    if options.format.is_none() && has_sklearn_extension(file_name) {
        return sklearn_scorer(bytes, Path::new(file_name.unwrap_or("<bytes>")), options);
    }
    if bytes.starts_with(scorewell_bundle::ZIP_MAGIC) {
        bundle_options(options)?;
        return Bundle::from_bytes(bytes)
            .and_then(|b| b.scorer())
            .map_err(|source| Error::Bundle {
                path: PathBuf::from(file_name.unwrap_or("<bytes>")),
                source: Box::new(source),
            });
    }
    if is_annoy(file_name) || options.neighbors.is_some() {
        let o = annoy_options(options, file_name.unwrap_or("<bytes>"))?;
        let index = neighbors::AnnoyIndex::from_bytes(bytes, o.metric, o.dims)?
            .with_source_name(file_name.unwrap_or("<bytes>"));
        return Ok(neighbors_scorer(index, o));
    }
    let model = parse_model(bytes, file_name, options.format.as_deref())?;
    scorer_for(model, options.mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build counter is process-wide: tests that count builds take turns, or one's builds
    /// show up in the other's count.
    fn counting() -> std::sync::MutexGuard<'static, ()> {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        TURN.lock().unwrap_or_else(|p| p.into_inner())
    }

    const STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

    #[test]
    fn loads_bytes_and_refuses_unknown_formats_by_name() {
        let scorer = load_bytes(STUMP.as_bytes(), None, &LoadOptions::default()).unwrap();
        assert_eq!(scorer.inputs().len(), 1);
        let err = load_bytes(
            STUMP.as_bytes(),
            None,
            &LoadOptions {
                // (`onnx` is a format name now, handled by onnx_format.rs)
                format: Some("tflite".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("unknown model format `tflite`"),
            "{err}"
        );
        let err = load_bytes(b"   ", Some("m.json"), &LoadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "m.json: the model file is empty");
    }

    #[test]
    fn lazy_handles_with_equal_bytes_build_once_per_process() {
        let _turn = counting();
        // A stump distinct from other tests' models so the process-wide counter is ours.
        let text = STUMP.replace("leaf_value=1 2", "leaf_value=3 4");
        let before = lazy_builds();
        let handles: Vec<LazyScorer> = (0..5)
            .map(|_| LazyScorer::new(text.as_bytes().to_vec(), None, LoadOptions::default()))
            .collect();
        assert_eq!(lazy_builds(), before, "nothing is built before first use");
        let scorers: Vec<Scorer> = handles.iter().map(|h| h.get().unwrap()).collect();
        assert_eq!(lazy_builds(), before + 1);
        assert_eq!(handles[0].digest(), handles[4].digest());
        assert_eq!(scorers[0].inputs(), scorers[4].inputs());
        let broken = LazyScorer::new(
            b"not a model".to_vec(),
            Some("m.json"),
            LoadOptions::default(),
        );
        assert!(broken.get().is_err());
        assert!(broken.get().is_err(), "failures are retried, not cached");
        assert_eq!(lazy_builds(), before + 1);
    }

    /// The file name can pick the format (`.ubj`), so equal bytes under two names are two
    /// cache entries; under one name they stay one.
    #[test]
    fn lazy_cache_keys_include_the_file_name() {
        let _turn = counting();
        let text = STUMP.replace("leaf_value=1 2", "leaf_value=5 6");
        let before = lazy_builds();
        let lazy = |name: Option<&str>| {
            LazyScorer::new(text.as_bytes().to_vec(), name, LoadOptions::default())
                .get()
                .unwrap()
        };
        lazy(Some("a.txt"));
        lazy(Some("b.txt"));
        lazy(None);
        assert_eq!(lazy_builds(), before + 3);
        lazy(Some("a.txt"));
        lazy(None);
        assert_eq!(lazy_builds(), before + 3);
    }

    /// A scorer says what its score column is, from the model's objective.
    #[test]
    fn model_task_reads_the_objective_of_the_stage_writing_the_column() {
        let scorer = load_bytes(STUMP.as_bytes(), None, &LoadOptions::default()).unwrap();
        assert_eq!(
            model_task(&scorer, "prediction"),
            Some(ModelTask::Regression)
        );
        assert_eq!(model_task(&scorer, "other"), None);
        let cases =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases");
        for (case, want) in [
            ("xgboost_2_1_multi_softprob", ModelTask::Multiclass),
            ("lightgbm_4_7_multiclass", ModelTask::Multiclass),
            ("xgboost_2_1_binary_logistic", ModelTask::Binary),
            ("lightgbm_4_7_binary", ModelTask::Binary),
            ("lightgbm_4_7_poisson", ModelTask::Regression),
        ] {
            let dir = cases.join(case);
            let model = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_stem().is_some_and(|s| s == "model"))
                .unwrap();
            let scorer = load(&model).unwrap();
            assert_eq!(model_task(&scorer, "prediction"), Some(want), "{case}");
        }
    }

    #[test]
    fn bundles_load_from_directories_zips_and_bytes_alike() {
        let _turn = counting(); // it builds a lazy scorer too
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.txt");
        std::fs::write(&model, STUMP).unwrap();
        let bundle = bundle::create(&bundle::CreateOptions {
            name: "stump".into(),
            version: "1".into(),
            models: vec![model],
            ..Default::default()
        })
        .unwrap();
        let folder = dir.path().join("stump");
        bundle.write(&folder).unwrap();
        let (bytes, name) = source_bytes(&folder).unwrap();
        assert_eq!(name.as_deref(), Some("stump.zip"));
        assert!(bytes.starts_with(bundle::ZIP_MAGIC));
        let from_dir = load(&folder).unwrap();
        let from_bytes = load_bytes(&bytes, name.as_deref(), &LoadOptions::default()).unwrap();
        let lazy = LazyScorer::new(bytes, None, LoadOptions::default())
            .get()
            .unwrap();
        for scorer in [&from_bytes, &lazy] {
            assert_eq!(scorer.inputs(), from_dir.inputs());
        }
        let margin = LoadOptions {
            mode: OutputMode::Margin,
            ..Default::default()
        };
        let err = load_with(&folder, &margin).unwrap_err().to_string();
        assert!(
            err.starts_with("raw margins are chosen per model stage"),
            "{err}"
        );
    }

    /// See: issue 6. A folder saved by Spark ML loads like a model file, and travels as bytes
    /// (a deterministic in-memory bundle) for lazy handles and the Python package.
    #[test]
    fn spark_folders_load_by_path_and_as_bytes() {
        let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/spark/cases/spark_4_3_text_lr/model");
        let text: arrow_array::ArrayRef = Arc::new(arrow_array::StringArray::from(vec![
            "FREE money now, click!",
            "team meeting at lunch",
        ]));
        let batch = arrow_array::RecordBatch::try_from_iter([("text", text)]).unwrap();
        let direct = load(&model).unwrap().score(&batch).unwrap();
        let names: Vec<String> = direct
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "text",
                "words",
                "filtered",
                "tf",
                "tfidf",
                "rawPrediction",
                "probability",
                "prediction"
            ]
        );
        let (bytes, name) = source_bytes(&model).unwrap();
        assert_eq!(name.as_deref(), Some("model.zip"));
        assert_eq!(source_bytes(&model).unwrap().0, bytes);
        let from_bytes = load_bytes(&bytes, name.as_deref(), &LoadOptions::default()).unwrap();
        assert_eq!(from_bytes.score(&batch).unwrap(), direct);
    }
}
