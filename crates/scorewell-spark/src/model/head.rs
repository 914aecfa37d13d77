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

/// How a classifier's prediction is chosen (`raw2prediction`, `probability2prediction` and
/// `predict` of Spark's `ProbabilisticClassificationModel`/`ClassificationModel` and the
/// models that override them). Spark decides from `rawPrediction` when that column is
/// written, else from `probability` when that one is, else through `predict(features)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decide {
    /// No thresholds: the first index of the largest `rawPrediction` (of `probability` when
    /// only that column is written). With thresholds: the first index of the largest
    /// `probability[i] / thresholds[i]`, whichever column is written.
    Default(Option<Vec<f64>>),
    /// Binomial logistic regression with threshold `t`: `raw[1] > ln(t / (1 - t))` (−∞ for
    /// `t = 0`, +∞ for `t = 1`), `probability[1] > t`, or `sigmoid(raw[1]) > t` through
    /// `predict`.
    Binomial(f64),
    /// Linear SVC: `raw[1] > threshold` (`raw2prediction` and `predict` alike).
    Raw1Above(f64),
    /// The first index of the largest probability, thresholds ignored (the multilayer
    /// perceptron's `predict`, used when neither `rawPrediction` nor `probability` is written).
    ProbabilityArgmax,
    /// The kernel's one value is the prediction (a decision tree's `predict`: the leaf's own
    /// prediction, used when neither `rawPrediction` nor `probability` is written).
    Value,
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

    /// The vector columns written (`rawPrediction`, `probability`), each of `width` values.
    pub(crate) fn vector_columns(&self, width: usize) -> Vec<(String, usize)> {
        match self {
            Head::Classifier {
                raw, probability, ..
            } => raw
                .iter()
                .chain(probability.iter().map(|(n, _)| n))
                .map(|n| (n.clone(), width))
                .collect(),
            _ => Vec::new(),
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
                let source = if raw_col.is_some() {
                    Source::Raw
                } else if probability.is_some() {
                    Source::Probability
                } else {
                    Source::Features
                };
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
                    preds.push(Some(decide_of(decide, source, r, p)));
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

/// Spark's `Vector.argmax`: the first index of the largest value (NaN never wins).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// `probability2prediction` with thresholds: `p / t` with `+∞` for a zero threshold … as
/// Spark divides (`0 / 0` is NaN, which never wins).
fn threshold_argmax(prob: &[f64], thresholds: &[f64]) -> usize {
    let mut best = 0;
    let mut max = f64::NEG_INFINITY;
    for (i, (p, t)) in prob.iter().zip(thresholds).enumerate() {
        let scaled = p / t;
        if scaled > max {
            max = scaled;
            best = i;
        }
    }
    best
}

/// Which column Spark reads the prediction from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Raw,
    Probability,
    Features,
}

fn decide_of(decide: &Decide, source: Source, raw: &[f64], prob: &[f64]) -> f64 {
    let index = match decide {
        Decide::Default(None) if source == Source::Probability => argmax(prob),
        Decide::Default(None) => argmax(raw),
        Decide::Default(Some(t)) => threshold_argmax(prob, t),
        Decide::Binomial(t) => {
            let above = match source {
                Source::Raw => raw[1] > raw_threshold(*t),
                Source::Probability => prob[1] > *t,
                Source::Features => 1.0 / (1.0 + (-raw[1]).exp()) > *t,
            };
            usize::from(above)
        }
        Decide::Raw1Above(t) => usize::from(raw[1] > *t),
        Decide::ProbabilityArgmax => argmax(prob),
        Decide::Value => return raw[0],
    };
    index as f64
}

/// Binomial logistic regression's threshold on `rawPrediction[1]`.
fn raw_threshold(t: f64) -> f64 {
    if t == 0.0 {
        f64::NEG_INFINITY
    } else if t == 1.0 {
        f64::INFINITY
    } else {
        (t / (1.0 - t)).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_logistic_regression_decides_as_spark_by_source() {
        // See: issue 6. raw = [-m, m]; p1 = 1 - sigmoid(-m).
        let m: f64 = 0.4f64.ln() - 0.6f64.ln(); // sigmoid(m) = 0.4 up to rounding
        let raw = [-m, m];
        let mut p = [0.0; 2];
        probability_of(ProbRule::SigmoidComplement, &raw, &mut p);
        let t = 0.4;
        let decide = Decide::Binomial(t);
        // raw[1] > ln(t / (1 - t)) and the two probability routes each round their own way.
        let by_raw = decide_of(&decide, Source::Raw, &raw, &p);
        assert_eq!(by_raw, f64::from(u8::from(m > (t / (1.0 - t)).ln())));
        assert_eq!(
            decide_of(&decide, Source::Probability, &raw, &p),
            f64::from(u8::from(p[1] > t))
        );
        assert_eq!(
            decide_of(&decide, Source::Features, &raw, &p),
            f64::from(u8::from(1.0 / (1.0 + (-m).exp()) > t))
        );
        // Threshold 0 predicts 1 for any finite margin, threshold 1 always 0.
        for m in [-1e300, 0.0, 1e300] {
            let raw = [-m, m];
            assert_eq!(
                decide_of(&Decide::Binomial(0.0), Source::Raw, &raw, &p),
                1.0
            );
            assert_eq!(
                decide_of(&Decide::Binomial(1.0), Source::Raw, &raw, &p),
                0.0
            );
        }
        let inf = [f64::NEG_INFINITY, f64::INFINITY];
        assert_eq!(
            decide_of(&Decide::Binomial(1.0), Source::Raw, &inf, &p),
            0.0
        );
    }

    #[test]
    fn default_decides_from_raw_without_thresholds_and_from_scaled_probabilities_with() {
        // Counts whose normalised values tie after rounding still differ as raw values.
        let raw = [3.0, 3.0000000000000004, 1.0];
        let mut p = [0.0; 3];
        probability_of(ProbRule::Normalize, &raw, &mut p);
        assert_eq!(
            decide_of(&Decide::Default(None), Source::Raw, &raw, &p),
            1.0
        );
        assert_eq!(
            decide_of(&Decide::Default(None), Source::Features, &raw, &p),
            1.0
        );
        let probs = [0.5, 0.3, 0.2];
        assert_eq!(
            decide_of(&Decide::Default(None), Source::Probability, &raw, &probs),
            0.0
        );
        // p / t: 0.5 / 0.8 < 0.3 / 0.2; a zero threshold wins unless its probability is 0.
        let t = Decide::Default(Some(vec![0.8, 0.2, 0.5]));
        assert_eq!(decide_of(&t, Source::Raw, &raw, &probs), 1.0);
        let zero = Decide::Default(Some(vec![1.0, 1.0, 0.0]));
        assert_eq!(decide_of(&zero, Source::Raw, &raw, &probs), 2.0);
        assert_eq!(decide_of(&zero, Source::Raw, &raw, &[0.5, 0.5, 0.0]), 0.0);
        assert_eq!(
            decide_of(&Decide::ProbabilityArgmax, Source::Features, &raw, &probs),
            0.0
        );
        assert_eq!(
            decide_of(&Decide::Value, Source::Features, &[2.0], &[1.0]),
            2.0
        );
        assert_eq!(
            decide_of(&Decide::Raw1Above(0.5), Source::Features, &[-0.6, 0.6], &[]),
            1.0
        );
    }
}
