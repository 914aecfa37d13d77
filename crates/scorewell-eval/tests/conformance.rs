//! Every metric against scikit-learn's on the same scores and labels.
//!
//! Cases come from `tests/conformance/eval/generate.py` (committed under
//! `tests/conformance/eval/cases/`); set `SCOREWELL_EVAL_CONFORMANCE_DIR` to check a freshly
//! generated set instead. Tolerance: 1e-9, absolute below 1 and relative above
//! (`SCOREWELL_EVAL_TOL` overrides it).

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use scorewell_eval::{EvalSpec, Evaluator, TaskSpec};
use serde_json::Value;

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_EVAL_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/eval/cases")
        }
    }
}

fn tolerance() -> f64 {
    std::env::var("SCOREWELL_EVAL_TOL")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1e-9)
}

fn floats(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .expect("array")
        .iter()
        .map(Value::as_f64)
        .collect()
}

fn column(values: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(values))
}

/// Record a mismatch between `got` (ours) and `want` (scikit-learn's) at `path`.
fn compare(failures: &mut Vec<String>, path: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => compare(failures, &format!("{path}.{k}"), gv, wv),
                    None => failures.push(format!("{path}.{k}: missing (want {wv})")),
                }
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                failures.push(format!("{path}: {} entries, want {}", g.len(), w.len()));
                return;
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                compare(failures, &format!("{path}[{i}]"), gv, wv);
            }
        }
        (Value::Number(_), Value::Number(_)) => {
            let (g, w) = (
                got.as_f64().unwrap_or(f64::NAN),
                want.as_f64().unwrap_or(f64::NAN),
            );
            let diff = (g - w).abs();
            if diff.is_nan() || diff > tolerance() * w.abs().max(1.0) {
                failures.push(format!("{path}: got {g:?}, want {w:?} (diff {diff:e})"));
            }
        }
        (g, w) if g == w => {}
        (g, w) => failures.push(format!("{path}: got {g}, want {w}")),
    }
}

fn run_case(case: &Value) -> Vec<String> {
    let name = case["name"].as_str().expect("name");
    let task = case["task"].as_str().expect("task");
    let labels = floats(&case["labels"]);
    let mut fields = vec![Field::new("label", DataType::Float64, true)];
    let mut columns = vec![column(labels)];
    let mut spec = EvalSpec::new("label");
    match task {
        "multiclass" => {
            let rows: Vec<Vec<Option<f64>>> = case["scores"]
                .as_array()
                .expect("rows")
                .iter()
                .map(floats)
                .collect();
            let k = rows[0].len();
            for c in 0..k {
                fields.push(Field::new(
                    format!("prediction_{c}"),
                    DataType::Float64,
                    true,
                ));
                columns.push(column(rows.iter().map(|r| r[c]).collect()));
            }
            spec.task = TaskSpec::Multiclass;
        }
        _ => {
            fields.push(Field::new("prediction", DataType::Float64, true));
            columns.push(column(floats(&case["scores"])));
            spec.task = if task == "binary" {
                TaskSpec::Binary
            } else {
                TaskSpec::Regression
            };
        }
    }
    if task == "binary" {
        spec.thresholds = floats(&case["thresholds"]).into_iter().flatten().collect();
        spec.at_precision = floats(&case["at_precision"])
            .into_iter()
            .flatten()
            .collect();
        spec.calibration_bins = case["calibration_bins"].as_u64().expect("bins") as usize;
        // Spill sorted runs after a few rows, so the external sort is what is checked.
        spec.memory_rows = 64;
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
    let mut eval = Evaluator::new(spec, &schema, None).expect("evaluator");
    // Feed in uneven slices, as a stream of batches would arrive.
    let mut offset = 0;
    for len in [1usize, 7, 100, usize::MAX] {
        let len = len.min(batch.num_rows() - offset);
        eval.push(&batch.slice(offset, len), None).expect("push");
        offset += len;
    }
    let result = eval.finish().expect("finish");
    let got = serde_json::to_value(&result).expect("json");
    let mut failures = Vec::new();
    compare(
        &mut failures,
        &format!("{name}.rows.missing_label"),
        &got["rows"]["missing_label"],
        &case["skipped"]["missing_label"],
    );
    compare(
        &mut failures,
        &format!("{name}.rows.nan_score"),
        &got["rows"]["nan_score"],
        &case["skipped"]["nan_score"],
    );
    let mut candidate = got["candidate"].clone();
    // scikit-learn's calibration_curve returns the two means per non-empty bin only.
    if let Some(bins) = candidate
        .get_mut("calibration")
        .and_then(Value::as_array_mut)
    {
        for b in bins {
            if let Some(o) = b.as_object_mut() {
                o.retain(|k, _| k == "mean_predicted" || k == "fraction_positive");
            }
        }
    }
    compare(&mut failures, name, &candidate, &case["expected"]);
    failures
}

#[test]
fn every_metric_matches_scikit_learn() {
    let dir = cases_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the conformance cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &paths {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        failures.extend(run_case(&case));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
