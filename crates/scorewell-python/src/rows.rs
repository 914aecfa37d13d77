//! Rows given as Python dicts, turned straight into one Arrow batch in the model's input order:
//! no pandas or pyarrow objects are built per call.
//!
//! Values are read by the model's input names (other keys are ignored), so a key missing from
//! a dict and `None` are both missing values, as is a float NaN (pandas turns NaN into null
//! when a DataFrame crosses into Arrow, and this path must score exactly as that one does).
//!
//! Numeric inputs (the usual case: model features) are written into one shared column-major
//! buffer (NaN marking a missing value until the column gets its null mask), sliced per
//! column, so a row of fifty features costs one buffer and fifty small array headers. Other inputs (category names, text, vectors) take their
//! Arrow type from the values they hold, as pandas would infer it.

use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::{
    ArrayRef, Float64Array, NullArray, RecordBatch, RecordBatchOptions, UInt64Array, new_null_array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use scorewell::{BoundScorer, InputColumn, ScoreError, Scorer};

use crate::values::row_to_dict;

/// What one model input of one batch turned out to be: the part of a batch's shape that
/// decides its binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An optional input no row has: left out, as a DataFrame without it would be.
    Absent,
    /// A numeric input: `Float64` from the shared buffer.
    Number,
    /// A non-numeric input holding only missing values (pandas: an all-`None` object column).
    Null,
    Int,
    Float,
    Bool,
    Str,
    /// Lists of numbers: `list<double>`, a dense vector (nested lists flattened row-major).
    NumberList,
    /// Lists of strings (token lists).
    StrList,
}

/// One model input, with its name ready for dict lookups.
struct Input {
    column: InputColumn,
    key: Py<PyString>,
    /// Read into the shared numeric buffer.
    number: bool,
}

/// A binding made for one column-type signature, and the output names as Python strings.
struct Shape {
    kinds: Vec<Kind>,
    schema: SchemaRef,
    scorer: Arc<BoundScorer>,
    outputs: Vec<Py<PyString>>,
}

/// How dict rows become batches for one scorer; built at first use and kept.
pub(crate) struct RowReader {
    inputs: Vec<Input>,
    /// How many inputs are numeric.
    numbers: usize,
    /// The binding of the last signature: a stream of same-shaped rows binds once.
    last: Mutex<Option<Arc<Shape>>>,
}

/// A batch read from dicts, with the binding to score it under.
pub(crate) struct RowBatch {
    pub(crate) batch: RecordBatch,
    bound: Arc<Shape>,
}

/// Scored dict rows: the output columns, and which input rows they are.
pub(crate) struct Scored {
    outputs: Vec<ArrayRef>,
    /// The input row of each output row, when a stage dropped rows (Spark's
    /// `handleInvalid = "skip"`); `None` when every row came through.
    kept: Option<Vec<usize>>,
}

/// The column that carries row numbers through a pipeline that drops rows.
const ROW_NUMBER: &str = "__scorewell_row_number__";

impl RowBatch {
    /// Score under the batch's binding (call without the GIL).
    pub(crate) fn score(&self, scorer: &Scorer) -> Result<Scored, ScoreError> {
        let (outputs, rows) = self.bound.scorer.score_outputs(&self.batch)?;
        if rows == self.batch.num_rows() {
            return Ok(Scored {
                outputs,
                kept: None,
            });
        }
        // A stage dropped rows: score again with row numbers carried along, to say which.
        // Only pipelines that drop rows pay for this, and only when they do.
        let n = self.batch.num_rows();
        let mut fields = self.batch.schema().fields().to_vec();
        fields.push(Arc::new(Field::new(ROW_NUMBER, DataType::UInt64, false)));
        let mut columns = self.batch.columns().to_vec();
        columns.push(Arc::new(UInt64Array::from_iter_values(0..n as u64)));
        let numbered = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        let scored = scorer.score(&numbered)?;
        let kept = scored
            .column_by_name(ROW_NUMBER)
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .map(|c| c.values().iter().map(|&r| r as usize).collect())
            .ok_or_else(|| ScoreError::SchemaMismatch("the row numbers were lost".into()))?;
        let first = scored.num_columns() - self.bound.outputs.len();
        Ok(Scored {
            outputs: scored.columns()[first..].to_vec(),
            kept: Some(kept),
        })
    }

