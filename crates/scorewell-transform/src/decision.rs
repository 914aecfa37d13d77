//! `decision` (not a Spark stage): turns one score column into string labels by ordered
//! thresholds, e.g. `score >= 0.9 → "block"`, `>= 0.5 → "review"`, else `"allow"`.
//!
//! Thresholds are tried from the highest down; the first with `score >= at` gives its label,
//! and a score below them all gets `otherwise`. A null or NaN score gets `missing`, or null
//! when `missing` is not set. +∞ is above every threshold and −∞ below.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// One rule of a [`Decision`]: scores `>= at` get `label`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The lowest score that gets `label`.
    #[serde(deserialize_with = "serde_f64::one")]
    pub at: f64,
    /// The label.
    pub label: String,
}

/// Parameters of [`Decision`].
///
/// - `input`: a numeric score column; `output`: a string column.
/// - `thresholds` (required, non-empty): `{"at": x, "label": "…"}` in strictly decreasing
///   `at` order, no NaN.
/// - `otherwise` (required): the label below every threshold.
/// - `missing` (optional): the label for a null or NaN score; null when absent.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionParams {
    /// Score column.
    pub input: String,
    /// Label column.
    pub output: String,
    /// Rules, highest first.
    pub thresholds: Vec<Threshold>,
    /// Label below every threshold.
    pub otherwise: String,
    /// Label for a missing score.
    pub missing: Option<String>,
}

/// Labels scores by thresholds (see the module docs).
#[derive(Debug, Clone)]
pub struct Decision {
    name: String,
    input: String,
    output: String,
    thresholds: Vec<Threshold>,
    otherwise: String,
    missing: Option<String>,
}

impl Decision {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: DecisionParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        if params.thresholds.is_empty() {
            return Err(TransformError::param(
                "thresholds",
                "must hold at least one threshold",
            ));
        }
        for (i, t) in params.thresholds.iter().enumerate() {
            if t.at.is_nan() {
                return Err(TransformError::param(
                    format!("thresholds[{i}].at"),
                    "must not be NaN",
                ));
            }
            if i > 0 && params.thresholds[i - 1].at <= t.at {
                return Err(TransformError::param(
                    format!("thresholds[{i}].at"),
                    format!(
                        "thresholds must be in strictly decreasing order, but {} follows {}",
                        t.at,
                        params.thresholds[i - 1].at
                    ),
                ));
            }
        }
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            thresholds: params.thresholds,
            otherwise: params.otherwise,
            missing: params.missing,
        })
    }

    fn label(&self, score: Option<f64>) -> Option<&str> {
        match score {
            Some(x) if !x.is_nan() => Some(
                self.thresholds
                    .iter()
                    .find(|t| x >= t.at)
                    .map_or(self.otherwise.as_str(), |t| t.label.as_str()),
            ),
            _ => self.missing.as_deref(),
        }
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("decision", |name, params| {
        Ok(Arc::new(Decision::new(name, parse(params)?)?))
    });
}

impl Stage for Decision {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::string_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(schema, &self.name, [(self.input.as_str(), Accept::Numeric)])
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let scores = common::f64_column(batch.column(binding.columns[0]))?;
        let labels: StringArray = scores.iter().map(|s| self.label(s)).collect();
        Ok(vec![Arc::new(labels) as ArrayRef].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn labels_by_descending_thresholds() {
        let params = |missing: Option<&str>| {
            json!({"input": "score", "output": "action", "otherwise": "allow", "missing": missing,
                   "thresholds": [{"at": 0.9, "label": "block"}, {"at": 0.5, "label": "review"}]})
        };
        let scores = || {
            floats(&[
                Some(0.95),
                Some(0.9),
                Some(0.5),
                Some(0.49),
                Some(f64::NAN),
                None,
                Some(f64::INFINITY),
            ])
        };
        let got =
            read_strs(&run(&build("decision", params(None)), &[("score", scores())]).unwrap()[0]);
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            got,
            vec![
                s("block"),
                s("block"),
                s("review"),
                s("allow"),
                None,
                None,
                s("block")
            ]
        );
        let got = read_strs(
            &run(
                &build("decision", params(Some("unknown"))),
                &[("score", scores())],
            )
            .unwrap()[0],
        );
        assert_eq!(got[4], s("unknown"));
        assert_eq!(got[5], s("unknown"));
    }

    #[test]
    fn thresholds_must_decrease() {
        assert_eq!(
            build_err(
                "decision",
                json!({"input": "s", "output": "a", "otherwise": "x",
                       "thresholds": [{"at": 0.5, "label": "r"}, {"at": 0.9, "label": "b"}]})
            ),
            "thresholds[1].at: thresholds must be in strictly decreasing order, but 0.9 follows 0.5"
        );
    }
}
