//! Seeded bootstrap over row blocks, so that confidence intervals need bounded memory.
//!
//! Each row goes to one of [`BLOCKS`] blocks by a seeded hash of its input row number. Every
//! block keeps the sufficient statistics of its rows (sums, confusion counts, and for ranking
//! metrics a score histogram on a [`GRID`]-bin grid). A replicate draws [`BLOCKS`] blocks
//! with replacement and adds their statistics; since blocks are random subsets of the rows,
//! this resamples rows in groups, which estimates the same variance as resampling single rows.
//!
//! Sums make log loss, Brier, threshold metrics, multiclass and regression replicates exact.
//! ROC AUC and average precision replicates are computed from the grid, so an interval is the
//! percentile interval of the replicates shifted by the grid's bias on the full sample:
//! `[d + q_lo - d_grid, d + q_hi - d_grid]` where `d` is the exact delta.

use serde::Serialize;

/// Blocks rows are hashed into.
pub const BLOCKS: usize = 256;
/// Bins of the score grid used for ranking metrics inside replicates.
pub const GRID: usize = 1024;
/// Two-sided confidence level of the intervals.
pub const LEVEL: f64 = 0.95;

/// SplitMix64: small, seedable, and good enough to draw block indices.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-50 for small `n`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The block of input row `row` under `seed`.
pub(crate) fn block_of(seed: u64, row: u64) -> usize {
    let mut rng = SplitMix64::new(seed ^ row.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.below(BLOCKS)
}

/// Multiplicity of each block in replicate `replicate`.
pub(crate) fn replicate_weights(seed: u64, replicate: usize) -> Vec<u64> {
    let mut rng = SplitMix64::new(
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (replicate as u64).wrapping_add(1),
    );
    let mut w = vec![0u64; BLOCKS];
    for _ in 0..BLOCKS {
        w[rng.below(BLOCKS)] += 1;
    }
    w
}

/// NumPy's default (`linear`) percentile of sorted values, `q` in `[0, 1]`.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A confidence interval of a delta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The interval for exact delta `point` from replicate deltas, shifted by the bias of the
/// replicate statistic on the full sample (`full`); `None` when no replicate is finite.
pub(crate) fn interval(point: f64, full: f64, replicates: &mut Vec<f64>) -> Option<Interval> {
    replicates.retain(|x| x.is_finite());
    if replicates.is_empty() || !point.is_finite() || !full.is_finite() {
        return None;
    }
    replicates.sort_by(f64::total_cmp);
    let alpha = (1.0 - LEVEL) / 2.0;
    Some(Interval {
        low: point + percentile(replicates, alpha) - full,
        high: point + percentile(replicates, 1.0 - alpha) - full,
    })
}

/// ROC AUC and average precision from weighted counts per grid bin (bins ascending in score);
/// rows sharing a bin count as tied. `None` for AUC with one class, as in the exact metric.
pub(crate) fn grid_ranked(pos: &[f64], neg: &[f64]) -> (Option<f64>, f64) {
    let (p_total, n_total): (f64, f64) = (pos.iter().sum(), neg.iter().sum());
    let (mut tp, mut fp, mut area, mut ap) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&p, &n) in pos.iter().zip(neg).rev() {
        if p == 0.0 && n == 0.0 {
            continue;
        }
        let tp0 = tp;
        tp += p;
        fp += n;
        area += n * (tp0 + tp);
        if p_total > 0.0 {
            ap += p / p_total * tp / (tp + fp);
        }
    }
    let auc = (p_total > 0.0 && n_total > 0.0).then(|| area / (2.0 * p_total * n_total));
    (auc, ap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        // np.percentile([1, 2, 3, 4], [2.5, 97.5]) == [1.075, 3.925]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((percentile(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn replicates_draw_every_block_count_and_are_seeded() {
        let w = replicate_weights(7, 3);
        assert_eq!(w.iter().sum::<u64>(), BLOCKS as u64);
        assert_eq!(w, replicate_weights(7, 3));
        assert_ne!(w, replicate_weights(8, 3));
        let counts = (0..10_000u64).fold(vec![0u32; BLOCKS], |mut c, r| {
            c[block_of(1, r)] += 1;
            c
        });
        assert!(counts.iter().all(|&c| c > 10), "rows spread over blocks");
    }

    #[test]
    fn grid_auc_of_separated_bins_is_exact() {
        let (auc, ap) = grid_ranked(&[0.0, 1.0, 2.0], &[3.0, 1.0, 0.0]);
        // Pairs: 3 pos x 4 neg; wrong-order pairs 0, tied pairs 1 (bin 1): (12 - 0.5) / 12.
        assert!((auc.unwrap() - 11.5 / 12.0).abs() < 1e-15);
        assert!((ap - (2.0 / 3.0 * 1.0 + 1.0 / 3.0 * 0.75)).abs() < 1e-15);
    }
}
