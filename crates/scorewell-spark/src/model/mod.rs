//! Spark ML model stages: a [`Kernel`] computes each row's raw values from the features
//! vector column, and a [`Head`] turns them into Spark's output columns (`rawPrediction`,
//! `probability`, `prediction`, …) with Spark's own formulas.

mod forest;
mod head;
mod vector_map;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::{VECTOR_TYPES, VectorColumn, VectorRef, is_vector};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput, find_column};

pub(crate) use forest::{ForestKernel, LeafTable};
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
}

/// A row-at-a-time kernel body: most Spark models are a few dot products per row.
pub(crate) trait RowKernel: Send + Sync + std::fmt::Debug {
    /// Values per row.
    fn width(&self) -> usize;
    /// The feature count.
    fn num_features(&self) -> usize;
    /// Write this row's values into `out` (`width` values).
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]);
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

/// A Spark model as a pipeline stage.
#[derive(Debug)]
pub(crate) struct ModelStage {
    name: String,
    features: String,
    kernel: Arc<dyn Kernel>,
    head: Head,
}

impl ModelStage {
    pub(crate) fn new(name: &str, features: String, kernel: Arc<dyn Kernel>, head: Head) -> Self {
        Self {
            name: name.to_string(),
            features,
            kernel,
            head,
        }
    }
}

impl Stage for ModelStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn {
            name: self.features.clone(),
            numeric: false,
        }]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.head.fields()
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
        Ok(Binding { columns: vec![i] })
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
        }
        let width = self.kernel.width();
        let mut raw = vec![0.0; rows * width];
        self.kernel.compute(&x, &mut raw)?;
        let valid: Vec<bool> = (0..rows).map(|i| x.get(i).is_some()).collect();
        Ok(self.head.columns(&raw, width, &valid).into())
    }
}
