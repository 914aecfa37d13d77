//! The evaluation of each layer over a whole batch. Shapes were checked by the builder.

use crate::error::NnError;
use crate::gemm::Packed;
use crate::layer::{BatchNorm, Dense, Embedding, LayerNorm, MergeOp, resolve_axis};

/// `out (rows × units) = x (rows × width) · kernel (width × units) + bias`, then the activation.
pub(crate) fn dense(d: &Dense, kernel: &Packed, x: &[f32]) -> Vec<f32> {
    let units = kernel.cols();
    let mut out = vec![0.0f32; x.len().checked_div(kernel.depth()).unwrap_or(0) * units];
    kernel.matmul(x, &mut out);
    if let Some(b) = &d.bias {
        for row in out.chunks_exact_mut(units.max(1)) {
            row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
        }
    }
    d.activation.apply(&mut out, units);
    out
}

pub(crate) fn batch_norm(bn: &BatchNorm, x: &mut [f32], width: usize) {
    // Fold into one scale and shift per channel; epsilon stays inside the square root, as in
    // Keras (folding it outside is a known source of drift).
    let scale: Vec<f32> = (0..width)
        .map(|c| {
            let g = bn.gamma.as_ref().map_or(1.0, |g| g[c]);
            g / (bn.moving_variance[c] + bn.epsilon).sqrt()
        })
        .collect();
    let shift: Vec<f32> = (0..width)
        .map(|c| bn.beta.as_ref().map_or(0.0, |b| b[c]) - bn.moving_mean[c] * scale[c])
        .collect();
    for row in x.chunks_exact_mut(width.max(1)) {
        for ((v, s), t) in row.iter_mut().zip(&scale).zip(&shift) {
            *v = *v * s + t;
        }
    }
}

pub(crate) fn layer_norm(ln: &LayerNorm, x: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    for row in x.chunks_exact_mut(width) {
        let n = width as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + ln.epsilon).sqrt();
        for (c, v) in row.iter_mut().enumerate() {
            let g = ln.gamma.as_ref().map_or(1.0, |g| g[c]);
            let b = ln.beta.as_ref().map_or(0.0, |b| b[c]);
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// Refuses ids that are not rows of the table (an Embedding folded into the next layer only
/// checks its ids).
pub(crate) fn check_ids(e: &Embedding, name: &str, ids: &[f32]) -> Result<(), NnError> {
    let vocab = e.table_shape[0];
    match ids
        .iter()
        .find(|&&id| !(id >= 0.0 && id.fract() == 0.0 && (id as usize) < vocab))
    {
        Some(&value) => Err(NnError::EmbeddingIndex {
            layer: name.to_owned(),
            value,
            vocab,
        }),
        None => Ok(()),
    }
}

pub(crate) fn embedding(e: &Embedding, name: &str, ids: &[f32]) -> Result<Vec<f32>, NnError> {
    let (vocab, dim) = (e.table_shape[0], e.table_shape[1]);
    let mut out = Vec::with_capacity(ids.len() * dim);
    for &id in ids {
        // Keras casts ids to int32; a fractional, negative or too-large id is an input error
        // here rather than whatever row the cast would land on.
        let valid = id >= 0.0 && id.fract() == 0.0 && (id as usize) < vocab;
        if !valid {
            return Err(NnError::EmbeddingIndex {
                layer: name.to_owned(),
                value: id,
                vocab,
            });
        }
        let row = id as usize;
        out.extend_from_slice(&e.table[row * dim..(row + 1) * dim]);
    }
    Ok(out)
}

pub(crate) fn merge(op: MergeOp, inputs: &[&[f32]]) -> Vec<f32> {
    let mut out = inputs[0].to_vec();
    for x in &inputs[1..] {
        for (o, v) in out.iter_mut().zip(x.iter()) {
            *o = match op {
                MergeOp::Add | MergeOp::Average => *o + v,
                MergeOp::Subtract => *o - v,
                MergeOp::Multiply => *o * v,
                MergeOp::Maximum => o.max(*v),
                MergeOp::Minimum => o.min(*v),
            };
        }
    }
    if op == MergeOp::Average {
        let n = inputs.len() as f32;
        out.iter_mut().for_each(|o| *o /= n);
    }
    out
}

/// Concatenates per-sample tensors of `shapes` along `axis` for a batch of `batch` samples.
pub(crate) fn concatenate(
    axis: isize,
    inputs: &[&[f32]],
    shapes: &[&[usize]],
    batch: usize,
) -> Vec<f32> {
    let rank = shapes[0].len();
    // The builder resolved this axis already.
    let ax = resolve_axis(axis, rank).unwrap_or(0);
    let outer: usize = batch * shapes[0][..ax].iter().product::<usize>();
    let inner: Vec<usize> = shapes.iter().map(|s| s[ax..].iter().product()).collect();
    let mut out = Vec::with_capacity(outer * inner.iter().sum::<usize>());
    for o in 0..outer {
        for (x, &n) in inputs.iter().zip(&inner) {
            out.extend_from_slice(&x[o * n..(o + 1) * n]);
        }
    }
    out
}

/// Each sample's `d` values written `n` times.
pub(crate) fn repeat_vector(n: usize, x: &[f32], d: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() * n);
    for row in x.chunks_exact(d.max(1)) {
        for _ in 0..n {
            out.extend_from_slice(row);
        }
    }
    out
}

/// Transposes every sample of `shape` so that output axis `i` is input axis `perm[i]`.
pub(crate) fn permute(perm: &[usize], x: &[f32], shape: &[usize]) -> Vec<f32> {
    let size: usize = shape.iter().product();
    let rank = shape.len();
    // Input strides (row-major), then read them in the output's axis order.
    let mut strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
    let out_strides: Vec<usize> = perm.iter().map(|&a| strides[a]).collect();
    let mut out = Vec::with_capacity(x.len());
    let mut index = vec![0usize; rank];
    for sample in x.chunks_exact(size.max(1)) {
        index.iter_mut().for_each(|i| *i = 0);
        for _ in 0..size {
            let src: usize = index.iter().zip(&out_strides).map(|(i, s)| i * s).sum();
            out.push(sample[src]);
            // Advance the output index, last axis fastest.
            for a in (0..rank).rev() {
                index[a] += 1;
                if index[a] < out_shape[a] {
                    break;
                }
                index[a] = 0;
            }
        }
    }
    out
}
