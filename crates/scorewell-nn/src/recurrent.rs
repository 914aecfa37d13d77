//! LSTM, GRU and SimpleRNN over a batch of sequences, and Bidirectional wrappers of them.
//!
//! Semantics are Keras 3's `RNN` layer on its default (`unroll=False`) path
//! (`keras/src/backend/jax/rnn.py` and `keras/src/layers/rnn/{lstm,gru,simple_rnn,rnn,bidirectional}.py`,
//! Keras 3.15.1):
//! - the input projection `x · kernel + bias` is one GEMM over every timestep, then the
//!   recurrence runs step by step;
//! - a masked step keeps every state and outputs the previous `h` (or zeros when
//!   `zero_output_for_mask`, which Bidirectional forces on when it returns sequences);
//! - `go_backwards` walks time from the end and returns the outputs in that (reversed) order;
//!   without `return_sequences` the output is the one of the last step walked.
//!
//! Buffers are sized once per call (the batch is cut into chunks so that the projected
//! inputs stay a few MB); no step allocates.

use crate::activation::Activation;
use crate::error::NnError;
use crate::vmath;

/// Which recurrence a [`Recurrent`] layer runs. Gate order in the kernels is Keras': LSTM
/// `i, f, c, o`, GRU `z, r, h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Lstm,
    /// `reset_after`: the reset gate multiplies `h · U_h + b'_h` (Keras 3 / tf.keras 2
    /// default) instead of `h` before the product.
    Gru {
        reset_after: bool,
    },
    SimpleRnn,
}

impl Cell {
    /// Gate blocks in the kernels' columns.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
            Cell::SimpleRnn => 1,
        }
    }

    /// The Keras class name, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::Gru { .. } => "GRU",
            Cell::SimpleRnn => "SimpleRNN",
        }
    }
}

/// A recurrent layer over per-sample `(timesteps, features)` input.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrent {
    pub cell: Cell,
    pub units: usize,
    /// Row-major `(features, gates · units)`.
    pub kernel: Vec<f32>,
    /// Row-major `(units, gates · units)`.
    pub recurrent_kernel: Vec<f32>,
    /// `gates · units`, added to `x · kernel`.
    pub bias: Option<Vec<f32>>,
    /// `gates · units`, added to `h · recurrent_kernel`: only a GRU with `reset_after` has it
    /// (the second row of Keras' `(2, 3 · units)` bias).
    pub recurrent_bias: Option<Vec<f32>>,
    pub activation: Activation,
    /// The gates' activation (unused by SimpleRNN).
    pub recurrent_activation: Activation,
    pub return_sequences: bool,
    pub go_backwards: bool,
    /// A masked step outputs zeros instead of the previous output.
    pub zero_output_for_mask: bool,
}

/// How a [`Bidirectional`] layer combines its two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiMerge {
    Concat,
    Sum,
    Mul,
    Ave,
}

/// Two recurrent layers over the same input; the backward one's sequence output is flipped
/// back into time order before the merge (Keras' `ops.flip(y_rev, axis=1)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bidirectional {
    pub forward: Recurrent,
    pub backward: Recurrent,
    pub merge: BiMerge,
}

/// Where a recurrent layer's input projection `x · kernel + bias` comes from.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// `batch × steps × width` inputs.
    Values { x: &'a [f32], width: usize },
    /// Token ids (validated by the Embedding) and the folded `vocab × gates·units` table.
    Table { ids: &'a [f32], table: &'a [f32] },
}

/// `out (+)= x (rows × width) · kernel (width × cols)`, for the fold.
pub(crate) fn project(
    x: &[f32],
    rows: usize,
    width: usize,
    kernel: &[f32],
    cols: usize,
    out: &mut [f32],
) {
    gemm::<false>((rows, width, cols), x, width, kernel, cols, out, cols, true);
}

fn shape_err(layer: &str, message: String) -> NnError {
    NnError::Shape {
        layer: layer.to_owned(),
        message,
    }
}

fn weight(layer: &str, variable: &str, len: usize, expected: Vec<usize>) -> Result<(), NnError> {
    if expected.iter().product::<usize>() == len {
        Ok(())
    } else {
        Err(NnError::WeightShape {
            layer: layer.to_owned(),
            variable: variable.to_owned(),
            expected,
            found: vec![len],
        })
    }
}

