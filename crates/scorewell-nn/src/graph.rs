use rayon::prelude::*;

use crate::error::NnError;
use crate::fold::{self, Fold};
use crate::gemm::Packed;
use crate::layer::Layer;
use crate::mask::{self, MaskRules};
use crate::ops;
use crate::recurrent::Source;
use crate::tensor::Tensor;
use crate::time_distributed;

/// A node handed out by [`GraphBuilder`]; only valid for the builder that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(usize);

#[derive(Debug, Clone, PartialEq)]
struct Node {
    name: String,
    /// The output carries a Keras timestep mask (see `mask.rs`).
    masked: bool,
    /// `None` for a graph input.
    layer: Option<Layer>,
    inputs: Vec<usize>,
    /// Per-sample shape (no batch axis).
    shape: Vec<usize>,
}

/// Builds a [`Graph`] node by node; each node's shape and weights are checked when it is added.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    mask_rules: MaskRules,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    outputs: Vec<(String, usize)>,
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn check_name(&self, name: &str) -> Result<(), NnError> {
        if self.nodes.iter().any(|n| n.name == name) {
            Err(NnError::DuplicateName(name.to_owned()))
        } else {
            Ok(())
        }
    }

    /// The per-sample shape of a node already added (frontends size weights from it).
    pub fn shape(&self, NodeId(node): NodeId) -> Option<&[usize]> {
        self.nodes.get(node).map(|n| n.shape.as_slice())
    }

    /// Which Keras version's mask rules the layers added from now on follow (Keras 3 by
    /// default; they differ for merges).
    pub fn set_mask_rules(&mut self, rules: MaskRules) {
        self.mask_rules = rules;
    }

    /// Whether a node's output carries a Keras timestep mask.
    pub fn masked(&self, NodeId(node): NodeId) -> bool {
        self.nodes.get(node).is_some_and(|n| n.masked)
    }

    /// Declares a graph input with a per-sample `shape`.
    pub fn add_input(&mut self, name: &str, shape: Vec<usize>) -> Result<NodeId, NnError> {
        self.check_name(name)?;
        let id = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_owned(),
            masked: false,
            layer: None,
            inputs: Vec::new(),
            shape,
        });
        self.inputs.push(id);
        Ok(NodeId(id))
    }

    /// Adds a layer reading `inputs` (in order) and returns its node.
    pub fn add_layer(
        &mut self,
        name: &str,
        layer: Layer,
        inputs: &[NodeId],
    ) -> Result<NodeId, NnError> {
        self.check_name(name)?;
        let mut shapes = Vec::with_capacity(inputs.len());
        let mut masks = Vec::with_capacity(inputs.len());
        for &NodeId(i) in inputs {
            let node = self.nodes.get(i).ok_or_else(|| NnError::UnknownNode {
                layer: name.to_owned(),
                node: i,
            })?;
            shapes.push(node.shape.as_slice());
            masks.push(node.masked);
        }
        let shape = layer.output_shape(name, &shapes)?;
        let masked = mask::output_masked(self.mask_rules, &layer, name, &masks, &shapes, &shape)?;
        let id = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_owned(),
            masked,
            layer: Some(layer),
            inputs: inputs.iter().map(|n| n.0).collect(),
            shape,
        });
        Ok(NodeId(id))
    }

    /// Marks `node` as a graph output called `name`.
    pub fn add_output(&mut self, name: &str, NodeId(node): NodeId) -> Result<(), NnError> {
        if node >= self.nodes.len() {
            return Err(NnError::UnknownNode {
                layer: name.to_owned(),
                node,
            });
        }
        if self.outputs.iter().any(|(n, _)| n == name) {
            return Err(NnError::DuplicateName(name.to_owned()));
        }
        self.outputs.push((name.to_owned(), node));
        Ok(())
    }

    /// Finishes the graph.
    pub fn build(self) -> Result<Graph, NnError> {
        if self.outputs.is_empty() {
            return Err(NnError::NoOutputs);
        }
        // The last node that reads each value, so evaluation can drop (or reuse in place) a
        // value once nothing later needs it; outputs are kept to the end.
        let mut last_use = vec![0usize; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for &j in &n.inputs {
                last_use[j] = i;
            }
        }
        for &(_, o) in &self.outputs {
            last_use[o] = usize::MAX;
        }
        // An Embedding read only by a recurrent layer is folded into it (see `fold.rs`).
        let mut readers = vec![0usize; self.nodes.len()];
        self.nodes
            .iter()
            .flat_map(|n| &n.inputs)
            .for_each(|&j| readers[j] += 1);
        let mut folds = vec![None; self.nodes.len()];
        let mut folded = vec![false; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            let (Some(layer), Some(&j)) = (&n.layer, n.inputs.first()) else {
                continue;
            };
            if readers[j] != 1 || last_use[j] != i {
                continue;
            }
            if let Some(emb) = &self.nodes[j].layer
                && let Some(f) = fold::plan(emb, layer)
            {
                folds[i] = Some(f);
                folded[j] = true;
            }
        }
        // Rows per pass: enough that the largest per-sample value of a chunk fits in about
        // 1 MiB, so a large batch runs layer after layer on cache-resident buffers.
        let widest = self
            .nodes
            .iter()
            .map(|n| n.shape.iter().product::<usize>())
            .max()
            .unwrap_or(1);
        let chunk_rows = (CHUNK_VALUES / widest.max(1)).max(1);
        // Dense and convolution kernels are packed for `gemm.rs` once, here; the row-major copy
        // is dropped so the weights are held once.
        let mut nodes = self.nodes;
        let packed = nodes
            .iter_mut()
            .map(|n| match &mut n.layer {
                Some(Layer::Dense(d)) => {
                    let (depth, units) = (d.kernel_shape[0], d.kernel_shape[1]);
                    let p = Packed::new(&d.kernel, depth, units);
                    d.kernel = Vec::new();
                    vec![p]
                }
                Some(Layer::Conv(c)) => {
                    let p = c.pack();
                    c.kernel = Vec::new();
                    p
                }
                _ => Vec::new(),
            })
            .collect();
        Ok(Graph {
            mask_rules: self.mask_rules,
            chunk_rows,
            nodes,
            packed,
            inputs: self.inputs,
            outputs: self.outputs,
            last_use,
            folds,
            folded,
        })
    }
}

