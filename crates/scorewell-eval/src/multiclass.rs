//! Multiclass metrics from one model's per-class probabilities: a confusion matrix and a log
//! loss sum, both exact when streaming.
//!
//! The predicted class is the first largest probability (`np.argmax`). Log loss follows
//! scikit-learn 1.7's `log_loss`: any probability outside `[0, 1]` makes it undefined (`null`),
//! rows are not renormalised, and only the label's probability, clipped to `[eps, 1 - eps]`,
//! counts. Macro and weighted F1
//! average over the classes present in the labels or the predictions, as scikit-learn does
//! without `labels=`; per-class figures are listed for every class the model scores.

use serde::Serialize;

use crate::binary::{LOG_LOSS_EPS, Sum};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The class index.
    pub class: usize,
    /// Rows labelled with the class.
    pub support: u64,
    /// Rows predicted as the class.
    pub predicted: u64,
    /// `tp / predicted`, 0 when nothing is predicted as the class.
    pub precision: f64,
    /// `tp / support`, 0 when the class never occurs.
    pub recall: f64,
    /// `2 tp / (support + predicted)`, 0 when both are 0.
    pub f1: f64,
}

/// Every metric of one model on class labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MulticlassMetrics {
    /// Rows evaluated.
    pub rows: u64,
    /// Classes the model scores.
    pub classes: usize,
    /// Fraction of rows whose predicted class is the label.
    pub accuracy: f64,
    /// Unweighted mean F1 over present classes.
    pub macro_f1: f64,
    /// F1 of the pooled counts (equals accuracy for single-label data).
    pub micro_f1: f64,
    /// Support-weighted mean F1.
    pub weighted_f1: f64,
    /// Mean log loss, probabilities clipped to `[eps, 1 - eps]`, not renormalised; `null` when
    /// any probability lies outside `[0, 1]` (scikit-learn 1.7 refuses such input).
    pub log_loss: Option<f64>,
    /// Per-class figures.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix: `confusion[label][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Sufficient statistics of [`MulticlassMetrics`]; sums of two of them describe the union.
#[derive(Debug, Clone)]
pub struct MulticlassAccumulator {
    classes: usize,
    confusion: Vec<u64>,
    log_loss_sum: Sum,
    /// Every probability seen lies in `[0, 1]`.
    probabilities: bool,
    rows: u64,
}

/// The class with the largest probability, the first one on ties.
pub(crate) fn argmax(probs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > probs[best] {
            best = i;
        }
    }
    best
}

impl MulticlassAccumulator {
    /// An empty accumulator for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            confusion: vec![0; classes * classes],
            log_loss_sum: Sum::default(),
            probabilities: true,
            rows: 0,
        }
    }

    /// Add one row: its label (a class index below `classes`) and the model's probabilities.
    pub fn push(&mut self, label: usize, probs: &[f64]) {
        let predicted = argmax(probs);
        self.confusion[label * self.classes + predicted] += 1;
        self.log_loss_sum
            .add(-probs[label].clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln());
        self.probabilities &= probs.iter().all(|p| (0.0..=1.0).contains(p));
        self.rows += 1;
    }

    /// Add weighted sufficient statistics of another accumulator (bootstrap replicates).
    pub(crate) fn add_weighted(&mut self, other: &Self, weight: u64) {
        for (a, b) in self.confusion.iter_mut().zip(&other.confusion) {
            *a += b * weight;
        }
        self.log_loss_sum
            .add(other.log_loss_sum.value() * weight as f64);
        self.probabilities &= other.probabilities;
        self.rows += other.rows * weight;
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Compute the metrics.
    pub fn finish(&self) -> MulticlassMetrics {
        let k = self.classes;
        let cell = |l: usize, p: usize| self.confusion[l * k + p];
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = cell(c, c) as f64;
                let support: u64 = (0..k).map(|p| cell(c, p)).sum();
                let predicted: u64 = (0..k).map(|l| cell(l, c)).sum();
                ClassMetrics {
                    class: c,
                    support,
                    predicted,
                    precision: ratio(tp, predicted as f64),
                    recall: ratio(tp, support as f64),
                    f1: ratio(2.0 * tp, (support + predicted) as f64),
                }
            })
            .collect();
        let present: Vec<&ClassMetrics> = per_class
            .iter()
            .filter(|c| c.support > 0 || c.predicted > 0)
            .collect();
        let correct: u64 = (0..k).map(|c| cell(c, c)).sum();
        let n = self.rows as f64;
        let macro_f1 = ratio(
            present.iter().map(|c| c.f1).sum::<f64>(),
            present.len() as f64,
        );
        let weighted_f1 = ratio(
            present.iter().map(|c| c.f1 * c.support as f64).sum::<f64>(),
            present.iter().map(|c| c.support as f64).sum::<f64>(),
        );
        let wrong = n - correct as f64;
        MulticlassMetrics {
            rows: self.rows,
            classes: k,
            accuracy: ratio(correct as f64, n),
            macro_f1,
            micro_f1: ratio(2.0 * correct as f64, 2.0 * correct as f64 + 2.0 * wrong),
            weighted_f1,
            log_loss: self
                .probabilities
                .then(|| ratio(self.log_loss_sum.value(), n)),
            per_class,
            confusion: (0..k)
                .map(|l| (0..k).map(|p| cell(l, p)).collect())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_classes_stay_out_of_the_macro_average() {
        let mut acc = MulticlassAccumulator::new(4);
        acc.push(0, &[0.7, 0.2, 0.1, 0.0]);
        acc.push(1, &[0.6, 0.3, 0.1, 0.0]);
        acc.push(1, &[0.1, 0.8, 0.1, 0.0]);
        acc.push(2, &[0.2, 0.2, 0.2, 0.4]);
        let m = acc.finish();
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.confusion[2][3], 1);
        // Classes 0..=3 are all present (3 only as a prediction): f1 = [2/3, 2/3, 0, 0].
        assert!((m.macro_f1 - (4.0 / 3.0) / 4.0).abs() < 1e-15);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
        assert!(m.log_loss.is_some());
    }

    /// scikit-learn 1.7's `log_loss` raises on any probability above 1 or below 0, in any
    /// column (not only the label's); rows that merely do not sum to 1 only warn.
    #[test]
    fn log_loss_is_null_outside_zero_one_and_unnormalised_rows_count() {
        let mut acc = MulticlassAccumulator::new(3);
        acc.push(0, &[0.5, 0.2, 0.1]);
        acc.push(1, &[0.2, 0.9, 0.4]);
        let m = acc.finish();
        let want = -(0.5f64.ln() + 0.9f64.ln()) / 2.0;
        assert!((m.log_loss.unwrap() - want).abs() < 1e-15);
        acc.push(2, &[0.1, 1.2, 0.3]);
        assert_eq!(acc.finish().log_loss, None);
        let mut acc = MulticlassAccumulator::new(2);
        acc.push(0, &[0.9, -0.1]);
        assert_eq!(acc.finish().log_loss, None);
    }
}