impl Recurrent {
    /// Checks the input `(timesteps, features)` and the weights; returns the output shape.
    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let kind = self.cell.kind();
        let &[steps, width] = input else {
            return Err(shape_err(
                name,
                format!("{kind} takes (timesteps, features) per sample, got {input:?}"),
            ));
        };
        if steps == 0 || self.units == 0 {
            return Err(shape_err(
                name,
                format!(
                    "{kind} needs at least one timestep and one unit, got {input:?} and {} units",
                    self.units
                ),
            ));
        }
        let g = self
            .cell
            .gates()
            .checked_mul(self.units)
            .ok_or_else(|| shape_err(name, "units overflow".into()))?;
        weight(name, "kernel", self.kernel.len(), vec![width, g])?;
        weight(
            name,
            "recurrent_kernel",
            self.recurrent_kernel.len(),
            vec![self.units, g],
        )?;
        if let Some(b) = &self.bias {
            weight(name, "bias", b.len(), vec![g])?;
        }
        match (&self.recurrent_bias, self.cell) {
            (None, _) => {}
            (Some(b), Cell::Gru { reset_after: true }) => {
                weight(name, "recurrent bias", b.len(), vec![g])?;
            }
            (Some(_), _) => {
                return Err(shape_err(
                    name,
                    format!("{kind} has no recurrent bias (only a GRU with reset_after)"),
                ));
            }
        }
        // The sizes of the per-call buffers; a product that overflows is refused here.
        steps
            .checked_mul(g)
            .and_then(|v| v.checked_mul(width.max(1)))
            .ok_or_else(|| shape_err(name, format!("{input:?} × {g} overflows")))?;
        Ok(if self.return_sequences {
            vec![steps, self.units]
        } else {
            vec![self.units]
        })
    }

    /// The number of weights (scalars).
    pub(crate) fn parameter_count(&self) -> usize {
        let len = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, Vec::len);
        self.kernel.len()
            + self.recurrent_kernel.len()
            + len(&self.bias)
            + len(&self.recurrent_bias)
    }

    fn out_row(&self, steps: usize) -> usize {
        if self.return_sequences {
            steps * self.units
        } else {
            self.units
        }
    }

    /// Runs `batch` sequences of `steps × width` (row-major); `mask` is `batch × steps`, true
    /// where a step is used. Outputs are in the order the steps were walked.
    #[cfg(test)]
    pub(crate) fn run(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        width: usize,
        mask: Option<&[bool]>,
    ) -> Vec<f32> {
        self.run_source(Source::Values { x, width }, batch, steps, mask)
    }

    pub(crate) fn run_source(
        &self,
        src: Source<'_>,
        batch: usize,
        steps: usize,
        mask: Option<&[bool]>,
    ) -> Vec<f32> {
        let mut out = vec![0.0f32; batch * self.out_row(steps)];
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: both features were detected on this CPU.
            unsafe { run_avx2_fma(self, src, batch, steps, mask, &mut out) };
            return out;
        }
        run_chunks::<false>(self, src, batch, steps, mask, &mut out);
        out
    }
}

