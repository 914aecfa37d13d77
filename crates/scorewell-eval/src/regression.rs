//! Regression metrics: RMSE, MAE and R², exact when streaming (sums, and Welford's update for
//! the variance of the labels so that R² does not lose digits to cancellation).
//!
//! Constant labels are the one place where scikit-learn's R² is decided by rounding:
//! `r2_score` divides by `sum((y - np.average(y))**2)` and tests it `!= 0` exactly, and for a
//! constant like 0.1 NumPy's mean is off by an ulp, so the denominator is ~1e-34 and R² a huge
//! negative number. `numpy_sum_of_copies` redoes NumPy's arithmetic for that case, which
//! needs only the constant and the row count.
//! See `r2_score` in scikit-learn 1.7.2's
//! [`sklearn/metrics/_regression.py`](https://github.com/scikit-learn/scikit-learn/blob/1.7.2/sklearn/metrics/_regression.py)
//! and `@TYPE@_pairwise_sum` in NumPy 2.3.5's
//! [`loops_utils.h.src`](https://github.com/numpy/numpy/blob/v2.3.5/numpy/_core/src/umath/loops_utils.h.src).

use std::collections::HashMap;

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
    /// Coefficient of determination, as `r2_score` computes it: 1 when every prediction is
    /// exact, 0 when the labels' squared deviations from their mean sum to exactly 0
    /// (`force_finite=True`); `null` with fewer than 2 rows (scikit-learn returns NaN).
    pub r2: Option<f64>,
}

/// Sufficient statistics of [`RegressionMetrics`].
#[derive(Debug, Clone)]
pub struct RegressionAccumulator {
    rows: u64,
    squared_error: Sum,
    absolute_error: Sum,
    mean: f64,
    m2: f64,
    min_label: f64,
    max_label: f64,
}

impl Default for RegressionAccumulator {
    fn default() -> Self {
        Self {
            rows: 0,
            squared_error: Sum::default(),
            absolute_error: Sum::default(),
            mean: 0.0,
            m2: 0.0,
            min_label: f64::INFINITY,
            max_label: f64::NEG_INFINITY,
        }
    }
}

/// `np.add.reduce` over `n` copies of `v`: 0 plus NumPy's pairwise sum (8 accumulators up to
/// 128 elements, halves rounded to a multiple of 8 above). A contiguous float64 array is reduced
/// in one piece (no buffering), so this is bit-identical to `np.sum(np.full(n, v))`.
pub(crate) fn numpy_sum_of_copies(v: f64, n: u64) -> f64 {
    fn pairwise(v: f64, n: u64, memo: &mut HashMap<u64, f64>) -> f64 {
        if let Some(&s) = memo.get(&n) {
            return s;
        }
        let s = if n < 8 {
            (0..n).fold(0.0, |acc, _| acc + v)
        } else if n <= 128 {
            let full = n - n % 8;
            // The eight accumulators hold equal values, so one stands for all of them.
            let r = (8..full).step_by(8).fold(v, |acc, _| acc + v);
            let mut res = ((r + r) + (r + r)) + ((r + r) + (r + r));
            for _ in full..n {
                res += v;
            }
            res
        } else {
            let half = n / 2;
            let n2 = half - half % 8;
            pairwise(v, n2, memo) + pairwise(v, n - n2, memo)
        };
        memo.insert(n, s);
        s
    }
    0.0 + pairwise(v, n, &mut HashMap::new())
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
        self.min_label = self.min_label.min(label);
        self.max_label = self.max_label.max(label);
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
        self.min_label = self.min_label.min(other.min_label);
        self.max_label = self.max_label.max(other.max_label);
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The denominator of R²: the labels' squared deviations from their mean. For constant
    /// labels it is what NumPy computes (rounding included); otherwise Welford's exact-ish sum,
    /// which differs from NumPy's by rounding only.
    fn squared_deviations(&self) -> f64 {
        if self.rows > 0 && self.min_label == self.max_label {
            let c = self.max_label;
            let mean = numpy_sum_of_copies(c, self.rows) / self.rows as f64;
            let d = c - mean;
            numpy_sum_of_copies(d * d, self.rows)
        } else {
            self.m2
        }
    }

    /// Compute the metrics.
    pub fn finish(&self) -> RegressionMetrics {
        let n = self.rows.max(1) as f64;
        let (squared_error, absolute_error) =
            (self.squared_error.value(), self.absolute_error.value());
        let denominator = self.squared_deviations();
        let r2 = if self.rows < 2 {
            None
        } else if squared_error == 0.0 {
            Some(1.0)
        } else if denominator == 0.0 {
            Some(0.0)
        } else {
            Some(1.0 - squared_error / denominator)
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
        assert!((a.r2.unwrap() - b.r2.unwrap()).abs() < 1e-12 && (a.rmse - b.rmse).abs() < 1e-12);
        let mut constant = RegressionAccumulator::new();
        constant.push(3.0, 3.0);
        assert_eq!(constant.finish().r2, None, "one row: scikit-learn says NaN");
        constant.push(3.0, 3.0);
        assert_eq!(constant.finish().r2, Some(1.0));
        constant.push(3.0, 4.0);
        assert_eq!(constant.finish().r2, Some(0.0));
    }

    /// `np.sum(np.full(n, v))` and `r2_score` values printed by NumPy 2.3.5 / scikit-learn 1.7.2.
    #[test]
    fn constant_labels_follow_numpy_rounding() {
        // np.sum(np.full(n, 0.1)) for n = 10, 20, 137, 1000, 100003
        let sums = [
            (10, 1.0),
            (20, 2.0000000000000004),
            (137, 13.7),
            (1000, 100.00000000000001),
            (100_003, 10000.3),
        ];
        for (n, want) in sums {
            assert_eq!(numpy_sum_of_copies(0.1, n), want, "n = {n}");
        }
        // r2_score(np.full(20, 0.1), np.linspace(0, 1, 20)): a constant whose NumPy mean is
        // off by an ulp gives a tiny, nonzero denominator.
        let mut acc = RegressionAccumulator::new();
        for i in 0..20 {
            acc.push(0.1, i as f64 / 19.0);
        }
        let r2 = acc.finish().r2.unwrap();
        let want = -1.3090053659148328e33;
        assert!((r2 - want).abs() <= 1e-12 * want.abs(), "{r2:e}");
        // 3.0 is exact: the denominator is 0 and R² is forced to 0.
        let mut acc = RegressionAccumulator::new();
        for i in 0..20 {
            acc.push(3.0, 3.0 + i as f64);
        }
        assert_eq!(acc.finish().r2, Some(0.0));
    }
}
