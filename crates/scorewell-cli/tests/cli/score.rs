//! `scorewell score`: formats, margins, streaming in small batches.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{Dir, case, scorewell};

fn read_parquet(path: &std::path::Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open"))
        .expect("parquet")
        .build()
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("batches")
}

fn column(batches: &[RecordBatch], name: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

/// Parse the `prediction` field of every JSON line.
fn jsonl_predictions(text: &str) -> Vec<f64> {
    text.lines()
        .map(|l| {
            let key = "\"prediction\":";
            let start = l.find(key).expect("prediction key") + key.len();
            let rest = &l[start..];
            let end = rest.find([',', '}']).expect("end");
            rest[..end].parse().expect("number")
        })
        .collect()
}

#[test]
fn parquet_csv_and_jsonl_outputs_hold_the_same_predictions() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let model = c.join("model.json");
    let input = c.join("input.parquet");
    let pq = dir.path("out.parquet");
    scorewell(&[&"score", &model, &"-i", &input, &"-o", &pq]).ok();
    let batches = read_parquet(&pq);
    let want = column(&batches, "prediction");
    let expected = column(&read_parquet(&c.join("expected.parquet")), "prediction");
    assert_eq!(want.len(), expected.len());
    // Input columns come first, unchanged.
    let input_batches = read_parquet(&input);
    assert_eq!(
        batches[0].schema().fields()[0].name(),
        input_batches[0].schema().fields()[0].name()
    );

    let jsonl = dir.path("out.jsonl");
    scorewell(&[&"score", &model, &"-i", &input, &"-o", &jsonl]).ok();
    let got = jsonl_predictions(&std::fs::read_to_string(&jsonl).expect("read"));
    assert_eq!(got, want);

    // CSV out (margins, small batches), then that CSV back in: same predictions, exactly.
    let csv = dir.path("margins.csv");
    scorewell(&[
        &"score",
        &model,
        &"-i",
        &input,
        &"-o",
        &csv,
        &"--batch-rows",
        &"7",
        &"--output-margin",
    ])
    .ok();
    let text = std::fs::read_to_string(&csv).expect("read");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    assert_eq!(header.last(), Some(&"margin"));
    let again = dir.path("again.parquet");
    scorewell(&[
        &"score",
        &model,
        &"-i",
        &csv,
        &"-o",
        &again,
        &"--batch-rows",
        &"5",
    ])
    .ok();
    assert_eq!(column(&read_parquet(&again), "prediction"), want);

    // An input that already has a `prediction` column is refused, not silently overwritten.
    let pred_csv = dir.path("pred.csv");
    scorewell(&[&"score", &model, &"-i", &input, &"-o", &pred_csv]).ok();
    let line = scorewell(&[
        &"score",
        &model,
        &"-i",
        &pred_csv,
        &"-o",
        &dir.path("x.csv"),
    ])
    .err()
    .to_string();
    assert!(
        line.contains("output column `prediction` already exists"),
        "{line}"
    );
}

#[test]
fn lightgbm_csv_to_jsonl_and_margins() {
    let dir = Dir::new();
    let c = case("lightgbm_4_7_multiclass");
    let model = c.join("model.txt");
    let input = c.join("input.parquet");
    let out = dir.path("m.parquet");
    scorewell(&[
        &"score",
        &model,
        &"-i",
        &input,
        &"-o",
        &out,
        &"--output-margin",
    ])
    .ok();
    let got = read_parquet(&out);
    let expected = read_parquet(&c.join("expected.parquet"));
    for k in 0..3 {
        let name = format!("margin_{k}");
        let (g, w) = (column(&got, &name), column(&expected, &name));
        assert!(
            g.iter()
                .zip(&w)
                .all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
        );
    }
    assert!(got[0].column_by_name("prediction_0").is_none());
}

#[test]
fn progress_bar_stays_quiet_without_a_terminal() {
    let dir = Dir::new();
    let c = case("lightgbm_4_7_binary");
    let run = scorewell(&[
        &"score",
        &c.join("model.txt"),
        &"-i",
        &c.join("input.parquet"),
        &"-o",
        &dir.path("o.csv"),
    ]);
    run.ok();
    assert_eq!(run.stderr, "");
    assert_eq!(dir.listing(), vec!["o.csv"]);
}

