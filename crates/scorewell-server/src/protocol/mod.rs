//! Request bodies to Arrow batches and scored batches back to JSON.
//!
//! Both protocols ([`json`], [`kserve_v2`]) fill a `BatchBuilder` value by value and encode
//! answers with `Cell`. The rules they share:
//!
//! - **Model inputs** are built as the model asks: a numeric input becomes a `Float64` column
//!   (JSON numbers, `true`/`false` as 1/0); an input that also takes category names becomes a
//!   `Utf8` column when given strings, `Float64` when given numbers.
//! - **Other fields** are passed through: a `Float64` column for numbers and booleans, `Utf8`
//!   for strings; they reach the scorer (later stages may read them) and come back in `v1`
//!   answers.
//! - **Missing values**: `null`, or a field left out of some rows (but present in others).
//!   A model input left out of every row is an error that names it.
//! - **Size**: a request may hold at most [`Limits::max_cells`] values, counted as rows ×
//!   fields (a field missing from some rows counts in each of them, as it becomes a null);
//!   the count is checked before any column is padded, so a small body cannot make the
//!   server allocate more than that.
//! - **NaN and infinities**: JSON has no such numbers. Send the strings `"NaN"`,
//!   `"Infinity"` or `"-Infinity"` in a numeric column. The bare literals `NaN`, `Infinity`,
//!   `-Infinity` are refused as malformed JSON by `v1`; `v2` reads them as those strings,
//!   because Python's `json` module (and so `tritonclient`) writes them. Answers encode
//!   non-finite numbers as the strings.

pub(crate) mod binary;
pub mod json;
pub mod kserve_v2;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, Float64Array, NullArray, RecordBatch, StringArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::error::ApiError;
use crate::limits::Limits;
use crate::repository::LoadedModel;

/// Most pass-through fields a request may carry.
const MAX_EXTRA_FIELDS: usize = 1024;

/// One value from a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Num(f64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// An array of numbers: one row's vector (embeddings for a nearest-neighbour stage).
    List(Vec<f64>),
}

impl Value<'_> {
    fn describe(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Num(n) => format!("the number {n}"),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::List(v) => format!("an array of {} numbers", v.len()),
            Value::Str(s) => {
                let mut s = s.to_string();
                if s.len() > 40 {
                    let mut end = 40;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    s.truncate(end);
                    s.push('…');
                }
                format!("the string {s:?}")
            }
        }
    }
}

/// The non-finite numbers accepted as strings.
fn special_number(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

#[derive(Debug)]
enum Data {
    /// Only nulls so far.
    Unset,
    Num {
        values: Vec<f64>,
        /// Validity, made at the first null.
        valid: Option<Vec<bool>>,
    },
    Str(Vec<Option<String>>),
    /// Arrays of numbers: all values, each row's end offset, validity made at the first null.
    List {
        values: Vec<f64>,
        offsets: Vec<i32>,
        valid: Option<Vec<bool>>,
    },
}

#[derive(Debug)]
struct Col<'m> {
    name: Cow<'m, str>,
    /// `Some(numeric)` for a model input, `None` for a pass-through field.
    input: Option<bool>,
    data: Data,
    len: usize,
    seen: bool,
}

