//! NumPy arrays in and out: a 2-D float array as one Arrow batch (a column per array column),
//! and the scored output columns as NumPy arrays.
//!
//! A Fortran-ordered (column-major), aligned array is shared with Arrow without a copy: each
//! column is a view of the array's memory, kept alive by a reference to the array. A C-ordered
//! array is transposed once into one column-major buffer. NaN is a missing value (null), as it
//! is when pandas hands a DataFrame of the same array to Arrow.

use std::sync::Arc;

use arrow_array::types::{ArrowPrimitiveType, Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, PrimitiveArray, RecordBatch, RecordBatchOptions};
use arrow_buffer::{ArrowNativeType, BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use numpy::ndarray::{ArrayView2, Axis, Ix1, Ix2};
use numpy::{Element, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{SchemaError, ScorewellError};

/// The float element types scored from NumPy.
pub(crate) trait Real: Element + ArrowNativeType {
    type Arrow: ArrowPrimitiveType<Native = Self>;
    fn is_nan(self) -> bool;
}

impl Real for f64 {
    type Arrow = Float64Type;
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

impl Real for f32 {
    type Arrow = Float32Type;
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

/// Keeps a NumPy array alive while Arrow buffers point into its memory (only dropped, never
/// used, so unwinding cannot observe it half-changed).
struct Held(#[allow(dead_code)] std::panic::AssertUnwindSafe<Py<PyAny>>);

/// The rows of `x`, a 2-D array (rows × columns) or a 1-D one (one row), as one batch, named
/// and typed by `schema` (see [`array_schema`]). The width is checked by the caller.
pub(crate) fn batch_from_array<T: Real>(
    x: &Bound<'_, PyArrayDyn<T>>,
    schema: SchemaRef,
) -> PyResult<RecordBatch> {
    let array: PyReadonlyArrayDyn<'_, T> = x.try_readonly()?;
    let view = array.as_array();
    let view: ArrayView2<'_, T> = match view.ndim() {
        1 => view
            .into_dimensionality::<Ix1>()
            .map_err(|e| ScorewellError::new_err(e.to_string()))?
            .insert_axis(Axis(0)),
        _ => view
            .into_dimensionality::<Ix2>()
            .map_err(|e| ScorewellError::new_err(e.to_string()))?,
    };
    let (rows, cols) = view.dim();
    let (row_step, col_step) = (view.strides()[0], view.strides()[1]);
    // Each column's values lie next to each other (Fortran order, or a single row) with a
    // forward step between columns: Arrow can read them where they are.
    let shared = rows > 0
        && cols > 0
        && (rows == 1 || row_step == 1)
        && col_step >= 1
        && (view.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>());
    let columns: Vec<ArrayRef> = if shared {
        let col_step = col_step as usize;
        let elements = (cols - 1) * col_step + rows;
        let ptr = std::ptr::NonNull::new(view.as_ptr().cast_mut().cast::<u8>())
            .ok_or_else(|| ScorewellError::new_err("the array has no data"))?;
        let owner = Arc::new(Held(std::panic::AssertUnwindSafe(
            x.clone().into_any().unbind(),
        )));
        // SAFETY: the `elements` values from `ptr` are the array's (the last column ends at
        // (cols - 1) × col_step + rows), aligned for `T`; `owner` keeps the array, and so its
        // memory, alive for as long as any Arrow buffer made from it exists.
        let buffer = unsafe {
            Buffer::from_custom_allocation(ptr, elements * std::mem::size_of::<T>(), owner)
        };
        columns::<T>(buffer, elements, cols, rows, col_step)
    } else {
        // Transpose into one column-major buffer, sliced per column.
        let values = match view.as_slice() {
            Some(row_major) => transpose(row_major, rows, cols),
            None => {
                let mut values: Vec<T> = Vec::with_capacity(rows * cols);
                for c in 0..cols {
                    values.extend(view.column(c).iter().copied());
                }
                values
            }
        };
        let buffer = Buffer::from_vec(values);
        columns::<T>(buffer, rows * cols, cols, rows, rows)
    };
    RecordBatch::try_new_with_options(
        schema,
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| ScorewellError::new_err(format!("arrow: {e}")))
}

/// The schema of an array's batch: `names`, all of `T`'s Arrow type.
pub(crate) fn array_schema<T: Real>(names: &[String]) -> SchemaRef {
    let fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, T::Arrow::DATA_TYPE, true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// A row-major `rows × cols` matrix in column-major order. Blocks of rows keep both the reads
/// and the writes within cache: column by column over the whole matrix cost a tenth of the
/// scoring time of a 1,000-row batch of a 500-tree model.
fn transpose<T: Copy + Default>(row_major: &[T], rows: usize, cols: usize) -> Vec<T> {
    const BLOCK: usize = 64;
    let mut out = vec![T::default(); rows * cols];
    for start in (0..rows).step_by(BLOCK) {
        let end = (start + BLOCK).min(rows);
        for c in 0..cols {
            let column = &mut out[c * rows + start..c * rows + end];
            for (r, slot) in (start..end).zip(column) {
                *slot = row_major[r * cols + c];
            }
        }
    }
    out
}

/// `cols` columns of `rows` values each, column `c` starting at value `c × step` of
/// `buffer` (`elements` values long); NaN marked missing. Slicing one array over the whole
/// buffer is the cheapest way to many small columns: a one-row call makes fifty.
fn columns<T: Real>(
    buffer: Buffer,
    elements: usize,
    cols: usize,
    rows: usize,
    step: usize,
) -> Vec<ArrayRef> {
    let whole = PrimitiveArray::<T::Arrow>::new(ScalarBuffer::new(buffer, 0, elements), None);
    let any_nan = whole.values().iter().any(|v| v.is_nan());
    (0..cols)
        .map(|c| {
            let column = whole.slice(c * step, rows);
            if !any_nan || !column.values().iter().any(|v| v.is_nan()) {
                return Arc::new(column) as ArrayRef;
            }
            let values = column.values();
            let valid = BooleanBuffer::collect_bool(rows, |i| !values[i].is_nan());
            Arc::new(PrimitiveArray::<T::Arrow>::new(
                values.clone(),
                Some(NullBuffer::new(valid)),
            ))
        })
        .collect()
}

/// The output columns as NumPy: one column → a 1-D array; several float columns (class
/// probabilities, quantiles) → a 2-D array, a row per input row; anything else → a dict of
/// 1-D arrays by column name (always, with `by_name`). Floats are float64 with NaN for a null; integers int64;
/// booleans bool; strings and other values object arrays.
pub(crate) fn outputs_to_numpy<'py>(
    py: Python<'py>,
    fields: &[FieldRef],
    columns: &[ArrayRef],
    rows: usize,
    by_name: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let names: Vec<&String> = fields.iter().map(|f| f.name()).collect();
    if by_name {
        return by_name_dict(py, &names, columns);
    }
    let floats: Option<Vec<Vec<f64>>> = columns.iter().map(|c| floats(c.as_ref())).collect();
    match (columns.len(), floats) {
        (1, Some(mut f)) => Ok(PyArray1::from_vec(py, f.remove(0)).into_any()),
        (k, Some(f)) if k > 1 => {
            let mut flat = Vec::with_capacity(rows * k);
            for r in 0..rows {
                flat.extend(f.iter().map(|c| c[r]));
            }
            let array = numpy::ndarray::Array2::from_shape_vec((rows, k), flat)
                .map_err(|e| ScorewellError::new_err(e.to_string()))?;
            Ok(PyArray2::from_owned_array(py, array).into_any())
        }
        (1, None) => one(py, columns[0].as_ref(), names[0]),
        _ => by_name_dict(py, &names, columns),
    }
}

/// The output columns as a dict of 1-D arrays by name.
fn by_name_dict<'py>(
    py: Python<'py>,
    names: &[&String],
    columns: &[ArrayRef],
) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    for (name, c) in names.iter().zip(columns) {
        dict.set_item(name.as_str(), one(py, c.as_ref(), name)?)?;
    }
    Ok(dict.into_any())
}

/// A float column's values (null → NaN); `None` for other types.
fn floats(array: &dyn Array) -> Option<Vec<f64>> {
    use arrow_array::cast::AsArray;
    let out: Vec<f64> = match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|v| *v as f64)
            .collect(),
        _ => return None,
    };
    Some(match array.nulls() {
        Some(nulls) => out
            .into_iter()
            .enumerate()
            .map(|(i, v)| if nulls.is_valid(i) { v } else { f64::NAN })
            .collect(),
        None => out,
    })
}

