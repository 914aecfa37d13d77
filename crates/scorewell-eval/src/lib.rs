//! Evaluate scored rows: streaming metrics of a candidate model (and optionally a baseline
//! scored on the same rows), bootstrap intervals of their differences, decision flips, a
//! stable `metrics.json` and a self-contained HTML report.
//!
//! The evaluator never scores: callers score each input batch with the production
//! `Scorer::score` and hand the scored batches (input columns + `prediction` columns) here.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, Int64Array, RecordBatch};
//! use arrow_schema::{DataType, Field, Schema};
//! use scorewell_eval::{EvalSpec, Evaluator};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("is_attack", DataType::Int64, false),
//!     Field::new("prediction", DataType::Float64, false),
//! ]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![
//!     Arc::new(Int64Array::from(vec![0, 1, 1, 0])),
//!     Arc::new(Float64Array::from(vec![0.1, 0.8, 0.4, 0.3])),
//! ])?;
//! let mut eval = Evaluator::new(EvalSpec::new("is_attack"), &schema, None)?;
//! eval.push(&batch, None)?;
//! let result = eval.finish()?;
//! let binary = result.candidate.binary().expect("binary labels");
//! assert_eq!(binary.roc_auc, Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod binary;
pub mod bootstrap;
pub mod calibration;
pub mod compare;
mod error;
mod evaluator;
pub mod json;
pub mod multiclass;
pub mod regression;
pub mod report;
mod runs;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use error::{EvalError, Result};
pub use evaluator::{EvalSpec, Evaluator, MAX_GROUPS, Task, TaskSpec};
pub use json::{Evaluation, GroupResult, ModelMetrics, RowCounts, SCHEMA_VERSION};
pub use runs::Level;

/// Write `bytes` to `path` through a temporary file in the same directory, renamed into place
/// only when complete: a failed run never leaves a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let os = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Reports are for sharing: the mode a plain create gives (0666 less the umask, which
    // open(2) applies) rather than tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(&dir).map_err(os)?;
    temp.write_all(bytes).map_err(os)?;
    temp.as_file().sync_all().map_err(os)?;
    temp.persist(path).map_err(|e| os(e.error))?;
    Ok(())
}
