//! Calibration table: uniform probability bins, exact when streaming (sums per bin).
//!
//! Bins match scikit-learn's `calibration_curve(strategy="uniform")`: edges are
//! `linspace(0, 1, n + 1)` and a score on an inner edge goes to the lower bin
//! (`np.searchsorted(edges[1:-1], p)`, side left). Only scores inside `[0, 1]` are
//! probabilities; one score outside makes the table undefined, as scikit-learn refuses it.

use serde::Serialize;

/// One non-empty bin of the calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Lower edge of the bin.
    pub lower: f64,
    /// Upper edge of the bin.
    pub upper: f64,
    /// Rows whose score falls in the bin.
    pub rows: u64,
    /// Mean score of those rows (scikit-learn's `prob_pred`).
    pub mean_predicted: f64,
    /// Fraction of those rows with label 1 (scikit-learn's `prob_true`).
    pub fraction_positive: f64,
}

/// Streaming sums per bin.
#[derive(Debug, Clone)]
pub(crate) struct CalibrationAccumulator {
    edges: Vec<f64>,
    rows: Vec<u64>,
    score_sum: Vec<f64>,
    positives: Vec<u64>,
    out_of_range: bool,
}

impl CalibrationAccumulator {
    pub fn new(bins: usize) -> Self {
        let bins = bins.max(1);
        // NumPy's linspace: i * step, with the last edge set to the stop value exactly.
        let step = 1.0 / bins as f64;
        let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step).collect();
        edges[bins] = 1.0;
        Self {
            edges,
            rows: vec![0; bins],
            score_sum: vec![0.0; bins],
            positives: vec![0; bins],
            out_of_range: false,
        }
    }

    pub fn push(&mut self, score: f64, positive: bool) {
        if !(0.0..=1.0).contains(&score) {
            self.out_of_range = true;
            return;
        }
        let inner = &self.edges[1..self.edges.len() - 1];
        let bin = inner.partition_point(|&e| e < score);
        self.rows[bin] += 1;
        self.score_sum[bin] += score;
        self.positives[bin] += u64::from(positive);
    }

    /// The non-empty bins, or `None` when some score was outside `[0, 1]`.
    pub fn finish(&self) -> Option<Vec<CalibrationBin>> {
        if self.out_of_range {
            return None;
        }
        Some(
            (0..self.rows.len())
                .filter(|&i| self.rows[i] > 0)
                .map(|i| CalibrationBin {
                    lower: self.edges[i],
                    upper: self.edges[i + 1],
                    rows: self.rows[i],
                    mean_predicted: self.score_sum[i] / self.rows[i] as f64,
                    fraction_positive: self.positives[i] as f64 / self.rows[i] as f64,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_scores_go_to_the_lower_bin_like_searchsorted() {
        let mut c = CalibrationAccumulator::new(10);
        for (s, l) in [(0.0, false), (0.1, true), (0.1000001, false), (1.0, true)] {
            c.push(s, l);
        }
        let bins = c.finish().unwrap();
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].rows, bins[0].fraction_positive), (2, 0.5));
        assert_eq!(bins[1].rows, 1);
        assert_eq!((bins[2].lower, bins[2].upper), (0.9, 1.0));
        c.push(1.5, true);
        assert!(c.finish().is_none());
    }
}
