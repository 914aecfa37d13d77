//! Parity with Keras's own `predict` on the cases made by
//! `tests/conformance/generate/keras_cases.py` (Keras 3) and `tfkeras_cases.py` (tf-keras, i.e.
//! Keras 2; `tfk_*`, committed only, since CI does not install TensorFlow), committed under
//! `tests/conformance/keras/` (`SCOREWELL_KERAS_CONFORMANCE_DIR` points the runner at freshly
//! generated ones), and the loader's errors on damaged files.
//!
//! A case's `files` name its forms: `keras` (`.keras`), `h5` (legacy whole-model `.h5`),
//! `json` (`to_json()` + Keras 3 `.weights.h5`) and `json_legacy*` (`to_json()` + a legacy
//! weights-only `.h5`).

use std::path::{Path, PathBuf};

use scorewell_keras::{KerasError, KerasModel, load_h5, load_json_and_weights, load_keras};
use scorewell_nn::{NnError, Tensor};
use serde_json::Value;

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_KERAS_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/keras"),
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&read(p)).expect("valid JSON")
}

fn rows(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        })
        .collect()
}

/// Scores the case's inputs and compares every output; returns how many values were compared.
fn check(case: &str, form: &str, model: &KerasModel, data: &Value, tol: f32) -> usize {
    // Rows `range` of every input, as the graph's input tensors.
    let inputs = |range: std::ops::Range<usize>| -> Vec<Tensor> {
        let mut inputs = Vec::new();
        for (name, shape) in model.graph.inputs() {
            let r = &rows(&data["inputs"][name])[range.clone()];
            let mut full = vec![r.len()];
            full.extend_from_slice(shape);
            inputs.push(
                Tensor::new(full, r.concat())
                    .unwrap_or_else(|| panic!("{case}: input `{name}` has the wrong width")),
            );
        }
        inputs
    };
    let n = rows(&data["inputs"][model.graph.inputs().next().expect("an input").0]).len();
    let outputs = model
        .graph
        .run(inputs(0..n))
        .unwrap_or_else(|e| panic!("{case} ({form}): {e}"));
    // Online scoring (one row) must give the batch's bits: the batch re-scores history
    // with exactly the online code path.
    for row in [0, n / 2, n - 1] {
        let alone = model
            .graph
            .run(inputs(row..row + 1))
            .unwrap_or_else(|e| panic!("{case} ({form}) row {row}: {e}"));
        for (one, all) in alone.iter().zip(&outputs) {
            let per = one.data().len();
            assert_eq!(
                one.data(),
                &all.data()[row * per..][..per],
                "{case} ({form}): row {row} alone differs from the batch"
            );
        }
    }
    let names: Vec<String> = model.graph.outputs().map(|(n, _)| n.to_owned()).collect();
    assert_eq!(
        names.len(),
        data["outputs"].as_object().expect("outputs").len(),
        "{case} ({form})"
    );
    let mut compared = 0;
    for (name, got) in names.iter().zip(&outputs) {
        let want = rows(&data["outputs"][name.as_str()]).concat();
        assert_eq!(
            got.data().len(),
            want.len(),
            "{case} ({form}) output `{name}`"
        );
        for (i, (g, w)) in got.data().iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "{case} ({form}) output `{name}` value {i}: scorewell {g}, keras {w}"
            );
        }
        compared += want.len();
    }
    compared
}

#[test]
fn every_case_matches_keras_predict() {
    let dir = cases_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 4,
        "expected the Keras cases in {}",
        dir.display()
    );
    let mut runs = 0;
    for case_dir in &cases {
        let case = case_dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let spec = json(&case_dir.join("case.json"));
        let data = json(&case_dir.join("data.json"));
        let tol = spec["tolerance"].as_f64().expect("tolerance") as f32;
        for (form, files) in spec["files"].as_object().expect("files") {
            let model_file = case_dir.join(files["model"].as_str().expect("model"));
            let model = match form.as_str() {
                "keras" => load_keras(&read(&model_file)),
                "h5" => load_h5(&read(&model_file)),
                f if f == "json" || f.starts_with("json_legacy") => load_json_and_weights(
                    &read(&model_file),
                    &read(&case_dir.join(files["weights"].as_str().expect("weights"))),
                ),
                other => panic!("{case}: unknown form {other}"),
            }
            .unwrap_or_else(|e| panic!("{case} ({form}): {e}"));
            let n = check(&case, form, &model, &data, tol);
            eprintln!("{case} ({form}): {n} values");
            assert!(n > 0);
            runs += 1;
        }
    }
    assert!(runs >= 6, "{runs} model files checked");
}

