//! `standard_scaler`: Spark ML's `StandardScalerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/StandardScaler.scala`, Spark 3.x/4.x).
//!
//! With both flags each value becomes `(x - mean) * (1 / std)`; a zero `std` scales by 0, so
//! a constant feature becomes 0. Centering makes the output dense; scaling alone keeps a
//! sparse vector sparse (stored entries only, explicit zeros kept). NaN propagates; a null
//! row stays null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::scaling::ScalerColumns;

/// Parameters of [`StandardScaler`].
///
/// - `input` + `output`: a vector column in, a vector column out (Spark's form); or
///   `inputs` + `outputs`: numeric columns (integer, float, decimal, boolean; null = missing),
///   feature `i` read from `inputs[i]` and written as Float64 to `outputs[i]`.
/// - `mean`, `std`: the fitted per-feature statistics (Spark's model data `mean`, `std`);
///   each is required when its flag is on, and both must have the same length when given.
/// - `with_mean` (default `false`): subtract `mean`.
/// - `with_std` (default `true`): multiply by `1 / std` (0 where `std` is 0).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardScalerParams {
    /// Vector input column.
    pub input: Option<String>,
    /// Vector output column.
    pub output: Option<String>,
    /// Numeric input columns, one per feature.
    pub inputs: Option<Vec<String>>,
    /// Float64 output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Per-feature means.
    #[serde(default)]
    pub mean: Vec<f64>,
    /// Per-feature standard deviations.
    #[serde(default)]
    pub std: Vec<f64>,
    /// Center by `mean`.
    #[serde(default)]
    pub with_mean: bool,
    /// Scale by `1 / std`.
    #[serde(default = "yes")]
    pub with_std: bool,
}

fn yes() -> bool {
    true
}

/// Standardizes features (see the module docs).
#[derive(Debug, Clone)]
pub struct StandardScaler {
    columns: ScalerColumns,
    size: usize,
    /// Empty unless `with_mean`.
    shift: Vec<f64>,
    /// Empty unless `with_std`.
    scale: Vec<f64>,
}

impl StandardScaler {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: StandardScalerParams) -> Result<Self, TransformError> {
        let columns = ScalerColumns::new(
            name,
            params.input,
            params.output,
            params.inputs,
            params.outputs,
        )?;
        if params.with_mean && params.mean.is_empty() {
            return Err(TransformError::param(
                "mean",
                "required when `with_mean` is true",
            ));
        }
        if params.with_std && params.std.is_empty() {
            return Err(TransformError::param(
                "std",
                "required when `with_std` is true",
            ));
        }
        if !params.mean.is_empty()
            && !params.std.is_empty()
            && params.mean.len() != params.std.len()
        {
            return Err(TransformError::param(
                "std",
                format!(
                    "has {} values but `mean` has {}",
                    params.std.len(),
                    params.mean.len()
                ),
            ));
        }
        let size = params.mean.len().max(params.std.len());
        columns.check_stats(
            if params.mean.is_empty() {
                "std"
            } else {
                "mean"
            },
            size,
        )?;
        let shift = if params.with_mean {
            params.mean
        } else {
            Vec::new()
        };
        let scale = if params.with_std {
            params
                .std
                .iter()
                .map(|s| if *s == 0.0 { 0.0 } else { 1.0 / s })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            columns,
            size,
            shift,
            scale,
        })
    }

    fn value(&self, i: usize, x: f64) -> f64 {
        match (self.shift.is_empty(), self.scale.is_empty()) {
            (false, false) => (x - self.shift[i]) * self.scale[i],
            (false, true) => x - self.shift[i],
            (true, false) => x * self.scale[i],
            (true, true) => x,
        }
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("standard_scaler", |name, params| {
        Ok(Arc::new(StandardScaler::new(name, parse(params)?)?))
    });
}

