//! From a model's raw values to Spark's output columns, with Spark's formulas
//! (`ProbabilisticClassificationModel`, `ClassificationModel`, each model's
//! `raw2probabilityInPlace` and `probability2prediction`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array};
use arrow_schema::{DataType, Field, FieldRef};
use scorewell_core::vector::{VectorBuilder, vector_data_type};

/// raw → probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ProbRule {
    /// `p0 = 1 / (1 + e^-raw_0)`, `p1 = 1 - p0` (binomial logistic regression).
    SigmoidComplement,
    /// Multinomial logistic regression: `e^(raw - max)` (or `e^raw` when max ≤ 0), scaled by
    /// `1 / sum`.
    LogisticSoftmax,
    /// `e^(raw - max) / sum` (naive Bayes, multilayer perceptron).
    ExpNormalize,
    /// `raw / sum` (tree class counts and votes).
    Normalize,
    /// GBT: `p0 = 1 / (1 + e^(2·raw0))`… as `LogLoss.computeProbability(raw0)`, `p1 = 1 - p0`.
    GbtLogLoss,
    /// Factorization machines: `p1 = 1 / (1 + e^-raw1)`, `p0 = 1 - p1`.
    SigmoidOfRaw1,
}

/// How the prediction is chosen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decide {
    /// Index of the largest probability (or raw value when there is none), scaled by
    /// `1 / thresholds[i]` when thresholds are set; first index on ties.
    Argmax(Option<Vec<f64>>),
    /// `probability[1] > threshold` (binomial logistic regression).
    Probability1Above(f64),
    /// `raw[1] > threshold` (linear SVC).
    Raw1Above(f64),
}

/// How a regression prediction comes out of the raw value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RegressionLink {
    /// The raw value.
    Identity,
    /// Divided by the number of trees (random forest regression).
    Mean(f64),
    /// A GLM inverse link, then the family's range projection.
    Glm(
        crate::stages::linear::GlmLink,
        crate::stages::linear::GlmFamily,
    ),
}

/// Which columns a model writes.
#[derive(Debug, Clone)]
pub(crate) enum Head {
    /// Classifiers.
    Classifier {
        raw: Option<String>,
        probability: Option<(String, ProbRule)>,
        prediction: Option<String>,
        decide: Decide,
        /// How to get probabilities for the decision when no probability column is written.
        rule: Option<ProbRule>,
    },
    /// Regressors: `prediction` and optionally the linear predictor (GLM `linkPredictionCol`).
    Regressor {
        prediction: Option<String>,
        link: RegressionLink,
        link_prediction: Option<String>,
    },
    /// Clustering: an integer prediction (k-means).
    Cluster { prediction: Option<String> },
}

impl Head {
    pub(crate) fn fields(&self) -> Vec<FieldRef> {
        let vector = |n: &String| Arc::new(Field::new(n, vector_data_type(), true));
        let float = |n: &String| Arc::new(Field::new(n, DataType::Float64, true));
        match self {
            Head::Classifier {
                raw,
                probability,
                prediction,
                ..
            } => raw
                .iter()
                .map(vector)
                .chain(probability.iter().map(|(n, _)| vector(n)))
                .chain(prediction.iter().map(float))
                .collect(),
            Head::Regressor {
                prediction,
                link_prediction,
                ..
            } => link_prediction
                .iter()
                .map(float)
                .chain(prediction.iter().map(float))
                .collect(),
            Head::Cluster { prediction } => prediction
                .iter()
                .map(|n| Arc::new(Field::new(n, DataType::Int32, true)))
                .collect(),
        }
    }

