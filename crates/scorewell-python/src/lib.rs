//! `scorewell._scorewell`: the native half of the `scorewell` Python package.
//!
//! A shell around the `scorewell` facade: it converts types and releases the GIL around every
//! build and scoring call; nothing here decides how a model scores. Arrow data crosses in both
//! directions through the Arrow C Data Interface (arrow's `pyarrow` bridge), so column buffers
//! are shared, not copied. Docstrings, argument handling, pandas and pickling live in the
//! pure-Python package (`python/scorewell`), and the tests are pytest (`python/tests`).

mod annoy;
mod arrays;
mod errors;
mod routing;
mod rows;
mod values;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use arrow_pyarrow::{PyArrowType, Table};
use arrow_schema::SchemaRef;
use arrow_schema::{ArrowError, Schema};
use numpy::{PyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use scorewell::{Error, LazyScorer, LoadOptions, OutputMode, ScoreError, Scorer};

use errors::{load_error, score_error};

/// A model held as bytes and built into a scorer on first use, at most once per process and
/// digest (the facade's `LazyScorer` cache).
#[pyclass(module = "scorewell._scorewell", name = "NativeScorer", frozen)]
struct NativeScorer {
    lazy: LazyScorer,
    /// The path the model was read from, for error messages (absent after unpickling).
    origin: Option<PathBuf>,
    built: OnceLock<Scorer>,
    /// How dict rows are read (made at the first dict call).
    rows: OnceLock<rows::RowReader>,
    /// The model's required inputs in order: the columns of an unnamed NumPy array.
    features: OnceLock<Vec<String>>,
    /// The schemas of unnamed float64 and float32 arrays, made once so that a stream of arrays
    /// finds its binding by pointer.
    array_schemas: [OnceLock<SchemaRef>; 2],
}

/// What can fail while the GIL is released.
enum Failure {
    Load(Error),
    Score(ScoreError),
    Arrow(ArrowError),
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Load(e) => load_error(e),
            Failure::Score(e) => score_error(e),
            Failure::Arrow(e) => errors::ScorewellError::new_err(format!("arrow: {e}")),
        }
    }
}

fn options(output_margin: bool, format: Option<String>) -> LoadOptions {
    LoadOptions {
        mode: if output_margin {
            OutputMode::Margin
        } else {
            OutputMode::Prediction
        },
        format,
        neighbors: None,
        fetch: Default::default(),
        weights: None,
    }
}

impl NativeScorer {
    /// The built scorer, building it now if this process has not built these bytes yet.
    /// Call without the GIL.
    fn scorer(&self) -> Result<Scorer, Failure> {
        if let Some(scorer) = self.built.get() {
            return Ok(scorer.clone());
        }
        let scorer = self
            .lazy
            .get()
            .map_err(|e| Failure::Load(self.name_origin(e)))?;
        let _ = self.built.set(scorer.clone());
        Ok(scorer)
    }

    /// Errors from bytes name the file by its file name; name it by the path the user gave,
    /// as `scorewell score` does.
    fn name_origin(&self, err: Error) -> Error {
        let Some(origin) = &self.origin else {
            return err;
        };
        let named = |path: &Path| Some(path.as_os_str()) == self.lazy.file_name().map(OsStr::new);
        match err {
            Error::Model { path, source } if named(&path) => Error::Model {
                path: origin.clone(),
                source,
            },
            Error::Bundle { path, source } if named(&path) => Error::Bundle {
                path: origin.clone(),
                source,
            },
            err => err,
        }
    }

    fn new(lazy: LazyScorer, origin: Option<PathBuf>) -> Self {
        Self {
            lazy,
            origin,
            built: OnceLock::new(),
            rows: OnceLock::new(),
            features: OnceLock::new(),
            array_schemas: Default::default(),
        }
    }

