//! Parity with ONNX Runtime on the cases made by `tests/conformance/generate/onnx_cases.py`
//! (committed under `tests/conformance/onnx/`; `SCOREWELL_ONNX_CONFORMANCE_DIR` points the
//! runner at freshly generated ones): every output of every case, scored as one batch and
//! row by row, within the case's tolerance; refused cases fail to load with the stated text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch};
use scorewell_core::Stage;
use scorewell_onnx::{OnnxModel, OnnxStage, Planning};
use serde_json::Value;

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_ONNX_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/onnx"),
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&read(p)).expect("valid JSON")
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

/// The case's inputs as list-of-float columns named after the ONNX inputs.
fn batch(model: &OnnxModel, data: &Value) -> RecordBatch {
    let columns: Vec<(String, ArrayRef)> = model
        .inputs()
        .iter()
        .map(|i| {
            let r = rows(&data["inputs"][&i.name]);
            let list = ListArray::from_iter_primitive::<Float64Type, _, _>(
                r.into_iter().map(|row| Some(row.into_iter().map(Some))),
            );
            (i.name.clone(), Arc::new(list) as ArrayRef)
        })
        .collect();
    RecordBatch::try_from_iter(columns).expect("batch")
}

/// Scores `b` and compares with ORT's outputs; returns the number of values compared.
fn compare(
    case: &str,
    stage: &OnnxStage,
    b: &RecordBatch,
    expected: &[Vec<f64>],
    tol: f64,
) -> usize {
    let binding = stage.bind(&b.schema()).expect("bind");
    let out = stage
        .apply(&binding, b)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let fields = stage.output_fields();
    assert_eq!(out.columns.len(), expected.len(), "{case}: output columns");
    let mut n = 0;
    for ((col, want), field) in out.columns.iter().zip(expected).zip(&fields) {
        let got = col.as_any().downcast_ref::<Float64Array>().expect("f64");
        assert_eq!(got.len(), want.len(), "{case}: rows of {}", field.name());
        for (row, (g, w)) in got.values().iter().zip(want).enumerate() {
            let err = (g - w).abs() / (w.abs() + 1.0);
            assert!(
                err <= tol,
                "{case}: column {} row {row}: scorewell {g}, ONNX Runtime {w} (relative error {err:e} > {tol:e})",
                field.name()
            );
            n += 1;
        }
    }
    n
}

#[test]
fn matches_onnx_runtime_on_every_case() {
    let dir = cases_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut scored, mut refused) = (0, 0);
    for case in &names {
        let d = dir.join(case);
        let meta = json(&d.join("case.json"));
        let data = json(&d.join("data.json"));
        let bytes = read(&d.join(meta["files"]["onnx"]["model"].as_str().expect("model file")));
        let loaded = OnnxModel::from_bytes(&bytes);
        if let Some(want) = meta["refused"].as_str() {
            let err = loaded
                .expect_err(&format!("{case}: should be refused"))
                .to_string();
            assert!(err.contains(want), "{case}: error `{err}` lacks `{want}`");
            refused += 1;
            continue;
        }
        let model = Arc::new(loaded.unwrap_or_else(|e| panic!("{case}: {e}")));
        let tol = meta["tolerance"].as_f64().expect("tolerance");
        // Expected columns in the stage's order: per ONNX output, its values per row.
        let mut expected: Vec<Vec<f64>> = Vec::new();
        for o in model.outputs() {
            let r = rows(&data["outputs"][&o.name]);
            let width: usize = o.row_shape.iter().product();
            for j in 0..width {
                expected.push(r.iter().map(|row| row[j]).collect());
            }
        }
        let b = batch(&model, &data);
        // The default (a plan per row count) and one symbolic-row-count plan.
        let symbolic = OnnxModel::from_bytes_with(&bytes, Planning::Symbolic)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        for model in [model, Arc::new(symbolic)] {
            let stage = OnnxStage::new(case, model);
            let n = compare(case, &stage, &b, &expected, tol);
            assert!(n > 0, "{case}: nothing compared");
            // Row by row: batch size 1.
            for row in 0..b.num_rows() {
                let one: Vec<Vec<f64>> = expected.iter().map(|c| vec![c[row]]).collect();
                compare(case, &stage, &b.slice(row, 1), &one, tol);
            }
        }
        scored += 1;
    }
    assert!(
        scored >= 6,
        "only {scored} scored cases in {}",
        dir.display()
    );
    assert!(
        refused >= 2,
        "only {refused} refused cases in {}",
        dir.display()
    );
}
