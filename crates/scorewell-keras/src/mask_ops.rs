//! Keras 3 writes the masks of a Functional model into its config: `Embedding(mask_zero=True)`
//! followed by an LSTM stores a `NotEqual` operation (module `keras.src.ops.numpy`) and passes
//! its output to the LSTM as the `mask` keyword argument; merges and Concatenate add
//! `LogicalOr`, `ExpandDims`, `OnesLike`, `Any`, ... nodes. They are exactly the layers'
//! `compute_mask`, which `scorewell-nn` derives itself from the graph (Keras 2 files and
//! Sequential models record no masks at all), so operations that only feed other such
//! operations or `mask` arguments are dropped here. One whose output a layer reads as data
//! stays, and is refused by name like any other unsupported class.

use serde_json::Value;

use scorewell_nn::{GraphBuilder, NodeId};

use crate::config::LayerDesc;
use crate::error::KerasError;

/// The operations Keras' `compute_mask` methods use.
const MASK_OPS: &[&str] = &[
    "NotEqual",
    "Equal",
    "Any",
    "All",
    "LogicalOr",
    "LogicalAnd",
    "LogicalNot",
    "ExpandDims",
    "Squeeze",
    "ZerosLike",
    "OnesLike",
    "Concatenate",
    "Cast",
    "BroadcastTo",
];

/// Whether a config entry is a Keras 3 operation (not a layer).
pub(crate) fn is_op(layer: &Value) -> bool {
    layer
        .get("module")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("keras.src.ops"))
}

/// Removes the mask operations among `ops` (indices into `layers`) that no layer reads as data.
pub(crate) fn drop_mask_ops(layers: &mut Vec<LayerDesc>, ops: &[usize]) {
    let mut drop: Vec<bool> = vec![false; layers.len()];
    for &i in ops {
        if MASK_OPS.contains(&layers[i].class.as_str()) {
            drop[i] = true;
        }
    }
    // An operation read as data by something kept is kept too (and refused later), and so on
    // up the chain.
    loop {
        let mut changed = false;
        for i in 0..layers.len() {
            if drop[i] {
                continue;
            }
            for call in &layers[i].calls {
                for (name, _) in call {
                    if let Some(j) = layers.iter().position(|l| &l.name == name)
                        && drop[j]
                    {
                        drop[j] = false;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut i = 0;
    layers.retain(|_| {
        let keep = !drop[i];
        i += 1;
        keep
    });
}

/// A layer that Keras 3 called with a `mask` argument must see a mask in the graph
/// `scorewell-nn` built: otherwise the mask came from somewhere the rules do not follow (a
/// mask passed by hand), and scoring without it would differ.
pub(crate) fn check_explicit_mask(
    d: &LayerDesc,
    g: &GraphBuilder,
    inputs: &[NodeId],
) -> Result<(), KerasError> {
    let explicit = d.tensor_kwargs.iter().any(|k| k == "mask");
    if explicit && !inputs.first().is_some_and(|&i| g.masked(i)) {
        return Err(KerasError::Layer {
            layer: d.name.clone(),
            class: d.class.clone(),
            message: "is called with a mask that does not come from Embedding(mask_zero) or \
                      Masking through mask-carrying layers; such a mask is not supported"
                .into(),
        });
    }
    Ok(())
}
