//! Spark ML model stages: a [`Kernel`] computes each row's raw values from the features
//! vector column, and a [`Head`] turns them into Spark's output columns (`rawPrediction`,
//! `probability`, `prediction`, …) with Spark's own formulas.

mod forest;
mod head;
mod vector_map;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{
    VECTOR_TYPES, VectorBuilder, VectorColumn, VectorRef, is_vector, vector_data_type,
};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput, find_column};

pub(crate) use forest::ForestKernel;
pub(crate) use head::{Decide, Head, ProbRule, RegressionLink};
pub(crate) use vector_map::{OnInvalid, Reject, VectorMap, VectorMapStage, bind_vector};

/// Computes `width()` raw values per row from a features vector.
pub(crate) trait Kernel: Send + Sync + std::fmt::Debug {
    /// Values per row.
    fn width(&self) -> usize;
    /// The feature count the model was trained on, when known.
    fn num_features(&self) -> Option<usize>;
    /// Fill `out` (`rows × width`, row-major) for every row of `x`; null rows are skipped
    /// (their values are ignored by the caller).
    fn compute(&self, x: &VectorColumn, out: &mut [f64]) -> Result<(), ScoreError>;
    /// Refuse a row Spark's model refuses (`Err` says why); called before [`Kernel::compute`].
    fn check_row(&self, _x: VectorRef<'_>) -> Result<(), String> {
        Ok(())
    }
    /// The engine of the forest this kernel scores, if it is a forest.
    fn engine(&self) -> Option<scorewell_forest::EngineInfo> {
        None
    }
}

/// A row-at-a-time kernel body: most Spark models are a few dot products per row.
pub(crate) trait RowKernel: Send + Sync + std::fmt::Debug {
    /// Values per row.
    fn width(&self) -> usize;
    /// The feature count.
    fn num_features(&self) -> usize;
    /// Write this row's values into `out` (`width` values).
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]);
    /// Refuse a row Spark's model refuses (`Err` says why).
    fn check_row(&self, _x: VectorRef<'_>) -> Result<(), String> {
        Ok(())
    }
}

impl<K: RowKernel> Kernel for K {
    fn width(&self) -> usize {
        RowKernel::width(self)
    }
    fn num_features(&self) -> Option<usize> {
        Some(RowKernel::num_features(self))
    }
    fn compute(&self, x: &VectorColumn, out: &mut [f64]) -> Result<(), ScoreError> {
        let w = RowKernel::width(self);
        for (i, chunk) in out.chunks_exact_mut(w).enumerate() {
            if let Some(v) = x.get(i) {
                RowKernel::row(self, v, chunk);
            }
        }
        Ok(())
    }
    fn check_row(&self, x: VectorRef<'_>) -> Result<(), String> {
        RowKernel::check_row(self, x)
    }
}

/// `x · w` over the entries `x` stores (Spark's `BLAS.dot` for dense and sparse vectors).
#[inline]
pub(crate) fn dot(x: VectorRef<'_>, w: &[f64]) -> f64 {
    let mut s = 0.0;
    match x {
        VectorRef::Dense(v) => {
            for (a, b) in v.iter().zip(w) {
                s += a * b;
            }
        }
        VectorRef::Sparse {
            indices, values, ..
        } => {
            for (i, a) in indices.iter().zip(values) {
                if let Some(b) = w.get(*i as usize) {
                    s += a * b;
                }
            }
        }
    }
    s
}

/// A column a model writes after its head's columns from a kernel of its own (a tree model's
/// `leafCol`, a decision tree regressor's `varianceCol`): one value per row as `Float64`, or a
/// dense vector of `width` values.
#[derive(Debug)]
pub(crate) struct Extra {
    pub(crate) name: String,
    pub(crate) kernel: Arc<dyn Kernel>,
    pub(crate) vector: bool,
}

impl Extra {
    fn field(&self) -> FieldRef {
        let dt = if self.vector {
            vector_data_type()
        } else {
            DataType::Float64
        };
        Arc::new(Field::new(&self.name, dt, true))
    }

    fn column(&self, x: &VectorColumn, valid: &[bool]) -> Result<ArrayRef, ScoreError> {
        let width = self.kernel.width();
        let mut values = vec![0.0; valid.len() * width];
        self.kernel.compute(x, &mut values)?;
        if self.vector {
            let mut b = VectorBuilder::with_capacity(valid.len());
            for (row, ok) in valid.iter().enumerate() {
                if *ok {
                    b.push_dense(&values[row * width..(row + 1) * width]);
                } else {
                    b.push_null();
                }
            }
            Ok(b.finish())
        } else {
            Ok(Arc::new(
                valid
                    .iter()
                    .enumerate()
                    .map(|(row, ok)| ok.then(|| values[row * width]))
                    .collect::<Float64Array>(),
            ))
        }
    }
}

