//! Convolutions over one or two spatial axes, channels last (Keras' `Conv1D` and `Conv2D`).
//!
//! Each output position is a row of a patch matrix (the receptive field, `kernel rows × kernel
//! columns × channels` values, laid out as the kernel's first three axes) times the kernel viewed
//! as a `(k·in, filters)` matrix, so the arithmetic is one GEMM against the kernel packed once
//! at build (`gemm.rs`; a row's output is the same alone and in a batch). Where
//! the patch rows are already contiguous in the input (a 1-D convolution without dilation or
//! groups) the GEMM reads the input directly with a row stride of `stride × channels`, with no
//! patch matrix at all; otherwise patches are gathered for a bounded chunk of samples at a time.
//!
//! Padding follows XLA/TensorFlow `SAME`, which is what Keras 3 passes to `lax.conv_general_dilated`
//! (`keras/src/backend/jax/nn.py`, `conv`): `out = ceil(n / s)`, total padding
//! `max((out - 1)·s + (k - 1)·d + 1 - n, 0)`, the smaller half before and the extra cell after.
//! `causal` pads `d·(k - 1)` zeros before the steps only (`keras/src/layers/convolutional/conv1d.py`,
//! `_compute_causal_padding`).

use crate::activation::Activation;
use crate::error::NnError;
use crate::gemm::Packed;

/// How a window is placed over the edges of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Windows lie entirely inside the input.
    Valid,
    /// `ceil(n / stride)` outputs; zeros (or, for pools, nothing) around the edges, the extra one
    /// at the end.
    Same,
    /// Zeros before the steps so that output `t` sees inputs up to `t` only (1-D convolutions).
    Causal,
}

/// A convolution with `kernel_shape = (k_1, [k_2,] in_channels / groups, filters)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Row-major, Keras' layout: spatial kernel axes, then input channels per group, then filters.
    pub kernel: Vec<f32>,
    pub kernel_shape: Vec<usize>,
    /// One entry per spatial axis.
    pub strides: Vec<usize>,
    /// One entry per spatial axis.
    pub dilation: Vec<usize>,
    pub padding: Padding,
    /// Input channels and filters are split into this many independent groups.
    pub groups: usize,
    /// `filters` values, or none when the layer has no bias.
    pub bias: Option<Vec<f32>>,
    pub activation: Activation,
}

/// One spatial axis of a window placed over an input: `out` positions, the first window starting
/// `pad_before` cells before the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Axis {
    pub input: usize,
    pub out: usize,
    pub pad_before: usize,
    pub size: usize,
    pub stride: usize,
    pub dilation: usize,
}

/// Where the windows of one axis go, or a message saying why none fit.
pub(crate) fn place(
    input: usize,
    size: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Result<Axis, String> {
    if size == 0 || stride == 0 || dilation == 0 {
        return Err(format!(
            "window {size}, stride {stride} and dilation {dilation} must all be positive"
        ));
    }
    let span = (size - 1)
        .checked_mul(dilation)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| format!("window {size} with dilation {dilation} overflows"))?;
    let (out, pad_before) = match padding {
        Padding::Valid => {
            if input < span {
                return Err(format!(
                    "the window spans {span} cells (size {size}, dilation {dilation}) but the \
                     input has only {input} with padding `valid`"
                ));
            }
            ((input - span) / stride + 1, 0)
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let needed = (out.saturating_sub(1) * stride + span).saturating_sub(input);
            (out, needed / 2)
        }
        // The padded input is `input + span - 1` long, so `input - 1` cells remain after the
        // first window.
        Padding::Causal => (
            input.saturating_sub(1) / stride + usize::from(input > 0),
            span - 1,
        ),
    };
    if out == 0 {
        return Err(format!("an input of {input} cells gives no output"));
    }
    Ok(Axis {
        input,
        out,
        pad_before,
        size,
        stride,
        dilation,
    })
}

