//! `scorewell bundle create`, `verify`, `inspect` and `score` on bundles.

use std::fs::File;
use std::io::Write;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{Dir, case, scorewell};

fn predictions(path: &std::path::Path, column: &str) -> Vec<f64> {
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open"))
            .expect("parquet")
            .build()
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("batches");
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(column)
                .unwrap_or_else(|| panic!("no column {column}"))
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

#[test]
fn a_bundle_scores_exactly_like_its_bare_model_and_describes_itself() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let model = c.join("model.json");
    let input = c.join("input.parquet");
    let zip = dir.path("fraud-3.zip");
    let run = scorewell(&[
        &"bundle",
        &"create",
        &"--model",
        &model,
        &"--name",
        &"fraud",
        &"--version",
        &"3",
        &"-o",
        &zip,
    ]);
    run.ok();
    assert!(run.stderr.contains("wrote"), "{}", run.stderr);

    let inspect = scorewell(&[&"inspect", &zip]);
    let text = inspect.ok();
    for needle in [
        "name:       fraud (version 3)",
        "models/model.json",
        "made by xgboost",
        "prediction",
        "float64",
    ] {
        assert!(text.contains(needle), "inspect lacks `{needle}`:\n{text}");
    }
    let verify = scorewell(&[&"verify", &zip]);
    assert!(
        verify.ok().contains("verified (1 artifacts)"),
        "{}",
        verify.stdout
    );

    let bare = dir.path("bare.parquet");
    let bundled = dir.path("bundled.parquet");
    scorewell(&[&"score", &model, &"-i", &input, &"-o", &bare, &"-q"]).ok();
    scorewell(&[&"score", &zip, &"-i", &input, &"-o", &bundled, &"-q"]).ok();
    assert_eq!(
        predictions(&bare, "prediction"),
        predictions(&bundled, "prediction")
    );

    let err = scorewell(&[
        &"score",
        &zip,
        &"-i",
        &input,
        &"-o",
        &bundled,
        &"--output-margin",
    ]);
    assert!(
        err.err().contains("raw margins are chosen per model stage"),
        "{}",
        err.stderr
    );
}

#[test]
fn a_tampered_artifact_is_refused_by_verify_and_score_naming_it() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let folder = dir.path("fraud");
    scorewell(&[
        &"bundle",
        &"create",
        &"--model",
        &c.join("model.json"),
        &"--name",
        &"fraud",
        &"-o",
        &folder,
    ])
    .ok();
    let artifact = folder.join("models/model.json");
    let mut bytes = std::fs::read(&artifact).expect("read");
    let at = bytes
        .iter()
        .position(|b| b.is_ascii_digit())
        .expect("a digit");
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&artifact, &bytes).expect("write");

    let verify = scorewell(&[&"verify", &folder]);
    assert!(
        verify
            .err()
            .contains("artifact `models/model.json` was modified"),
        "{}",
        verify.stderr
    );
    let out = dir.path("out.parquet");
    let score = scorewell(&[
        &"score",
        &folder,
        &"-i",
        &c.join("input.parquet"),
        &"-o",
        &out,
    ]);
    assert!(
        score
            .err()
            .contains("artifact `models/model.json` was modified"),
        "{}",
        score.stderr
    );
    assert!(!out.exists(), "no output for a refused bundle");

    // The same tampered bundle zipped is refused the same way.
    let manifest = std::fs::read(folder.join("scorewell.json")).expect("manifest");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("scorewell.json", options).expect("entry");
    zip.write_all(&manifest).expect("write");
    zip.start_file("models/model.json", options).expect("entry");
    zip.write_all(&bytes).expect("write");
    let zipped = dir.write("tampered.zip", zip.finish().expect("zip").into_inner());
    let verify = scorewell(&[&"verify", &zipped]);
    assert!(
        verify
            .err()
            .contains("artifact `models/model.json` was modified"),
        "{}",
        verify.stderr
    );
    let score = scorewell(&[
        &"score",
        &zipped,
        &"-i",
        &c.join("input.parquet"),
        &"-o",
        &out,
    ]);
    assert!(
        score
            .err()
            .contains("artifact `models/model.json` was modified"),
        "{}",
        score.stderr
    );
    assert!(!out.exists(), "no output for a refused zipped bundle");
}

