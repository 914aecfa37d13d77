//! Output writers that never leave a partial file: data goes to a temporary file beside the
//! target, which is renamed over it only when [`BatchWriter::finish`] succeeds.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tempfile::NamedTempFile;

use crate::error::{IoError, Result};
use crate::format::DataFormat;

enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
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
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(
                    ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| encode(&e))?,
                )
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
            Sink::Parquet(w) => w.into_inner().map_err(|e| encode(e.to_string()))?,
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
