//! Keras layer classes, by name, mapped onto `scorewell-nn` layers.

use serde_json::Value;

use scorewell_nn::{
    Activation, BatchNorm, Dense, Embedding, GraphBuilder, HardSigmoid, Layer, LayerNorm,
    MaskRules, MergeOp, NodeId, PoolOp,
};

use crate::config::{LayerDesc, ModelDesc};
use crate::error::KerasError;
use crate::mask_ops;
use crate::recurrent;
use crate::weights::Weights;

pub(crate) fn layer_err(d: &LayerDesc, message: impl Into<String>) -> KerasError {
    KerasError::Layer {
        layer: d.name.clone(),
        class: d.class.clone(),
        message: message.into(),
    }
}

fn f32_opt(d: &LayerDesc, key: &str, default: f32) -> f32 {
    d.config
        .get(key)
        .and_then(Value::as_f64)
        .map_or(default, |v| v as f32)
}

pub(crate) fn bool_opt(d: &LayerDesc, key: &str, default: bool) -> bool {
    d.config
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// A Keras activation by name (`"relu"`, ...), as serialized in layer configs.
pub(crate) fn activation(
    d: &LayerDesc,
    v: Option<&Value>,
    keras3: bool,
) -> Result<Activation, KerasError> {
    let name = match v {
        None | Some(Value::Null) => return Ok(Activation::Linear),
        Some(Value::String(s)) => s.as_str(),
        // Keras 3 may serialize a built-in as {"class_name": "function", "config": "relu"}.
        Some(other) => other
            .get("config")
            .and_then(Value::as_str)
            .ok_or_else(|| layer_err(d, format!("unsupported activation {other}")))?,
    };
    Ok(match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "relu6" => Activation::Relu6,
        "leaky_relu" => Activation::LeakyRelu { alpha: 0.2 },
        "elu" => Activation::Elu { alpha: 1.0 },
        "selu" => Activation::Selu,
        // The activation *name* is the exact (erf) form in Keras.
        "gelu" => Activation::Gelu { approximate: false },
        "silu" | "swish" => Activation::Silu,
        "sigmoid" => Activation::Sigmoid,
        "hard_sigmoid" => Activation::HardSigmoid(if keras3 {
            HardSigmoid::Keras3
        } else {
            HardSigmoid::Keras2
        }),
        "tanh" => Activation::Tanh,
        "softmax" => Activation::Softmax,
        "softplus" => Activation::Softplus,
        "softsign" => Activation::Softsign,
        "exponential" => Activation::Exponential,
        other => return Err(layer_err(d, format!("unsupported activation `{other}`"))),
    })
}

/// Builds the graph; calls whose inputs are not ready yet (a shared layer whose second call
/// reads a later layer) are retried until every call is placed.
pub(crate) fn build_graph(
    model: &ModelDesc,
    weights: &Weights,
) -> Result<scorewell_nn::Graph, KerasError> {
    let mut g = GraphBuilder::new();
    if !model.keras3 {
        g.set_mask_rules(MaskRules::Keras2);
    }
    let mut made: std::collections::HashMap<(String, usize), NodeId> =
        std::collections::HashMap::new();
    for (name, shape) in &model.inputs {
        let id = g.add_input(name, shape.clone())?;
        made.insert((name.clone(), 0), id);
    }
    let mut pending: Vec<(usize, usize)> = model
        .layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| (0..l.calls.len()).map(move |c| (i, c)))
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for (li, call) in pending {
            let d = &model.layers[li];
            let refs = &d.calls[call];
            let inputs: Option<Vec<NodeId>> = refs.iter().map(|r| made.get(r).copied()).collect();
            let Some(inputs) = inputs else {
                rest.push((li, call));
                continue;
            };
            let layer = map_layer(d, &g, &inputs, weights, model.keras3)?;
            let node_name = if call == 0 {
                d.name.clone()
            } else {
                format!("{}#{call}", d.name)
            };
            let id = g.add_layer(&node_name, layer, &inputs)?;
            mask_ops::check_explicit_mask(d, &g, &inputs)?;
            made.insert((d.name.clone(), call), id);
        }
        if rest.len() == before {
            let (li, call) = rest[0];
            return Err(KerasError::Config(format!(
                "layer `{}` reads a tensor no layer produces: {:?}",
                model.layers[li].name, model.layers[li].calls[call]
            )));
        }
        pending = rest;
    }
    for r in &model.outputs {
        let id = made.get(r).copied().ok_or_else(|| {
            KerasError::Config(format!("output `{}` is not produced by any layer", r.0))
        })?;
        g.add_output(&r.0, id)?;
    }
    Ok(g.build()?)
}

/// A variable a layer holds only when built with it.
type Optional = Option<Vec<f32>>;

