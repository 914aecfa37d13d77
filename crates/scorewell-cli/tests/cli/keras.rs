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
            "column `features`, row 0 of the batch: the model input `features` has shape [8] per row, 8 values"
        ),
        "{err}"
    );
}

/// Keras' predictions for the committed case: input rows and the three outputs per row.
fn keras_rows() -> (Vec<serde_json::Value>, Vec<Vec<f64>>) {
    let text = std::fs::read(keras_case().join("data.json")).expect("data.json");
    let data: serde_json::Value = serde_json::from_slice(&text).expect("JSON");
    let rows = data["inputs"]["features"].as_array().expect("rows").clone();
    let want = serde_json::from_value(data["outputs"]["dense_2"].clone()).expect("outputs");
    (rows, want)
}

#[test]
fn an_architecture_json_scores_with_weights_and_inspects_without_them_says_what_is_missing() {
    let (rows, want) = keras_rows();
    let dir = Dir::new();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| serde_json::json!({ "features": r }).to_string())
        .collect();
    let input = dir.write("rows.jsonl", lines.join("\n") + "\n");
    let out = dir.path("out.jsonl");
    let json = keras_case().join("model.json");
    let weights = keras_case().join("model.weights.h5");
    scorewell(&[
        &"score",
        &json,
        &"--weights",
        &weights,
        &"-i",
        &input,
        &"-o",
        &out,
        &"--quiet",
    ])
    .ok();
    let got: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (g, w) in got.iter().zip(&want) {
        let g = g["prediction_2"].as_f64().unwrap();
        assert!(
            (g - w[2]).abs() <= 1e-5 * (1.0 + w[2].abs()),
            "{g} vs {}",
            w[2]
        );
    }
    let shown = scorewell(&[&"inspect", &json, &"--weights", &weights]);
    let text = shown.ok();
    for line in [
        "format:     keras",
        "inputs:     1",
        "  features ",
        "(None, 8)",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    let err = scorewell(&[&"inspect", &json]);
    assert!(
        err.err()
            .contains("needs its weights file: give it with --weights"),
        "{}",
        err.err()
    );
}

#[test]
fn a_bundle_chains_a_keras_model_into_a_tree_model_with_renamed_columns() {
    // JSON + weights artifacts, the input read from column `emb`, the outputs named `nn_*`,
    // and a LightGBM stump on `nn_0`: a neural network feeding a tree model in one bundle.
    let (rows, want) = keras_rows();
    let dir = Dir::new();
    std::fs::copy(keras_case().join("model.json"), dir.path("arch.json")).unwrap();
    std::fs::copy(keras_case().join("model.weights.h5"), dir.path("w.h5")).unwrap();
    let threshold = 0.1;
    let stump = format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=nn_0\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold={threshold}\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n"
    );
    dir.write("stump.txt", stump);
    dir.write(
        "spec.yaml",
        "inputs:\n  - {name: emb, type: vector}\nstages:\n  - kind: model\n    name: embed\n    artifact: arch.json\n    params: {weights: w.h5, inputs: {features: emb}, output: nn}\n  - kind: model\n    name: risk\n    artifact: stump.txt\noutputs: [nn_0, nn_1, nn_2, prediction]\n",
    );
    let zip = dir.path("chain.zip");
    scorewell(&[
        &"bundle",
        &"create",
        &"--transforms",
        &dir.path("spec.yaml"),
        &"--name",
        &"chain",
        &"-o",
        &zip,
    ])
    .ok();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| serde_json::json!({ "emb": r }).to_string())
        .collect();
    let input = dir.write("rows.jsonl", lines.join("\n") + "\n");
    let out = dir.path("out.jsonl");
    scorewell(&[&"score", &zip, &"-i", &input, &"-o", &out, &"--quiet"]).ok();
    let got: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    let mut leaves = std::collections::BTreeSet::new();
    for (g, w) in got.iter().zip(&want) {
        let nn0 = g["nn_0"].as_f64().unwrap();
        assert!(
            (nn0 - w[0]).abs() <= 1e-5 * (1.0 + w[0].abs()),
            "{nn0} vs {}",
            w[0]
        );
        let leaf = g["prediction"].as_f64().unwrap();
        assert_eq!(leaf, if nn0 <= threshold { 1.0 } else { 2.0 });
        leaves.insert(leaf as i64);
    }
    // The softmax outputs straddle the threshold, so both leaves are exercised.
    assert_eq!(leaves.len(), 2, "{got:?}");
}

#[test]
fn a_keras_bundle_stage_refuses_tree_options_and_unknown_inputs_by_name() {
    let dir = Dir::new();
    std::fs::copy(keras_case().join("model.json"), dir.path("arch.json")).unwrap();
    std::fs::copy(keras_case().join("model.weights.h5"), dir.path("w.h5")).unwrap();
    let cases = [
        (
            "{weights: w.h5, output_margin: true}",
            "a Keras model has no margins",
        ),
        ("{weights: w.h5, features: [a]}", "use `inputs` to rename"),
        (
            "{weights: w.h5, inputs: {nope: emb}}",
            "`nope` is not a model input",
        ),
        ("{weights: missing.h5}", "missing.h5"),
    ];
    for (i, (params, message)) in cases.iter().enumerate() {
        let spec = format!(
            "inputs:\n  - {{name: emb, type: vector}}\nstages:\n  - kind: model\n    name: embed\n    artifact: arch.json\n    params: {params}\n"
        );
        let spec_path = dir.write(&format!("spec{i}.yaml"), spec);
        let zip = dir.path(&format!("b{i}.zip"));
        let run = scorewell(&[
            &"bundle",
            &"create",
            &"--transforms",
            &spec_path,
            &"--name",
            &"b",
            &"-o",
            &zip,
        ]);
        assert!(run.err().contains(message), "{params}: {}", run.err());
        assert!(!zip.exists(), "{params}: no bundle is written");
    }
}
