//! Neural-network IR and evaluator.
//!
//! A [`Graph`] is a list of typed [`Layer`]s in topological order, each reading the outputs of
//! earlier nodes. It can only be made through [`GraphBuilder`], which resolves every node's
//! per-sample shape and checks every weight's shape when the node is added, so evaluation never
//! meets a shape it did not expect. Tensors are dense row-major `f32` with the batch as the first
//! axis; matrix products go through `matrixmultiply`.
//!
//! This crate never parses a file format: frontends (Keras, ...) map their layers onto these.

mod activation;
mod conv;
mod error;
mod fold;
mod gemm;
mod graph;
mod layer;
mod mask;
mod ops;
mod pool;
mod pool1d;
mod recurrent;
mod steps;
mod tensor;
mod time_distributed;
mod vmath;

pub use activation::{Activation, HardSigmoid};
pub use conv::{Conv, Padding};
pub use error::NnError;
pub use graph::{Graph, GraphBuilder, NodeId};
pub use layer::{BatchNorm, Dense, Embedding, Layer, LayerNorm, MergeOp};
pub use mask::MaskRules;
pub use pool::{GlobalPool2D, Pool, PoolKind};
pub use pool1d::{GlobalPool1D, PoolOp};
pub use recurrent::{BiMerge, Bidirectional, Cell, Recurrent};
pub use steps::StepOp;
pub use tensor::Tensor;
