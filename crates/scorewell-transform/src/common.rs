//! Pieces every transform uses: the `handle_invalid` policy, input/output column pairs,
//! binding with type checks, column readers and output builders.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, ListArray, StringArray};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{VECTOR_TYPES, VectorBuilder, is_vector, vector_data_type};
use scorewell_core::{Binding, InputColumn, ScoreError, find_column};

use crate::error::TransformError;
use crate::java;

/// Spark's `handleInvalid` param: what a stage does with a value it cannot transform
/// (null, NaN, an unseen label, an out-of-range index, depending on the stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandleInvalid {
    /// Fail the batch (Spark's default).
    #[default]
    Error,
    /// Drop the row.
    Skip,
    /// Keep the row with a stage-specific stand-in (an extra index, NaN, an extra bucket).
    Keep,
}

impl HandleInvalid {
    /// The Spark spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Skip => "skip",
            Self::Keep => "keep",
        }
    }
}

/// Resolve the `input`/`output` or `inputs`/`outputs` params into parallel lists.
/// Returns whether the multi-column form was used.
pub(crate) fn column_pairs(
    input: Option<String>,
    output: Option<String>,
    inputs: Option<Vec<String>>,
    outputs: Option<Vec<String>>,
) -> Result<(Vec<String>, Vec<String>, bool), TransformError> {
    let (ins, outs, multi) = match (input, output, inputs, outputs) {
        (Some(i), Some(o), None, None) => (vec![i], vec![o], false),
        (None, None, Some(is), Some(os)) => {
            if is.is_empty() {
                return Err(TransformError::param(
                    "inputs",
                    "must name at least one column",
                ));
            }
            if is.len() != os.len() {
                return Err(TransformError::param(
                    "outputs",
                    format!("has {} names but `inputs` has {}", os.len(), is.len()),
                ));
            }
            (is, os, true)
        }
        (Some(_), _, Some(_), _) | (Some(_), _, _, Some(_)) | (_, Some(_), Some(_), _) => {
            return Err(TransformError::param(
                "",
                "give either `input`/`output` or `inputs`/`outputs`, not both",
            ));
        }
        (Some(_), None, ..) => return Err(TransformError::param("", "missing field `output`")),
        (None, Some(_), ..) => return Err(TransformError::param("", "missing field `input`")),
        (None, None, Some(_), None) => {
            return Err(TransformError::param("", "missing field `outputs`"));
        }
        (None, None, None, Some(_)) => {
            return Err(TransformError::param("", "missing field `inputs`"));
        }
        (None, None, None, None) => {
            return Err(TransformError::param(
                "",
                "missing field `input` (or `inputs` for several columns)",
            ));
        }
    };
    check_names(if multi { "inputs" } else { "input" }, &ins, false)?;
    check_names(if multi { "outputs" } else { "output" }, &outs, true)?;
    Ok((ins, outs, multi))
}

/// Column names must be non-empty; output names must also be distinct.
pub(crate) fn check_names(
    path: &str,
    names: &[String],
    distinct: bool,
) -> Result<(), TransformError> {
    for (i, name) in names.iter().enumerate() {
        let at = if names.len() > 1 || path.ends_with('s') {
            format!("{path}[{i}]")
        } else {
            path.to_string()
        };
        if name.is_empty() {
            return Err(TransformError::param(at, "column name is empty"));
        }
        if distinct && names[..i].contains(name) {
            return Err(TransformError::param(
                at,
                format!("column `{name}` is named twice"),
            ));
        }
    }
    Ok(())
}

/// What an input column may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// Integer, float, decimal or boolean (nulls are missing values).
    Numeric,
    /// Strings.
    String,
    /// Strings, or numbers read as Spark casts them to strings.
    StringOrNumeric,
    /// Numbers, booleans or strings (FeatureHasher).
    Scalar,
    /// A vector column (Spark VectorUDT or a list of floats).
    Vector,
    /// A number or a vector (VectorAssembler).
    NumericOrVector,
    /// A list of strings (tokens).
    StringList,
    /// A list of strings, integers, floats or booleans (HashingTF terms).
    TermList,
}

pub(crate) const NUMERIC_TYPES: &str = "a number (integer, float, decimal or boolean)";

