//! `scorewell score` on Keras models: a `.keras` archive and a JSON + weights folder give
//! Keras' own predictions (the committed conformance case), and a bad row is one error line.

use std::path::{Path, PathBuf};

use crate::util::{Dir, scorewell};

fn keras_case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/keras/mlp_sequential")
}

#[test]
fn scores_keras_archives_and_json_weight_folders_like_keras() {
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keras_case().join("data.json")).unwrap()).unwrap();
    let rows = data["inputs"]["features"].as_array().unwrap();
    let want = data["outputs"]["dense_2"].as_array().unwrap();
    let dir = Dir::new();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| serde_json::json!({ "features": r }).to_string())
        .collect();
    let input = dir.write("rows.jsonl", lines.join("\n") + "\n");
    let folder = dir.path("model_dir");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(keras_case().join("model.json"), folder.join("model.json")).unwrap();
    std::fs::copy(
        keras_case().join("model.weights.h5"),
        folder.join("model.weights.h5"),
    )
    .unwrap();
    for model in [keras_case().join("model.keras"), folder] {
        let out = dir.path("out.jsonl");
        scorewell(&[
            &"score",
            &model,
            &"--input",
            &input,
            &"--output",
            &out,
            &"--quiet",
        ])
        .ok();
        let text = std::fs::read_to_string(&out).unwrap();
        let got: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            for k in 0..3 {
                let (g, w) = (
                    g[format!("prediction_{k}")].as_f64().unwrap(),
                    w[k].as_f64().unwrap(),
                );
                assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
            }
        }
    }
}

#[test]
fn a_row_of_the_wrong_width_is_one_error_line() {
    let dir = Dir::new();
    let input = dir.write("rows.jsonl", "{\"features\": [1.0, 2.0, 3.0]}\n");
    let out = dir.path("out.jsonl");
    let run = scorewell(&[
        &"score",
        &keras_case().join("model.keras"),
        &"--input",
        &input,
        &"--output",
        &out,
        &"--quiet",
    ]);
    let err = run.err();
    assert!(
        err.contains(
            "column `features`, row 0 of the batch: the model input holds 8 values per row"
        ),
        "{err}"
    );
}
