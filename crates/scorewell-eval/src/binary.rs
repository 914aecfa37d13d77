//! Binary classification metrics over one model's scores, accumulated batch by batch.
//!
//! Every metric here equals scikit-learn 1.7's on the same rows (see `docs/EVAL.md`):
//! - counts, log loss, Brier and the metrics at fixed thresholds are sums, exact when streaming;
//! - ROC AUC, average precision and recall at a fixed precision need the rows ranked by score;
//!   the `runs` module sorts them externally (bounded memory, spill files), so they are exact too.
//!
//! A row is flagged at threshold `t` when `score >= t`, as in `precision_recall_curve`.

use serde::Serialize;

use crate::calibration::{CalibrationAccumulator, CalibrationBin};
use crate::error::Result;
use crate::runs::{Level, ScoreRuns};

/// Options of the binary metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryOptions {
    /// Thresholds at which precision, recall, F1 and the confusion matrix are reported.
    pub thresholds: Vec<f64>,
    /// Precision targets for "recall at precision".
    pub at_precision: Vec<f64>,
    /// Bins of the calibration table.
    pub calibration_bins: usize,
    /// Pairs kept in memory before a sorted run is spilled to disk.
    pub memory_rows: usize,
}

impl Default for BinaryOptions {
    fn default() -> Self {
        Self {
            thresholds: vec![0.5],
            at_precision: Vec::new(),
            calibration_bins: 10,
            memory_rows: 1 << 20,
        }
    }
}

/// Precision, recall, F1 and the confusion matrix at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtThreshold {
    /// Rows with `score >= threshold` are flagged.
    pub threshold: f64,
    /// `tp / (tp + fp)`, 0 when nothing is flagged (scikit-learn's `zero_division=0`).
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when there are no positives.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, 0 when that is 0/0.
    pub f1: f64,
    /// Flagged rows with label 1.
    pub tp: u64,
    /// Flagged rows with label 0.
    pub fp: u64,
    /// Unflagged rows with label 1.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Unflagged rows with label 0.
    pub tn: u64,
}

impl AtThreshold {
    pub(crate) fn from_counts(threshold: f64, tp: f64, fp: f64, pos: f64, neg: f64) -> Self {
        let fn_ = pos - tp;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Self {
            threshold,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, pos),
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            tp: tp as u64,
            fp: fp as u64,
            fn_: fn_ as u64,
            tn: (neg - fp) as u64,
        }
    }
}

/// The largest recall among thresholds whose precision reaches a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecallAtPrecision {
    /// The precision target.
    pub min_precision: f64,
    /// The largest recall reached with precision >= the target (0 when none).
    pub recall: f64,
    /// The threshold (a score) that reaches it; `null` when no threshold does.
    pub threshold: Option<f64>,
    /// The precision at that threshold.
    pub precision: Option<f64>,
}

/// One point of the ROC / precision-recall curves: flag rows with `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The threshold.
    pub threshold: f64,
    /// True positives at it.
    pub tp: u64,
    /// False positives at it.
    pub fp: u64,
}

/// Score counts per label on a fixed grid, for plotting distributions.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreHistogram {
    /// Counts of label-1 rows per bin of [`squash`]ed score.
    pub pos: Vec<u64>,
    /// Counts of label-0 rows per bin.
    pub neg: Vec<u64>,
    /// Smallest score seen.
    pub min: f64,
    /// Largest score seen.
    pub max: f64,
}

/// Bins of [`ScoreHistogram`].
pub const HISTOGRAM_BINS: usize = 400;

