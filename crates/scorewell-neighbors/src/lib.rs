//! Nearest-neighbour lookups in Spotify Annoy indexes, exactly as annoy 1.17.3 answers them.
//!
//! An `.ann` file is read from an mmap'd file ([`AnnoyIndex::open`], no copy: a 1 GB index
//! opens in microseconds) or from bytes ([`AnnoyIndex::from_bytes`], for bundles and Spark
//! executors that receive the index broadcast as bytes). Queries follow annoy's
//! `_get_all_nns`: the same priority-queue order and ties, the same candidate set for a given
//! `search_k`, the same final order, and distances computed with annoy's own rounding (see
//! [`kernels`]). [`build`] writes indexes annoy loads; [`NeighborsStage`] makes a lookup a
//! pipeline stage.
//!
//! Files come from other teams and object storage, so nothing in them is trusted: the loader
//! checks the size against the node layout and the roots against the node count, and the search
//! checks every node and item id it follows, and stops with an error naming the node instead
//! of reading out of bounds or looping on a cycle.
#![warn(missing_docs)]

pub mod build;
mod index;
pub mod kernels;
mod metric;
mod search;
mod stage;

pub use index::AnnoyIndex;
pub use metric::{Layout, METRICS, Metric};
pub use search::Neighbors;
pub use stage::{LabelTable, NeighborsStage, StageOptions, item_ids};

/// What can go wrong loading or querying an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A metric name annoy does not know.
    #[error("unknown annoy metric `{0}` (supported: angular, euclidean, manhattan, dot, hamming)")]
    UnknownMetric(String),
    /// The bytes cannot be an index of this metric and dimension.
    #[error("{source_name}: not an annoy {metric} index of {dims} dimensions: {reason}")]
    Layout {
        /// The file (or `<bytes>`).
        source_name: String,
        /// The metric the caller named.
        metric: Metric,
        /// The dimension the caller named.
        dims: usize,
        /// What does not fit.
        reason: String,
    },
    /// A node refers outside the index or the tree walk loops: the file is corrupt.
    #[error("{source_name}: corrupt index at node {node}: {reason}")]
    Corrupt {
        /// The file (or `<bytes>`).
        source_name: String,
        /// The node index.
        node: i64,
        /// What is wrong.
        reason: String,
    },
    /// A query the index cannot answer (wrong length, NaN, an item id out of range).
    #[error("{0}")]
    Query(String),
    /// Building an index failed.
    #[error("build: {0}")]
    Build(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
