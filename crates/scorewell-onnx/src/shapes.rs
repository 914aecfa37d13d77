//! Sizes a graph asks for through the values of small int64 tensors. tract evaluates every op
//! whose inputs are constants while it types the graph, so a `ConstantOfShape` whose shape is
//! built from constants (often `Concat` of a batch size taken from the input's `Shape` and
//! stored numbers, as PyTorch exports write it) is allocated at load, before any row. A forged
//! number there would be an allocation of any size, which aborts the process rather than fail.
//! So the shape values are followed through the few ops that carry them, an unknown element
//! (such as the batch size) counting as 1, and an op that would need more elements than
//! [`MAX_ELEMENTS`] is refused first, naming the node.
//!
//! `Shape` gives the dims of a graph input or a stored tensor, so a shape made of the input's
//! declared dims is followed too (fuzzing found one that was not: an `Expand` to
//! `Concat(stored, Shape(input), stored)` asked for 4.8 GB at load). An `Expand`'s output
//! is the broadcast of its data's dims, where known, with the target shape.

use std::collections::HashMap;

use tract_onnx::pb::tensor_shape_proto::dimension;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto, type_proto};

use crate::check::node_name;
use crate::error::{OnnxError, Result};

/// The most elements one op may be asked to create from values known at load (64 MiB of f32,
/// as many as `scorewell_core::MAX_DECLARED_FEATURES`): a real graph makes its large tensors
/// from the rows, whose size is unknown here, not from stored numbers.
const MAX_ELEMENTS: u64 = scorewell_core::MAX_DECLARED_FEATURES as u64;

/// The longest int64 vector followed: shapes have a handful of elements.
const MAX_TRACKED: usize = 64;

/// `TensorProto.DataType.INT64`: how shapes, sizes and repeats are stored.
const INT64: i32 = 7;

/// Ops whose output size is the values (not the shape) of one input: `(op, that input)`.
/// For `Tile` the product is a lower bound of the output's size (`Expand` is checked with its
/// data's dims, in `check_node`).
const SIZED_BY_VALUES: &[(&str, usize)] = &[("ConstantOfShape", 0), ("Tile", 1), ("Resize", 3)];

/// An int64 vector whose length is known, some of whose elements may not be (`None`: computed
/// from the data, like the batch size).
type Values = Vec<Option<i64>>;

/// Refuses the first op of `graph` that would allocate more than [`MAX_ELEMENTS`] from values
/// known at load.
pub(crate) fn check_sized_ops(graph: &GraphProto) -> Result<()> {
    let mut known: HashMap<&str, Values> = HashMap::new();
    for t in &graph.initializer {
        if let Some(v) = tensor_values(t) {
            known.insert(t.name.as_str(), v);
        }
    }
    let mut dims = declared_dims(graph);
    for node in &graph.node {
        check_node(node, &known, &dims)?;
        if let (Some(v), Some(out)) = (propagate(node, &known, &dims), node.output.first()) {
            known.insert(out.as_str(), v);
        }
        if let (Some(d), Some(out)) = (output_dims(node, &known, &dims), node.output.first()) {
            dims.insert(out.as_str(), d);
        }
    }
    Ok(())
}

/// The dims of the graph's inputs (a named dim such as the batch size unknown) and of its
/// stored tensors.
fn declared_dims(graph: &GraphProto) -> HashMap<&str, Values> {
    let mut dims = HashMap::new();
    for input in &graph.input {
        let shape = input.r#type.as_ref().and_then(|t| match &t.value {
            Some(type_proto::Value::TensorType(t)) => t.shape.as_ref(),
            None => None,
        });
        if let Some(shape) = shape.filter(|s| s.dim.len() <= MAX_TRACKED) {
            let d = shape
                .dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect();
            dims.insert(input.name.as_str(), d);
        }
    }
    for t in graph
        .initializer
        .iter()
        .filter(|t| t.dims.len() <= MAX_TRACKED)
    {
        dims.insert(t.name.as_str(), t.dims.iter().map(|&d| Some(d)).collect());
    }
    dims
}

