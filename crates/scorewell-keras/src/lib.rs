//! Keras frontend: maps a Keras 3 model (a `.keras` archive, or an architecture JSON from
//! `model.to_json()` plus a `.weights.h5` from `save_weights`) onto the `scorewell-nn` IR.
//!
//! Everything is read from bytes: the `.keras` zip in memory, HDF5 through the pure-Rust
//! `hdf5-reader`, never a temp file. Layers outside the supported set are refused with an error
//! naming their class and name; weights are checked against the shapes the architecture implies
//! before they are read, so a file declaring a huge dataset costs nothing.

mod archive;
mod config;
mod error;
mod layers;
mod mask_ops;
mod recurrent;
mod spatial;
mod weights;

pub use archive::{archive_from_parts, is_keras_archive};
pub use error::KerasError;

use scorewell_nn::Graph;

/// A loaded Keras model: the evaluable graph and what `inspect` shows about it.
#[derive(Debug, Clone)]
pub struct KerasModel {
    pub graph: Graph,
    /// `keras_version` from the archive's metadata, when it says.
    pub keras_version: Option<String>,
    /// The model's `name` from its config.
    pub name: String,
}

/// Upper bound on a `config.json`/`metadata.json` member of a `.keras` archive; real configs
/// are kilobytes, so this only stops a zip bomb.
const MAX_CONFIG_BYTES: u64 = 64 << 20;
/// Upper bound on `model.weights.h5` inside an archive.
const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// Loads a Keras 3 `.keras` archive from its bytes.
pub fn load_keras(bytes: &[u8]) -> Result<KerasModel, KerasError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| KerasError::Archive(format!("not a .keras (zip) archive: {e}")))?;
    let config = archive::read_member(&mut zip, "config.json", MAX_CONFIG_BYTES)?;
    let metadata = archive::read_member(&mut zip, "metadata.json", MAX_CONFIG_BYTES).ok();
    let weights = archive::read_member(&mut zip, "model.weights.h5", MAX_WEIGHTS_BYTES)?;
    let version = metadata
        .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m).ok())
        .and_then(|m| m.get("keras_version")?.as_str().map(str::to_owned));
    build(&config, &weights, version)
}

/// Loads `model.to_json()` output together with the `save_weights` file's bytes.
pub fn load_json_and_weights(json: &[u8], weights: &[u8]) -> Result<KerasModel, KerasError> {
    let version = serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|m| m.get("keras_version")?.as_str().map(str::to_owned));
    build(json, weights, version)
}

fn build(config: &[u8], weights: &[u8], version: Option<String>) -> Result<KerasModel, KerasError> {
    let config: serde_json::Value = serde_json::from_slice(config)
        .map_err(|e| KerasError::Config(format!("invalid JSON: {e}")))?;
    let weights = weights::Weights::open(weights)?;
    let model = config::parse(&config, version.as_deref())?;
    let graph = layers::build_graph(&model, &weights)?;
    Ok(KerasModel {
        graph,
        keras_version: version,
        name: model.name,
    })
}
