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