#[test]
fn output_nulls_never_appear_for_null_inputs() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_missing_nan_null");
    let out = dir.path("o.parquet");
    scorewell(&[
        &"score",
        &c.join("model.json"),
        &"-i",
        &c.join("input.parquet"),
        &"-o",
        &out,
    ])
    .ok();
    let b = read_parquet(&out);
    assert_eq!(
        b[0].column_by_name("prediction").expect("col").null_count(),
        0
    );
}

/// The bare example model scores every transaction to a probability (the bundle around it
/// is tested in bundle.rs).
#[test]
fn the_example_model_scores_its_indexed_features() {
    let dir = Dir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fraud");
    let out = dir.path("scored.csv");
    let run = scorewell(&[
        &"score",
        &root.join("model.json"),
        &"--input",
        &root.join("transactions.csv"),
        &"--output",
        &out,
    ]);
    // The raw transactions hold country names, not the indices the model reads.
    assert!(
        run.err().contains("input has no column `country_index`"),
        "{}",
        run.stderr
    );
}

/// Outputs written through the temp-file-and-rename route get the mode a plain create gives
/// under the caller's umask (they came out 0600, unreadable to a Spark job or web server
/// running as another user): scored files and `bundle create` zips alike.
#[cfg(unix)]
#[test]
fn written_files_follow_the_umask_like_a_plain_create() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let under_umask = |umask: &str, args: &[&std::path::Path]| {
        let mut script = format!("umask {umask}; exec \"$0\"");
        for i in 0..args.len() {
            script.push_str(&format!(" \"${}\"", i + 1));
        }
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_scorewell"))
            .args(args)
            .status()
            .expect("run sh");
        assert!(status.success());
    };
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let p = std::path::Path::new;
    for (umask, want) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let out = dir.path(&format!("scored-{umask}.parquet"));
        under_umask(
            umask,
            &[
                p("score"),
                &c.join("model.json"),
                p("-i"),
                &c.join("input.parquet"),
                p("-o"),
                &out,
            ],
        );
        assert_eq!(mode(&out), want, "score output under umask {umask}");
        let zip = dir.path(&format!("bundle-{umask}.zip"));
        under_umask(
            umask,
            &[
                p("bundle"),
                p("create"),
                p("--model"),
                &c.join("model.json"),
                p("--name"),
                p("m"),
                p("-o"),
                &zip,
            ],
        );
        assert_eq!(mode(&zip), want, "bundle zip under umask {umask}");
    }
}

/// `--keep` copies only the named input columns (in the order given) before the outputs, so a
/// scoring job need not rewrite its whole input; `--keep ''` writes the outputs alone; a name
/// the input lacks is an error naming it and leaves no file.
#[test]
fn keep_chooses_the_input_columns_copied_to_the_output() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let names = |path: &std::path::Path| -> Vec<String> {
        read_parquet(path)[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    let all = dir.path("all.parquet");
    let some = dir.path("some.parquet");
    let none = dir.path("none.parquet");
    let (model, input) = (c.join("model.json"), c.join("input.parquet"));
    scorewell(&[&"score", &model, &"-i", &input, &"-o", &all, &"--keep-all"]).ok();
    scorewell(&[
        &"score", &model, &"-i", &input, &"-o", &some, &"--keep", &"f3,f0",
    ])
    .ok();
    scorewell(&[
        &"score", &model, &"-i", &input, &"-o", &none, &"--keep", &"",
    ])
    .ok();
    assert_eq!(names(&all), ["f0", "f1", "f2", "f3", "f4", "prediction"]);
    assert_eq!(names(&some), ["f3", "f0", "prediction"]);
    assert_eq!(names(&none), ["prediction"]);
    let full = read_parquet(&all);
    assert_eq!(
        column(&read_parquet(&none), "prediction"),
        column(&full, "prediction")
    );
    assert_eq!(column(&read_parquet(&some), "f3"), column(&full, "f3"));

    let bad = dir.path("bad.parquet");
    let run = scorewell(&[
        &"score", &model, &"-i", &input, &"-o", &bad, &"--keep", &"f0,id",
    ]);
    assert!(
        run.err().contains("--keep names column `id`"),
        "{}",
        run.stderr
    );
    assert!(!bad.exists());
}
