//! Factorization machines (`ml/regression/FMRegressor.scala`,
//! `ml/classification/FMClassifier.scala`, Spark 3.0+): data one row `intercept: double,
//! linear: vector, factors: matrix` (`numFeatures × factorSize`).
//!
//! `FactorizationMachines.getRawPrediction`: `r = intercept + x · linear`, then for each
//! factor `f`, over the input's non-zero entries, `vx = factors(i, f) · xᵢ`,
//! `r += 0.5 · ((Σ vx)² - Σ vx²)`. `FMRegressionModel` predicts `r`; `FMClassificationModel`
//! writes `rawPrediction = [-r, r]`, `probability = [1 - p, p]` with `p = 1 / (1 + e^-r)`, and
//! predicts from the probability (or `thresholds`). Without `fitLinear` Spark saves an empty
//! sparse `linear`, whose dot product is exactly 0 whatever the input holds.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::VectorRef;

use super::linear::{classifier_head, stage, thresholds};
use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Decide, Head, ProbRule, RegressionLink, RowKernel, dot};
use crate::reader::Matrix;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.regression.FMRegressionModel",
        fm_regression,
    );
    reg.add(
        "org.apache.spark.ml.classification.FMClassificationModel",
        fm_classification,
    );
}

#[derive(Debug)]
struct Fm {
    intercept: f64,
    /// `None` without a linear term.
    linear: Option<Vec<f64>>,
    factors: Matrix,
    /// Classifier: `[-r, r]`.
    pair: bool,
}

impl Fm {
    fn raw(&self, x: VectorRef<'_>) -> f64 {
        let mut r = self.intercept + self.linear.as_ref().map_or(0.0, |w| dot(x, w));
        for f in 0..self.factors.cols {
            let (mut sum, mut sum_square) = (0.0, 0.0);
            x.for_each_active(|i, v| {
                if v != 0.0 {
                    let vx = self.factors.values[i * self.factors.cols + f] * v;
                    sum_square += vx * vx;
                    sum += vx;
                }
            });
            r += 0.5 * (sum * sum - sum_square);
        }
        r
    }
}

impl RowKernel for Fm {
    fn width(&self) -> usize {
        if self.pair { 2 } else { 1 }
    }
    fn num_features(&self) -> usize {
        self.factors.rows
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        let r = self.raw(x);
        if self.pair {
            out[0] = -r;
            out[1] = r;
        } else {
            out[0] = r;
        }
    }
}

fn read(ctx: &Ctx<'_>, pair: bool) -> Result<Fm> {
    let data = ctx.data()?;
    data.one_row()?;
    let intercept = data.f64("intercept", 0)?;
    let linear = data.vector("linear", 0)?;
    let factors = data.matrix("factors", 0)?;
    if linear.len() != factors.rows {
        return Err(ctx.invalid(format!(
            "`linear` has {} values for {} factor rows",
            linear.len(),
            factors.rows
        )));
    }
    let linear = ctx.meta.bool_or("fitLinear", true)?.then_some(linear);
    Ok(Fm {
        intercept,
        linear,
        factors,
        pair,
    })
}

fn fm_regression(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let fm = read(ctx, false)?;
    let head = Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link: RegressionLink::Identity,
        link_prediction: None,
    };
    stage(ctx, Arc::new(fm), head)
}

fn fm_classification(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let fm = read(ctx, true)?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::SigmoidOfRaw1),
        Decide::Default(thresholds(ctx)?),
    )?;
    stage(ctx, Arc::new(fm), head)
}
