//! TimeDistributed: an inner layer, held as a one-input, one-output [`Graph`], applied to every
//! timestep by running it over `batch × timesteps` samples at once (Keras 3
//! `keras/src/layers/rnn/time_distributed.py` calls the inner layer per step; for a layer
//! without state across samples that is the same computation).

use crate::error::NnError;
use crate::graph::Graph;
use crate::tensor::Tensor;

pub(crate) fn output_shape(
    name: &str,
    inner: &Graph,
    input: &[usize],
) -> Result<Vec<usize>, NnError> {
    let shape_err = |message: String| NnError::Shape {
        layer: name.to_owned(),
        message,
    };
    let [steps, rest @ ..] = input else {
        return Err(shape_err(
            "TimeDistributed needs (timesteps, ...) input".into(),
        ));
    };
    let ins: Vec<&[usize]> = inner.inputs().map(|(_, s)| s).collect();
    let outs: Vec<&[usize]> = inner.outputs().map(|(_, s)| s).collect();
    match (ins.as_slice(), outs.as_slice()) {
        ([i], [o]) if *i == rest => {
            let mut out = vec![*steps];
            out.extend_from_slice(o);
            Ok(out)
        }
        ([i], [_]) => Err(shape_err(format!(
            "the inner layer takes {i:?} per timestep, the input gives {rest:?}"
        ))),
        _ => Err(shape_err(
            "the inner graph must have one input and one output".into(),
        )),
    }
}

/// `x` is `batch × input` with per-sample `input = (timesteps, ...)`.
pub(crate) fn run(
    inner: &Graph,
    x: Vec<f32>,
    batch: usize,
    input: &[usize],
) -> Result<Vec<f32>, NnError> {
    let mut shape = vec![batch * input[0]];
    shape.extend_from_slice(&input[1..]);
    let t = Tensor::from_parts(shape, x);
    let mut out = inner.run(vec![t])?;
    Ok(out.pop().map(Tensor::into_data).unwrap_or_default())
}
