//! Keras timestep masks: which nodes carry one (decided when the graph is built) and its value
//! (computed while it runs).
//!
//! A mask holds one bool per position of a tensor's all-but-last axes (`(timesteps)` for a
//! `(timesteps, features)` sample), true where the position is used. The rules copy each Keras 3
//! layer's `compute_mask` (`keras/src/layers/layer.py`: a layer with `supports_masking` passes
//! its first input's mask on; one without drops it):
//! - made by `Embedding(mask_zero=True)` (id != 0) and `Masking` (some feature != mask_value);
//! - passed on by Dense, Activation, the inference no-ops, BatchNormalization,
//!   LayerNormalization, TimeDistributed, and recurrent layers with `return_sequences`;
//! - merged by Add/Subtract/Multiply/Average/Maximum/Minimum (`base_merge.py`: none unless every
//!   input has one, then their OR) and Concatenate (`concatenate.py`: unmasked inputs count as
//!   all true; along the last axis that ORs the masks, along another axis it concatenates them);
//! - dropped by every other layer (Flatten, Reshape, Permute, RepeatVector, global pooling,
//!   recurrent layers without `return_sequences`, ...).
//!
//! Keras 2 / tf.keras merged differently (`base_merge.py` and `concatenate.py` of tf.keras 2.x:
//! the AND of the masks present, unmasked inputs ignored; Concatenate reduces with `all`), which
//! [`MaskRules::Keras2`] selects.
//!
//! Read by recurrent layers and GlobalAveragePooling1D. GlobalMaxPooling1D does not support
//! masking in Keras: it takes the max over padded steps too.

use crate::error::NnError;
use crate::layer::{Layer, resolve_axis};
use crate::pool1d::PoolOp;

/// Which Keras version's merge rules a graph follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaskRules {
    /// Keras 3: a merge has a mask only when every input has one (their OR); Concatenate along
    /// the last axis ORs the masks, an unmasked input counting as all true.
    #[default]
    Keras3,
    /// Keras 2 / tf.keras: merges and Concatenate along the last axis AND the masks present.
    Keras2,
}

/// Positions a mask covers for a per-sample `shape`.
pub(crate) fn positions(shape: &[usize]) -> usize {
    shape[..shape.len().saturating_sub(1)].iter().product()
}

/// Whether the output of `layer` carries a mask, given which inputs do; refuses a mask that a
/// layer would read in a way scorewell does not reproduce.
pub(crate) fn output_masked(
    rules: MaskRules,
    layer: &Layer,
    name: &str,
    inputs: &[bool],
    in_shapes: &[&[usize]],
    out: &[usize],
) -> Result<bool, NnError> {
    let first = inputs.first().copied().unwrap_or(false);
    let masked = match layer {
        Layer::Embedding(e) => e.mask_zero,
        Layer::Masking(_) => true,
        Layer::Dense(_)
        | Layer::Activation(_)
        | Layer::Identity
        | Layer::BatchNorm(_)
        | Layer::LayerNorm(_)
        | Layer::TimeDistributed(_) => first,
        Layer::Recurrent(r) => first && r.return_sequences,
        Layer::Bidirectional(b) => first && b.forward.return_sequences,
        Layer::Merge(_) if rules == MaskRules::Keras2 => inputs.iter().any(|&m| m),
        Layer::Merge(_) => inputs.iter().all(|&m| m),
        Layer::Concatenate { .. } => inputs.iter().any(|&m| m),
        Layer::GlobalPool1D(p) => {
            if first && p.channels_first && p.op == PoolOp::Average {
                return Err(NnError::Shape {
                    layer: name.to_owned(),
                    message: "a mask over channels_first input is not supported (Keras \
                              broadcasts a timestep mask against the feature axis)"
                        .into(),
                });
            }
            false
        }
        _ => false,
    };
    let carried = matches!(
        layer,
        Layer::Dense(_)
            | Layer::Activation(_)
            | Layer::Identity
            | Layer::BatchNorm(_)
            | Layer::LayerNorm(_)
            | Layer::TimeDistributed(_)
    );
    if masked && carried {
        let before = in_shapes.first().map_or(0, |s| positions(s));
        if before != positions(out) {
            return Err(NnError::Shape {
                layer: name.to_owned(),
                message: format!(
                    "the input's mask covers {before} positions but the output has {}",
                    positions(out)
                ),
            });
        }
    }
    Ok(masked)
}

