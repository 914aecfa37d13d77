//! `normalizer`: Spark ML's `Normalizer` (`mllib/src/main/scala/org/apache/spark/ml/feature/Normalizer.scala`,
//! via `mllib/.../mllib/feature/Normalizer.scala` and `Vectors.norm`, Spark 3.x/4.x).
//!
//! The p-norm is taken over the stored values in order (`Σ|x|` for p = 1, `sqrt(Σx²)` for
//! p = 2, the largest `|x|` for p = ∞, NaN ignored there, `(Σ|x|^p)^(1/p)` otherwise), and
//! each stored value is divided by it; sparse stays sparse, dense stays dense. A zero norm
//! returns the vector unchanged. A null row gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, Stage, StageOutput};

use crate::common::{self, vector_stage_io};
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// Parameters of [`Normalizer`].
///
/// - `input`, `output`: vector columns.
/// - `p` (default 2.0): the norm, at least 1; `"inf"` for the maximum norm.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizerParams {
    /// Vector column.
    pub input: String,
    /// Output vector column.
    pub output: String,
    /// The norm's order.
    #[serde(default = "two", deserialize_with = "serde_f64::one")]
    pub p: f64,
}

fn two() -> f64 {
    2.0
}

/// Scales vectors to unit p-norm (see the module docs).
#[derive(Debug, Clone)]
pub struct Normalizer {
    name: String,
    input: String,
    output: String,
    p: f64,
}

impl Normalizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: NormalizerParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        if params.p.is_nan() || params.p < 1.0 {
            return Err(TransformError::param(
                "p",
                format!("must be at least 1, got {}", params.p),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            p: params.p,
        })
    }
}

/// Spark's `Vectors.norm` over a vector's stored values.
pub(crate) fn norm(values: &[f64], p: f64) -> f64 {
    if p == 1.0 {
        values.iter().fold(0.0, |s, x| s + x.abs())
    } else if p == 2.0 {
        values.iter().fold(0.0, |s, x| s + x * x).sqrt()
    } else if p == f64::INFINITY {
        values
            .iter()
            .fold(0.0, |m, x| if x.abs() > m { x.abs() } else { m })
    } else {
        values
            .iter()
            .fold(0.0, |s, x| s + x.abs().powf(p))
            .powf(1.0 / p)
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("normalizer", |name, params| {
        Ok(Arc::new(Normalizer::new(name, parse(params)?)?))
    });
}

impl Stage for Normalizer {
    vector_stage_io!();

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let out = common::map_vectors(batch.column(binding.columns[0]), &self.input, |_, v, b| {
            let stored = match v {
                VectorRef::Dense(values) => values,
                VectorRef::Sparse { values, .. } => values,
            };
            let n = norm(stored, self.p);
            if n == 0.0 {
                b.push(v);
                return Ok(());
            }
            let scaled: Vec<f64> = stored.iter().map(|x| x / n).collect();
            match v {
                VectorRef::Dense(_) => b.push_dense(&scaled),
                VectorRef::Sparse { size, indices, .. } => b.push_sparse(size, indices, &scaled),
            }
            Ok(())
        })?;
        Ok(vec![out].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn normalize(p: serde_json::Value, v: V) -> Option<V> {
        let stage = build("normalizer", json!({"input": "v", "output": "n", "p": p}));
        read_vectors(&run(&stage, &[("v", vectors(&[Some(v)]))]).unwrap()[0]).remove(0)
    }

    #[test]
    fn norms_and_zero_vectors() {
        assert_eq!(
            normalize(json!(2), V::Dense(vec![3.0, -4.0])),
            Some(V::Dense(vec![0.6, -0.8]))
        );
        assert_eq!(
            normalize(json!(1), V::Sparse(5, vec![0, 3], vec![1.0, -3.0])),
            Some(V::Sparse(5, vec![0, 3], vec![0.25, -0.75]))
        );
        assert_eq!(
            normalize(json!("inf"), V::Dense(vec![1.0, -4.0, 2.0])),
            Some(V::Dense(vec![0.25, -1.0, 0.5]))
        );
        let p3 = normalize(json!(3), V::Dense(vec![1.0, 2.0])).unwrap();
        let n = 9f64.powf(1.0 / 3.0);
        assert_eq!(p3, V::Dense(vec![1.0 / n, 2.0 / n]));
        assert_eq!(
            normalize(json!(2), V::Dense(vec![0.0, 0.0])),
            Some(V::Dense(vec![0.0, 0.0]))
        );
        assert_eq!(
            normalize(json!(2), V::Sparse(3, vec![], vec![])),
            Some(V::Sparse(3, vec![], vec![]))
        );
        assert_eq!(
            build_err("normalizer", json!({"input": "v", "output": "n", "p": 0.5})),
            "p: must be at least 1, got 0.5"
        );
    }

    /// Spark's `Vectors.norm` lets a NaN through every p-norm but the maximum, so the whole
    /// row becomes NaN; the maximum norm skips it, and a null row stays null.
    #[test]
    fn nan_values_and_null_rows() {
        let stage = build("normalizer", json!({"input": "v", "output": "n"}));
        let got = read_vectors(
            &run(
                &stage,
                &[(
                    "v",
                    vectors(&[
                        None,
                        Some(V::Dense(vec![f64::NAN, 1.0])),
                        Some(V::Dense(vec![3.0, 4.0])),
                    ]),
                )],
            )
            .unwrap()[0],
        );
        assert_eq!(got[0], None);
        assert_dense(&got[1], &[f64::NAN, f64::NAN]);
        assert_dense(&got[2], &[0.6, 0.8]);
        let l1 = normalize(json!(1), V::Sparse(4, vec![1, 3], vec![f64::NAN, 2.0]));
        match l1 {
            Some(V::Sparse(4, indices, values)) => {
                assert_eq!(indices, [1, 3]);
                assert!(values.iter().all(|x| x.is_nan()), "{values:?}");
            }
            other => panic!("expected a sparse vector, got {other:?}"),
        }
        // max(|-4|, |2|) = 4; the NaN is skipped by the norm and stays NaN when divided.
        let max = normalize(json!("inf"), V::Dense(vec![f64::NAN, -4.0, 2.0]));
        assert_dense(&max, &[f64::NAN, -1.0, 0.5]);
    }
}