impl Col<'_> {
    fn push(&mut self, row: usize, v: Value<'_>) -> Result<(), String> {
        if self.len > row {
            return Err(format!("row {row} has field `{}` twice", self.name));
        }
        while self.len < row {
            self.push_null();
        }
        self.seen = true;
        let numeric_input = self.input == Some(true);
        if let Value::List(items) = v {
            return self.push_list(row, items);
        }
        if matches!(self.data, Data::List { .. }) && v != Value::Null {
            return Err(format!(
                "row {row}, field `{}`: expected an array of numbers, like the earlier rows of this field, got {}",
                self.name,
                v.describe()
            ));
        }
        let number = match v {
            Value::Null => {
                self.push_null();
                return Ok(());
            }
            Value::Num(n) => Some(n),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            // Handled by `push_list` above.
            Value::List(_) => None,
            Value::Str(ref s) => match (&self.data, special_number(s)) {
                (Data::Num { .. }, Some(n)) => Some(n),
                (Data::Unset, Some(n)) if numeric_input => Some(n),
                _ => None,
            },
        };
        match (&mut self.data, number) {
            (Data::Unset, Some(_)) => self.data = num_nulls(self.len),
            (Data::Unset, None) if !numeric_input => self.data = Data::Str(vec![None; self.len]),
            _ => {}
        }
        match (&mut self.data, number, v) {
            (Data::Num { values, valid }, Some(n), _) => {
                values.push(n);
                if let Some(valid) = valid {
                    valid.push(true);
                }
            }
            (Data::Str(values), None, Value::Str(s)) => values.push(Some(s.into_owned())),
            (data, _, v) => {
                let expected = match data {
                    _ if numeric_input => r#"a number (or null, "NaN", "Infinity", "-Infinity")"#,
                    Data::Str(_) => "a string, like the earlier rows of this field",
                    _ => "a number, like the earlier rows of this field",
                };
                return Err(format!(
                    "row {row}, field `{}`: expected {expected}, got {}",
                    self.name,
                    v.describe()
                ));
            }
        }
        self.len += 1;
        Ok(())
    }

    fn push_list(&mut self, row: usize, items: Vec<f64>) -> Result<(), String> {
        if self.input == Some(true) {
            return Err(format!(
                "row {row}, field `{}`: expected a number (arrays are only accepted for vector inputs), got an array of {} numbers",
                self.name,
                items.len()
            ));
        }
        if let Data::Unset = self.data {
            self.data = Data::List {
                values: Vec::new(),
                offsets: vec![0; self.len + 1],
                valid: (self.len > 0).then(|| vec![false; self.len]),
            };
        }
        let Data::List {
            values,
            offsets,
            valid,
        } = &mut self.data
        else {
            return Err(format!(
                "row {row}, field `{}`: expected a number or string like the earlier rows of this field, got an array",
                self.name
            ));
        };
        values.extend(items);
        let end = i32::try_from(values.len()).map_err(|_| {
            format!(
                "field `{}`: more array values than a batch holds",
                self.name
            )
        })?;
        offsets.push(end);
        if let Some(valid) = valid {
            valid.push(true);
        }
        self.len += 1;
        Ok(())
    }

    fn push_null(&mut self) {
        match &mut self.data {
            Data::Unset => {}
            Data::List { offsets, valid, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
                valid
                    .get_or_insert_with(|| vec![true; offsets.len() - 2])
                    .push(false);
            }
            Data::Num { values, valid } => {
                values.push(f64::NAN);
                valid
                    .get_or_insert_with(|| vec![true; values.len() - 1])
                    .push(false);
            }
            Data::Str(values) => values.push(None),
        }
        self.len += 1;
    }

    fn finish(self) -> (Field, ArrayRef) {
        let (dt, array): (DataType, ArrayRef) = match self.data {
            Data::Num { values, valid } => (
                DataType::Float64,
                Arc::new(Float64Array::new(
                    values.into(),
                    valid.map(NullBuffer::from),
                )),
            ),
            Data::Str(values) => (DataType::Utf8, Arc::new(StringArray::from(values))),
            Data::List {
                values,
                offsets,
                valid,
            } => {
                let item = Arc::new(Field::new("item", DataType::Float64, true));
                let list = arrow_array::ListArray::new(
                    item.clone(),
                    arrow_buffer::OffsetBuffer::new(offsets.into()),
                    Arc::new(Float64Array::from(values)),
                    valid.map(NullBuffer::from),
                );
                (DataType::List(item), Arc::new(list))
            }
            Data::Unset if self.input.is_some() => (
                DataType::Float64,
                Arc::new(Float64Array::new(
                    vec![f64::NAN; self.len].into(),
                    Some(NullBuffer::new_null(self.len)),
                )),
            ),
            Data::Unset => (DataType::Null, Arc::new(NullArray::new(self.len))),
        };
        (Field::new(self.name.into_owned(), dt, true), array)
    }
}

fn num_nulls(n: usize) -> Data {
    Data::Num {
        values: vec![f64::NAN; n],
        valid: (n > 0).then(|| vec![false; n]),
    }
}