    /// One dict of outputs per input row; `None` for a row the pipeline dropped.
    pub(crate) fn dicts<'py>(
        &self,
        py: Python<'py>,
        scored: &Scored,
    ) -> PyResult<Vec<Option<Bound<'py, PyDict>>>> {
        let dict = |row| row_to_dict(py, &self.bound.outputs, &scored.outputs, row);
        match &scored.kept {
            None => (0..self.batch.num_rows())
                .map(|r| dict(r).map(Some))
                .collect(),
            Some(kept) => {
                let mut out: Vec<Option<Bound<'py, PyDict>>> =
                    (0..self.batch.num_rows()).map(|_| None).collect();
                for (k, &row) in kept.iter().enumerate() {
                    if let Some(slot) = out.get_mut(row) {
                        *slot = Some(dict(k)?);
                    }
                }
                Ok(out)
            }
        }
    }
}

impl RowReader {
    pub(crate) fn new(py: Python<'_>, scorer: &Scorer) -> Self {
        let inputs: Vec<Input> = scorer
            .inputs()
            .into_iter()
            .map(|column| Input {
                key: PyString::intern(py, &column.name).unbind(),
                number: column.numeric && !column.vector,
                column,
            })
            .collect();
        Self {
            numbers: inputs.iter().filter(|i| i.number).count(),
            inputs,
            last: Mutex::new(None),
        }
    }

