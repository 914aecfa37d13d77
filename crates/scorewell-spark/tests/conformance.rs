//! Spark conformance: every case under `tests/conformance/spark/cases/` holds a model saved by
//! real Spark, the rows given to its `transform`, and Spark's outputs
//! (`tests/conformance/spark/generate.py`). Each case is loaded and scored here and every output
//! column compared: scalar columns by type too, vectors element-wise, strings and token lists
//! exactly, numbers within the case's `rtol`/`atol` (`|got - expected| <= atol + rtol *
//! |expected|`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use scorewell_core::vector::VectorColumn;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/spark/cases")
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches.first().expect("a batch").schema();
    arrow_select::concat::concat_batches(&schema, &batches).expect("concat")
}

#[derive(Debug, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    Texts(Vec<Option<String>>),
    Vector(Vec<f64>),
}

fn cell(col: &ArrayRef, row: usize, name: &str) -> Cell {
    if col.is_null(row) {
        return Cell::Null;
    }
    match col.data_type() {
        DataType::Float64 => Cell::Num(col.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => Cell::Num(f64::from(col.as_primitive::<Float32Type>().value(row))),
        DataType::Int32 => Cell::Num(f64::from(col.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Cell::Num(col.as_primitive::<Int64Type>().value(row) as f64),
        DataType::Utf8 => Cell::Text(col.as_string::<i32>().value(row).to_string()),
        DataType::List(f) if f.data_type() == &DataType::Utf8 => {
            let v = col.as_list::<i32>().value(row);
            let s = v.as_string::<i32>();
            Cell::Texts(
                (0..s.len())
                    .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
                    .collect(),
            )
        }
        _ => {
            let v = VectorColumn::try_new(col, name).expect("a vector column");
            Cell::Vector(v.get(row).map(|r| r.to_dense()).unwrap_or_default())
        }
    }
}

fn close(got: f64, want: f64, rtol: f64, atol: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= atol + rtol * want.abs()
}

fn same(got: &Cell, want: &Cell, rtol: f64, atol: f64) -> bool {
    match (got, want) {
        (Cell::Num(g), Cell::Num(w)) => close(*g, *w, rtol, atol),
        (Cell::Vector(g), Cell::Vector(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| close(*g, *w, rtol, atol))
        }
        _ => got == want,
    }
}

/// Scores one case; returns its mismatches (empty when it conforms).
fn run_case(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("case.toml")).expect("case.toml");
    let case: toml::Table = text.parse().expect("case.toml parses");
    // SCOREWELL_SPARK_RTOL / _ATOL override the case's tolerances (0 checks bit-exactness).
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let rtol =
        env("SCOREWELL_SPARK_RTOL").unwrap_or_else(|| case["rtol"].as_float().expect("rtol"));
    let atol =
        env("SCOREWELL_SPARK_ATOL").unwrap_or_else(|| case["atol"].as_float().expect("atol"));
    let model = dir.join(case["model"].as_str().expect("model"));
    let scorer = match scorewell_spark::load(&model) {
        Ok(s) => s,
        Err(e) => return vec![format!("load: {e}")],
    };
    let input = read_parquet(&dir.join(case["input"].as_str().expect("input")));
    let expected = read_parquet(&dir.join(case["expected"].as_str().expect("expected")));
    let scored = match scorer.score(&input) {
        Ok(b) => b,
        Err(e) => return vec![format!("score: {e}")],
    };
    let mut problems = Vec::new();
    if scored.num_rows() != expected.num_rows() {
        return vec![format!(
            "rows: got {}, Spark kept {}",
            scored.num_rows(),
            expected.num_rows()
        )];
    }
    // The same columns as Spark's transform adds, in the same order.
    let want: Vec<&str> = case["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|v| v.as_str().expect("output name"))
        .collect();
    let scored_schema = scored.schema();
    let got: Vec<&str> = scored_schema.fields()[input.num_columns()..]
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    if got != want {
        problems.push(format!("output columns: Spark {want:?}, scorewell {got:?}"));
    }
    let schema = expected.schema();
    for (field, want_col) in schema.fields().iter().zip(expected.columns()) {
        let name = field.name();
        let Some(got_col) = scored.column_by_name(name) else {
            problems.push(format!("column `{name}`: not produced"));
            continue;
        };
        let got_col: ArrayRef = Arc::clone(got_col);
        // Scalar columns have Spark's type (an imputed int column stays int).
        let scalar = matches!(
            field.data_type(),
            DataType::Float64
                | DataType::Float32
                | DataType::Int32
                | DataType::Int64
                | DataType::Utf8
                | DataType::Boolean
        );
        if scalar && got_col.data_type() != field.data_type() {
            problems.push(format!(
                "column `{name}`: Spark's type {}, scorewell's {}",
                field.data_type(),
                got_col.data_type()
            ));
            continue;
        }
        let mut bad = 0;
        for row in 0..expected.num_rows() {
            let (g, w) = (cell(&got_col, row, name), cell(want_col, row, name));
            if !same(&g, &w, rtol, atol) {
                if bad < 3 {
                    problems.push(format!(
                        "column `{name}`, row {row}:\n    expected {w:?}\n    got      {g:?}"
                    ));
                }
                bad += 1;
            }
        }
        if bad > 3 {
            problems.push(format!("column `{name}`: {bad} rows differ in all"));
        }
    }
    problems
}

#[test]
fn every_spark_case_matches_spark_transform() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("cases folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "expected the committed Spark cases");
    let only = std::env::var("SPARK_CASE").ok();
    let mut failed = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let problems = run_case(dir);
        if problems.is_empty() {
            eprintln!("ok    {name}");
        } else {
            eprintln!("FAIL  {name}\n  {}", problems.join("\n  "));
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "cases differing from Spark: {failed:?}");
}

fn walk(dir: &Path, root: &Path, out: &mut std::collections::BTreeMap<String, Arc<[u8]>>) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, root, out);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            let key = format!("spark/m/{}", rel.to_string_lossy());
            out.insert(key, Arc::from(std::fs::read(&path).expect("read")));
        }
    }
}