impl Stage for StandardScaler {
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
        let centered = !self.shift.is_empty();
        let columns = self
            .columns
            .apply_vectors(binding, batch, self.size, |v, b| match v {
                VectorRef::Sparse {
                    size,
                    indices,
                    values,
                } if !centered => {
                    let scaled: Vec<f64> = indices
                        .iter()
                        .zip(values)
                        .map(|(i, x)| self.value(*i as usize, *x))
                        .collect();
                    b.push_sparse(size, indices, &scaled);
                }
                v => {
                    let mut dense = v.to_dense();
                    for (i, x) in dense.iter_mut().enumerate() {
                        *x = self.value(i, *x);
                    }
                    b.push_dense(&dense);
                }
            })?;
        Ok(columns.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn scaler(params: serde_json::Value) -> Arc<dyn Stage> {
        crate::build("standard_scaler", "ss", &params).unwrap()
    }

    #[test]
    fn scales_dense_and_sparse_vectors() {
        let stage = scaler(serde_json::json!({
            "input": "v", "output": "out", "mean": [1.0, 2.0, 3.0], "std": [2.0, 0.0, 4.0]
        }));
        let input = vectors(&[
            Some(V::Dense(vec![3.0, 5.0, f64::NAN])),
            Some(V::Sparse(3, vec![0, 2], vec![4.0, 0.0])),
            None,
        ]);
        let out = run(&stage, &[("v", input)]).unwrap();
        let got = read_vectors(&out[0]);
        assert_dense(&got[0], &[1.5, 0.0, f64::NAN]);
        // Scaling alone keeps the sparse layout, explicit zero included.
        assert_eq!(got[1], Some(V::Sparse(3, vec![0, 2], vec![2.0, 0.0])));
        assert_eq!(got[2], None);
    }

    #[test]
    fn centering_makes_dense_and_zero_std_gives_zero() {
        let stage = scaler(serde_json::json!({
            "input": "v", "output": "out", "mean": [1.0, 2.0], "std": [2.0, 0.0],
            "with_mean": true
        }));
        let input = vectors(&[Some(V::Sparse(2, vec![1], vec![7.0]))]);
        let out = run(&stage, &[("v", input)]).unwrap();
        assert_eq!(read_vectors(&out[0])[0], Some(V::Dense(vec![-0.5, 0.0])));
    }

    #[test]
    fn scalar_columns_scale_one_feature_each() {
        let stage = scaler(serde_json::json!({
            "inputs": ["a", "b"], "outputs": ["a_s", "b_s"], "mean": [1.0, 10.0],
            "std": [2.0, 5.0], "with_mean": true
        }));
        let out = run(
            &stage,
            &[
                ("a", ints(&[Some(3), None])),
                ("b", floats(&[Some(20.0), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(1.0), None]);
        assert_f64(&out[1], &[Some(2.0), Some(f64::NAN)]);
    }

    #[test]
    fn wrong_vector_size_names_the_column() {
        let stage = scaler(serde_json::json!({"input": "v", "output": "o", "std": [1.0, 1.0]}));
        let err = run(&stage, &[("v", vectors(&[Some(V::Dense(vec![1.0]))]))]).unwrap_err();
        assert!(err.to_string().contains("column `v`, row 0"), "{err}");
    }

    #[test]
    fn params_are_checked_with_paths() {
        let err = crate::build(
            "standard_scaler",
            "ss",
            &serde_json::json!({"input": "v", "output": "o", "mean": [1.0], "std": [1.0, 2.0]}),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "std: has 2 values but `mean` has 1");
        let err = crate::build(
            "standard_scaler",
            "ss",
            &serde_json::json!({"input": "v", "output": "o", "std": [1.0, "x"]}),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("std[1]: invalid type"), "{err}");
        let err = crate::build(
            "standard_scaler",
            "ss",
            &serde_json::json!({"inputs": ["a"], "outputs": ["b"], "std": [1.0, 2.0]}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "std: has 2 values but `inputs` names 1 columns"
        );
    }
}
