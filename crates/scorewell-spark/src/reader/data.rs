//! A stage's parquet `data/`: all part files read into one batch, plus decoders for Spark's
//! vector (`VectorUDT`) and matrix (`MatrixUDT`) struct encodings.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use scorewell_core::vector::VectorColumn;

use crate::error::{Result, SparkError};
use crate::reader::{Source, invalid, part_files};

/// The rows of one `data/`-style folder.
#[derive(Debug)]
pub struct Table {
    stage: std::path::PathBuf,
    folder: String,
    batch: RecordBatch,
}

impl Table {
    /// Read every parquet part file of `<stage>/<folder>`; `MissingData` when the folder or
    /// its part files are absent.
    pub fn read(source: &Source, stage: &Path, folder: &str) -> Result<Self> {
        let dir = stage.join(folder);
        let missing = || SparkError::MissingData {
            stage: stage.to_path_buf(),
            folder: folder.to_string(),
        };
        if !source.is_dir(&dir) {
            return Err(missing());
        }
        let parts = part_files(source, &dir)?;
        if parts.is_empty() {
            return Err(missing());
        }
        let mut batches = Vec::new();
        for part in &parts {
            let file = source.read(part)?;
            let bad = |e: &dyn std::fmt::Display| {
                invalid(
                    stage,
                    format!("{}: not a readable parquet file: {e}", rel(stage, part)),
                )
            };
            // The parquet crate panics on some malformed files (see scorewell_core::guard), and
            // sizes dictionaries from their declared counts (see scorewell_core::parquet_check).
            let read = scorewell_core::guard::catch(|| {
                scorewell_core::parquet_check::check_dictionaries(file.clone())?;
                ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|b| b.build())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(parquet::errors::ParquetError::from)
            })
            .map_err(|panic| bad(&format!("the Parquet reader failed: {panic}")))?;
            batches.extend(read.map_err(|e| bad(&e))?);
        }
        let Some(first) = batches.first() else {
            return Err(invalid(stage, format!("`{folder}/` holds no rows")));
        };
        let schema = first.schema();
        let batch = arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| {
            invalid(
                stage,
                format!("`{folder}/` part files disagree on their schema: {e}"),
            )
        })?;
        Ok(Self {
            stage: stage.to_path_buf(),
            folder: folder.to_string(),
            batch,
        })
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether a column exists.
    pub fn has(&self, name: &str) -> bool {
        self.batch.schema().column_with_name(name).is_some()
    }

    /// An error about this table.
    pub fn error(&self, message: impl std::fmt::Display) -> SparkError {
        invalid(&self.stage, format!("`{}/`: {message}", self.folder))
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Result<&ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.error(format!("no column `{name}`")))
    }

    /// A column by position (Spark 4 writes tuples as `_1`, `_2`, …).
    pub fn column_at(&self, i: usize) -> Result<&ArrayRef> {
        if i < self.batch.num_columns() {
            Ok(self.batch.column(i))
        } else {
            Err(self.error(format!("expected at least {} columns", i + 1)))
        }
    }

    /// The single row a one-row model table must have.
    pub fn one_row(&self) -> Result<()> {
        match self.num_rows() {
            1 => Ok(()),
            n => Err(self.error(format!("expected 1 row, found {n}"))),
        }
    }

    /// A double column's value.
    pub fn f64(&self, name: &str, row: usize) -> Result<f64> {
        let col = self.column(name)?;
        let bad = || self.error(format!("column `{name}` is not a non-null double"));
        let a = col.as_primitive_opt::<Float64Type>().ok_or_else(bad)?;
        if a.is_null(row) {
            return Err(bad());
        }
        Ok(a.value(row))
    }

    /// An integer (int32 or int64) column's value.
    pub fn i64(&self, name: &str, row: usize) -> Result<i64> {
        integer(self.column(name)?, row)
            .ok_or_else(|| self.error(format!("column `{name}` is not a non-null integer")))
    }

    /// A boolean column's value.
    pub fn bool(&self, name: &str, row: usize) -> Result<bool> {
        let col = self.column(name)?;
        col.as_boolean_opt()
            .filter(|a| !a.is_null(row))
            .map(|a| a.value(row))
            .ok_or_else(|| self.error(format!("column `{name}` is not a non-null boolean")))
    }

    /// A `VectorUDT` column's value, densified.
    pub fn vector(&self, name: &str, row: usize) -> Result<Vec<f64>> {
        vector_at(self.column(name)?, row).map_err(|m| self.error(format!("column `{name}`: {m}")))
    }

    /// A `MatrixUDT` column's value.
    pub fn matrix(&self, name: &str, row: usize) -> Result<Matrix> {
        let col = self.column(name)?;
        matrix_at(col, row).map_err(|m| self.error(format!("column `{name}`: {m}")))
    }

    /// An `array<string>` column's value (null items are refused).
    pub fn strings(&self, name: &str, row: usize) -> Result<Vec<String>> {
        let col = self.column(name)?;
        strings_at(col, row).ok_or_else(|| {
            self.error(format!(
                "column `{name}` is not a non-null array of strings"
            ))
        })
    }

    /// An `array<array<string>>` column's value.
    pub fn string_lists(&self, name: &str, row: usize) -> Result<Vec<Vec<String>>> {
        let bad = || {
            self.error(format!(
                "column `{name}` is not a non-null array of arrays of strings"
            ))
        };
        let col = self.column(name)?;
        let list = col.as_list_opt::<i32>().ok_or_else(bad)?;
        if list.is_null(row) {
            return Err(bad());
        }
        let inner = list.value(row);
        (0..inner.len())
            .map(|i| strings_at(&inner, i).ok_or_else(bad))
            .collect()
    }

    /// An `array<int>` or `array<bigint>` column's value.
    pub fn integers(&self, name: &str, row: usize) -> Result<Vec<i64>> {
        let col = self.column(name)?;
        let bad = || self.error(format!("column `{name}` is not an array of integers"));
        let list = col.as_list_opt::<i32>().ok_or_else(bad)?;
        if list.is_null(row) {
            return Err(bad());
        }
        let items = list.value(row);
        (0..items.len())
            .map(|i| integer(&items, i).ok_or_else(bad))
            .collect()
    }
}

