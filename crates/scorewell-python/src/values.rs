//! Scored Arrow values as plain Python objects, for callers that sent dicts.
//!
//! Floats become `float` (a null float is `None`), integers `int`, booleans `bool`, strings
//! `str`, lists and ML vectors `list` (a sparse vector densified), other structs `dict`.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use scorewell::vector::{VectorColumn, is_vector};

use crate::errors::ScorewellError;

/// Row `row` of `columns` as a dict keyed by `names`.
pub(crate) fn row_to_dict<'py>(
    py: Python<'py>,
    names: &[Py<PyString>],
    columns: &[ArrayRef],
    row: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, column) in names.iter().zip(columns) {
        let name = name.bind(py);
        let v = value(py, column.as_ref(), row)
            .map_err(|e| ScorewellError::new_err(format!("output column `{name}`: {e}")))?;
        dict.set_item(name, v)?;
    }
    Ok(dict)
}

/// Element `row` of `array` as a Python object.
pub(crate) fn value<'py>(
    py: Python<'py>,
    array: &dyn Array,
    row: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if array.is_null(row) {
        return Ok(py.None().into_bound(py));
    }
    macro_rules! prim {
        ($t:ty) => {
            array.as_primitive::<$t>().value(row).into_bound_py_any(py)
        };
    }
    match array.data_type() {
        DataType::Float64 => prim!(Float64Type),
        DataType::Float32 => {
            (array.as_primitive::<Float32Type>().value(row) as f64).into_bound_py_any(py)
        }
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Boolean => array.as_boolean().value(row).into_bound_py_any(py),
        DataType::Utf8 => array.as_string::<i32>().value(row).into_bound_py_any(py),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into_bound_py_any(py),
        DataType::Utf8View => array.as_string_view().value(row).into_bound_py_any(py),
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            value(py, dict.values().as_ref(), key)
        }
        dt if is_vector(dt) && matches!(dt, DataType::Struct(_)) => {
            let column = VectorColumn::try_new(&array.slice(row, 1), "")
                .map_err(|e| ScorewellError::new_err(e.to_string()))?;
            let dense = column.get(0).map(|v| v.to_dense()).unwrap_or_default();
            dense.into_bound_py_any(py)
        }
        DataType::List(_) => list(py, array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(py, array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(_, _) => list(py, array.as_fixed_size_list().value(row).as_ref()),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let dict = PyDict::new(py);
            for (field, column) in fields.iter().zip(s.columns()) {
                dict.set_item(field.name(), value(py, column.as_ref(), row)?)?;
            }
            Ok(dict.into_any())
        }
        other => Err(ScorewellError::new_err(format!(
            "Arrow type {other} has no plain Python value here; score a pandas DataFrame or \
             pyarrow Table instead"
        ))),
    }
}

fn list<'py>(py: Python<'py>, items: &dyn Array) -> PyResult<Bound<'py, PyAny>> {
    let out = PyList::empty(py);
    for i in 0..items.len() {
        out.append(value(py, items, i)?)?;
    }
    Ok(out.into_any())
}
