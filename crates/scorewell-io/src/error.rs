//! Errors of the file readers and writers.

use std::path::PathBuf;

/// A failure reading or writing a data file; every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file format could not be told from the path.
    #[error(
        "{path}: cannot tell the file format from the extension (use .parquet, .csv or .jsonl, or pass the format explicitly)"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// An unknown format name was given.
    #[error("unknown data format `{0}` (supported: parquet, csv, jsonl)")]
    UnknownFormatName(String),
    /// Opening, reading or writing failed at the OS level.
    #[error("{path}: {source}")]
    Os {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents could not be decoded.
    #[error("{path}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// The file has no rows and no header to take a schema from.
    #[error("{path}: the file is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Encoding the output failed.
    #[error("{path}: {message}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
}

/// Result alias.
pub type Result<T, E = IoError> = std::result::Result<T, E>;
