//! `IsotonicRegressionModel` (`ml/regression/IsotonicRegression.scala`,
//! `mllib/regression/IsotonicRegression.scala`): data one row `boundaries: array<double>`,
//! `predictions: array<double>`, `isotonic: boolean`; params `featuresCol`, `featureIndex`
//! (default 0), `predictionCol`.
//!
//! The features column is a double column or a vector column (then its entry `featureIndex`
//! is used; an index outside the vector is an error). `predict(x)` binary-searches the
//! boundaries as `java.util.Arrays.binarySearch` does (`Double.compare` order, so NaN sorts
//! last): an exact match returns its prediction, a value below or above every boundary the
//! first or last prediction, and a value between two boundaries interpolates linearly,
//! `y1 + (y2 - y1) * (x - x1) / (x2 - x1)`. The `isotonic` flag only shaped training: the
//! saved predictions are already monotone either way. A null double gives a null prediction.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{VectorColumn, is_vector};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput, find_column};

use super::{Ctx, Registry};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.regression.IsotonicRegressionModel",
        isotonic,
    );
}

/// The piecewise linear function.
#[derive(Debug)]
struct Isotonic {
    boundaries: Vec<f64>,
    predictions: Vec<f64>,
}

/// `java.util.Arrays.binarySearch(double[], double)`: the index of a match, or
/// `-(insertion point) - 1`.
fn java_binary_search(a: &[f64], key: f64) -> isize {
    let (mut low, mut high) = (0isize, a.len() as isize - 1);
    while low <= high {
        let mid = ((low + high) as usize) >> 1;
        let v = a[mid];
        if v < key {
            low = mid as isize + 1;
        } else if v > key {
            high = mid as isize - 1;
        } else {
            // Java compares `doubleToLongBits` (NaN canonical) as signed longs here.
            let bits = |x: f64| {
                if x.is_nan() {
                    0x7ff8_0000_0000_0000_i64
                } else {
                    x.to_bits() as i64
                }
            };
            let (vb, kb) = (bits(v), bits(key));
            if vb == kb {
                return mid as isize;
            } else if vb < kb {
                low = mid as isize + 1;
            } else {
                high = mid as isize - 1;
            }
        }
    }
    -(low + 1)
}

impl Isotonic {
    fn predict(&self, x: f64) -> f64 {
        let (b, p) = (&self.boundaries, &self.predictions);
        let found = java_binary_search(b, x);
        let insert = -found - 1;
        if insert == 0 {
            p[0]
        } else if insert == b.len() as isize {
            p[b.len() - 1]
        } else if found < 0 {
            let i = insert as usize;
            let (x1, y1, x2, y2) = (b[i - 1], p[i - 1], b[i], p[i]);
            y1 + (y2 - y1) * (x - x1) / (x2 - x1)
        } else {
            p[found as usize]
        }
    }
}

#[derive(Debug)]
struct IsotonicStage {
    name: String,
    features: String,
    feature_index: usize,
    prediction: String,
    model: Isotonic,
}

impl Stage for IsotonicStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        // A double column or a vector; a raw pipeline input is usually the double.
        vec![InputColumn::new(self.features.clone(), true)]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![Arc::new(Field::new(
            &self.prediction,
            DataType::Float64,
            true,
        ))]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        let i = find_column(schema, &self.features, || {
            format!("Spark model `{}` (featuresCol)", self.name)
        })?;
        let dt = schema.field(i).data_type();
        let scalar = matches!(
            dt,
            DataType::Float64 | DataType::Float32 | DataType::Int32 | DataType::Int64
        );
        if !scalar && !is_vector(dt) {
            return Err(ScoreError::ColumnType {
                column: self.features.clone(),
                expected: "a double column or a vector".into(),
                got: dt.to_string(),
            });
        }
        Ok(Binding::new(vec![i]))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let col = batch.column(binding.columns[0]);
        let scalar = |v: Option<f64>| v.map(|x| self.model.predict(x));
        let out: Float64Array = match col.data_type() {
            DataType::Float64 => col
                .as_primitive::<Float64Type>()
                .iter()
                .map(scalar)
                .collect(),
            DataType::Float32 => col
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| scalar(v.map(f64::from)))
                .collect(),
            DataType::Int32 => col
                .as_primitive::<Int32Type>()
                .iter()
                .map(|v| scalar(v.map(f64::from)))
                .collect(),
            DataType::Int64 => col
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| scalar(v.map(|x| x as f64)))
                .collect(),
            _ => {
                let x = VectorColumn::try_new(col, &self.features)?;
                let mut out = Vec::with_capacity(x.len());
                for row in 0..x.len() {
                    let Some(v) = x.get(row) else {
                        out.push(None);
                        continue;
                    };
                    if self.feature_index >= v.len() {
                        return Err(ScoreError::InvalidValue {
                            column: self.features.clone(),
                            row,
                            message: format!(
                                "featureIndex {} is outside the vector (size {})",
                                self.feature_index,
                                v.len()
                            ),
                        });
                    }
                    out.push(Some(self.model.predict(v.get(self.feature_index))));
                }
                Float64Array::from(out)
            }
        };
        debug_assert_eq!(out.len(), col.len());
        Ok(vec![Arc::new(out) as arrow_array::ArrayRef].into())
    }
}

fn isotonic(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let doubles = |name: &str| -> Result<Vec<f64>> {
        let col = data.column(name)?;
        let list = col
            .as_list_opt::<i32>()
            .filter(|l| !l.is_null(0))
            .ok_or_else(|| data.error(format!("column `{name}` is not an array of doubles")))?;
        let items = list.value(0);
        let values = items
            .as_primitive_opt::<Float64Type>()
            .filter(|v| v.null_count() == 0)
            .ok_or_else(|| data.error(format!("column `{name}` is not an array of doubles")))?;
        Ok(values.values().to_vec())
    };
    // `isotonic` only decided the sign of training; the saved function is used as it is.
    data.bool("isotonic", 0)?;
    let boundaries = doubles("boundaries")?;
    let predictions = doubles("predictions")?;
    if boundaries.is_empty() || boundaries.len() != predictions.len() {
        return Err(ctx.invalid(format!(
            "{} boundaries for {} predictions",
            boundaries.len(),
            predictions.len()
        )));
    }
    let Some(prediction) = ctx.meta.col("predictionCol")? else {
        return Ok(Vec::new());
    };
    Ok(vec![Arc::new(IsotonicStage {
        name: ctx.name().to_string(),
        features: ctx.meta.str("featuresCol")?,
        feature_index: ctx.meta.opt_i64("featureIndex")?.map_or(Ok(0), |i| {
            usize::try_from(i).map_err(|_| ctx.invalid("param `featureIndex` is negative"))
        })?,
        prediction,
        model: Isotonic {
            boundaries,
            predictions,
        },
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_like_spark_mllib() {
        let m = Isotonic {
            boundaries: vec![0.0, 1.0, 1.0, 3.0],
            predictions: vec![1.0, 2.0, 2.5, 4.0],
        };
        assert_eq!(m.predict(-1.0), 1.0);
        assert_eq!(m.predict(0.0), 1.0);
        assert_eq!(m.predict(0.5), 1.5);
        assert_eq!(m.predict(2.0), 2.5 + 1.5 * 1.0 / 2.0);
        assert_eq!(m.predict(9.0), 4.0);
        assert_eq!(m.predict(f64::NAN), 4.0);
        assert_eq!(java_binary_search(&[1.0, 2.0], -0.0), -1);
        assert_eq!(java_binary_search(&[-0.0, 0.0], 0.0), 1);
    }
}