impl Accept {
    pub(crate) fn admits(self, dt: &DataType) -> bool {
        match self {
            Accept::Numeric => is_numeric(dt),
            Accept::String => is_string(dt),
            Accept::StringOrNumeric | Accept::Scalar => is_string(dt) || is_numeric(dt),
            Accept::Vector => is_vector(dt),
            Accept::NumericOrVector => is_numeric(dt) || is_vector(dt),
            Accept::StringList => {
                list_item(dt).is_some_and(|t| is_string(t) || *t == DataType::Null)
            }
            Accept::TermList => list_item(dt).is_some_and(|t| {
                is_string(t)
                    || matches!(
                        t,
                        DataType::Int8
                            | DataType::Int16
                            | DataType::Int32
                            | DataType::Int64
                            | DataType::Float32
                            | DataType::Float64
                            | DataType::Boolean
                            | DataType::Null
                    )
            }),
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            Accept::Numeric => NUMERIC_TYPES.into(),
            Accept::String => "strings".into(),
            Accept::StringOrNumeric => "strings or numbers".into(),
            Accept::Scalar => "numbers, booleans or strings".into(),
            Accept::Vector => VECTOR_TYPES.into(),
            Accept::NumericOrVector => format!("{NUMERIC_TYPES} or {VECTOR_TYPES}"),
            Accept::StringList => "a list of strings".into(),
            Accept::TermList => "a list of strings, integers, floats or booleans".into(),
        }
    }
}

pub(crate) fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float64
            | DataType::Float32
            | DataType::Float16
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _)
            | DataType::Boolean
            | DataType::Null
    )
}

pub(crate) fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

fn list_item(dt: &DataType) -> Option<&DataType> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// Declared inputs for [`scorewell_core::Stage::inputs`].
pub(crate) fn input_columns(names: &[String], accept: Accept) -> Vec<InputColumn> {
    names
        .iter()
        .map(|name| match accept {
            Accept::Vector => InputColumn::vector(name.clone()),
            _ => InputColumn::new(name.clone(), accept == Accept::Numeric),
        })
        .collect()
}

/// Find each column in `schema` and check its type.
pub(crate) fn bind<'a>(
    schema: &Schema,
    stage: &str,
    columns: impl IntoIterator<Item = (&'a str, Accept)>,
) -> Result<Binding, ScoreError> {
    let mut indices = Vec::new();
    for (name, accept) in columns {
        let index = find_column(schema, name, || format!("transform `{stage}`"))?;
        let dt = schema.field(index).data_type();
        if !accept.admits(dt) {
            return Err(ScoreError::ColumnType {
                column: name.to_string(),
                expected: accept.describe(),
                got: dt.to_string(),
            });
        }
        indices.push(index);
    }
    Ok(Binding::new(indices))
}

/// A numeric column as `f64` (null stays null).
pub(crate) fn f64_column(array: &ArrayRef) -> Result<Float64Array, ScoreError> {
    if let Some(a) = array.as_primitive_opt::<Float64Type>() {
        return Ok(a.clone());
    }
    let cast = arrow_cast::cast(array, &DataType::Float64)?;
    Ok(cast.as_primitive::<Float64Type>().clone())
}

/// A string column as `StringArray`.
pub(crate) fn string_column(array: &ArrayRef) -> Result<StringArray, ScoreError> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Ok(a.clone());
    }
    let cast = arrow_cast::cast(array, &DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

/// A string or numeric column as the strings Spark's `cast(StringType)` makes: integers in
/// decimal, floats as Java's `Double.toString` / `Float.toString`, booleans `true`/`false`.
pub(crate) fn spark_string_column(array: &ArrayRef) -> Result<StringArray, ScoreError> {
    let java = |values: Vec<Option<String>>| StringArray::from(values);
    Ok(match array.data_type() {
        DataType::Float64 => java(
            array
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(java::double_to_string))
                .collect(),
        ),
        DataType::Float32 => java(
            array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(java::float_to_string))
                .collect(),
        ),
        DataType::Float16 => java(
            array
                .as_primitive::<Float16Type>()
                .iter()
                .map(|v| v.map(|h| java::float_to_string(h.to_f32())))
                .collect(),
        ),
        _ => string_column(array)?,
    })
}

/// A list-of-strings column opened for reading by row.
pub(crate) struct StringLists {
    list: ListArray,
    values: StringArray,
}

impl StringLists {
    pub(crate) fn try_new(array: &ArrayRef) -> Result<Self, ScoreError> {
        let target = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let list = match array.as_list_opt::<i32>() {
            Some(l) if l.values().data_type() == &DataType::Utf8 => l.clone(),
            _ => arrow_cast::cast(array, &target)?.as_list::<i32>().clone(),
        };
        let values = string_column(list.values())?;
        Ok(Self { list, values })
    }

    /// Row `i`'s tokens (a null token is `None`), or `None` for a null row.
    pub(crate) fn row(&self, i: usize) -> Option<impl Iterator<Item = Option<&str>> + '_> {
        if self.list.is_null(i) {
            return None;
        }
        let offsets = self.list.value_offsets();
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        Some((start..end).map(|j| {
            if self.values.is_null(j) {
                None
            } else {
                Some(self.values.value(j))
            }
        }))
    }
}

/// Output field of a `Float64` column.
pub(crate) fn f64_field(name: &str) -> FieldRef {
    Arc::new(Field::new(name, DataType::Float64, true))
}

/// Output field of a vector column.
pub(crate) fn vector_field(name: &str) -> FieldRef {
    Arc::new(Field::new(name, vector_data_type(), true))
}

