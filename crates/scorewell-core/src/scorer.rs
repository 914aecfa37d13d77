//! [`Scorer`]: the one scoring path every surface calls.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};

use crate::error::{Result, ScoreError};
use crate::stage::{Binding, InputColumn, Stage};

/// An ordered list of stages; each reads the input plus earlier stages' outputs.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    stages: Vec<Arc<dyn Stage>>,
    /// Stage outputs returned to callers; `None` returns every stage's outputs.
    outputs: Option<Vec<String>>,
}

impl Pipeline {
    /// An empty pipeline.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append a stage.
    pub fn push(mut self, stage: Arc<dyn Stage>) -> Self {
        self.stages.push(stage);
        self
    }
    /// Return only these stage outputs (after the input columns), in this order; the other
    /// stages' outputs stay internal (e.g. an assembled feature vector).
    pub fn select_outputs(mut self, names: Vec<String>) -> Self {
        self.outputs = Some(names);
        self
    }
    /// The stages in order.
    pub fn stages(&self) -> &[Arc<dyn Stage>] {
        &self.stages
    }
    /// The selected outputs, if the pipeline selects.
    pub fn selected_outputs(&self) -> Option<&[String]> {
        self.outputs.as_deref()
    }
}

/// An immutable, thread-safe scorer; cloning it is a reference-count increment.
///
/// [`Scorer::bind`] resolves every stage's columns against an input schema once;
/// [`Scorer::score`] binds and scores in one call for callers with one-off batches.
#[derive(Debug, Clone)]
pub struct Scorer {
    pipeline: Arc<Pipeline>,
    /// The binding made for the most recent input schema: single-row callers usually send the
    /// same schema again, and comparing it costs far less than binding anew.
    last: Arc<Mutex<Option<Arc<BoundScorer>>>>,
}

impl Scorer {
    /// Wrap a pipeline.
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Which engine scores each forest of the pipeline, stage by stage (stage name, engine).
    pub fn engines(&self) -> Vec<(String, scorewell_forest::EngineInfo)> {
        self.pipeline
            .stages()
            .iter()
            .flat_map(|s| s.engines().into_iter().map(|e| (s.name().to_string(), e)))
            .collect()
    }

    /// The input columns the pipeline reads (columns produced by an earlier stage excluded). A
    /// column is [optional](InputColumn::optional) only when every stage reading it says so.
    pub fn inputs(&self) -> Vec<InputColumn> {
        let mut produced = std::collections::HashSet::new();
        let mut seen = std::collections::HashMap::new();
        let mut out: Vec<InputColumn> = Vec::new();
        for stage in &self.pipeline.stages {
            for input in stage.inputs() {
                if produced.contains(&input.name) {
                    continue;
                }
                match seen.get(&input.name) {
                    Some(&i) => {
                        let first: &mut InputColumn = &mut out[i];
                        first.optional &= input.optional;
                    }
                    None => {
                        seen.insert(input.name.clone(), out.len());
                        out.push(input);
                    }
                }
            }
            produced.extend(stage.output_fields().iter().map(|f| f.name().clone()));
        }
        out
    }