fn rel(stage: &Path, file: &Path) -> String {
    file.strip_prefix(stage)
        .unwrap_or(file)
        .display()
        .to_string()
}

pub(crate) fn integer(col: &ArrayRef, row: usize) -> Option<i64> {
    if col.is_null(row) {
        return None;
    }
    if let Some(a) = col.as_primitive_opt::<Int32Type>() {
        return Some(i64::from(a.value(row)));
    }
    col.as_primitive_opt::<Int64Type>().map(|a| a.value(row))
}

fn strings_at(col: &ArrayRef, row: usize) -> Option<Vec<String>> {
    let list = col.as_list_opt::<i32>()?;
    if list.is_null(row) {
        return None;
    }
    let items = list.value(row);
    let s = items.as_string_opt::<i32>()?;
    (0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect()
}

/// Decode row `row` of a `VectorUDT` struct column into a dense vector.
pub(crate) fn vector_at(col: &ArrayRef, row: usize) -> std::result::Result<Vec<f64>, String> {
    let v = VectorColumn::try_new(col, "vector").map_err(|e| e.to_string())?;
    if row >= v.len() {
        return Err(format!("row {row} out of range"));
    }
    v.get(row)
        .map(|r| r.to_dense())
        .ok_or_else(|| "vector is null".to_string())
}

/// A matrix, stored row-major for scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub values: Vec<f64>,
}

impl Matrix {
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.cols..(r + 1) * self.cols]
    }
}

