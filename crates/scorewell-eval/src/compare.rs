//! Candidate vs baseline on the same rows: metric deltas with seeded bootstrap intervals
//! (see [`crate::bootstrap`]) and decision flips at the primary threshold.

use serde::Serialize;

use crate::binary::{AtThreshold, BinaryMetrics, grid_bin, row_brier, row_log_loss};
use crate::bootstrap::{
    BLOCKS, GRID, Interval, block_of, grid_ranked, interval, replicate_weights,
};
use crate::multiclass::{MulticlassAccumulator, MulticlassMetrics};
use crate::regression::{RegressionAccumulator, RegressionMetrics};

/// How a row's decision changed from the baseline to the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipKind {
    /// The candidate flags the row, the baseline did not (a new true or false positive).
    NewlyFlagged,
    /// A positive row the baseline flagged and the candidate does not.
    NewlyMissed,
    /// A negative row the baseline flagged and the candidate does not (a removed false alarm).
    NewlyCleared,
}

impl FlipKind {
    /// The name written to the flips file.
    pub fn name(self) -> &'static str {
        match self {
            FlipKind::NewlyFlagged => "newly_flagged",
            FlipKind::NewlyMissed => "newly_missed",
            FlipKind::NewlyCleared => "newly_cleared",
        }
    }

    /// The change between two decisions, if any.
    pub fn of(candidate_flags: bool, baseline_flags: bool, positive: bool) -> Option<Self> {
        match (candidate_flags, baseline_flags) {
            (true, false) => Some(FlipKind::NewlyFlagged),
            (false, true) if positive => Some(FlipKind::NewlyMissed),
            (false, true) => Some(FlipKind::NewlyCleared),
            _ => None,
        }
    }
}

/// Counts of decision flips.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlipCounts {
    /// The threshold the candidate's decisions are taken at.
    pub threshold: f64,
    /// The threshold the baseline's decisions are taken at (its own rule; else `threshold`).
    pub baseline_threshold: f64,
    /// Rows newly flagged with label 1 (new true positives).
    pub newly_flagged_positive: u64,
    /// Rows newly flagged with label 0 (new false positives).
    pub newly_flagged_negative: u64,
    /// Positive rows no longer flagged (new misses).
    pub newly_missed: u64,
    /// Negative rows no longer flagged (false alarms removed).
    pub newly_cleared: u64,
}

/// One metric of both models and their difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    /// Metric name, e.g. `roc_auc` or `recall@0.3`.
    pub metric: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// The candidate's value.
    pub candidate: Option<f64>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// `candidate - baseline`.
    pub delta: Option<f64>,
    /// Bootstrap confidence interval of the delta (`null` without `--bootstrap`).
    pub ci: Option<Interval>,
}

/// Settings of a bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapSettings {
    /// Replicates drawn.
    pub replicates: usize,
    /// The seed.
    pub seed: u64,
    /// Row blocks resampled.
    pub blocks: usize,
    /// Confidence level.
    pub level: f64,
}

/// Per-block statistics of both models: index 0 is the candidate, 1 the baseline.
#[derive(Debug)]
enum Blocks {
    Binary {
        thresholds: Vec<f64>,
        /// `[block][model][label][bin]`
        grid: Vec<u32>,
        /// `[block][model][log loss, brier]`
        sums: Vec<f64>,
        /// `[block][model][label][threshold]`
        flagged: Vec<u64>,
        /// `[block][label]`
        labels: Vec<u64>,
    },
    Multiclass(Vec<[MulticlassAccumulator; 2]>),
    Regression(Vec<[RegressionAccumulator; 2]>),
}

/// Accumulates what a comparison needs beyond each model's own metrics.
#[derive(Debug)]
pub struct ComparisonAccumulator {
    seed: u64,
    replicates: usize,
    blocks: Option<Blocks>,
    flips: FlipCounts,
}

