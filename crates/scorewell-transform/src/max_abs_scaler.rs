//! `max_abs_scaler`: Spark ML's `MaxAbsScalerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/MaxAbsScaler.scala`, Spark 3.x/4.x).
//!
//! Feature `i` is multiplied by `1 / max_abs[i]` (by 1 where `max_abs[i]` is 0), through the
//! same code path as `StandardScaler` without centering: a sparse vector stays sparse with
//! its stored entries, a dense one stays dense. Spark 2.x divided by `max_abs` instead, which
//! can differ in the last bit.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::VectorRef;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::scaling::ScalerColumns;

/// Parameters of [`MaxAbsScaler`].
///
/// - `input` + `output`: a vector column in, a vector column out (Spark's form); or
///   `inputs` + `outputs`: numeric columns, feature `i` read from `inputs[i]`, written as
///   Float64 to `outputs[i]`.
/// - `max_abs` (required): the fitted per-feature maximum absolute value (Spark's model
///   data `maxAbs`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxAbsScalerParams {
    /// Vector input column.
    pub input: Option<String>,
    /// Vector output column.
    pub output: Option<String>,
    /// Numeric input columns, one per feature.
    pub inputs: Option<Vec<String>>,
    /// Float64 output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Fitted per-feature maximum absolute values.
    pub max_abs: Vec<f64>,
}

/// Scales features into `[-1, 1]` (see the module docs).
#[derive(Debug, Clone)]
pub struct MaxAbsScaler {
    columns: ScalerColumns,
    scale: Vec<f64>,
}

impl MaxAbsScaler {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: MaxAbsScalerParams) -> Result<Self, TransformError> {
        let columns = ScalerColumns::new(
            name,
            params.input,
            params.output,
            params.inputs,
            params.outputs,
        )?;
        columns.check_stats("max_abs", params.max_abs.len())?;
        let scale = params
            .max_abs
            .iter()
            .map(|m| if *m == 0.0 { 1.0 } else { 1.0 / m })
            .collect();
        Ok(Self { columns, scale })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("max_abs_scaler", |name, params| {
        Ok(Arc::new(MaxAbsScaler::new(name, parse(params)?)?))
    });
}

impl Stage for MaxAbsScaler {
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
                .apply_scalars(binding, batch, |i, x| x * self.scale[i])?
                .into());
        }
        let n = self.scale.len();
        let columns = self
            .columns
            .apply_vectors(binding, batch, n, |v, b| match v {
                VectorRef::Dense(values) => {
                    let scaled: Vec<f64> =
                        values.iter().zip(&self.scale).map(|(x, s)| x * s).collect();
                    b.push_dense(&scaled);
                }
                VectorRef::Sparse {
                    size,
                    indices,
                    values,
                } => {
                    let scaled: Vec<f64> = indices
                        .iter()
                        .zip(values)
                        .map(|(i, x)| x * self.scale[*i as usize])
                        .collect();
                    b.push_sparse(size, indices, &scaled);
                }
            })?;
        Ok(columns.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn scales_by_reciprocal_and_keeps_layout() {
        let stage = build(
            "max_abs_scaler",
            json!({"input": "v", "output": "o", "max_abs": [4.0, 0.0, 2.0]}),
        );
        let out = run(
            &stage,
            &[(
                "v",
                vectors(&[
                    Some(V::Dense(vec![-2.0, 3.0, f64::NAN])),
                    Some(V::Sparse(3, vec![1, 2], vec![5.0, -2.0])),
                    None,
                ]),
            )],
        )
        .unwrap();
        let got = read_vectors(&out[0]);
        assert_dense(&got[0], &[-0.5, 3.0, f64::NAN]);
        assert_eq!(got[1], Some(V::Sparse(3, vec![1, 2], vec![5.0, -1.0])));
        assert_eq!(got[2], None);
    }

    #[test]
    fn scalar_columns_accept_booleans() {
        let stage = build(
            "max_abs_scaler",
            json!({"inputs": ["b"], "outputs": ["b_s"], "max_abs": [2.0]}),
        );
        let out = run(&stage, &[("b", bools(&[Some(true), Some(false), None]))]).unwrap();
        assert_f64(&out[0], &[Some(0.5), Some(0.0), None]);
    }

    #[test]
    fn vector_of_wrong_type_is_a_column_type_error() {
        let stage = build(
            "max_abs_scaler",
            json!({"input": "v", "output": "o", "max_abs": [1.0]}),
        );
        let err = run(&stage, &[("v", strs(&[Some("x")]))]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column `v` has type Utf8, expected a vector"),
            "{err}"
        );
    }
}