/// A Spark model as a pipeline stage.
#[derive(Debug)]
pub(crate) struct ModelStage {
    name: String,
    features: String,
    kernel: Arc<dyn Kernel>,
    head: Head,
    /// A GLM's `offsetCol`: added to the one raw value (the linear predictor) of each row.
    offset: Option<String>,
    extras: Vec<Extra>,
}

impl ModelStage {
    pub(crate) fn new(name: &str, features: String, kernel: Arc<dyn Kernel>, head: Head) -> Self {
        Self {
            name: name.to_string(),
            features,
            kernel,
            head,
            offset: None,
            extras: Vec::new(),
        }
    }

    /// Add `offset`'s value (cast to a double) to each row's one raw value; a null offset
    /// gives null outputs, as Spark's UDF of a null primitive does.
    pub(crate) fn with_offset(mut self, offset: Option<String>) -> Self {
        self.offset = offset;
        self
    }

    /// The vector columns this stage writes, with their sizes.
    pub(crate) fn vector_outputs(&self) -> Vec<(String, usize)> {
        let mut out = self.head.vector_columns(self.kernel.width());
        out.extend(
            self.extras
                .iter()
                .filter(|e| e.vector)
                .map(|e| (e.name.clone(), e.kernel.width())),
        );
        out
    }

    /// Append `extras` after the head's columns.
    pub(crate) fn with_extras(mut self, extras: Vec<Extra>) -> Self {
        self.extras = extras;
        self
    }
}

impl Stage for ModelStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn engines(&self) -> Vec<scorewell_forest::EngineInfo> {
        self.kernel.engine().into_iter().collect()
    }

    fn inputs(&self) -> Vec<InputColumn> {
        let mut inputs = vec![InputColumn::vector(self.features.clone())];
        inputs.extend(
            self.offset
                .iter()
                .map(|o| InputColumn::new(o.clone(), true)),
        );
        inputs
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let mut fields = self.head.fields();
        fields.extend(self.extras.iter().map(Extra::field));
        fields
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        let i = find_column(schema, &self.features, || {
            format!("Spark model `{}` (featuresCol)", self.name)
        })?;
        let dt = schema.field(i).data_type();
        if !is_vector(dt) {
            return Err(ScoreError::ColumnType {
                column: self.features.clone(),
                expected: VECTOR_TYPES.into(),
                got: dt.to_string(),
            });
        }
        let mut columns = vec![i];
        if let Some(offset) = &self.offset {
            let j = find_column(schema, offset, || {
                format!("Spark model `{}` (offsetCol)", self.name)
            })?;
            let dt = schema.field(j).data_type();
            if !is_number(dt) {
                return Err(ScoreError::ColumnType {
                    column: offset.clone(),
                    expected: "a number".into(),
                    got: dt.to_string(),
                });
            }
            columns.push(j);
        }
        Ok(Binding::new(columns))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let col: &ArrayRef = batch.column(binding.columns[0]);
        let x = VectorColumn::try_new(col, &self.features)?;
        let rows = x.len();
        let expected = self.kernel.num_features();
        for i in 0..rows {
            let Some(v) = x.get(i) else { continue };
            let invalid = |message: String| ScoreError::InvalidValue {
                column: self.features.clone(),
                row: i,
                message,
            };
            if let Some(n) = expected
                && v.len() != n
            {
                return Err(invalid(format!(
                    "the model expects vectors of size {n}, got size {}",
                    v.len()
                )));
            }
            self.kernel.check_row(v).map_err(invalid)?;
        }
        let width = self.kernel.width();
        let mut raw = vec![0.0; rows * width];
        self.kernel.compute(&x, &mut raw)?;
        let mut valid: Vec<bool> = (0..rows).map(|i| x.get(i).is_some()).collect();
        if let Some(&j) = binding.columns.get(1) {
            let offsets = arrow_cast::cast(batch.column(j), &DataType::Float64)?;
            let offsets = offsets.as_primitive::<Float64Type>();
            for (i, ok) in valid.iter_mut().enumerate() {
                if offsets.is_null(i) {
                    *ok = false;
                } else {
                    raw[i * width] += offsets.value(i);
                }
            }
        }
        let mut columns = self.head.columns(&raw, width, &valid);
        for extra in &self.extras {
            columns.push(extra.column(&x, &valid)?);
        }
        Ok(columns.into())
    }
}

/// Whether Spark can cast a column of type `dt` to a double for an offset.
fn is_number(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Boolean | DataType::Null)
}