/// A validated network: nodes in topological order with resolved per-sample shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    mask_rules: MaskRules,
    nodes: Vec<Node>,
    inputs: Vec<usize>,
    outputs: Vec<(String, usize)>,
    last_use: Vec<usize>,
    /// Per node: the folded input projection of a recurrent layer whose Embedding was folded.
    folds: Vec<Option<Fold>>,
    /// Per node: an Embedding whose value is its (validated) ids, for the fold that reads it.
    folded: Vec<bool>,
    /// Per node: a Dense layer's kernel, or a convolution's per group, packed (the layer's own
    /// `kernel` is emptied).
    packed: Vec<Vec<Packed>>,
    chunk_rows: usize,
}

/// The number of values the widest layer output of one chunk of rows may hold (1 MiB of f32).
const CHUNK_VALUES: usize = 1 << 18;

impl Graph {
    /// The graph inputs in declaration order: name and per-sample shape.
    pub fn inputs(&self) -> impl Iterator<Item = (&str, &[usize])> {
        self.inputs
            .iter()
            .map(|&i| (self.nodes[i].name.as_str(), self.nodes[i].shape.as_slice()))
    }

    /// The graph outputs in declaration order: name and per-sample shape.
    pub fn outputs(&self) -> impl Iterator<Item = (&str, &[usize])> {
        self.outputs
            .iter()
            .map(|(n, i)| (n.as_str(), self.nodes[*i].shape.as_slice()))
    }

    /// Every layer: name, kind and per-sample output shape, in evaluation order.
    pub fn layers(&self) -> impl Iterator<Item = (&str, &'static str, &[usize])> {
        self.nodes.iter().filter_map(|n| {
            n.layer
                .as_ref()
                .map(|l| (n.name.as_str(), l.kind(), n.shape.as_slice()))
        })
    }

