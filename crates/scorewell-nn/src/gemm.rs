//! Matrix products against a weight matrix known when the graph is built (a Dense kernel).
//!
//! Why not matrixmultiply here: it packs the weight matrix on every call, which is most of a
//! one-row call's time, and its summation order is its own, so a row scored alone and the
//! same row in a batch would need the same (packing) path to give the same bits. This kernel
//! packs the weights once, into panels of [`NR`] columns laid out `depth × NR`, and computes
//! every output value as one multiply-add chain over `k` ascending, starting from zero. Rows
//! are processed [`MR`] at a time only to load each panel row once for several rows; the
//! chain of a value does not depend on which rows share its block, so a row's result is the
//! same alone and in any batch.

/// Columns per packed panel: two 8-lane AVX registers.
const NR: usize = 16;
/// Rows per block: `MR × 2` accumulator registers plus a panel row and a broadcast fit the 16
/// AVX registers.
const MR: usize = 6;

/// A `depth × cols` row-major matrix packed into column panels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packed {
    depth: usize,
    cols: usize,
    /// `cols.div_ceil(NR)` panels, each `depth × NR`; columns past `cols` are zero.
    data: Vec<f32>,
}

impl Packed {
    /// Packs `b`, `depth × cols` row-major (`b.len() == depth · cols`, checked by the caller).
    pub(crate) fn new(b: &[f32], depth: usize, cols: usize) -> Self {
        Self::from_strided(b, cols, depth, cols)
    }

    /// Packs the first `cols` columns of the `depth` rows of `b` that start every `ldb`
    /// values (a column block of a wider matrix, such as one group's filters).
    pub(crate) fn from_strided(b: &[f32], ldb: usize, depth: usize, cols: usize) -> Self {
        let panels = cols.div_ceil(NR);
        let mut data = vec![0.0f32; panels * depth * NR];
        for (p, panel) in data.chunks_exact_mut((depth * NR).max(1)).enumerate() {
            let first = p * NR;
            let width = NR.min(cols - first);
            for (k, dst) in panel.chunks_exact_mut(NR).enumerate() {
                dst[..width].copy_from_slice(&b[k * ldb + first..][..width]);
            }
        }
        Self { depth, cols, data }
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// `out (rows × cols) = a (rows × depth) · B`, overwriting `out`; `rows` is
    /// `a.len() / depth`.
    pub(crate) fn matmul(&self, a: &[f32], out: &mut [f32]) {
        let rows = a.len().checked_div(self.depth).unwrap_or(0);
        self.matmul_strided(rows, a, self.depth, out, self.cols);
    }

    /// `rows` rows of `a` starting every `lda` values (rows may overlap, as a strided
    /// convolution's patches do) times `B`, written over the first `cols` values of the
    /// `rows` rows of `out` that start every `ldc` values. The slices must hold those extents.
    pub(crate) fn matmul_strided(
        &self,
        rows: usize,
        a: &[f32],
        lda: usize,
        out: &mut [f32],
        ldc: usize,
    ) {
        let (depth, cols) = (self.depth, self.cols);
        if rows == 0 || cols == 0 {
            return;
        }
        assert!(
            a.len() >= (rows - 1) * lda + depth && out.len() >= (rows - 1) * ldc + cols,
            "matmul extents exceed the buffers"
        );
        if depth == 0 {
            (0..rows).for_each(|r| out[r * ldc..][..cols].fill(0.0));
            return;
        }
        let view = View { rows, a, lda, ldc };
        #[cfg(target_arch = "x86_64")]
        if crate::recurrent::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { matmul_avx2_fma(self, view, out) };
            return;
        }
        // Without FMA a fused multiply-add would be a slow library call; `a * b + c` keeps one
        // order for every row all the same, which is what batch invariance needs.
        matmul_rows(self, view, out);
    }
}