    /// Resolve all stages against `schema`, checking column names and types.
    ///
    /// A stage may append fewer columns than it declares (an optional input is absent, see
    /// [`Binding::outputs`]); a selected output dropped that way is left out of the scored
    /// batch, as Spark's `transform` leaves it out.
    pub fn bind(&self, schema: SchemaRef) -> Result<BoundScorer> {
        let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
        let mut bindings = Vec::with_capacity(self.pipeline.stages.len());
        let mut widths = Vec::with_capacity(self.pipeline.stages.len());
        // Declared outputs a stage did not append, with why: for a clearer missing-column
        // error when a later stage reads one.
        let mut dropped: HashMap<String, String> = HashMap::new();
        let mut declared: HashSet<String> = HashSet::new();
        for (i, stage) in self.pipeline.stages.iter().enumerate() {
            let later;
            let current: &Schema = if i == 0 {
                &schema
            } else {
                later = Schema::new(fields.clone());
                &later
            };
            let binding = stage
                .bind(current)
                .map_err(|e| explain_dropped(e, &dropped))
                .map_err(|e| in_stage(stage.as_ref(), e))?;
            let declared_here = stage.output_fields();
            let outputs = binding
                .outputs
                .clone()
                .unwrap_or_else(|| declared_here.clone());
            for out in &declared_here {
                declared.insert(out.name().clone());
                if !outputs.iter().any(|o| o.name() == out.name()) {
                    let absent: Vec<String> = stage
                        .inputs()
                        .into_iter()
                        .filter(|c| c.optional && current.column_with_name(&c.name).is_none())
                        .map(|c| format!("`{}`", c.name))
                        .collect();
                    dropped.insert(
                        out.name().clone(),
                        format!(
                            "stage `{}` makes it from {}, absent from the input",
                            stage.name(),
                            if absent.is_empty() {
                                "an optional input".to_string()
                            } else {
                                absent.join(", ")
                            }
                        ),
                    );
                }
            }
            for out in outputs.iter() {
                if current.column_with_name(out.name()).is_some() {
                    return Err(in_stage(
                        stage.as_ref(),
                        ScoreError::DuplicateColumn {
                            column: out.name().clone(),
                        },
                    ));
                }
                fields.push(out.clone());
            }
            widths.push(outputs.len());
            bindings.push(binding);
        }
        let all = Arc::new(Schema::new(fields));
        let n_in = schema.fields().len();
        let produced = &all.fields()[n_in..];
        let projection = match &self.pipeline.outputs {
            None => None,
            Some(names) => {
                let mut indices: Vec<usize> = (0..n_in).collect();
                for name in names {
                    match produced.iter().position(|f| f.name() == name) {
                        Some(p) => indices.push(n_in + p),
                        None if declared.contains(name) => {}
                        None => {
                            return Err(ScoreError::UnknownOutput {
                                column: name.clone(),
                                produced: self
                                    .pipeline
                                    .stages
                                    .iter()
                                    .flat_map(|s| s.output_fields())
                                    .map(|f| f.name().clone())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            });
                        }
                    }
                }
                Some(indices)
            }
        };
        let output = match &projection {
            None => all.clone(),
            Some(indices) => Arc::new(all.project(indices)?),
        };
        Ok(BoundScorer {
            pipeline: self.pipeline.clone(),
            input: schema,
            all,
            output,
            projection,
            bindings,
            widths,
        })
    }

    /// Score one batch: the result holds the input columns followed by every stage's outputs.
    ///
    /// The binding of the previous call is reused when the batch has the same schema.
    pub fn score(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.bind_cached(batch.schema())?.score(batch)
    }

    /// [`Scorer::bind`], reusing the binding of the previous call when `schema` is the same
    /// (the same `Arc`, or equal fields): what callers sending a stream of same-shaped batches
    /// (one row each, say) use so binding is paid once.
    pub fn bind_cached(&self, schema: SchemaRef) -> Result<Arc<BoundScorer>> {
        let cached = self
            .last
            .lock()
            .ok()
            .and_then(|last| last.clone())
            .filter(|b| Arc::ptr_eq(&b.input, &schema) || b.input.fields() == schema.fields());
        if let Some(bound) = cached {
            return Ok(bound);
        }
        let bound = Arc::new(self.bind(schema)?);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(bound.clone());
        }
        Ok(bound)
    }
}

/// A missing column that an earlier stage declared but did not append says why.
fn explain_dropped(err: ScoreError, dropped: &HashMap<String, String>) -> ScoreError {
    match err {
        ScoreError::MissingColumn {
            column,
            needed_by,
            available,
        } if dropped.contains_key(&column) => {
            let why = &dropped[&column];
            ScoreError::MissingColumn {
                needed_by: format!("{needed_by}; {why}"),
                column,
                available,
            }
        }
        other => other,
    }
}

fn in_stage(stage: &dyn Stage, err: ScoreError) -> ScoreError {
    match err {
        // Column errors already name the column; the stage name adds noise for one-stage models.
        e @ (ScoreError::MissingColumn { .. } | ScoreError::ColumnType { .. }) => e,
        e => ScoreError::InStage {
            stage: stage.name().to_string(),
            source: Box::new(e),
        },
    }
}

/// A [`Scorer`] bound to one input schema.
#[derive(Debug, Clone)]
pub struct BoundScorer {
    pipeline: Arc<Pipeline>,
    input: SchemaRef,
    /// Input columns plus every stage's outputs: what later stages see.
    all: SchemaRef,
    /// What callers get: `all`, or its projection on the selected outputs.
    output: SchemaRef,
    projection: Option<Vec<usize>>,
    bindings: Vec<Binding>,
    /// How many columns each stage appends under this binding.
    widths: Vec<usize>,
}

impl BoundScorer {
    /// The schema of scored batches.
    pub fn output_schema(&self) -> SchemaRef {
        self.output.clone()
    }

