//! Regression metrics: RMSE, MAE and R², exact when streaming (sums, and Welford's update for
//! the variance of the labels so that R² does not lose digits to cancellation).

use serde::Serialize;

use crate::binary::Sum;

/// Every metric of one model on real-valued labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionMetrics {
    /// Rows evaluated.
    pub rows: u64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination; 1 for perfect predictions of constant labels and 0 for
    /// imperfect ones (scikit-learn's `force_finite=True`).
    pub r2: f64,
}

/// Sufficient statistics of [`RegressionMetrics`].
#[derive(Debug, Clone, Default)]
pub struct RegressionAccumulator {
    rows: u64,
    squared_error: Sum,
    absolute_error: Sum,
    mean: f64,
    m2: f64,
}

impl RegressionAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one row.
    pub fn push(&mut self, label: f64, prediction: f64) {
        let e = label - prediction;
        self.squared_error.add(e * e);
        self.absolute_error.add(e.abs());
        self.rows += 1;
        let delta = label - self.mean;
        self.mean += delta / self.rows as f64;
        self.m2 += delta * (label - self.mean);
    }

    /// Add `weight` copies of another accumulator's rows (Chan et al.'s parallel update).
    pub(crate) fn add_weighted(&mut self, other: &Self, weight: u64) {
        if weight == 0 || other.rows == 0 {
            return;
        }
        let w = weight as f64;
        let nb = other.rows as f64 * w;
        let na = self.rows as f64;
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 * w + delta * delta * na * nb / n;
        self.squared_error.add(other.squared_error.value() * w);
        self.absolute_error.add(other.absolute_error.value() * w);
        self.rows += other.rows * weight;
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Compute the metrics.
    pub fn finish(&self) -> RegressionMetrics {
        let n = self.rows.max(1) as f64;
        let (squared_error, absolute_error) =
            (self.squared_error.value(), self.absolute_error.value());
        let r2 = if squared_error == 0.0 {
            1.0
        } else if self.m2 == 0.0 {
            0.0
        } else {
            1.0 - squared_error / self.m2
        };
        RegressionMetrics {
            rows: self.rows,
            rmse: (squared_error / n).sqrt(),
            mae: absolute_error / n,
            r2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_merge_equals_repeating_rows() {
        let rows = [(1.0, 1.5), (2.0, 1.0), (10.0, 7.0)];
        let mut part = RegressionAccumulator::new();
        for &(y, p) in &rows[1..] {
            part.push(y, p);
        }
        let mut merged = RegressionAccumulator::new();
        merged.push(rows[0].0, rows[0].1);
        merged.add_weighted(&part, 2);
        let mut direct = RegressionAccumulator::new();
        direct.push(rows[0].0, rows[0].1);
        for _ in 0..2 {
            for &(y, p) in &rows[1..] {
                direct.push(y, p);
            }
        }
        let (a, b) = (merged.finish(), direct.finish());
        assert!((a.r2 - b.r2).abs() < 1e-12 && (a.rmse - b.rmse).abs() < 1e-12);
        let mut constant = RegressionAccumulator::new();
        constant.push(3.0, 3.0);
        assert_eq!(constant.finish().r2, 1.0);
        constant.push(3.0, 4.0);
        assert_eq!(constant.finish().r2, 0.0);
    }
}
