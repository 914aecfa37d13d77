//! The vector arithmetic of annoy, rounding for rounding.
//!
//! annoy's Python package is built from source with `-O3 -march=native -ffast-math
//! -fno-associative-math`. On an x86-64 machine with AVX (every server CPU of the last decade)
//! that selects annoy's 8-lane AVX kernels, and GCC then contracts some of the scalar tail's
//! multiply-adds into FMAs. Reproducing exactly that order keeps distances equal to the bit and
//! — more important — keeps the margins at split nodes, and so the candidate set, identical.
//! The tail rules below were found by comparing every dimension from 1 to 23 and several
//! larger ones against `AnnoyIndex.get_distance` of annoy 1.17.3 built here (GCC 12); a build
//! by another compiler may round the last bit differently, which stays far inside the 1e-6
//! relative tolerance the conformance runner states.

/// The lanes annoy's AVX kernels accumulate in, and their horizontal sum.
#[inline(always)]
fn hsum8(acc: [f32; 8]) -> f32 {
    // _mm_add_ps(high half, low half), then movehl + add, then the two remaining lanes.
    let x128 = [
        acc[4] + acc[0],
        acc[5] + acc[1],
        acc[6] + acc[2],
        acc[7] + acc[3],
    ];
    (x128[0] + x128[2]) + (x128[1] + x128[3])
}

/// annoy's AVX main loop: `term` of each pair summed in 8 lanes over the longest multiple
/// of 8 (when there are more than 7 values), then the lanes summed as annoy does. Returns the
/// sum and how many values it covered; the scalar tail is the caller's.
#[inline(always)]
fn lanes(x: &[f32], y: &[f32], term: impl Fn(f32, f32) -> f32) -> (f32, usize) {
    let f = x.len().min(y.len());
    if f <= 7 {
        return (0.0, 0);
    }
    // Whole chunks of 8, no bounds checks: the lane-wise sums vectorise without reordering
    // any addition (each lane is its own sequential sum, as in annoy's AVX register).
    let n = f / 8 * 8;
    let (xs, _) = x[..n].as_chunks::<8>();
    let (ys, _) = y[..n].as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (xc, yc) in xs.iter().zip(ys) {
        for l in 0..8 {
            acc[l] += term(xc[l], yc[l]);
        }
    }
    (hsum8(acc), n)
}

/// True when the CPU has AVX and FMA (annoy's kernels are AVX code). The lane structure is
/// fixed by the code, not the instruction set, so both paths give the same bits: AVX only
/// makes the 8 lanes one register.
#[inline(always)]
fn has_avx_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `$name`: the AVX lanes (`avx::lanes` with `$op`) and `$tail` where the CPU has AVX and FMA,
/// else `$exact`.
macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident, $avx:ident, $exact:ident, $tail:ident, $op:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $name(x: &[f32], y: &[f32]) -> f32 {
            #[cfg(target_arch = "x86_64")]
            if has_avx_fma() {
                // SAFETY: both features were detected on this CPU.
                return unsafe { $avx(x, y) };
            }
            $exact(x, y)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx,fma")]
        fn $avx(x: &[f32], y: &[f32]) -> f32 {
            $tail(x, y, avx::lanes(x, y, $op))
        }
    };
}

/// annoy's AVX loops, instruction for instruction (`_mm256_loadu_ps`, `_mm256_mul_ps` or
/// `_mm256_sub_ps`, `_mm256_add_ps`, and its horizontal sum).
#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    /// What each lane accumulates.
    #[derive(Clone, Copy)]
    pub(super) enum Op {
        Dot,
        L2,
        L1,
    }

    #[target_feature(enable = "avx")]
    pub(super) fn lanes(x: &[f32], y: &[f32], op: Op) -> (f32, usize) {
        let f = x.len().min(y.len());
        if f <= 7 {
            return (0.0, 0);
        }
        let n = f / 8 * 8;
        let mut d = _mm256_setzero_ps();
        let sign = _mm256_set1_ps(-0.0);
        let mut i = 0;
        while i < n {
            // SAFETY: i + 8 <= n <= both lengths.
            let (a, b) = unsafe {
                (
                    _mm256_loadu_ps(x.as_ptr().add(i)),
                    _mm256_loadu_ps(y.as_ptr().add(i)),
                )
            };
            let term = match op {
                Op::Dot => _mm256_mul_ps(a, b),
                Op::L2 => {
                    let diff = _mm256_sub_ps(a, b);
                    _mm256_mul_ps(diff, diff)
                }
                Op::L1 => _mm256_andnot_ps(sign, _mm256_sub_ps(a, b)),
            };
            d = _mm256_add_ps(d, term);
            i += 8;
        }
        let mut acc = [0.0f32; 8];
        // SAFETY: `acc` holds 8 floats.
        unsafe { _mm256_storeu_ps(acc.as_mut_ptr(), d) };
        (super::hsum8(acc), n)
    }
}

