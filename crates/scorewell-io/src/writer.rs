//! Output writers that never leave a partial file: data goes to a temporary file beside the
//! target, which is renamed over it only when [`BatchWriter::finish`] succeeds.
//!
//! Parquet columns are encoded in parallel: parquet's `ArrowWriter` encodes and compresses a
//! row group's columns one after another on the calling thread, so a wide output was encoded
//! on one core however many scored it. `ParquetSink` drives the same column writers
//! (`ArrowRowGroupWriterFactory`) with the same slices of each batch, a column at a time per
//! thread, so the file is the one `ArrowWriter` would write, byte for byte.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use parquet::file::writer::SerializedFileWriter;
use tempfile::NamedTempFile;

use crate::error::{IoError, Result};
use crate::format::DataFormat;

enum Sink {
    Parquet(ParquetSink),
    Csv(arrow_csv::Writer<BufWriter<File>>),
    Json(arrow_json::LineDelimitedWriter<BufWriter<File>>),
}

/// Writes record batches to a file atomically.
pub struct BatchWriter {
    path: PathBuf,
    temp: NamedTempFile,
    sink: Sink,
    rows: u64,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl BatchWriter {
    /// Start writing `path` as `format` with `schema`. Nothing appears at `path` until
    /// [`BatchWriter::finish`]; dropping the writer removes the temporary file.
    pub fn create(path: &Path, format: DataFormat, schema: SchemaRef) -> Result<Self> {
        Self::create_with(path, format, schema, parquet_properties().build())
    }

    /// [`BatchWriter::create`] with other Parquet settings (tests: small row groups).
    pub(crate) fn create_with(
        path: &Path,
        format: DataFormat,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self> {
        let os = |source| IoError::Os {
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
        // tempfile creates 0600 files; the renamed output must end up as a plain create would
        // make it (0666 less the umask), or a Spark job or web server running as another user
        // cannot read it. open(2) applies the umask to this mode.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(&dir).map_err(os)?;
        let file = BufWriter::with_capacity(1 << 20, temp.as_file().try_clone().map_err(os)?);
        let encode = |e: &dyn std::fmt::Display| IoError::Encode {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let sink = match format {
            DataFormat::Parquet => {
                Sink::Parquet(ParquetSink::new(file, schema, props).map_err(|e| encode(&e))?)
            }
            DataFormat::Csv => Sink::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .build(file),
            ),
            DataFormat::JsonLines => Sink::Json(arrow_json::LineDelimitedWriter::new(file)),
        };
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            sink,
            rows: 0,
        })
    }

    /// Append a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let res = match &mut self.sink {
            Sink::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Sink::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Sink::Json(w) => w.write(batch).map_err(|e| e.to_string()),
        };
        res.map_err(|message| IoError::Encode {
            path: self.path.clone(),
            message,
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flush everything and move the file into place.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let encode = |message: String| IoError::Encode {
            path: path.clone(),
            message,
        };
        let mut file = match self.sink {
            Sink::Parquet(w) => w.finish().map_err(|e| encode(e.to_string()))?,
            Sink::Csv(w) => w.into_inner(),
            Sink::Json(mut w) => {
                w.finish().map_err(|e| encode(e.to_string()))?;
                w.into_inner()
            }
        };
        let os = |source| IoError::Os {
            path: path.clone(),
            source,
        };
        file.flush().map_err(os)?;
        file.get_ref().sync_all().map_err(os)?;
        self.temp.persist(&path).map_err(|e| os(e.error))?;
        Ok(())
    }
}

/// The Parquet output settings: snappy, and parquet's defaults otherwise (row groups of
/// 1,048,576 rows, no byte limit).
pub(crate) fn parquet_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder().set_compression(Compression::SNAPPY)
}

/// A Parquet file written like `ArrowWriter` writes it, with each row group's columns encoded
/// in parallel. Memory stays what `ArrowWriter` holds: the open row group's encoded pages.
struct ParquetSink {
    file: SerializedFileWriter<BufWriter<File>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// How many Parquet leaf columns each top-level field has (a list or struct has several
    /// writers, in schema order).
    leaves: Vec<usize>,
    /// The open row group's column writers, one per leaf column, and its rows so far.
    group: Option<Vec<ArrowColumnWriter>>,
    rows: usize,
    /// `ArrowWriter`'s row-group limit. Its byte limit is unset in our properties (the
    /// default), so the row count alone decides where row groups end, as it does there.
    max_rows: usize,
}

