//! Streaming readers and atomic writers for the tabular files scorewell scores: Parquet, CSV
//! and JSON Lines, all as Arrow record batches of bounded size.
#![warn(missing_docs)]

mod error;
mod format;
mod reader;
mod writer;

pub use error::{IoError, Result};
pub use format::DataFormat;
pub use reader::{BatchReader, DEFAULT_BATCH_ROWS, Extent, ReadOptions};
pub use writer::BatchWriter;

#[cfg(test)]
mod tests;