    /// The number of weights (scalars) the graph holds.
    pub fn parameter_count(&self) -> usize {
        let len = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, Vec::len);
        self.nodes
            .iter()
            .filter_map(|n| n.layer.as_ref())
            .map(|l| match l {
                Layer::Dense(d) => d.kernel_shape.iter().product::<usize>() + len(&d.bias),
                Layer::BatchNorm(b) => {
                    len(&b.gamma) + len(&b.beta) + b.moving_mean.len() + b.moving_variance.len()
                }
                Layer::LayerNorm(n) => len(&n.gamma) + len(&n.beta),
                Layer::Embedding(e) => e.table.len(),
                Layer::Recurrent(r) => r.parameter_count(),
                Layer::Bidirectional(b) => {
                    b.forward.parameter_count() + b.backward.parameter_count()
                }
                Layer::TimeDistributed(g) => g.parameter_count(),
                Layer::Conv(c) => c.kernel_shape.iter().product::<usize>() + len(&c.bias),
                _ => 0,
            })
            .sum()
    }

    /// Evaluates a batch. `inputs` are in [`Graph::inputs`] order, each `batch × per-sample
    /// shape`; the result holds one tensor per output, in [`Graph::outputs`] order.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, NnError> {
        let batch = inputs.first().map_or(0, Tensor::batch);
        // Inputs that do not fit go straight to `run_rows`, which says why.
        let fits = inputs.len() == self.inputs.len()
            && inputs.iter().zip(&self.inputs).all(|(t, &n)| {
                t.shape().first() == Some(&batch) && t.shape()[1..] == self.nodes[n].shape[..]
            });
        if batch <= self.chunk_rows || !fits {
            return self.run_rows(inputs);
        }
        // A large batch runs in chunks of rows, in parallel on rayon's pool (the caller's
        // thread count); the outputs are concatenated in row order.
        let chunks: Vec<Vec<Tensor>> = (0..batch)
            .step_by(self.chunk_rows)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let rows = self.chunk_rows.min(batch - start);
                let part = inputs
                    .iter()
                    .map(|t| {
                        let per = t.data().len() / batch;
                        let mut shape = t.shape().to_vec();
                        shape[0] = rows;
                        let data = t.data()[start * per..(start + rows) * per].to_vec();
                        Tensor::from_parts(shape, data)
                    })
                    .collect();
                self.run_rows(part)
            })
            .collect::<Result<_, _>>()?;
        let mut outputs: Vec<Vec<f32>> = self
            .outputs
            .iter()
            .map(|&(_, o)| {
                Vec::with_capacity(batch * self.nodes[o].shape.iter().product::<usize>())
            })
            .collect();
        for chunk in chunks {
            for (all, t) in outputs.iter_mut().zip(chunk) {
                all.extend_from_slice(t.data());
            }
        }
        Ok(self
            .outputs
            .iter()
            .zip(outputs)
            .map(|(&(_, o), data)| {
                let mut shape = vec![batch];
                shape.extend_from_slice(&self.nodes[o].shape);
                Tensor::from_parts(shape, data)
            })
            .collect())
    }

    /// Evaluates a batch in one pass, every layer over all rows.
    fn run_rows(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, NnError> {
        if inputs.len() != self.inputs.len() {
            return Err(NnError::Input {
                input: self.inputs().map(|(n, _)| n).collect::<Vec<_>>().join(", "),
                message: format!(
                    "the graph takes {} input(s), got {}",
                    self.inputs.len(),
                    inputs.len()
                ),
            });
        }
        let batch = inputs.first().map_or(0, Tensor::batch);
        let mut values: Vec<Option<Vec<f32>>> = vec![None; self.nodes.len()];
        let mut masks: Vec<Option<Vec<bool>>> = vec![None; self.nodes.len()];
        for (&node, t) in self.inputs.iter().zip(inputs) {
            let n = &self.nodes[node];
            if t.shape().first() != Some(&batch) || t.shape()[1..] != n.shape[..] {
                return Err(NnError::Input {
                    input: n.name.clone(),
                    message: format!(
                        "expected shape (batch={batch}, {:?}), got {:?}",
                        n.shape,
                        t.shape()
                    ),
                });
            }
            values[node] = Some(t.into_data());
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(layer) = &node.layer else { continue };
            // The mask is made before the layer runs, from inputs it may consume in place.
            if node.masked {
                let in_masks: Vec<Option<&[bool]>> =
                    node.inputs.iter().map(|&j| masks[j].as_deref()).collect();
                let shapes: Vec<&[usize]> = node
                    .inputs
                    .iter()
                    .map(|&j| self.nodes[j].shape.as_slice())
                    .collect();
                let first = values[node.inputs[0]].as_deref().unwrap_or_default();
                masks[i] = Some(mask::output_mask(
                    self.mask_rules,
                    layer,
                    &in_masks,
                    &shapes,
                    batch,
                    first,
                ));
            }
            let out = self.eval(
                i,
                node,
                layer,
                &mut values,
                masks[node.inputs[0]].as_deref(),
                batch,
            )?;
            values[i] = Some(out);
            // Drop inputs nothing later reads.
            for &j in &node.inputs {
                if self.last_use[j] == i {
                    values[j] = None;
                    masks[j] = None;
                }
            }
        }
        self.outputs
            .iter()
            .map(|&(_, o)| {
                let mut shape = vec![batch];
                shape.extend_from_slice(&self.nodes[o].shape);
                // Evaluation is over, so a node listed once among the outputs is moved out, not copied.
                let data = if self.outputs.iter().filter(|&&(_, p)| p == o).count() == 1 {
                    values[o].take().unwrap_or_default()
                } else {
                    values[o].clone().unwrap_or_default()
                };
                Ok(Tensor::from_parts(shape, data))
            })
            .collect()
    }

    fn eval(
        &self,
        i: usize,
        node: &Node,
        layer: &Layer,
        values: &mut [Option<Vec<f32>>],
        mask: Option<&[bool]>,
        batch: usize,
    ) -> Result<Vec<f32>, NnError> {
        let first = node.inputs[0];
        let in_width = self.nodes[first].shape.last().copied().unwrap_or(1);
        // A unary layer may work in place on its input when it is the input's last reader.
        let owned = |values: &mut [Option<Vec<f32>>]| -> Vec<f32> {
            if self.last_use[first] == i {
                values[first].take().unwrap_or_default()
            } else {
                values[first].clone().unwrap_or_default()
            }
        };
        let borrowed = |values: &[Option<Vec<f32>>], j: usize| -> Vec<f32> {
            values[j].clone().unwrap_or_default()
        };
        Ok(match layer {
            Layer::Dense(d) => {
                let x = values[first].as_deref().unwrap_or_default();
                // `build` packs every Dense node; this is its invariant, not an input check.
                let [kernel] = self.packed[i].as_slice() else {
                    return Err(NnError::Shape {
                        layer: node.name.clone(),
                        message: "the Dense kernel was not prepared".into(),
                    });
                };
                ops::dense(d, kernel, x)
            }
            Layer::Activation(a) => {
                let mut x = owned(values);
                a.apply(&mut x, in_width);
                x
            }
            Layer::Identity | Layer::Flatten | Layer::Reshape(_) => owned(values),
            Layer::BatchNorm(bn) => {
                let mut x = owned(values);
                ops::batch_norm(bn, &mut x, in_width);
                x
            }
            Layer::LayerNorm(ln) => {
                let mut x = owned(values);
                ops::layer_norm(ln, &mut x, in_width);
                x
            }
            Layer::RepeatVector(n) => {
                let x = values[first].as_deref().unwrap_or_default();
                ops::repeat_vector(*n, x, in_width)
            }
            Layer::Permute(perm) => {
                let x = values[first].as_deref().unwrap_or_default();
                ops::permute(perm, x, &self.nodes[first].shape)
            }
            Layer::Embedding(e) if self.folded[i] => {
                let ids = owned(values);
                ops::check_ids(e, &node.name, &ids)?;
                ids
            }
            Layer::Embedding(e) => {
                let ids = values[first].as_deref().unwrap_or_default();
                ops::embedding(e, &node.name, ids)?
            }
            Layer::Conv(c) => {
                let x = values[first].as_deref().unwrap_or_default();
                c.eval(&node.name, x, &self.nodes[first].shape, &self.packed[i])?
            }
            Layer::Pool(p) => {
                let x = values[first].as_deref().unwrap_or_default();
                p.eval(&node.name, x, &self.nodes[first].shape)?
            }
            Layer::GlobalPool2D(p) => {
                let x = values[first].as_deref().unwrap_or_default();
                let cells = self.nodes[first].shape.iter().rev().skip(1).product();
                p.eval(x, cells, in_width)
            }
            Layer::Steps(s) => {
                let x = values[first].as_deref().unwrap_or_default();
                let steps = self.nodes[first].shape.first().copied().unwrap_or(0);
                s.eval(x, batch, steps, in_width)
            }
            Layer::Merge(op) => {
                let xs: Vec<Vec<f32>> = node.inputs.iter().map(|&j| borrowed(values, j)).collect();
                let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
                ops::merge(*op, &refs)
            }
            Layer::Concatenate { axis } => {
                let refs: Vec<&[f32]> = node
                    .inputs
                    .iter()
                    .map(|&j| values[j].as_deref().unwrap_or_default())
                    .collect();
                let shapes: Vec<&[usize]> = node
                    .inputs
                    .iter()
                    .map(|&j| self.nodes[j].shape.as_slice())
                    .collect();
                ops::concatenate(*axis, &refs, &shapes, batch)
            }
            Layer::Masking(value) => {
                let mut x = owned(values);
                mask::masking(*value, &mut x, in_width);
                x
            }
            Layer::Recurrent(r) => {
                let x = values[first].as_deref().unwrap_or_default();
                let s = &self.nodes[first].shape;
                let src = match &self.folds[i] {
                    Some(f) => Source::Table {
                        ids: x,
                        table: &f.tables[0],
                    },
                    None => Source::Values { x, width: s[1] },
                };
                r.run_source(src, batch, s[0], mask)
            }
            Layer::Bidirectional(b) => {
                let x = values[first].as_deref().unwrap_or_default();
                let s = &self.nodes[first].shape;
                let src = |d: usize| match &self.folds[i] {
                    Some(f) => Source::Table {
                        ids: x,
                        table: &f.tables[d],
                    },
                    None => Source::Values { x, width: s[1] },
                };
                b.run_sources([src(0), src(1)], batch, s[0], mask)
            }
            Layer::TimeDistributed(inner) => {
                let x = owned(values);
                time_distributed::run(inner, x, batch, &self.nodes[first].shape)?
            }
            Layer::GlobalPool1D(p) => {
                let x = values[first].as_deref().unwrap_or_default();
                p.run(x, &self.nodes[first].shape, mask)
            }
        })
    }
}
