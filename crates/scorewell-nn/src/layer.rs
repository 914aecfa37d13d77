use crate::activation::Activation;
use crate::conv::Conv;
use crate::error::NnError;
use crate::graph::Graph;
use crate::pool::{GlobalPool2D, Pool};
use crate::pool1d::GlobalPool1D;
use crate::recurrent::{Bidirectional, Recurrent};
use crate::steps::StepOp;

/// A fully connected layer over the last axis: `activation(x · kernel + bias)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Row-major `(input width, units)`, as Keras stores it.
    pub kernel: Vec<f32>,
    pub kernel_shape: Vec<usize>,
    /// `units` values, or none when the layer has no bias.
    pub bias: Option<Vec<f32>>,
    pub activation: Activation,
}

/// Inference-time batch normalisation over the last axis:
/// `gamma * (x - mean) / sqrt(variance + epsilon) + beta`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// `None` when the layer was built with `scale=False`.
    pub gamma: Option<Vec<f32>>,
    /// `None` when the layer was built with `center=False`.
    pub beta: Option<Vec<f32>>,
    pub moving_mean: Vec<f32>,
    pub moving_variance: Vec<f32>,
    pub epsilon: f32,
}

/// Layer normalisation over the last axis.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    pub gamma: Option<Vec<f32>>,
    pub beta: Option<Vec<f32>>,
    pub epsilon: f32,
}

/// A lookup table from integer token ids to vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Row-major `(vocabulary, dimension)`.
    pub table: Vec<f32>,
    pub table_shape: Vec<usize>,
    /// Id 0 is padding (Keras' `mask_zero`). Only masked layers read it; it is kept so they can.
    pub mask_zero: bool,
}

/// An element-wise merge of same-shaped inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOp {
    Add,
    /// Exactly two inputs: the first minus the second.
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

/// One node's computation. Shapes below are per sample (the batch axis is left out).
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Dense(Dense),
    Activation(Activation),
    /// Dropout, GaussianNoise, ActivityRegularization and other layers that do nothing at
    /// inference.
    Identity,
    Flatten,
    /// Target shape; at most one `None` entry, inferred from the element count.
    Reshape(Vec<Option<usize>>),
    Merge(MergeOp),
    /// Concatenation along a per-sample axis (negative counts from the end).
    Concatenate {
        axis: isize,
    },
    BatchNorm(BatchNorm),
    LayerNorm(LayerNorm),
    Embedding(Embedding),
    /// A vector repeated `n` times: `(d)` → `(n, d)`.
    RepeatVector(usize),
    /// Per-sample axes reordered: output axis `i` is input axis `perm[i]` (0-based).
    Permute(Vec<usize>),
    /// Keras' Masking: a position whose features all equal the value becomes zeros and is
    /// masked for the layers after it.
    Masking(f32),
    /// LSTM, GRU or SimpleRNN over `(timesteps, features)`.
    Recurrent(Box<Recurrent>),
    Bidirectional(Box<Bidirectional>),
    /// A one-input, one-output graph applied to every timestep of `(timesteps, ...)`.
    TimeDistributed(Box<Graph>),
    GlobalPool1D(GlobalPool1D),
    /// A 1-D or 2-D convolution, channels last.
    Conv(Conv),
    /// A 1-D or 2-D max or average pool, channels last.
    Pool(Pool),
    GlobalPool2D(GlobalPool2D),
    /// Zero padding, cropping or upsampling of a `(steps, channels)` input.
    Steps(StepOp),
}

fn weight(
    layer: &str,
    variable: &str,
    found: Vec<usize>,
    expected: Vec<usize>,
) -> Result<(), NnError> {
    if found == expected {
        Ok(())
    } else {
        Err(NnError::WeightShape {
            layer: layer.to_owned(),
            variable: variable.to_owned(),
            expected,
            found,
        })
    }
}

fn shape_err(layer: &str, message: String) -> NnError {
    NnError::Shape {
        layer: layer.to_owned(),
        message,
    }
}

fn checked_product(layer: &str, dims: &[usize]) -> Result<usize, NnError> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| shape_err(layer, format!("shape {dims:?} overflows")))
}