impl ComparisonAccumulator {
    /// Binary comparison; flips compare the candidate flagging at `decisions.0` with the
    /// baseline flagging at `decisions.1`; `thresholds` get bootstrapped metrics.
    pub fn binary(decisions: (f64, f64), thresholds: &[f64], replicates: usize, seed: u64) -> Self {
        let t = thresholds.len();
        let blocks = (replicates > 0).then(|| Blocks::Binary {
            thresholds: thresholds.to_vec(),
            grid: vec![0; BLOCKS * 4 * GRID],
            sums: vec![0.0; BLOCKS * 4],
            flagged: vec![0; BLOCKS * 4 * t],
            labels: vec![0; BLOCKS * 2],
        });
        Self::with(blocks, decisions, replicates, seed)
    }

    /// Multiclass comparison with `classes` classes.
    pub fn multiclass(classes: usize, replicates: usize, seed: u64) -> Self {
        let blocks = (replicates > 0).then(|| {
            Blocks::Multiclass(
                (0..BLOCKS)
                    .map(|_| {
                        [
                            MulticlassAccumulator::new(classes),
                            MulticlassAccumulator::new(classes),
                        ]
                    })
                    .collect(),
            )
        });
        Self::with(blocks, (f64::NAN, f64::NAN), replicates, seed)
    }

    /// Regression comparison.
    pub fn regression(replicates: usize, seed: u64) -> Self {
        let blocks = (replicates > 0).then(|| Blocks::Regression(vec![Default::default(); BLOCKS]));
        Self::with(blocks, (f64::NAN, f64::NAN), replicates, seed)
    }

    fn with(blocks: Option<Blocks>, decisions: (f64, f64), replicates: usize, seed: u64) -> Self {
        Self {
            seed,
            replicates,
            blocks,
            flips: FlipCounts {
                threshold: decisions.0,
                baseline_threshold: decisions.1,
                ..Default::default()
            },
        }
    }

    /// Add one binary row (input row number `row`); returns its decision flip, if any.
    pub fn push_binary(
        &mut self,
        row: u64,
        positive: bool,
        candidate: f64,
        baseline: f64,
    ) -> Option<FlipKind> {
        if let Some(Blocks::Binary {
            thresholds,
            grid,
            sums,
            flagged,
            labels,
        }) = &mut self.blocks
        {
            let b = block_of(self.seed, row);
            let label = usize::from(positive);
            let t = thresholds.len();
            labels[b * 2 + label] += 1;
            for (m, score) in [candidate, baseline].into_iter().enumerate() {
                grid[((b * 2 + m) * 2 + label) * GRID + grid_bin(score, GRID)] += 1;
                sums[(b * 2 + m) * 2] += row_log_loss(score, positive);
                sums[(b * 2 + m) * 2 + 1] += row_brier(score, positive);
                for (i, &th) in thresholds.iter().enumerate() {
                    if score >= th {
                        flagged[((b * 2 + m) * 2 + label) * t + i] += 1;
                    }
                }
            }
        }
        let kind = FlipKind::of(
            candidate >= self.flips.threshold,
            baseline >= self.flips.baseline_threshold,
            positive,
        );
        match kind {
            Some(FlipKind::NewlyFlagged) if positive => self.flips.newly_flagged_positive += 1,
            Some(FlipKind::NewlyFlagged) => self.flips.newly_flagged_negative += 1,
            Some(FlipKind::NewlyMissed) => self.flips.newly_missed += 1,
            Some(FlipKind::NewlyCleared) => self.flips.newly_cleared += 1,
            None => {}
        }
        kind
    }

    /// Add one multiclass row.
    pub fn push_multiclass(&mut self, row: u64, label: usize, candidate: &[f64], baseline: &[f64]) {
        if let Some(Blocks::Multiclass(blocks)) = &mut self.blocks {
            let b = &mut blocks[block_of(self.seed, row)];
            b[0].push(label, candidate);
            b[1].push(label, baseline);
        }
    }

    /// Add one regression row.
    pub fn push_regression(&mut self, row: u64, label: f64, candidate: f64, baseline: f64) {
        if let Some(Blocks::Regression(blocks)) = &mut self.blocks {
            let b = &mut blocks[block_of(self.seed, row)];
            b[0].push(label, candidate);
            b[1].push(label, baseline);
        }
    }