impl Bidirectional {
    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let f = self.forward.output_shape(name, input)?;
        let b = self.backward.output_shape(name, input)?;
        if self.forward.return_sequences != self.backward.return_sequences {
            return Err(shape_err(
                name,
                "the forward and backward layers must agree on return_sequences".into(),
            ));
        }
        let mut out = f.clone();
        if let (Some(last), Some(&bl)) = (out.last_mut(), b.last()) {
            match self.merge {
                BiMerge::Concat => *last += bl,
                _ if f != b => {
                    return Err(shape_err(
                        name,
                        format!(
                            "merge {:?} needs equal directions, got {f:?} and {b:?}",
                            self.merge
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    #[cfg(test)]
    pub(crate) fn run(
        &self,
        x: &[f32],
        batch: usize,
        steps: usize,
        width: usize,
        mask: Option<&[bool]>,
    ) -> Vec<f32> {
        let src = Source::Values { x, width };
        self.run_sources([src, src], batch, steps, mask)
    }

    /// `src`: the forward and the backward layer's inputs.
    pub(crate) fn run_sources(
        &self,
        src: [Source<'_>; 2],
        batch: usize,
        steps: usize,
        mask: Option<&[bool]>,
    ) -> Vec<f32> {
        let fw = self.forward.run_source(src[0], batch, steps, mask);
        let mut bw = self.backward.run_source(src[1], batch, steps, mask);
        let (uf, ub) = (self.forward.units, self.backward.units);
        let positions = if self.forward.return_sequences {
            for row in bw.chunks_exact_mut(steps * ub) {
                // Reverse the order of the timesteps, each keeping its units in order.
                for p in 0..steps / 2 {
                    let (head, tail) = row.split_at_mut((steps - 1 - p) * ub);
                    head[p * ub..(p + 1) * ub].swap_with_slice(&mut tail[..ub]);
                }
            }
            batch * steps
        } else {
            batch
        };
        match self.merge {
            BiMerge::Concat => {
                let mut out = Vec::with_capacity(positions * (uf + ub));
                for (f, b) in fw.chunks_exact(uf).zip(bw.chunks_exact(ub)) {
                    out.extend_from_slice(f);
                    out.extend_from_slice(b);
                }
                out
            }
            op => {
                let mut out = fw;
                for (o, b) in out.iter_mut().zip(&bw) {
                    *o = match op {
                        BiMerge::Sum => *o + b,
                        BiMerge::Mul => *o * b,
                        // Keras: (y + y_rev) / 2.
                        _ => (*o + b) / 2.0,
                    };
                }
                out
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// The same loops compiled for AVX2 and FMA: the matrix-vector products and the activations
/// are where a small batch spends its time, and baseline x86-64 code is SSE2 only.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma(
    r: &Recurrent,
    src: Source<'_>,
    batch: usize,
    steps: usize,
    mask: Option<&[bool]>,
    out: &mut [f32],
) {
    run_chunks::<true>(r, src, batch, steps, mask, out);
}

/// Projected inputs per chunk of the batch, in floats (16 MB): enough rows that each step's
/// `h · U` GEMM pays back matrixmultiply's packing of `U`.
const CHUNK_FLOATS: usize = 1 << 22;

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `c_row (+)= a_row · B`, `B` being `a_row.len()` rows of stride `ldb` from which the first
/// `c_row.len()` columns are read.
#[inline(always)]
fn matvec<const FMA: bool>(a_row: &[f32], b: &[f32], ldb: usize, c_row: &mut [f32], acc: bool) {
    if !acc {
        c_row.fill(0.0);
    }
    let cols = c_row.len();
    let quads = a_row.chunks_exact(4);
    let rest = quads.remainder();
    let mut k = 0;
    // Four rows of B per pass: one load and store of c per four multiply-adds.
    for q in quads {
        let r0 = &b[k * ldb..][..cols];
        let r1 = &b[(k + 1) * ldb..][..cols];
        let r2 = &b[(k + 2) * ldb..][..cols];
        let r3 = &b[(k + 3) * ldb..][..cols];
        for ((((cv, &x0), &x1), &x2), &x3) in c_row.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            let v = madd::<FMA>(q[0], x0, *cv);
            let v = madd::<FMA>(q[1], x1, v);
            let v = madd::<FMA>(q[2], x2, v);
            *cv = madd::<FMA>(q[3], x3, v);
        }
        k += 4;
    }
    for &a in rest {
        for (cv, &x0) in c_row.iter_mut().zip(&b[k * ldb..][..cols]) {
            *cv = madd::<FMA>(a, x0, *cv);
        }
        k += 1;
    }
}

/// [`matvec`] for four rows at once, each row's values computed in exactly `matvec`'s order
/// (one multiply-add chain over `k` ascending), so a row's result does not depend on which
/// rows share its block; loading each row of `B` once for four rows is the speed-up.
#[inline(always)]
fn matvec4<const FMA: bool>(a: [&[f32]; 4], b: &[f32], ldb: usize, c: [&mut [f32]; 4], acc: bool) {
    let [c0, c1, c2, c3] = c;
    let cols = c0.len();
    if !acc {
        for row in [&mut *c0, &mut *c1, &mut *c2, &mut *c3] {
            row.fill(0.0);
        }
    }
    let (c1, c2, c3) = (&mut c1[..cols], &mut c2[..cols], &mut c3[..cols]);
    let depth = a[0].len();
    let mut k = 0;
    while k + 4 <= depth {
        let q = [
            &a[0][k..k + 4],
            &a[1][k..k + 4],
            &a[2][k..k + 4],
            &a[3][k..k + 4],
        ];
        let rs = [
            &b[k * ldb..][..cols],
            &b[(k + 1) * ldb..][..cols],
            &b[(k + 2) * ldb..][..cols],
            &b[(k + 3) * ldb..][..cols],
        ];
        for j in 0..cols {
            let x = [rs[0][j], rs[1][j], rs[2][j], rs[3][j]];
            for (row, qa) in [&mut c0[j], &mut c1[j], &mut c2[j], &mut c3[j]]
                .into_iter()
                .zip(q)
            {
                let v = madd::<FMA>(qa[0], x[0], *row);
                let v = madd::<FMA>(qa[1], x[1], v);
                let v = madd::<FMA>(qa[2], x[2], v);
                *row = madd::<FMA>(qa[3], x[3], v);
            }
        }
        k += 4;
    }
    while k < depth {
        let r = &b[k * ldb..][..cols];
        for j in 0..cols {
            c0[j] = madd::<FMA>(a[0][k], r[j], c0[j]);
            c1[j] = madd::<FMA>(a[1][k], r[j], c1[j]);
            c2[j] = madd::<FMA>(a[2][k], r[j], c2[j]);
            c3[j] = madd::<FMA>(a[3][k], r[j], c3[j]);
        }
        k += 1;
    }
}

/// A step's `h · U`: `C (+)= A · B` as [`gemm`] lays it out, but through [`matvec`]'s own
/// summation order for every row, blocked by four. matrixmultiply's order differs from
/// `matvec`'s, and switching between them by batch size would make a row's score depend on
/// its batch: the online (one row) and batch paths must give the same bits. Rows for which
/// `skip` is true may be left untouched.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step_gemm<const FMA: bool>(
    (rows, depth, cols): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    acc: bool,
    skip: impl Fn(usize) -> bool,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    let mut r = 0;
    while r + 4 <= rows {
        if (r..r + 4).all(&skip) {
            r += 4;
            continue;
        }
        let block = &mut c[r * ldc..];
        let (c0, rest) = block.split_at_mut(ldc);
        let (c1, rest) = rest.split_at_mut(ldc);
        let (c2, rest) = rest.split_at_mut(ldc);
        let c3 = &mut rest[..cols];
        let row = |i: usize| &a[(r + i) * lda..][..depth];
        matvec4::<FMA>(
            [row(0), row(1), row(2), row(3)],
            b,
            ldb,
            [&mut c0[..cols], &mut c1[..cols], &mut c2[..cols], c3],
            acc,
        );
        r += 4;
    }
    for r in (r..rows).filter(|&r| !skip(r)) {
        matvec::<FMA>(
            &a[r * lda..][..depth],
            b,
            ldb,
            &mut c[r * ldc..][..cols],
            acc,
        );
    }
}

/// `C (+)= A · B` for `rows × depth` A (row stride `lda`), `depth × cols` B (row stride `ldb`)
/// and `rows × cols` C (row stride `ldc`), through matrixmultiply for any number of rows: its
/// result for a row does not depend on the other rows, so a row projects to the same bits
/// alone or in a batch.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemm<const FMA: bool>(
    (rows, depth, cols): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    acc: bool,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    if depth == 0 {
        if !acc {
            (0..rows).for_each(|r| c[r * ldc..][..cols].fill(0.0));
        }
        return;
    }
    // Every caller passes buffers sized from shapes the builder checked; these bound the
    // unsafe call below.
    assert!(a.len() >= (rows - 1) * lda + depth);
    assert!(b.len() >= (depth - 1) * ldb + cols);
    assert!(c.len() >= (rows - 1) * ldc + cols);
    // SAFETY: the asserts above keep every element sgemm touches inside the three slices;
    // strides are in elements.
    unsafe {
        matrixmultiply::sgemm(
            rows,
            depth,
            cols,
            1.0,
            a.as_ptr(),
            lda as isize,
            1,
            b.as_ptr(),
            ldb as isize,
            1,
            if acc { 1.0 } else { 0.0 },
            c.as_mut_ptr(),
            ldc as isize,
            1,
        );
    }
}

/// Per-chunk state and scratch, allocated once per call.
struct Buffers {
    /// Projected inputs, `rows × steps × gates·units`; each step's gates are formed in place.
    xw: Vec<f32>,
    h: Vec<f32>,
    /// LSTM carry.
    c: Vec<f32>,
    /// GRU: `h · U` (+ recurrent bias), `rows × gates·units`.
    hu: Vec<f32>,
    /// LSTM: `act(c)`; GRU without reset_after: `r ⊙ h`.
    tmp: Vec<f32>,
}

#[inline(always)]
fn run_chunks<const FMA: bool>(
    r: &Recurrent,
    src: Source<'_>,
    batch: usize,
    steps: usize,
    mask: Option<&[bool]>,
    out: &mut [f32],
) {
    let u = r.units;
    let g = r.cell.gates() * u;
    let per_row = steps * g;
    let chunk = (CHUNK_FLOATS / per_row.max(1)).clamp(1, batch.max(1));
    let is_gru = matches!(r.cell, Cell::Gru { .. });
    let mut buf = Buffers {
        xw: vec![0.0; chunk * per_row],
        h: vec![0.0; chunk * u],
        c: vec![0.0; if r.cell == Cell::Lstm { chunk * u } else { 0 }],
        hu: vec![0.0; if is_gru { chunk * g } else { 0 }],
        tmp: vec![0.0; chunk * u],
    };
    let out_row = r.out_row(steps);
    let mut start = 0;
    while start < batch {
        let n = chunk.min(batch - start);
        let xw = &mut buf.xw[..n * per_row];
        match src {
            Source::Values { x, width } => {
                let xs = &x[start * steps * width..(start + n) * steps * width];
                match &r.bias {
                    Some(bias) => xw
                        .chunks_exact_mut(g)
                        .for_each(|row| row.copy_from_slice(bias)),
                    None => xw.fill(0.0),
                }
                gemm::<FMA>((n * steps, width, g), xs, width, &r.kernel, g, xw, g, true);
            }
            Source::Table { ids, table } => {
                let ids = &ids[start * steps..(start + n) * steps];
                for (row, &id) in xw.chunks_exact_mut(g).zip(ids) {
                    // The Embedding validated every id against the vocabulary.
                    let at = id as usize * g;
                    if let Some(t) = table.get(at..at + g) {
                        row.copy_from_slice(t);
                    }
                }
            }
        }
        buf.h[..n * u].fill(0.0);
        buf.c.fill(0.0);
        let m = mask.map(|m| &m[start * steps..(start + n) * steps]);
        let o = &mut out[start * out_row..(start + n) * out_row];
        for p in 0..steps {
            let t = if r.go_backwards { steps - 1 - p } else { p };
            let masked = |b: usize| m.is_some_and(|m| !m[b * steps + t]);
            step::<FMA>(r, &mut buf, n, steps, t, &masked);
            let write = r.return_sequences || p + 1 == steps;
            if write {
                let at = if r.return_sequences { p * u } else { 0 };
                for b in 0..n {
                    let dst = &mut o[b * out_row + at..][..u];
                    if r.zero_output_for_mask && masked(b) {
                        dst.fill(0.0);
                    } else {
                        // A masked step left `h` as it was: the previous output.
                        dst.copy_from_slice(&buf.h[b * u..][..u]);
                    }
                }
            }
        }
        start += n;
    }
}

/// One timestep `t` for the `n` rows of a chunk: forms the gates in `xw` and updates the
/// state of every row that is not masked.
#[inline(always)]
fn step<const FMA: bool>(
    r: &Recurrent,
    buf: &mut Buffers,
    n: usize,
    steps: usize,
    t: usize,
    masked: &impl Fn(usize) -> bool,
) {
    let u = r.units;
    let g = r.cell.gates() * u;
    let per_row = steps * g;
    let (ra, act) = (r.recurrent_activation, r.activation);
    let Buffers { xw, h, c, hu, tmp } = buf;
    let uk = &r.recurrent_kernel;
    match r.cell {
        Cell::Lstm | Cell::SimpleRnn => {
            // The gates of step t: z = (x W + b) + h U, added in place.
            step_gemm::<FMA>(
                (n, u, g),
                h,
                u,
                uk,
                g,
                &mut xw[t * g..],
                per_row,
                true,
                masked,
            );
            for b in (0..n).filter(|&b| !masked(b)) {
                let z = &mut xw[b * per_row + t * g..][..g];
                let hb = &mut h[b * u..][..u];
                if r.cell == Cell::SimpleRnn {
                    vmath::apply(act, z, u);
                    hb.copy_from_slice(z);
                    continue;
                }
                let (ifg, rest) = z.split_at_mut(2 * u);
                let (cg, og) = rest.split_at_mut(u);
                vmath::apply(ra, ifg, u);
                vmath::apply(act, cg, u);
                vmath::apply(ra, og, u);
                let (ig, fg) = ifg.split_at(u);
                let cb = &mut c[b * u..][..u];
                let tb = &mut tmp[b * u..][..u];
                for ((((cv, tv), &i), &f), &cc) in cb
                    .iter_mut()
                    .zip(tb.iter_mut())
                    .zip(ig)
                    .zip(fg)
                    .zip(cg.iter())
                {
                    *cv = f * *cv + i * cc;
                    *tv = *cv;
                }
                vmath::apply(act, tb, u);
                for ((hv, &o), &a) in hb.iter_mut().zip(og.iter()).zip(tb.iter()) {
                    *hv = o * a;
                }
            }
        }
        Cell::Gru { reset_after: true } => {
            step_gemm::<FMA>((n, u, g), h, u, uk, g, hu, g, false, masked);
            for b in (0..n).filter(|&b| !masked(b)) {
                let z = &mut xw[b * per_row + t * g..][..g];
                let hub = &mut hu[b * g..][..g];
                if let Some(rb) = &r.recurrent_bias {
                    hub.iter_mut().zip(rb).for_each(|(v, b)| *v += b);
                }
                let (zr, xh) = z.split_at_mut(2 * u);
                for (v, &w) in zr.iter_mut().zip(hub[..2 * u].iter()) {
                    *v += w;
                }
                vmath::apply(ra, zr, u);
                let (zg, rg) = zr.split_at(u);
                for ((v, &rv), &w) in xh.iter_mut().zip(rg).zip(hub[2 * u..].iter()) {
                    *v += rv * w;
                }
                vmath::apply(act, xh, u);
                for ((hv, &zv), &hh) in h[b * u..][..u].iter_mut().zip(zg).zip(xh.iter()) {
                    *hv = zv * *hv + (1.0 - zv) * hh;
                }
            }
        }
        Cell::Gru { reset_after: false } => {
            // z and r from h U[:, :2u]; the candidate from (r ⊙ h) U[:, 2u:].
            step_gemm::<FMA>((n, u, 2 * u), h, u, uk, g, hu, g, false, masked);
            for b in (0..n).filter(|&b| !masked(b)) {
                let zr = &mut xw[b * per_row + t * g..][..2 * u];
                for (v, &w) in zr.iter_mut().zip(hu[b * g..][..2 * u].iter()) {
                    *v += w;
                }
                vmath::apply(ra, zr, u);
                for ((tv, &rv), &hv) in tmp[b * u..][..u]
                    .iter_mut()
                    .zip(zr[u..].iter())
                    .zip(h[b * u..][..u].iter())
                {
                    *tv = rv * hv;
                }
            }
            step_gemm::<FMA>(
                (n, u, u),
                tmp,
                u,
                &uk[2 * u..],
                g,
                &mut hu[2 * u..],
                g,
                false,
                masked,
            );
            for b in (0..n).filter(|&b| !masked(b)) {
                let z = &mut xw[b * per_row + t * g..][..g];
                let (zr, xh) = z.split_at_mut(2 * u);
                for (v, &w) in xh.iter_mut().zip(hu[b * g + 2 * u..][..u].iter()) {
                    *v += w;
                }
                vmath::apply(act, xh, u);
                for ((hv, &zv), &hh) in h[b * u..][..u]
                    .iter_mut()
                    .zip(zr[..u].iter())
                    .zip(xh.iter())
                {
                    *hv = zv * *hv + (1.0 - zv) * hh;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "recurrent_tests.rs"]
mod tests;