/// The output mask (`batch × positions`) of a node that [`output_masked`] said carries one.
/// `first` is the value of the node's first input.
pub(crate) fn output_mask(
    rules: MaskRules,
    layer: &Layer,
    inputs: &[Option<&[bool]>],
    in_shapes: &[&[usize]],
    batch: usize,
    first: &[f32],
) -> Vec<bool> {
    let first_mask = || {
        inputs
            .first()
            .copied()
            .flatten()
            .unwrap_or_default()
            .to_vec()
    };
    match layer {
        Layer::Embedding(_) => first.iter().map(|&id| id != 0.0).collect(),
        Layer::Masking(value) => {
            let width = in_shapes
                .first()
                .and_then(|s| s.last())
                .copied()
                .unwrap_or(1);
            first
                .chunks_exact(width.max(1))
                .map(|row| row.iter().any(|v| v != value))
                .collect()
        }
        Layer::Merge(_) => {
            let (and, per) = (
                rules == MaskRules::Keras2,
                in_shapes.first().map_or(0, |s| positions(s)),
            );
            let mut out = vec![and; batch * per];
            for m in inputs.iter().flatten() {
                for (o, &v) in out.iter_mut().zip(m.iter()) {
                    *o = if and { *o && v } else { *o || v };
                }
            }
            out
        }
        Layer::Concatenate { axis } => concatenate(rules, *axis, inputs, in_shapes, batch),
        _ => first_mask(),
    }
}

/// Concatenate's mask: every input's mask (all true when it has none) concatenated along the
/// axis, then reduced with `any` over the last axis, as `concatenate.py` does.
fn concatenate(
    rules: MaskRules,
    axis: isize,
    inputs: &[Option<&[bool]>],
    shapes: &[&[usize]],
    batch: usize,
) -> Vec<bool> {
    let rank = shapes.first().map_or(0, |s| s.len());
    // The builder resolved this axis already.
    let ax = resolve_axis(axis, rank).unwrap_or(0);
    let per = shapes.first().map_or(0, |s| positions(s));
    if ax + 1 == rank {
        // Along the features, Keras 3: a position is used if any input uses it (an unmasked
        // input uses all); Keras 2: if every masked input uses it.
        let and = rules == MaskRules::Keras2;
        let mut out = vec![and; batch * per];
        for m in inputs {
            match m {
                Some(m) if and => out.iter_mut().zip(m.iter()).for_each(|(o, &v)| *o &= v),
                Some(m) => out.iter_mut().zip(m.iter()).for_each(|(o, &v)| *o |= v),
                None if and => {}
                None => out.fill(true),
            }
        }
        return out;
    }
    let outer: usize = batch * shapes[0][..ax].iter().product::<usize>();
    let inner: Vec<usize> = shapes
        .iter()
        .map(|s| s[ax..s.len() - 1].iter().product())
        .collect();
    let mut out = Vec::with_capacity(outer * inner.iter().sum::<usize>());
    for o in 0..outer {
        for (m, &n) in inputs.iter().zip(&inner) {
            match m {
                Some(m) => out.extend_from_slice(&m[o * n..(o + 1) * n]),
                None => out.extend(std::iter::repeat_n(true, n)),
            }
        }
    }
    out
}

/// Keras' `Masking`: a position whose features all equal `value` becomes zeros.
pub(crate) fn masking(value: f32, x: &mut [f32], width: usize) {
    for row in x.chunks_exact_mut(width.max(1)) {
        if row.iter().all(|&v| v == value) {
            row.fill(0.0);
        }
    }
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;