    /// Flip counts (binary only).
    pub fn flips(&self) -> &FlipCounts {
        &self.flips
    }

    fn settings(&self) -> Option<BootstrapSettings> {
        self.blocks.as_ref().map(|_| BootstrapSettings {
            replicates: self.replicates,
            seed: self.seed,
            blocks: BLOCKS,
            level: crate::bootstrap::LEVEL,
        })
    }

    /// Deltas of the binary metrics with their intervals.
    pub fn finish_binary(&self, c: &BinaryMetrics, b: &BinaryMetrics) -> Comparison {
        let mut points: Vec<(String, bool, Option<f64>, Option<f64>)> = vec![
            ("roc_auc".into(), true, c.roc_auc, b.roc_auc),
            (
                "average_precision".into(),
                true,
                Some(c.average_precision),
                Some(b.average_precision),
            ),
            ("log_loss".into(), false, c.log_loss, b.log_loss),
            ("brier".into(), false, c.brier, b.brier),
        ];
        for (ct, bt) in c.at_thresholds.iter().zip(&b.at_thresholds) {
            let t = ct.threshold;
            points.push((
                format!("precision@{t}"),
                true,
                Some(ct.precision),
                Some(bt.precision),
            ));
            points.push((
                format!("recall@{t}"),
                true,
                Some(ct.recall),
                Some(bt.recall),
            ));
            points.push((format!("f1@{t}"), true, Some(ct.f1), Some(bt.f1)));
        }
        for (cr, br) in c.recall_at_precision.iter().zip(&b.recall_at_precision) {
            // Not bootstrapped: the grid cannot place thresholds exactly.
            points.push((
                format!("recall_at_precision@{}", cr.min_precision),
                true,
                Some(cr.recall),
                Some(br.recall),
            ));
        }
        self.assemble(points, binary_replicate)
    }

    /// Deltas of the multiclass metrics with their intervals.
    pub fn finish_multiclass(&self, c: &MulticlassMetrics, b: &MulticlassMetrics) -> Comparison {
        let points = vec![
            ("accuracy".into(), true, Some(c.accuracy), Some(b.accuracy)),
            ("macro_f1".into(), true, Some(c.macro_f1), Some(b.macro_f1)),
            ("micro_f1".into(), true, Some(c.micro_f1), Some(b.micro_f1)),
            (
                "weighted_f1".into(),
                true,
                Some(c.weighted_f1),
                Some(b.weighted_f1),
            ),
            ("log_loss".into(), false, c.log_loss, b.log_loss),
        ];
        self.assemble(points, |blocks, w| {
            let Blocks::Multiclass(blocks) = blocks else {
                return Vec::new();
            };
            let k = blocks.first().map_or(0, |b| b[0].finish().classes);
            let mut acc = [MulticlassAccumulator::new(k), MulticlassAccumulator::new(k)];
            for (block, &wt) in blocks.iter().zip(w) {
                if wt > 0 {
                    acc[0].add_weighted(&block[0], wt);
                    acc[1].add_weighted(&block[1], wt);
                }
            }
            let [c, b] = acc.map(|a| a.finish());
            vec![
                Some((c.accuracy, b.accuracy)),
                Some((c.macro_f1, b.macro_f1)),
                Some((c.micro_f1, b.micro_f1)),
                Some((c.weighted_f1, b.weighted_f1)),
                c.log_loss.zip(b.log_loss),
            ]
        })
    }

