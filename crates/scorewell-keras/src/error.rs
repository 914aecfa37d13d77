use thiserror::Error;

/// Why a Keras model could not be loaded.
#[derive(Debug, Error)]
pub enum KerasError {
    /// The `.keras` zip is unreadable or lacks a member.
    #[error("keras archive: {0}")]
    Archive(String),
    /// The architecture JSON is malformed or of an unexpected form.
    #[error("keras config: {0}")]
    Config(String),
    /// A layer's configuration is malformed or uses an option scorewell does not implement.
    #[error("layer `{layer}` ({class}): {message}")]
    Layer {
        layer: String,
        class: String,
        message: String,
    },
    /// A layer class scorewell does not implement (Lambda, custom classes, ...).
    #[error("layer `{layer}`: unsupported Keras layer class `{class}`")]
    Unsupported { layer: String, class: String },
    /// An HDF5 file (weights, or a whole-model `.h5`) is unreadable, truncated or not laid out
    /// as Keras writes it.
    #[error("HDF5 file: {0}")]
    Hdf5(String),
    /// A variable the architecture needs is absent from the weights file.
    #[error(
        "layer `{layer}`: weight `{variable}` is missing from the weights file (looked for `{path}`)"
    )]
    MissingWeight {
        layer: String,
        variable: String,
        path: String,
    },
    /// A legacy weights file holds a different number of variables for a layer than the
    /// architecture uses (Keras's loader refuses such a file too).
    #[error(
        "layer `{layer}`: the weights file holds {stored} variables for it, the architecture uses {used}"
    )]
    WeightCount {
        layer: String,
        stored: usize,
        used: usize,
    },
    /// A Keras 1 file: Keras 2 converted their weights on load, scorewell does not.
    #[error("{0}; Keras 1 files are not supported (load and re-save the model with Keras 2 or 3)")]
    Keras1(String),
    /// The graph could not be built (shapes, weights that do not fit, ...).
    #[error(transparent)]
    Nn(#[from] scorewell_nn::NnError),
}