/// The left operand and the output's row stride of one product.
#[derive(Clone, Copy)]
struct View<'a> {
    rows: usize,
    a: &'a [f32],
    lda: usize,
    ldc: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn matmul_avx2_fma(p: &Packed, v: View<'_>, out: &mut [f32]) {
    // SAFETY (for the kernel calls): this function only runs where AVX2 and FMA exist.
    blocks(p, v, out, |r, a, out, d| match r {
        1 => panels::<1, 2>(a, out, d, x86::run::<1, 2>, x86::run::<1, 1>),
        2 => panels::<2, 1>(a, out, d, x86::run::<2, 1>, x86::run::<2, 1>),
        3 => panels::<3, 1>(a, out, d, x86::run::<3, 1>, x86::run::<3, 1>),
        4 => panels::<4, 1>(a, out, d, x86::run::<4, 1>, x86::run::<4, 1>),
        5 => panels::<5, 1>(a, out, d, x86::run::<5, 1>, x86::run::<5, 1>),
        _ => panels::<6, 1>(a, out, d, x86::run::<6, 1>, x86::run::<6, 1>),
    });
}

/// The portable path, `a * b + c` per step (see [`Packed::matmul_strided`]).
fn matmul_rows(p: &Packed, v: View<'_>, out: &mut [f32]) {
    blocks(p, v, out, |r, a, out, d| match r {
        1 => panels::<1, 1>(a, out, d, run::<1>, run::<1>),
        2 => panels::<2, 1>(a, out, d, run::<2>, run::<2>),
        3 => panels::<3, 1>(a, out, d, run::<3>, run::<3>),
        4 => panels::<4, 1>(a, out, d, run::<4>, run::<4>),
        5 => panels::<5, 1>(a, out, d, run::<5>, run::<5>),
        _ => panels::<6, 1>(a, out, d, run::<6>, run::<6>),
    });
}

/// Sizes and strides of one product, for the kernels.
#[derive(Clone, Copy)]
struct Dims<'p> {
    /// The packed panels' rows, `NR` columns each.
    w_rows: &'p [[f32; NR]],
    depth: usize,
    cols: usize,
    lda: usize,
    ldc: usize,
}

/// Cuts the rows into blocks of at most [`MR`] and hands each to
/// `kernel(rows, a_from_the_block, out_from_the_block, dims)`.
#[inline(always)]
fn blocks(
    p: &Packed,
    v: View<'_>,
    out: &mut [f32],
    kernel: impl Fn(usize, &[f32], &mut [f32], Dims<'_>),
) {
    let dims = Dims {
        w_rows: p.data.as_chunks::<NR>().0,
        depth: p.depth,
        cols: p.cols,
        lda: v.lda,
        ldc: v.ldc,
    };
    for r0 in (0..v.rows).step_by(MR) {
        let r = MR.min(v.rows - r0);
        kernel(r, &v.a[r0 * v.lda..], &mut out[r0 * v.ldc..], dims);
    }
}

/// A kernel: panels `first .. first + P` for the `R` rows of `a` (every `lda` values),
/// storing into `out`.
type Kernel = unsafe fn(&[f32], &mut [f32], Dims<'_>, usize);

/// The panels `P` at a time through `wide`, then one at a time through `one`.
#[inline(always)]
fn panels<const R: usize, const P: usize>(
    a: &[f32],
    out: &mut [f32],
    d: Dims<'_>,
    wide: Kernel,
    one: Kernel,
) {
    // The kernels read `R` rows of `depth` values from `a`: checked once per block here.
    assert!(
        a.len() >= (R - 1) * d.lda + d.depth,
        "matmul rows exceed the buffer"
    );
    let n_panels = d.cols.div_ceil(NR);
    let mut first = 0;
    while first < n_panels {
        // SAFETY: `wide`/`one` are the portable kernel, or the AVX2 one on the AVX2-only path
        // (`matmul_avx2_fma`); `a` holds the rows they read (asserted above).
        if first + P <= n_panels {
            unsafe { wide(a, out, d, first) };
            first += P;
        } else {
            unsafe { one(a, out, d, first) };
            first += 1;
        }
    }
}

/// Panel `first` for `R` rows: each value one chain `c = x · w + c` over `k` ascending.
unsafe fn run<const R: usize>(a: &[f32], out: &mut [f32], d: Dims<'_>, first: usize) {
    let ws = &d.w_rows[first * d.depth..][..d.depth];
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * d.lda..][..d.depth]);
    let mut acc = [[0.0f32; NR]; R];
    for (k, w) in ws.iter().enumerate() {
        for (acc_r, row) in acc.iter_mut().zip(&rows) {
            let x = row[k];
            for (c, &wj) in acc_r.iter_mut().zip(w) {
                *c += x * wj;
            }
        }
    }
    store(&acc, out, (d.cols, d.ldc), first);
}

