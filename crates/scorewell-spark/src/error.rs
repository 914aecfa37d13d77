//! The Spark loader's error type: every error names the stage folder it comes from.

use std::path::PathBuf;

use scorewell_core::ScoreError;
use scorewell_transform::TransformError;

/// Anything that can go wrong loading a saved Spark ML model folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SparkError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The stage's `metadata/` or `data/` is malformed, or a param is missing or out of range.
    #[error("{stage}: {message}")]
    Invalid {
        /// The stage folder.
        stage: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model stage has no `data/` folder (or it holds no parquet part file).
    #[error("{stage}: missing `{folder}/` folder with the model's parquet data")]
    MissingData {
        /// The stage folder.
        stage: PathBuf,
        /// The missing sub-folder (`data` or `treesMetadata`).
        folder: String,
    },
    /// The stage's class is not one scorewell can score.
    #[error("{stage}: unsupported Spark stage `{class}` (supported: {supported})")]
    Unsupported {
        /// The stage folder.
        stage: PathBuf,
        /// The Spark class name from the stage's metadata.
        class: String,
        /// The supported class names, comma-separated.
        supported: String,
    },
    /// The shared transform refused the stage's saved params.
    #[error("{stage}: {source}")]
    Transform {
        /// The stage folder.
        stage: PathBuf,
        /// What the transform said.
        #[source]
        source: TransformError,
    },
    /// Building a model stage failed (e.g. the trees do not form a valid forest).
    #[error("{stage}: {source}")]
    Score {
        /// The stage folder.
        stage: PathBuf,
        /// What went wrong.
        #[source]
        source: ScoreError,
    },
    /// The stage's class is known, but a part of its transform cannot be scored exactly.
    #[error("{stage}: unsupported Spark stage `{class}`: {reason} (supported: {supported})")]
    Refused {
        /// The stage folder.
        stage: PathBuf,
        /// The Spark class name from the stage's metadata.
        class: String,
        /// What cannot be scored.
        reason: String,
        /// The supported class names, comma-separated.
        supported: String,
    },
}

/// Result alias.
pub type Result<T, E = SparkError> = std::result::Result<T, E>;
