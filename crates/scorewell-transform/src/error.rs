//! The transform crate's error type.

use scorewell_core::ScoreError;

/// Anything that can go wrong while building a transform stage. (Bad values met while
/// applying one are [`ScoreError::InvalidValue`].)
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// [`crate::build`] was asked for a kind no file registered.
    #[error("unknown transform kind `{kind}` (supported: {supported})")]
    UnknownKind {
        /// The kind asked for.
        kind: String,
        /// Every registered kind, comma-separated.
        supported: String,
    },
    /// A parameter is missing, malformed or out of range.
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Param {
        /// Where in the params object, e.g. `splits[3]` or `handle_invalid`; empty for the
        /// params object itself.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl TransformError {
    /// A [`TransformError::Param`] at `path`.
    pub fn param(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Param {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A [`ScoreError`] for a value `column` cannot take at `row`.
pub(crate) fn invalid(column: &str, row: usize, message: impl Into<String>) -> ScoreError {
    ScoreError::InvalidValue {
        column: column.to_string(),
        row,
        message: message.into(),
    }
}