/// The output dims of the ops that make a tensor of a shape this module knows.
fn output_dims(
    node: &NodeProto,
    known: &HashMap<&str, Values>,
    dims: &HashMap<&str, Values>,
) -> Option<Values> {
    let input = |i: usize| node.input.get(i).filter(|n| !n.is_empty());
    match node.op_type.as_str() {
        "ConstantOfShape" => known.get(input(0)?.as_str()).cloned(),
        "Expand" => {
            let target = known.get(input(1)?.as_str())?;
            Some(broadcast(dims.get(input(0)?.as_str()), target))
        }
        "Identity" | "Cast" => dims.get(input(0)?.as_str()).cloned(),
        _ => None,
    }
}

/// Two shapes broadcast (right-aligned), an unknown dim of either side counting as 1.
fn broadcast(data: Option<&Values>, target: &Values) -> Values {
    let data = data.map_or(&[][..], Vec::as_slice);
    let n = data.len().max(target.len());
    let at = |v: &[Option<i64>], i: usize| {
        (i + v.len())
            .checked_sub(n)
            .and_then(|j| v.get(j).copied().flatten())
    };
    (0..n)
        .map(|i| match (at(data, i), at(target, i)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        })
        .collect()
}

/// A stored int64 scalar or vector, if it is one short enough to follow.
fn tensor_values(t: &TensorProto) -> Option<Values> {
    if t.data_type != INT64 || t.dims.len() > 1 {
        return None;
    }
    let values: Vec<i64> = if t.int64_data.is_empty() {
        t.raw_data
            .chunks_exact(8)
            .map(|w| i64::from_le_bytes(w.try_into().unwrap_or([0; 8])))
            .collect()
    } else {
        t.int64_data.clone()
    };
    (values.len() <= MAX_TRACKED).then(|| values.into_iter().map(Some).collect())
}