#[test]
fn bundle_create_refuses_a_model_it_cannot_read() {
    let dir = Dir::new();
    let bad = dir.write("bad.json", "{\"learner\": ");
    let out = dir.path("b.zip");
    let run = scorewell(&[
        &"bundle", &"create", &"--model", &bad, &"--name", &"x", &"-o", &out,
    ]);
    let line = run.err();
    assert!(line.contains("models/bad.json"), "{line}");
    assert!(!out.exists());
}

/// `(id, probability, decision)` per row of a scored or expected CSV.
fn scored_rows(path: &std::path::Path) -> Vec<(String, f64, String)> {
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let (id, p, d) = (
        at("transaction_id"),
        at("fraud_probability"),
        at("decision"),
    );
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (
                cells[id].to_string(),
                cells[p].parse().expect("number"),
                cells[d].to_string(),
            )
        })
        .collect()
}

fn assert_same_rows(got: &[(String, f64, String)], want: &[(String, f64, String)]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.0);
        assert!(
            (g.1 - w.1).abs() <= 1e-12 * w.1.abs().max(1e-300),
            "{g:?} vs {w:?}"
        );
        assert_eq!(g.2, w.2, "{g:?} vs {w:?}");
    }
}

/// The README's first command: the example bundle (string indexers + XGBoost + decision) gives
/// xgboost's own probabilities on the raw transactions, and decisions by the bundle's rules.
#[test]
fn the_bundled_example_scores_like_xgboost() {
    let dir = Dir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fraud");
    let out = dir.path("scored.csv");
    scorewell(&[
        &"score",
        &root.join("bundle"),
        &"--input",
        &root.join("transactions.csv"),
        &"--output",
        &out,
    ])
    .ok();
    let got = scored_rows(&out);
    let text = std::fs::read_to_string(root.join("expected.csv")).expect("expected");
    let want: Vec<(String, f64, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (id, p) = l.split_once(',').expect("two cells");
            let p: f64 = p.parse().expect("number");
            let label = if p >= 0.5 {
                "block"
            } else if p >= 0.2 {
                "review"
            } else {
                "allow"
            };
            (id.to_string(), p, label.to_string())
        })
        .collect();
    assert_eq!(want.len(), 1000);
    assert_same_rows(&got, &want);
    assert!(got.iter().any(|r| r.2 == "block") && got.iter().any(|r| r.2 == "allow"));
}

/// Every released manifest version keeps loading and scoring the same (tests/bundles/).
#[test]
fn manifest_version_1_bundles_still_score_the_same() {
    let dir = Dir::new();
    let v1 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bundles/v1/fraud");
    let out = dir.path("scored.csv");
    scorewell(&[&"verify", &v1.join("bundle")]).ok();
    scorewell(&[
        &"score",
        &v1.join("bundle"),
        &"-i",
        &v1.join("input.csv"),
        &"-o",
        &out,
    ])
    .ok();
    assert_same_rows(&scored_rows(&out), &scored_rows(&v1.join("expected.csv")));
}

/// Peak resident memory of the largest child process this test binary has waited for, in KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage only writes the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

