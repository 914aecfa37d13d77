//! `create_model_set`: the native half of `scorewell.bundle.model_set(...).save(path)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use scorewell::bundle::routing::Unseen;
use scorewell::bundle::{ModelFile, ModelSetOptions, create_model_set as create};

use crate::errors::{ModelLoadError, ScorewellError, one_line};

/// Make a model-set bundle and return it as zip bytes. `models` maps each key to
/// `(file_name, bytes)`; the file name's extension tells the format (`.json`, `.ubj`, `.txt`,
/// `.zip` for a nested bundle). Every model is built once to check the shared outputs.
#[pyfunction]
#[pyo3(signature = (key, models, default=None, *, unseen=None, key_type=None, record=None, output=None, output_margin=false, cache_bytes=None, name=None, version=None, description=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_model_set(
    py: Python<'_>,
    key: String,
    models: BTreeMap<String, (String, PyBackedBytes)>,
    default: Option<(String, PyBackedBytes)>,
    unseen: Option<String>,
    key_type: Option<String>,
    record: Option<String>,
    output: Option<String>,
    output_margin: bool,
    cache_bytes: Option<u64>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
) -> PyResult<Py<PyBytes>> {
    let file = |(file_name, bytes): (String, PyBackedBytes)| ModelFile {
        file_name,
        bytes: Arc::from(&bytes[..]),
    };
    let unseen = match unseen.as_deref() {
        None => None,
        Some("default") => Some(Unseen::Default),
        Some("null") => Some(Unseen::Null),
        Some("error") => Some(Unseen::Error),
        Some(other) => {
            return Err(ScorewellError::new_err(format!(
                "unseen must be \"default\", \"null\" or \"error\", not {other:?}"
            )));
        }
    };
    let key_type = match key_type.as_deref() {
        None => None,
        Some("utf8") => Some(scorewell::bundle::manifest::ColumnType::Utf8),
        Some("int64") => Some(scorewell::bundle::manifest::ColumnType::Int64),
        Some("int32") => Some(scorewell::bundle::manifest::ColumnType::Int32),
        Some(other) => {
            return Err(ScorewellError::new_err(format!(
                "key_type must be \"utf8\", \"int64\" or \"int32\", not {other:?}"
            )));
        }
    };
    let options = ModelSetOptions {
        name: name.unwrap_or_else(|| key.clone()),
        version: version.unwrap_or_else(|| "1".into()),
        description,
        created_at: None,
        key,
        key_type,
        models: models.into_iter().map(|(k, f)| (k, file(f))).collect(),
        default: default.map(file),
        unseen,
        record,
        output,
        output_margin,
        cache_bytes,
    };
    let zip = py
        .detach(|| create(&options).and_then(|b| b.to_zip_bytes()))
        .map_err(|e| ModelLoadError::new_err(one_line(&e)))?;
    Ok(PyBytes::new(py, &zip).unbind())
}
