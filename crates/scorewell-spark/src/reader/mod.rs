//! Reading Spark's on-disk model folders: metadata JSON, parquet data, trees.
//!
//! Layout (`DefaultParamsWriter`, `PipelineModel.SharedReadWrite`, Spark 2.x–4.x):
//!
//! ```text
//! <stage>/metadata/part-*        one JSON line (class, sparkVersion, uid, paramMap, defaultParamMap)
//! <stage>/data/part-*.parquet    learned state, any number of part files, rows unordered
//! <stage>/treesMetadata/part-*   tree ensembles: (treeID, per-tree metadata JSON, weight)
//! <pipeline>/stages/<i>_<uid>/   one folder per stage, `i` zero-padded to the stage count's digits
//! ```

mod data;
mod metadata;
mod tree;

use std::path::{Path, PathBuf};

pub use data::{Matrix, Table};
pub use metadata::Metadata;
pub(crate) use metadata::invalid;
pub use tree::{SparkNode, SparkTree, read_ensemble, read_tree};

use crate::error::{Result, SparkError};

/// The `part-*` files of a folder, sorted by name (Spark's `_SUCCESS`, `.crc` and hidden
/// files are skipped).
pub(crate) fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| SparkError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut parts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SparkError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("part-") && !name.ends_with(".crc") && entry.path().is_file() {
            parts.push(entry.path());
        }
    }
    parts.sort();
    Ok(parts)
}

/// Whether `path` looks like a folder written by a Spark ML `save`: a directory whose
/// `metadata/` holds a part file.
pub fn is_spark_model(path: &Path) -> bool {
    let meta = path.join("metadata");
    meta.is_dir() && part_files(&meta).is_ok_and(|p| !p.is_empty())
}