dispatched!(
    /// `x · y` as annoy computes it (used for norms, margins and the angular and dot distances).
    dot, dot_avx, dot_exact, tail_dot, avx::Op::Dot
);

#[inline(always)]
fn dot_exact(x: &[f32], y: &[f32]) -> f32 {
    tail_dot(x, y, lanes(x, y, |a, b| a * b))
}

/// The scalar tail of a dot product after the lanes covered `(sum, i)`.
#[inline(always)]
fn tail_dot(x: &[f32], y: &[f32], (mut result, i): (f32, usize)) -> f32 {
    let f = x.len().min(y.len());
    // GCC vectorises the first four products of a tail of four or more (unfused), and fuses
    // the rest into FMAs.
    let tail = f - i;
    for k in 0..tail {
        let (a, b) = (x[i + k], y[i + k]);
        if tail >= 4 && k < 4 {
            result += a * b;
        } else {
            result = a.mul_add(b, result);
        }
    }
    result
}

dispatched!(
    /// The squared euclidean distance as annoy computes it.
    euclidean_squared, euclidean_squared_avx, euclidean_squared_exact, tail_l2, avx::Op::L2
);

#[inline(always)]
fn euclidean_squared_exact(x: &[f32], y: &[f32]) -> f32 {
    tail_l2(x, y, lanes(x, y, |a, b| (a - b) * (a - b)))
}

/// The scalar tail of a squared euclidean distance after the lanes covered `(sum, i)`.
#[inline(always)]
fn tail_l2(x: &[f32], y: &[f32], (mut result, i): (f32, usize)) -> f32 {
    let f = x.len().min(y.len());
    // Here GCC pairs the squares (unfused) and fuses only an odd last one.
    let tail = f - i;
    for k in 0..tail {
        let d = x[i + k] - y[i + k];
        if tail % 2 == 1 && k == tail - 1 {
            result = d.mul_add(d, result);
        } else {
            result += d * d;
        }
    }
    result
}

dispatched!(
    /// The manhattan distance as annoy computes it (no products, so no contraction to mind).
    manhattan, manhattan_avx, manhattan_exact, tail_l1, avx::Op::L1
);

#[inline(always)]
fn manhattan_exact(x: &[f32], y: &[f32]) -> f32 {
    tail_l1(x, y, lanes(x, y, |a, b| (a - b).abs()))
}

/// The scalar tail of a manhattan distance after the lanes covered `(sum, i)`.
#[inline(always)]
fn tail_l1(x: &[f32], y: &[f32], (mut result, i): (f32, usize)) -> f32 {
    let f = x.len().min(y.len());
    for k in i..f {
        result += (x[k] - y[k]).abs();
    }
    result
}

/// annoy's angular distance `2 − 2·cos` from the two squared norms and the dot product:
/// the square root in `f32`, the rest in `f64` (annoy's literals are doubles), stored as f32.
#[inline]
pub fn angular(pp: f32, qq: f32, pq: f32) -> f32 {
    let ppqq = pp * qq;
    if ppqq > 0.0 {
        (2.0 - 2.0 * f64::from(pq) / f64::from(ppqq.sqrt())) as f32
    } else {
        2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_vectors_sum_in_order_and_long_ones_by_lanes() {
        let x: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let y: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.25).collect();
        let exact: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        assert!((f64::from(dot(&x, &y)) - exact).abs() < 1e-3);
        assert_eq!(dot(&x[..3], &y[..3]), 0.0 * 1.0 + 0.5 * 0.75 + 1.0 * 0.5);
        let l1: f32 = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum();
        assert!((manhattan(&x, &y) - l1).abs() < 1e-3);
        assert_eq!(euclidean_squared(&[3.0], &[0.0]), 9.0);
        assert_eq!(angular(0.0, 1.0, 0.0), 2.0);
        assert_eq!(angular(4.0, 4.0, 4.0), 0.0);
    }
}
