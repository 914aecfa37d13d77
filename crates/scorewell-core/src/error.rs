//! The scoring core's error type.

use arrow_schema::ArrowError;
use scorewell_forest::ForestError;

/// Anything that can go wrong while building a scorer or scoring a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// An input column the model needs is not in the batch.
    #[error(
        "input has no column `{column}` (needed by {needed_by}); input columns are: {available}"
    )]
    MissingColumn {
        /// The missing column.
        column: String,
        /// Who needs it, e.g. "model feature 3".
        needed_by: String,
        /// The columns the input does have, comma-separated.
        available: String,
    },
    /// An input column has a type the stage cannot read.
    #[error("column `{column}` has type {got}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// What the stage accepts.
        expected: String,
        /// The column's Arrow type.
        got: String,
    },
    /// A stage would write a column that already exists.
    #[error("output column `{column}` already exists in the input; rename the input column")]
    DuplicateColumn {
        /// The clashing name.
        column: String,
    },
    /// A row holds a value a stage refuses (an unseen label under `handle_invalid = "error"`,
    /// a NaN a bucketizer cannot place, ...).
    #[error("column `{column}`, row {row} of the batch: {message}")]
    InvalidValue {
        /// The input column.
        column: String,
        /// The row's index in the batch.
        row: usize,
        /// What is wrong and how to let it through.
        message: String,
    },
    /// A selected output is not produced by any stage.
    #[error("output `{column}` is not produced by any stage (stages produce: {produced})")]
    UnknownOutput {
        /// The selected name.
        column: String,
        /// What the stages do produce, comma-separated.
        produced: String,
    },
    /// A batch does not have the schema the scorer was bound to.
    #[error("batch schema differs from the schema the scorer was bound to: {0}")]
    SchemaMismatch(String),
    /// The model is structurally invalid.
    #[error(transparent)]
    Forest(#[from] ForestError),
    /// Arrow refused to assemble a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    /// A model that a routing stage builds on first use (one of a model set's models, an
    /// arm of a split) could not be built, or writes other columns than the stage declares.
    #[error("model `{model}`: {message}")]
    Model {
        /// Which model: the key or arm and its artifact.
        model: String,
        /// What went wrong.
        message: String,
    },
    /// A neural-network graph refused its inputs (a token id outside an embedding's
    /// vocabulary, ...).
    #[error(transparent)]
    Nn(#[from] scorewell_nn::NnError),
    /// An error inside a named stage.
    #[error("stage `{stage}`: {source}")]
    InStage {
        /// The stage's name.
        stage: String,
        /// What went wrong.
        #[source]
        source: Box<ScoreError>,
    },
}

/// Result alias.
pub type Result<T, E = ScoreError> = std::result::Result<T, E>;
