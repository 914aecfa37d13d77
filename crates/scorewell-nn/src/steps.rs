//! Layers that change the number of steps of a `(steps, channels)` input: Keras' `ZeroPadding1D`,
//! `Cropping1D` and `UpSampling1D` (`keras/src/layers/reshaping/`).

use crate::error::NnError;

/// An edit of the step axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOp {
    /// `before` and `after` zero steps added.
    ZeroPad { before: usize, after: usize },
    /// `before` and `after` steps removed; at least one step must remain.
    Crop { before: usize, after: usize },
    /// Every step repeated `n` times in place (`ops.repeat` on axis 1).
    UpSample(usize),
}

impl StepOp {
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            StepOp::ZeroPad { .. } => "ZeroPadding1D",
            StepOp::Crop { .. } => "Cropping1D",
            StepOp::UpSample(_) => "UpSampling1D",
        }
    }

    pub(crate) fn output_shape(&self, name: &str, input: &[usize]) -> Result<Vec<usize>, NnError> {
        let err = |message: String| NnError::Shape {
            layer: name.to_owned(),
            message,
        };
        let &[steps, c] = input else {
            return Err(err(format!(
                "{} takes a (steps, channels) input, got {input:?}",
                self.kind_name()
            )));
        };
        let out = match *self {
            StepOp::ZeroPad { before, after } => {
                steps.checked_add(before).and_then(|s| s.checked_add(after))
            }
            StepOp::Crop { before, after } => before
                .checked_add(after)
                .and_then(|cut| steps.checked_sub(cut))
                .filter(|&s| s > 0),
            StepOp::UpSample(n) => steps.checked_mul(n).filter(|_| n > 0),
        }
        .filter(|s| s.checked_mul(c).is_some())
        .ok_or_else(|| err(format!("{self:?} does not fit an input of {steps} steps")))?;
        Ok(vec![out, c])
    }

    /// `x` holds `batch` samples of `steps × c` values (the batch is passed because an empty
    /// step axis leaves nothing to count it from).
    pub(crate) fn eval(&self, x: &[f32], batch: usize, steps: usize, c: usize) -> Vec<f32> {
        let in_size = steps * c;
        let out_steps = match *self {
            StepOp::ZeroPad { before, after } => steps + before + after,
            StepOp::Crop { before, after } => steps - before - after,
            StepOp::UpSample(n) => steps * n,
        };
        let mut out = Vec::with_capacity(batch * out_steps * c);
        if in_size == 0 {
            out.resize(batch * out_steps * c, 0.0);
            return out;
        }
        for sample in x.chunks_exact(in_size) {
            match *self {
                StepOp::ZeroPad { before, after } => {
                    out.resize(out.len() + before * c, 0.0);
                    out.extend_from_slice(sample);
                    out.resize(out.len() + after * c, 0.0);
                }
                StepOp::Crop { before, after } => {
                    out.extend_from_slice(&sample[before * c..(steps - after) * c]);
                }
                StepOp::UpSample(n) => {
                    for step in sample.chunks_exact(c.max(1)) {
                        for _ in 0..n {
                            out.extend_from_slice(step);
                        }
                    }
                }
            }
        }
        out
    }
}
