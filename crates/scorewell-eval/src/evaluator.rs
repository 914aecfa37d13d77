//! The Arrow-facing evaluator: reads label, score, id and group columns from scored batches
//! and feeds the per-model accumulators, the per-group ones and the comparison.
//!
//! Row policy (documented in `docs/EVAL.md`): a row whose label is null or NaN is skipped and
//! counted in `rows.missing_label`; a row where a model's score is null or NaN is skipped for
//! every model and counted in `rows.nan_score`, so the candidate and the baseline are always
//! measured on the same rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::binary::{BinaryAccumulator, BinaryOptions};
use crate::compare::{ComparisonAccumulator, FlipKind};
use crate::error::{EvalError, Result};
use crate::json::{Evaluation, GroupResult, ModelMetrics, RowCounts, SCHEMA_VERSION};
use crate::multiclass::MulticlassAccumulator;
use crate::regression::RegressionAccumulator;

/// Distinct `--group-by` values kept; more is an error.
pub const MAX_GROUPS: usize = 1000;

/// Which metrics to compute, or how to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskSpec {
    /// Binary for a single score column, multiclass for `<score>_0 … <score>_{k-1}`.
    #[default]
    Auto,
    /// Binary labels (0/1) and a probability-like score.
    Binary,
    /// Class-index labels and one probability column per class.
    Multiclass,
    /// Real-valued labels and predictions.
    Regression,
}

/// The task an evaluation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Binary classification.
    Binary,
    /// Multiclass classification with this many classes.
    Multiclass(usize),
    /// Regression.
    Regression,
}

impl Task {
    /// `binary`, `multiclass` or `regression`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass(_) => "multiclass",
            Task::Regression => "regression",
        }
    }
}

/// What to evaluate and how.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSpec {
    /// The label column.
    pub label: String,
    /// The score column (`prediction`), or the prefix of per-class columns (`prediction_<k>`).
    pub score_column: String,
    /// The baseline's score column (or per-class prefix) when it differs from the
    /// candidate's, e.g. a baseline bundle whose decision reads another output. `None`: the
    /// candidate's `score_column`.
    pub baseline_score_column: Option<String>,
    /// An id column written with decision flips.
    pub id: Option<String>,
    /// A column whose values split the rows into segments with their own metrics.
    pub group_by: Option<String>,
    /// The task.
    pub task: TaskSpec,
    /// Decision thresholds (binary), each reported once (repeats are dropped, order kept); the
    /// first is the candidate's decision for flips. Empty means `[0.5]`.
    pub thresholds: Vec<f64>,
    /// The baseline's own decision threshold for flips (its bundle's rule). `None`: the first
    /// of `thresholds`, as for the candidate.
    pub baseline_threshold: Option<f64>,
    /// Precision targets for recall at precision (binary).
    pub at_precision: Vec<f64>,
    /// Calibration bins (binary).
    pub calibration_bins: usize,
    /// Bootstrap replicates for the comparison's intervals (0: none).
    pub bootstrap: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Score/label pairs per model kept in memory before spilling a sorted run to disk.
    pub memory_rows: usize,
}

impl EvalSpec {
    /// Defaults for label column `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            score_column: "prediction".into(),
            baseline_score_column: None,
            id: None,
            group_by: None,
            task: TaskSpec::Auto,
            thresholds: Vec::new(),
            baseline_threshold: None,
            at_precision: Vec::new(),
            calibration_bins: 10,
            bootstrap: 0,
            seed: 0,
            memory_rows: 1 << 20,
        }
    }

    fn binary_options(&self, memory_rows: usize) -> BinaryOptions {
        BinaryOptions {
            thresholds: self.thresholds.clone(),
            at_precision: self.at_precision.clone(),
            calibration_bins: self.calibration_bins,
            memory_rows,
        }
    }
}

#[derive(Debug)]
enum ModelAcc {
    Binary(Box<BinaryAccumulator>),
    Multiclass(MulticlassAccumulator),
    Regression(RegressionAccumulator),
}

impl ModelAcc {
    fn new(task: Task, spec: &EvalSpec, memory_rows: usize) -> Self {
        match task {
            Task::Binary => ModelAcc::Binary(Box::new(BinaryAccumulator::new(
                spec.binary_options(memory_rows),
            ))),
            Task::Multiclass(k) => ModelAcc::Multiclass(MulticlassAccumulator::new(k)),
            Task::Regression => ModelAcc::Regression(RegressionAccumulator::new()),
        }
    }

