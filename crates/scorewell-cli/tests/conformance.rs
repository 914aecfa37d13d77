//! The conformance runner: every case under `tests/conformance/cases/` (a real model, an input
//! table and the original library's own predictions, made by `tests/conformance/generate/`)
//! goes through two surfaces — the Rust library and the `scorewell score` CLI — in both output
//! modes, and must match the library to the case's stated tolerance.
//!
//! `SCOREWELL_CONFORMANCE_DIR` points the runner at another folder of cases (CI regenerates the
//! cases with the pinned libraries and runs them too). `SCOREWELL_CONFORMANCE_ONLY=substring`
//! runs a subset. `SCOREWELL_EXACT=1` tightens every tolerance to bit equality.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use scorewell::forest::{Engine, set_default_engine};
use scorewell::{LoadOptions, OutputMode};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    description: String,
    producer: String,
    producer_version: String,
    model: String,
    input: String,
    #[serde(default)]
    expected: String,
    rtol: f64,
    atol: f64,
    #[serde(default)]
    expect_error: String,
}

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases"),
    }
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .build()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The `prefix*` Float64 columns of `batches`, by name, concatenated.
fn columns(batches: &[RecordBatch], prefix: &str) -> Vec<(String, Vec<f64>)> {
    let Some(first) = batches.first() else {
        return Vec::new();
    };
    let names: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| n == prefix || n.starts_with(&format!("{prefix}_")))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mut values = Vec::new();
            for b in batches {
                let col = b
                    .column_by_name(&name)
                    .expect("column exists in every batch");
                let col = col.as_primitive::<Float64Type>();
                assert_eq!(col.null_count(), 0, "column {name} has nulls");
                values.extend_from_slice(col.values());
            }
            (name, values)
        })
        .collect()
}

fn compare(
    what: &str,
    got: &[(String, Vec<f64>)],
    want: &[(String, Vec<f64>)],
    rtol: f64,
    atol: f64,
) -> Result<(), String> {
    let names = |c: &[(String, Vec<f64>)]| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(got) != names(want) {
        return Err(format!(
            "{what}: output columns differ\n  expected: {:?}\n  got:      {:?}",
            names(want),
            names(got)
        ));
    }
    let exact = std::env::var("SCOREWELL_EXACT").is_ok_and(|v| v == "1");
    for ((name, g), (_, w)) in got.iter().zip(want) {
        if g.len() != w.len() {
            return Err(format!(
                "{what}: column {name}: {} rows, expected {}",
                g.len(),
                w.len()
            ));
        }
        let mut worst: Option<(usize, f64)> = None;
        let mut bad = 0;
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            let ok = if exact {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            } else {
                (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs()
            };
            if !ok {
                bad += 1;
                let d = (a - b).abs();
                if worst.is_none_or(|(_, wd)| d > wd || d.is_nan()) {
                    worst = Some((i, d));
                }
            }
        }
        if let Some((i, d)) = worst {
            return Err(format!(
                "{what}: column {name}: {bad} of {} rows differ (rtol {rtol}, atol {atol}); largest at row {i}:\n  expected: {:?}\n  got:      {:?}\n  diff:     {d:e}",
                g.len(),
                w[i],
                g[i]
            ));
        }
    }
    Ok(())
}

fn run_library(dir: &Path, case: &Case, mode: OutputMode) -> Result<Vec<RecordBatch>, String> {
    let scorer = scorewell::load_with(
        dir.join(&case.model),
        &LoadOptions {
            mode,
            ..Default::default()
        },
    )
    .map_err(|e| format!("load: {e}"))?;
    read_parquet(&dir.join(&case.input))?
        .iter()
        .map(|b| scorer.score(b).map_err(|e| format!("score: {e}")))
        .collect()
}

fn run_cli(
    dir: &Path,
    case: &Case,
    mode: OutputMode,
    out: &Path,
) -> Result<Vec<RecordBatch>, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scorewell"));
    cmd.arg("score")
        .arg(dir.join(&case.model))
        .arg("--input")
        .arg(dir.join(&case.input))
        .arg("--output")
        .arg(out)
        .arg("--quiet");
    if mode == OutputMode::Margin {
        cmd.arg("--output-margin");
    }
    let result = cmd
        .output()
        .map_err(|e| format!("cannot run scorewell: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "scorewell score failed: {}",
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    read_parquet(out)
}

fn run_case(dir: &Path, scratch: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(dir.join("case.toml")).map_err(|e| format!("case.toml: {e}"))?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("case.toml: {e}"))?;
    let label = format!(
        "{} {} ({})",
        case.producer, case.producer_version, case.description
    );
    if !case.expect_error.is_empty() {
        return match scorewell::load(dir.join(&case.model)) {
            Ok(_) => Err(format!(
                "expected a load error containing {:?}, but it loaded",
                case.expect_error
            )),
            Err(e) if e.to_string().contains(&case.expect_error) => Ok(label),
            Err(e) => Err(format!(
                "error {e:?} does not contain {:?}",
                case.expect_error
            )),
        };
    }
    let expected = read_parquet(&dir.join(&case.expected))?;
    for (mode, prefix) in [
        (OutputMode::Prediction, "prediction"),
        (OutputMode::Margin, "margin"),
    ] {
        let want = columns(&expected, prefix);
        if want.is_empty() {
            return Err(format!("expected.parquet has no `{prefix}` columns"));
        }
        // Both evaluators, bit for bit: forests compiled to native code must answer exactly
        // as the interpreter does, and the interpreter as the original library (below).
        // (The process-wide default is safe to switch: this binary runs one test.)
        set_default_engine(Engine::Compile);
        let compiled = run_library(dir, &case, mode)?;
        set_default_engine(Engine::Interpret);
        let lib = run_library(dir, &case, mode)?;
        set_default_engine(Engine::Auto);
        let (a, b) = (columns(&compiled, prefix), columns(&lib, prefix));
        let same = a.len() == b.len()
            && a.iter().zip(&b).all(|((_, x), (_, y))| {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|(u, v)| u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()))
            });
        if !same {
            return Err(format!(
                "{prefix}: native code and interpreter differ in the last bits"
            ));
        }
        compare(
            &format!("library {prefix}"),
            &columns(&lib, prefix),
            &want,
            case.rtol,
            case.atol,
        )?;
        let out = scratch.join(format!("{prefix}.parquet"));
        let cli = run_cli(dir, &case, mode, &out)?;
        compare(
            &format!("cli {prefix}"),
            &columns(&cli, prefix),
            &want,
            case.rtol,
            case.atol,
        )?;
    }
    Ok(label)
}

#[test]
fn conformance_cases_match_the_original_libraries() {
    let root = cases_dir();
    let only = std::env::var("SCOREWELL_CONFORMANCE_ONLY").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").exists())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&only))
        })
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no conformance cases under {}",
        root.display()
    );
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run_case(dir, scratch.path()) {
            Ok(label) => eprintln!("ok    {name}: {label}"),
            Err(e) => {
                eprintln!("FAIL  {name}: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    eprintln!(
        "{} cases, {} passed, {} failed",
        dirs.len(),
        dirs.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} conformance failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