/// Every metric of one model on binary labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryMetrics {
    /// Rows evaluated (label present, score not NaN).
    pub rows: u64,
    /// Rows with label 1.
    pub positives: u64,
    /// Rows with label 0.
    pub negatives: u64,
    /// Area under the ROC curve; `null` when only one class is present.
    pub roc_auc: Option<f64>,
    /// Average precision (scikit-learn's step-function PR AUC); 0 with no positives.
    pub average_precision: f64,
    /// Mean log loss with scores clipped to `[eps, 1 - eps]`, `eps` = 2.220446049250313e-16;
    /// `null` when a score lies outside `[0, 1]` (not a probability; scikit-learn refuses it).
    pub log_loss: Option<f64>,
    /// Brier score: mean of `(label - score)^2`; `null` when a score lies outside `[0, 1]`.
    pub brier: Option<f64>,
    /// Metrics at each threshold.
    pub at_thresholds: Vec<AtThreshold>,
    /// Recall at each precision target; `null` entries when there are no positives.
    pub recall_at_precision: Vec<RecallAtPrecision>,
    /// The calibration table; `null` when a score lies outside `[0, 1]`.
    pub calibration: Option<Vec<CalibrationBin>>,
    /// The ROC/PR curve, thinned to at most a few hundred points (report only).
    #[serde(skip)]
    pub curve: Vec<CurvePoint>,
    /// Score distribution by label (report only).
    #[serde(skip)]
    pub histogram: ScoreHistogram,
}

/// Map any score monotonically into `[0, 1]`, linearly on `[0, 1]` (probabilities get half
/// of the range), so one fixed grid serves probabilities and margins alike.
pub fn squash(s: f64) -> f64 {
    if s < 0.0 {
        0.25 / (1.0 - s)
    } else if s <= 1.0 {
        0.25 + 0.5 * s
    } else {
        1.0 - 0.25 / s
    }
}

/// Inverse of [`squash`].
pub fn unsquash(u: f64) -> f64 {
    if u < 0.25 {
        1.0 - 0.25 / u
    } else if u <= 0.75 {
        (u - 0.25) / 0.5
    } else {
        0.25 / (1.0 - u)
    }
}

/// The bin of `score` on a grid of `bins` over squashed scores.
pub(crate) fn grid_bin(score: f64, bins: usize) -> usize {
    ((squash(score) * bins as f64) as usize).min(bins - 1)
}

pub(crate) const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// Log loss of one row, as scikit-learn computes it: both class probabilities clipped.
pub(crate) fn row_log_loss(score: f64, positive: bool) -> f64 {
    let p = if positive { score } else { 1.0 - score };
    -p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln()
}

/// Brier term of one row, as scikit-learn 1.7 computes it over `[1 - p, p]`, halved.
pub(crate) fn row_brier(score: f64, positive: bool) -> f64 {
    let y = if positive { 1.0 } else { 0.0 };
    let a = (1.0 - y) - (1.0 - score);
    let b = y - score;
    (a * a + b * b) * 0.5
}

/// A compensated (Neumaier) sum: over 10M rows a plain running sum drifts by ~1e-11, this
/// one stays within a few ulps of the exact sum.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Streaming accumulator of [`BinaryMetrics`] for one model.
#[derive(Debug)]
pub struct BinaryAccumulator {
    options: BinaryOptions,
    runs: ScoreRuns,
    rows: u64,
    positives: u64,
    probabilities: bool,
    log_loss_sum: Sum,
    brier_sum: Sum,
    flagged_pos: Vec<u64>,
    flagged_neg: Vec<u64>,
    calibration: CalibrationAccumulator,
    histogram: ScoreHistogram,
}