    /// Score dict rows: read them under the GIL, score without it.
    fn score_dicts<'py>(
        &self,
        py: Python<'py>,
        rows: &[Bound<'py, PyDict>],
    ) -> PyResult<Vec<Option<Bound<'py, PyDict>>>> {
        let scorer = self.scorer_in(py)?;
        let reader = self.rows.get_or_init(|| rows::RowReader::new(py, &scorer));
        let batch = reader.read(py, &scorer, rows)?;
        let scored = py.detach(|| batch.score(&scorer)).map_err(score_error)?;
        batch.dicts(py, &scored)
    }

    /// The built scorer, building it with the GIL released when it is not built yet.
    fn scorer_in(&self, py: Python<'_>) -> Result<Scorer, Failure> {
        match self.built.get() {
            Some(scorer) => Ok(scorer.clone()),
            None => py.detach(|| self.scorer()),
        }
    }

    /// Score a 2-D float array whose columns are `names` (or the model's required inputs).
    fn predict_typed<'py, T: arrays::Real>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyArrayDyn<T>>,
        columns: Option<Vec<String>>,
        slot: usize,
        by_name: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let scorer = self.scorer_in(py)?;
        let features = self.features.get_or_init(|| {
            scorer
                .inputs()
                .into_iter()
                .filter(|c| !c.optional)
                .map(|c| c.name)
                .collect()
        });
        let shape = x.shape();
        if !matches!(shape.len(), 1 | 2) {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "predict() takes a 1-D or 2-D array, not {}-D",
                shape.len()
            )));
        }
        let width = shape[shape.len() - 1];
        let schema = match &columns {
            Some(names) => {
                arrays::check_width(width, names, true)?;
                arrays::array_schema::<T>(names)
            }
            None => {
                arrays::check_width(width, features, false)?;
                self.array_schemas[slot]
                    .get_or_init(|| arrays::array_schema::<T>(features))
                    .clone()
            }
        };
        let bound = scorer.bind_cached(schema.clone()).map_err(score_error)?;
        let width = schema.fields().len();
        if by_name
            && bound.output_schema().fields()[width..]
                .iter()
                .any(|f| f.data_type().is_nested())
        {
            // Vectors and lists: the pandas path gives them as pyarrow's `to_numpy` does.
            return Ok(py.None().into_bound(py));
        }
        let batch = arrays::batch_from_array(x, schema)?;
        let (outputs, rows) = py
            .detach(|| bound.score_outputs(&batch))
            .map_err(score_error)?;
        if rows != batch.num_rows() && by_name {
            // The pandas path then scores the frame through Arrow, which keeps the rows.
            return Ok(py.None().into_bound(py));
        }
        if rows != batch.num_rows() {
            return Err(errors::ScorewellError::new_err(format!(
                "the pipeline dropped {} of {} rows (a stage skips invalid rows), so its outputs \
                 do not line up with the array; use score_rows() (None for a dropped row) or \
                 score() on a DataFrame",
                batch.num_rows() - rows,
                batch.num_rows()
            )));
        }
        let schema = bound.output_schema();
        arrays::outputs_to_numpy(
            py,
            &schema.fields()[batch.num_columns()..],
            &outputs,
            rows,
            by_name,
        )
    }
}

#[pymethods]
impl NativeScorer {
    /// Hold model or bundle bytes; nothing is parsed until first use.
    #[staticmethod]
    #[pyo3(signature = (data, file_name=None, output_margin=false, format=None))]
    fn from_bytes(
        data: &[u8],
        file_name: Option<&str>,
        output_margin: bool,
        format: Option<String>,
    ) -> Self {
        let lazy = LazyScorer::new(data.to_vec(), file_name, options(output_margin, format));
        Self::new(lazy, None)
    }

    /// Read a model file or bundle (or fetch a URL) into memory, checking a sha256 pin;
    /// nothing is parsed until first use.
    #[staticmethod]
    #[pyo3(signature = (path, output_margin=false, format=None, sha256=None))]
    fn from_path(
        py: Python<'_>,
        path: PathBuf,
        output_margin: bool,
        format: Option<String>,
        sha256: Option<String>,
    ) -> PyResult<Self> {
        let (bytes, name) = py
            .detach(|| {
                let mut fetch = scorewell::FetchOptions::from_env()?;
                fetch.sha256 = sha256
                    .as_deref()
                    .map(scorewell::Sha256Pin::parse)
                    .transpose()?;
                scorewell::source_bytes_with(&path, &fetch)
            })
            .map_err(load_error)?;
        let lazy = LazyScorer::new(bytes, name.as_deref(), options(output_margin, format));
        Ok(Self::new(lazy, Some(path)))
    }

