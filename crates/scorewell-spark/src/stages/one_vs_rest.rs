//! `OneVsRestModel` (`ml/classification/OneVsRest.scala`): metadata with `numClasses` (and
//! `labelMetadata`), the estimator in `classifier/`, and one fitted binary classifier per class
//! in `model_0/` … `model_<k-1>/`, each any supported classifier.
//!
//! Spark scores every sub-model on `featuresCol` with only its `rawPrediction` written and
//! keeps `rawPrediction[1]`: `rawPredictionCol` is the dense vector of those `k` values and
//! `predictionCol` the index of the largest (`indices.maxBy`, first on ties). Scala 2.13's
//! default `Ordering[Double]` (Spark 4) is the total order, where NaN is largest; Scala 2.12's
//! (Spark 2.x/3.x) compares with `>`, so a NaN never wins. Null features give null outputs.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{VectorBuilder, VectorColumn, vector_data_type};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput};
use serde_json::Value;

use super::{Columns, Ctx, Registry};
use crate::error::Result;
use crate::model::bind_vector;
use crate::reader::Metadata;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.classification.OneVsRestModel",
        one_vs_rest,
    );
}

/// The column each sub-model writes its raw prediction to, inside this stage only.
const RAW: &str = "rawPrediction";

#[derive(Debug)]
struct OneVsRest {
    name: String,
    features: String,
    /// One stage per class, each writing one raw-prediction vector from `features`.
    models: Vec<Arc<dyn Stage>>,
    raw: Option<String>,
    prediction: Option<String>,
    /// Spark 4's (Scala 2.13) total order for `maxBy`, else IEEE `>`.
    total_order: bool,
}

impl OneVsRest {
    fn argmax(&self, scores: &[f64]) -> usize {
        let mut best = 0;
        for (i, s) in scores.iter().enumerate().skip(1) {
            let better = if self.total_order {
                java_greater(*s, scores[best])
            } else {
                *s > scores[best]
            };
            if better {
                best = i;
            }
        }
        best
    }
}

/// `java.lang.Double.compare(a, b) > 0`: NaN above everything (and equal to NaN), `0.0`
/// above `-0.0`.
pub(super) fn java_greater(a: f64, b: f64) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (true, b_nan) => !b_nan,
        (false, true) => false,
        _ => a > b || (a == 0.0 && b == 0.0 && a.is_sign_positive() && b.is_sign_negative()),
    }
}

impl Stage for OneVsRest {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::vector(self.features.clone())]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let mut out: Vec<FieldRef> = Vec::new();
        if let Some(r) = &self.raw {
            out.push(Arc::new(Field::new(r, vector_data_type(), true)));
        }
        if let Some(p) = &self.prediction {
            out.push(Arc::new(Field::new(p, DataType::Float64, true)));
        }
        out
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        Ok(Binding::new(vec![bind_vector(
            schema,
            &self.features,
            &self.name,
        )?]))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let features = batch.column(binding.columns[0]).clone();
        let rows = features.len();
        let one = RecordBatch::try_from_iter([(self.features.as_str(), features)])?;
        let k = self.models.len();
        let mut scores = vec![0.0; rows * k];
        let mut valid = vec![true; rows];
        for (class, model) in self.models.iter().enumerate() {
            let b = model.bind(&one.schema())?;
            let out = model.apply(&b, &one)?;
            let raw = out.columns.first().ok_or_else(|| {
                ScoreError::SchemaMismatch(format!("sub-model {class} wrote no rawPrediction"))
            })?;
            let raw = VectorColumn::try_new(raw, RAW)?;
            for row in 0..rows {
                match raw.get(row) {
                    Some(v) if v.len() >= 2 => scores[row * k + class] = v.get(1),
                    Some(_) => {
                        return Err(ScoreError::InvalidValue {
                            column: self.features.clone(),
                            row,
                            message: format!(
                                "sub-model {class} wrote a rawPrediction with fewer than 2 values"
                            ),
                        });
                    }
                    None => valid[row] = false,
                }
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::new();
        if self.raw.is_some() {
            let mut b = VectorBuilder::with_capacity(rows);
            for (row, s) in scores.chunks_exact(k.max(1)).enumerate().take(rows) {
                if valid[row] {
                    b.push_dense(s);
                } else {
                    b.push_null();
                }
            }
            columns.push(b.finish());
        }
        if self.prediction.is_some() {
            let preds: Float64Array = (0..rows)
                .map(|row| valid[row].then(|| self.argmax(&scores[row * k..(row + 1) * k]) as f64))
                .collect();
            columns.push(Arc::new(preds));
        }
        Ok(columns.into())
    }
}

fn one_vs_rest(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let k = ctx.meta.extra_usize("numClasses")?;
    if k == 0 {
        return Err(ctx.invalid("OneVsRestModel has no classes"));
    }
    let features = ctx.meta.str("featuresCol")?;
    let source = ctx.meta.source.clone();
    let mut models = Vec::with_capacity(k);
    for class in 0..k {
        let dir = ctx.dir().join(format!("model_{class}"));
        let mut meta = Metadata::read(&source, &dir)?;
        // As Spark's transform does to a copy of each sub-model.
        meta.set_param("featuresCol", Value::String(features.clone()));
        meta.set_param("rawPredictionCol", Value::String(RAW.into()));
        meta.set_param("predictionCol", Value::String(String::new()));
        meta.set_param("probabilityCol", Value::String(String::new()));
        let built = super::build(&meta, &mut Columns::default())?;
        let [model] = <[_; 1]>::try_from(built)
            .map_err(|_| ctx.invalid(format!("model_{class} is not a single classifier")))?;
        let fields = model.output_fields();
        if fields.len() != 1 || fields[0].name() != RAW {
            return Err(ctx.invalid(format!(
                "model_{class} (`{}`) does not write a rawPrediction column",
                meta.short_class()
            )));
        }
        models.push(model);
    }
    let raw = ctx.meta.col("rawPredictionCol")?;
    if let Some(r) = &raw {
        ctx.cols.vector(r, Some(k));
    }
    Ok(vec![Arc::new(OneVsRest {
        name: ctx.name().to_string(),
        features,
        models,
        raw,
        prediction: ctx.meta.col("predictionCol")?,
        total_order: ctx.meta.version.0 >= 4,
    })])
}

#[cfg(test)]
mod tests {
    #[test]
    fn java_order_puts_nan_last_and_zero_above_negative_zero() {
        use super::java_greater as gt;
        assert!(gt(f64::NAN, f64::INFINITY) && !gt(f64::INFINITY, f64::NAN));
        assert!(!gt(f64::NAN, f64::NAN) && !gt(1.0, 1.0));
        assert!(gt(0.0, -0.0) && !gt(-0.0, 0.0) && gt(2.0, 1.0));
    }
}