/// Writes the `R × NR` accumulators of panel `panel` into `out` (`R` rows every `ldc`
/// values), dropping the padding columns of the last panel.
#[inline(always)]
fn store<const R: usize>(
    acc: &[[f32; NR]; R],
    out: &mut [f32],
    (cols, ldc): (usize, usize),
    panel: usize,
) {
    let col = panel * NR;
    let width = NR.min(cols - col);
    for (r, acc_r) in acc.iter().enumerate() {
        out[r * ldc + col..][..width].copy_from_slice(&acc_r[..width]);
    }
}

/// The AVX2 kernel. Written with intrinsics because the compiler's own vectorisation of the
/// portable loops kept the accumulators in registers for some row counts and not others
/// (3 rows ran 10x slower than 5).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Dims, NR, store};
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };

    /// Panels `first .. first + P` for `R` rows; `vfmadd` rounds once, exactly as
    /// `f32::mul_add`, so every value is the chain `c = fma(x, w, c)` over `k` ascending. The
    /// multipliers are broadcast straight from the rows of `a` (copying the block first, to
    /// index it without bounds checks, cost a quarter of a convolution's time).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA, and `a` must hold `R` rows of `d.depth` values every
    /// `d.lda` (`panels` asserts it).
    // Index loops: the register arrays `acc[q][r]` read plainest so, and iterators over
    // them would borrow `acc` across the row loop.
    #[allow(clippy::needless_range_loop)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run<const R: usize, const P: usize>(
        a: &[f32],
        out: &mut [f32],
        d: Dims<'_>,
        first: usize,
    ) {
        let ws: [&[[f32; NR]]; P] =
            std::array::from_fn(|q| &d.w_rows[(first + q) * d.depth..][..d.depth]);
        let rows: [*const f32; R] = std::array::from_fn(|r| a.as_ptr().wrapping_add(r * d.lda));
        let mut acc = [[[_mm256_setzero_ps(); 2]; R]; P];
        for k in 0..d.depth {
            for q in 0..P {
                let w = &ws[q][k];
                // SAFETY: `w` is 16 floats; each load reads 8 of them.
                let (w0, w1) = unsafe {
                    (
                        _mm256_loadu_ps(w.as_ptr()),
                        _mm256_loadu_ps(w.as_ptr().add(8)),
                    )
                };
                for r in 0..R {
                    // SAFETY: row `r` holds `depth` values from `rows[r]` (the caller's
                    // contract) and `k < depth`.
                    let x = _mm256_set1_ps(unsafe { *rows[r].add(k) });
                    acc[q][r][0] = _mm256_fmadd_ps(x, w0, acc[q][r][0]);
                    acc[q][r][1] = _mm256_fmadd_ps(x, w1, acc[q][r][1]);
                }
            }
        }
        for q in 0..P {
            let mut vals = [[0.0f32; NR]; R];
            for r in 0..R {
                let [a0, a1]: [__m256; 2] = acc[q][r];
                // SAFETY: each store writes 8 of the row's 16 floats.
                unsafe {
                    _mm256_storeu_ps(vals[r].as_mut_ptr(), a0);
                    _mm256_storeu_ps(vals[r].as_mut_ptr().add(8), a1);
                }
            }
            store(&vals, out, (d.cols, d.ldc), first + q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Packed, View, matmul_rows};

    /// Deterministic test values in [-1, 1], different per seed.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 + 1.0) * (0.618 + seed as f32)).sin())
            .collect()
    }

    fn naive(a: &[f32], b: &[f32], depth: usize, cols: usize) -> Vec<f64> {
        let rows = a.len() / depth;
        let mut out = vec![0.0f64; rows * cols];
        for r in 0..rows {
            for k in 0..depth {
                for c in 0..cols {
                    out[r * cols + c] += f64::from(a[r * depth + k]) * f64::from(b[k * cols + c]);
                }
            }
        }
        out
    }

    /// The dispatched path (AVX2 where the CPU has it) and the portable one.
    type Path = fn(&Packed, View<'_>, &mut [f32]);

    fn paths() -> [(&'static str, Path); 2] {
        fn dispatched(p: &Packed, v: View<'_>, out: &mut [f32]) {
            p.matmul_strided(v.rows, v.a, v.lda, out, v.ldc);
        }
        [("dispatched", dispatched), ("portable", matmul_rows)]
    }

    #[test]
    fn matches_a_plain_product_for_every_row_count_and_ragged_panel() {
        for (name, path) in paths() {
            for (depth, cols) in [(1, 1), (3, 17), (50, 256), (7, 33), (16, 15)] {
                let b = values(depth * cols, 7);
                let p = Packed::new(&b, depth, cols);
                for rows in [1, 2, 5, 6, 7, 13] {
                    let a = values(rows * depth, rows as u32);
                    let mut out = vec![f32::NAN; rows * cols];
                    path(
                        &p,
                        View {
                            rows,
                            a: &a,
                            lda: depth,
                            ldc: cols,
                        },
                        &mut out,
                    );
                    let want = naive(&a, &b, depth, cols);
                    for (got, want) in out.iter().zip(&want) {
                        assert!(
                            (f64::from(*got) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "{name} {depth}x{cols}, {rows} rows: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_row_gives_the_same_bits_alone_and_in_any_block() {
        let (depth, cols) = (37, 40);
        let b = values(depth * cols, 3);
        let p = Packed::new(&b, depth, cols);
        let rows = 13;
        let a = values(rows * depth, 11);
        for (name, path) in paths() {
            let mut all = vec![0.0; rows * cols];
            path(
                &p,
                View {
                    rows,
                    a: &a,
                    lda: depth,
                    ldc: cols,
                },
                &mut all,
            );
            for r in 0..rows {
                let mut one = vec![0.0; cols];
                let a = &a[r * depth..][..depth];
                path(
                    &p,
                    View {
                        rows: 1,
                        a,
                        lda: depth,
                        ldc: cols,
                    },
                    &mut one,
                );
                let batch: Vec<u32> = all[r * cols..][..cols]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                let alone: Vec<u32> = one.iter().map(|v| v.to_bits()).collect();
                assert_eq!(batch, alone, "{name} row {r}");
            }
        }
    }

    #[test]
    fn strided_rows_and_a_column_block_of_a_wider_matrix() {
        // Overlapping input rows (stride 2 over width-6 rows), the middle 5 of 9 columns of
        // `b`, written into columns 3..8 of 10-wide output rows; the rest stays untouched.
        let (depth, wide, first, cols, rows, lda, ldc) = (6, 9, 2, 5, 4, 2, 10);
        let b = values(depth * wide, 5);
        let p = Packed::from_strided(&b[first..], wide, depth, cols);
        let a = values((rows - 1) * lda + depth, 9);
        let mut out = vec![-7.0f32; rows * ldc];
        p.matmul_strided(rows, &a, lda, &mut out[3..], ldc);
        for r in 0..rows {
            for c in 0..ldc {
                let got = out[r * ldc + c];
                if (3..3 + cols).contains(&c) {
                    let want: f64 = (0..depth)
                        .map(|k| f64::from(a[r * lda + k]) * f64::from(b[k * wide + first + c - 3]))
                        .sum();
                    assert!(
                        (f64::from(got) - want).abs() < 1e-5,
                        "{r},{c}: {got} vs {want}"
                    );
                } else {
                    assert_eq!(got, -7.0, "{r},{c} was written");
                }
            }
        }
    }

    #[test]
    fn no_rows_or_no_depth_is_well_defined() {
        let p = Packed::new(&[], 0, 3);
        let mut out = vec![1.0; 6];
        p.matmul_strided(2, &[], 0, &mut out, 3);
        assert_eq!(out, vec![0.0; 6], "an empty sum is zero");
        let p = Packed::new(&[1.0, 2.0], 2, 1);
        let mut out: Vec<f32> = vec![];
        p.matmul(&[], &mut out);
        assert!(out.is_empty());
    }
}