#[test]
fn a_folder_held_in_memory_scores_like_the_folder_on_disk() {
    for case in [
        "spark_4_3_nested_pipeline_index_to_string",
        "spark_4_3_mixed_gbt",
        "spark_4_3_text_lr",
        // Stages that read sub-folders: bestModel/, model_<i>/, the mllib data/metadata/.
        "spark_4_3_cross_validator",
        "spark_4_3_one_vs_rest_lr",
        "spark_4_3_polynomial_bisecting",
    ] {
        let dir = cases_dir().join(case);
        let mut files = std::collections::BTreeMap::new();
        walk(&dir.join("model"), &dir.join("model"), &mut files);
        let stages = scorewell_spark::load_files("spark/m/", files).expect("loads from memory");
        let memory = scorewell_core::Scorer::new(stages.into_iter().fold(
            scorewell_core::Pipeline::new(),
            scorewell_core::Pipeline::push,
        ));
        let disk = scorewell_spark::load(dir.join("model")).expect("loads from disk");
        let input = read_parquet(&dir.join("input.parquet"));
        assert_eq!(
            memory.score(&input).expect("scores"),
            disk.score(&input).expect("scores"),
            "{case}"
        );
    }
    let err = scorewell_spark::load_files("spark/none", Default::default())
        .expect_err("empty")
        .to_string();
    assert_eq!(
        err,
        "spark/none: no `metadata/` folder (not a saved Spark ML model)"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Rewrite every parquet folder as two part files holding the rows in reverse order.
fn split_and_reverse(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            split_and_reverse(&path);
            continue;
        }
        if !path.to_string_lossy().ends_with(".parquet") {
            continue;
        }
        let batch = read_parquet(&path);
        let n = batch.num_rows();
        let reversed: Vec<u32> = (0..n as u32).rev().collect();
        let batch = arrow_select::take::take_record_batch(
            &batch,
            &arrow_array::UInt32Array::from(reversed),
        )
        .expect("take");
        std::fs::remove_file(&path).expect("rm");
        let half = n / 2;
        for (i, part) in [batch.slice(0, half), batch.slice(half, n - half)]
            .iter()
            .enumerate()
        {
            let file = std::fs::File::create(
                path.with_file_name(format!("part-0000{i}-split.snappy.parquet")),
            )
            .expect("create");
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, part.schema(), None).expect("writer");
            w.write(part).expect("write");
            w.close().expect("close");
        }
    }
}

/// Spark may write model data as several part files in any row order.
#[test]
fn data_split_over_part_files_in_any_order_scores_the_same() {
    for case in [
        "spark_4_3_mixed_rf",
        "spark_4_3_multiclass_models",
        "spark_4_3_mixed_gbt",
    ] {
        let dir = cases_dir().join(case);
        let tmp = tempfile::tempdir().expect("tmp");
        copy_dir(&dir.join("model"), tmp.path());
        split_and_reverse(tmp.path());
        let input = read_parquet(&dir.join("input.parquet"));
        let want = scorewell_spark::load(dir.join("model"))
            .expect("loads")
            .score(&input)
            .expect("scores");
        let got = scorewell_spark::load(tmp.path())
            .expect("loads split data")
            .score(&input)
            .expect("scores");
        assert_eq!(got, want, "{case}");
    }
}