/// Collects a request's values column by column, then makes the batch to score.
#[derive(Debug)]
pub(crate) struct BatchBuilder<'m> {
    model: &'m LoadedModel,
    /// The model's inputs (in model order), then pass-through fields in first-seen order.
    cols: Vec<Col<'m>>,
    extras: HashMap<String, usize>,
    max_rows: usize,
    max_cells: usize,
    /// Rows holding a value so far (the highest row index pushed, plus one).
    rows_seen: usize,
    /// Columns that appeared so far.
    cols_seen: usize,
    /// Numbers held in array values so far (each counts as a value against `max_cells`).
    list_values: usize,
    /// Set when a request went past `max_rows`, so the caller answers 413, not 400.
    pub(crate) too_many_rows: bool,
    /// Set when a request went past `max_cells`, so the caller answers 413, not 400.
    pub(crate) too_many_cells: bool,
}

impl<'m> BatchBuilder<'m> {
    pub(crate) fn new(model: &'m LoadedModel, limits: &Limits) -> Self {
        let cols = model
            .inputs()
            .iter()
            .map(|c| Col {
                name: Cow::Borrowed(c.name.as_str()),
                input: Some(c.numeric),
                data: Data::Unset,
                len: 0,
                seen: false,
            })
            .collect();
        Self {
            model,
            cols,
            extras: HashMap::new(),
            max_rows: limits.max_rows,
            max_cells: limits.max_cells,
            rows_seen: 0,
            cols_seen: 0,
            list_values: 0,
            too_many_rows: false,
            too_many_cells: false,
        }
    }

    /// The column for field `name`; `guess` is where it usually is (its position in the row).
    pub(crate) fn column(&mut self, name: &str, guess: usize) -> Result<usize, String> {
        let inputs = self.model.inputs();
        if inputs.get(guess).is_some_and(|c| c.name == name) {
            return Ok(guess);
        }
        if let Some(i) = self.model.input_position(name) {
            return Ok(i);
        }
        if let Some(&i) = self.extras.get(name) {
            return Ok(i);
        }
        if self.extras.len() >= MAX_EXTRA_FIELDS {
            return Err(format!(
                "more than {MAX_EXTRA_FIELDS} fields that are not model inputs"
            ));
        }
        let i = self.cols.len();
        self.cols.push(Col {
            name: Cow::Owned(name.to_string()),
            input: None,
            data: Data::Unset,
            len: 0,
            seen: false,
        });
        self.extras.insert(name.to_string(), i);
        Ok(i)
    }

    /// Store `v` at `row` of column `col`; refuses rows and cells past the limits.
    pub(crate) fn push(&mut self, col: usize, row: usize, v: Value<'_>) -> Result<(), String> {
        if row >= self.max_rows {
            self.too_many_rows = true;
            return Err(format!("more than {} rows", self.max_rows));
        }
        let newly_seen = match self.cols.get(col) {
            Some(c) => !c.seen,
            None => return Err(format!("no column {col}")),
        };
        // Checked before the value lands: storing it pads the column with nulls up to `row`,
        // and `finish` pads every column to the last row.
        let rows = self.rows_seen.max(row + 1);
        let cols = self.cols_seen + usize::from(newly_seen);
        self.check_cells(rows, cols)?;
        self.rows_seen = rows;
        self.cols_seen = cols;
        match self.cols.get_mut(col) {
            Some(c) => c.push(row, v),
            None => Err(format!("no column {col}")),
        }
    }

    /// Count one number inside an array value against `max_cells`.
    pub(crate) fn count_list_value(&mut self) -> Result<(), String> {
        self.list_values += 1;
        if self.list_values > self.max_cells {
            self.too_many_cells = true;
            return Err(format!("more than {} values", self.max_cells));
        }
        Ok(())
    }

    /// Mark a field present (e.g. an empty column) without a value.
    pub(crate) fn touch(&mut self, col: usize) -> Result<(), String> {
        match self.cols.get(col) {
            Some(c) if c.seen => return Err(format!("field `{}` appears twice", c.name)),
            Some(_) => {}
            None => return Err(format!("no column {col}")),
        }
        self.check_cells(self.rows_seen, self.cols_seen + 1)?;
        self.cols_seen += 1;
        if let Some(c) = self.cols.get_mut(col) {
            c.seen = true;
        }
        Ok(())
    }

    /// Refuse a batch of `rows` × `cols` values past `max_cells`.
    fn check_cells(&mut self, rows: usize, cols: usize) -> Result<(), String> {
        if rows.saturating_mul(cols) > self.max_cells {
            self.too_many_cells = true;
            return Err(format!("more than {} values", self.max_cells));
        }
        Ok(())
    }