    fn push(&mut self, label: f64, scores: &[f64]) -> Result<()> {
        match self {
            ModelAcc::Binary(a) => a.push(scores[0], label == 1.0),
            ModelAcc::Multiclass(a) => {
                a.push(label as usize, scores);
                Ok(())
            }
            ModelAcc::Regression(a) => {
                a.push(label, scores[0]);
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<ModelMetrics> {
        Ok(match self {
            ModelAcc::Binary(a) => ModelMetrics::Binary(Box::new(a.finish()?)),
            ModelAcc::Multiclass(a) => ModelMetrics::Multiclass(a.finish()),
            ModelAcc::Regression(a) => ModelMetrics::Regression(a.finish()),
        })
    }
}

/// Streams scored batches into metrics.
#[derive(Debug)]
pub struct Evaluator {
    spec: EvalSpec,
    task: Task,
    score_columns: Vec<String>,
    baseline_score_columns: Option<Vec<String>>,
    rows: RowCounts,
    models: Vec<ModelAcc>,
    groups: BTreeMap<String, Vec<ModelAcc>>,
    comparison: Option<ComparisonAccumulator>,
    flips_schema: SchemaRef,
}

fn names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn require(schema: &Schema, role: &'static str, column: &str) -> Result<()> {
    if schema.column_with_name(column).is_none() {
        return Err(EvalError::MissingColumn {
            role,
            column: column.to_string(),
            available: names(schema),
        });
    }
    Ok(())
}

fn detect_task(spec: &EvalSpec, schema: &Schema) -> Result<(Task, Vec<String>)> {
    let per_class: Vec<String> = (0..)
        .map(|i| format!("{}_{i}", spec.score_column))
        .take_while(|name| schema.column_with_name(name).is_some())
        .collect();
    let single = schema.column_with_name(&spec.score_column).is_some();
    let missing = || EvalError::MissingColumn {
        role: "score",
        column: spec.score_column.clone(),
        available: names(schema),
    };
    Ok(match spec.task {
        TaskSpec::Auto if single => (Task::Binary, vec![spec.score_column.clone()]),
        TaskSpec::Auto if per_class.len() >= 2 => (Task::Multiclass(per_class.len()), per_class),
        TaskSpec::Auto => return Err(missing()),
        TaskSpec::Binary | TaskSpec::Regression if !single => return Err(missing()),
        TaskSpec::Binary => (Task::Binary, vec![spec.score_column.clone()]),
        TaskSpec::Regression => (Task::Regression, vec![spec.score_column.clone()]),
        TaskSpec::Multiclass if per_class.len() < 2 => {
            return Err(EvalError::MissingColumn {
                role: "per-class score",
                column: format!("{}_0", spec.score_column),
                available: names(schema),
            });
        }
        TaskSpec::Multiclass => (Task::Multiclass(per_class.len()), per_class),
    })
}

fn numeric(role: &'static str, column: &str, dt: &DataType) -> Result<()> {
    if dt.is_numeric() || matches!(dt, DataType::Boolean | DataType::Null) {
        Ok(())
    } else {
        Err(EvalError::NotNumeric {
            role,
            column: column.to_string(),
            data_type: dt.to_string(),
        })
    }
}

fn check_schema(spec: &EvalSpec, schema: &Schema) -> Result<(Task, Vec<String>)> {
    require(schema, "label", &spec.label)?;
    if let Some(id) = &spec.id {
        require(schema, "id", id)?;
    }
    if let Some(g) = &spec.group_by {
        require(schema, "group-by", g)?;
    }
    let (task, columns) = detect_task(spec, schema)?;
    for (role, name) in
        std::iter::once(("label", &spec.label)).chain(columns.iter().map(|c| ("score", c)))
    {
        if let Ok(f) = schema.field_with_name(name) {
            numeric(role, name, f.data_type())?;
        }
    }
    Ok((task, columns))
}

/// A column of `batch` as f64, nulls as NaN.
fn floats(batch: &RecordBatch, name: &str, role: &'static str) -> Result<Vec<f64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| EvalError::MissingColumn {
            role,
            column: name.to_string(),
            available: names(&batch.schema()),
        })?;
    let cast = arrow_cast::cast(col, &DataType::Float64).map_err(|e| EvalError::Arrow {
        context: format!("reading {role} column `{name}` as numbers"),
        message: e.to_string(),
    })?;
    let arr = cast.as_primitive::<Float64Type>();
    Ok((0..arr.len())
        .map(|i| {
            if arr.is_null(i) {
                f64::NAN
            } else {
                arr.value(i)
            }
        })
        .collect())
}

/// The score columns of one model's batch.
fn read_scores(batch: &RecordBatch, columns: &[String]) -> Result<Vec<Vec<f64>>> {
    columns.iter().map(|c| floats(batch, c, "score")).collect()
}

/// A column of `batch` as text (ids and segment names), nulls as `None`.
fn strings(batch: &RecordBatch, name: &str, role: &'static str) -> Result<Arc<StringArray>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| EvalError::MissingColumn {
            role,
            column: name.to_string(),
            available: names(&batch.schema()),
        })?;
    let cast = arrow_cast::cast(col, &DataType::Utf8).map_err(|e| EvalError::Arrow {
        context: format!("reading {role} column `{name}` as text"),
        message: e.to_string(),
    })?;
    Ok(Arc::new(cast.as_string::<i32>().clone()))
}

