//! Keras recurrent layers and the layers around them that deal in timesteps: LSTM, GRU,
//! SimpleRNN, Bidirectional, TimeDistributed, Masking, GlobalAverage/MaxPooling1D.
//!
//! Options are read with the default Keras uses when a config leaves them out (Keras 3
//! `keras/src/layers/rnn/*.py`; tf.keras 2 writes every one of them): activation `tanh`,
//! recurrent_activation `sigmoid`, use_bias true, and GRU `reset_after` true for Keras 3 —
//! a Keras 2 config without the key predates the option (Keras < 2.1.3), whose GRU resets
//! before the product. Weights are the cell's `kernel`, `recurrent_kernel`, `bias` under
//! `<layer>/cell` (`<layer>/forward_layer/cell` and `backward_layer/cell` in a Bidirectional).

use serde_json::Value;

use scorewell_nn::{
    Activation, BiMerge, Bidirectional, Cell, GlobalPool1D, GraphBuilder, Layer, PoolOp, Recurrent,
};

use crate::config::LayerDesc;
use crate::error::KerasError;
use crate::layers::{activation, map_layer};
use crate::weights::Weights;

fn err(d: &LayerDesc, message: impl Into<String>) -> KerasError {
    KerasError::Layer {
        layer: d.name.clone(),
        class: d.class.clone(),
        message: message.into(),
    }
}

fn flag(d: &LayerDesc, key: &str, default: bool) -> bool {
    d.config
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// Refuses what a recurrent layer's call may take besides one sequence and its mask.
fn one_sequence(d: &LayerDesc, inputs: usize) -> Result<(), KerasError> {
    if inputs != 1 || d.tensor_kwargs.iter().any(|k| k != "mask") {
        return Err(err(
            d,
            "only a single input sequence is supported (no initial_state or constants)",
        ));
    }
    Ok(())
}

/// Options shared by a recurrent layer and a Bidirectional wrapper.
fn refuse_options(d: &LayerDesc) -> Result<(), KerasError> {
    if flag(d, "stateful", false) {
        return Err(err(
            d,
            "stateful=True is not supported (scores are per row)",
        ));
    }
    if flag(d, "return_state", false) {
        return Err(err(d, "return_state=True is not supported"));
    }
    if flag(d, "time_major", false) {
        return Err(err(d, "time_major=True is not supported"));
    }
    Ok(())
}

/// A layer described by `{"class_name": ..., "config": {...}}` inside a wrapper's config.
fn inner(d: &LayerDesc, key: &str, weights_path: String) -> Result<LayerDesc, KerasError> {
    let v = d
        .config
        .get(key)
        .ok_or_else(|| err(d, format!("no `{key}` in the config")))?;
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| err(d, format!("`{key}` has no class_name")))?;
    let config = v.get("config").cloned().unwrap_or(Value::Null);
    let name = config.get("name").and_then(Value::as_str).unwrap_or(class);
    Ok(LayerDesc {
        class: class.to_owned(),
        name: format!("{}/{name}", d.name),
        config,
        weights_path,
        calls: Vec::new(),
        tensor_kwargs: Vec::new(),
    })
}

/// An LSTM, GRU or SimpleRNN whose cell variables are under `path`; `flat` is the position of
/// its first variable in the top-level layer's weight list.
fn cell_layer(
    d: &LayerDesc,
    width: usize,
    w: &Weights,
    path: &str,
    flat: usize,
    keras3: bool,
) -> Result<Recurrent, KerasError> {
    refuse_options(d)?;
    let cell = match d.class.as_str() {
        "LSTM" => Cell::Lstm,
        "GRU" => Cell::Gru {
            reset_after: flag(d, "reset_after", keras3),
        },
        "SimpleRNN" => Cell::SimpleRnn,
        other => {
            return Err(KerasError::Unsupported {
                layer: d.name.clone(),
                class: other.to_owned(),
            });
        }
    };
    let units = d
        .config
        .get("units")
        .and_then(Value::as_u64)
        .and_then(|u| usize::try_from(u).ok())
        .filter(|&u| u > 0)
        .ok_or_else(|| err(d, "no positive `units`"))?;
    let g = cell
        .gates()
        .checked_mul(units)
        .ok_or_else(|| err(d, "units overflow"))?;
    let act = |key: &str, default: Activation| match d.config.get(key) {
        None => Ok(default),
        v => activation(d, v, keras3),
    };
    let kernel = w.var(&d.name, path, 0, flat, "kernel", &[width, g])?;
    let recurrent_kernel = w.var(&d.name, path, 1, flat + 1, "recurrent_kernel", &[units, g])?;
    let (bias, recurrent_bias) = if !flag(d, "use_bias", true) {
        (None, None)
    } else if cell == (Cell::Gru { reset_after: true }) {
        // (2, 3 units): the input row, then the recurrent row.
        let mut b = w.var(&d.name, path, 2, flat + 2, "bias", &[2, g])?;
        let rb = b.split_off(g);
        (Some(b), Some(rb))
    } else {
        (Some(w.var(&d.name, path, 2, flat + 2, "bias", &[g])?), None)
    };
    Ok(Recurrent {
        cell,
        units,
        kernel,
        recurrent_kernel,
        bias,
        recurrent_bias,
        activation: act("activation", Activation::Tanh)?,
        recurrent_activation: act("recurrent_activation", Activation::Sigmoid)?,
        return_sequences: flag(d, "return_sequences", false),
        go_backwards: flag(d, "go_backwards", false),
        zero_output_for_mask: flag(d, "zero_output_for_mask", false),
    })
}

