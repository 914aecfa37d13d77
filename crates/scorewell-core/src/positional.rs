//! Reading a model's inputs by position: for models fitted on bare arrays, whose files name
//! their features `x0, x1, …` (scikit-learn), `Column_0, …` (LightGBM) or `f0, …` (XGBoost),
//! while the data has its own column names.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, FieldRef, Schema};

use crate::error::{Result, ScoreError};
use crate::scorer::{Pipeline, Scorer};
use crate::stage::{Binding, InputColumn, Stage, StageOutput};

/// A stage that appends input column `i` under the model's `i`-th input name. Columns that
/// already carry that name are left alone.
#[derive(Debug)]
pub struct ByPosition {
    names: Vec<String>,
}

impl Stage for ByPosition {
    fn name(&self) -> &str {
        "columns_by_position"
    }

    fn inputs(&self) -> Vec<InputColumn> {
        Vec::new()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.names
            .iter()
            .map(|n| Arc::new(Field::new(n, arrow_schema::DataType::Float64, true)))
            .collect()
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        if schema.fields().len() < self.names.len() {
            return Err(ScoreError::SchemaMismatch(format!(
                "columns are read by position and the model has {} inputs, but the data has {} columns",
                self.names.len(),
                schema.fields().len()
            )));
        }
        let mut columns = Vec::new();
        let mut outputs = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            let field = schema.field(i);
            if field.name() == name {
                continue;
            }
            if schema.column_with_name(name).is_some() {
                return Err(ScoreError::DuplicateColumn {
                    column: name.clone(),
                });
            }
            columns.push(i);
            outputs.push(Arc::new(Field::new(
                name,
                field.data_type().clone(),
                field.is_nullable(),
            )));
        }
        Ok(Binding::with_outputs(columns, outputs))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        Ok(binding
            .columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect::<Vec<_>>()
            .into())
    }
}

impl Scorer {
    /// This scorer reading its inputs by position: the data's first columns, in order, are
    /// the model's inputs (appended under the model's names).
    pub fn by_position(&self) -> Scorer {
        let names = self.inputs().into_iter().map(|c| c.name).collect();
        let mut pipeline = Pipeline::new().push(Arc::new(ByPosition { names }));
        for s in self.pipeline().stages() {
            pipeline = pipeline.push(s.clone());
        }
        if let Some(selected) = self.pipeline().selected_outputs() {
            pipeline = pipeline.select_outputs(selected.to_vec());
        }
        Scorer::new(pipeline)
    }
}