    /// Build the scorer now (once per process and digest); raises the load error if any.
    fn build(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.scorer())?;
        Ok(())
    }

    /// Whether this handle has been built (or fetched from the process cache) yet.
    #[getter]
    fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    /// The sha256 of the model bytes, lowercase hex.
    #[getter]
    fn digest(&self) -> &str {
        self.lazy.digest()
    }

    /// The file name used for format detection, if any.
    #[getter]
    fn file_name(&self) -> Option<&str> {
        self.lazy.file_name()
    }

    /// Whether the scorer appends raw margins instead of predictions.
    #[getter]
    fn output_margin(&self) -> bool {
        self.lazy.options().mode == OutputMode::Margin
    }

    /// The forced format name, if any.
    #[getter]
    fn format(&self) -> Option<&str> {
        self.lazy.options().format.as_deref()
    }

    /// The model bytes (a copy, as Python `bytes`), for pickling.
    fn model_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.lazy.bytes())
    }

    /// The input column names, in the model's order (builds the scorer).
    fn inputs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let scorer = py.detach(|| self.scorer())?;
        Ok(scorer.inputs().into_iter().map(|c| c.name).collect())
    }

    /// The input columns that take numbers only (features, integer category codes); the others
    /// also take strings (category names, text). Builds the scorer.
    fn numeric_inputs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let scorer = py.detach(|| self.scorer())?;
        Ok(scorer
            .inputs()
            .into_iter()
            .filter(|c| c.numeric)
            .map(|c| c.name)
            .collect())
    }

    /// The names of the columns scoring appends (builds the scorer).
    fn outputs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let scorer = py.detach(|| self.scorer())?;
        Ok(scorer
            .pipeline()
            .stages()
            .iter()
            .flat_map(|s| s.output_fields())
            .map(|f| f.name().clone())
            .collect())
    }

    /// The schema of scored batches for batches of `schema`: checks every input column's
    /// presence and type, exactly as scoring does.
    fn output_schema(
        &self,
        py: Python<'_>,
        schema: PyArrowType<Schema>,
    ) -> PyResult<PyArrowType<Schema>> {
        let schema = std::sync::Arc::new(schema.0);
        let out = py.detach(|| -> Result<_, Failure> {
            let bound = self.scorer()?.bind(schema).map_err(Failure::Score)?;
            Ok(bound.output_schema())
        })?;
        Ok(PyArrowType(out.as_ref().clone()))
    }

    /// Score one `pyarrow.RecordBatch` (or any object exporting `__arrow_c_array__`):
    /// its columns followed by the prediction columns.
    fn score_batch(
        &self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let batch = batch.0;
        let out = py.detach(|| -> Result<_, Failure> {
            self.scorer()?.score(&batch).map_err(Failure::Score)
        })?;
        Ok(PyArrowType(out))
    }

    /// Score one `pyarrow.RecordBatch` and return only the columns scoring appends, for the
    /// caller to append to the batch it holds (so the inputs do not cross back); or, when a
    /// stage dropped rows, the whole scored batch, whose inputs are filtered.
    fn score_appended(
        &self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let batch = batch.0;
        let out = py.detach(|| -> Result<_, Failure> {
            let bound = self
                .scorer()?
                .bind_cached(batch.schema())
                .map_err(Failure::Score)?;
            let (outputs, rows) = bound.score_outputs(&batch).map_err(Failure::Score)?;
            if rows != batch.num_rows() {
                return bound.score(&batch).map_err(Failure::Score);
            }
            let schema = bound.output_schema();
            let appended = Schema::new(schema.fields()[batch.num_columns()..].to_vec());
            RecordBatch::try_new_with_options(
                std::sync::Arc::new(appended),
                outputs,
                &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
            )
            .map_err(Failure::Arrow)
        })?;
        Ok(PyArrowType(out))
    }

    /// Score a `pyarrow.Table` (or any object exporting `__arrow_c_stream__`) batch by batch,
    /// binding its schema once.
    fn score_table(
        &self,
        py: Python<'_>,
        table: PyArrowType<Table>,
    ) -> PyResult<PyArrowType<Table>> {
        let (batches, schema) = table.0.into_inner();
        let out = py.detach(|| -> Result<_, Failure> {
            let bound = self.scorer()?.bind(schema).map_err(Failure::Score)?;
            let scored = batches
                .iter()
                .map(|b| bound.score(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Failure::Score)?;
            Table::try_new(scored, bound.output_schema()).map_err(Failure::Arrow)
        })?;
        Ok(PyArrowType(out))
    }

    /// Score one row given as a dict: a dict of the output columns (`None` when the pipeline
    /// drops the row).
    fn score_one<'py>(
        &self,
        py: Python<'py>,
        row: Bound<'py, PyDict>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        Ok(self
            .score_dicts(py, std::slice::from_ref(&row))?
            .pop()
            .flatten())
    }

    /// Score a list of dict rows: a list of dicts of the output columns.
    fn score_rows<'py>(
        &self,
        py: Python<'py>,
        rows: &Bound<'py, PyList>,
    ) -> PyResult<Vec<Option<Bound<'py, PyDict>>>> {
        let rows: Vec<Bound<'py, PyDict>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.cast_into::<PyDict>().map_err(|e| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "score_rows() takes a list of dicts; item {i} is a {}",
                        e.into_inner()
                            .get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })
            })
            .collect::<PyResult<_>>()?;
        self.score_dicts(py, &rows)
    }

    /// Score a float64 or float32 NumPy array: 2-D (rows × columns) or 1-D (one row).
    /// `by_name`: always a dict of output arrays by name, and `None` (nothing scored, or a
    /// stage dropped rows) where the pandas path must go through Arrow instead.
    #[pyo3(signature = (x, columns=None, by_name=false))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        columns: Option<Vec<String>>,
        by_name: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(x) = x.cast::<PyArrayDyn<f64>>() {
            return self.predict_typed(py, x, columns, 0, by_name);
        }
        if let Ok(x) = x.cast::<PyArrayDyn<f32>>() {
            return self.predict_typed(py, x, columns, 1, by_name);
        }
        Err(pyo3::exceptions::PyTypeError::new_err(
            "predict() takes a float64 or float32 numpy array",
        ))
    }

    fn __repr__(&self) -> String {
        let name = self
            .origin
            .as_deref()
            .map(Path::display)
            .map(|p| p.to_string())
            .or_else(|| self.lazy.file_name().map(str::to_string))
            .unwrap_or_else(|| "<bytes>".into());
        format!("NativeScorer({name:?}, digest={:.12})", self.lazy.digest())
    }
}

