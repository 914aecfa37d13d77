//! One module per subcommand.

pub mod bench;
pub mod bundle;
pub mod eval;
pub mod index;
pub mod inspect;
pub mod score;
pub mod serve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use arrow_schema::DataType;
use clap::Args as ClapArgs;
use scorewell::Scorer;
use scorewell_io::{BatchReader, DataFormat, ReadOptions};

/// How to read the model; shared by every subcommand that loads one.
#[derive(Debug, Clone, ClapArgs)]
pub struct ModelArgs {
    /// Model file: XGBoost JSON/UBJSON (`Booster.save_model`), LightGBM text (`save_model`), a
    /// scikit-learn joblib/pickle file (`.joblib`, `.pkl`), a Keras `.keras` or whole-model
    /// `.h5` file (or an architecture JSON with `--weights`), an ONNX `.onnx` file (builds
    /// with the `onnx` feature), a bundle
    /// (directory or zip), a saved Spark ML folder, or an Annoy index (`.ann`). Also a
    /// URL: s3://, gs://, az://, http(s)://, file:// (fetched into SCOREWELL_CACHE_DIR and
    /// revalidated by ETag), optionally ending in `#sha256=<hex>`.
    pub model: PathBuf,
    /// Refuse the model unless its file's sha256 is this (64 hex digits, `sha256:` optional);
    /// checked before it is parsed.
    #[arg(long, value_name = "HEX", env = "SCOREWELL_MODEL_SHA256")]
    pub sha256: Option<String>,
    /// Model format instead of detecting it: xgboost-json, xgboost-ubj, lightgbm-text, onnx.
    #[arg(long, value_name = "NAME")]
    pub model_format: Option<String>,
    /// The weights file of a Keras architecture JSON given as the model (`model.to_json()` +
    /// `save_weights`, Keras 2 or 3 layout).
    #[arg(long, value_name = "H5")]
    pub weights: Option<PathBuf>,
    #[command(flatten)]
    pub annoy: AnnoyArgs,
}

/// How to open and query a bare Annoy index: the file records neither metric nor dimension.
#[derive(Debug, Clone, ClapArgs)]
#[command(next_help_heading = "Annoy index (.ann)")]
pub struct AnnoyArgs {
    /// The index's metric: angular, euclidean, manhattan, dot or hamming.
    #[arg(long, value_name = "METRIC")]
    pub metric: Option<String>,
    /// The index's vector dimension.
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,
    /// Neighbours per row.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// annoy's search_k: candidates to inspect (-1: k × trees; more is more exact).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub search_k: i64,
    /// The input's vector column (default: its one list/fixed-size-list column).
    #[arg(long, value_name = "NAME")]
    pub query_column: Option<String>,
}

impl ModelArgs {
    /// How the model is fetched: the environment's settings and the `--sha256` pin.
    pub fn fetch_options(&self) -> Result<scorewell::FetchOptions> {
        let mut fetch = scorewell::FetchOptions::from_env()?;
        fetch.sha256 = self
            .sha256
            .as_deref()
            .map(scorewell::Sha256Pin::parse)
            .transpose()?;
        Ok(fetch)
    }

    /// The model as a local path: fetched and verified when it is a URL or pinned.
    pub fn local_path(&self) -> Result<PathBuf> {
        Ok(scorewell::resolve(&self.model, &self.fetch_options()?)?)
    }

    /// Load options for `mode`, with the Annoy options when `--metric`/`--dims` are given.
    pub fn load_options(&self, mode: scorewell::OutputMode) -> Result<scorewell::LoadOptions> {
        let a = &self.annoy;
        let neighbors = match (&a.metric, a.dims) {
            (None, None) => None,
            (Some(metric), Some(dims)) => Some(scorewell::NeighborOptions {
                metric: metric.parse()?,
                dims,
                k: a.k,
                search_k: a.search_k,
                query_column: a.query_column.clone(),
            }),
            _ => anyhow::bail!("an Annoy index needs both --metric and --dims"),
        };
        Ok(scorewell::LoadOptions {
            mode,
            format: self.model_format.clone(),
            neighbors,
            fetch: self.fetch_options()?,
            weights: self.weights.clone(),
        })
    }
}

/// Size the global thread pool (0 = one thread per core).
pub fn init_threads(threads: usize) -> anyhow::Result<()> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {threads} threads: {e}"))?;
    }
    Ok(())
}

/// The data format `explicit` names, else the one `path`'s extension says.
pub fn data_format(explicit: Option<&str>, path: &Path) -> Result<DataFormat> {
    Ok(match explicit {
        Some(name) => name.parse()?,
        None => DataFormat::from_path(path)?,
    })
}

/// Open `path` for streaming in batches of `batch_rows`, reading every numeric input of
/// `scorers` as floats: text formats guess column types, and `NaN`, `inf` and a column of
/// integers must all arrive as the numbers the models take.
pub fn open_input(
    path: &Path,
    format: DataFormat,
    batch_rows: usize,
    scorers: &[&Scorer],
) -> Result<BatchReader> {
    let type_overrides: HashMap<String, DataType> = scorers
        .iter()
        .flat_map(|s| s.inputs())
        .filter(|c| c.numeric)
        .map(|c| (c.name, DataType::Float64))
        .collect();
    let options = ReadOptions {
        batch_rows,
        type_overrides,
    };
    Ok(BatchReader::open(path, format, &options)?)
}