    /// Deltas of the regression metrics with their intervals.
    pub fn finish_regression(&self, c: &RegressionMetrics, b: &RegressionMetrics) -> Comparison {
        let points = vec![
            ("rmse".into(), false, Some(c.rmse), Some(b.rmse)),
            ("mae".into(), false, Some(c.mae), Some(b.mae)),
            ("r2".into(), true, c.r2, b.r2),
        ];
        self.assemble(points, |blocks, w| {
            let Blocks::Regression(blocks) = blocks else {
                return Vec::new();
            };
            let mut acc = [RegressionAccumulator::new(), RegressionAccumulator::new()];
            for (block, &wt) in blocks.iter().zip(w) {
                acc[0].add_weighted(&block[0], wt);
                acc[1].add_weighted(&block[1], wt);
            }
            let [c, b] = acc.map(|a| a.finish());
            vec![Some((c.rmse, b.rmse)), Some((c.mae, b.mae)), c.r2.zip(b.r2)]
        })
    }

    /// Combine exact point values with replicate deltas. `replicate` returns, per metric in
    /// `points` order (a prefix is fine), both models' values under block weights `w`.
    fn assemble(
        &self,
        points: Vec<(String, bool, Option<f64>, Option<f64>)>,
        replicate: impl Fn(&Blocks, &[u64]) -> Vec<Option<(f64, f64)>>,
    ) -> Comparison {
        let mut intervals: Vec<Option<Interval>> = vec![None; points.len()];
        if let Some(blocks) = &self.blocks {
            let full = replicate(blocks, &[1; BLOCKS]);
            let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(self.replicates); full.len()];
            for r in 0..self.replicates {
                let w = replicate_weights(self.seed, r);
                for (i, v) in replicate(blocks, &w).into_iter().enumerate() {
                    if let (Some((c, b)), Some(d)) = (v, draws.get_mut(i)) {
                        d.push(c - b);
                    }
                }
            }
            for (i, (mut d, f)) in draws.into_iter().zip(full).enumerate() {
                let point = points[i].2.zip(points[i].3).map(|(c, b)| c - b);
                if let (Some(p), Some((fc, fb))) = (point, f) {
                    intervals[i] = interval(p, fc - fb, &mut d);
                }
            }
        }
        let deltas = points
            .into_iter()
            .zip(intervals)
            .map(
                |((metric, higher_is_better, candidate, baseline), ci)| Delta {
                    metric,
                    higher_is_better,
                    candidate,
                    baseline,
                    delta: candidate.zip(baseline).map(|(c, b)| c - b),
                    ci,
                },
            )
            .collect();
        Comparison {
            deltas,
            bootstrap: self.settings(),
            flips: self.flips.threshold.is_finite().then(|| self.flips.clone()),
        }
    }
}

/// Both models' binary metrics under block weights, in `finish_binary`'s order.
fn binary_replicate(blocks: &Blocks, w: &[u64]) -> Vec<Option<(f64, f64)>> {
    let Blocks::Binary {
        thresholds,
        grid,
        sums,
        flagged,
        labels,
    } = blocks
    else {
        return Vec::new();
    };
    let t = thresholds.len();
    let mut hist = vec![0.0f64; 4 * GRID];
    let mut s = [0.0f64; 4];
    let mut f = vec![0.0f64; 4 * t];
    let mut lab = [0.0f64; 2];
    for (b, &wt) in w.iter().enumerate() {
        if wt == 0 {
            continue;
        }
        let wf = wt as f64;
        for (h, &g) in hist.iter_mut().zip(&grid[b * 4 * GRID..(b + 1) * 4 * GRID]) {
            *h += wf * f64::from(g);
        }
        for (acc, &x) in s.iter_mut().zip(&sums[b * 4..(b + 1) * 4]) {
            *acc += wf * x;
        }
        for (acc, &x) in f.iter_mut().zip(&flagged[b * 4 * t..(b + 1) * 4 * t]) {
            *acc += wf * x as f64;
        }
        lab[0] += wf * labels[b * 2] as f64;
        lab[1] += wf * labels[b * 2 + 1] as f64;
    }
    let n = lab[0] + lab[1];
    let model = |m: usize| {
        let neg = &hist[(m * 2) * GRID..(m * 2 + 1) * GRID];
        let pos = &hist[(m * 2 + 1) * GRID..(m * 2 + 2) * GRID];
        let (auc, ap) = grid_ranked(pos, neg);
        let at: Vec<AtThreshold> = thresholds
            .iter()
            .enumerate()
            .map(|(i, &th)| {
                let fp = f[(m * 2) * t + i];
                let tp = f[(m * 2 + 1) * t + i];
                AtThreshold::from_counts(th, tp, fp, lab[1], lab[0])
            })
            .collect();
        (auc, ap, s[m * 2] / n, s[m * 2 + 1] / n, at)
    };
    let (c, b) = (model(0), model(1));
    let mut out = vec![
        c.0.zip(b.0),
        Some((c.1, b.1)),
        Some((c.2, b.2)),
        Some((c.3, b.3)),
    ];
    for (ct, bt) in c.4.iter().zip(&b.4) {
        out.push(Some((ct.precision, bt.precision)));
        out.push(Some((ct.recall, bt.recall)));
        out.push(Some((ct.f1, bt.f1)));
    }
    out
}