impl Layer {
    /// The layer's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "Dense",
            Layer::Activation(_) => "Activation",
            Layer::Identity => "Identity",
            Layer::Flatten => "Flatten",
            Layer::Reshape(_) => "Reshape",
            Layer::Merge(_) => "Merge",
            Layer::Concatenate { .. } => "Concatenate",
            Layer::BatchNorm(_) => "BatchNormalization",
            Layer::LayerNorm(_) => "LayerNormalization",
            Layer::Embedding(_) => "Embedding",
            Layer::RepeatVector(_) => "RepeatVector",
            Layer::Permute(_) => "Permute",
            Layer::Masking(_) => "Masking",
            Layer::Recurrent(r) => r.cell.kind(),
            Layer::Bidirectional(_) => "Bidirectional",
            Layer::TimeDistributed(_) => "TimeDistributed",
            Layer::GlobalPool1D(p) => match p.op {
                crate::pool1d::PoolOp::Average => "GlobalAveragePooling1D",
                crate::pool1d::PoolOp::Max => "GlobalMaxPooling1D",
            },
            Layer::Conv(c) => c.kind_name(),
            Layer::Pool(p) => p.kind_name(),
            Layer::GlobalPool2D(p) => p.kind_name(),
            Layer::Steps(s) => s.kind_name(),
        }
    }

    /// Checks the inputs and weights, and returns the output's per-sample shape.
    pub(crate) fn output_shape(
        &self,
        name: &str,
        inputs: &[&[usize]],
    ) -> Result<Vec<usize>, NnError> {
        let arity = |expected: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(NnError::Arity {
                    layer: name.to_owned(),
                    kind: self.kind(),
                    expected: expected.to_owned(),
                    found: inputs.len(),
                })
            }
        };
        match self {
            Layer::Merge(op) => {
                if *op == MergeOp::Subtract {
                    arity("2", inputs.len() == 2)?;
                } else {
                    arity("2 or more", inputs.len() >= 2)?;
                }
                if let Some(other) = inputs.iter().find(|s| *s != &inputs[0]) {
                    return Err(shape_err(
                        name,
                        format!(
                            "merged inputs must have one shape, got {:?} and {other:?}",
                            inputs[0]
                        ),
                    ));
                }
                return Ok(inputs[0].to_vec());
            }
            Layer::Concatenate { axis } => {
                arity("2 or more", inputs.len() >= 2)?;
                let rank = inputs[0].len();
                let ax = resolve_axis(*axis, rank).ok_or_else(|| {
                    shape_err(name, format!("axis {axis} is out of range for rank {rank}"))
                })?;
                let mut out = inputs[0].to_vec();
                for s in &inputs[1..] {
                    let same_rest = s.len() == rank
                        && s.iter()
                            .zip(inputs[0])
                            .enumerate()
                            .all(|(i, (a, b))| i == ax || a == b);
                    if !same_rest {
                        return Err(shape_err(
                            name,
                            format!(
                                "cannot concatenate {:?} and {s:?} on axis {axis}",
                                inputs[0]
                            ),
                        ));
                    }
                    out[ax] += s[ax];
                }
                return Ok(out);
            }
            _ => arity("1", inputs.len() == 1)?,
        }
        let input = inputs[0];
        let last = input.last().copied();
        match self {
            Layer::Dense(d) => {
                let width = last.ok_or_else(|| {
                    shape_err(name, "Dense needs an input of rank 1 or more".into())
                })?;
                let units = d.kernel_shape.get(1).copied().unwrap_or(0);
                weight(name, "kernel", d.kernel_shape.clone(), vec![width, units])?;
                weight(name, "kernel", vec![d.kernel.len()], vec![width * units])?;
                if let Some(b) = &d.bias {
                    weight(name, "bias", vec![b.len()], vec![units])?;
                }
                let mut out = input.to_vec();
                if let Some(l) = out.last_mut() {
                    *l = units;
                }
                Ok(out)
            }
            Layer::Activation(_) | Layer::Identity => Ok(input.to_vec()),
            Layer::Flatten => Ok(vec![checked_product(name, input)?]),
            Layer::Reshape(target) => {
                let count = checked_product(name, input)?;
                let known: Vec<usize> = target.iter().flatten().copied().collect();
                let known_count = checked_product(name, &known)?;
                let unknown = target.iter().filter(|d| d.is_none()).count();
                let fill = match unknown {
                    0 if known_count == count => 0,
                    1 if known_count != 0 && count % known_count == 0 => count / known_count,
                    _ => {
                        return Err(shape_err(
                            name,
                            format!("cannot reshape {input:?} ({count} values) into {target:?}"),
                        ));
                    }
                };
                Ok(target.iter().map(|d| d.unwrap_or(fill)).collect())
            }
            Layer::BatchNorm(bn) => {
                let c = last.ok_or_else(|| {
                    shape_err(name, "BatchNormalization needs rank 1 or more".into())
                })?;
                for (var, v) in [
                    ("gamma", bn.gamma.as_ref()),
                    ("beta", bn.beta.as_ref()),
                    ("moving_mean", Some(&bn.moving_mean)),
                    ("moving_variance", Some(&bn.moving_variance)),
                ] {
                    if let Some(v) = v {
                        weight(name, var, vec![v.len()], vec![c])?;
                    }
                }
                Ok(input.to_vec())
            }
            Layer::LayerNorm(ln) => {
                let c = last.ok_or_else(|| {
                    shape_err(name, "LayerNormalization needs rank 1 or more".into())
                })?;
                for (var, v) in [("gamma", ln.gamma.as_ref()), ("beta", ln.beta.as_ref())] {
                    if let Some(v) = v {
                        weight(name, var, vec![v.len()], vec![c])?;
                    }
                }
                Ok(input.to_vec())
            }
            Layer::Embedding(e) => {
                let dim = e.table_shape.get(1).copied().unwrap_or(0);
                let vocab = e.table_shape.first().copied().unwrap_or(0);
                weight(name, "embeddings", vec![e.table.len()], vec![vocab * dim])?;
                if e.table_shape.len() != 2 {
                    return Err(NnError::WeightShape {
                        layer: name.to_owned(),
                        variable: "embeddings".to_owned(),
                        expected: vec![vocab, dim],
                        found: e.table_shape.clone(),
                    });
                }
                let mut out = input.to_vec();
                out.push(dim);
                Ok(out)
            }
            Layer::RepeatVector(n) => match input {
                [d] => Ok(vec![*n, *d]),
                _ => Err(shape_err(
                    name,
                    format!("RepeatVector takes a vector, got shape {input:?}"),
                )),
            },
            Layer::Permute(perm) => {
                let mut seen = vec![false; input.len()];
                let valid = perm.len() == input.len()
                    && perm
                        .iter()
                        .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
                if !valid {
                    return Err(shape_err(
                        name,
                        format!("{perm:?} is not a permutation of the axes of {input:?}"),
                    ));
                }
                Ok(perm.iter().map(|&a| input[a]).collect())
            }
            Layer::Masking(_) => {
                if input.is_empty() {
                    return Err(shape_err(name, "Masking needs rank 1 or more".into()));
                }
                Ok(input.to_vec())
            }
            Layer::Recurrent(r) => r.output_shape(name, input),
            Layer::Bidirectional(b) => b.output_shape(name, input),
            Layer::TimeDistributed(inner) => {
                crate::time_distributed::output_shape(name, inner, input)
            }
            Layer::GlobalPool1D(p) => p.output_shape(name, input),
            Layer::Conv(c) => c.output_shape(name, input),
            Layer::Pool(p) => p.output_shape(name, input),
            Layer::GlobalPool2D(p) => p.output_shape(name, input),
            Layer::Steps(s) => s.output_shape(name, input),
            Layer::Merge(_) | Layer::Concatenate { .. } => unreachable!("handled above"),
        }
    }
}

/// Maps a possibly negative per-sample axis onto `0..rank`.
pub(crate) fn resolve_axis(axis: isize, rank: usize) -> Option<usize> {
    let r = isize::try_from(rank).ok()?;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}
