//! `NativeAnnoyIndex`: annoy's query API over scorewell's Annoy reader.
//!
//! Spark executors receive the index as bytes (it pickles as its file); every copy with the same
//! bytes, metric and dimension shares one loaded index per process, the way `NativeScorer`
//! shares one built scorer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use scorewell::neighbors::{AnnoyIndex, Error as IndexError, Metric};
use sha2::{Digest, Sha256};

use crate::errors;

type Key = (String, Metric, usize);

/// Indexes loaded from bytes in this process, by (sha256, metric, dims). Never evicted, like
/// the scorer cache.
fn cache() -> &'static Mutex<HashMap<Key, Arc<AnnoyIndex>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<AnnoyIndex>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn load_error(e: IndexError) -> PyErr {
    errors::ModelLoadError::new_err(errors::one_line(&e))
}

fn query_error(e: IndexError) -> PyErr {
    let text = errors::one_line(&e);
    // annoy raises IndexError for item ids out of range; bad vectors are ValueErrors.
    if text.contains("out of range") || text.contains("cannot be negative") {
        PyIndexError::new_err(text)
    } else if matches!(e, IndexError::Query(_)) {
        PyValueError::new_err(text)
    } else {
        errors::ModelLoadError::new_err(text)
    }
}

fn metric(name: &str) -> PyResult<Metric> {
    name.parse()
        .map_err(|e: IndexError| PyValueError::new_err(e.to_string()))
}

/// A loaded Annoy index (mapped from a file or shared from bytes).
#[pyclass(module = "scorewell._scorewell", name = "NativeAnnoyIndex", frozen)]
pub(crate) struct NativeAnnoyIndex {
    index: Arc<AnnoyIndex>,
}

#[pymethods]
impl NativeAnnoyIndex {
    /// Map `path` read-only (no copy).
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf, dims: usize, metric: &str) -> PyResult<Self> {
        let m = self::metric(metric)?;
        let index = py
            .detach(|| AnnoyIndex::open(&path, m, dims))
            .map_err(load_error)?;
        Ok(Self {
            index: Arc::new(index),
        })
    }

    /// Load from the file's bytes, once per process for equal bytes, metric and dims.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8], dims: usize, metric: &str) -> PyResult<Self> {
        let m = self::metric(metric)?;
        let index = py.detach(|| -> Result<Arc<AnnoyIndex>, IndexError> {
            let key = (format!("{:x}", Sha256::digest(data)), m, dims);
            let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
            if let Some(index) = cache.get(&key) {
                return Ok(index.clone());
            }
            let index = Arc::new(AnnoyIndex::from_bytes(data, m, dims)?);
            cache.insert(key, index.clone());
            Ok(index)
        });
        Ok(Self {
            index: index.map_err(load_error)?,
        })
    }

    /// `(ids, distances)` of the `n` items nearest to `vector`.
    #[pyo3(signature = (vector, n, search_k=-1))]
    fn nns_by_vector(
        &self,
        py: Python<'_>,
        vector: Vec<f32>,
        n: usize,
        search_k: i64,
    ) -> PyResult<(Vec<i64>, Vec<f32>)> {
        let nn = py
            .detach(|| self.index.nns_by_vector(&vector, n, search_k))
            .map_err(query_error)?;
        Ok((nn.ids, nn.distances))
    }

    /// `(ids, distances)` of the `n` items nearest to item `item`.
    #[pyo3(signature = (item, n, search_k=-1))]
    fn nns_by_item(
        &self,
        py: Python<'_>,
        item: i64,
        n: usize,
        search_k: i64,
    ) -> PyResult<(Vec<i64>, Vec<f32>)> {
        let nn = py
            .detach(|| self.index.nns_by_item(item, n, search_k))
            .map_err(query_error)?;
        Ok((nn.ids, nn.distances))
    }

    /// The stored vector of `item`.
    fn item_vector(&self, item: i64) -> PyResult<Vec<f32>> {
        self.index.item_vector(item).map_err(query_error)
    }

    /// Items (one more than the largest item id).
    fn n_items(&self) -> usize {
        self.index.n_items()
    }

    /// Trees.
    fn n_trees(&self) -> usize {
        self.index.n_trees()
    }

    /// The vector dimension.
    #[getter]
    fn dims(&self) -> usize {
        self.index.dims()
    }

    /// The metric's name.
    #[getter]
    fn metric(&self) -> &'static str {
        self.index.metric().name()
    }

    /// Whether the index maps a file (rather than holding a copy of its bytes).
    #[getter]
    fn is_mapped(&self) -> bool {
        self.index.is_mapped()
    }

    /// The file's bytes (a copy), for pickling.
    fn index_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.index.as_bytes())
    }
}
