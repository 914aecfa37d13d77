//! `imputer`: Spark ML's `ImputerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Imputer.scala`, Spark 3.x/4.x).
//!
//! A value is replaced by its column's surrogate when it is null or equal to
//! `missing_value` (NaN equals NaN, as in Spark SQL, so the default `missing_value = NaN`
//! replaces NaN; with another `missing_value`, NaN is kept). Spark casts the result back to
//! the input column's type; scorewell writes Float64 but rounds the surrogate the same way
//! (integer columns truncate it toward zero, `float` columns round it to `f32`, boolean
//! columns read it as `surrogate != 0`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// Parameters of [`Imputer`].
///
/// - `input` + `output`, or `inputs` + `outputs`: numeric columns in (integer, float,
///   decimal, boolean), Float64 columns out.
/// - `surrogates` (required): one replacement value per input column, computed when the
///   imputer was fitted (Spark's model data `surrogateDF`); must not be NaN.
/// - `missing_value` (default NaN): the value that counts as missing besides null.
/// - `strategy` (optional, `mean` | `median` | `mode`): how the surrogates were fitted;
///   accepted for the record, unused when scoring.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImputerParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Replacement value per input column.
    #[serde(deserialize_with = "serde_f64::list")]
    pub surrogates: Vec<f64>,
    /// The value treated as missing besides null.
    #[serde(default = "nan", deserialize_with = "serde_f64::one")]
    pub missing_value: f64,
    /// How the surrogates were fitted (informational).
    pub strategy: Option<Strategy>,
}

/// Spark's `Imputer.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Column mean.
    Mean,
    /// Approximate median.
    Median,
    /// Most frequent value.
    Mode,
}

fn nan() -> f64 {
    f64::NAN
}

/// Replaces missing values by fitted surrogates (see the module docs).
#[derive(Debug, Clone)]
pub struct Imputer {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    surrogates: Vec<f64>,
    missing_value: f64,
}

impl Imputer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: ImputerParams) -> Result<Self, TransformError> {
        let (inputs, outputs, _) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        if params.surrogates.len() != inputs.len() {
            return Err(TransformError::param(
                "surrogates",
                format!(
                    "has {} values for {} input columns",
                    params.surrogates.len(),
                    inputs.len()
                ),
            ));
        }
        if let Some(i) = params.surrogates.iter().position(|s| s.is_nan()) {
            return Err(TransformError::param(
                format!("surrogates[{i}]"),
                "must not be NaN",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            surrogates: params.surrogates,
            missing_value: params.missing_value,
        })
    }

    fn is_missing(&self, x: f64) -> bool {
        x == self.missing_value || (x.is_nan() && self.missing_value.is_nan())
    }
}

/// The surrogate as Spark's `cast(inputType)` leaves it.
fn cast_back(x: f64, dt: &DataType) -> f64 {
    match dt {
        DataType::Int8 => f64::from(x as i32 as i8),
        DataType::Int16 => f64::from(x as i32 as i16),
        DataType::Int32 => f64::from(x as i32),
        DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => (x as i64) as f64,
        DataType::Float32 | DataType::Float16 => f64::from(x as f32),
        DataType::Boolean => {
            if x != 0.0 {
                1.0
            } else {
                0.0
            }
        }
        _ => x,
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("imputer", |name, params| {
        Ok(Arc::new(Imputer::new(name, parse(params)?)?))
    });
}

impl Stage for Imputer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.iter().map(|o| common::f64_field(o)).collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Numeric)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for (k, col) in binding.columns.iter().enumerate() {
            let array = batch.column(*col);
            let surrogate = cast_back(self.surrogates[k], array.data_type());
            let values = common::f64_column(array)?;
            let filled: Float64Array = values
                .iter()
                .map(|v| match v {
                    Some(x) if !self.is_missing(x) => Some(x),
                    _ => Some(surrogate),
                })
                .collect();
            out.push(Arc::new(filled) as ArrayRef);
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn nulls_and_nan_take_the_surrogate() {
        let stage = build(
            "imputer",
            json!({"inputs": ["a", "b"], "outputs": ["a_i", "b_i"], "surrogates": [2.5, 7.9]}),
        );
        let out = run(
            &stage,
            &[
                ("a", floats(&[Some(1.0), None, Some(f64::NAN)])),
                ("b", ints(&[None, Some(3), Some(-1)])),
            ],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(1.0), Some(2.5), Some(2.5)]);
        // Integer columns get the surrogate as Spark's cast back to int leaves it.
        assert_f64(&out[1], &[Some(7.0), Some(3.0), Some(-1.0)]);
    }

    #[test]
    fn custom_missing_value_keeps_nan() {
        let stage = build(
            "imputer",
            json!({"input": "a", "output": "a_i", "surrogates": [0.5], "missing_value": -1, "strategy": "median"}),
        );
        let out = run(
            &stage,
            &[("a", floats(&[Some(-1.0), Some(f64::NAN), None, Some(4.0)]))],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(0.5), Some(f64::NAN), Some(0.5), Some(4.0)]);
    }

    #[test]
    fn params_errors() {
        assert_eq!(
            build_err(
                "imputer",
                json!({"inputs": ["a", "b"], "outputs": ["x", "y"], "surrogates": [1.0]})
            ),
            "surrogates: has 1 values for 2 input columns"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "surrogates": ["nan"]})
            ),
            "surrogates[0]: must not be NaN"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "surrogates": [1], "strategy": "avg"})
            ),
            "strategy: unknown variant `avg`, expected one of `mean`, `median`, `mode`"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "surrogates": [1], "extra": 1})
            ),
            "extra: unknown field `extra`, expected one of `input`, `output`, `inputs`, `outputs`, `surrogates`, `missing_value`, `strategy`"
        );
    }
}
