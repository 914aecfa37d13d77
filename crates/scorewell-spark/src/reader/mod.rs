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
mod source;
mod tree;

use std::path::{Path, PathBuf};

pub use data::{Matrix, Table};
pub use metadata::Metadata;
pub(crate) use metadata::invalid;
pub use source::Source;
pub use tree::{SparkNode, SparkTree, read_ensemble, read_tree};

use crate::error::Result;

/// The `part-*` files of a folder, sorted by name (Spark's `_SUCCESS`, `.crc` and hidden
/// files are skipped).
pub(crate) fn part_files(source: &Source, dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(source
        .files(dir)?
        .into_iter()
        .filter(|name| name.starts_with("part-") && !name.ends_with(".crc"))
        .map(|name| dir.join(name))
        .collect())
}

/// Whether `path` looks like a folder written by a Spark ML `save`: a directory whose
/// `metadata/` holds a part file.
pub fn is_spark_model(path: &Path) -> bool {
    let meta = path.join("metadata");
    meta.is_dir() && part_files(&Source::Disk, &meta).is_ok_and(|p| !p.is_empty())
}
