//! The ONNX loader's error type.

/// Why an ONNX model could not be loaded or scored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// The bytes are not an ONNX `ModelProto` (or it has no graph).
    #[error("not an ONNX model: {0}")]
    Decode(String),
    /// A node whose op type tract has no implementation for.
    #[error(
        "node `{node}`: op type `{op_type}`{domain} is not supported by the ONNX engine (tract)"
    )]
    UnsupportedOp {
        /// The node's name (or its first output's name when it has none).
        node: String,
        /// The ONNX op type.
        op_type: String,
        /// ` (domain `…`)` when the node is outside the default domain, else empty.
        domain: String,
    },
    /// A node tract would load but compute differently from ONNX Runtime, so scorewell
    /// refuses it rather than answer wrongly.
    #[error("node `{node}` ({op_type}): {reason}")]
    Refused {
        /// The node's name.
        node: String,
        /// The ONNX op type.
        op_type: String,
        /// What in the node tract does not honour.
        reason: String,
    },
    /// A graph input or output scorewell cannot bind to Arrow columns (a non-numeric type, a
    /// per-row dimension unknown at load, no batch axis).
    #[error("{kind} `{name}`: {reason}")]
    Interface {
        /// `input` or `output`.
        kind: &'static str,
        /// The ONNX input or output name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// tract failed to type, optimise or plan the graph.
    #[error("loading the ONNX graph: {0}")]
    Load(String),
    /// tract failed while running the graph on a batch.
    #[error("running the ONNX graph: {0}")]
    Run(String),
}

/// The ONNX loader's result type.
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;

/// tract's errors are `anyhow` chains; `{:#}` keeps every cause on one line.
pub(crate) fn chain(e: &impl std::fmt::Display) -> String {
    format!("{e:#}")
}
