//! `scorewell inspect`.

use crate::util::{case, scorewell};

#[test]
fn inspect_names_format_objective_outputs_and_inputs() {
    let out = scorewell(&[
        &"inspect",
        &case("xgboost_3_2_multi_softprob").join("model.json"),
    ])
    .ok()
    .to_string();
    assert!(out.contains("format:     xgboost-json"), "{out}");
    assert!(out.contains("multi:softprob"), "{out}");
    assert!(
        out.contains("outputs:    prediction_0, prediction_1, prediction_2"),
        "{out}"
    );
    let out = scorewell(&[
        &"inspect",
        &case("lightgbm_4_7_categorical_pandas").join("model.txt"),
    ])
    .ok()
    .to_string();
    assert!(out.contains("format:     lightgbm-text"), "{out}");
    assert!(out.contains("category"), "{out}");
}

#[test]
fn inspect_shows_a_linear_booster_and_vector_leaf_trees() {
    let out = scorewell(&[
        &"inspect",
        &case("xgboost_3_2_gblinear_softprob").join("model.ubj"),
    ])
    .ok()
    .to_string();
    assert!(out.contains("booster:    gblinear"), "{out}");
    assert!(
        out.contains("linear:     15 weights (5 features x 3 outputs) + 3 biases"),
        "{out}"
    );
    assert!(!out.contains("trees:"), "{out}");
    let out = scorewell(&[
        &"inspect",
        &case("xgboost_3_2_multi_target_tree").join("model.json"),
    ])
    .ok()
    .to_string();
    assert!(out.contains("multi_strategy: multi_output_tree"), "{out}");
    // Four vector-leaf trees over two targets: one scalar tree per target each.
    assert!(out.contains("trees:      8 "), "{out}");
    assert!(
        out.contains("outputs:    prediction_0, prediction_1"),
        "{out}"
    );
}

/// A manifest whose sha256 is not 64 lowercase hex digits (here: 22 three-byte characters) is
/// refused at the JSON path, not sliced mid-character by `inspect`.
#[test]
fn inspect_refuses_a_non_hex_checksum_without_panicking() {
    let dir = crate::util::Dir::new();
    let v1 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/bundles/v1/fraud/bundle");
    let bundle = dir.path("b");
    std::fs::create_dir_all(bundle.join("models")).expect("mkdir");
    std::fs::copy(
        v1.join("models/model.json"),
        bundle.join("models/model.json"),
    )
    .expect("copy");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v1.join("scorewell.json")).expect("read"))
            .expect("json");
    manifest["artifacts"]["models/model.json"]["sha256"] = "€".repeat(22).into();
    std::fs::write(
        bundle.join("scorewell.json"),
        serde_json::to_vec(&manifest).expect("json"),
    )
    .expect("write");
    for command in ["inspect", "verify"] {
        let run = scorewell(&[&command, &bundle]);
        let line = run.err();
        assert!(
            line.contains(
                "scorewell.json at artifacts.models/model.json.sha256: sha256 must be 64 lowercase hex digits"
            ),
            "{command}: {line}"
        );
    }
}

/// `inspect` accepts everything `score` does: a folder saved by Spark ML lists its stages
/// (it used to fail with "Is a directory").
#[test]
fn inspect_describes_a_saved_spark_folder() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/spark/cases/spark_3_5_mixed_rf/model");
    let out = scorewell(&[&"inspect", &folder]).ok().to_string();
    assert!(out.contains("format:     Spark ML saved model"), "{out}");
    assert!(out.contains("RandomForest"), "{out}");
    assert!(out.contains("outputs:    "), "{out}");
}

/// `--engine` picks the evaluator; `inspect` says which one scores the model and `bench`
/// reports it with the code generation time. A bad name is a usage error.
#[test]
fn engine_option_is_reported_by_inspect_and_bench() {
    let c = case("lightgbm_4_7_categorical_pandas");
    let model = c.join("model.txt");
    let out = scorewell(&[&"--engine", &"compile", &"inspect", &model])
        .ok()
        .to_string();
    assert!(out.contains("engine:     native code ("), "{out}");
    let out = scorewell(&[&"inspect", &model, &"--engine", &"interpret"])
        .ok()
        .to_string();
    assert!(out.contains("engine:     interpreter"), "{out}");
    for engine in ["compile", "interpret"] {
        let json = scorewell(&[
            &"bench",
            &model,
            &"--input",
            &c.join("input.parquet"),
            &"--repeat",
            &"1",
            &"--single-rows",
            &"10",
            &"--engine",
            &engine,
        ])
        .ok()
        .to_string();
        assert!(json.contains(&format!("\"engine\":\"{engine}\"")), "{json}");
    }
    let bad = scorewell(&[&"--engine", &"fast", &"inspect", &model]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("fast"), "{}", bad.stderr);
}