impl BinaryAccumulator {
    /// An empty accumulator.
    pub fn new(options: BinaryOptions) -> Self {
        let k = options.thresholds.len();
        Self {
            runs: ScoreRuns::new(options.memory_rows),
            calibration: CalibrationAccumulator::new(options.calibration_bins),
            options,
            rows: 0,
            positives: 0,
            probabilities: true,
            log_loss_sum: Sum::default(),
            brier_sum: Sum::default(),
            flagged_pos: vec![0; k],
            flagged_neg: vec![0; k],
            histogram: ScoreHistogram {
                pos: vec![0; HISTOGRAM_BINS],
                neg: vec![0; HISTOGRAM_BINS],
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
        }
    }

    /// Add one row; `score` must not be NaN (see `docs/EVAL.md`: such rows are dropped before).
    pub fn push(&mut self, score: f64, positive: bool) -> Result<()> {
        self.rows += 1;
        self.positives += u64::from(positive);
        self.probabilities &= (0.0..=1.0).contains(&score);
        self.log_loss_sum.add(row_log_loss(score, positive));
        self.brier_sum.add(row_brier(score, positive));
        for (i, &t) in self.options.thresholds.iter().enumerate() {
            if score >= t {
                if positive {
                    self.flagged_pos[i] += 1;
                } else {
                    self.flagged_neg[i] += 1;
                }
            }
        }
        self.calibration.push(score, positive);
        let bin = grid_bin(score, HISTOGRAM_BINS);
        if positive {
            self.histogram.pos[bin] += 1;
        } else {
            self.histogram.neg[bin] += 1;
        }
        self.histogram.min = self.histogram.min.min(score);
        self.histogram.max = self.histogram.max.max(score);
        self.runs.push(score, positive)
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rank the rows (merging spilled runs) and compute every metric.
    pub fn finish(self) -> Result<BinaryMetrics> {
        let pos = self.positives;
        let neg = self.rows - pos;
        let ranked = ranked_metrics(
            self.runs.into_levels()?,
            pos,
            neg,
            &self.options.at_precision,
        )?;
        let n = self.rows.max(1) as f64;
        let at_thresholds = self
            .options
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                AtThreshold::from_counts(
                    t,
                    self.flagged_pos[i] as f64,
                    self.flagged_neg[i] as f64,
                    pos as f64,
                    neg as f64,
                )
            })
            .collect();
        Ok(BinaryMetrics {
            rows: self.rows,
            positives: pos,
            negatives: neg,
            roc_auc: ranked.roc_auc,
            average_precision: ranked.average_precision,
            log_loss: self.probabilities.then(|| self.log_loss_sum.value() / n),
            brier: self.probabilities.then(|| self.brier_sum.value() / n),
            at_thresholds,
            recall_at_precision: ranked.recall_at_precision,
            calibration: self.calibration.finish(),
            curve: ranked.curve,
            histogram: self.histogram,
        })
    }
}

/// What one pass over the ranked scores gives.
pub(crate) struct Ranked {
    pub roc_auc: Option<f64>,
    pub average_precision: f64,
    pub recall_at_precision: Vec<RecallAtPrecision>,
    pub curve: Vec<CurvePoint>,
}

/// Curve points kept for plots: a point is kept when either rate moved this much.
const CURVE_STEP: f64 = 1.0 / 400.0;

