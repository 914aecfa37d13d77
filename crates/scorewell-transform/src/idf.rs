//! `idf`: Spark ML's `IDFModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/IDF.scala` and
//! `mllib/.../mllib/feature/IDF.scala`, Spark 3.x/4.x).
//!
//! Each value is multiplied by `idf[index]`: a sparse vector keeps its indices (stored
//! zeros included), a dense vector stays dense. `min_doc_freq` only matters when fitting
//! (Spark has already zeroed the idf of rare terms). A vector whose size differs from the
//! idf vector fails the batch; a null row gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, Stage, StageOutput};

use crate::common::{self, vector_stage_io};
use crate::error::{TransformError, invalid};
use crate::registry::{Registry, parse};

/// Parameters of [`Idf`].
///
/// - `input`, `output`: vector columns.
/// - `idf` (required): the fitted inverse document frequencies (Spark's model data `idf`).
/// - `min_doc_freq` (optional): accepted for the record; unused when scoring.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdfParams {
    /// Term-frequency vector column.
    pub input: String,
    /// Output vector column.
    pub output: String,
    /// Per-term weights.
    pub idf: Vec<f64>,
    /// Fit-time minimum document frequency (informational).
    pub min_doc_freq: Option<u64>,
}

/// Weights term frequencies by IDF (see the module docs).
#[derive(Debug, Clone)]
pub struct Idf {
    name: String,
    input: String,
    output: String,
    idf: Vec<f64>,
}

impl Idf {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: IdfParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        common::check_vector_size("idf", params.idf.len())?;
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            idf: params.idf,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("idf", |name, params| {
        Ok(Arc::new(Idf::new(name, parse(params)?)?))
    });
}

impl Stage for Idf {
    vector_stage_io!();

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let n = self.idf.len();
        let out = common::map_vectors(
            batch.column(binding.columns[0]),
            &self.input,
            |row, v, b| {
                if v.len() != n {
                    return Err(invalid(
                        &self.input,
                        row,
                        format!("vector has {} values but the idf vector has {n}", v.len()),
                    ));
                }
                match v {
                    VectorRef::Dense(values) => {
                        let w: Vec<f64> =
                            values.iter().zip(&self.idf).map(|(x, w)| x * w).collect();
                        b.push_dense(&w);
                    }
                    VectorRef::Sparse {
                        size,
                        indices,
                        values,
                    } => {
                        let w: Vec<f64> = indices
                            .iter()
                            .zip(values)
                            .map(|(i, x)| x * self.idf[*i as usize])
                            .collect();
                        b.push_sparse(size, indices, &w);
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
    fn weights_keep_layout_and_check_size() {
        let stage = build(
            "idf",
            json!({"input": "tf", "output": "w", "idf": [0.5, 0.0, 2.0], "min_doc_freq": 2}),
        );
        let got = read_vectors(
            &run(
                &stage,
                &[(
                    "tf",
                    vectors(&[
                        Some(V::Sparse(3, vec![1, 2], vec![4.0, 3.0])),
                        Some(V::Dense(vec![2.0, 1.0, 1.0])),
                        None,
                    ]),
                )],
            )
            .unwrap()[0],
        );
        assert_eq!(got[0], Some(V::Sparse(3, vec![1, 2], vec![0.0, 6.0])));
        assert_eq!(got[1], Some(V::Dense(vec![1.0, 0.0, 2.0])));
        assert_eq!(got[2], None);
        let err = run(
            &stage,
            &[("tf", vectors(&[Some(V::Sparse(4, vec![], vec![]))]))],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "column `tf`, row 0 of the batch: vector has 4 values but the idf vector has 3"
            ),
            "{err}"
        );
    }

    /// NaN and infinite term frequencies are multiplied like any other value: NaN × w is
    /// NaN (also for w = 0), ∞ × 0 is NaN, ∞ × 2 is ∞.
    #[test]
    fn nan_and_infinite_frequencies_follow_ieee() {
        let stage = build(
            "idf",
            json!({"input": "tf", "output": "w", "idf": [0.5, 0.0, 2.0]}),
        );
        let got = read_vectors(
            &run(
                &stage,
                &[(
                    "tf",
                    vectors(&[
                        Some(V::Dense(vec![f64::NAN, f64::NAN, 2.0])),
                        Some(V::Sparse(3, vec![1, 2], vec![f64::INFINITY, f64::INFINITY])),
                    ]),
                )],
            )
            .unwrap()[0],
        );
        assert_dense(&got[0], &[f64::NAN, f64::NAN, 4.0]);
        match &got[1] {
            Some(V::Sparse(3, indices, values)) => {
                assert_eq!(indices, &[1, 2]);
                assert!(values[0].is_nan(), "{values:?}");
                assert_eq!(values[1], f64::INFINITY);
            }
            other => panic!("expected a sparse vector, got {other:?}"),
        }
    }
}
