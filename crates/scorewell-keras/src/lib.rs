//! Keras frontend: maps a Keras model onto the `scorewell-nn` IR, from any of the files Keras
//! saves: a Keras 3 `.keras` archive; a legacy whole-model `.h5` (Keras 2, tf.keras 2.x, and
//! Keras 3's `model.save("x.h5")`); or an architecture JSON from `model.to_json()` plus a weights
//! file from `save_weights`, in the Keras 3 `.weights.h5` layout or the legacy `w.h5` one.
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

/// The first bytes of every HDF5 file (a legacy `.h5` model or weights file).
pub const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// A loaded Keras model: the evaluable graph and what `inspect` shows about it.
#[derive(Debug, Clone)]
pub struct KerasModel {
    pub graph: Graph,
    /// `keras_version` from the archive's metadata, the `.h5` root or the JSON, when it says.
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
    build(&config, weights::Weights::open(&weights)?, version)
}

/// Loads `model.to_json()` output together with the `save_weights` file's bytes: either the
/// Keras 3 layout (`*.weights.h5`) or the legacy one (Keras 2 / tf.keras `save_weights('w.h5')`,
/// or a whole-model `.h5`, whose `model_weights` are used), told apart by content.
pub fn load_json_and_weights(json: &[u8], weights: &[u8]) -> Result<KerasModel, KerasError> {
    let version = serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|m| m.get("keras_version")?.as_str().map(str::to_owned));
    if let Some(v) = version.as_deref().filter(|v| v.starts_with("1.")) {
        return Err(KerasError::Keras1(format!(
            "the architecture JSON was written by Keras {v}"
        )));
    }
    build(json, weights::Weights::open(weights)?, version)
}

/// Loads a legacy whole-model `.h5` file (`model.save("x.h5")` in Keras 2, tf.keras 2.x or
/// Keras 3) from its bytes: the architecture is the root attribute `model_config`, the
/// weights the `model_weights` group.
pub fn load_h5(bytes: &[u8]) -> Result<KerasModel, KerasError> {
    let file = weights::open_file(bytes)?;
    let root = file.root_group().map_err(weights::hdf5_err)?;
    let Some(config) = weights::string_attr(&root, "model_config")? else {
        return Err(KerasError::Hdf5(
            "no `model_config` attribute: not a whole-model Keras .h5 (a weights-only file needs its architecture JSON too)".into(),
        ));
    };
    // Keras 2 reads a file without `keras_version` as a Keras 1 file and converts its
    // weights and configs on load; scorewell does not, so it refuses them.
    let version = match weights::string_attr(&root, "keras_version")? {
        None => {
            return Err(KerasError::Keras1(
                "the .h5 file has no `keras_version` attribute (a Keras 1 file)".into(),
            ));
        }
        Some(v) if v.starts_with("1.") => {
            return Err(KerasError::Keras1(format!(
                "the .h5 file was written by Keras {v}"
            )));
        }
        Some(v) => v,
    };
    let weights = weights::Weights::from_file(file, bytes.len())?;
    build(config.as_bytes(), weights, Some(version))
}

fn build(
    config: &[u8],
    weights: weights::Weights,
    version: Option<String>,
) -> Result<KerasModel, KerasError> {
    let config: serde_json::Value = serde_json::from_slice(config)
        .map_err(|e| KerasError::Config(format!("invalid JSON: {e}")))?;
    let model = config::parse(&config, version.as_deref())?;
    let graph = layers::build_graph(&model, &weights)?;
    weights.finish()?;
    Ok(KerasModel {
        graph,
        keras_version: version,
        name: model.name,
    })
}