fn mlp() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/keras/mlp_sequential")
}

#[test]
fn truncated_weights_are_a_clear_error() {
    let json = read(&mlp().join("model.json"));
    let weights = read(&mlp().join("model.weights.h5"));
    for cut in [16, weights.len() / 2, weights.len() - 100] {
        let err = load_json_and_weights(&json, &weights[..cut]).expect_err("truncated file");
        assert!(
            matches!(err, KerasError::Hdf5(_) | KerasError::MissingWeight { .. }),
            "cut at {cut}: {err}"
        );
    }
    let err = load_keras(&read(&mlp().join("model.keras"))[..300]).expect_err("truncated archive");
    assert!(err.to_string().starts_with("keras archive:"), "{err}");
}

/// Allocation discipline (Keras 3 layout): a `vars/0` dataset whose dataspace declares 2^40
/// columns (`huge.weights.h5`) is refused from its shape before any buffer is made for it.
#[test]
fn forged_keras3_dataset_shape_is_refused() {
    let err = load_json_and_weights(
        &read(&mlp().join("model.json")),
        &read(&mlp().join("huge.weights.h5")),
    )
    .expect_err("huge dataset");
    assert_eq!(
        err.to_string(),
        "layer `dense`: weight `kernel` has shape [8, 1099511627776], expected [8, 16]"
    );
}

fn edited_mlp(edit: impl Fn(&mut Value)) -> Result<KerasModel, KerasError> {
    let mut config = json(&mlp().join("model.json"));
    edit(&mut config);
    load_json_and_weights(
        &serde_json::to_vec(&config).expect("json"),
        &read(&mlp().join("model.weights.h5")),
    )
}

#[test]
fn unknown_layers_are_refused_by_class_and_name() {
    let err = edited_mlp(|c| c["config"]["layers"][2]["class_name"] = "Lambda".into())
        .expect_err("Lambda");
    assert_eq!(
        err.to_string(),
        "layer `dropout`: unsupported Keras layer class `Lambda`"
    );
    let err =
        edited_mlp(|c| c["config"]["layers"][1]["config"]["activation"] = "mish_custom".into())
            .expect_err("activation");
    assert_eq!(
        err.to_string(),
        "layer `dense` (Dense): unsupported activation `mish_custom`"
    );
}

#[test]
fn weights_that_do_not_fit_name_layer_variable_and_shapes() {
    let err =
        edited_mlp(|c| c["config"]["layers"][1]["config"]["units"] = 17.into()).expect_err("units");
    assert_eq!(
        err.to_string(),
        "layer `dense`: weight `kernel` has shape [8, 16], expected [8, 17]"
    );
    let err = edited_mlp(|c| {
        c["config"]["layers"][0]["config"]["batch_shape"] = serde_json::json!([null, 9])
    })
    .expect_err("input width");
    assert_eq!(
        err.to_string(),
        "layer `dense`: weight `kernel` has shape [8, 16], expected [9, 16]"
    );
}

#[test]
fn an_input_of_the_wrong_width_is_an_error() {
    let model = load_keras(&read(&mlp().join("model.keras"))).expect("loads");
    assert_eq!(model.keras_version.as_deref(), Some("3.15.1"));
    let inputs: Vec<_> = model
        .graph
        .inputs()
        .map(|(n, s)| (n.to_owned(), s.to_vec()))
        .collect();
    assert_eq!(inputs, [("features".to_owned(), vec![8])]);
    let err = model
        .graph
        .run(vec![Tensor::new(vec![1, 7], vec![0.0; 7]).expect("tensor")])
        .expect_err("width");
    assert!(
        matches!(err, NnError::Input { ref input, .. } if input == "features"),
        "{err}"
    );
}
