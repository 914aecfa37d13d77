//! A stage that maps one vector column to one new vector column, row by row: the shape of
//! Spark's vector transformers and feature models (`VectorIndexerModel`, `PCAModel`, the
//! selectors), whose UDF takes one vector and returns one vector.
//!
//! A null input row gives a null output row (Spark's UDFs would throw on it). A row the map
//! calls invalid fails the batch, or, under `handleInvalid = "skip"`, is dropped, as Spark's
//! `na.drop` on the output column drops it.

use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::{Field, FieldRef, Schema};
use scorewell_core::vector::{VECTOR_TYPES, VectorBuilder, VectorColumn, VectorRef, is_vector};
use scorewell_core::{
    Binding, InputColumn, ScoreError, Stage, StageOutput, find_column, vector::vector_data_type,
};

/// One row's vector → one output vector.
pub(crate) trait VectorMap: Send + Sync + std::fmt::Debug {
    /// Append the output for `x` to `out`, or say why not (nothing appended).
    fn map(&self, x: VectorRef<'_>, out: &mut VectorBuilder) -> Result<(), Reject>;
}

/// Why a row has no output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reject {
    /// A value the stage's `handleInvalid` decides about (an unseen category).
    Invalid(String),
    /// An error whatever `handleInvalid` says (a vector of the wrong size).
    Error(String),
}

/// What to do with a row the map calls invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnInvalid {
    /// Fail the batch, naming the column and the row.
    Error,
    /// Drop the row (and write nothing for it).
    Skip,
}

/// `input` → `map` → `output`.
#[derive(Debug)]
pub(crate) struct VectorMapStage {
    name: String,
    input: String,
    output: String,
    map: Arc<dyn VectorMap>,
    on_invalid: OnInvalid,
}

impl VectorMapStage {
    pub(crate) fn new(
        name: &str,
        input: String,
        output: String,
        map: Arc<dyn VectorMap>,
        on_invalid: OnInvalid,
    ) -> Self {
        Self {
            name: name.to_string(),
            input,
            output,
            map,
            on_invalid,
        }
    }
}

/// Bind a vector input column by name, for the stages of this module.
pub(crate) fn bind_vector(schema: &Schema, column: &str, stage: &str) -> Result<usize, ScoreError> {
    let i = find_column(schema, column, || format!("Spark stage `{stage}`"))?;
    let dt = schema.field(i).data_type();
    if !is_vector(dt) {
        return Err(ScoreError::ColumnType {
            column: column.to_string(),
            expected: VECTOR_TYPES.into(),
            got: dt.to_string(),
        });
    }
    Ok(i)
}

impl Stage for VectorMapStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::vector(self.input.clone())]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![Arc::new(Field::new(&self.output, vector_data_type(), true))]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        Ok(Binding::new(vec![bind_vector(
            schema,
            &self.input,
            &self.name,
        )?]))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let x = VectorColumn::try_new(batch.column(binding.columns[0]), &self.input)?;
        let rows = x.len();
        let mut out = VectorBuilder::with_capacity(rows);
        let mut keep: Option<Vec<bool>> = None;
        for row in 0..rows {
            let Some(v) = x.get(row) else {
                out.push_null();
                continue;
            };
            match self.map.map(v, &mut out) {
                Ok(()) => {}
                Err(Reject::Invalid(_)) if self.on_invalid == OnInvalid::Skip => {
                    out.push_null();
                    keep.get_or_insert_with(|| vec![true; rows])[row] = false;
                }
                Err(Reject::Invalid(message) | Reject::Error(message)) => {
                    return Err(ScoreError::InvalidValue {
                        column: self.input.clone(),
                        row,
                        message,
                    });
                }
            }
        }
        Ok(StageOutput {
            columns: vec![out.finish()],
            keep: keep.map(BooleanArray::from),
        })
    }
}