#[test]
fn hostile_archives_are_refused_without_writing_or_exhausting_memory() {
    let unsafe_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bundles/unsafe");
    let dir = Dir::new();
    let input = dir.write("rows.csv", "x\n1\n");
    let cases = [
        (
            "bomb-1g.zip",
            "refusing bundle entry `scorewell.json`: expands",
        ),
        (
            "dotdot.zip",
            "refusing bundle entry `../../escaped.txt`: the path climbs out of the bundle",
        ),
        (
            "symlink.zip",
            "refusing bundle entry `models/model.json`: symbolic links are not allowed",
        ),
    ];
    for (file, message) in cases {
        let bundle = unsafe_dir.join(file);
        let verify = scorewell(&[&"verify", &bundle]);
        assert!(verify.err().contains(message), "{file}: {}", verify.stderr);
        let out = dir.path("out.csv");
        let score = scorewell(&[&"score", &bundle, &"-i", &input, &"-o", &out]);
        assert!(score.err().contains(message), "{file}: {}", score.stderr);
    }
    assert_eq!(dir.listing(), ["rows.csv"], "nothing written");
    assert!(!unsafe_dir.join("../../escaped.txt").exists());
    // 1 GiB never reaches memory: every scorewell run so far stayed far below it.
    let peak = children_peak_rss_kib();
    assert!(peak < 300 * 1024, "a child peaked at {peak} KiB");
}

#[test]
fn bundle_kinds_lists_models_and_transforms() {
    let run = scorewell(&[&"bundle", &"kinds"]);
    let kinds: Vec<&str> = run.ok().lines().collect();
    for kind in [
        "model",
        "string_indexer",
        "hashing_tf",
        "ensemble",
        "decision",
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}

/// `scorewell eval` on a bundle with a decision reads the decision's score column and reports
/// its thresholds first (the example's outcome column is `is_fraud`).
#[test]
fn eval_uses_the_bundle_decision_thresholds() {
    let dir = Dir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fraud");
    let json = dir.path("metrics.json");
    let run = scorewell(&[
        &"eval",
        &root.join("bundle"),
        &"-i",
        &root.join("transactions.csv"),
        &"--label",
        &"is_fraud",
        &"--threshold",
        &"0.3",
        &"--json",
        &json,
    ]);
    let table = run.ok();
    assert!(
        table.contains("precision@0.5") && table.contains("recall@0.2"),
        "{table}"
    );
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parse");
    let thresholds: Vec<f64> = metrics["candidate"]["at_thresholds"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["threshold"].as_f64().expect("number"))
        .collect();
    assert_eq!(thresholds, [0.5, 0.2, 0.3]);
    assert_eq!(metrics["rows"]["evaluated"], 1000);
}

#[test]
fn a_model_set_bundle_from_a_folder_scores_each_row_with_its_keys_model() {
    let dir = Dir::new();
    let cases =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/routing/cases/xgboost");
    let zip = dir.path("devices.zip");
    let run = scorewell(&[
        &"bundle",
        &"create",
        &"--model-set",
        &"device_id",
        &"--models",
        &cases.join("models"),
        &"--default",
        &cases.join("default.json"),
        &"--record",
        &"scored_by",
        &"-o",
        &zip,
    ]);
    run.ok();
    assert!(run.stderr.contains("wrote"), "{}", run.stderr);
    let inspect = scorewell(&[&"inspect", &zip]).ok().to_string();
    assert!(inspect.contains("model_set"), "{inspect}");
    scorewell(&[&"verify", &zip]).ok();
    let scored = dir.path("scored.parquet");
    scorewell(&[
        &"score",
        &zip,
        &"-i",
        &cases.join("input.parquet"),
        &"-o",
        &scored,
        &"-q",
    ])
    .ok();
    let got = predictions(&scored, "prediction");
    let want = predictions(&cases.join("expected.parquet"), "prediction");
    assert_eq!(got.len(), want.len());
    for (row, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6,
            "row {row}: scorewell {g}, xgboost {w}"
        );
    }

    // Unknown policy names are refused by the CLI, naming the flag.
    let bad = scorewell(&[
        &"bundle",
        &"create",
        &"--model-set",
        &"device_id",
        &"--models",
        &cases.join("models"),
        &"--unseen",
        &"skip",
        &"-o",
        &dir.path("x.zip"),
    ]);
    assert!(
        bad.err()
            .contains("--unseen must be default, null or error, not `skip`"),
        "{}",
        bad.stderr
    );
}
