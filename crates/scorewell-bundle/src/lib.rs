//! scorewell bundles: one verified package holding a pipeline's manifest and its model
//! artifacts in their native formats, as a directory or a `.zip` (format: docs/BUNDLE.md).
//!
//! ```no_run
//! # fn main() -> Result<(), scorewell_bundle::BundleError> {
//! let bundle = scorewell_bundle::Bundle::open("fraud-3.zip".as_ref())?;
//! bundle.verify()?;                     // every artifact against its sha256
//! let scorer = bundle.scorer()?;        // transforms, models, decision
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod build;
mod bundle;
mod create;
mod error;
mod files;
mod keras;
pub mod manifest;
mod neighbors;
mod onnx;
pub mod routing;

pub use build::{MODEL_KIND, SPARK_KIND};
pub use bundle::{Bundle, VerifyReport, ZIP_MAGIC, is_bundle, sha256_hex};
pub use create::{CreateOptions, NewBundle, create};
pub use error::BundleError;
pub use files::Limits;
pub use manifest::{FORMAT_VERSION, MANIFEST_FILE, Manifest};
pub use neighbors::NEIGHBORS_KIND;
pub use routing::create::{
    ModelFile, ModelSetOptions, create_model_set, folder_options, models_in_folder,
};
pub use routing::{encode_route_metrics, route_stats};

/// Every stage kind a manifest may use: `model`, `spark_pipeline`, `nearest_neighbors`, the
/// routing kinds (`model_set`, `split`, `shadow`) and the transform kinds, sorted.
pub fn stage_kinds() -> Vec<&'static str> {
    let mut kinds = scorewell_transform::kinds();
    kinds.push(MODEL_KIND);
    kinds.push(SPARK_KIND);
    kinds.push(NEIGHBORS_KIND);
    kinds.extend([
        routing::MODEL_SET_KIND,
        routing::SPLIT_KIND,
        routing::SHADOW_KIND,
    ]);
    kinds.sort_unstable();
    kinds
}

#[cfg(test)]
mod tests;
