//! Test helpers: small batches in, plain Rust values out.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use scorewell_core::vector::{VectorBuilder, VectorColumn, VectorRef};
use scorewell_core::{ScoreError, Stage, StageOutput};

/// A vector as tests write it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Dense(Vec<f64>),
    Sparse(usize, Vec<i32>, Vec<f64>),
}

pub(crate) fn vectors(rows: &[Option<V>]) -> ArrayRef {
    let mut b = VectorBuilder::default();
    for row in rows {
        match row {
            None => b.push_null(),
            Some(V::Dense(v)) => b.push_dense(v),
            Some(V::Sparse(n, i, v)) => b.push_sparse(*n, i, v),
        }
    }
    b.finish()
}

pub(crate) fn read_vectors(array: &ArrayRef) -> Vec<Option<V>> {
    let col = VectorColumn::try_new(array, "out").unwrap();
    (0..col.len())
        .map(|i| {
            col.get(i).map(|v| match v {
                VectorRef::Dense(d) => V::Dense(d.to_vec()),
                VectorRef::Sparse {
                    size,
                    indices,
                    values,
                } => V::Sparse(size, indices.to_vec(), values.to_vec()),
            })
        })
        .collect()
}

/// Compare allowing NaN == NaN.
pub(crate) fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

pub(crate) fn assert_dense(got: &Option<V>, want: &[f64]) {
    match got {
        Some(V::Dense(d))
            if d.len() == want.len() && d.iter().zip(want).all(|(a, b)| same(*a, *b)) => {}
        other => panic!("expected dense {want:?}, got {other:?}"),
    }
}

pub(crate) fn ints(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

pub(crate) fn floats(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

pub(crate) fn bools(v: &[Option<bool>]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}

pub(crate) fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

pub(crate) fn str_lists(rows: &[Option<Vec<Option<&str>>>]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in rows {
        match row {
            None => b.append_null(),
            Some(tokens) => {
                for t in tokens {
                    b.values().append_option(*t);
                }
                b.append(true);
            }
        }
    }
    Arc::new(b.finish())
}

pub(crate) fn read_str_lists(array: &ArrayRef) -> Vec<Option<Vec<Option<String>>>> {
    let list = array.as_list::<i32>();
    (0..list.len())
        .map(|i| {
            if list.is_null(i) {
                return None;
            }
            let v = list.value(i);
            let s = v.as_string::<i32>();
            Some(s.iter().map(|x| x.map(str::to_string)).collect())
        })
        .collect()
}

pub(crate) fn read_strs(array: &ArrayRef) -> Vec<Option<String>> {
    array
        .as_string::<i32>()
        .iter()
        .map(|x| x.map(str::to_string))
        .collect()
}

pub(crate) fn read_f64(array: &ArrayRef) -> Vec<Option<f64>> {
    array.as_primitive::<Float64Type>().iter().collect()
}

pub(crate) fn assert_f64(array: &ArrayRef, want: &[Option<f64>]) {
    let got = read_f64(array);
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| match (g, w) {
            (Some(a), Some(b)) => same(*a, *b),
            (None, None) => true,
            _ => false,
        });
    assert!(ok, "expected {want:?}, got {got:?}");
}

pub(crate) fn batch(columns: &[(&str, ArrayRef)]) -> RecordBatch {
    RecordBatch::try_from_iter(columns.iter().map(|(n, a)| (*n, a.clone()))).unwrap()
}

/// Bind and apply, returning the whole output (columns and keep mask).
pub(crate) fn run_full(
    stage: &Arc<dyn Stage>,
    columns: &[(&str, ArrayRef)],
) -> Result<StageOutput, ScoreError> {
    let batch = batch(columns);
    let binding = stage.bind(&batch.schema())?;
    let out = stage.apply(&binding, &batch)?;
    let fields = binding
        .outputs
        .clone()
        .unwrap_or_else(|| stage.output_fields());
    assert_eq!(out.columns.len(), fields.len());
    for (c, f) in out.columns.iter().zip(&fields) {
        assert_eq!(c.data_type(), f.data_type(), "output `{}`", f.name());
        assert_eq!(c.len(), batch.num_rows());
    }
    Ok(out)
}

/// Bind and apply, returning the output columns.
pub(crate) fn run(
    stage: &Arc<dyn Stage>,
    columns: &[(&str, ArrayRef)],
) -> Result<Vec<ArrayRef>, ScoreError> {
    run_full(stage, columns).map(|o| o.columns)
}

pub(crate) fn kept(out: &StageOutput) -> Vec<bool> {
    match &out.keep {
        None => vec![true; out.columns.first().map_or(0, |c| c.len())],
        Some(k) => k.iter().map(|v| v.unwrap_or(false)).collect(),
    }
}

pub(crate) fn build(kind: &str, params: serde_json::Value) -> Arc<dyn Stage> {
    crate::build(kind, kind, &params).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

pub(crate) fn build_err(kind: &str, params: serde_json::Value) -> String {
    match crate::build(kind, kind, &params) {
        Ok(_) => panic!("{kind} accepted bad params"),
        Err(e) => e.to_string(),
    }
}
