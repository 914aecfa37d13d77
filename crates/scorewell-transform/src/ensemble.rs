//! `ensemble` (not a Spark stage): combines several Float64 score columns into one by
//! mean, weighted mean or max.
//!
//! Missing scores (null or NaN) follow `missing`: with `null` (the default) any missing
//! input makes the output null; with `skip` the present scores are combined (the weighted
//! mean renormalises by the weights present) and the output is null only when every input
//! is missing. ±∞ are ordinary values.

use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::registry::{Registry, parse};

/// How [`Ensemble`] combines scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Arithmetic mean.
    Mean,
    /// `Σ wᵢ sᵢ / Σ wᵢ`.
    WeightedMean,
    /// Largest score.
    Max,
}

/// What a missing (null or NaN) input score does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The output is null.
    #[default]
    Null,
    /// Combine the scores present.
    Skip,
}

/// Parameters of [`Ensemble`].
///
/// - `inputs` (required, non-empty): numeric score columns; `output`: a Float64 column.
/// - `method` (required): `mean`, `weighted_mean` or `max`.
/// - `weights`: one finite, non-negative weight per input with a positive sum; required by
///   `weighted_mean` and refused by the others.
/// - `missing` (default `null`): `null` or `skip` (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleParams {
    /// Score columns.
    pub inputs: Vec<String>,
    /// Combined score column.
    pub output: String,
    /// How to combine.
    pub method: Combine,
    /// Weights for `weighted_mean`.
    pub weights: Option<Vec<f64>>,
    /// What missing scores do.
    #[serde(default)]
    pub missing: Missing,
}

/// Combines score columns (see the module docs).
#[derive(Debug, Clone)]
pub struct Ensemble {
    name: String,
    inputs: Vec<String>,
    output: String,
    method: Combine,
    weights: Vec<f64>,
    missing: Missing,
}

impl Ensemble {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: EnsembleParams) -> Result<Self, TransformError> {
        if params.inputs.is_empty() {
            return Err(TransformError::param(
                "inputs",
                "must name at least one column",
            ));
        }
        common::check_names("inputs", &params.inputs, false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        let weights = match (params.method, params.weights) {
            (Combine::WeightedMean, None) => {
                return Err(TransformError::param(
                    "",
                    "missing field `weights` (required by `weighted_mean`)",
                ));
            }
            (Combine::WeightedMean, Some(w)) => {
                if w.len() != params.inputs.len() {
                    return Err(TransformError::param(
                        "weights",
                        format!("has {} values for {} inputs", w.len(), params.inputs.len()),
                    ));
                }
                if let Some(i) = w.iter().position(|x| !x.is_finite() || *x < 0.0) {
                    return Err(TransformError::param(
                        format!("weights[{i}]"),
                        "must be finite and non-negative",
                    ));
                }
                if w.iter().sum::<f64>() <= 0.0 {
                    return Err(TransformError::param("weights", "must have a positive sum"));
                }
                w
            }
            (_, Some(_)) => {
                return Err(TransformError::param(
                    "weights",
                    "only `weighted_mean` takes weights",
                ));
            }
            (_, None) => vec![1.0; params.inputs.len()],
        };
        Ok(Self {
            name: name.to_string(),
            inputs: params.inputs,
            output: params.output,
            method: params.method,
            weights,
            missing: params.missing,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("ensemble", |name, params| {
        Ok(Arc::new(Ensemble::new(name, parse(params)?)?))
    });
}

impl Stage for Ensemble {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::f64_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Numeric)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let columns: Vec<Float64Array> = binding
            .columns
            .iter()
            .map(|c| common::f64_column(batch.column(*c)))
            .collect::<Result<_, _>>()?;
        let out: Float64Array = (0..batch.num_rows())
            .map(|row| {
                let (mut sum, mut weight, mut max, mut present) = (0.0, 0.0, f64::NEG_INFINITY, 0);
                for (col, w) in columns.iter().zip(&self.weights) {
                    match col
                        .is_valid(row)
                        .then(|| col.value(row))
                        .filter(|x| !x.is_nan())
                    {
                        Some(x) => {
                            sum += w * x;
                            weight += w;
                            max = if x > max { x } else { max };
                            present += 1;
                        }
                        None if self.missing == Missing::Null => return None,
                        None => {}
                    }
                }
                if present == 0 {
                    return None;
                }
                Some(match self.method {
                    Combine::Max => max,
                    Combine::Mean | Combine::WeightedMean if weight > 0.0 => sum / weight,
                    Combine::Mean | Combine::WeightedMean => return None,
                })
            })
            .collect();
        Ok(vec![Arc::new(out) as arrow_array::ArrayRef].into())
    }
}

use arrow_array::Array as _;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn cols() -> Vec<(&'static str, arrow_array::ArrayRef)> {
        vec![
            ("a", floats(&[Some(0.2), Some(0.5), None, Some(f64::NAN)])),
            ("b", floats(&[Some(0.6), None, None, Some(1.0)])),
        ]
    }

    #[test]
    fn mean_weighted_mean_and_max() {
        let mean = build(
            "ensemble",
            json!({"inputs": ["a", "b"], "output": "s", "method": "mean"}),
        );
        assert_f64(
            &run(&mean, &cols()).unwrap()[0],
            &[Some(0.4), None, None, None],
        );
        let max = build(
            "ensemble",
            json!({"inputs": ["a", "b"], "output": "s", "method": "max", "missing": "skip"}),
        );
        assert_f64(
            &run(&max, &cols()).unwrap()[0],
            &[Some(0.6), Some(0.5), None, Some(1.0)],
        );
        let weighted = build(
            "ensemble",
            json!({"inputs": ["a", "b"], "output": "s", "method": "weighted_mean", "weights": [3, 1], "missing": "skip"}),
        );
        let got = read_f64(&run(&weighted, &cols()).unwrap()[0]);
        assert!((got[0].unwrap() - 0.3).abs() < 1e-15, "{got:?}");
        assert_eq!(&got[1..], &[Some(0.5), None, Some(1.0)]);
    }

    #[test]
    fn weight_checks() {
        assert_eq!(
            build_err(
                "ensemble",
                json!({"inputs": ["a"], "output": "s", "method": "weighted_mean"})
            ),
            "missing field `weights` (required by `weighted_mean`)"
        );
        assert_eq!(
            build_err(
                "ensemble",
                json!({"inputs": ["a", "b"], "output": "s", "method": "weighted_mean", "weights": [1, -1]})
            ),
            "weights[1]: must be finite and non-negative"
        );
        assert_eq!(
            build_err(
                "ensemble",
                json!({"inputs": ["a"], "output": "s", "method": "max", "weights": [1]})
            ),
            "weights: only `weighted_mean` takes weights"
        );
        assert_eq!(
            build_err(
                "ensemble",
                json!({"inputs": ["a"], "output": "s", "method": "median"})
            ),
            "method: unknown variant `median`, expected one of `mean`, `weighted_mean`, `max`"
        );
    }
}