/// One output column as a 1-D array of its natural NumPy type.
fn one<'py>(py: Python<'py>, array: &dyn Array, name: &str) -> PyResult<Bound<'py, PyAny>> {
    use arrow_array::cast::AsArray;
    if let Some(f) = floats(array) {
        return Ok(PyArray1::from_vec(py, f).into_any());
    }
    let no_nulls = array.null_count() == 0;
    if !no_nulls && array.data_type().is_integer() {
        // As pandas holds an integer column with missing values: float64, NaN for missing.
        let cast = arrow_cast::cast(array, &DataType::Float64)
            .map_err(|e| ScorewellError::new_err(e.to_string()))?;
        return Ok(PyArray1::from_vec(py, floats(cast.as_ref()).unwrap_or_default()).into_any());
    }
    match array.data_type() {
        DataType::Int64 if no_nulls => Ok(PyArray1::from_slice(
            py,
            array
                .as_primitive::<arrow_array::types::Int64Type>()
                .values(),
        )
        .into_any()),
        DataType::Int32 if no_nulls => Ok(PyArray1::from_slice(
            py,
            array
                .as_primitive::<arrow_array::types::Int32Type>()
                .values(),
        )
        .into_any()),
        DataType::Boolean if no_nulls => {
            let values: Vec<bool> = array.as_boolean().values().iter().collect();
            Ok(PyArray1::from_vec(py, values).into_any())
        }
        _ => {
            // Strings, nullable integers and the rest: Python objects, as pandas holds them.
            let objects: Vec<Py<PyAny>> = (0..array.len())
                .map(|r| Ok(crate::values::value(py, array, r)?.unbind()))
                .collect::<PyResult<_>>()
                .map_err(|e: PyErr| {
                    ScorewellError::new_err(format!("output column `{name}`: {e}"))
                })?;
            Ok(PyArray1::from_vec(py, objects).into_any())
        }
    }
}

/// The names an array's columns take: `columns` as given, or the model's required inputs.
pub(crate) fn check_width(cols: usize, names: &[String], given: bool) -> PyResult<()> {
    if cols == names.len() {
        return Ok(());
    }
    let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
    let more = if names.len() > 8 { ", …" } else { "" };
    Err(SchemaError::new_err(if given {
        format!(
            "the array has {cols} columns but {} names were given in columns=",
            names.len()
        )
    } else {
        format!(
            "the array has {cols} columns; the model reads {} inputs in this order: {}{more} \
             (name the array's columns with columns=[...] to pass others)",
            names.len(),
            shown.join(", ")
        )
    }))
}