    /// The output arrays for `raw` (`rows × width`); rows with `valid[i] == false` are null.
    pub(crate) fn columns(&self, raw: &[f64], width: usize, valid: &[bool]) -> Vec<ArrayRef> {
        let rows = valid.len();
        match self {
            Head::Classifier {
                raw: raw_col,
                probability,
                prediction,
                decide,
                rule,
            } => {
                let mut raws = raw_col.as_ref().map(|_| VectorBuilder::with_capacity(rows));
                let mut probs = probability
                    .as_ref()
                    .map(|_| VectorBuilder::with_capacity(rows));
                let mut preds = Vec::with_capacity(rows);
                let rule = probability.as_ref().map(|(_, r)| *r).or(*rule);
                let mut p = vec![0.0; width];
                for i in 0..rows {
                    if !valid[i] {
                        raws.iter_mut().for_each(VectorBuilder::push_null);
                        probs.iter_mut().for_each(VectorBuilder::push_null);
                        preds.push(None);
                        continue;
                    }
                    let r = &raw[i * width..(i + 1) * width];
                    if let Some(b) = raws.as_mut() {
                        b.push_dense(r);
                    }
                    let p = match rule {
                        Some(rule) => {
                            probability_of(rule, r, &mut p);
                            &p[..]
                        }
                        None => r,
                    };
                    if let Some(b) = probs.as_mut() {
                        b.push_dense(p);
                    }
                    preds.push(Some(decide_of(decide, r, p)));
                }
                let mut out: Vec<ArrayRef> = Vec::new();
                out.extend(raws.map(VectorBuilder::finish));
                out.extend(probs.map(VectorBuilder::finish));
                if prediction.is_some() {
                    out.push(Arc::new(Float64Array::from(preds)));
                }
                out
            }
            Head::Regressor {
                prediction,
                link,
                link_prediction,
            } => {
                let eta = |i: usize| valid[i].then(|| raw[i * width]);
                let mut out: Vec<ArrayRef> = Vec::new();
                // Spark's GLM writes `linkPredictionCol` before `predictionCol`.
                if link_prediction.is_some() {
                    out.push(Arc::new((0..rows).map(eta).collect::<Float64Array>()));
                }
                if prediction.is_some() {
                    let values: Float64Array = (0..rows)
                        .map(|i| {
                            eta(i).map(|e| match link {
                                RegressionLink::Identity => e,
                                RegressionLink::Mean(n) => e / n,
                                RegressionLink::Glm(l, f) => f.project(l.unlink(e)),
                            })
                        })
                        .collect();
                    out.push(Arc::new(values));
                }
                out
            }
            Head::Cluster { prediction } => {
                if prediction.is_none() {
                    return Vec::new();
                }
                let values: Int32Array = (0..rows)
                    .map(|i| valid[i].then(|| raw[i * width] as i32))
                    .collect();
                vec![Arc::new(values)]
            }
        }
    }
}

fn probability_of(rule: ProbRule, raw: &[f64], out: &mut [f64]) {
    match rule {
        ProbRule::SigmoidComplement => {
            out[0] = 1.0 / (1.0 + (-raw[0]).exp());
            out[1] = 1.0 - out[0];
        }
        ProbRule::LogisticSoftmax => {
            let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if max == f64::INFINITY {
                for (o, r) in out.iter_mut().zip(raw) {
                    *o = if *r == f64::INFINITY { 1.0 } else { 0.0 };
                }
                return;
            }
            let mut sum = 0.0;
            for (o, r) in out.iter_mut().zip(raw) {
                *o = if max > 0.0 { (r - max).exp() } else { r.exp() };
                sum += *o;
            }
            let scale = 1.0 / sum;
            out.iter_mut().for_each(|o| *o *= scale);
        }
        ProbRule::ExpNormalize => {
            let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (o, r) in out.iter_mut().zip(raw) {
                *o = (r - max).exp();
                sum += *o;
            }
            out.iter_mut().for_each(|o| *o /= sum);
        }
        ProbRule::Normalize => {
            let sum: f64 = raw.iter().sum();
            for (o, r) in out.iter_mut().zip(raw) {
                *o = if sum > 0.0 { r / sum } else { *r };
            }
        }
        ProbRule::GbtLogLoss => {
            let p0 = 1.0 / (1.0 + (-2.0 * raw[0]).exp());
            out[0] = p0;
            out[1] = 1.0 - p0;
        }
        ProbRule::SigmoidOfRaw1 => {
            out[1] = 1.0 / (1.0 + (-raw[1]).exp());
            out[0] = 1.0 - out[1];
        }
    }
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

fn decide_of(decide: &Decide, raw: &[f64], prob: &[f64]) -> f64 {
    match decide {
        Decide::Argmax(None) => argmax(prob) as f64,
        Decide::Argmax(Some(t)) => {
            let mut best = 0;
            let mut max = f64::NEG_INFINITY;
            for (i, (p, t)) in prob.iter().zip(t).enumerate() {
                let scaled = p / t;
                if scaled > max {
                    max = scaled;
                    best = i;
                }
            }
            best as f64
        }
        Decide::Probability1Above(t) => f64::from(u8::from(prob[1] > *t)),
        Decide::Raw1Above(t) => f64::from(u8::from(raw[1] > *t)),
    }
}
