//! A pipeline stage: reads named columns, appends columns.

use std::fmt::Debug;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{FieldRef, Schema};

use crate::error::{Result, ScoreError};
use scorewell_forest::EngineInfo;

use crate::model::ForestModel;

/// The resolved positions of a stage's input columns in one schema. Made once by
/// [`Stage::bind`] per input schema, then reused for every batch of that schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Column index in the batch for each of the stage's inputs, in the stage's order (a
    /// stage with [optional](InputColumn::optional) inputs lists the present ones).
    pub columns: Vec<usize>,
    /// The columns the stage appends for this schema, when they differ from
    /// [`Stage::output_fields`]: outputs dropped because their optional input is absent, or
    /// output types that follow the input's type. `None` appends `output_fields()`.
    /// [`Stage::apply`] returns one array per appended column.
    pub outputs: Option<Vec<FieldRef>>,
}

impl Binding {
    /// A binding that appends the stage's declared [`Stage::output_fields`].
    pub fn new(columns: Vec<usize>) -> Self {
        Self {
            columns,
            outputs: None,
        }
    }

    /// A binding that appends `outputs` instead of the declared output fields.
    pub fn with_outputs(columns: Vec<usize>, outputs: Vec<FieldRef>) -> Self {
        Self {
            columns,
            outputs: Some(outputs),
        }
    }
}

/// A column a stage reads, as declared before any data is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputColumn {
    /// Column name.
    pub name: String,
    /// True when only numbers (or booleans) are accepted, so text readers can parse the column
    /// as floats instead of guessing its type.
    pub numeric: bool,
    /// True when only ML vectors are accepted (Spark's `VectorUDT` struct, or a list of
    /// floats), so a bundle made from a Spark pipeline declares such an input as a vector.
    pub vector: bool,
    /// True when the stage binds without this column and then drops the outputs made from it
    /// (Spark's StringIndexerModel skips a column absent at transform time, such as the
    /// label of a pipeline scored on unlabelled rows).
    pub optional: bool,
}

impl InputColumn {
    /// A required column; `numeric` as in [`InputColumn::numeric`].
    pub fn new(name: impl Into<String>, numeric: bool) -> Self {
        Self {
            name: name.into(),
            numeric,
            vector: false,
            optional: false,
        }
    }

    /// A required column of ML vectors.
    pub fn vector(name: impl Into<String>) -> Self {
        Self {
            vector: true,
            ..Self::new(name, false)
        }
    }
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

    /// The columns this stage appends, in order, when every input is present. A binding may
    /// drop some of them or give them the input's type ([`Binding::outputs`]); the
    /// [`BoundScorer`](crate::BoundScorer)'s schema has the columns actually appended.
    fn output_fields(&self) -> Vec<FieldRef>;

    /// Resolve and type-check this stage's inputs in `schema`.
    fn bind(&self, schema: &Schema) -> Result<Binding>;

    /// Compute the output columns for `batch`, which has the schema `binding` was made for:
    /// one per [`Binding::outputs`] when set, else one per [`Stage::output_fields`].
    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput>;

    /// The tree-ensemble model this stage scores, if it is a model stage: lets callers that
    /// describe a pipeline read the model's objective (`scorewell eval --task auto`). `None`
    /// for transforms and other stages.
    fn forest_model(&self) -> Option<&ForestModel> {
        None
    }

    /// Which engine scores each forest this stage holds (interpreter or generated code), for
    /// `inspect` and `bench`. Empty for stages without a forest.
    fn engines(&self) -> Vec<EngineInfo> {
        Vec::new()
    }
}

/// What [`Stage::apply`] produced for one batch.
#[derive(Debug, Clone)]
pub struct StageOutput {
    /// One array per appended column (see [`Stage::apply`]), each as long as the input batch.
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