impl Axis {
    /// The input cell read by window `o` at tap `k`, or `None` where it falls in the padding.
    #[inline]
    pub(crate) fn cell(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.stride + k * self.dilation)
            .checked_sub(self.pad_before)
            .filter(|&i| i < self.input)
    }

    /// The range of taps whose cells are inside the input, for window `o` (dilation 1).
    #[inline]
    pub(crate) fn taps(&self, o: usize) -> std::ops::Range<usize> {
        let start = o * self.stride;
        let lo = self.pad_before.saturating_sub(start);
        let hi = (self.input + self.pad_before)
            .saturating_sub(start)
            .min(self.size);
        lo..hi.max(lo)
    }
}

fn shape_err(layer: &str, message: String) -> NnError {
    NnError::Shape {
        layer: layer.to_owned(),
        message,
    }
}

/// Both spatial axes of an input `(h, w, c)`; a 1-D input `(steps, c)` is one row high.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    rows: Axis,
    cols: Axis,
    channels: usize,
}

impl Conv {
    /// The number of spatial axes (1 or 2).
    pub fn rank(&self) -> usize {
        self.kernel_shape.len().saturating_sub(2)
    }

    pub(crate) fn kind_name(&self) -> &'static str {
        if self.rank() == 2 { "Conv2D" } else { "Conv1D" }
    }

    fn filters(&self) -> usize {
        self.kernel_shape.last().copied().unwrap_or(0)
    }

    fn geometry(&self, name: &str, input: &[usize]) -> Result<Geometry, NnError> {
        let rank = self.rank();
        if !(1..=2).contains(&rank) {
            return Err(shape_err(
                name,
                format!(
                    "a convolution kernel has 3 or 4 axes, got shape {:?}",
                    self.kernel_shape
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
        if self.strides.len() != rank || self.dilation.len() != rank {
            return Err(shape_err(
                name,
                format!(
                    "strides {:?} and dilation {:?} need {rank} entries",
                    self.strides, self.dilation
                ),
            ));
        }
        if self.padding == Padding::Causal && rank != 1 {
            return Err(shape_err(
                name,
                "padding `causal` is only defined for 1-D convolutions".into(),
            ));
        }
        let place_axis = |a: usize| {
            place(
                input[a],
                self.kernel_shape[a],
                self.strides[a],
                self.dilation[a],
                self.padding,
            )
            .map_err(|m| shape_err(name, format!("axis {}: {m}", a + 1)))
        };
        let cols = place_axis(rank - 1)?;
        let rows = if rank == 2 {
            place_axis(0)?
        } else {
            Axis {
                input: 1,
                out: 1,
                pad_before: 0,
                size: 1,
                stride: 1,
                dilation: 1,
            }
        };
        Ok(Geometry {
            rows,
            cols,
            channels: input[rank],
        })
    }

    /// Checks the kernel and bias against the input and returns the output shape.
    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let g = self.geometry(name, input)?;
        let filters = self.filters();
        if self.groups == 0
            || !g.channels.is_multiple_of(self.groups)
            || !filters.is_multiple_of(self.groups)
        {
            return Err(shape_err(
                name,
                format!(
                    "{} input channels and {filters} filters cannot be split into {} groups",
                    g.channels, self.groups
                ),
            ));
        }
        let mut expected = self.kernel_shape[..self.rank()].to_vec();
        expected.extend([g.channels / self.groups, filters]);
        let weight_err =
            |variable: &str, expected: Vec<usize>, found: Vec<usize>| NnError::WeightShape {
                layer: name.to_owned(),
                variable: variable.to_owned(),
                expected,
                found,
            };
        if self.kernel_shape != expected {
            return Err(weight_err("kernel", expected, self.kernel_shape.clone()));
        }
        let count = expected
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| shape_err(name, format!("kernel shape {expected:?} overflows")))?;
        if self.kernel.len() != count {
            return Err(weight_err("kernel", vec![count], vec![self.kernel.len()]));
        }
        if let Some(b) = &self.bias
            && b.len() != filters
        {
            return Err(weight_err("bias", vec![filters], vec![b.len()]));
        }
        let mut out = if self.rank() == 2 {
            vec![g.rows.out, g.cols.out]
        } else {
            vec![g.cols.out]
        };
        out.push(filters);
        Ok(out)
    }

    /// The kernel packed for `gemm.rs`, one matrix of `(k·in, filters)` per group.
    pub(crate) fn pack(&self) -> Vec<Packed> {
        let filters = self.filters();
        let groups = self.groups.max(1);
        let fg = filters / groups;
        let depth = self.kernel.len().checked_div(filters).unwrap_or(0);
        (0..groups)
            .map(|g| {
                Packed::from_strided(
                    &self.kernel[(g * fg).min(self.kernel.len())..],
                    filters,
                    depth,
                    fg,
                )
            })
            .collect()
    }

    /// Evaluates a batch of samples of per-sample shape `input` (checked by the builder), with
    /// the kernel as [`Conv::pack`] made it.
    pub(crate) fn eval(
        &self,
        name: &str,
        x: &[f32],
        input: &[usize],
        kernels: &[Packed],
    ) -> Result<Vec<f32>, NnError> {
        let g = self.geometry(name, input)?;
        let filters = self.filters();
        let in_size = g.rows.input * g.cols.input * g.channels;
        let batch = x.len().checked_div(in_size).unwrap_or(0);
        let positions = g.rows.out * g.cols.out;
        let mut out = vec![0.0f32; batch * positions * filters];
        // Each path adds the bias to a block of outputs and applies the activation right after
        // its GEMM, while the block is still in cache.
        if in_size == 0 || filters == 0 {
            // No channels: every output is the bias alone.
            self.finish(&mut out);
        } else if kernels.len() != self.groups {
            return Err(NnError::Shape {
                layer: name.to_string(),
                message: format!(
                    "{} packed kernels for {} groups",
                    kernels.len(),
                    self.groups
                ),
            });
        } else if self.rank() == 1 && self.groups == 1 && g.cols.dilation == 1 {
            self.strided(&g, x, &mut out, &kernels[0]);
        } else {
            self.gathered(&g, x, batch, &mut out, kernels);
        }
        Ok(out)
    }

    /// Adds the bias to a block of output rows, then applies the activation.
    fn finish(&self, y: &mut [f32]) {
        let filters = self.filters();
        if let Some(b) = &self.bias {
            for row in y.chunks_exact_mut(filters.max(1)) {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            }
        }
        self.activation.apply(y, filters);
    }

    /// 1-D, no dilation, one group: output step `t` reads `k·c` contiguous values starting at
    /// step `t·stride` of the (padded) input, so the input itself is the patch matrix with a row
    /// stride of `stride·c`.
    fn strided(&self, g: &Geometry, x: &[f32], out: &mut [f32], kernel: &Packed) {
        let (ax, c, filters) = (g.cols, g.channels, self.filters());
        let in_size = ax.input * c;
        let out_size = ax.out * filters;
        // Zero padding is materialised once per sample into a buffer whose edges stay zero.
        let padded_len = (ax.out - 1) * ax.stride + ax.size;
        let needs_pad = ax.pad_before > 0 || padded_len > ax.input;
        let mut padded = if needs_pad {
            vec![0.0f32; padded_len.max(ax.pad_before + ax.input) * c]
        } else {
            Vec::new()
        };
        for (sample, y) in x.chunks_exact(in_size).zip(out.chunks_exact_mut(out_size)) {
            let a: &[f32] = if needs_pad {
                padded[ax.pad_before * c..(ax.pad_before + ax.input) * c].copy_from_slice(sample);
                &padded
            } else {
                sample
            };
            kernel.matmul_strided(ax.out, a, ax.stride * c, y, filters);
            self.finish(y);
        }
    }

    /// The general case: patches gathered into a matrix for a chunk of samples, one GEMM per
    /// group and chunk.
    fn gathered(&self, g: &Geometry, x: &[f32], batch: usize, out: &mut [f32], kernels: &[Packed]) {
        let (c, filters, groups) = (g.channels, self.filters(), self.groups);
        let (cg, fg) = (c / groups, filters / groups);
        let (kh, kw) = (g.rows.size, g.cols.size);
        let k = kh * kw * cg;
        let positions = g.rows.out * g.cols.out;
        let in_size = g.rows.input * g.cols.input * c;
        // Bound the patch matrix to about 1 MiB (at least one sample) so a large batch does not
        // multiply the input's size by the kernel's.
        const PATCH_BUDGET: usize = 1 << 18;
        let chunk = (PATCH_BUDGET / (positions * k).max(1)).clamp(1, batch.max(1));
        let mut patches = vec![0.0f32; chunk * positions * k];
        for (xs, ys) in x
            .chunks(chunk * in_size)
            .zip(out.chunks_mut(chunk * positions * filters))
        {
            let n = xs.len() / in_size.max(1);
            for (group, kernel) in kernels.iter().enumerate() {
                let mut rows = patches.chunks_exact_mut(k);
                for sample in xs.chunks_exact(in_size) {
                    for oy in 0..g.rows.out {
                        for ox in 0..g.cols.out {
                            // The buffer holds `chunk × positions` rows, so this never runs out.
                            let Some(row) = rows.next() else { return };
                            let mut cells = row.chunks_exact_mut(cg);
                            for i in 0..kh {
                                let iy = g.rows.cell(oy, i);
                                for j in 0..kw {
                                    let Some(cell) = cells.next() else { break };
                                    match (iy, g.cols.cell(ox, j)) {
                                        (Some(iy), Some(ix)) => {
                                            let at = (iy * g.cols.input + ix) * c + group * cg;
                                            cell.copy_from_slice(&sample[at..at + cg]);
                                        }
                                        _ => cell.fill(0.0),
                                    }
                                }
                            }
                        }
                    }
                }
                kernel.matmul_strided(n * positions, &patches, k, &mut ys[group * fg..], filters);
            }
            self.finish(ys);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_extra_cell_at_the_end() {
        // n = 6, k = 4, s = 1: total padding 3, one before and two after.
        let a = place(6, 4, 1, 1, Padding::Same).unwrap();
        assert_eq!((a.out, a.pad_before), (6, 1));
        // n = 7, k = 3, s = 2: out 4, total (3·2 + 3) - 7 = 2, one before.
        let a = place(7, 3, 2, 1, Padding::Same).unwrap();
        assert_eq!((a.out, a.pad_before), (4, 1));
        // Strides larger than the window need no padding.
        let a = place(5, 1, 3, 1, Padding::Same).unwrap();
        assert_eq!((a.out, a.pad_before), (2, 0));
    }

    #[test]
    fn valid_and_causal_sizes() {
        let a = place(10, 3, 2, 2, Padding::Valid).unwrap();
        // The window spans 5 cells: starts 0, 2, 4 (4 + 5 = 9 ≤ 10).
        assert_eq!((a.out, a.pad_before), (3, 0));
        let a = place(10, 3, 1, 2, Padding::Causal).unwrap();
        assert_eq!((a.out, a.pad_before), (10, 4));
        let a = place(10, 3, 3, 1, Padding::Causal).unwrap();
        assert_eq!(a.out, 4);
        assert!(place(2, 3, 1, 1, Padding::Valid).is_err());
        assert!(place(0, 1, 1, 1, Padding::Same).is_err());
        assert!(place(4, 0, 1, 1, Padding::Same).is_err());
        assert!(place(4, 2, 1, usize::MAX, Padding::Same).is_err());
    }

    #[test]
    fn taps_clip_to_the_input() {
        let a = place(5, 3, 1, 1, Padding::Same).unwrap();
        assert_eq!(a.taps(0), 1..3);
        assert_eq!(a.taps(2), 0..3);
        assert_eq!(a.taps(4), 0..2);
        assert_eq!(a.cell(0, 0), None);
        assert_eq!(a.cell(4, 2), None);
        assert_eq!(a.cell(4, 1), Some(4));
    }
}
