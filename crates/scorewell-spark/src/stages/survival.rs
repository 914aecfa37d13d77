//! `AFTSurvivalRegressionModel` (`ml/regression/AFTSurvivalRegression.scala`): data one row
//! `coefficients: vector, intercept: double, scale: double`; params `featuresCol`,
//! `predictionCol`, `quantilesCol` (written only when set and non-empty),
//! `quantileProbabilities` (default 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99).
//!
//! `prediction = λ = exp(w · x + b)`; `quantiles[i] = λ · exp(ln(-ln(1 - pᵢ)) · scale)`, the
//! Weibull quantiles Spark 3.1+ precompute (`onParamChange`) and scale by λ; Spark 3.0 wrote
//! `λ · exp(ln(-ln(1 - pᵢ)) / (1 / scale))`, a few ulps apart. Columns come in Spark's order:
//! prediction, then quantiles. A vector whose size is not the coefficients' is an error.

use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{VectorBuilder, VectorColumn, vector_data_type};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput};

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{bind_vector, dot};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.regression.AFTSurvivalRegressionModel",
        aft,
    );
}

const DEFAULT_QUANTILES: [f64; 9] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

#[derive(Debug)]
struct Aft {
    name: String,
    features: String,
    coefficients: Vec<f64>,
    intercept: f64,
    prediction: Option<String>,
    /// The quantiles column and its per-probability factors.
    quantiles: Option<(String, Vec<f64>)>,
}

impl Stage for Aft {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::vector(self.features.clone())]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let mut out: Vec<FieldRef> = Vec::new();
        if let Some(p) = &self.prediction {
            out.push(Arc::new(Field::new(p, DataType::Float64, true)));
        }
        if let Some((q, _)) = &self.quantiles {
            out.push(Arc::new(Field::new(q, vector_data_type(), true)));
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
        let x = VectorColumn::try_new(batch.column(binding.columns[0]), &self.features)?;
        let mut lambdas = Vec::with_capacity(x.len());
        for row in 0..x.len() {
            let Some(v) = x.get(row) else {
                lambdas.push(None);
                continue;
            };
            if v.len() != self.coefficients.len() {
                return Err(ScoreError::InvalidValue {
                    column: self.features.clone(),
                    row,
                    message: format!(
                        "the model expects vectors of size {}, got size {}",
                        self.coefficients.len(),
                        v.len()
                    ),
                });
            }
            lambdas.push(Some((dot(v, &self.coefficients) + self.intercept).exp()));
        }
        let mut columns: Vec<arrow_array::ArrayRef> = Vec::new();
        if self.prediction.is_some() {
            columns.push(Arc::new(Float64Array::from(lambdas.clone())));
        }
        if let Some((_, factors)) = &self.quantiles {
            let mut b = VectorBuilder::with_capacity(lambdas.len());
            let mut q = vec![0.0; factors.len()];
            for lambda in &lambdas {
                match lambda {
                    None => b.push_null(),
                    Some(l) => {
                        q.iter_mut().zip(factors).for_each(|(q, f)| *q = f * l);
                        b.push_dense(&q);
                    }
                }
            }
            columns.push(b.finish());
        }
        Ok(columns.into())
    }
}

fn aft(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let coefficients = data.vector("coefficients", 0)?;
    let intercept = data.f64("intercept", 0)?;
    let scale = data.f64("scale", 0)?;
    let probabilities = ctx
        .meta
        .opt_f64s("quantileProbabilities")?
        .unwrap_or_else(|| DEFAULT_QUANTILES.to_vec());
    let quantiles = match ctx.meta.col("quantilesCol")? {
        Some(col) => {
            let modern = ctx.meta.version >= (3, 1);
            let factors = probabilities
                .iter()
                .map(|p| {
                    let z = (-(-p).ln_1p()).ln();
                    if modern {
                        (z * scale).exp()
                    } else {
                        (z / (1.0 / scale)).exp()
                    }
                })
                .collect();
            ctx.cols.vector(&col, Some(probabilities.len()));
            Some((col, factors))
        }
        None => None,
    };
    Ok(vec![Arc::new(Aft {
        name: ctx.name().to_string(),
        features: ctx.meta.str("featuresCol")?,
        coefficients,
        intercept,
        prediction: ctx.meta.col("predictionCol")?,
        quantiles,
    })])
}
