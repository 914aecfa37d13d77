//! The two arithmetic types a forest is scored in, behind one small trait so the evaluator is
//! written once and monomorphised for `f32` (XGBoost) and `f64` (LightGBM).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

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

    /// Eight walks through implicit tree levels with SIMD (see `simd.rs`).
    ///
    /// # Safety
    /// [`crate::simd::available`] must be true and the offsets in bounds, as `simd::walk_f32`
    /// documents.
    #[doc(hidden)]
    unsafe fn simd_walk(
        feature: &[u32],
        value: &[Self],
        base: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
        levels: u32,
    ) -> [u32; 8];

    /// Eight walks down the pointer layout with SIMD until all reach leaves (see `simd.rs`).
    ///
    /// # Safety
    /// As `simd::descend_f32` documents.
    #[doc(hidden)]
    unsafe fn simd_descend(
        nodes: *const u8,
        size: usize,
        feature_at: usize,
        children_at: usize,
        start: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
    ) -> [u32; 8];
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAN: Self = f32::NAN;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn next_down(self) -> Self {
        f32::next_down(self)
    }
    #[inline]
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        f32::ln_1p(self)
    }
    unsafe fn simd_walk(
        feature: &[u32],
        value: &[Self],
        base: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
        levels: u32,
    ) -> [u32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            crate::simd::walk_f32(feature, value, base, x, row, levels)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("simd::available() is false off x86_64")
    }
    unsafe fn simd_descend(
        nodes: *const u8,
        size: usize,
        feature_at: usize,
        children_at: usize,
        start: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
    ) -> [u32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            crate::simd::descend_f32(nodes, size, feature_at, children_at, start, x, row)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("simd::available() is false off x86_64")
    }
    /// XGBoost's `common::Sigmoid`: `1 / (expf(min(-x, 88.7)) + 1 + 1e-16)`; the clamp keeps
    /// `expf` finite, and the 1e-16 vanishes in `f32`.
    #[inline]
    fn logistic(self, scale: Self) -> Self {
        let neg = (-(scale * self)).min(88.7);
        1.0 / (neg.exp() + 1.0)
    }
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const NAN: Self = f64::NAN;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn next_down(self) -> Self {
        f64::next_down(self)
    }
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    unsafe fn simd_walk(
        feature: &[u32],
        value: &[Self],
        base: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
        levels: u32,
    ) -> [u32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            crate::simd::walk_f64(feature, value, base, x, row, levels)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("simd::available() is false off x86_64")
    }
    unsafe fn simd_descend(
        nodes: *const u8,
        size: usize,
        feature_at: usize,
        children_at: usize,
        start: &[u32; 8],
        x: &[Self],
        row: &[u32; 8],
    ) -> [u32; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded from the caller.
        unsafe {
            crate::simd::descend_f64(nodes, size, feature_at, children_at, start, x, row)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("simd::available() is false off x86_64")
    }
    /// LightGBM's `1.0 / (1.0 + exp(-sigmoid * x))`, in double.
    #[inline]
    fn logistic(self, scale: Self) -> Self {
        1.0 / (1.0 + (-(scale * self)).exp())
    }
}
