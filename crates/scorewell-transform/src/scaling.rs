//! What the three scalers share: one vector column (Spark's form) or several numeric
//! columns scaled feature by feature.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::FieldRef;
use scorewell_core::vector::{VectorColumn, VectorRef};
use scorewell_core::{Binding, InputColumn, ScoreError};

use crate::common::{self, Accept};
use crate::error::{TransformError, invalid};

/// The columns of a scaler and the number of features it was fitted on.
#[derive(Debug, Clone)]
pub(crate) struct ScalerColumns {
    pub(crate) name: String,
    pub(crate) inputs: Vec<String>,
    pub(crate) outputs: Vec<String>,
    /// True for Spark's one-vector-column form; false for one numeric column per feature.
    pub(crate) vector: bool,
}

impl ScalerColumns {
    pub(crate) fn new(
        name: &str,
        input: Option<String>,
        output: Option<String>,
        inputs: Option<Vec<String>>,
        outputs: Option<Vec<String>>,
    ) -> Result<Self, TransformError> {
        let (inputs, outputs, multi) = common::column_pairs(input, output, inputs, outputs)?;
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            vector: !multi,
        })
    }

    /// Check a statistics vector's length: any length for a vector column (checked per
    /// row), one entry per column otherwise.
    pub(crate) fn check_stats(&self, path: &str, len: usize) -> Result<(), TransformError> {
        if !self.vector && len != self.inputs.len() {
            return Err(TransformError::param(
                path,
                format!(
                    "has {len} values but `inputs` names {} columns",
                    self.inputs.len()
                ),
            ));
        }
        common::check_vector_size(path, len)
    }

    pub(crate) fn accept(&self) -> Accept {
        if self.vector {
            Accept::Vector
        } else {
            Accept::Numeric
        }
    }

    pub(crate) fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, self.accept())
    }

    pub(crate) fn output_fields(&self) -> Vec<FieldRef> {
        let field = if self.vector {
            common::vector_field
        } else {
            common::f64_field
        };
        self.outputs.iter().map(|o| field(o)).collect()
    }

    pub(crate) fn bind(&self, schema: &arrow_schema::Schema) -> Result<Binding, ScoreError> {
        let accept = self.accept();
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), accept)),
        )
    }

    /// Scalar form: `f(feature, x)` for every non-null value.
    pub(crate) fn apply_scalars(
        &self,
        binding: &Binding,
        batch: &RecordBatch,
        f: impl Fn(usize, f64) -> f64,
    ) -> Result<Vec<ArrayRef>, ScoreError> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for (feature, col) in binding.columns.iter().enumerate() {
            let values = common::f64_column(batch.column(*col))?;
            let scaled: Float64Array = values.iter().map(|v| v.map(|x| f(feature, x))).collect();
            out.push(Arc::new(scaled) as ArrayRef);
        }
        Ok(out)
    }

    /// Vector form: `f(row, vector)` for every non-null row, after checking its size.
    pub(crate) fn apply_vectors(
        &self,
        binding: &Binding,
        batch: &RecordBatch,
        size: usize,
        mut f: impl FnMut(VectorRef<'_>, &mut scorewell_core::vector::VectorBuilder),
    ) -> Result<Vec<ArrayRef>, ScoreError> {
        let column = &self.inputs[0];
        let vectors = VectorColumn::try_new(batch.column(binding.columns[0]), column)?;
        let mut b = scorewell_core::vector::VectorBuilder::with_capacity(vectors.len());
        for row in 0..vectors.len() {
            match vectors.get(row) {
                None => b.push_null(),
                Some(v) if v.len() != size => {
                    return Err(invalid(
                        column,
                        row,
                        format!(
                            "vector has {} values but the scaler was fitted on {size}",
                            v.len()
                        ),
                    ));
                }
                Some(v) => f(v, &mut b),
            }
        }
        Ok(vec![b.finish()])
    }
}
