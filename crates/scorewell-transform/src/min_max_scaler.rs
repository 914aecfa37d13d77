//! `min_max_scaler`: Spark ML's `MinMaxScalerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/MinMaxScaler.scala`, Spark 3.x/4.x).
//!
//! Feature `i` becomes `(x - original_min[i]) * ((max - min) / range[i]) + min` with
//! `range[i] = original_max[i] - original_min[i]`; a constant feature (`range == 0`) becomes
//! `0.5 * (max + min)`. NaN stays NaN. Vector outputs are stored as Spark's `compressed`
//! chooses (sparse when `1.5 * (nnz + 1) < size`, dense otherwise); a null row stays null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::push_compressed_dense;
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::scaling::ScalerColumns;
use crate::serde_f64;

/// Parameters of [`MinMaxScaler`].
///
/// - `input` + `output`: a vector column in, a vector column out (Spark's form); or
///   `inputs` + `outputs`: numeric columns, feature `i` read from `inputs[i]`, written as
///   Float64 to `outputs[i]`.
/// - `original_min`, `original_max` (required, same length): the fitted per-feature
///   minimum and maximum (Spark's model data `originalMin`, `originalMax`).
/// - `min` (default 0), `max` (default 1): the output range; `min` must be below `max`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinMaxScalerParams {
    /// Vector input column.
    pub input: Option<String>,
    /// Vector output column.
    pub output: Option<String>,
    /// Numeric input columns, one per feature.
    pub inputs: Option<Vec<String>>,
    /// Float64 output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Fitted per-feature minimum.
    #[serde(deserialize_with = "serde_f64::list")]
    pub original_min: Vec<f64>,
    /// Fitted per-feature maximum.
    #[serde(deserialize_with = "serde_f64::list")]
    pub original_max: Vec<f64>,
    /// Lower end of the output range.
    #[serde(default)]
    pub min: f64,
    /// Upper end of the output range.
    #[serde(default = "one")]
    pub max: f64,
}

fn one() -> f64 {
    1.0
}

/// Rescales features to `[min, max]` (see the module docs).
#[derive(Debug, Clone)]
pub struct MinMaxScaler {
    columns: ScalerColumns,
    original_min: Vec<f64>,
    scale: Vec<f64>,
    min: f64,
    constant: f64,
}

impl MinMaxScaler {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: MinMaxScalerParams) -> Result<Self, TransformError> {
        let columns = ScalerColumns::new(
            name,
            params.input,
            params.output,
            params.inputs,
            params.outputs,
        )?;
        if params.original_min.len() != params.original_max.len() {
            return Err(TransformError::param(
                "original_max",
                format!(
                    "has {} values but `original_min` has {}",
                    params.original_max.len(),
                    params.original_min.len()
                ),
            ));
        }
        columns.check_stats("original_min", params.original_min.len())?;
        if params.min.is_nan() || params.max.is_nan() || params.min >= params.max {
            return Err(TransformError::param(
                "max",
                format!(
                    "`min` ({}) must be below `max` ({})",
                    params.min, params.max
                ),
            ));
        }
        let range = params.max - params.min;
        let scale = params
            .original_min
            .iter()
            .zip(&params.original_max)
            .map(|(lo, hi)| {
                let r = hi - lo;
                if r != 0.0 { range / r } else { 0.0 }
            })
            .collect();
        Ok(Self {
            columns,
            original_min: params.original_min,
            scale,
            min: params.min,
            constant: (params.min + params.max) / 2.0,
        })
    }

    fn value(&self, i: usize, x: f64) -> f64 {
        if x.is_nan() {
            x
        } else if self.scale[i] != 0.0 {
            (x - self.original_min[i]) * self.scale[i] + self.min
        } else {
            self.constant
        }
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("min_max_scaler", |name, params| {
        Ok(Arc::new(MinMaxScaler::new(name, parse(params)?)?))
    });
}

impl Stage for MinMaxScaler {
    fn name(&self) -> &str {
        &self.columns.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.columns.inputs()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.columns.output_fields()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        self.columns.bind(schema)
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        if !self.columns.vector {
            return Ok(self
                .columns
                .apply_scalars(binding, batch, |i, x| self.value(i, x))?
                .into());
        }
        let n = self.scale.len();
        let columns = self.columns.apply_vectors(binding, batch, n, |v, b| {
            let mut dense = v.to_dense();
            for (i, x) in dense.iter_mut().enumerate() {
                *x = self.value(i, *x);
            }
            push_compressed_dense(b, &dense);
        })?;
        Ok(columns.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn rescales_with_constant_features_at_the_midpoint() {
        let stage = build(
            "min_max_scaler",
            json!({"input": "v", "output": "o", "original_min": [0.0, 5.0, -1.0],
                   "original_max": [10.0, 5.0, 1.0], "min": -1.0, "max": 1.0}),
        );
        let out = run(
            &stage,
            &[(
                "v",
                vectors(&[
                    Some(V::Dense(vec![5.0, 7.0, f64::NAN])),
                    Some(V::Sparse(3, vec![0], vec![10.0])),
                    None,
                ]),
            )],
        )
        .unwrap();
        let got = read_vectors(&out[0]);
        assert_dense(&got[0], &[0.0, 0.0, f64::NAN]);
        // Zeros are rescaled too: [1, 0 (constant), (0 - -1) * 1 + -1 = 0] → compressed.
        assert_eq!(got[1], Some(V::Dense(vec![1.0, 0.0, 0.0])));
        assert_eq!(got[2], None);
    }

    #[test]
    fn compressed_output_goes_sparse_when_mostly_zero() {
        let stage = build(
            "min_max_scaler",
            json!({"input": "v", "output": "o", "original_min": [0.0, 0.0, 0.0, 0.0],
                   "original_max": [1.0, 1.0, 1.0, 2.0]}),
        );
        let out = run(
            &stage,
            &[("v", vectors(&[Some(V::Dense(vec![0.0, 0.0, 0.0, 1.0]))]))],
        )
        .unwrap();
        assert_eq!(
            read_vectors(&out[0])[0],
            Some(V::Sparse(4, vec![3], vec![0.5]))
        );
    }

    #[test]
    fn scalar_columns_and_bad_range() {
        let stage = build(
            "min_max_scaler",
            json!({"inputs": ["a"], "outputs": ["a_s"], "original_min": [2], "original_max": [4]}),
        );
        let out = run(&stage, &[("a", ints(&[Some(3), None, Some(6)]))]).unwrap();
        assert_f64(&out[0], &[Some(0.5), None, Some(2.0)]);
        let err = build_err(
            "min_max_scaler",
            json!({"input": "v", "output": "o", "original_min": [0], "original_max": [1], "min": 1, "max": 1}),
        );
        assert_eq!(err, "max: `min` (1) must be below `max` (1)");
    }
}
