//! The graph scan done before tract sees a model: refuse what tract cannot load (naming the
//! op) and what it loads but computes differently from ONNX Runtime (naming the node and the
//! attribute). Reading tract 0.23's `onnx/src/ops/rec/*.rs`: recurrent ops hard-code their
//! activations, infer the direction count from `W`'s shape (so `direction="reverse"` runs
//! forwards), do not parse `clip` or `input_forget`, and accept `sequence_lens` only when it
//! is a constant equal to the full length (research note keras_tf.md §3).

use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

use crate::error::{OnnxError, Result};

/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: i32 = 1;

/// Checks every node of `model`, subgraphs (If/Scan bodies) included.
pub(crate) fn check_model(model: &ModelProto, known_op: &dyn Fn(&str) -> bool) -> Result<()> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    check_graph(graph, known_op)
}

fn check_graph(graph: &GraphProto, known_op: &dyn Fn(&str) -> bool) -> Result<()> {
    // Weights stored in side files: the model arrives as bytes, so there is no directory to
    // read them from, and reading paths named inside an untrusted file is not wanted anyway.
    if let Some(t) = graph
        .initializer
        .iter()
        .find(|t| t.data_location == Some(EXTERNAL))
    {
        return Err(OnnxError::Interface {
            kind: "initializer",
            name: t.name.clone(),
            reason: "its data is stored in an external file; save the model with the weights \
                     inside the .onnx file (onnx.save_model(..., save_as_external_data=False))"
                .into(),
        });
    }
    for t in &graph.initializer {
        if let Some(reason) = unbacked_dims(t) {
            return Err(OnnxError::Interface {
                kind: "initializer",
                name: t.name.clone(),
                reason,
            });
        }
    }
    crate::shapes::check_sized_ops(graph)?;
    for node in &graph.node {
        for attr in &node.attribute {
            if let Some(reason) = attr.t.iter().chain(&attr.tensors).find_map(unbacked_dims) {
                return Err(OnnxError::Refused {
                    node: node_name(node),
                    op_type: node.op_type.clone(),
                    reason: format!("attribute `{}`: {reason}", attr.name),
                });
            }
        }
        if !known_op(&node.op_type) {
            return Err(OnnxError::UnsupportedOp {
                node: node_name(node),
                op_type: node.op_type.clone(),
                domain: if node.domain.is_empty() || node.domain == "ai.onnx" {
                    String::new()
                } else {
                    format!(" (domain `{}`)", node.domain)
                },
            });
        }
        if let Some(defaults) = recurrent_defaults(&node.op_type) {
            check_recurrent(node, defaults, graph)?;
        }
        if node.op_type == "Transpose" {
            check_permutation(node)?;
        }
        for attr in &node.attribute {
            for sub in attr.g.iter().chain(&attr.graphs) {
                check_graph(sub, known_op)?;
            }
        }
    }
    Ok(())
}

/// A `Transpose`'s `perm` must name each axis once. tract splits it into cycles, and on a
/// repeated or out-of-range axis that loop never ended, growing a vector until memory ran out
/// (found by fuzzing).
fn check_permutation(node: &NodeProto) -> Result<()> {
    let Some(perm) = node.attribute.iter().find(|a| a.name == "perm") else {
        return Ok(());
    };
    let n = perm.ints.len();
    let mut seen = vec![false; n];
    let all_once = perm.ints.iter().all(|&axis| {
        usize::try_from(axis)
            .ok()
            .filter(|&a| a < n)
            .is_some_and(|a| !std::mem::replace(&mut seen[a], true))
    });
    if all_once {
        return Ok(());
    }
    Err(OnnxError::Refused {
        node: node_name(node),
        op_type: node.op_type.clone(),
        reason: format!(
            "attribute `perm` = {:?} does not list each of the axes 0..{n} once",
            perm.ints
        ),
    })
}

