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
        let mut out = vec![0.0f32; batch * features];
        let mut gathered = vec![0.0f32; features];
        for (s, (sample, acc)) in x
            .chunks_exact(per.max(1))
            .zip(out.chunks_exact_mut(features.max(1)))
            .enumerate()
        {
            // Step by step over all features at once (a per-feature loop over strided steps
            // was a seventh of a Conv1D model's time); each feature still folds its steps in
            // order, so the values are those of the per-feature loop.
            let cf = self.channels_first;
            match self.op {
                PoolOp::Average => {
                    // Only channels_last input may carry a mask (the builder refuses the other
                    // case).
                    let used = |t: usize| mask.is_none_or(|m| m[s * steps + t]);
                    let mut count = 0usize;
                    for t in (0..steps).filter(|&t| used(t)) {
                        acc.iter_mut()
                            .zip(step(sample, t, steps, cf, &mut gathered))
                            .for_each(|(m, v)| *m += v);
                        count += 1;
                    }
                    let n = count as f32;
                    acc.iter_mut().for_each(|m| *m /= n);
                }
                // NaN wins, as in jnp.max; padded steps count (Keras gives it no mask support).
                PoolOp::Max => {
                    acc.fill(f32::NEG_INFINITY);
                    for t in 0..steps {
                        for (m, &v) in acc
                            .iter_mut()
                            .zip(step(sample, t, steps, cf, &mut gathered))
                        {
                            if !m.is_nan() && (v.is_nan() || v > *m) {
                                *m = v;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Step `t`'s features of one sample: a slice of it for channels_last, gathered into
/// `gathered` (one value per feature) for channels_first.
fn step<'a>(
    sample: &'a [f32],
    t: usize,
    steps: usize,
    channels_first: bool,
    gathered: &'a mut [f32],
) -> &'a [f32] {
    let features = gathered.len();
    if channels_first {
        for (f, g) in gathered.iter_mut().enumerate() {
            *g = sample[f * steps + t];
        }
        gathered
    } else {
        &sample[t * features..][..features]
    }
}