/// ROC AUC, average precision, recall at precision and a thinned curve from distinct scores,
/// highest first. AUC is the trapezoid rule over the ROC points (`sklearn.metrics.auc`),
/// summed in integers and divided once; average precision is
/// `sum_i (R_i - R_{i-1}) P_i` over distinct thresholds, as `average_precision_score`,
/// summed as `sum_i (TP_i - TP_{i-1}) P_i` and divided by the positives once.
pub(crate) fn ranked_metrics(
    levels: impl Iterator<Item = Result<Level>>,
    pos: u64,
    neg: u64,
    targets: &[f64],
) -> Result<Ranked> {
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut area: u128 = 0;
    let mut ap = 0.0;
    let mut best: Vec<Option<(f64, f64, f64)>> = vec![None; targets.len()];
    let mut curve = vec![CurvePoint {
        threshold: f64::INFINITY,
        tp: 0,
        fp: 0,
    }];
    let mut last_kept = (0u64, 0u64);
    let mut pending: Option<CurvePoint> = None;
    for level in levels {
        let level = level?;
        let (tp0, fp0) = (tp, fp);
        tp += level.pos;
        fp += level.neg;
        area += u128::from(fp - fp0) * u128::from(tp0 + tp);
        let precision = tp as f64 / (tp + fp) as f64;
        if pos > 0 {
            let recall = tp as f64 / pos as f64;
            ap += (tp - tp0) as f64 * precision;
            for (slot, &target) in best.iter_mut().zip(targets) {
                if precision >= target && slot.is_none_or(|(r, _, _)| recall > r) {
                    *slot = Some((recall, level.score, precision));
                }
            }
        }
        let point = CurvePoint {
            threshold: level.score,
            tp,
            fp,
        };
        let moved_tp = (tp - last_kept.0) as f64 / pos.max(1) as f64;
        let moved_fp = (fp - last_kept.1) as f64 / neg.max(1) as f64;
        if moved_tp >= CURVE_STEP || moved_fp >= CURVE_STEP {
            curve.push(point);
            last_kept = (tp, fp);
            pending = None;
        } else {
            pending = Some(point);
        }
    }
    curve.extend(pending);
    let roc_auc = (pos > 0 && neg > 0).then(|| area as f64 / (2.0 * pos as f64 * neg as f64));
    let recall_at_precision = targets
        .iter()
        .zip(best)
        .map(|(&min_precision, b)| match b {
            Some((recall, threshold, precision)) => RecallAtPrecision {
                min_precision,
                recall,
                threshold: Some(threshold),
                precision: Some(precision),
            },
            None => RecallAtPrecision {
                min_precision,
                recall: 0.0,
                threshold: None,
                precision: None,
            },
        })
        .collect();
    Ok(Ranked {
        roc_auc,
        average_precision: if pos > 0 {
            (ap / pos as f64).max(0.0)
        } else {
            0.0
        },
        recall_at_precision,
        curve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(rows: &[(f64, bool)], options: BinaryOptions) -> BinaryMetrics {
        let mut acc = BinaryAccumulator::new(options);
        for &(s, l) in rows {
            acc.push(s, l).unwrap();
        }
        acc.finish().unwrap()
    }

    #[test]
    fn matches_hand_computed_values_with_ties() {
        // sklearn: roc_auc_score([0,0,1,1,1,0],[.1,.4,.4,.8,.9,.9]) = 0.6666666666666666
        //          average_precision_score(...) = 0.5888888888888889
        let rows = [
            (0.1, false),
            (0.4, false),
            (0.4, true),
            (0.8, true),
            (0.9, true),
            (0.9, false),
        ];
        let m = metrics(&rows, BinaryOptions::default());
        assert!((m.roc_auc.unwrap() - 0.666_666_666_666_666_6).abs() < 1e-15);
        assert!((m.average_precision - 0.588_888_888_888_888_9).abs() < 1e-15);
        let at = &m.at_thresholds[0];
        assert_eq!((at.tp, at.fp, at.fn_, at.tn), (2, 1, 1, 2));
    }

    #[test]
    fn one_class_has_no_auc_and_ap_follows_sklearn() {
        let m = metrics(&[(0.2, false), (0.7, false)], BinaryOptions::default());
        assert_eq!(m.roc_auc, None);
        assert_eq!(m.average_precision, 0.0);
        let m = metrics(&[(0.2, true), (0.7, true)], BinaryOptions::default());
        assert_eq!(m.roc_auc, None);
        assert_eq!(m.average_precision, 1.0);
    }

    #[test]
    fn recall_at_precision_keeps_the_highest_threshold_of_the_best_recall() {
        let rows = [
            (0.9, true),
            (0.8, true),
            (0.7, false),
            (0.6, true),
            (0.1, false),
        ];
        let options = BinaryOptions {
            at_precision: vec![0.99, 0.75, 0.5],
            ..Default::default()
        };
        let m = metrics(&rows, options);
        let r: Vec<(f64, Option<f64>)> = m
            .recall_at_precision
            .iter()
            .map(|r| (r.recall, r.threshold))
            .collect();
        assert_eq!(
            r,
            vec![(2.0 / 3.0, Some(0.8)), (1.0, Some(0.6)), (1.0, Some(0.6))]
        );
    }

    #[test]
    fn squash_is_monotone_and_inverts() {
        let xs = [-1e6, -3.0, -0.0, 0.0, 0.3, 1.0, 2.5, 1e6];
        for w in xs.windows(2) {
            assert!(squash(w[0]) <= squash(w[1]));
        }
        for x in xs {
            assert!(
                (unsquash(squash(x)) - x).abs() <= 1e-6 * x.abs().max(1.0),
                "{x}"
            );
        }
    }
}
