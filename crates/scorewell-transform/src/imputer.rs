//! `imputer`: Spark ML's `ImputerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Imputer.scala`, Spark 3.x/4.x).
//!
//! A value is replaced by its column's surrogate when it is null or equal to
//! `missing_value` (NaN equals NaN, as in Spark SQL, so the default `missing_value = NaN`
//! replaces NaN; with another `missing_value`, NaN is kept). The comparison is made on the
//! value cast to a double, and the result is cast back to the input column's type, as Spark's
//! `ImputerModel.transform` does: each output column has its input's type (decided when the
//! stage is bound; [`Stage::output_fields`] declares Float64). Integer columns truncate the
//! surrogate toward zero as Java's `(int)`/`(long)` casts do (`(byte)`/`(short)` go through
//! `int`), `float` columns round it to `f32`, boolean columns give `value != 0`; decimal
//! columns use Arrow's decimal cast.
//!
//! `strategy = "constant"` (not a Spark strategy; for bundle manifests) fills every column
//! with `fill_value` instead of fitted surrogates.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, RecordBatch, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// Parameters of [`Imputer`].
///
/// - `input` + `output`, or `inputs` + `outputs`: numeric columns in (integer, float,
///   decimal, boolean); each output has its input's type.
/// - `surrogates` (required unless `strategy` is `constant`): one replacement value per input
///   column, computed when the imputer was fitted (Spark's model data `surrogateDF`); must not
///   be NaN.
/// - `missing_value` (default NaN): the value that counts as missing besides null.
/// - `strategy` (optional, `mean` | `median` | `mode` | `constant`): how the surrogates were
///   fitted; `mean`, `median` and `mode` are for the record, unused when scoring.
///   `constant` takes `fill_value` instead of `surrogates`.
/// - `fill_value` (with `strategy = "constant"` only, required there): the value every
///   input column's missing values become; must not be NaN.
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
    /// Replacement value per input column (empty with `strategy = "constant"`).
    #[serde(default, deserialize_with = "serde_f64::opt_list")]
    pub surrogates: Option<Vec<f64>>,
    /// The value treated as missing besides null.
    #[serde(default = "nan", deserialize_with = "serde_f64::one")]
    pub missing_value: f64,
    /// How the surrogates were fitted (informational, except `constant`).
    pub strategy: Option<Strategy>,
    /// The replacement for every column under `strategy = "constant"`.
    #[serde(default, deserialize_with = "serde_f64::opt_one")]
    pub fill_value: Option<f64>,
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
    /// One given value, `fill_value`, for every column (not a Spark strategy).
    Constant,
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
        let surrogates = match (params.strategy, params.surrogates, params.fill_value) {
            (Some(Strategy::Constant), None, Some(fill)) => {
                if fill.is_nan() {
                    return Err(TransformError::param("fill_value", "must not be NaN"));
                }
                vec![fill; inputs.len()]
            }
            (Some(Strategy::Constant), None, None) => {
                return Err(TransformError::param(
                    "",
                    "missing field `fill_value` (strategy `constant` fills with it)",
                ));
            }
            (Some(Strategy::Constant), Some(_), _) => {
                return Err(TransformError::param(
                    "surrogates",
                    "strategy `constant` fills with `fill_value`; give one or the other",
                ));
            }
            (_, _, Some(_)) => {
                return Err(TransformError::param(
                    "fill_value",
                    "only with strategy `constant`",
                ));
            }
            (_, Some(s), None) => s,
            (_, None, None) => {
                return Err(TransformError::param("", "missing field `surrogates`"));
            }
        };
        if surrogates.len() != inputs.len() {
            return Err(TransformError::param(
                "surrogates",
                format!(
                    "has {} values for {} input columns",
                    surrogates.len(),
                    inputs.len()
                ),
            ));
        }
        if let Some(i) = surrogates.iter().position(|s| s.is_nan()) {
            return Err(TransformError::param(
                format!("surrogates[{i}]"),
                "must not be NaN",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            surrogates,
            missing_value: params.missing_value,
        })
    }

    fn is_missing(&self, x: f64) -> bool {
        x == self.missing_value || (x.is_nan() && self.missing_value.is_nan())
    }
}

/// The output type for an input of type `dt`: the input's own, as Spark casts back.
fn output_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Null => DataType::Float64,
        other => other.clone(),
    }
}