/// Decode `MatrixUDT`: `struct<type: byte (0 sparse, 1 dense), numRows, numCols,
/// colPtrs: array<int>, rowIndices: array<int>, values: array<double>, isTransposed>`. Dense
/// values are column-major unless transposed; sparse ones are CSC (CSR when transposed).
fn matrix_at(col: &ArrayRef, row: usize) -> std::result::Result<Matrix, String> {
    let s: &StructArray = col
        .as_struct_opt()
        .ok_or_else(|| format!("expected a matrix struct, got {}", col.data_type()))?;
    if s.is_null(row) {
        return Err("matrix is null".into());
    }
    let field = |name: &str| {
        s.column_by_name(name)
            .ok_or_else(|| format!("matrix struct has no `{name}`"))
    };
    let int = |name: &str| -> std::result::Result<i64, String> {
        integer(field(name)?, row).ok_or_else(|| format!("matrix `{name}` is not an integer"))
    };
    let kind = field("type")?
        .as_primitive_opt::<Int8Type>()
        .map(|a| a.value(row))
        .ok_or("matrix `type` is not a byte")?;
    let rows = usize::try_from(int("numRows")?).map_err(|_| "negative numRows")?;
    let cols = usize::try_from(int("numCols")?).map_err(|_| "negative numCols")?;
    let transposed = field("isTransposed")?
        .as_boolean_opt()
        .map(|a| a.value(row))
        .ok_or("matrix `isTransposed` is not a boolean")?;
    let doubles = |name: &str| -> std::result::Result<Vec<f64>, String> {
        let l = field(name)?
            .as_list_opt::<i32>()
            .ok_or_else(|| format!("matrix `{name}` is not a list"))?;
        if l.is_null(row) {
            return Ok(Vec::new());
        }
        let v = l.value(row);
        Ok(v.as_primitive_opt::<Float64Type>()
            .ok_or_else(|| format!("matrix `{name}` is not a list of doubles"))?
            .values()
            .to_vec())
    };
    let ints = |name: &str| -> std::result::Result<Vec<usize>, String> {
        let l = field(name)?
            .as_list_opt::<i32>()
            .ok_or_else(|| format!("matrix `{name}` is not a list"))?;
        if l.is_null(row) {
            return Ok(Vec::new());
        }
        let v = l.value(row);
        let a = v
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| format!("matrix `{name}` is not a list of ints"))?;
        a.values()
            .iter()
            .map(|x| usize::try_from(*x).map_err(|_| format!("negative entry in `{name}`")))
            .collect()
    };
    let values = doubles("values")?;
    let n = rows.checked_mul(cols).ok_or("matrix dimensions overflow")?;
    let mut out = vec![0.0; n];
    match kind {
        1 => {
            if values.len() != n {
                return Err(format!(
                    "dense {rows}x{cols} matrix has {} values",
                    values.len()
                ));
            }
            for r in 0..rows {
                for c in 0..cols {
                    out[r * cols + c] = if transposed {
                        values[r * cols + c]
                    } else {
                        values[c * rows + r]
                    };
                }
            }
        }
        0 => {
            let ptrs = ints("colPtrs")?;
            let idx = ints("rowIndices")?;
            // CSC over columns, or CSR over rows when transposed.
            let (major, minor) = if transposed {
                (rows, cols)
            } else {
                (cols, rows)
            };
            if ptrs.len() != major + 1 || idx.len() != values.len() {
                return Err("sparse matrix pointers do not match its values".into());
            }
            for m in 0..major {
                let (a, b) = (ptrs[m], ptrs[m + 1]);
                if a > b || b > values.len() {
                    return Err("sparse matrix pointers are not increasing".into());
                }
                for k in a..b {
                    let other = idx[k];
                    if other >= minor {
                        return Err("sparse matrix index out of range".into());
                    }
                    let (r, c) = if transposed { (m, other) } else { (other, m) };
                    out[r * cols + c] = values[k];
                }
            }
        }
        k => return Err(format!("unknown matrix type {k}")),
    }
    Ok(Matrix {
        rows,
        cols,
        values: out,
    })
}
