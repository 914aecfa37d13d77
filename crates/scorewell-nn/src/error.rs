use thiserror::Error;

/// Why a graph could not be built or evaluated. Every variant names the layer involved.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NnError {
    /// A weight array does not have the shape the layer's configuration implies.
    #[error("layer `{layer}`: weight `{variable}` has shape {found:?}, expected {expected:?}")]
    WeightShape {
        layer: String,
        variable: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A layer's input(s) have a shape the layer cannot take.
    #[error("layer `{layer}`: {message}")]
    Shape { layer: String, message: String },
    /// A layer was given the wrong number of inputs.
    #[error("layer `{layer}` ({kind}) takes {expected} input(s), got {found}")]
    Arity {
        layer: String,
        kind: &'static str,
        expected: String,
        found: usize,
    },
    /// A node id that the builder never handed out.
    #[error("layer `{layer}`: input node {node} does not exist")]
    UnknownNode { layer: String, node: usize },
    /// Two nodes, or two graph inputs/outputs, share a name.
    #[error("duplicate name `{0}` in the graph")]
    DuplicateName(String),
    /// The graph has no outputs.
    #[error("the graph has no outputs")]
    NoOutputs,
    /// The caller passed inputs that do not match the graph's declared inputs.
    #[error("input `{input}`: {message}")]
    Input { input: String, message: String },
    /// A token id outside an Embedding's vocabulary.
    #[error("layer `{layer}`: token id {value} is outside the vocabulary 0..{vocab}")]
    EmbeddingIndex {
        layer: String,
        value: f32,
        vocab: usize,
    },
}
