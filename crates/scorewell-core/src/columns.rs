//! Arrow columns as the forest evaluator's [`FeatureSource`].

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray};
use arrow_schema::DataType;
use scorewell_forest::{FeatureSource, Float};

use crate::error::{Result, ScoreError};

/// What a feature column may hold.
pub(crate) const NUMERIC_TYPES: &str = "a number (integer, float or boolean)";

/// Whether `dt` is a type a numeric feature can be read from.
pub(crate) fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float64
            | DataType::Float32
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Boolean
            | DataType::Null
    )
}

/// Whether `dt` is a string type a named-category feature can be read from.
pub(crate) fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

/// One feature column, ready to be copied into row blocks.
pub(crate) enum FeatureColumn<'a> {
    Array(&'a dyn Array),
    /// Category names already mapped to codes (NaN for null or unknown names).
    Codes(Vec<f64>),
}

/// The columns of one batch, in the model's feature order.
pub(crate) struct FeatureColumns<'a> {
    pub(crate) columns: Vec<FeatureColumn<'a>>,
    pub(crate) rows: usize,
}

/// Map a string column to category codes through `index` (unknown names and nulls → NaN,
/// as pandas' `cat.codes == -1` becomes NaN in LightGBM and XGBoost).
pub(crate) fn string_codes(array: &ArrayRef, index: &HashMap<String, f64>) -> Result<Vec<f64>> {
    let lookup = |s: Option<&str>| s.and_then(|s| index.get(s).copied()).unwrap_or(f64::NAN);
    Ok(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(lookup).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(lookup).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(lookup).collect(),
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let values = string_codes(dict.values(), index)?;
            let keys = dict.normalized_keys();
            let nulls = array.logical_nulls();
            keys.iter()
                .enumerate()
                .map(|(i, k)| match &nulls {
                    Some(n) if n.is_null(i) => f64::NAN,
                    _ => values.get(*k).copied().unwrap_or(f64::NAN),
                })
                .collect()
        }
        other => {
            return Err(ScoreError::ColumnType {
                column: String::new(),
                expected: "strings".into(),
                got: other.to_string(),
            });
        }
    })
}

/// `rows` values of `array` from `start`, as `T`, into `dst` (null → NaN).
fn fill_primitive<'o, P: ArrowPrimitiveType, T: Float + 'o>(
    array: &PrimitiveArray<P>,
    start: usize,
    rows: usize,
    dst: impl Iterator<Item = &'o mut T>,
    to_f64: impl Fn(P::Native) -> f64,
) {
    let values = &array.values()[start..start + rows];
    match array.nulls() {
        None => {
            for (d, v) in dst.zip(values) {
                *d = T::from_f64(to_f64(*v));
            }
        }
        Some(nulls) => {
            for (r, (d, v)) in dst.zip(values).enumerate() {
                *d = if nulls.is_valid(start + r) {
                    T::from_f64(to_f64(*v))
                } else {
                    T::NAN
                };
            }
        }
    }
}

fn fill_bool<'o, T: Float + 'o>(
    array: &BooleanArray,
    start: usize,
    rows: usize,
    dst: impl Iterator<Item = &'o mut T>,
) {
    for (r, d) in dst.take(rows).enumerate() {
        let i = start + r;
        *d = if array.is_null(i) {
            T::NAN
        } else if array.value(i) {
            T::ONE
        } else {
            T::ZERO
        };
    }
}

/// Rows `start .. start + rows` of one feature column into `dst`, the positions of that
/// feature's values in a row-major block or a column of a column-major one.
fn column_into<'o, T: Float + 'o>(
    column: &FeatureColumn<'_>,
    start: usize,
    rows: usize,
    dst: impl Iterator<Item = &'o mut T>,
) {
    let array = match column {
        FeatureColumn::Codes(codes) => {
            for (d, v) in dst.zip(&codes[start..start + rows]) {
                *d = T::from_f64(*v);
            }
            return;
        }
        FeatureColumn::Array(a) => *a,
    };
    macro_rules! prim {
        ($t:ty) => {
            fill_primitive(array.as_primitive::<$t>(), start, rows, dst, |v| v as f64)
        };
    }
    match array.data_type() {
        DataType::Float64 => prim!(Float64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Boolean => fill_bool(array.as_boolean(), start, rows, dst),
        // Null columns, and anything `bind` let through by mistake, read as missing.
        _ => {
            for d in dst.take(rows) {
                *d = T::NAN;
            }
        }
    }
}

impl FeatureSource for FeatureColumns<'_> {
    fn num_rows(&self) -> usize {
        self.rows
    }

    fn fill<T: Float>(&self, start: usize, rows: usize, stride: usize, out: &mut [T]) {
        for (f, column) in self.columns.iter().enumerate() {
            column_into(column, start, rows, out[f..].iter_mut().step_by(stride));
        }
    }

    fn fill_columns<T: Float>(
        &self,
        start: usize,
        rows: usize,
        width: usize,
        pitch: usize,
        out: &mut [T],
    ) {
        // Each column is one contiguous run: the conversion vectorizes.
        for (f, column) in self.columns.iter().enumerate().take(width) {
            column_into(
                column,
                start,
                rows,
                out[f * pitch..f * pitch + rows].iter_mut(),
            );
        }
    }
}