/// The comparison section of the results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// One entry per metric.
    pub deltas: Vec<Delta>,
    /// Bootstrap settings; `null` without `--bootstrap`.
    pub bootstrap: Option<BootstrapSettings>,
    /// Decision flips at the primary threshold (binary only).
    pub flips: Option<FlipCounts>,
}

/// Check that both models returned the same number of rows for one input batch.
pub fn check_row_counts(candidate: usize, baseline: usize, first_row: u64) -> crate::Result<()> {
    if candidate != baseline {
        return Err(crate::EvalError::RowCountMismatch {
            candidate,
            baseline,
            row: first_row,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::{BinaryAccumulator, BinaryOptions};

    #[test]
    fn flips_are_named_by_direction_and_label() {
        assert_eq!(
            FlipKind::of(true, false, false),
            Some(FlipKind::NewlyFlagged)
        );
        assert_eq!(FlipKind::of(false, true, true), Some(FlipKind::NewlyMissed));
        assert_eq!(
            FlipKind::of(false, true, false),
            Some(FlipKind::NewlyCleared)
        );
        assert_eq!(FlipKind::of(true, true, true), None);
    }

    #[test]
    fn mismatched_row_counts_are_one_clear_error() {
        let err = check_row_counts(10, 9, 65536).unwrap_err().to_string();
        assert_eq!(
            err,
            "the candidate scored 10 rows but the baseline scored 9 rows of the same input batch (starting at row 65536); a comparison needs both models on the same rows"
        );
        assert!(check_row_counts(3, 3, 0).is_ok());
    }

    #[test]
    fn intervals_cover_the_exact_delta_and_are_reproducible() {
        let options = BinaryOptions::default();
        let mut rng = crate::bootstrap::SplitMix64::new(3);
        let rows: Vec<(bool, f64, f64)> = (0..4000)
            .map(|_| {
                let y = rng.below(3) == 0;
                let noise = rng.below(1000) as f64 / 1000.0;
                let c = if y { 0.35 + 0.6 * noise } else { 0.6 * noise };
                let b = if y { 0.2 + 0.7 * noise } else { 0.7 * noise };
                (y, c, b)
            })
            .collect();
        let run = |seed| {
            let mut cand = BinaryAccumulator::new(options.clone());
            let mut base = BinaryAccumulator::new(options.clone());
            let mut cmp = ComparisonAccumulator::binary((0.5, 0.5), &options.thresholds, 200, seed);
            for (i, &(y, c, b)) in rows.iter().enumerate() {
                cand.push(c, y).unwrap();
                base.push(b, y).unwrap();
                cmp.push_binary(i as u64, y, c, b);
            }
            cmp.finish_binary(&cand.finish().unwrap(), &base.finish().unwrap())
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        for d in &a.deltas {
            if let (Some(ci), Some(delta)) = (d.ci, d.delta) {
                assert!(ci.low <= delta && delta <= ci.high, "{d:?}");
                assert!(ci.high - ci.low < 0.2, "{d:?}");
            }
        }
        let auc = &a.deltas[0];
        assert!(auc.ci.is_some() && auc.delta.unwrap() > 0.0);
    }
}