/// A normalisation layer's per-channel variables, read in the layer's order; the optional
/// `gamma` (`scale=True`) and `beta` (`center=True`) come first, so later indices shift when
/// either is off.
struct PerChannel<'a> {
    d: &'a LayerDesc,
    w: &'a Weights,
    width: usize,
    index: usize,
}

impl<'a> PerChannel<'a> {
    fn new(d: &'a LayerDesc, w: &'a Weights, width: usize) -> Self {
        Self {
            d,
            w,
            width,
            index: 0,
        }
    }

    fn next(&mut self, variable: &str) -> Result<Vec<f32>, KerasError> {
        let i = self.index;
        self.index += 1;
        let d = self.d;
        self.w
            .var(&d.name, &d.weights_path, i, i, variable, &[self.width])
    }

    /// `gamma` and `beta`, each only when the layer was built with it.
    fn scale_and_center(&mut self) -> Result<(Optional, Optional), KerasError> {
        let gamma = if bool_opt(self.d, "scale", true) {
            Some(self.next("gamma")?)
        } else {
            None
        };
        let beta = if bool_opt(self.d, "center", true) {
            Some(self.next("beta")?)
        } else {
            None
        };
        Ok((gamma, beta))
    }
}

pub(crate) fn map_layer(
    d: &LayerDesc,
    g: &GraphBuilder,
    inputs: &[NodeId],
    w: &Weights,
    keras3: bool,
) -> Result<Layer, KerasError> {
    let in_shape = inputs
        .first()
        .and_then(|&i| g.shape(i))
        .unwrap_or(&[])
        .to_vec();
    let width = in_shape.last().copied().unwrap_or(0);
    let path = &d.weights_path;
    Ok(match d.class.as_str() {
        "Dense" => {
            let units = d
                .config
                .get("units")
                .and_then(Value::as_u64)
                .ok_or_else(|| layer_err(d, "no `units`"))? as usize;
            let kernel = w.var(&d.name, path, 0, 0, "kernel", &[width, units])?;
            let bias = if bool_opt(d, "use_bias", true) {
                Some(w.var(&d.name, path, 1, 1, "bias", &[units])?)
            } else {
                None
            };
            Layer::Dense(Dense {
                kernel,
                kernel_shape: vec![width, units],
                bias,
                activation: activation(d, d.config.get("activation"), keras3)?,
            })
        }
        "Activation" => Layer::Activation(activation(d, d.config.get("activation"), keras3)?),
        "ReLU" => {
            let slope = f32_opt(d, "negative_slope", 0.0);
            let threshold = f32_opt(d, "threshold", 0.0);
            let max = d.config.get("max_value").and_then(Value::as_f64);
            match (slope, threshold, max) {
                (s, t, None) if s == 0.0 && t == 0.0 => Layer::Activation(Activation::Relu),
                (s, t, Some(m)) if s == 0.0 && t == 0.0 && m == 6.0 => {
                    Layer::Activation(Activation::Relu6)
                }
                _ => {
                    return Err(layer_err(
                        d,
                        "only ReLU with default negative_slope/threshold and max_value none or 6 is supported",
                    ));
                }
            }
        }
        "LeakyReLU" => {
            // Keras 3 names it negative_slope (default 0.3), Keras 2 alpha (default 0.3).
            let alpha = d
                .config
                .get("negative_slope")
                .or_else(|| d.config.get("alpha"))
                .and_then(Value::as_f64)
                .map_or(0.3, |v| v as f32);
            Layer::Activation(Activation::LeakyRelu { alpha })
        }
        "ELU" => Layer::Activation(Activation::Elu {
            alpha: f32_opt(d, "alpha", 1.0),
        }),
        "Softmax" => {
            let axis = d.config.get("axis").and_then(Value::as_i64).unwrap_or(-1);
            if axis != -1 && axis != in_shape.len() as i64 {
                return Err(layer_err(
                    d,
                    format!("softmax over axis {axis} is not supported (only the last axis)"),
                ));
            }
            Layer::Activation(Activation::Softmax)
        }
        "Dropout"
        | "SpatialDropout1D"
        | "SpatialDropout2D"
        | "GaussianNoise"
        | "GaussianDropout"
        | "AlphaDropout"
        | "ActivityRegularization" => Layer::Identity,
        "Flatten" => Layer::Flatten,
        "Reshape" => {
            let target = d
                .config
                .get("target_shape")
                .and_then(Value::as_array)
                .ok_or_else(|| layer_err(d, "no `target_shape`"))?;
            let dims = target
                .iter()
                .map(|v| match v.as_i64() {
                    Some(-1) => Ok(None),
                    Some(n) if n > 0 => Ok(Some(n as usize)),
                    _ => Err(layer_err(d, format!("bad target_shape entry {v}"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Layer::Reshape(dims)
        }
        "Add" => Layer::Merge(MergeOp::Add),
        "Subtract" => Layer::Merge(MergeOp::Subtract),
        "Multiply" => Layer::Merge(MergeOp::Multiply),
        "Average" => Layer::Merge(MergeOp::Average),
        "Maximum" => Layer::Merge(MergeOp::Maximum),
        "Minimum" => Layer::Merge(MergeOp::Minimum),
        "Concatenate" => {
            // Keras counts the batch axis; the IR does not.
            let axis = d.config.get("axis").and_then(Value::as_i64).unwrap_or(-1);
            let axis = if axis < 0 {
                axis
            } else if axis == 0 {
                return Err(layer_err(
                    d,
                    "concatenation along the batch axis is not supported",
                ));
            } else {
                axis - 1
            };
            Layer::Concatenate {
                axis: axis as isize,
            }
        }
        "BatchNormalization" => {
            let axis = d.config.get("axis");
            let last = match axis {
                None => true,
                Some(a) => {
                    let a = a.as_i64().or_else(|| a.get(0).and_then(Value::as_i64));
                    a == Some(-1) || a == Some(in_shape.len() as i64)
                }
            };
            if !last {
                return Err(layer_err(
                    d,
                    format!(
                        "only axis -1 is supported, got {}",
                        axis.unwrap_or(&Value::Null)
                    ),
                ));
            }
            // Variables in order: gamma (scale=True), beta (center=True), moving_mean, moving_variance.
            let mut vars = PerChannel::new(d, w, width);
            let (gamma, beta) = vars.scale_and_center()?;
            let moving_mean = vars.next("moving_mean")?;
            let moving_variance = vars.next("moving_variance")?;
            Layer::BatchNorm(BatchNorm {
                gamma,
                beta,
                moving_mean,
                moving_variance,
                epsilon: f32_opt(d, "epsilon", 1e-3),
            })
        }
        "LayerNormalization" => {
            let axis = d.config.get("axis");
            let a = axis.and_then(|a| a.as_i64().or_else(|| a.get(0).and_then(Value::as_i64)));
            let is_last = axis.is_none() || a == Some(-1) || a == Some(in_shape.len() as i64);
            let single = axis.and_then(Value::as_array).is_none_or(|v| v.len() == 1);
            if !is_last || !single || bool_opt(d, "rms_scaling", false) {
                return Err(layer_err(
                    d,
                    "only normalisation over the last axis (no rms_scaling) is supported",
                ));
            }
            let (gamma, beta) = PerChannel::new(d, w, width).scale_and_center()?;
            Layer::LayerNorm(LayerNorm {
                gamma,
                beta,
                epsilon: f32_opt(d, "epsilon", 1e-3),
            })
        }
        "Embedding" => {
            let vocab = d
                .config
                .get("input_dim")
                .and_then(Value::as_u64)
                .ok_or_else(|| layer_err(d, "no `input_dim`"))? as usize;
            let dim = d
                .config
                .get("output_dim")
                .and_then(Value::as_u64)
                .ok_or_else(|| layer_err(d, "no `output_dim`"))? as usize;
            let table = w.var(&d.name, path, 0, 0, "embeddings", &[vocab, dim])?;
            Layer::Embedding(Embedding {
                table,
                table_shape: vec![vocab, dim],
                mask_zero: bool_opt(d, "mask_zero", false),
            })
        }
        "LSTM" | "GRU" | "SimpleRNN" => {
            recurrent::recurrent(d, &in_shape, inputs.len(), w, keras3)?
        }
        "Bidirectional" => recurrent::bidirectional(d, &in_shape, inputs.len(), w, keras3)?,
        "TimeDistributed" => recurrent::time_distributed(d, &in_shape, w, keras3)?,
        "Masking" => recurrent::masking(d)?,
        "GlobalAveragePooling1D" | "GlobalAvgPool1D" => {
            recurrent::global_pool1d(d, PoolOp::Average)?
        }
        "GlobalMaxPooling1D" | "GlobalMaxPool1D" => recurrent::global_pool1d(d, PoolOp::Max)?,
        "RepeatVector" => {
            let n = d
                .config
                .get("n")
                .and_then(Value::as_u64)
                .ok_or_else(|| layer_err(d, "no `n`"))?;
            Layer::RepeatVector(n as usize)
        }
        "Permute" => {
            // Keras numbers the per-sample axes from 1.
            let dims = d
                .config
                .get("dims")
                .and_then(Value::as_array)
                .ok_or_else(|| layer_err(d, "no `dims`"))?;
            let perm = dims
                .iter()
                .map(|v| match v.as_u64() {
                    Some(a) if a >= 1 => Ok(a as usize - 1),
                    _ => Err(layer_err(d, format!("bad dims entry {v}"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Layer::Permute(perm)
        }
        c if crate::spatial::CLASSES.contains(&c) => {
            crate::spatial::map_layer(d, &in_shape, w, keras3)?
        }
        other => {
            return Err(KerasError::Unsupported {
                layer: d.name.clone(),
                class: other.to_owned(),
            });
        }
    })
}
