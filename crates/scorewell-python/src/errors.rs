//! The one place where scorewell's Rust errors become Python exceptions.
//!
//! Classes (all re-exported by the `scorewell` package):
//!
//! | class | raised for |
//! |---|---|
//! | `ScorewellError` | the base class; anything not listed below (e.g. Arrow refusing a batch) |
//! | `SchemaError` | an input column missing, of the wrong type, or clashing with an output name |
//! | `ModelLoadError` | a model file or bundle that cannot be read or parsed |
//! | `UnsupportedModelError` | a valid model (or bundle manifest version) using something scorewell does not score, an unknown format name, or a file no format recognises |
//!
//! Messages are the CLI's: the error and its causes on one line, a cause whose text is already
//! shown skipped (`scorewell-cli/src/main.rs`, `one_line`). The CLI prefixes scoring errors with
//! the input file's path; Python has no input file, so that prefix is absent.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use scorewell::{BundleError, Error, FormatError, ScoreError};

create_exception!(
    scorewell,
    ScorewellError,
    PyException,
    "Base class of every error scorewell raises."
);
create_exception!(
    scorewell,
    SchemaError,
    ScorewellError,
    "An input column is missing, has a type the model cannot read, or clashes with an output column. The message names the column."
);
create_exception!(
    scorewell,
    ModelLoadError,
    ScorewellError,
    "A model file or bundle could not be read or parsed. The message names the file and where it is wrong."
);
create_exception!(
    scorewell,
    UnsupportedModelError,
    ScorewellError,
    "The model is valid but uses something scorewell does not score (the message names it), or no supported format recognises it."
);

/// The error and its causes on one line, as the CLI prints them.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line.replace('\n', " ")
}

/// An error from loading or building a scorer.
pub(crate) fn load_error(err: Error) -> PyErr {
    let message = one_line(&err);
    let unsupported = |f: &FormatError| {
        matches!(
            f,
            FormatError::Unsupported { .. } | FormatError::Unrecognised { .. }
        )
    };
    match &err {
        Error::Model { source, .. } if unsupported(source) => {
            UnsupportedModelError::new_err(message)
        }
        Error::Bundle { source, .. } => match source.as_ref() {
            BundleError::Model { source, .. } if unsupported(source) => {
                UnsupportedModelError::new_err(message)
            }
            BundleError::UnsupportedVersion { .. } => UnsupportedModelError::new_err(message),
            _ => ModelLoadError::new_err(message),
        },
        // An ONNX file in a build without the `onnx` feature: a valid model this build does
        // not score.
        Error::UnknownFormat { .. } | Error::OnnxDisabled { .. } => {
            UnsupportedModelError::new_err(message)
        }
        // A layer class scorewell does not implement: the file is fine, the model unsupported.
        Error::Keras { source, .. }
            if matches!(**source, scorewell::keras::KerasError::Unsupported { .. }) =>
        {
            UnsupportedModelError::new_err(message)
        }
        // An option that does not apply to bundles: a usage error, not a bad file.
        Error::BundleOption(_) => ScorewellError::new_err(message),
        // A model that parsed but could not become a scorer is still a bad model file.
        _ => ModelLoadError::new_err(message),
    }
}

/// An error from binding a schema or scoring a batch.
pub(crate) fn score_error(err: ScoreError) -> PyErr {
    let message = one_line(&err);
    let mut inner = &err;
    while let ScoreError::InStage { source, .. } = inner {
        inner = source;
    }
    match inner {
        ScoreError::MissingColumn { .. }
        | ScoreError::ColumnType { .. }
        | ScoreError::DuplicateColumn { .. }
        | ScoreError::SchemaMismatch(_) => SchemaError::new_err(message),
        _ => ScorewellError::new_err(message),
    }
}
