//! A nearest-neighbour lookup as a pipeline stage: a vector column in, annoy's neighbours out.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use rayon::prelude::*;
use scorewell_core::vector::{VectorColumn, is_vector};
use scorewell_core::{Binding, InputColumn, Result, ScoreError, Stage, StageOutput, find_column};

use crate::index::AnnoyIndex;
use crate::search::Neighbors;

/// An integer column of item ids (int32 or int64), nulls kept; `column` names it in the error.
pub fn item_ids(
    array: &dyn arrow_array::Array,
    column: &str,
) -> std::result::Result<Vec<Option<i64>>, String> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    match array.data_type() {
        DataType::Int64 => Ok(array.as_primitive::<Int64Type>().iter().collect()),
        DataType::Int32 => Ok(array
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect()),
        other => Err(format!(
            "id column `{column}` has type {other}; expected int32 or int64"
        )),
    }
}

/// Item id → label (e.g. the attack a known signature belongs to).
#[derive(Debug, Clone, Default)]
pub struct LabelTable {
    labels: HashMap<i64, String>,
}

impl LabelTable {
    /// A table from `(item id, label)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (i64, String)>) -> Self {
        Self {
            labels: pairs.into_iter().collect(),
        }
    }

    /// The label of `id`, if it has one.
    pub fn get(&self, id: i64) -> Option<&str> {
        self.labels.get(&id).map(String::as_str)
    }

    /// How many ids have labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when no id has a label.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// How a [`NeighborsStage`] queries and names its outputs.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// The vector column to query with; `None` takes the input's one vector column (a list
    /// or fixed-size list of floats, or an ML vector), and refuses inputs with none or several.
    pub query_column: Option<String>,
    /// Neighbours per row.
    pub k: usize,
    /// annoy's `search_k` (`-1`: `k × trees`).
    pub search_k: i64,
    /// Output: item ids, nearest first (`list<int64>`).
    pub neighbors_output: String,
    /// Output: their distances (`list<float32>`).
    pub distances_output: String,
    /// With a label table: the nearest item's label (`utf8`) and distance (`float32`).
    pub labels: Option<(Arc<LabelTable>, String, String)>,
}

impl StageOptions {
    /// `k` neighbours of `query_column` into `neighbors` and `distances`, default search_k.
    pub fn new(query_column: Option<String>, k: usize) -> Self {
        Self {
            query_column,
            k,
            search_k: -1,
            neighbors_output: "neighbors".into(),
            distances_output: "distances".into(),
            labels: None,
        }
    }
}

/// Looks up each row's vector in an annoy index. Null vectors give null outputs; a vector of
/// the wrong length or holding NaN is an error naming the column and row.
#[derive(Debug)]
pub struct NeighborsStage {
    name: String,
    index: Arc<AnnoyIndex>,
    options: StageOptions,
}

/// Rows per batch below which the lookups run on the caller's thread.
const PARALLEL_ROWS: usize = 16;

impl NeighborsStage {
    /// A stage named `name` over `index`.
    pub fn new(name: impl Into<String>, index: Arc<AnnoyIndex>, options: StageOptions) -> Self {
        Self {
            name: name.into(),
            index,
            options,
        }
    }

    /// The index this stage queries.
    pub fn index(&self) -> &AnnoyIndex {
        &self.index
    }

    fn query(&self, vectors: &VectorColumn, column: &str, row: usize) -> Result<Option<Neighbors>> {
        let Some(v) = vectors.get(row) else {
            return Ok(None);
        };
        let q: Vec<f32> = v.to_dense().into_iter().map(|x| x as f32).collect();
        self.index
            .nns_by_vector(&q, self.options.k, self.options.search_k)
            .map(Some)
            .map_err(|e| ScoreError::InvalidValue {
                column: column.to_string(),
                row,
                message: e.to_string(),
            })
    }
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

impl Stage for NeighborsStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.options
            .query_column
            .iter()
            .map(InputColumn::vector)
            .collect()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let o = &self.options;
        let mut fields = vec![
            Arc::new(Field::new(
                &o.neighbors_output,
                list_of(DataType::Int64),
                true,
            )),
            Arc::new(Field::new(
                &o.distances_output,
                list_of(DataType::Float32),
                true,
            )),
        ];
        if let Some((_, label, distance)) = &o.labels {
            fields.push(Arc::new(Field::new(label, DataType::Utf8, true)));
            fields.push(Arc::new(Field::new(distance, DataType::Float32, true)));
        }
        fields
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        let expected = || {
            format!(
                "a list of {} floats (list<float32|float64> or fixed_size_list) or an ML vector",
                self.index.dims()
            )
        };
        let i = match &self.options.query_column {
            Some(column) => {
                let i = find_column(schema, column, || {
                    format!("nearest-neighbour stage `{}`", self.name)
                })?;
                let dt = schema.field(i).data_type();
                if !is_vector(dt) {
                    return Err(ScoreError::ColumnType {
                        column: column.clone(),
                        expected: expected(),
                        got: dt.to_string(),
                    });
                }
                i
            }
            None => {
                let vectors: Vec<usize> = (0..schema.fields().len())
                    .filter(|&i| is_vector(schema.field(i).data_type()))
                    .collect();
                match vectors[..] {
                    [i] => i,
                    _ => {
                        let names: Vec<&str> = vectors
                            .iter()
                            .map(|&i| schema.field(i).name().as_str())
                            .collect();
                        return Err(ScoreError::MissingColumn {
                            column: "<query vectors>".into(),
                            needed_by: format!(
                                "nearest-neighbour stage `{}`: the input must have exactly one vector column ({}), or name one (--query-column); vector columns found: {}",
                                self.name,
                                expected(),
                                if names.is_empty() {
                                    "none".to_string()
                                } else {
                                    names.join(", ")
                                }
                            ),
                            available: schema
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                }
            }
        };
        Ok(Binding::new(vec![i]))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let i = binding.columns[0];
        let column = batch.schema().field(i).name().clone();
        let vectors = VectorColumn::try_new(batch.column(i), &column)?;
        let rows = batch.num_rows();
        let answers: Vec<Option<Neighbors>> = if rows >= PARALLEL_ROWS {
            (0..rows)
                .into_par_iter()
                .map(|r| self.query(&vectors, &column, r))
                .collect::<Result<_>>()?
        } else {
            (0..rows)
                .map(|r| self.query(&vectors, &column, r))
                .collect::<Result<_>>()?
        };
        let mut ids = ListBuilder::new(Int64Builder::new());
        let mut dists = ListBuilder::new(Float32Builder::new());
        let labelled = self.options.labels.as_ref().map(|(t, ..)| t);
        let mut labels = StringBuilder::new();
        let mut nearest = Float32Builder::new();
        for answer in &answers {
            match answer {
                Some(nn) => {
                    ids.values().append_slice(&nn.ids);
                    ids.append(true);
                    dists.values().append_slice(&nn.distances);
                    dists.append(true);
                    if let Some(table) = labelled {
                        labels.append_option(nn.ids.first().and_then(|&id| table.get(id)));
                        nearest.append_option(nn.distances.first().copied());
                    }
                }
                None => {
                    ids.append(false);
                    dists.append(false);
                    labels.append_null();
                    nearest.append_null();
                }
            }
        }
        let mut columns: Vec<ArrayRef> = vec![Arc::new(ids.finish()), Arc::new(dists.finish())];
        if labelled.is_some() {
            columns.push(Arc::new(labels.finish()));
            columns.push(Arc::new(nearest.finish()));
        }
        Ok(columns.into())
    }
}
