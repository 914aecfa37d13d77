//! NaiveBayes (`ml/classification/NaiveBayes.scala`, Spark 3.x/4.x): multinomial,
//! complement, bernoulli and gaussian models; data `pi: vector, theta: matrix,
//! sigma: matrix` (`sigma` from Spark 3.0, used by gaussian models only).
//!
//! As Spark's `predictRaw` does, multinomial and complement models refuse a features vector
//! with a negative (or NaN) value and bernoulli models one with a value other than 0 or 1
//! (`requireNonnegativeValues`, `requireZeroOneBernoulliValues`); the error names the row,
//! the index and the value.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::VectorRef;

use super::linear::{class_thresholds, classifier_head, stage};
use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Decide, ProbRule, RowKernel};
use crate::reader::Matrix;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.classification.NaiveBayesModel",
        naive_bayes,
    );
}

#[derive(Debug)]
enum Kind {
    /// `theta x + pi`.
    Multinomial,
    /// `theta x - logsumexp(theta x)`.
    Complement,
    /// `(theta - negTheta) x + (pi + Σ negTheta)`, `negTheta = log1p(-exp(theta))`.
    Bernoulli {
        theta_minus_neg: Matrix,
        pi_minus_sum: Vec<f64>,
    },
    /// `pi - (Σ (x - theta)² / sigma + Σ log sigma) / 2`.
    Gaussian {
        sigma: Matrix,
        log_var_sum: Vec<f64>,
    },
}

#[derive(Debug)]
struct NaiveBayes {
    pi: Vec<f64>,
    theta: Matrix,
    kind: Kind,
}

impl NaiveBayes {
    /// The first stored non-zero value Spark refuses, with its index.
    fn refused(&self, x: VectorRef<'_>) -> Option<(usize, f64)> {
        let ok: fn(f64) -> bool = match self.kind {
            Kind::Multinomial | Kind::Complement => |v| v > 0.0,
            Kind::Bernoulli { .. } => |v| v == 1.0,
            Kind::Gaussian { .. } => return None,
        };
        let mut bad = None;
        x.for_each_active(|j, v| {
            if bad.is_none() && v != 0.0 && !ok(v) {
                bad = Some((j, v));
            }
        });
        bad
    }
}

impl RowKernel for NaiveBayes {
    fn width(&self) -> usize {
        self.pi.len()
    }
    fn num_features(&self) -> usize {
        self.theta.cols
    }
    fn check_row(&self, x: VectorRef<'_>) -> Result<(), String> {
        let Some((j, v)) = self.refused(x) else {
            return Ok(());
        };
        Err(match self.kind {
            Kind::Bernoulli { .. } => format!(
                "bernoulli naive Bayes requires 0 or 1 feature values, found {v} at index {j}"
            ),
            _ => format!(
                "{} naive Bayes requires nonnegative feature values, found {v} at index {j}",
                if matches!(self.kind, Kind::Complement) {
                    "complement"
                } else {
                    "multinomial"
                }
            ),
        })
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        let mat_dot = |m: &Matrix, k: usize| {
            let row = m.row(k);
            let mut s = 0.0;
            x.for_each_active(|j, v| s += v * row[j]);
            s
        };
        match &self.kind {
            Kind::Multinomial => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = mat_dot(&self.theta, k) + self.pi[k];
                }
            }
            Kind::Complement => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = mat_dot(&self.theta, k);
                }
                let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for o in out.iter() {
                    sum += (o - max).exp();
                }
                let lse = sum.ln() + max;
                out.iter_mut().for_each(|o| *o -= lse);
            }
            Kind::Bernoulli {
                theta_minus_neg,
                pi_minus_sum,
            } => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = mat_dot(theta_minus_neg, k) + pi_minus_sum[k];
                }
            }
            Kind::Gaussian { sigma, log_var_sum } => {
                let n = self.theta.cols;
                for (k, o) in out.iter_mut().enumerate() {
                    let (t, s2) = (self.theta.row(k), sigma.row(k));
                    let mut s = 0.0;
                    for j in 0..n {
                        let d = x.get(j) - t[j];
                        s += d * d / s2[j];
                    }
                    *o = self.pi[k] - (s + log_var_sum[k]) / 2.0;
                }
            }
        }
    }
}

fn naive_bayes(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let pi = data.vector("pi", 0)?;
    let theta = data.matrix("theta", 0)?;
    if theta.rows != pi.len() {
        return Err(ctx.invalid(format!(
            "theta has {} rows for {} classes",
            theta.rows,
            pi.len()
        )));
    }
    let model_type = ctx
        .meta
        .opt_str("modelType")?
        .unwrap_or_else(|| "multinomial".into());
    let kind = match model_type.as_str() {
        "multinomial" => Kind::Multinomial,
        "complement" => Kind::Complement,
        "bernoulli" => {
            let neg: Vec<f64> = theta.values.iter().map(|v| (-v.exp()).ln_1p()).collect();
            let theta_minus_neg = Matrix {
                rows: theta.rows,
                cols: theta.cols,
                values: theta.values.iter().zip(&neg).map(|(t, n)| t - n).collect(),
            };
            let pi_minus_sum = (0..theta.rows)
                .map(|k| {
                    let mut s = pi[k];
                    for v in &neg[k * theta.cols..(k + 1) * theta.cols] {
                        s += v;
                    }
                    s
                })
                .collect();
            Kind::Bernoulli {
                theta_minus_neg,
                pi_minus_sum,
            }
        }
        "gaussian" => {
            let sigma = data.matrix("sigma", 0)?;
            if sigma.rows != theta.rows || sigma.cols != theta.cols {
                return Err(ctx.invalid("sigma and theta have different shapes"));
            }
            let log_var_sum = (0..sigma.rows)
                .map(|k| sigma.row(k).iter().map(|v| v.ln()).sum())
                .collect();
            Kind::Gaussian { sigma, log_var_sum }
        }
        other => {
            return Err(ctx.invalid(format!(
                "unsupported NaiveBayes modelType `{other}` (supported: multinomial, complement, bernoulli, gaussian)"
            )));
        }
    };
    let thresholds = class_thresholds(ctx, pi.len())?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::ExpNormalize),
        Decide::Default(thresholds),
    )?;
    stage(ctx, Arc::new(NaiveBayes { pi, theta, kind }), head)
}