/// What `node` computes of the values it is given, for the ops that carry shapes.
fn propagate(
    node: &NodeProto,
    known: &HashMap<&str, Values>,
    dims: &HashMap<&str, Values>,
) -> Option<Values> {
    let input = |i: usize| {
        node.input
            .get(i)
            .filter(|n| !n.is_empty())
            .and_then(|n| known.get(n.as_str()))
    };
    match node.op_type.as_str() {
        // The dims of an input or stored tensor, `start..end` of them (opset 15).
        "Shape" => {
            let of = dims.get(node.input.first()?.as_str())?;
            let rank = of.len() as i64;
            let attr = |name: &str, default: i64| {
                let v = node
                    .attribute
                    .iter()
                    .find(|a| a.name == name)
                    .map_or(default, |a| a.i);
                (if v < 0 { v.saturating_add(rank) } else { v }).clamp(0, rank) as usize
            };
            let (start, end) = (attr("start", 0), attr("end", rank));
            Some(of.get(start..end.max(start))?.to_vec())
        }
        "Constant" => node.attribute.iter().find_map(|a| match a.name.as_str() {
            "value" => a.t.as_ref().and_then(tensor_values),
            "value_ints" => {
                (a.ints.len() <= MAX_TRACKED).then(|| a.ints.iter().map(|&v| Some(v)).collect())
            }
            "value_int" => Some(vec![Some(a.i)]),
            _ => None,
        }),
        // Same values, another shape or type.
        "Identity" | "Cast" | "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => input(0).cloned(),
        "Concat" => {
            let mut out = Values::new();
            for i in 0..node.input.len() {
                out.extend_from_slice(input(i)?);
            }
            (out.len() <= MAX_TRACKED).then_some(out)
        }
        // Indexing a vector: picked elements if the vector is known, else as many unknowns
        // as there are indices (a batch size taken out of `Shape`).
        "Gather" => {
            let indices = input(1)?;
            match input(0) {
                Some(data) => Some(
                    indices
                        .iter()
                        .map(|i| {
                            let i = (*i)?;
                            let at = if i < 0 {
                                i.checked_add(data.len() as i64)?
                            } else {
                                i
                            };
                            data.get(usize::try_from(at).ok()?).copied().flatten()
                        })
                        .collect(),
                ),
                None => Some(vec![None; indices.len()]),
            }
        }
        "Add" | "Sub" | "Mul" => {
            let (a, b) = (input(0)?, input(1)?);
            let n = a.len().max(b.len());
            if !(a.len() == n || a.len() == 1) || !(b.len() == n || b.len() == 1) {
                return None;
            }
            let at = |v: &Values, i: usize| if v.len() == 1 { v[0] } else { v[i] };
            Some(
                (0..n)
                    .map(|i| {
                        let (x, y) = (at(a, i)?, at(b, i)?);
                        match node.op_type.as_str() {
                            "Add" => x.checked_add(y),
                            "Sub" => x.checked_sub(y),
                            _ => x.checked_mul(y),
                        }
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// `values` as the errors write them, `?` for an unknown element.
fn show(values: &Values) -> String {
    values
        .iter()
        .map(|e| e.map_or_else(|| "?".to_owned(), |e| e.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fewest elements `values` as a shape (or repeats) can mean: unknown elements count as 1,
/// negative ones (refused before this is asked) as 0. `None` when it overflows 64 bits.
fn least_elements(values: &Values) -> Option<u64> {
    values.iter().try_fold(1u64, |n, v| {
        let v = v.map_or(1, |v| u64::try_from(v.max(0)).unwrap_or(0));
        n.checked_mul(v)
    })
}

fn check_node(
    node: &NodeProto,
    known: &HashMap<&str, Values>,
    dims: &HashMap<&str, Values>,
) -> Result<()> {
    let input_values = |at: usize| {
        node.input
            .get(at)
            .filter(|n| !n.is_empty())
            .and_then(|n| known.get(n.as_str()).map(|v| (n, v)))
    };
    // A shape, repeat count or size below zero is invalid ONNX, and tract does not refuse it:
    // it narrows the number, so a forged -34057748479 (a fuzzing finding) became 301989889
    // and an `Expand` asked for 14.5 GB. The bound below counts such an element as 0, so
    // negatives are refused first.
    let shape_input = match node.op_type.as_str() {
        "Expand" => Some(1),
        op => SIZED_BY_VALUES
            .iter()
            .find(|(name, _)| *name == op)
            .map(|&(_, at)| at),
    };
    if let Some((name, v)) = shape_input.and_then(input_values)
        && v.iter().flatten().any(|&e| e < 0)
    {
        return Err(OnnxError::Refused {
            node: node_name(node),
            op_type: node.op_type.clone(),
            reason: format!(
                "input `{name}` = [{}] holds a negative size, which ONNX does not allow",
                show(v)
            ),
        });
    }
    let asked = match node.op_type.as_str() {
        "Range" => {
            // Its length: ceil((limit - start) / delta), all three scalars.
            let scalar =
                |at| input_values(at).and_then(|(_, v)| (v.len() == 1).then(|| v[0]).flatten());
            let (Some(start), Some(limit), Some(delta)) = (scalar(0), scalar(1), scalar(2)) else {
                return Ok(());
            };
            let span = i128::from(limit) - i128::from(start);
            let delta = i128::from(delta);
            if delta == 0 {
                return Ok(());
            }
            let n = (span + delta - delta.signum()) / delta;
            Some((
                u64::try_from(n.max(0)).ok(),
                format!("start {start}, limit {limit}, delta {delta}"),
            ))
        }
        // The broadcast of the data's dims with the target: at least the target's size.
        "Expand" => input_values(1).map(|(name, target)| {
            let out = broadcast(
                node.input.first().and_then(|d| dims.get(d.as_str())),
                target,
            );
            let what = if out == *target {
                format!("input `{name}` = [{}]", show(target))
            } else {
                format!(
                    "input `{name}` = [{}], broadcast with the data's dims to [{}],",
                    show(target),
                    show(&out)
                )
            };
            (least_elements(&out), what)
        }),
        op => SIZED_BY_VALUES
            .iter()
            .find(|(name, _)| *name == op)
            .and_then(|&(_, at)| input_values(at))
            .map(|(name, v)| (least_elements(v), format!("input `{name}` = [{}]", show(v)))),
    };
    match asked {
        Some((Some(n), _)) if n <= MAX_ELEMENTS => Ok(()),
        Some((_, what)) => Err(OnnxError::Refused {
            node: node_name(node),
            op_type: node.op_type.clone(),
            reason: format!(
                "{what} asks for more than {MAX_ELEMENTS} elements, which would be allocated \
                 while the graph loads"
            ),
        }),
        None => Ok(()),
    }
}