fn width(d: &LayerDesc, in_shape: &[usize]) -> Result<usize, KerasError> {
    match in_shape {
        [_, w] => Ok(*w),
        other => Err(err(
            d,
            format!("takes (timesteps, features) per sample, got {other:?}"),
        )),
    }
}

/// LSTM, GRU, SimpleRNN.
pub(crate) fn recurrent(
    d: &LayerDesc,
    in_shape: &[usize],
    inputs: usize,
    w: &Weights,
    keras3: bool,
) -> Result<Layer, KerasError> {
    one_sequence(d, inputs)?;
    let width = width(d, in_shape)?;
    let path = format!("{}/cell", d.weights_path);
    Ok(Layer::Recurrent(Box::new(cell_layer(
        d, width, w, &path, 0, keras3,
    )?)))
}

/// Bidirectional: the backward layer is the config's `backward_layer`, else the forward one
/// with `go_backwards` flipped (Keras 3 sets it true, tf.keras 2 negates it; a valid forward
/// layer has it false, so both agree).
pub(crate) fn bidirectional(
    d: &LayerDesc,
    in_shape: &[usize],
    inputs: usize,
    w: &Weights,
    keras3: bool,
) -> Result<Layer, KerasError> {
    one_sequence(d, inputs)?;
    refuse_options(d)?;
    let merge = match d.config.get("merge_mode") {
        None => BiMerge::Concat,
        Some(Value::String(m)) => match m.as_str() {
            "concat" => BiMerge::Concat,
            "sum" => BiMerge::Sum,
            "mul" => BiMerge::Mul,
            "ave" => BiMerge::Ave,
            other => return Err(err(d, format!("unknown merge_mode `{other}`"))),
        },
        Some(_) => {
            return Err(err(
                d,
                "merge_mode None (two separate outputs) is not supported",
            ));
        }
    };
    let width = width(d, in_shape)?;
    let fwd = inner(d, "layer", format!("{}/forward_layer", d.weights_path))?;
    let bwd = match d.config.get("backward_layer") {
        Some(v) if !v.is_null() => inner(
            d,
            "backward_layer",
            format!("{}/backward_layer", d.weights_path),
        )?,
        _ => {
            let mut b = inner(d, "layer", format!("{}/backward_layer", d.weights_path))?;
            let back = !flag(&b, "go_backwards", false);
            if let Some(c) = b.config.as_object_mut() {
                c.insert("go_backwards".into(), Value::Bool(back));
            }
            b
        }
    };
    let mut forward = cell_layer(
        &fwd,
        width,
        w,
        &format!("{}/cell", fwd.weights_path),
        0,
        keras3,
    )?;
    let n_forward = 2 + usize::from(forward.bias.is_some());
    let mut backward = cell_layer(
        &bwd,
        width,
        w,
        &format!("{}/cell", bwd.weights_path),
        n_forward,
        keras3,
    )?;
    if forward.go_backwards == backward.go_backwards {
        return Err(err(
            d,
            "the forward and backward layers must differ in go_backwards",
        ));
    }
    // bidirectional.py: `force_zero_output_for_mask` on both directions.
    forward.zero_output_for_mask = forward.return_sequences;
    backward.zero_output_for_mask = backward.return_sequences;
    Ok(Layer::Bidirectional(Box::new(Bidirectional {
        forward,
        backward,
        merge,
    })))
}

/// TimeDistributed: the inner layer becomes a one-layer graph over one timestep.
pub(crate) fn time_distributed(
    d: &LayerDesc,
    in_shape: &[usize],
    w: &Weights,
    keras3: bool,
) -> Result<Layer, KerasError> {
    let [_, step @ ..] = in_shape else {
        return Err(err(d, "needs (timesteps, ...) input"));
    };
    let layer = inner(d, "layer", format!("{}/layer", d.weights_path))?;
    let mut g = GraphBuilder::new();
    let input = g.add_input(&format!("{}/input", d.name), step.to_vec())?;
    let mapped = map_layer(&layer, &g, &[input], w, keras3)?;
    let node = g.add_layer(&layer.name, mapped, &[input])?;
    g.add_output(&layer.name, node)?;
    Ok(Layer::TimeDistributed(Box::new(g.build()?)))
}

/// Masking(mask_value).
pub(crate) fn masking(d: &LayerDesc) -> Result<Layer, KerasError> {
    match d.config.get("mask_value") {
        None => Ok(Layer::Masking(0.0)),
        Some(v) => v
            .as_f64()
            .map(|v| Layer::Masking(v as f32))
            .ok_or_else(|| err(d, format!("mask_value {v} is not a number"))),
    }
}

/// GlobalAveragePooling1D / GlobalMaxPooling1D.
pub(crate) fn global_pool1d(d: &LayerDesc, op: PoolOp) -> Result<Layer, KerasError> {
    let channels_first = match d.config.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => false,
        Some("channels_first") => true,
        Some(other) => return Err(err(d, format!("unknown data_format `{other}`"))),
    };
    Ok(Layer::GlobalPool1D(GlobalPool1D {
        op,
        channels_first,
        keepdims: flag(d, "keepdims", false),
    }))
}
