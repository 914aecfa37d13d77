//! Errors of the evaluator: bad labels, missing columns, misaligned models, I/O of spills and
//! outputs. Every variant names the column, row or file it is about.

use std::path::PathBuf;

/// Anything that can go wrong evaluating scored rows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A column the evaluation needs is not in the scored batch.
    #[error("no {role} column `{column}` in the scored rows (columns: {available})")]
    MissingColumn {
        /// What the column is for: `label`, `score`, `id`, `group-by`.
        role: &'static str,
        /// The name asked for.
        column: String,
        /// The columns that are there, comma-separated.
        available: String,
    },
    /// A column has a type the evaluator cannot read as numbers.
    #[error("{role} column `{column}` has type {data_type}, which is not numeric")]
    NotNumeric {
        /// What the column is for.
        role: &'static str,
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A binary metric met a label other than 0 and 1.
    #[error(
        "label column `{column}` has the value {value} at row {row}; binary metrics need labels 0 and 1 (or false/true); use --task multiclass or --task regression for other labels"
    )]
    NonBinaryLabel {
        /// The label column.
        column: String,
        /// The offending value.
        value: f64,
        /// Its row, counted from 0 over the whole input.
        row: u64,
    },
    /// A multiclass label is not a class index of the model.
    #[error(
        "label column `{column}` has the value {value} at row {row}; multiclass labels must be class indices 0..{classes}"
    )]
    BadClassLabel {
        /// The label column.
        column: String,
        /// The offending value.
        value: f64,
        /// Its row.
        row: u64,
        /// How many classes the model scores.
        classes: usize,
    },
    /// The candidate and the baseline returned different numbers of rows for the same input.
    #[error(
        "the candidate scored {candidate} rows but the baseline scored {baseline} rows of the same input batch (starting at row {row}); a comparison needs both models on the same rows"
    )]
    RowCountMismatch {
        /// Rows from the candidate.
        candidate: usize,
        /// Rows from the baseline.
        baseline: usize,
        /// First input row of the batch.
        row: u64,
    },
    /// The candidate and the baseline disagree on a row's id or label: rows are not aligned.
    #[error(
        "row {row}: the candidate's {column} is `{candidate}` but the baseline's is `{baseline}`; a comparison needs both models on the same rows"
    )]
    RowsNotAligned {
        /// The id or label column.
        column: String,
        /// Row index.
        row: u64,
        /// Candidate's value.
        candidate: String,
        /// Baseline's value.
        baseline: String,
    },
    /// The two models produce different kinds of output.
    #[error("the candidate is a {candidate} model but the baseline is a {baseline} model")]
    TaskMismatch {
        /// Candidate task.
        candidate: String,
        /// Baseline task.
        baseline: String,
    },
    /// A bad option value.
    #[error("{0}")]
    Config(String),
    /// `--group-by` produced more segments than the evaluator keeps.
    #[error("--group-by column `{column}` has more than {limit} distinct values")]
    TooManyGroups {
        /// The column.
        column: String,
        /// The limit.
        limit: usize,
    },
    /// No row had both a label and a score.
    #[error("no row has both a label and a score (rows read: {rows})")]
    NoRows {
        /// Rows read.
        rows: u64,
    },
    /// Reading or writing a spill file or an output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file (`<spill>` for the evaluator's anonymous temporary files).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Arrow refused an operation (casting a column, building the flips batch).
    #[error("{context}: {message}")]
    Arrow {
        /// What was being done.
        context: String,
        /// What Arrow said.
        message: String,
    },
    /// Encoding `metrics.json` failed.
    #[error("encoding metrics.json: {0}")]
    Json(String),
    /// Drawing a plot failed.
    #[error("drawing the {plot} plot: {message}")]
    Plot {
        /// Which plot.
        plot: &'static str,
        /// What plotters said.
        message: String,
    },
}

impl EvalError {
    pub(crate) fn spill(source: std::io::Error) -> Self {
        EvalError::Io {
            path: PathBuf::from("<spill>"),
            source,
        }
    }
}

/// Result alias.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
