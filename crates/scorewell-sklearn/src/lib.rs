//! scikit-learn models scored natively: `pickle`, `joblib` (raw and compressed) files read by
//! an interpreter that never executes anything, mapped onto scorewell's forest and linear
//! arithmetic, and scored through [`SklearnStage`] with scikit-learn's exact semantics (the
//! `float32` cast of tree inputs, learned missing-value routing, categorical bitsets).
#![warn(missing_docs)]

pub mod error;
pub mod estimators;
pub mod model;
pub mod pickle;
pub mod skops;
mod stage;

pub use error::{Result, SklearnError};
pub use model::SklearnModel;
pub use stage::SklearnStage;

/// Whether `file_name` names a scikit-learn file by its extension.
pub fn has_sklearn_extension(file_name: &str) -> bool {
    let n = file_name.to_ascii_lowercase();
    [".joblib", ".pkl", ".pickle", ".jbl", ".skops"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// Load a scikit-learn model from the bytes of a pickle, joblib or skops file.
pub fn load(bytes: &[u8]) -> Result<SklearnModel> {
    if skops::is_skops(bytes) {
        return estimators::model(&skops::read(bytes)?);
    }
    let stream = pickle::joblib::decompress(bytes, pickle::joblib::MAX_DECOMPRESSED)?;
    let p = pickle::read(&stream)?;
    estimators::model(&p)
}
