//! Parity with scikit-learn: every case in `tests/conformance/sklearn/cases` (or the folder
//! `SCOREWELL_SKLEARN_CASES` names, e.g. one generated just now by
//! `tests/conformance/sklearn/generate.py`) is loaded from its pickle/joblib file, scored on
//! its input rows, and compared with what scikit-learn itself returned, column by column, to
//! the case's stated tolerance; labels must be equal. Refusal cases must fail with their
//! expected message.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use scorewell_core::Stage;
use scorewell_sklearn::SklearnStage;

#[derive(serde::Deserialize)]
struct Case {
    description: String,
    model: String,
    input: String,
    expected: String,
    rtol: f64,
    atol: f64,
    expect_error: String,
    /// Scoring (not loading) must fail with a message containing this.
    #[serde(default)]
    score_error: String,
}

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_SKLEARN_CASES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/sklearn/cases"),
    }
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow_select_concat(&batches)
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "small cases are one batch");
    batches[0].clone()
}

fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs()
}

/// Compare one output column; returns a failure message.
fn compare(name: &str, got: &ArrayRef, want: &ArrayRef, case: &Case) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!(
            "{name}: {} rows, expected {}",
            got.len(),
            want.len()
        ));
    }
    match want.data_type() {
        DataType::Float64 | DataType::Float32 => {
            let want = arrow_cast::cast(want, &DataType::Float64).unwrap();
            let got = arrow_cast::cast(got, &DataType::Float64).ok()?;
            let (w, g) = (
                want.as_primitive::<Float64Type>(),
                got.as_primitive::<Float64Type>(),
            );
            for i in 0..w.len() {
                let (a, b) = (g.value(i), w.value(i));
                if !close(a, b, case.rtol, case.atol) {
                    let d = (a - b).abs();
                    return Some(format!(
                        "{name} row {i}: got {a:e}, scikit-learn {b:e} (|diff| {d:e}; rtol {}, atol {})",
                        case.rtol, case.atol
                    ));
                }
            }
            None
        }
        DataType::Int64 | DataType::Int32 => {
            let want = arrow_cast::cast(want, &DataType::Int64).unwrap();
            let got = arrow_cast::cast(got, &DataType::Int64).ok()?;
            let (w, g) = (
                want.as_primitive::<Int64Type>(),
                got.as_primitive::<Int64Type>(),
            );
            (0..w.len()).find(|&i| w.value(i) != g.value(i)).map(|i| {
                format!(
                    "{name} row {i}: got {}, scikit-learn {}",
                    g.value(i),
                    w.value(i)
                )
            })
        }
        _ => {
            let want = arrow_cast::cast(want, &DataType::Utf8).unwrap();
            let got = arrow_cast::cast(got, &DataType::Utf8).unwrap();
            let (w, g) = (want.as_string::<i32>(), got.as_string::<i32>());
            (0..w.len()).find(|&i| w.value(i) != g.value(i)).map(|i| {
                format!(
                    "{name} row {i}: got {}, scikit-learn {}",
                    g.value(i),
                    w.value(i)
                )
            })
        }
    }
}

/// `Ok` when `result` is an error whose message contains `want`.
fn failed_with<T, E: std::fmt::Display>(
    result: Result<T, E>,
    done: &str,
    want: &str,
) -> Result<(), String> {
    match result {
        Ok(_) => Err(format!("{done}, but should fail with `{want}`")),
        Err(e) if e.to_string().contains(want) => Ok(()),
        Err(e) => Err(format!("failed with `{e}`, expected `{want}`")),
    }
}

fn run(dir: &Path) -> Result<(), String> {
    let case: Case = toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).unwrap())
        .map_err(|e| format!("case.toml: {e}"))?;
    let bytes = std::fs::read(dir.join(&case.model)).unwrap();
    let loaded = scorewell_sklearn::load(&bytes);
    if !case.expect_error.is_empty() {
        return failed_with(loaded, "loaded", &case.expect_error);
    }
    let model = loaded.map_err(|e| format!("load: {e}"))?;
    let stage = SklearnStage::new(Arc::new(model));
    let input = read_parquet(&dir.join(&case.input));
    let binding = stage
        .bind(&input.schema())
        .map_err(|e| format!("bind: {e}"))?;
    let scored = stage.apply(&binding, &input);
    if !case.score_error.is_empty() {
        return failed_with(scored, "scored", &case.score_error);
    }
    let out = scored.map_err(|e| format!("score: {e}"))?;
    let expected = read_parquet(&dir.join(&case.expected));
    let fields = stage.output_fields();
    for (i, f) in expected.schema().fields().iter().enumerate() {
        let Some(pos) = fields.iter().position(|g| g.name() == f.name()) else {
            return Err(format!(
                "scorewell does not produce `{}` (it produces {:?})",
                f.name(),
                fields.iter().map(|f| f.name()).collect::<Vec<_>>()
            ));
        };
        if let Some(m) = compare(f.name(), &out.columns[pos], expected.column(i), &case) {
            return Err(m);
        }
    }
    let _ = case.description;
    Ok(())
}

#[test]
fn every_case_matches_scikit_learn() {
    let dir = cases_dir();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").exists())
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "expected the scikit-learn cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for d in &names {
        if let Err(m) = run(d) {
            failures.push(format!("{}: {m}", d.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from scikit-learn:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
