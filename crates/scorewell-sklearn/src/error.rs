//! Why a scikit-learn file could not be loaded.

use thiserror::Error;

/// Anything that stops a scikit-learn file from loading. Every message names what it refused
/// or could not read, so a user knows which class, attribute or byte offset to look at.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SklearnError {
    /// The pickle stream is malformed or ends early.
    #[error("pickle: {message} (at byte {offset})")]
    Pickle {
        /// What is wrong.
        message: String,
        /// Offset in the (decompressed) stream.
        offset: usize,
    },
    /// The stream ends before its STOP opcode or before an array's bytes.
    #[error("pickle: truncated file: {0}")]
    Truncated(String),
    /// The file asks to call something scorewell does not know; nothing was executed.
    #[error(
        "refused `{0}`: scorewell reads scikit-learn files without running any code, and `{0}` is not a scikit-learn, numpy or joblib type it understands"
    )]
    Refused(String),
    /// A compressed joblib file could not be decompressed, or decompresses past the limit.
    #[error("joblib: {0}")]
    Compression(String),
    /// A class scorewell knows but cannot score, or an estimator it does not implement.
    #[error("{class}: {message}")]
    Unsupported {
        /// The scikit-learn class.
        class: String,
        /// Why, and what is supported instead.
        message: String,
    },
    /// An estimator's saved state lacks an attribute or holds one of the wrong shape.
    #[error("{class}: attribute `{attribute}`: {message}")]
    Attribute {
        /// The scikit-learn class.
        class: String,
        /// The attribute.
        attribute: String,
        /// What is wrong with it.
        message: String,
    },
    /// The scoring IR rejected what the estimator translated into.
    #[error("{0}")]
    Forest(#[from] scorewell_forest::ForestError),
}

/// Result with [`SklearnError`].
pub type Result<T, E = SklearnError> = std::result::Result<T, E>;
