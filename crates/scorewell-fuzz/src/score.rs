//! Scoring a model that loaded from fuzzed bytes: a file can pass its parser and still
//! describe trees or layers that an evaluator would index out of range.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use scorewell::{Pipeline, Scorer, Stage};

/// Scores four awkward rows (zero, NaN, a huge value, a negative one; empty and odd strings)
/// when every input is a number or a string; errors are fine, panics are findings.
pub(crate) fn exercise(scorer: &Scorer) {
    let inputs = scorer.inputs();
    if inputs.is_empty() || inputs.iter().any(|c| c.vector) {
        return;
    }
    let columns: Vec<(String, ArrayRef)> = inputs
        .iter()
        .map(|c| {
            let array: ArrayRef = if c.numeric {
                Arc::new(Float64Array::from(vec![0.0, f64::NAN, 1e300, -2.5]))
            } else {
                Arc::new(StringArray::from(vec![
                    Some(""),
                    None,
                    Some("a"),
                    Some("é\u{0}"),
                ]))
            };
            (c.name.clone(), array)
        })
        .collect();
    if let Ok(batch) = RecordBatch::try_from_iter(columns) {
        let _ = scorer.score(&batch);
    }
}

/// [`exercise`] for stages not yet in a scorer (a Spark folder's).
pub(crate) fn exercise_stages(stages: Vec<Arc<dyn Stage>>) {
    let pipeline = stages.into_iter().fold(Pipeline::new(), |p, s| p.push(s));
    exercise(&Scorer::new(pipeline));
}
