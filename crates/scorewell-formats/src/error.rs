//! Errors of the model-file frontends.

use scorewell_forest::ForestError;

/// Why a model file could not be loaded. The caller adds the file path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file is empty.
    #[error("the model file is empty")]
    Empty,
    /// No registered format recognises the bytes.
    #[error("not a recognised model file (supported: {supported})")]
    Unrecognised {
        /// Comma-separated format names.
        supported: String,
    },
    /// The file is corrupt, truncated, or inconsistent; `message` says where.
    #[error("{format}: {message}")]
    Invalid {
        /// Format name, e.g. `xgboost-json`.
        format: &'static str,
        /// What is wrong and where (a JSON path, a line number, a tree index).
        message: String,
    },
    /// The file is valid but uses something scorewell does not score.
    #[error("{format}: unsupported {what}")]
    Unsupported {
        /// Format name.
        format: &'static str,
        /// The feature, named as the file names it (e.g. `booster \`gblinear\``).
        what: String,
    },
    /// The trees do not form a valid forest.
    #[error("{format}: {source}")]
    Forest {
        /// Format name.
        format: &'static str,
        /// The builder's complaint, naming tree and node.
        #[source]
        source: ForestError,
    },
}

/// Result alias.
pub type Result<T, E = FormatError> = std::result::Result<T, E>;