    /// Read `rows` (dicts) into one batch; the binding is made here (under the GIL, but only
    /// when the rows' shape changes) so that scoring needs nothing more.
    pub(crate) fn read(
        &self,
        py: Python<'_>,
        scorer: &Scorer,
        rows: &[Bound<'_, PyDict>],
    ) -> PyResult<RowBatch> {
        let n = rows.len();
        let mut values = vec![0f64; self.numbers * n];
        // Which numeric columns hold a missing value: only those get a null mask.
        let mut missing = vec![false; self.numbers];
        let mut kinds = Vec::with_capacity(self.inputs.len());
        let mut others: Vec<Vec<Option<Bound<'_, PyAny>>>> = Vec::new();
        let mut slot = 0;
        for input in &self.inputs {
            let key = input.key.bind(py);
            if input.number {
                let out = &mut values[slot * n..(slot + 1) * n];
                let mut numbers = true;
                for (r, row) in rows.iter().enumerate() {
                    let value = row.get_item(key)?.filter(|v| !v.is_none());
                    match value.as_ref().map(|v| number(v)).transpose() {
                        Ok(Some(x)) if !x.is_nan() => out[r] = x,
                        Ok(_) => {
                            // NaN marks it here; the column's null mask is made from the NaNs.
                            out[r] = f64::NAN;
                            missing[slot] = true;
                        }
                        Err(()) => {
                            // Not a number: a vector for an input that takes both, or a value
                            // of the wrong type. Read the column as its values ask and let the
                            // binding judge it, as it judges a DataFrame column.
                            numbers = false;
                            break;
                        }
                    }
                }
                slot += 1;
                if numbers {
                    kinds.push(Kind::Number);
                    continue;
                }
            }
            let column: Vec<Option<Bound<'_, PyAny>>> = rows
                .iter()
                .map(|row| Ok(row.get_item(key)?.filter(|v| !v.is_none())))
                .collect::<PyResult<_>>()?;
            let absent = input.column.optional
                && rows
                    .iter()
                    .map(|row| row.contains(key))
                    .collect::<PyResult<Vec<bool>>>()?
                    .iter()
                    .all(|present| !present);
            let kind = if absent {
                Kind::Absent
            } else {
                kind_of(&input.column.name, &column)?
            };
            kinds.push(kind);
            others.push(column);
        }

        let bound = self.bound(py, scorer, &kinds)?;
        let numbers = Float64Array::new(ScalarBuffer::from(values), None);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.inputs.len());
        let (mut slot, mut other) = (0, 0);
        for (input, kind) in self.inputs.iter().zip(&kinds) {
            let this = slot;
            slot += usize::from(input.number);
            match kind {
                Kind::Number => {
                    arrays.push(shared_column(&numbers, missing[this], this, n));
                }
                Kind::Absent => other += 1,
                Kind::Null => {
                    let dt = bound.schema.field(arrays.len()).data_type();
                    arrays.push(new_null_array(dt, n));
                    other += 1;
                }
                kind => {
                    arrays.push(build(&input.column.name, *kind, &others[other])?);
                    other += 1;
                }
            }
        }
        let batch = RecordBatch::try_new_with_options(
            bound.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .map_err(|e| crate::errors::ScorewellError::new_err(format!("arrow: {e}")))?;
        Ok(RowBatch { batch, bound })
    }

    /// The binding for this signature: the last one when it matches, else a new one.
    fn bound(&self, py: Python<'_>, scorer: &Scorer, kinds: &[Kind]) -> PyResult<Arc<Shape>> {
        if let Ok(last) = self.last.lock()
            && let Some(b) = last.as_ref()
            && b.kinds == kinds
        {
            return Ok(b.clone());
        }
        // A column holding only missing values is first offered as strings (or a vector) —
        // what non-numeric inputs mostly read — then as Arrow's null type.
        let attempt = |null_type: bool| {
            let fields: Vec<Field> = self
                .inputs
                .iter()
                .zip(kinds)
                .filter(|(_, k)| **k != Kind::Absent)
                .map(|(input, kind)| {
                    let dt = match kind {
                        Kind::Null if null_type => DataType::Null,
                        Kind::Null if input.column.vector => data_type(Kind::NumberList),
                        Kind::Null => DataType::Utf8,
                        kind => data_type(*kind),
                    };
                    Field::new(&input.column.name, dt, true)
                })
                .collect();
            let schema = Arc::new(Schema::new(fields));
            scorer
                .bind_cached(schema.clone())
                .map(|bound| (schema, bound))
        };
        let (schema, scorer) = match attempt(false) {
            Ok(bound) => bound,
            Err(e) if kinds.contains(&Kind::Null) => {
                attempt(true).map_err(|_| crate::errors::score_error(e))?
            }
            Err(e) => return Err(crate::errors::score_error(e)),
        };
        let outputs = scorer.output_schema().fields()[schema.fields().len()..]
            .iter()
            .map(|f| PyString::intern(py, f.name()).unbind())
            .collect();
        let bound = Arc::new(Shape {
            kinds: kinds.to_vec(),
            schema,
            scorer,
            outputs,
        });
        if let Ok(mut last) = self.last.lock() {
            *last = Some(bound.clone());
        }
        Ok(bound)
    }
}

/// A numeric value (not `None`) as a double; `Err` for a value that is not a number.
/// Booleans are 1 and 0 and integers are converted exactly as the engine converts an integer
/// column, so both give the same score.
fn number(v: &Bound<'_, PyAny>) -> Result<f64, ()> {
    if let Ok(f) = v.cast_exact::<PyFloat>() {
        return Ok(f.value());
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(if b.is_true() { 1.0 } else { 0.0 });
    }
    if v.is_instance_of::<PyString>() || v.is_instance_of::<PyList>() {
        return Err(());
    }
    if let Ok(i) = v.cast::<PyInt>() {
        // Within i64 the cast rounds as the engine's `i64 as f64` does; beyond it, as Python.
        return i
            .extract::<i64>()
            .map(|i| i as f64)
            .or_else(|_| i.extract::<f64>())
            .map_err(|_| ());
    }
    // numpy scalars, Decimal and other objects with __float__.
    v.extract::<f64>().map_err(|_| ())
}

/// The Arrow type non-numeric values ask for; mixed types are refused as pandas refuses them.
fn kind_of(name: &str, column: &[Option<Bound<'_, PyAny>>]) -> PyResult<Kind> {
    let mut kind = Kind::Null;
    for (row, value) in column.iter().enumerate() {
        let Some(v) = value else { continue };
        let this = value_kind(v);
        kind = match (kind, this) {
            (Kind::Null, k) => k,
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => return Err(mixed(name, row, v, kind)),
        };
        if kind == Kind::Absent {
            return Err(wrong_type(name, Some(v), row));
        }
    }
    Ok(kind)
}

/// What one value asks for (`Absent` for something no Arrow column can hold).
fn value_kind(v: &Bound<'_, PyAny>) -> Kind {
    if v.is_instance_of::<PyBool>() {
        Kind::Bool
    } else if v.is_instance_of::<PyInt>() {
        Kind::Int
    } else if v.is_instance_of::<PyFloat>() {
        Kind::Float
    } else if v.is_instance_of::<PyString>() {
        Kind::Str
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() || is_ndarray(v) {
        match v.try_iter().ok().and_then(|mut it| it.next()) {
            Some(Ok(first)) if first.is_instance_of::<PyString>() => Kind::StrList,
            _ => Kind::NumberList,
        }
    } else if v.extract::<f64>().is_ok() {
        Kind::Float
    } else {
        Kind::Absent
    }
}

fn is_ndarray(v: &Bound<'_, PyAny>) -> bool {
    v.get_type()
        .fully_qualified_name()
        .is_ok_and(|n| n.to_str().is_ok_and(|n| n == "numpy.ndarray"))
}

fn data_type(kind: Kind) -> DataType {
    let item = |t: DataType| DataType::List(Arc::new(Field::new("item", t, true)));
    match kind {
        Kind::Number | Kind::Float => DataType::Float64,
        Kind::Null | Kind::Absent => DataType::Null,
        Kind::Int => DataType::Int64,
        Kind::Bool => DataType::Boolean,
        Kind::Str => DataType::Utf8,
        Kind::NumberList => item(DataType::Float64),
        Kind::StrList => item(DataType::Utf8),
    }
}

/// Column `slot` of the shared numeric buffer, a slice of it (no copy); where it has a
/// missing value (a NaN there), a null mask marks them.
fn shared_column(numbers: &Float64Array, missing: bool, slot: usize, n: usize) -> ArrayRef {
    let column = numbers.slice(slot * n, n);
    if !missing {
        return Arc::new(column);
    }
    let values = column.values();
    let valid = BooleanBuffer::collect_bool(n, |i| !values[i].is_nan());
    Arc::new(Float64Array::new(
        values.clone(),
        Some(NullBuffer::new(valid)),
    ))
}

/// A non-numeric column of `kind` from its values (already checked to fit `kind`).
fn build(name: &str, kind: Kind, column: &[Option<Bound<'_, PyAny>>]) -> PyResult<ArrayRef> {
    let bad = |row: usize| wrong_type(name, column[row].as_ref(), row);
    Ok(match kind {
        Kind::Null | Kind::Absent | Kind::Number => Arc::new(NullArray::new(column.len())),
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(column.len());
            for (row, v) in column.iter().enumerate() {
                b.append_option(
                    v.as_ref()
                        .map(|v| v.extract::<i64>())
                        .transpose()
                        .map_err(|_| bad(row))?,
                );
            }
            Arc::new(b.finish())
        }
        Kind::Float => {
            let mut b = Float64Builder::with_capacity(column.len());
            for (row, v) in column.iter().enumerate() {
                let x = v.as_ref().map(number).transpose().map_err(|()| bad(row))?;
                b.append_option(x.filter(|x| !x.is_nan()));
            }
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(column.len());
            for v in column {
                b.append_option(v.as_ref().map(|v| v.is_truthy()).transpose()?);
            }
            Arc::new(b.finish())
        }
        Kind::Str => {
            let mut b = StringBuilder::with_capacity(column.len(), column.len() * 8);
            for v in column {
                match v {
                    Some(v) => b.append_value(v.cast::<PyString>()?.to_str()?),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::NumberList => {
            let mut b = ListBuilder::new(Float64Builder::new());
            for (row, v) in column.iter().enumerate() {
                match v {
                    Some(v) => {
                        flatten(v, b.values()).map_err(|()| bad(row))?;
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
        Kind::StrList => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for (row, v) in column.iter().enumerate() {
                match v {
                    Some(v) => {
                        for item in v.try_iter()? {
                            let item = item?;
                            if item.is_none() {
                                b.values().append_null();
                            } else {
                                let s = item.cast::<PyString>().map_err(|_| bad(row))?;
                                b.values().append_value(s.to_str()?);
                            }
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
    })
}

/// Append a (possibly nested) sequence of numbers, row-major, as a model input tensor is laid
/// out; `None` and NaN inside are NaN (a vector's elements cannot be null).
fn flatten(v: &Bound<'_, PyAny>, out: &mut Float64Builder) -> Result<(), ()> {
    for item in v.try_iter().map_err(|_| ())? {
        let item = item.map_err(|_| ())?;
        if item.is_none() {
            out.append_value(f64::NAN);
        } else if item.is_instance_of::<PyList>()
            || item.is_instance_of::<PyTuple>()
            || is_ndarray(&item)
        {
            flatten(&item, out)?;
        } else {
            out.append_value(number(&item)?);
        }
    }
    Ok(())
}

/// What a dict value may be.
const SCALAR: &str = "a number, bool, str, or a list of numbers or of str (None for missing)";

/// A value of a type its column cannot hold: the `SchemaError` a DataFrame column of it gives.
fn wrong_type(name: &str, value: Option<&Bound<'_, PyAny>>, row: usize) -> PyErr {
    let got = match value {
        Some(v) => format!("{} ({}) in row {row}", describe(v), py_type(v)),
        None => format!("a missing value in row {row}"),
    };
    crate::errors::score_error(ScoreError::ColumnType {
        column: name.to_string(),
        expected: SCALAR.into(),
        got,
    })
}

fn mixed(name: &str, row: usize, value: &Bound<'_, PyAny>, before: Kind) -> PyErr {
    crate::errors::SchemaError::new_err(format!(
        "column `{name}` holds values of mixed types: {} ({}) in row {row} after {} values; \
         give every row the same type",
        describe(value),
        py_type(value),
        match before {
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Str => "str",
            Kind::NumberList => "list of numbers",
            Kind::StrList => "list of str",
            _ => "other",
        }
    ))
}

fn py_type(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A short repr for messages (long values are cut).
fn describe(v: &Bound<'_, PyAny>) -> String {
    let text = v
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into());
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