    /// Values stored in `col` so far.
    pub(crate) fn len(&self, col: usize) -> usize {
        self.cols.get(col).map_or(0, |c| c.len)
    }

    /// Name of column `col`.
    pub(crate) fn name(&self, col: usize) -> &str {
        self.cols.get(col).map_or("", |c| c.name.as_ref())
    }

    /// The batch of `rows` rows: every field that appeared, model inputs first. Columns
    /// shorter than `rows` are padded with nulls (fields left out of the last rows).
    pub(crate) fn finish(self, rows: usize) -> Result<Built, ApiError> {
        if rows == 0 {
            return Err(ApiError::EmptyRows);
        }
        if rows.saturating_mul(self.cols_seen) > self.max_cells {
            return Err(ApiError::TooManyCells {
                limit: self.max_cells,
            });
        }
        let model = self.model;
        let mut fields = Vec::with_capacity(self.cols.len());
        let mut arrays = Vec::with_capacity(self.cols.len());
        let mut inputs_present = 0;
        for mut col in self.cols.into_iter().filter(|c| c.seen) {
            while col.len < rows {
                col.push_null();
            }
            if col.input.is_some() {
                inputs_present += 1;
            }
            let (field, array) = col.finish();
            fields.push(field);
            arrays.push(array);
        }
        let schema = reuse_schema(model, fields);
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema, arrays, &options)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Built {
            batch,
            inputs_present,
        })
    }
}

impl BatchBuilder<'_> {
    /// The 413 for a request that went past a limit, if it did.
    pub(crate) fn limit_error(&self) -> Option<ApiError> {
        if self.too_many_rows {
            Some(ApiError::TooManyRows {
                limit: self.max_rows,
            })
        } else if self.too_many_cells {
            Some(ApiError::TooManyCells {
                limit: self.max_cells,
            })
        } else {
            None
        }
    }
}

/// A request as a batch.
pub(crate) struct Built {
    pub(crate) batch: RecordBatch,
    /// How many of the batch's first columns are model inputs (the rest are passed through).
    pub(crate) inputs_present: usize,
}

/// The schema of the previous request when it has the same fields, so the scorer's bound
/// schema is found by pointer and nothing is re-bound.
fn reuse_schema(model: &LoadedModel, fields: Vec<Field>) -> SchemaRef {
    if let Some(last) = model.last_schema.load().as_ref()
        && last.fields().len() == fields.len()
        && last
            .fields()
            .iter()
            .zip(&fields)
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
    {
        return last.clone();
    }
    let schema = Arc::new(Schema::new(fields));
    model.last_schema.store(Some(schema.clone()));
    schema
}

/// One value of an Arrow array, serialized as JSON (non-finite floats as strings).
pub(crate) struct Cell<'a>(pub(crate) &'a dyn Array, pub(crate) usize);

