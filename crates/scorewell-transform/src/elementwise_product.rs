//! `elementwise_product`: Spark ML's `ElementwiseProduct`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/ElementwiseProduct.scala`, Spark 3.x/4.x).
//!
//! Multiplies each value by the matching entry of `scaling_vec` (Hadamard product): sparse
//! stays sparse with its stored entries, dense stays dense. A vector whose size differs
//! from `scaling_vec` fails the batch; a null row gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, Stage, StageOutput};

use crate::common::{self, vector_stage_io};
use crate::error::{TransformError, invalid};
use crate::registry::{Registry, parse};

/// Parameters of [`ElementwiseProduct`].
///
/// - `input`, `output`: vector columns.
/// - `scaling_vec` (required): the per-entry weights.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementwiseProductParams {
    /// Vector column.
    pub input: String,
    /// Output vector column.
    pub output: String,
    /// Per-entry weights.
    pub scaling_vec: Vec<f64>,
}

/// Multiplies vectors entry by entry (see the module docs).
#[derive(Debug, Clone)]
pub struct ElementwiseProduct {
    name: String,
    input: String,
    output: String,
    scaling: Vec<f64>,
}

impl ElementwiseProduct {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: ElementwiseProductParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        common::check_vector_size("scaling_vec", params.scaling_vec.len())?;
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            scaling: params.scaling_vec,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("elementwise_product", |name, params| {
        Ok(Arc::new(ElementwiseProduct::new(name, parse(params)?)?))
    });
}

impl Stage for ElementwiseProduct {
    vector_stage_io!();

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let n = self.scaling.len();
        let out = common::map_vectors(
            batch.column(binding.columns[0]),
            &self.input,
            |row, v, b| {
                if v.len() != n {
                    return Err(invalid(
                        &self.input,
                        row,
                        format!("vector has {} values but `scaling_vec` has {n}", v.len()),
                    ));
                }
                match v {
                    VectorRef::Dense(values) => {
                        let p: Vec<f64> = values
                            .iter()
                            .zip(&self.scaling)
                            .map(|(x, s)| x * s)
                            .collect();
                        b.push_dense(&p);
                    }
                    VectorRef::Sparse {
                        size,
                        indices,
                        values,
                    } => {
                        let p: Vec<f64> = indices
                            .iter()
                            .zip(values)
                            .map(|(i, x)| x * self.scaling[*i as usize])
                            .collect();
                        b.push_sparse(size, indices, &p);
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
    fn multiplies_and_checks_size() {
        let stage = build(
            "elementwise_product",
            json!({"input": "v", "output": "p", "scaling_vec": [2.0, 0.0, -1.0]}),
        );
        let got = read_vectors(
            &run(
                &stage,
                &[(
                    "v",
                    vectors(&[
                        Some(V::Dense(vec![1.0, 5.0, 3.0])),
                        Some(V::Sparse(3, vec![1, 2], vec![5.0, 3.0])),
                        None,
                    ]),
                )],
            )
            .unwrap()[0],
        );
        assert_eq!(got[0], Some(V::Dense(vec![2.0, 0.0, -3.0])));
        assert_eq!(got[1], Some(V::Sparse(3, vec![1, 2], vec![0.0, -3.0])));
        assert_eq!(got[2], None);
        let err = run(&stage, &[("v", vectors(&[Some(V::Dense(vec![]))]))]).unwrap_err();
        assert!(
            err.to_string()
                .contains("vector has 0 values but `scaling_vec` has 3"),
            "{err}"
        );
    }
}
