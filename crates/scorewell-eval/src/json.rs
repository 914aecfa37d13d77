//! The results of an evaluation and their stable JSON form, `metrics.json`.
//!
//! The schema is documented field by field in `docs/EVAL.md`. Within one `schema_version`,
//! fields are only ever added, never renamed, removed or retyped; undefined values (ROC AUC
//! with one class, a recall at precision no threshold reaches) are `null`, never NaN.

use serde::Serialize;

use crate::binary::BinaryMetrics;
use crate::compare::Comparison;
use crate::error::{EvalError, Result};
use crate::multiclass::MulticlassMetrics;
use crate::regression::RegressionMetrics;

/// The version of the `metrics.json` layout.
pub const SCHEMA_VERSION: u32 = 1;

/// How many rows were read and why some were not evaluated.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RowCounts {
    /// Scored rows read.
    pub read: u64,
    /// Rows in the metrics.
    pub evaluated: u64,
    /// Rows skipped because the label was null or NaN.
    pub missing_label: u64,
    /// Rows skipped because some model's score was null or NaN.
    pub nan_score: u64,
}

/// One model's metrics, by task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelMetrics {
    /// Binary classification.
    Binary(Box<BinaryMetrics>),
    /// Multiclass classification.
    Multiclass(MulticlassMetrics),
    /// Regression.
    Regression(RegressionMetrics),
}

impl ModelMetrics {
    /// Rows the metrics cover.
    pub fn rows(&self) -> u64 {
        match self {
            ModelMetrics::Binary(m) => m.rows,
            ModelMetrics::Multiclass(m) => m.rows,
            ModelMetrics::Regression(m) => m.rows,
        }
    }

    /// The binary metrics, if this is a binary evaluation.
    pub fn binary(&self) -> Option<&BinaryMetrics> {
        match self {
            ModelMetrics::Binary(m) => Some(m),
            _ => None,
        }
    }

    /// The headline figures, `(name, value, higher is better)`, for tables.
    pub fn headline(&self) -> Vec<(String, Option<f64>, bool)> {
        match self {
            ModelMetrics::Binary(m) => {
                let mut v = vec![
                    ("roc_auc".to_string(), m.roc_auc, true),
                    ("average_precision".into(), Some(m.average_precision), true),
                    ("log_loss".into(), m.log_loss, false),
                    ("brier".into(), m.brier, false),
                ];
                for t in &m.at_thresholds {
                    v.push((
                        format!("precision@{}", t.threshold),
                        Some(t.precision),
                        true,
                    ));
                    v.push((format!("recall@{}", t.threshold), Some(t.recall), true));
                    v.push((format!("f1@{}", t.threshold), Some(t.f1), true));
                }
                for r in &m.recall_at_precision {
                    v.push((
                        format!("recall_at_precision@{}", r.min_precision),
                        Some(r.recall),
                        true,
                    ));
                }
                v
            }
            ModelMetrics::Multiclass(m) => vec![
                ("accuracy".into(), Some(m.accuracy), true),
                ("macro_f1".into(), Some(m.macro_f1), true),
                ("micro_f1".into(), Some(m.micro_f1), true),
                ("weighted_f1".into(), Some(m.weighted_f1), true),
                ("log_loss".into(), m.log_loss, false),
            ],
            ModelMetrics::Regression(m) => vec![
                ("rmse".into(), Some(m.rmse), false),
                ("mae".into(), Some(m.mae), false),
                ("r2".into(), m.r2, true),
            ],
        }
    }
}

/// Metrics of one `--group-by` segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    /// The segment's value of the group column, as text (`(null)` for nulls).
    pub value: String,
    /// Rows in the segment.
    pub rows: u64,
    /// The candidate's metrics on the segment.
    pub candidate: ModelMetrics,
    /// The baseline's metrics on the segment.
    pub baseline: Option<ModelMetrics>,
}

/// Everything an evaluation found: what `metrics.json` holds and the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `binary`, `multiclass` or `regression`.
    pub task: String,
    /// The label column.
    pub label: String,
    /// The score columns read from the candidate's output (and the baseline's, unless
    /// `baseline_score_columns` says otherwise).
    pub score_columns: Vec<String>,
    /// The score columns read from the baseline's output; `null` without a baseline.
    pub baseline_score_columns: Option<Vec<String>>,
    /// Decision thresholds (binary; the first is the candidate's decision for flips).
    pub thresholds: Vec<f64>,
    /// The candidate model, as given.
    pub candidate_model: String,
    /// The baseline model, as given.
    pub baseline_model: Option<String>,
    /// The input file.
    pub input: String,
    /// Row counts.
    pub rows: RowCounts,
    /// The candidate's metrics.
    pub candidate: ModelMetrics,
    /// The baseline's metrics on the same rows.
    pub baseline: Option<ModelMetrics>,
    /// Deltas, intervals and flips.
    pub comparison: Option<Comparison>,
    /// The `--group-by` column.
    pub group_by: Option<String>,
    /// Per-segment metrics, sorted by value.
    pub groups: Vec<GroupResult>,
}

impl Evaluation {
    /// `metrics.json`: pretty-printed, keys in declaration order.
    pub fn to_json(&self) -> Result<String> {
        let mut s =
            serde_json::to_string_pretty(self).map_err(|e| EvalError::Json(e.to_string()))?;
        s.push('\n');
        Ok(s)
    }
}