/// Doubles cast to `dt` as Spark's `cast(inputType)` (Java's narrowing casts) leaves them.
fn cast_back(values: Vec<Option<f64>>, dt: &DataType) -> scorewell_core::Result<ArrayRef> {
    macro_rules! ints {
        ($array:ty, $f:expr) => {
            Arc::new(values.into_iter().map(|v| v.map($f)).collect::<$array>()) as ArrayRef
        };
    }
    Ok(match dt {
        DataType::Int8 => ints!(Int8Array, |x| x as i32 as i8),
        DataType::Int16 => ints!(Int16Array, |x| x as i32 as i16),
        DataType::Int32 => ints!(Int32Array, |x| x as i32),
        DataType::Int64 => ints!(Int64Array, |x| x as i64),
        DataType::UInt8 => ints!(UInt8Array, |x| x as u8),
        DataType::UInt16 => ints!(UInt16Array, |x| x as u16),
        DataType::UInt32 => ints!(UInt32Array, |x| x as u32),
        DataType::UInt64 => ints!(UInt64Array, |x| x as u64),
        DataType::Float32 => ints!(Float32Array, |x| x as f32),
        DataType::Boolean => ints!(BooleanArray, |x| x != 0.0),
        DataType::Float16 | DataType::Decimal128(..) | DataType::Decimal256(..) => {
            let doubles: ArrayRef = Arc::new(Float64Array::from(values));
            arrow_cast::cast(&doubles, dt)?
        }
        _ => Arc::new(Float64Array::from(values)),
    })
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
        let mut binding = common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Numeric)),
        )?;
        let outputs = binding
            .columns
            .iter()
            .zip(&self.outputs)
            .map(|(&i, o)| {
                let dt = output_type(schema.field(i).data_type());
                Arc::new(Field::new(o, dt, true))
            })
            .collect();
        binding.outputs = Some(outputs);
        Ok(binding)
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for (k, col) in binding.columns.iter().enumerate() {
            let array = batch.column(*col);
            let values = common::f64_column(array)?;
            let surrogate = self.surrogates[k];
            let filled: Vec<Option<f64>> = values
                .iter()
                .map(|v| match v {
                    Some(x) if !self.is_missing(x) => Some(x),
                    _ => Some(surrogate),
                })
                .collect();
            out.push(cast_back(filled, &output_type(array.data_type()))?);
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Int8Type, Int32Type};
    use arrow_array::{ArrayRef, Float32Array, Int8Array, Int32Array};
    use arrow_schema::DataType;
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
        // Integer columns stay integers, the surrogate cast as Spark's cast back to int does.
        let ints = out[1].as_primitive::<arrow_array::types::Int64Type>();
        assert_eq!(ints.values(), &[7, 3, -1]);
    }

    #[test]
    fn outputs_keep_the_input_type() {
        // See: issue 6 (Spark casts the imputed column back to the input's type).
        let stage = build(
            "imputer",
            json!({"inputs": ["i", "f", "b", "s"], "outputs": ["io", "fo", "bo", "so"],
                   "surrogates": [-2.7, 0.1, 0.0, 300.9]}),
        );
        let i: ArrayRef = Arc::new(Int32Array::from(vec![Some(5), None]));
        let f: ArrayRef = Arc::new(Float32Array::from(vec![Some(f32::NAN), Some(1.5)]));
        let s: ArrayRef = Arc::new(Int8Array::from(vec![None, Some(-3)]));
        let out = run(
            &stage,
            &[
                ("i", i),
                ("f", f),
                ("b", bools(&[None, Some(true)])),
                ("s", s),
            ],
        )
        .unwrap();
        assert_eq!(out[0].data_type(), &DataType::Int32);
        assert_eq!(out[0].as_primitive::<Int32Type>().values(), &[5, -2]);
        assert_eq!(
            out[1].as_primitive::<Float32Type>().values(),
            &[0.1f32, 1.5]
        );
        assert_eq!(
            out[2].as_boolean().iter().collect::<Vec<_>>(),
            [Some(false), Some(true)]
        );
        // Java's (byte) 300.9: (int) 300 then the low 8 bits, 44.
        assert_eq!(out[3].as_primitive::<Int8Type>().values(), &[44, -3]);
    }

    #[test]
    fn constant_strategy_fills_every_column_with_fill_value() {
        let stage = build(
            "imputer",
            json!({"inputs": ["a", "b"], "outputs": ["a_i", "b_i"], "strategy": "constant", "fill_value": -1}),
        );
        let out = run(
            &stage,
            &[
                ("a", floats(&[None, Some(2.0)])),
                ("b", floats(&[Some(f64::NAN), None])),
            ],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(-1.0), Some(2.0)]);
        assert_f64(&out[1], &[Some(-1.0), Some(-1.0)]);
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
            "strategy: unknown variant `avg`, expected one of `mean`, `median`, `mode`, `constant`"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "strategy": "constant"})
            ),
            "missing field `fill_value` (strategy `constant` fills with it)"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "surrogates": [1], "fill_value": 0})
            ),
            "fill_value: only with strategy `constant`"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "strategy": "constant", "fill_value": 0, "surrogates": [1]})
            ),
            "surrogates: strategy `constant` fills with `fill_value`; give one or the other"
        );
        assert_eq!(
            build_err("imputer", json!({"input": "a", "output": "x"})),
            "missing field `surrogates`"
        );
        assert_eq!(
            build_err(
                "imputer",
                json!({"input": "a", "output": "x", "surrogates": [1], "extra": 1})
            ),
            "extra: unknown field `extra`, expected one of `input`, `output`, `inputs`, `outputs`, `surrogates`, `missing_value`, `strategy`, `fill_value`"
        );
    }
}
