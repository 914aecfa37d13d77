//! The data formats scorewell reads and writes.

use std::path::Path;
use std::str::FromStr;

use crate::error::{IoError, Result};

/// A tabular file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl DataFormat {
    /// Guess from the file extension (`.parquet`/`.pq`, `.csv`, `.jsonl`/`.ndjson`/`.json`).
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("parquet" | "pq") => Ok(Self::Parquet),
            Some("csv") => Ok(Self::Csv),
            Some("jsonl" | "ndjson" | "json") => Ok(Self::JsonLines),
            _ => Err(IoError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
        }
    }
}

impl FromStr for DataFormat {
    type Err = IoError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" | "pq" => Ok(Self::Parquet),
            "csv" => Ok(Self::Csv),
            "jsonl" | "ndjson" | "json" => Ok(Self::JsonLines),
            other => Err(IoError::UnknownFormatName(other.to_string())),
        }
    }
}
