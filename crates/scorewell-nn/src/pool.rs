//! Max and average pooling over one or two spatial axes, channels last (Keras' `MaxPooling1D/2D`,
//! `AveragePooling1D/2D`, `GlobalMaxPooling2D`, `GlobalAveragePooling2D`).
//!
//! Keras 3 pools with `lax.reduce_window` (`keras/src/backend/jax/nn.py`, `_pool`): windows are
//! placed as for a convolution ([`crate::conv::Padding`]); with `same` padding the max ignores the
//! padded cells (they hold `-inf`) and the average divides by the number of real cells in the
//! window (`average_pool` divides by a second `reduce_window` over ones), not by the pool size.

use crate::conv::{Axis, Padding, place};
use crate::error::NnError;

/// What a pool computes over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

/// A window pool; `pool_size` and `strides` have one entry per spatial axis (1 or 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kind: PoolKind,
    pub pool_size: Vec<usize>,
    pub strides: Vec<usize>,
    /// `Valid` or `Same`.
    pub padding: Padding,
}

/// A pool over both spatial axes of an `(h, w, c)` input, leaving `(c)` or, with `keepdims`,
/// `(1, 1, c)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalPool2D {
    pub kind: PoolKind,
    pub keepdims: bool,
}

fn shape_err(layer: &str, message: String) -> NnError {
    NnError::Shape {
        layer: layer.to_owned(),
        message,
    }
}

impl Pool {
    pub(crate) fn kind_name(&self) -> &'static str {
        match (self.kind, self.pool_size.len()) {
            (PoolKind::Max, 2) => "MaxPooling2D",
            (PoolKind::Max, _) => "MaxPooling1D",
            (PoolKind::Average, 2) => "AveragePooling2D",
            (PoolKind::Average, _) => "AveragePooling1D",
        }
    }

    fn geometry(&self, name: &str, input: &[usize]) -> Result<(Axis, Axis, usize), NnError> {
        let rank = self.pool_size.len();
        if !(1..=2).contains(&rank) || self.strides.len() != rank {
            return Err(shape_err(
                name,
                format!(
                    "pool_size {:?} and strides {:?} need one or two entries each, the same number",
                    self.pool_size, self.strides
                ),
            ));
        }
        if input.len() != rank + 1 {
            return Err(shape_err(
                name,
                format!(
                    "{} takes an input of {} axes per sample (spatial, channels), got {input:?}",
                    self.kind_name(),
                    rank + 1
                ),
            ));
        }
        if self.padding == Padding::Causal {
            return Err(shape_err(
                name,
                "pools take padding `valid` or `same`".into(),
            ));
        }
        let place_axis = |a: usize| {
            place(
                input[a],
                self.pool_size[a],
                self.strides[a],
                1,
                self.padding,
            )
            .map_err(|m| shape_err(name, format!("axis {}: {m}", a + 1)))
        };
        let cols = place_axis(rank - 1)?;
        let rows = if rank == 2 {
            place_axis(0)?
        } else {
            place(1, 1, 1, 1, Padding::Valid).map_err(|m| shape_err(name, m))?
        };
        Ok((rows, cols, input[rank]))
    }

    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let (rows, cols, c) = self.geometry(name, input)?;
        Ok(if self.pool_size.len() == 2 {
            vec![rows.out, cols.out, c]
        } else {
            vec![cols.out, c]
        })
    }

    pub(crate) fn eval(&self, name: &str, x: &[f32], input: &[usize]) -> Result<Vec<f32>, NnError> {
        let (rows, cols, c) = self.geometry(name, input)?;
        let in_size = rows.input * cols.input * c;
        let out_size = rows.out * cols.out * c;
        let batch = x.len().checked_div(in_size).unwrap_or(0);
        let mut out = vec![0.0f32; batch * out_size];
        if in_size == 0 || out_size == 0 {
            return Ok(out);
        }
        match self.kind {
            PoolKind::Max => windows(
                x,
                &mut out,
                rows,
                cols,
                c,
                f32::NEG_INFINITY,
                max_into,
                |_, _| {},
            ),
            PoolKind::Average => {
                windows(x, &mut out, rows, cols, c, 0.0, add_into, |acc, count| {
                    let n = count as f32;
                    acc.iter_mut().for_each(|a| *a /= n);
                })
            }
        }
        Ok(out)
    }
}

/// `acc = max(acc, v)` element-wise, NaN winning as in XLA's max. Written as a select so that
/// it vectorises.
#[inline]
fn max_into(acc: &mut [f32], v: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(v) {
        *a = if v > *a || v.is_nan() { v } else { *a };
    }
}

#[inline]
fn add_into(acc: &mut [f32], v: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(v) {
        *a += v;
    }
}

/// Reduces every window of every sample: `acc` starts at `init`, takes `reduce` with each cell
/// inside the input (padding is skipped, not read as a value), then `finish` with the number of
/// cells it took.
#[allow(clippy::too_many_arguments)]
#[inline]
fn windows(
    x: &[f32],
    out: &mut [f32],
    rows: Axis,
    cols: Axis,
    c: usize,
    init: f32,
    reduce: impl Fn(&mut [f32], &[f32]),
    finish: impl Fn(&mut [f32], usize),
) {
    let in_size = rows.input * cols.input * c;
    let out_size = rows.out * cols.out * c;
    for (sample, y) in x.chunks_exact(in_size).zip(out.chunks_exact_mut(out_size)) {
        let mut cells = y.chunks_exact_mut(c);
        for oy in 0..rows.out {
            let ry = rows.taps(oy);
            for ox in 0..cols.out {
                let rx = cols.taps(ox);
                let Some(acc) = cells.next() else { return };
                acc.fill(init);
                // `taps` are window offsets inside the input, so these never underflow.
                for i in ry.clone() {
                    let iy = oy * rows.stride + i - rows.pad_before;
                    let ix = ox * cols.stride + rx.start - cols.pad_before;
                    let first = (iy * cols.input + ix) * c;
                    for cell in sample[first..first + rx.len() * c].chunks_exact(c) {
                        reduce(acc, cell);
                    }
                }
                finish(acc, ry.len() * rx.len());
            }
        }
    }
}

impl GlobalPool2D {
    pub(crate) fn kind_name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "GlobalMaxPooling2D",
            PoolKind::Average => "GlobalAveragePooling2D",
        }
    }

    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        match input {
            &[h, w, c] if h > 0 && w > 0 => Ok(if self.keepdims {
                vec![1, 1, c]
            } else {
                vec![c]
            }),
            _ => Err(shape_err(
                name,
                format!(
                    "{} takes a non-empty (height, width, channels) input, got {input:?}",
                    self.kind_name()
                ),
            )),
        }
    }

    /// `x` holds samples of `cells × c` values.
    pub(crate) fn eval(&self, x: &[f32], cells: usize, c: usize) -> Vec<f32> {
        let in_size = cells * c;
        let batch = x.len().checked_div(in_size).unwrap_or(0);
        let mut out = Vec::with_capacity(batch * c);
        if in_size == 0 {
            return out;
        }
        for sample in x.chunks_exact(in_size) {
            let at = out.len();
            out.extend_from_slice(&sample[..c]);
            let acc = &mut out[at..];
            for v in sample.chunks_exact(c).skip(1) {
                match self.kind {
                    PoolKind::Max => max_into(acc, v),
                    PoolKind::Average => add_into(acc, v),
                }
            }
            if self.kind == PoolKind::Average {
                acc.iter_mut().for_each(|a| *a /= cells as f32);
            }
        }
        out
    }
}
