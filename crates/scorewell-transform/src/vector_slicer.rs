//! `vector_slicer`: Spark ML's `VectorSlicer.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/VectorSlicer.scala`, Spark 3.x/4.x).
//!
//! Picks `indices` in the given order. A dense input gives a dense output and an index past
//! its end fails the batch; a sparse input gives a sparse output of `indices.len()` holding
//! the picked stored entries (an index past its end reads as an unstored zero, as Spark's
//! `SparseVector.slice` does). Spark's `names` (selection by ML attribute name) is not
//! supported: a loader must resolve names to indices. A null row gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, Stage, StageOutput};

use crate::common::{self, vector_stage_io};
use crate::error::{TransformError, invalid};
use crate::registry::{Registry, parse};

/// Parameters of [`VectorSlicer`].
///
/// - `input`, `output`: vector columns.
/// - `indices` (required, non-empty, distinct): positions to keep, in output order.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorSlicerParams {
    /// Vector column.
    pub input: String,
    /// Output vector column.
    pub output: String,
    /// Positions to keep.
    pub indices: Vec<u32>,
}

/// Selects vector entries (see the module docs).
#[derive(Debug, Clone)]
pub struct VectorSlicer {
    name: String,
    input: String,
    output: String,
    indices: Vec<i32>,
}

impl VectorSlicer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: VectorSlicerParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        if params.indices.is_empty() {
            return Err(TransformError::param(
                "indices",
                "must select at least one index",
            ));
        }
        let mut indices = Vec::with_capacity(params.indices.len());
        for (k, i) in params.indices.iter().enumerate() {
            let i = i32::try_from(*i).map_err(|_| {
                TransformError::param(format!("indices[{k}]"), "exceeds the largest vector index")
            })?;
            if indices.contains(&i) {
                return Err(TransformError::param(
                    format!("indices[{k}]"),
                    format!("index {i} is selected twice"),
                ));
            }
            indices.push(i);
        }
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            indices,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("vector_slicer", |name, params| {
        Ok(Arc::new(VectorSlicer::new(name, parse(params)?)?))
    });
}

impl Stage for VectorSlicer {
    vector_stage_io!();

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let out = common::map_vectors(
            batch.column(binding.columns[0]),
            &self.input,
            |row, v, b| {
                match v {
                    VectorRef::Dense(values) => {
                        let mut picked = Vec::with_capacity(self.indices.len());
                        for i in &self.indices {
                            match values.get(*i as usize) {
                                Some(x) => picked.push(*x),
                                None => {
                                    return Err(invalid(
                                        &self.input,
                                        row,
                                        format!(
                                            "index {i} is past the end of a vector of {} values",
                                            values.len()
                                        ),
                                    ));
                                }
                            }
                        }
                        b.push_dense(&picked);
                    }
                    VectorRef::Sparse {
                        indices, values, ..
                    } => {
                        let (mut is, mut vs) = (Vec::new(), Vec::new());
                        for (k, i) in self.indices.iter().enumerate() {
                            if let Ok(pos) = indices.binary_search(i) {
                                is.push(k as i32);
                                vs.push(values[pos]);
                            }
                        }
                        b.push_sparse(self.indices.len(), &is, &vs);
                    }
                }
                Ok(())
            },
        )?;
        Ok(vec![out].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn slices_dense_and_sparse() {
        let stage = build(
            "vector_slicer",
            json!({"input": "v", "output": "s", "indices": [3, 0]}),
        );
        let got = read_vectors(
            &run(
                &stage,
                &[(
                    "v",
                    vectors(&[
                        Some(V::Dense(vec![1.0, 2.0, 3.0, 4.0])),
                        Some(V::Sparse(5, vec![0, 2], vec![7.0, 8.0])),
                        None,
                    ]),
                )],
            )
            .unwrap()[0],
        );
        assert_eq!(got[0], Some(V::Dense(vec![4.0, 1.0])));
        assert_eq!(got[1], Some(V::Sparse(2, vec![1], vec![7.0])));
        assert_eq!(got[2], None);
        let err = run(&stage, &[("v", vectors(&[Some(V::Dense(vec![1.0]))]))]).unwrap_err();
        assert!(
            err.to_string()
                .contains("index 3 is past the end of a vector of 1 values"),
            "{err}"
        );
        assert_eq!(
            build_err(
                "vector_slicer",
                json!({"input": "v", "output": "s", "indices": [1, 1]})
            ),
            "indices[1]: index 1 is selected twice"
        );
    }
}