fn float<S: Serializer>(s: S, v: f64) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if v > 0.0 {
        s.serialize_str("Infinity")
    } else {
        s.serialize_str("-Infinity")
    }
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Cell(a, i) = *self;
        if a.is_null(i) {
            return s.serialize_unit();
        }
        match a.data_type() {
            DataType::Float64 => float(s, a.as_primitive::<Float64Type>().value(i)),
            DataType::Float32 => {
                let v = a.as_primitive::<Float32Type>().value(i);
                if v.is_finite() {
                    s.serialize_f32(v)
                } else {
                    float(s, f64::from(v))
                }
            }
            DataType::Float16 => float(s, a.as_primitive::<Float16Type>().value(i).to_f64()),
            DataType::Int8 => s.serialize_i8(a.as_primitive::<Int8Type>().value(i)),
            DataType::Int16 => s.serialize_i16(a.as_primitive::<Int16Type>().value(i)),
            DataType::Int32 => s.serialize_i32(a.as_primitive::<Int32Type>().value(i)),
            DataType::Int64 => s.serialize_i64(a.as_primitive::<Int64Type>().value(i)),
            DataType::UInt8 => s.serialize_u8(a.as_primitive::<UInt8Type>().value(i)),
            DataType::UInt16 => s.serialize_u16(a.as_primitive::<UInt16Type>().value(i)),
            DataType::UInt32 => s.serialize_u32(a.as_primitive::<UInt32Type>().value(i)),
            DataType::UInt64 => s.serialize_u64(a.as_primitive::<UInt64Type>().value(i)),
            DataType::Boolean => s.serialize_bool(a.as_boolean().value(i)),
            DataType::Utf8 => s.serialize_str(a.as_string::<i32>().value(i)),
            DataType::LargeUtf8 => s.serialize_str(a.as_string::<i64>().value(i)),
            DataType::Utf8View => s.serialize_str(a.as_string_view().value(i)),
            DataType::Null => s.serialize_unit(),
            DataType::Dictionary(_, _) => {
                let d = a.as_any_dictionary();
                let key = d.normalized_keys().get(i).copied().unwrap_or(0);
                Cell(d.values().as_ref(), key).serialize(s)
            }
            DataType::FixedSizeList(_, _) => list(s, &a.as_fixed_size_list().value(i)),
            DataType::List(_) => list(s, &a.as_list::<i32>().value(i)),
            DataType::LargeList(_) => list(s, &a.as_list::<i64>().value(i)),
            other => Err(S::Error::custom(format!(
                "cannot write a column of type {other} as JSON"
            ))),
        }
    }
}

fn list<S: Serializer>(s: S, values: &ArrayRef) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(values.len()))?;
    for j in 0..values.len() {
        seq.serialize_element(&Cell(values.as_ref(), j))?;
    }
    seq.end()
}

/// A serde_json error as an [`ApiError`]: syntax errors are malformed JSON (with a hint for
/// `NaN`/`Infinity` literals), the rest invalid requests; `too_many_rows` wins over both.
pub(crate) fn json_error(e: serde_json::Error, body: &[u8], b: &BatchBuilder<'_>) -> ApiError {
    if let Some(e) = b.limit_error() {
        return e;
    }
    decode_error(e, body)
}

/// Like [`json_error`] without a builder.
pub(crate) fn decode_error(e: serde_json::Error, body: &[u8]) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            if literal_at(body, e.line(), e.column()) {
                ApiError::InvalidJson(format!(
                    "{e}: NaN and Infinity are not JSON numbers; send null for a missing value \
                     or the strings \"NaN\", \"Infinity\", \"-Infinity\""
                ))
            } else {
                ApiError::InvalidJson(e.to_string())
            }
        }
        Category::Data => ApiError::InvalidRequest(e.to_string()),
    }
}

/// `body` with the bare literals `NaN`, `Infinity` and `-Infinity` (outside strings) quoted,
/// so they parse as the strings a floating-point tensor reads as those numbers. Python's
/// `json` module, and so `tritonclient`, writes NaN that way; Triton accepts it.
pub(crate) fn quote_non_finite(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        let literal = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|lit| rest.starts_with(lit));
        match literal {
            Some(lit) => {
                out.push(b'"');
                out.extend_from_slice(lit);
                out.push(b'"');
                i += lit.len();
            }
            None => {
                in_string = b == b'"';
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Whether a `NaN`/`Infinity` literal sits near `line`:`column` (1-based) of `body`.
pub(crate) fn literal_at(body: &[u8], line: usize, column: usize) -> bool {
    let start: usize = body
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    let at = start + column.saturating_sub(1);
    let from = at.saturating_sub(10);
    let to = (at + 10).min(body.len());
    body.get(from..to).is_some_and(|window| {
        window.windows(3).any(|w| w == b"NaN") || window.windows(8).any(|w| w == b"Infinity")
    })
}

#[cfg(test)]
mod tests {
    use super::quote_non_finite;

    #[test]
    fn bare_non_finite_literals_are_quoted_outside_strings_only() {
        let body = br#"{"data":[NaN,-Infinity,1,Infinity],"s":"NaN \"Infinity\" \\","t":[NaN]}"#;
        let quoted = quote_non_finite(body);
        assert_eq!(
            std::str::from_utf8(&quoted).unwrap(),
            r#"{"data":["NaN","-Infinity",1,"Infinity"],"s":"NaN \"Infinity\" \\","t":["NaN"]}"#
        );
        assert!(serde_json::from_slice::<serde_json::Value>(&quoted).is_ok());
    }
}