impl Evaluator {
    /// Check the columns of the scored batches and set up the accumulators.
    pub fn new(spec: EvalSpec, candidate: &Schema, baseline: Option<&Schema>) -> Result<Self> {
        let mut spec = spec;
        if spec.thresholds.is_empty() {
            spec.thresholds.push(0.5);
        }
        for &t in &spec.at_precision {
            if !(0.0..=1.0).contains(&t) {
                return Err(EvalError::Config(format!(
                    "--at-precision {t} is not a precision between 0 and 1"
                )));
            }
        }
        if spec
            .thresholds
            .iter()
            .chain(&spec.baseline_threshold)
            .any(|t| t.is_nan())
        {
            return Err(EvalError::Config("a --threshold is NaN".into()));
        }
        // A bundle's rule repeated by --threshold is one threshold, reported once.
        let mut thresholds: Vec<f64> = Vec::with_capacity(spec.thresholds.len());
        for t in spec.thresholds.drain(..) {
            if !thresholds.contains(&t) {
                thresholds.push(t);
            }
        }
        spec.thresholds = thresholds;
        let (task, score_columns) = check_schema(&spec, candidate)?;
        let mut baseline_score_columns = None;
        if let Some(b) = baseline {
            let mut baseline_spec = spec.clone();
            if let Some(column) = &spec.baseline_score_column {
                baseline_spec.score_column = column.clone();
            }
            let (btask, columns) = check_schema(&baseline_spec, b)?;
            if btask != task {
                let describe = |t: Task| match t {
                    Task::Multiclass(k) => format!("{k}-class"),
                    t => t.name().to_string(),
                };
                return Err(EvalError::TaskMismatch {
                    candidate: describe(task),
                    baseline: describe(btask),
                });
            }
            baseline_score_columns = Some(columns);
        }
        let n_models = 1 + usize::from(baseline.is_some());
        let models = (0..n_models)
            .map(|_| ModelAcc::new(task, &spec, spec.memory_rows))
            .collect();
        let comparison = baseline.map(|_| match task {
            Task::Binary => ComparisonAccumulator::binary(
                (
                    spec.thresholds[0],
                    spec.baseline_threshold.unwrap_or(spec.thresholds[0]),
                ),
                &spec.thresholds,
                spec.bootstrap,
                spec.seed,
            ),
            Task::Multiclass(k) => ComparisonAccumulator::multiclass(k, spec.bootstrap, spec.seed),
            Task::Regression => ComparisonAccumulator::regression(spec.bootstrap, spec.seed),
        });
        let mut fields = vec![Field::new("row", DataType::UInt64, false)];
        if let Some(id) = &spec.id {
            fields.push(Field::new(id, DataType::Utf8, true));
        }
        fields.extend([
            Field::new(&spec.label, DataType::Float64, false),
            Field::new("candidate_score", DataType::Float64, false),
            Field::new("baseline_score", DataType::Float64, false),
            Field::new("change", DataType::Utf8, false),
        ]);
        Ok(Self {
            spec,
            task,
            score_columns,
            baseline_score_columns,
            rows: RowCounts::default(),
            models,
            groups: BTreeMap::new(),
            comparison,
            flips_schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The task being evaluated.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The schema of the batches [`Evaluator::push`] returns: `row`, the id column (as text),
    /// the label, both scores and `change` (`newly_flagged`, `newly_missed`, `newly_cleared`).
    pub fn flips_schema(&self) -> SchemaRef {
        self.flips_schema.clone()
    }

    /// Add one batch scored by the candidate and, when comparing, the same input batch scored
    /// by the baseline. Returns the batch's decision flips (binary comparisons only).
    pub fn push(
        &mut self,
        candidate: &RecordBatch,
        baseline: Option<&RecordBatch>,
    ) -> Result<Option<RecordBatch>> {
        let first_row = self.rows.read;
        let n = candidate.num_rows();
        let labels = floats(candidate, &self.spec.label, "label")?;
        let mut scores: Vec<Vec<Vec<f64>>> = vec![read_scores(candidate, &self.score_columns)?];
        if let Some(b) = baseline {
            crate::compare::check_row_counts(n, b.num_rows(), first_row)?;
            let base_labels = floats(b, &self.spec.label, "label")?;
            if let Some(i) = (0..n).find(|&i| {
                labels[i].to_bits() != base_labels[i].to_bits()
                    && !(labels[i].is_nan() && base_labels[i].is_nan())
            }) {
                return Err(EvalError::RowsNotAligned {
                    column: format!("label `{}`", self.spec.label),
                    row: first_row + i as u64,
                    candidate: labels[i].to_string(),
                    baseline: base_labels[i].to_string(),
                });
            }
            if let Some(id) = &self.spec.id {
                let (a, bb) = (strings(candidate, id, "id")?, strings(b, id, "id")?);
                if let Some(i) =
                    (0..n).find(|&i| a.is_valid(i) != bb.is_valid(i) || a.value(i) != bb.value(i))
                {
                    return Err(EvalError::RowsNotAligned {
                        column: format!("id `{id}`"),
                        row: first_row + i as u64,
                        candidate: a.value(i).to_string(),
                        baseline: bb.value(i).to_string(),
                    });
                }
            }
            let columns = self
                .baseline_score_columns
                .as_deref()
                .unwrap_or(&self.score_columns);
            scores.push(read_scores(b, columns)?);
        }
        let groups = match &self.spec.group_by {
            Some(g) => Some(strings(candidate, g, "group-by")?),
            None => None,
        };
        let mut flips: Vec<(u32, FlipKind)> = Vec::new();
        let k = self.score_columns.len();
        let mut row_scores = vec![vec![0.0; k]; scores.len()];
        for i in 0..n {
            let row = first_row + i as u64;
            let label = labels[i];
            if label.is_nan() {
                self.rows.missing_label += 1;
                continue;
            }
            self.check_label(label, row)?;
            let mut nan = false;
            for (m, cols) in scores.iter().enumerate() {
                for (c, col) in cols.iter().enumerate() {
                    row_scores[m][c] = col[i];
                    nan |= col[i].is_nan();
                }
            }
            if nan {
                self.rows.nan_score += 1;
                continue;
            }
            self.rows.evaluated += 1;
            for (acc, s) in self.models.iter_mut().zip(&row_scores) {
                acc.push(label, s)?;
            }
            if let Some(g) = &groups {
                let key = if g.is_valid(i) { g.value(i) } else { "(null)" };
                if !self.groups.contains_key(key) {
                    if self.groups.len() >= MAX_GROUPS {
                        return Err(EvalError::TooManyGroups {
                            column: self.spec.group_by.clone().unwrap_or_default(),
                            limit: MAX_GROUPS,
                        });
                    }
                    let memory = (self.spec.memory_rows / 64).max(1024);
                    let accs = (0..row_scores.len())
                        .map(|_| ModelAcc::new(self.task, &self.spec, memory))
                        .collect();
                    self.groups.insert(key.to_string(), accs);
                }
                if let Some(accs) = self.groups.get_mut(key) {
                    for (acc, s) in accs.iter_mut().zip(&row_scores) {
                        acc.push(label, s)?;
                    }
                }
            }
            if let Some(cmp) = &mut self.comparison {
                let (c, b) = (&row_scores[0], &row_scores[1]);
                match self.task {
                    Task::Binary => {
                        if let Some(kind) = cmp.push_binary(row, label == 1.0, c[0], b[0]) {
                            flips.push((i as u32, kind));
                        }
                    }
                    Task::Multiclass(_) => cmp.push_multiclass(row, label as usize, c, b),
                    Task::Regression => cmp.push_regression(row, label, c[0], b[0]),
                }
            }
        }
        self.rows.read += n as u64;
        if self.comparison.is_none() || self.task != Task::Binary {
            return Ok(None);
        }
        self.flips_batch(candidate, first_row, &labels, &scores, &flips)
            .map(Some)
    }

    fn check_label(&self, label: f64, row: u64) -> Result<()> {
        match self.task {
            Task::Binary if label != 0.0 && label != 1.0 => Err(EvalError::NonBinaryLabel {
                column: self.spec.label.clone(),
                value: label,
                row,
            }),
            Task::Multiclass(k) if !(label >= 0.0 && label < k as f64 && label.fract() == 0.0) => {
                Err(EvalError::BadClassLabel {
                    column: self.spec.label.clone(),
                    value: label,
                    row,
                    classes: k,
                })
            }
            _ => Ok(()),
        }
    }

    fn flips_batch(
        &self,
        candidate: &RecordBatch,
        first_row: u64,
        labels: &[f64],
        scores: &[Vec<Vec<f64>>],
        flips: &[(u32, FlipKind)],
    ) -> Result<RecordBatch> {
        let pick = |v: &[f64]| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(
                flips.iter().map(|&(i, _)| v[i as usize]),
            ))
        };
        let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(
            flips.iter().map(|&(i, _)| first_row + u64::from(i)),
        ))];
        if let Some(id) = &self.spec.id {
            let ids = strings(candidate, id, "id")?;
            let idx = UInt32Array::from_iter_values(flips.iter().map(|&(i, _)| i));
            let taken = arrow_select::take::take(ids.as_ref(), &idx, None).map_err(|e| {
                EvalError::Arrow {
                    context: "collecting flipped ids".into(),
                    message: e.to_string(),
                }
            })?;
            columns.push(taken);
        }
        columns.push(pick(labels));
        columns.push(pick(&scores[0][0]));
        columns.push(pick(&scores[1][0]));
        columns.push(Arc::new(StringArray::from_iter_values(
            flips.iter().map(|&(_, k)| k.name()),
        )));
        RecordBatch::try_new(self.flips_schema.clone(), columns).map_err(|e| EvalError::Arrow {
            context: "building the flips batch".into(),
            message: e.to_string(),
        })
    }

    /// Finish every accumulator (ranking spilled runs) and assemble the results.
    pub fn finish(self) -> Result<Evaluation> {
        if self.rows.evaluated == 0 {
            return Err(EvalError::NoRows {
                rows: self.rows.read,
            });
        }
        let mut models = self.models.into_iter().map(ModelAcc::finish);
        let candidate = models
            .next()
            .transpose()?
            .ok_or(EvalError::NoRows { rows: 0 })?;
        let baseline = models.next().transpose()?;
        let comparison = match (&self.comparison, &candidate, &baseline) {
            (Some(cmp), ModelMetrics::Binary(c), Some(ModelMetrics::Binary(b))) => {
                Some(cmp.finish_binary(c, b))
            }
            (Some(cmp), ModelMetrics::Multiclass(c), Some(ModelMetrics::Multiclass(b))) => {
                Some(cmp.finish_multiclass(c, b))
            }
            (Some(cmp), ModelMetrics::Regression(c), Some(ModelMetrics::Regression(b))) => {
                Some(cmp.finish_regression(c, b))
            }
            _ => None,
        };
        let mut groups = Vec::with_capacity(self.groups.len());
        for (value, accs) in self.groups {
            let mut it = accs.into_iter().map(ModelAcc::finish);
            let candidate = it
                .next()
                .transpose()?
                .ok_or(EvalError::NoRows { rows: 0 })?;
            groups.push(GroupResult {
                value,
                rows: candidate.rows(),
                candidate,
                baseline: it.next().transpose()?,
            });
        }
        Ok(Evaluation {
            schema_version: SCHEMA_VERSION,
            task: self.task.name().to_string(),
            label: self.spec.label,
            score_columns: self.score_columns,
            baseline_score_columns: self.baseline_score_columns,
            thresholds: self.spec.thresholds,
            candidate_model: String::new(),
            baseline_model: None,
            input: String::new(),
            rows: self.rows,
            candidate,
            baseline,
            comparison,
            group_by: self.spec.group_by,
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;

    fn batch(labels: Vec<Option<i64>>, scores: Vec<f64>, ids: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("y", DataType::Int64, true),
            Field::new("prediction", DataType::Float64, false),
            Field::new("id", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(labels)),
                Arc::new(Float64Array::from(scores)),
                Arc::new(Int64Array::from(ids)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_nan_score_in_either_model_drops_the_row_for_both() {
        let labels = vec![Some(1), Some(0), None, Some(1)];
        let c = batch(
            labels.clone(),
            vec![0.9, f64::NAN, 0.2, 0.6],
            vec![1, 2, 3, 4],
        );
        let b = batch(labels, vec![0.4, 0.1, 0.3, f64::NAN], vec![1, 2, 3, 4]);
        let mut spec = EvalSpec::new("y");
        spec.id = Some("id".into());
        let mut e = Evaluator::new(spec, &c.schema(), Some(&b.schema())).unwrap();
        let flips = e.push(&c, Some(&b)).unwrap().unwrap();
        let r = e.finish().unwrap();
        assert_eq!(
            (
                r.rows.read,
                r.rows.evaluated,
                r.rows.missing_label,
                r.rows.nan_score
            ),
            (4, 1, 1, 2)
        );
        assert_eq!(r.candidate.rows(), 1);
        assert_eq!(r.baseline.as_ref().map(ModelMetrics::rows), Some(1));
        // Row 0: candidate 0.9 flags, baseline 0.4 does not.
        assert_eq!(flips.num_rows(), 1);
        assert_eq!(flips.schema().field(1).name(), "id");
    }

    fn scored(schema: &[(&str, Vec<f64>)]) -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = schema
            .iter()
            .map(|(name, v)| (*name, Arc::new(Float64Array::from(v.clone())) as ArrayRef))
            .collect();
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// Each model is read from its own score column and judged at its own threshold.
    #[test]
    fn a_baseline_with_its_own_score_column_and_rule() {
        let y = vec![1.0, 1.0, 0.0, 0.0];
        let c = scored(&[("y", y.clone()), ("prediction", vec![0.9, 0.6, 0.6, 0.1])]);
        let b = scored(&[("y", y), ("risk", vec![0.75, 0.65, 0.75, 0.2])]);
        let mut spec = EvalSpec::new("y");
        spec.thresholds = vec![0.5, 0.7, 0.5];
        spec.baseline_score_column = Some("risk".into());
        spec.baseline_threshold = Some(0.7);
        let mut e = Evaluator::new(spec, &c.schema(), Some(&b.schema())).unwrap();
        let flips = e.push(&c, Some(&b)).unwrap().unwrap();
        let r = e.finish().unwrap();
        assert_eq!(
            r.thresholds,
            [0.5, 0.7],
            "a repeated threshold is reported once"
        );
        assert_eq!(
            r.baseline_score_columns.as_deref(),
            Some(&["risk".to_string()][..])
        );
        // Candidate at 0.5 flags rows 0, 1, 2; baseline at 0.7 flags rows 0 and 2. Row 1 is
        // newly flagged; at one shared 0.5 nothing would flip.
        let f = r.comparison.unwrap().flips.unwrap();
        assert_eq!((f.threshold, f.baseline_threshold), (0.5, 0.7));
        assert_eq!(
            (
                f.newly_flagged_positive,
                f.newly_flagged_negative,
                f.newly_missed,
                f.newly_cleared
            ),
            (1, 0, 0, 0)
        );
        assert_eq!(flips.num_rows(), 1);
        let base = r.baseline.unwrap();
        let at = &base.binary().unwrap().at_thresholds;
        assert_eq!((at.len(), at[1].tp, at[1].fp), (2, 1, 1));
    }

    #[test]
    fn misaligned_rows_and_bad_columns_are_errors() {
        let c = batch(vec![Some(1), Some(0)], vec![0.9, 0.1], vec![1, 2]);
        let b = batch(vec![Some(1), Some(0)], vec![0.9, 0.1], vec![1, 3]);
        let mut spec = EvalSpec::new("y");
        spec.id = Some("id".into());
        let mut e = Evaluator::new(spec.clone(), &c.schema(), Some(&b.schema())).unwrap();
        let err = e.push(&c, Some(&b)).unwrap_err().to_string();
        assert_eq!(
            err,
            "row 1: the candidate's id `id` is `2` but the baseline's is `3`; a comparison needs both models on the same rows"
        );
        let short = b.slice(0, 1);
        let err = e.push(&c, Some(&short)).unwrap_err();
        assert!(matches!(
            err,
            EvalError::RowCountMismatch {
                candidate: 2,
                baseline: 1,
                ..
            }
        ));
        let err = Evaluator::new(EvalSpec::new("label"), &c.schema(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no label column `label` in the scored rows (columns: y, prediction, id)"
        );
        let mut e = Evaluator::new(EvalSpec::new("y"), &c.schema(), None).unwrap();
        let bad = batch(vec![Some(2)], vec![0.5], vec![1]);
        let err = e.push(&bad, None).unwrap_err().to_string();
        assert!(
            err.starts_with("label column `y` has the value 2 at row 0"),
            "{err}"
        );
    }
}
