//! Load Spark ML models saved with `model.save(path)` — a `PipelineModel` folder or a single
//! saved model or transformer — and score them natively, with no JVM, giving the same output
//! columns and values as Spark's `transform`.
//!
//! ```no_run
//! # fn main() -> Result<(), scorewell_spark::SparkError> {
//! let scorer = scorewell_spark::load("fraud_pipeline/")?;
//! # let batch: arrow_array::RecordBatch = unimplemented!();
//! let scored = scorer.score(&batch).expect("scored"); // inputs + every stage's output columns
//! # Ok(()) }
//! ```
//!
//! [`mod@reader`] parses Spark's on-disk format (metadata JSON, parquet data, vector and matrix
//! encodings, trees); `stages/` maps each supported Spark class, registered by name, onto the
//! shared transforms of `scorewell_transform` or onto the model stages of `model/`. See
//! `docs/SPARK.md` for the supported classes and version switches.
#![warn(missing_docs)]

mod error;
mod model;
pub mod reader;
mod stages;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use scorewell_core::{Pipeline, Scorer, Stage};

pub use error::{Result, SparkError};
pub use reader::{Source, is_spark_model};

/// Build the pipeline of the saved Spark model at `path` (a `PipelineModel` folder or any
/// supported single stage folder). Outputs are every stage's output columns, in stage order,
/// after the input columns, as Spark's `transform` returns them.
pub fn load_pipeline(path: impl AsRef<Path>) -> Result<Pipeline> {
    let stages = load_stages(path.as_ref())?;
    Ok(stages.into_iter().fold(Pipeline::new(), Pipeline::push))
}

/// [`load_pipeline`] wrapped in a [`Scorer`].
pub fn load(path: impl AsRef<Path>) -> Result<Scorer> {
    Ok(Scorer::new(load_pipeline(path)?))
}

fn load_stages(path: &Path) -> Result<Vec<Arc<dyn Stage>>> {
    if !path.is_dir() {
        return Err(SparkError::Invalid {
            stage: path.to_path_buf(),
            message: "not a folder saved by Spark ML (`model.save(path)` writes a folder)".into(),
        });
    }
    let mut cols = stages::Columns::default();
    stages::build_stage_dir(&Source::Disk, path, &mut cols)
}

/// Build the stages of a saved Spark model held in memory: `files` maps `/`-separated paths
/// (`<root>/metadata/part-00000`, `<root>/stages/…`) to their bytes. This is how a Spark folder
/// packed in a scorewell bundle is loaded; errors name paths under `root`.
pub fn load_files(root: &str, files: BTreeMap<String, Arc<[u8]>>) -> Result<Vec<Arc<dyn Stage>>> {
    let source = Source::Memory(Arc::new(files));
    let root = Path::new(root.trim_end_matches('/'));
    if !source.is_dir(&root.join("metadata")) {
        return Err(SparkError::Invalid {
            stage: root.to_path_buf(),
            message: "no `metadata/` folder (not a saved Spark ML model)".into(),
        });
    }
    let mut cols = stages::Columns::default();
    stages::build_stage_dir(&source, root, &mut cols)
}

/// The Spark classes this crate can score (short names), sorted.
pub fn supported_classes() -> Vec<&'static str> {
    stages::registry().names()
}

#[cfg(test)]
mod tests;