    /// The input schema this binding was made for.
    pub fn input_schema(&self) -> SchemaRef {
        self.input.clone()
    }

    /// Score a batch with the bound input schema.
    pub fn score(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let (columns, rows) = self.run(batch, true)?;
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.output.clone(),
            columns,
            &options,
        )?)
    }

    /// Score a batch and return only the columns scoring appends (the fields of
    /// [`BoundScorer::output_schema`] after the input's), with the number of rows: for callers
    /// that hold the inputs already and want the outputs alone (a one-row call from Python),
    /// which then skip carrying the input columns through.
    pub fn score_outputs(&self, batch: &RecordBatch) -> Result<(Vec<ArrayRef>, usize)> {
        self.run(batch, false)
    }

    /// The scored columns (the inputs first when `with_inputs`) and the row count.
    fn run(&self, batch: &RecordBatch, with_inputs: bool) -> Result<(Vec<ArrayRef>, usize)> {
        let schema = batch.schema();
        if !Arc::ptr_eq(&schema, &self.input) && schema.fields() != self.input.fields() {
            return Err(ScoreError::SchemaMismatch(format!(
                "bound to {} columns, got {}",
                self.input.fields().len(),
                schema.fields().len()
            )));
        }
        let stages = &self.pipeline.stages;
        let n_in = batch.num_columns();
        // The inputs travel with the outputs when the caller wants them or a later stage
        // reads them.
        let carry = with_inputs || stages.len() > 1;
        let mut columns = Vec::with_capacity(self.all.fields().len());
        if carry {
            columns.extend_from_slice(batch.columns());
        }
        let mut rows = batch.num_rows();
        // Later stages see earlier outputs; a one-stage pipeline reads the input batch as is.
        let mut later: Option<RecordBatch> = None;
        for (i, (stage, binding)) in stages.iter().zip(&self.bindings).enumerate() {
            let current = later.as_ref().unwrap_or(batch);
            let out = stage
                .apply(binding, current)
                .map_err(|e| in_stage(stage.as_ref(), e))?;
            if out.columns.len() != self.widths[i] {
                return Err(in_stage(
                    stage.as_ref(),
                    ScoreError::SchemaMismatch(format!(
                        "the stage returned {} columns, its binding appends {}",
                        out.columns.len(),
                        self.widths[i]
                    )),
                ));
            }
            columns.extend(out.columns);
            if let Some(keep) = out.keep {
                // Only stages that drop rows pay for the filter.
                let predicate = arrow_select::filter::FilterBuilder::new(&keep)
                    .optimize()
                    .build();
                rows = predicate.count();
                columns = columns
                    .iter()
                    .map(|c| predicate.filter(c))
                    .collect::<std::result::Result<_, _>>()?;
            }
            if i + 1 < stages.len() {
                let fields = self.all.fields()[..columns.len()].to_vec();
                let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
                later = Some(RecordBatch::try_new_with_options(
                    Arc::new(Schema::new(fields)),
                    columns.clone(),
                    &options,
                )?);
            }
        }
        // Where `columns[0]` sits among `all`'s fields.
        let offset = if carry { 0 } else { n_in };
        if let Some(indices) = &self.projection {
            let kept: Vec<usize> = indices
                .iter()
                .filter(|&&i| i >= offset && (with_inputs || i >= n_in))
                .map(|&i| i - offset)
                .collect();
            columns = project(columns, &kept);
        } else if !with_inputs && carry {
            columns.drain(..n_in);
        }
        Ok((columns, rows))
    }
}

/// The columns at `indices`, moved rather than cloned: a clone and the drop of the original
/// are two atomic reference-count updates per column, which for a 50-column single row cost
/// about as much as the rest of the pipeline machinery. An index listed twice is cloned.
fn project(columns: Vec<ArrayRef>, indices: &[usize]) -> Vec<ArrayRef> {
    let mut slots: Vec<Option<ArrayRef>> = columns.into_iter().map(Some).collect();
    let mut out: Vec<ArrayRef> = Vec::with_capacity(indices.len());
    for (k, &i) in indices.iter().enumerate() {
        let column = slots.get_mut(i).and_then(Option::take).or_else(|| {
            let first = indices[..k].iter().position(|&j| j == i)?;
            out.get(first).cloned()
        });
        // `bind` made every index valid; a missing one would fail the batch's column count.
        if let Some(column) = column {
            out.push(column);
        }
    }
    out
}