/// Why a tensor's `dims` declare more elements than it stores, if they do. Every element takes
/// at least one typed value or half a byte of `raw_data` (4-bit types pack two), so a product
/// past that is refused before the ONNX engine sizes a tensor from the dims.
fn unbacked_dims(t: &TensorProto) -> Option<String> {
    if t.data_location == Some(EXTERNAL) {
        // An initializer's side file is refused above; nothing here holds its bytes.
        return None;
    }
    let declared = t.dims.iter().try_fold(1u64, |n, &d| {
        u64::try_from(d).ok().and_then(|d| n.checked_mul(d))
    });
    let typed = [
        t.float_data.len(),
        t.int32_data.len(),
        t.string_data.len(),
        t.int64_data.len(),
        t.double_data.len(),
        t.uint64_data.len(),
    ]
    .iter()
    .sum::<usize>() as u64;
    let raw = t.raw_data.len() as u64;
    let held = typed.saturating_add(raw.saturating_mul(2));
    match declared {
        Some(n) if n <= held => None,
        Some(n) => Some(format!(
            "its dims {:?} declare {n} elements, but it stores {raw} bytes of raw data and {typed} typed values",
            t.dims
        )),
        None => Some(format!(
            "its dims {:?} are negative or overflow 64 bits",
            t.dims
        )),
    }
}

/// The name tract gives a node: its own, else its first output's.
pub(crate) fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else {
        node.output.first().cloned().unwrap_or_default()
    }
}

/// The activations ONNX applies per direction when a recurrent node has no `activations`
/// attribute — the only ones tract computes.
fn recurrent_defaults(op_type: &str) -> Option<&'static [&'static str]> {
    match op_type {
        "LSTM" => Some(&["Sigmoid", "Tanh", "Tanh"]),
        "GRU" => Some(&["Sigmoid", "Tanh"]),
        "RNN" => Some(&["Tanh"]),
        _ => None,
    }
}

fn check_recurrent(node: &NodeProto, defaults: &[&str], graph: &GraphProto) -> Result<()> {
    let refuse = |reason: String| OnnxError::Refused {
        node: node_name(node),
        op_type: node.op_type.clone(),
        reason,
    };
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let text = |a: &AttributeProto| String::from_utf8_lossy(&a.s).into_owned();

    // "bidirectional" is right by construction: `W` then has two directions and tract runs the
    // second one backwards (the lstm_bidirectional conformance case checks it against ONNX
    // Runtime). A single-direction "reverse" node is indistinguishable from a forward one there.
    if let Some(direction) = attr("direction").map(text)
        && direction != "forward"
        && direction != "bidirectional"
    {
        return Err(refuse(format!(
            "direction=\"{direction}\" is not supported: the ONNX engine (tract) ignores the \
             direction attribute and would run the sequence forwards"
        )));
    }
    if let Some(a) = attr("activations") {
        let given: Vec<String> = a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        let is_default = given.len() == defaults.len()
            && given
                .iter()
                .zip(defaults)
                .all(|(g, d)| g.eq_ignore_ascii_case(d));
        if !is_default {
            return Err(refuse(format!(
                "activations {given:?} are not supported: the ONNX engine (tract) always \
                 computes the default {defaults:?}"
            )));
        }
    }
    if attr("clip").is_some() {
        return Err(refuse(
            "the clip attribute is not supported: the ONNX engine (tract) does not clip cell \
             inputs"
                .into(),
        ));
    }
    if attr("input_forget").is_some_and(|a| a.i != 0) {
        return Err(refuse(
            "input_forget=1 (coupled input and forget gates) is not supported by the ONNX \
             engine (tract)"
                .into(),
        ));
    }
    // Input 4 is `sequence_lens` for LSTM, GRU and RNN alike.
    if let Some(seq) = node.input.get(4).filter(|s| !s.is_empty()) {
        let Some(init) = graph.initializer.iter().find(|t| &t.name == seq) else {
            return Err(refuse(format!(
                "sequence_lens input `{seq}` is not an initializer (it is a graph input or \
                 computed from the data, as for masked sequences): the ONNX engine (tract) \
                 only runs every sequence to its full length"
            )));
        };
        let lens: Vec<i64> = if !init.int32_data.is_empty() {
            init.int32_data.iter().map(|&v| i64::from(v)).collect()
        } else {
            init.raw_data
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        };
        if lens.windows(2).any(|w| w[0] != w[1]) {
            return Err(refuse(format!(
                "sequence_lens `{seq}` holds different lengths {lens:?}: the ONNX engine \
                 (tract) only runs every sequence to its full length"
            )));
        }
        // A uniform constant that is not the full length is refused by tract itself when the
        // graph is typed; that error names the node too.
    }
    Ok(())
}