impl ParquetSink {
    fn new(
        file: BufWriter<File>,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ParquetError> {
        debug_assert!(
            props.max_row_group_bytes().is_none(),
            "row groups end by rows only"
        );
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX);
        // ArrowWriter builds the Parquet schema, embeds the Arrow schema in the footer's
        // metadata and writes the header; taking it apart keeps all of that identical.
        let (file, factory) =
            ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
        let parquet_schema = file.schema_descr();
        let mut leaves = vec![0; schema.fields().len()];
        for leaf in 0..parquet_schema.num_columns() {
            leaves[parquet_schema.get_column_root_idx(leaf)] += 1;
        }
        Ok(Self {
            file,
            factory,
            schema,
            leaves,
            group: None,
            rows: 0,
            max_rows,
        })
    }

    /// Append `batch`, splitting it where a row group fills up, as `ArrowWriter::write` does.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        if batch.num_columns() != self.leaves.len() {
            return Err(ParquetError::General(format!(
                "a batch of {} columns for a schema of {}",
                batch.num_columns(),
                self.leaves.len()
            )));
        }
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let take = rest.num_rows().min(self.max_rows - self.rows);
            self.encode(&rest.slice(0, take))?;
            rest = rest.slice(take, rest.num_rows() - take);
            if self.rows >= self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Encode `part` into the open row group: each top-level column (its leaves) on its own
    /// task. A column writer's pages depend only on the slices it is given, in order, so the
    /// bytes do not depend on which thread ran it.
    fn encode(&mut self, part: &RecordBatch) -> Result<(), ParquetError> {
        let writers = match &mut self.group {
            Some(writers) => writers,
            group => group.insert(
                self.factory
                    .create_column_writers(self.file.flushed_row_groups().len())?,
            ),
        };
        let mut tasks = Vec::with_capacity(self.leaves.len());
        let mut free = writers.as_mut_slice();
        for ((field, column), &n) in self
            .schema
            .fields()
            .iter()
            .zip(part.columns())
            .zip(&self.leaves)
        {
            let (mine, others) = free.split_at_mut(n);
            tasks.push((field, column, mine));
            free = others;
        }
        on_threads(
            tasks,
            |(field, column, writers)| -> Result<(), ParquetError> {
                for (writer, leaf) in writers.iter_mut().zip(compute_leaves(field, column)?) {
                    writer.write(&leaf)?;
                }
                Ok(())
            },
        )
        .into_iter()
        .collect::<Result<(), _>>()?;
        self.rows += part.num_rows();
        Ok(())
    }

    /// Close the open row group (each column's last page and dictionary, in parallel) and
    /// append its chunks to the file in schema order.
    fn flush(&mut self) -> Result<(), ParquetError> {
        let Some(writers) = self.group.take() else {
            return Ok(());
        };
        self.rows = 0;
        let chunks = on_threads(writers, ArrowColumnWriter::close)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Write the last row group and the footer; the file is not flushed.
    fn finish(mut self) -> Result<BufWriter<File>, ParquetError> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// `tasks.map(f)`, run on this thread and as many more as the rayon pool that scores has
/// (`--threads`), each taking the next task from a shared queue; results in task order.
///
/// Why not rayon itself: its tasks would queue behind the scoring in that same pool while this
/// thread sat idle, so `--threads 1` would encode on the one scoring thread where it used to
/// run beside it. Here this thread always works, and helpers add what the machine has spare.
fn on_threads<T: Send, R: Send>(tasks: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let helpers = rayon::current_num_threads()
        .min(tasks.len())
        .saturating_sub(1);
    let queue = Mutex::new(tasks.into_iter().enumerate());
    // The guard drops before `f` runs, so a panicking task cannot poison the queue for others.
    let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
    let work = || {
        let mut done = Vec::new();
        while let Some((i, task)) = next() {
            done.push((i, f(task)));
        }
        done
    };
    let mut done = std::thread::scope(|s| {
        // A helper the OS will not start is work this thread does instead.
        let started: Vec<_> = (0..helpers)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
            .collect();
        let mut done = work();
        for helper in started {
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