/// How many scorers this process has built from bytes (`scorewell::lazy_builds`).
#[pyfunction]
fn build_count() -> u64 {
    scorewell::lazy_builds()
}

/// Packs a Keras architecture JSON and its weights file into `.keras` archive bytes
/// (`scorewell::keras_archive`): one blob to pickle and broadcast.
#[pyfunction]
fn keras_archive(json: &[u8], weights: &[u8]) -> PyResult<Vec<u8>> {
    scorewell::keras_archive(json, weights).map_err(load_error)
}

/// The native module.
#[pymodule]
fn _scorewell(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<NativeScorer>()?;
    m.add_class::<annoy::NativeAnnoyIndex>()?;
    m.add_function(wrap_pyfunction!(build_count, m)?)?;
    m.add_function(wrap_pyfunction!(keras_archive, m)?)?;
    m.add_function(wrap_pyfunction!(routing::create_model_set, m)?)?;
    m.add("ScorewellError", py.get_type::<errors::ScorewellError>())?;
    m.add("SchemaError", py.get_type::<errors::SchemaError>())?;
    m.add("ModelLoadError", py.get_type::<errors::ModelLoadError>())?;
    m.add(
        "UnsupportedModelError",
        py.get_type::<errors::UnsupportedModelError>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Optional model formats this build scores (cargo features of this crate).
    let features: Vec<&str> = [("onnx", cfg!(feature = "onnx"))]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
    m.add("FEATURES", features)?;
    Ok(())
}
