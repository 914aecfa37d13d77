//! Frontends that read model files into scorewell IRs. One module per format; each exposes
//! `load(bytes) -> Result<ForestModel>` and a `sniff` test, and the [`FORMATS`] registry lists
//! them so [`load`] can pick one by content (and file name, where content is ambiguous).
//!
//! Nothing here scores: the forest evaluator lives in `scorewell-forest`.
#![warn(missing_docs)]

#[cfg(any(feature = "xgboost", feature = "lightgbm"))]
mod doc;
mod error;
#[cfg(feature = "lightgbm")]
pub mod lightgbm;
#[cfg(feature = "xgboost")]
pub mod xgboost;

pub use error::{FormatError, Result};
use scorewell_core::ForestModel;

/// A registered model-file format.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    /// Name used in messages and `--model-format`, e.g. `xgboost-json`.
    pub name: &'static str,
    /// Whether `bytes` (from a file called `file_name`, if known) look like this format.
    pub sniff: fn(bytes: &[u8], file_name: Option<&str>) -> bool,
    /// Parse the model.
    pub load: fn(bytes: &[u8]) -> Result<ForestModel>,
}

/// Every format compiled in, in sniffing order.
pub const FORMATS: &[Format] = &[
    #[cfg(feature = "xgboost")]
    xgboost::JSON,
    #[cfg(feature = "xgboost")]
    xgboost::UBJSON,
    #[cfg(feature = "lightgbm")]
    lightgbm::TEXT,
];

/// Names of the compiled-in formats, comma-separated.
pub fn supported() -> String {
    FORMATS
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Look a format up by name.
pub fn format_named(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}

/// Detect the format of `bytes` and load it.
pub fn load(bytes: &[u8], file_name: Option<&str>) -> Result<ForestModel> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FormatError::Empty);
    }
    match FORMATS.iter().find(|f| (f.sniff)(bytes, file_name)) {
        Some(format) => (format.load)(bytes),
        // XGBoost < 2.0 wrote this for `save_model("x.model")` / `save_raw()`; its layout is a
        // dump of C++ structs that 3.x no longer reads either. Say what it is and how to convert.
        None if bytes.starts_with(b"binf") => Err(FormatError::Unsupported {
            format: "xgboost-binary",
            what: "legacy binary format (XGBoost < 2.0 `.model`/`.bin`/`.deprecated`); \
                   load it with XGBoost and save it as `model.json` or `model.ubj`"
                .into(),
        }),
        None => Err(FormatError::Unrecognised {
            supported: supported(),
        }),
    }
}
