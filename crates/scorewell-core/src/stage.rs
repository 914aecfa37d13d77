//! A pipeline stage: reads named columns, appends columns.

use std::fmt::Debug;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{FieldRef, Schema};

use crate::error::{Result, ScoreError};
use crate::model::ForestModel;

/// The resolved positions of a stage's input columns in one schema. Made once by
/// [`Stage::bind`] per input schema, then reused for every batch of that schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Column index in the batch for each of the stage's inputs, in the stage's order.
    pub columns: Vec<usize>,
}

/// A column a stage reads, as declared before any data is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputColumn {
    /// Column name.
    pub name: String,
    /// True when only numbers (or booleans) are accepted, so text readers can parse the column
    /// as floats instead of guessing its type.
    pub numeric: bool,
}

/// One step of a pipeline: a feature transform or a model.
///
/// A stage names the columns it reads; [`Stage::bind`] checks that a schema has them with
/// acceptable types, so per-batch work never looks a column up by name.
pub trait Stage: Send + Sync + Debug {
    /// A short name for errors and `inspect` (e.g. `xgboost`).
    fn name(&self) -> &str;

    /// The columns this stage reads.
    fn inputs(&self) -> Vec<InputColumn>;

    /// The columns this stage appends, in order.
    fn output_fields(&self) -> Vec<FieldRef>;

    /// Resolve and type-check this stage's inputs in `schema`.
    fn bind(&self, schema: &Schema) -> Result<Binding>;

    /// Compute the output columns for `batch`, which has the schema `binding` was made for.
    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput>;

    /// The tree-ensemble model this stage scores, if it is a model stage: lets callers that
    /// describe a pipeline read the model's objective (`scorewell eval --task auto`). `None`
    /// for transforms and other stages.
    fn forest_model(&self) -> Option<&ForestModel> {
        None
    }
}

/// What [`Stage::apply`] produced for one batch.
#[derive(Debug, Clone)]
pub struct StageOutput {
    /// One array per [`Stage::output_fields`], each as long as the input batch.
    pub columns: Vec<ArrayRef>,
    /// Rows to keep, when the stage drops rows (Spark's `handleInvalid = "skip"`): the
    /// pipeline filters every column by it before the next stage. `None` keeps all rows.
    pub keep: Option<BooleanArray>,
}

impl From<Vec<ArrayRef>> for StageOutput {
    fn from(columns: Vec<ArrayRef>) -> Self {
        Self {
            columns,
            keep: None,
        }
    }
}

/// Find `name` in `schema` or say which columns exist.
pub fn find_column(
    schema: &Schema,
    name: &str,
    needed_by: impl FnOnce() -> String,
) -> Result<usize> {
    // Not `Schema::index_of`: its error formats every field name, which costs more than the
    // lookup when callers only probe.
    schema
        .column_with_name(name)
        .map(|(i, _)| i)
        .ok_or_else(|| {
            let mut available: Vec<&str> =
                schema.fields().iter().map(|f| f.name().as_str()).collect();
            const SHOW: usize = 20;
            let more = available.len().saturating_sub(SHOW);
            available.truncate(SHOW);
            let mut list = available.join(", ");
            if more > 0 {
                list.push_str(&format!(", … ({more} more)"));
            }
            if list.is_empty() {
                list = "(none)".into();
            }
            ScoreError::MissingColumn {
                column: name.to_string(),
                needed_by: needed_by(),
                available: list,
            }
        })
}
