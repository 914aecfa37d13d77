//! Streaming readers: a file becomes an iterator of record batches of bounded size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{IoError, Result};
use crate::format::DataFormat;

/// Rows per batch unless told otherwise: big enough to amortise per-batch work, small enough
/// that a batch of 100 float columns stays around 50 MB.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// Rows read to infer the column types of a CSV or JSON Lines file.
const INFER_ROWS: usize = 1_000;

/// How to read an input file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Column types to use instead of inferred ones (CSV and JSON Lines only). Scoring passes
    /// `Float64` for numeric model inputs, so `NaN`, `inf` and integers all read as numbers.
    pub type_overrides: HashMap<String, DataType>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            batch_rows: DEFAULT_BATCH_ROWS,
            type_overrides: HashMap::new(),
        }
    }
}

/// How much of a file there is to read, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The row count is known up front (Parquet metadata).
    Rows(u64),
    /// Only the byte size is known (text formats); see [`BatchReader::bytes_read`].
    Bytes(u64),
}

/// A file read as a stream of record batches.
pub struct BatchReader {
    path: PathBuf,
    schema: SchemaRef,
    extent: Extent,
    bytes_read: Arc<AtomicU64>,
    inner: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>,
    /// The decoder panicked (the error was returned): nothing more is read.
    failed: bool,
}

impl std::fmt::Debug for BatchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReader")
            .field("path", &self.path)
            .field("schema", &self.schema)
            .field("extent", &self.extent)
            .finish()
    }
}

/// Counts bytes as a text decoder pulls them, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl BatchReader {
    /// Open `path` as `format`.
    pub fn open(path: &Path, format: DataFormat, options: &ReadOptions) -> Result<Self> {
        let os = |source| IoError::Os {
            path: path.to_path_buf(),
            source,
        };
        let decode = |e: &dyn std::fmt::Display| IoError::Decode {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut file = File::open(path).map_err(os)?;
        let size = file.metadata().map_err(os)?.len();
        let batch_rows = options.batch_rows.max(1);
        let bytes_read = Arc::new(AtomicU64::new(0));
        if size == 0 {
            return Err(IoError::Empty {
                path: path.to_path_buf(),
            });
        }
        let (schema, extent, inner): (SchemaRef, Extent, Box<dyn Iterator<Item = _> + Send>) =
            match format {
                DataFormat::Parquet => {
                    // The parquet crate panics on some malformed files (see
                    // scorewell_core::guard); batches are guarded in `next`. It also sizes
                    // dictionaries from their declared counts, which are checked first.
                    let opened = scorewell_core::guard::catch(|| {
                        scorewell_core::parquet_check::check_dictionaries(file.try_clone()?)?;
                        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?
                            .with_batch_size(batch_rows);
                        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
                        let schema = builder.schema().clone();
                        Ok::<_, parquet::errors::ParquetError>((schema, rows, builder.build()?))
                    })
                    .map_err(|panic| decode(&format!("the Parquet reader failed: {panic}")))?;
                    let (schema, rows, reader) = opened.map_err(|e| decode(&e))?;
                    (schema, Extent::Rows(rows), Box::new(reader))
                }
                DataFormat::Csv => {
                    let csv_format = arrow_csv::reader::Format::default().with_header(true);
                    let (inferred, _) = csv_format
                        .infer_schema(&mut file, Some(INFER_ROWS))
                        .map_err(|e| decode(&e))?;
                    if inferred.fields().is_empty() {
                        return Err(IoError::Empty {
                            path: path.to_path_buf(),
                        });
                    }
                    let schema = apply_overrides(inferred, &options.type_overrides);
                    file.seek(SeekFrom::Start(0)).map_err(os)?;
                    let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                        .with_format(csv_format)
                        .with_batch_size(batch_rows)
                        .build(Counting {
                            inner: BufReader::new(file),
                            count: bytes_read.clone(),
                        })
                        .map_err(|e| decode(&e))?;
                    (schema, Extent::Bytes(size), Box::new(reader))
                }
                DataFormat::JsonLines => {
                    let mut buffered = BufReader::new(file);
                    let (inferred, _) =
                        arrow_json::reader::infer_json_schema(&mut buffered, Some(INFER_ROWS))
                            .map_err(|e| decode(&e))?;
                    if inferred.fields().is_empty() {
                        return Err(IoError::Empty {
                            path: path.to_path_buf(),
                        });
                    }
                    let schema = apply_overrides(inferred, &options.type_overrides);
                    let mut file = buffered.into_inner();
                    file.seek(SeekFrom::Start(0)).map_err(os)?;
                    let reader = arrow_json::ReaderBuilder::new(schema.clone())
                        .with_batch_size(batch_rows)
                        .build(BufReader::new(Counting {
                            inner: file,
                            count: bytes_read.clone(),
                        }))
                        .map_err(|e| decode(&e))?;
                    (schema, Extent::Bytes(size), Box::new(reader))
                }
            };
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            extent,
            bytes_read,
            inner,
            failed: false,
        })
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// How much there is to read.
    pub fn extent(&self) -> Extent {
        self.extent
    }

    /// Bytes consumed so far (text formats; 0 for Parquet).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// A shared handle to the byte counter, readable while the reader runs on another thread.
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes_read.clone()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for BatchReader {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        // A decoder that panicked may have left its state half-updated: report it and stop.
        let next = match scorewell_core::guard::catch(|| self.inner.next()) {
            Ok(next) => next,
            Err(panic) => {
                self.failed = true;
                Some(Err(ArrowError::ExternalError(
                    format!("the reader failed: {panic}").into(),
                )))
            }
        };
        next.map(|r| {
            r.map_err(|e| IoError::Decode {
                path: self.path.clone(),
                message: readable_decode_error(&e.to_string(), &self.schema),
            })
        })
    }
}

fn apply_overrides(schema: Schema, overrides: &HashMap<String, DataType>) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match overrides.get(f.name()) {
            Some(dt) => Field::new(f.name(), dt.clone(), true),
            None => f.as_ref().clone().with_nullable(true),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Arrow's CSV errors name columns by position and append the whole row; name the column
/// instead and drop the row dump, which can be megabytes wide.
fn readable_decode_error(message: &str, schema: &Schema) -> String {
    let mut msg = message
        .split(". Row data:")
        .next()
        .unwrap_or(message)
        .to_string();
    if let Some(at) = msg.find("for column ") {
        let rest = &msg[at + "for column ".len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Some(field) = digits
            .parse::<usize>()
            .ok()
            .and_then(|i| schema.fields().get(i))
        {
            msg = format!(
                "{}for column `{}`{}",
                &msg[..at],
                field.name(),
                &rest[digits.len()..]
            );
        }
    }
    msg
}