/// Output field of a string column.
pub(crate) fn string_field(name: &str) -> FieldRef {
    Arc::new(Field::new(name, DataType::Utf8, true))
}

fn string_item() -> FieldRef {
    Arc::new(Field::new("element", DataType::Utf8, true))
}

/// Output field of a list-of-strings column (Spark `array<string>`).
pub(crate) fn string_list_field(name: &str) -> FieldRef {
    Arc::new(Field::new(name, DataType::List(string_item()), true))
}

/// A builder whose output matches [`string_list_field`].
pub(crate) fn string_list_builder(rows: usize) -> ListBuilder<StringBuilder> {
    ListBuilder::with_capacity(StringBuilder::new(), rows).with_field(string_item())
}

/// Rows to keep, or `None` when every row stays.
pub(crate) fn keep_mask(keep: Vec<bool>) -> Option<BooleanArray> {
    if keep.iter().all(|k| *k) {
        None
    } else {
        Some(BooleanArray::from(keep))
    }
}

/// Append a vector given by its active entries as Spark's `Vector.compressed` stores it:
/// sparse (explicit zeros dropped) when `1.5 * (nnz + 1) < size`, dense otherwise. NaN
/// counts as non-zero.
pub(crate) fn push_compressed(b: &mut VectorBuilder, size: usize, indices: &[i32], values: &[f64]) {
    let nnz = values.iter().filter(|v| **v != 0.0).count();
    if 1.5 * (nnz as f64 + 1.0) < size as f64 {
        if nnz == values.len() {
            b.push_sparse(size, indices, values);
        } else {
            let (mut is, mut vs) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
            for (i, v) in indices.iter().zip(values) {
                if *v != 0.0 {
                    is.push(*i);
                    vs.push(*v);
                }
            }
            b.push_sparse(size, &is, &vs);
        }
    } else {
        let mut dense = vec![0.0; size];
        for (i, v) in indices.iter().zip(values) {
            if let Some(slot) = dense.get_mut(*i as usize) {
                *slot = *v;
            }
        }
        b.push_dense(&dense);
    }
}

/// [`push_compressed`] for a dense array of values.
pub(crate) fn push_compressed_dense(b: &mut VectorBuilder, values: &[f64]) {
    let nnz = values.iter().filter(|v| **v != 0.0).count();
    if 1.5 * (nnz as f64 + 1.0) < values.len() as f64 {
        let (mut is, mut vs) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        for (i, v) in values.iter().enumerate() {
            if *v != 0.0 {
                is.push(i as i32);
                vs.push(*v);
            }
        }
        b.push_sparse(values.len(), &is, &vs);
    } else {
        b.push_dense(values);
    }
}

/// Java's `%` made non-negative (Spark's `Utils.nonNegativeMod`).
pub(crate) fn non_negative_mod(x: i32, m: i32) -> i32 {
    let r = x.wrapping_rem(m);
    if r < 0 { r + m } else { r }
}

/// Sizes and indices in vectors are Java `int`s.
pub(crate) fn check_vector_size(path: &str, n: usize) -> Result<(), TransformError> {
    if n > i32::MAX as usize {
        return Err(TransformError::param(
            path,
            format!("{n} exceeds the largest vector size {}", i32::MAX),
        ));
    }
    Ok(())
}

/// Apply `f(row, vector, builder)` to every non-null row of a vector column; null rows stay
/// null.
pub(crate) fn map_vectors(
    array: &ArrayRef,
    column: &str,
    mut f: impl FnMut(
        usize,
        scorewell_core::vector::VectorRef<'_>,
        &mut VectorBuilder,
    ) -> Result<(), ScoreError>,
) -> Result<ArrayRef, ScoreError> {
    let vectors = scorewell_core::vector::VectorColumn::try_new(array, column)?;
    let mut b = VectorBuilder::with_capacity(vectors.len());
    for row in 0..vectors.len() {
        match vectors.get(row) {
            None => b.push_null(),
            Some(v) => f(row, v, &mut b)?,
        }
    }
    Ok(b.finish())
}

/// The single-input, single-output vector stages' boilerplate.
macro_rules! vector_stage_io {
    () => {
        fn name(&self) -> &str {
            &self.name
        }

        fn inputs(&self) -> Vec<scorewell_core::InputColumn> {
            crate::common::input_columns(
                std::slice::from_ref(&self.input),
                crate::common::Accept::Vector,
            )
        }

        fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
            vec![crate::common::vector_field(&self.output)]
        }

        fn bind(
            &self,
            schema: &arrow_schema::Schema,
        ) -> scorewell_core::Result<scorewell_core::Binding> {
            crate::common::bind(
                schema,
                &self.name,
                [(self.input.as_str(), crate::common::Accept::Vector)],
            )
        }
    };
}
pub(crate) use vector_stage_io;
