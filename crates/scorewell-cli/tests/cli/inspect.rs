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
