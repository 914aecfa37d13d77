//! scikit-learn files through the CLI: `score` writes scikit-learn's own outputs (the
//! conformance case's expected values), a bundle made from the file scores the same,
//! `inspect` shows the estimator tree, and refused files are one error line naming what was
//! refused.

use std::path::PathBuf;

use crate::util::{Dir, scorewell};

fn case(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/sklearn/cases")
        .join(name)
}

/// The column `name` of a CSV file as floats.
fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| {
            l.split(',')
                .nth(at)
                .unwrap_or("")
                .parse()
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// Parity with scikit-learn itself is the conformance runner's job (it reads the expected
/// parquet); here the CLI scores a joblib file with a text categorical column, and a bundle
/// made from the file gives the same values.
#[test]
fn score_reads_joblib_files_and_bundles_made_from_them_score_the_same() {
    let dir = Dir::new();
    let c = case("hgb_regressor_categorical");
    let direct = dir.path("direct.csv");
    scorewell(&[
        &"score",
        &c.join("model.joblib"),
        &"--input",
        &c.join("input.parquet"),
        &"--output",
        &direct,
    ])
    .ok();
    let bundle = dir.path("hgb.zip");
    scorewell(&[
        &"bundle",
        &"create",
        &"--model",
        &c.join("model.joblib"),
        &"--name",
        &"hgb",
        &"-o",
        &bundle,
    ])
    .ok();
    let via_bundle = dir.path("bundle.csv");
    scorewell(&[
        &"score",
        &bundle,
        &"--input",
        &c.join("input.parquet"),
        &"--output",
        &via_bundle,
    ])
    .ok();
    let a = std::fs::read_to_string(&direct).unwrap_or_default();
    let b = std::fs::read_to_string(&via_bundle).unwrap_or_default();
    let p = column(&a, "prediction");
    assert_eq!(p.len(), 64);
    assert!(p.iter().all(|v| v.is_finite()), "{p:?}");
    assert_eq!(p, column(&b, "prediction"));
}

#[test]
fn inspect_shows_the_estimator_tree_version_inputs_and_outputs() {
    let out = scorewell(&[
        &"inspect",
        &case("pipeline_impute_scale_rf").join("model.joblib"),
    ]);
    let text = out.ok();
    for want in [
        "producer:   scikit-learn 1.",
        "estimator:  Pipeline",
        "SimpleImputer",
        "MinMaxScaler",
        "RandomForestClassifier",
        "prediction_0 (Float64)",
        "label (Int64)",
        "alpha",
    ] {
        assert!(text.contains(want), "{want} not in:\n{text}");
    }
    let text = scorewell(&[&"inspect", &case("rf_joblib_xz").join("model.joblib")])
        .ok()
        .to_string();
    assert!(text.contains("xz-compressed"), "{text}");
}

#[test]
fn refused_files_are_one_line_naming_what_was_refused() {
    for (name, file, want) in [
        ("refuse_posix_system", "model.pkl", "refused `posix.system`"),
        (
            "refuse_function_transformer",
            "model.joblib",
            "FunctionTransformer",
        ),
        (
            "refuse_unknown_estimator",
            "model.joblib",
            "KNeighborsClassifier",
        ),
        ("refuse_truncated", "model.joblib", "truncated"),
    ] {
        let c = case(name);
        let dir = Dir::new();
        let out = dir.path("out.csv");
        let run = scorewell(&[
            &"score",
            &c.join(file),
            &"--input",
            &c.join("input.parquet"),
            &"--output",
            &out,
        ]);
        let line = run.err();
        assert!(line.contains(want), "{name}: {line}");
        assert!(!out.exists(), "{name}: no output file on failure");
    }
}

/// `--columns-by-position` reads a model fitted on a bare array (here a LightGBM stump whose
/// one feature is named `x`) from data whose column has another name.
#[test]
fn columns_by_position_binds_the_first_columns_in_order() {
    let dir = Dir::new();
    let model = dir.write("stump.txt", crate::util::STUMP);
    let input = dir.write("rows.csv", "amount,other\n0.25,9\n0.75,9\n");
    let out = dir.path("out.csv");
    let line = scorewell(&[&"score", &model, &"-i", &input, &"-o", &out])
        .err()
        .to_string();
    assert!(line.contains("no column `x`"), "{line}");
    scorewell(&[
        &"score",
        &model,
        &"-i",
        &input,
        &"-o",
        &out,
        &"--columns-by-position",
    ])
    .ok();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(column(&text, "prediction"), vec![1.0, 2.0], "{text}");
    assert_eq!(column(&text, "x"), vec![0.25, 0.75], "{text}");
}

/// `serve` scores a ColumnTransformer pipeline (numbers, strings, a null, an unseen category)
/// over HTTP with the same values `score` writes.
#[test]
fn serve_answers_a_column_transformer_pipeline_like_score() {
    use std::io::BufReader;
    use std::process::{Command, Stdio};

    let c = case("ct_ohe_ordinal_logreg");
    let dir = Dir::new();
    let rows = dir.write(
        "rows.csv",
        "age,colour,income,band,score\n32.5,purple,9907.5,mid,\n26.5,Red,37875.0,low,1.75\n",
    );
    let out = dir.path("out.csv");
    scorewell(&[&"score", &c.join("model.joblib"), &"-i", &rows, &"-o", &out]).ok();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let want = column(&text, "prediction_1");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scorewell"))
        .args(["serve", "--port", "0", "--log-format", "json"])
        .arg(format!("m={}", c.join("model.joblib").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut logs = BufReader::new(child.stderr.take().expect("stderr"));
    let port = crate::util::listening_port(&mut logs);
    let reply = crate::util::http(
        port,
        "POST",
        "/v1/models/m/score",
        r#"{"rows":[{"age":32.5,"colour":"purple","income":9907.5,"band":"mid","score":null},{"age":26.5,"colour":"Red","income":37875.0,"band":"low","score":1.75}]}"#,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    let got: Vec<f64> = json["rows"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|row| row["prediction_1"].as_f64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(got, want, "{body}");
}
