//! GlobalAveragePooling1D and GlobalMaxPooling1D (Keras 3
//! `keras/src/layers/pooling/global_{average,max}_pooling1d.py`).
//!
//! With a mask the average is the sum over used steps divided by their count (0/0 = NaN when a
//! sample has none, as in Keras); the max has no mask support in Keras and takes every step.

use crate::error::NnError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    Average,
    Max,
}

/// A reduction over the steps axis of per-sample `(steps, features)` input, or
/// `(features, steps)` when `channels_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalPool1D {
    pub op: PoolOp,
    pub channels_first: bool,
    /// Keep the steps axis with length 1.
    pub keepdims: bool,
}

impl GlobalPool1D {
    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let &[a, b] = input else {
            return Err(NnError::Shape {
                layer: name.to_owned(),
                message: format!("global 1-D pooling takes a rank-2 sample, got {input:?}"),
            });
        };
        let features = if self.channels_first { a } else { b };
        Ok(match (self.keepdims, self.channels_first) {
            (false, _) => vec![features],
            (true, false) => vec![1, features],
            (true, true) => vec![features, 1],
        })
    }

    /// `x` is `batch × a × b` (the per-sample input shape `[a, b]`); `mask` is `batch × a`.
    pub(crate) fn run(&self, x: &[f32], shape: &[usize], mask: Option<&[bool]>) -> Vec<f32> {
        let (a, b) = (shape[0], shape[1]);
        let (steps, features) = if self.channels_first { (b, a) } else { (a, b) };
        let per = a * b;
        let batch = x.len().checked_div(per).unwrap_or(0);
        let mut out = Vec::with_capacity(batch * features);
        for (s, sample) in x.chunks_exact(per.max(1)).enumerate() {
            // The value at (step, feature) of this sample.
            let at = |t: usize, f: usize| {
                if self.channels_first {
                    sample[f * steps + t]
                } else {
                    sample[t * features + f]
                }
            };
            // Only channels_last input may carry a mask (the builder refuses the other case).
            let used = |t: usize| mask.is_none_or(|m| m[s * steps + t]);
            for f in 0..features {
                let v = match self.op {
                    PoolOp::Average => {
                        let (mut sum, mut count) = (0.0f32, 0usize);
                        for t in (0..steps).filter(|&t| used(t)) {
                            sum += at(t, f);
                            count += 1;
                        }
                        sum / count as f32
                    }
                    // NaN wins, as in jnp.max.
                    PoolOp::Max => (0..steps)
                        .map(|t| at(t, f))
                        .fold(f32::NEG_INFINITY, |m, v| {
                            if m.is_nan() || !(v.is_nan() || v > m) {
                                m
                            } else {
                                v
                            }
                        }),
                };
                out.push(v);
            }
        }
        out
    }
}
