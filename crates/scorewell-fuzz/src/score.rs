//! Scoring a model that loaded from fuzzed bytes: a file can pass its parser and still
//! describe trees or layers that an evaluator would index out of range.

use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, Float64Array, ListArray, RecordBatch, StringArray};
use scorewell::{Pipeline, Scorer, Stage};

/// Widest row a tensor input is scored with: a graph may declare any shape, and the harness
/// must not be the one allocating without bound.
const MAX_TENSOR_WIDTH: usize = 1 << 14;

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

/// Scores four rows on a tensor model (Keras, ONNX): each input a list of `width` floats
/// cycling through zero, NaN, a huge value and a negative one, one row all NaN.
pub(crate) fn exercise_tensors(stage: Arc<dyn Stage>, inputs: &[(String, usize)]) {
    if inputs.is_empty() || inputs.iter().any(|(_, w)| *w > MAX_TENSOR_WIDTH) {
        return;
    }
    let values = [0.0f32, f32::NAN, 3e38, -2.5];
    let columns: Vec<(String, ArrayRef)> = inputs
        .iter()
        .map(|(name, width)| {
            let rows = (0..4).map(|r| {
                Some(
                    (0..*width)
                        .map(|i| Some(values[(i + r) % values.len()]))
                        .collect::<Vec<_>>(),
                )
            });
            let array: ArrayRef =
                Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(rows));
            (name.clone(), array)
        })
        .collect();
    if let Ok(batch) = RecordBatch::try_from_iter(columns) {
        let _ = Scorer::new(Pipeline::new().push(stage)).score(&batch);
    }
}

/// [`exercise`] for stages not yet in a scorer (a Spark folder's).
pub(crate) fn exercise_stages(stages: Vec<Arc<dyn Stage>>) {
    let pipeline = stages.into_iter().fold(Pipeline::new(), |p, s| p.push(s));
    exercise(&Scorer::new(pipeline));
}
