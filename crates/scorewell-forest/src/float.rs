//! The two arithmetic types a forest is scored in, behind one small trait so the evaluator is
//! written once and monomorphised for `f32` (XGBoost) and `f64` (LightGBM).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

use crate::masks::{ColumnBlock, MaskedTree};

/// `f32` or `f64`.
pub trait Float:
    Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Default
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// NaN.
    const NAN: Self;
    /// +∞.
    const INFINITY: Self;
    /// -∞.
    const NEG_INFINITY: Self;
    /// Round from `f64` (to nearest, like C's `static_cast<float>`).
    fn from_f64(v: f64) -> Self;
    /// Widen to `f64` (exact).
    fn to_f64(self) -> f64;
    /// NaN test.
    fn is_nan(self) -> bool;
    /// The largest value strictly below `self` (turns `x < t` into `x <= t'`).
    fn next_down(self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// ln(1 + x).
    fn ln_1p(self) -> Self;
    /// The logistic function of `scale * x`, with the original library's guard for this precision.
    fn logistic(self, scale: Self) -> Self;
    /// The tests of a tree's nodes for `n <= 64` rows, as the evaluator's predicate masks take
    /// them: `out[k]` has bit `j` set where `!(x <= thresholds[k])` for row `j`'s value of
    /// feature `features[k]`, read from `columns` (`pitch` values per column).
    #[doc(hidden)]
    #[inline(always)]
    fn node_masks(
        features: &[u32],
        thresholds: &[Self],
        columns: &[Self],
        pitch: usize,
        n: usize,
        out: &mut [u64],
    ) {
        crate::masks::node_masks_portable(features, thresholds, columns, pitch, n, out)
    }
    /// One complete tree's leaves added to a block's rows by predicate masks
    /// ([`crate::masks::add_tree_rows`]).
    #[doc(hidden)]
    #[inline(always)]
    fn add_tree_rows(tree: MaskedTree<'_, Self>, block: ColumnBlock<'_, Self>) {
        crate::masks::add_tree_rows(tree, block)
    }
}

/// The items whose code is the same for both types, written once.
macro_rules! shared_items {
    ($t:ident) => {
        const ZERO: Self = 0.0;
        const ONE: Self = 1.0;
        const NAN: Self = $t::NAN;
        const INFINITY: Self = $t::INFINITY;
        const NEG_INFINITY: Self = $t::NEG_INFINITY;
        #[inline(always)]
        fn from_f64(v: f64) -> Self {
            v as $t
        }
        #[inline(always)]
        fn to_f64(self) -> f64 {
            self as f64
        }
        #[inline(always)]
        fn is_nan(self) -> bool {
            $t::is_nan(self)
        }
        fn next_down(self) -> Self {
            $t::next_down(self)
        }
        #[inline]
        fn exp(self) -> Self {
            $t::exp(self)
        }
        #[inline]
        fn ln_1p(self) -> Self {
            $t::ln_1p(self)
        }
    };
}

/// [`Float::node_masks`] on x86-64 with this type's `(AVX, SSE2)` pair.
macro_rules! x86_node_masks {
    ($pair:expr) => {
        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        fn node_masks(
            features: &[u32],
            thresholds: &[Self],
            columns: &[Self],
            pitch: usize,
            n: usize,
            out: &mut [u64],
        ) {
            crate::masks::node_masks_x86($pair, features, thresholds, columns, pitch, n, out)
        }
    };
}

impl Float for f32 {
    shared_items!(f32);
    /// XGBoost's `common::Sigmoid`: `1 / (expf(min(-x, 88.7)) + 1 + 1e-16)`; the clamp keeps
    /// `expf` finite, and the 1e-16 vanishes in `f32`.
    #[inline]
    fn logistic(self, scale: Self) -> Self {
        let neg = (-(scale * self)).min(88.7);
        1.0 / (neg.exp() + 1.0)
    }
    x86_node_masks!(crate::masks::F32);
    /// AVX-512F where the CPU has it (`masks_avx512`), else the portable loop.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn add_tree_rows(tree: MaskedTree<'_, Self>, block: ColumnBlock<'_, Self>) {
        if crate::masks_avx512::available() {
            // SAFETY: the CPU has AVX-512F.
            unsafe { crate::masks_avx512::add_tree_rows(tree, block) }
        } else {
            crate::masks::add_tree_rows(tree, block)
        }
    }
}

impl Float for f64 {
    shared_items!(f64);
    /// LightGBM's `1.0 / (1.0 + exp(-sigmoid * x))`, in double.
    #[inline]
    fn logistic(self, scale: Self) -> Self {
        1.0 / (1.0 + (-(scale * self)).exp())
    }
    x86_node_masks!(crate::masks::F64);
}
