//! The legacy HDF5 dialects (whole-model `.h5`, `to_json()` + legacy `save_weights`) on damaged
//! or mismatched files, using the committed tf-keras case `tfk_mlp_sequential` (parity itself is
//! checked by `conformance.rs`).

use std::path::{Path, PathBuf};

use scorewell_keras::{KerasError, KerasModel, load_h5, load_json_and_weights};
use scorewell_nn::Tensor;
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/keras")
        .join(name)
}

fn mlp(file: &str) -> Vec<u8> {
    let p = case("tfk_mlp_sequential").join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn edited_json(edit: impl Fn(&mut Value)) -> Vec<u8> {
    let mut config: Value = serde_json::from_slice(&mlp("model.json")).expect("json");
    edit(&mut config);
    serde_json::to_vec(&config).expect("json")
}

#[test]
fn a_whole_model_h5_states_its_keras_version_and_inputs() {
    let model = load_h5(&mlp("model.h5")).expect("loads");
    assert_eq!(model.keras_version.as_deref(), Some("2.21.0"));
    assert_eq!(model.name, "mlp");
    // Keras 2 names a Sequential's implicit input `<first layer>_input`.
    let inputs: Vec<_> = model
        .graph
        .inputs()
        .map(|(n, s)| (n.to_owned(), s.to_vec()))
        .collect();
    assert_eq!(inputs, [("hidden_input".to_owned(), vec![8])]);
}

#[test]
fn a_truncated_h5_is_a_clear_error() {
    let bytes = mlp("model.h5");
    for cut in [
        0,
        7,
        16,
        512,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 64,
    ] {
        let Err(err) = load_h5(&bytes[..cut]) else {
            panic!("cut at {cut}: loaded");
        };
        assert!(
            matches!(
                err,
                KerasError::Hdf5(_) | KerasError::MissingWeight { .. } | KerasError::Config(_)
            ),
            "cut at {cut}: {err}"
        );
    }
    // Only free global-heap space is lost here; the file is refused all the same.
    let err = load_h5(&bytes[..bytes.len() - 64]).expect_err("tail cut");
    assert_eq!(
        err.to_string(),
        format!(
            "HDF5 file: truncated file: it declares {} bytes, {} are present",
            bytes.len(),
            bytes.len() - 64
        )
    );
    let weights = mlp("weights.h5");
    for cut in [16, weights.len() / 2, weights.len() - 64] {
        let err =
            load_json_and_weights(&mlp("model.json"), &weights[..cut]).expect_err("truncated");
        assert!(
            matches!(err, KerasError::Hdf5(_) | KerasError::MissingWeight { .. }),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn legacy_weights_that_do_not_fit_name_layer_variable_and_shapes() {
    let json = edited_json(|c| c["config"]["layers"][1]["config"]["units"] = 17.into());
    for weights in ["weights.h5", "weights_fixed.h5", "model.h5"] {
        let err = load_json_and_weights(&json, &mlp(weights)).expect_err("units");
        assert_eq!(
            err.to_string(),
            "layer `hidden`: weight `kernel` has shape [8, 16], expected [8, 17]",
            "{weights}"
        );
    }
}

#[test]
fn a_legacy_file_with_weights_the_architecture_lacks_is_refused() {
    // Drop the last Dense layer: the file's `probs` group is left unused, which Keras's own
    // loader refuses as a layer-count mismatch.
    let json = edited_json(|c| {
        c["config"]["layers"].as_array_mut().expect("layers").pop();
    });
    let err = load_json_and_weights(&json, &mlp("weights.h5")).expect_err("extra layer");
    assert_eq!(
        err.to_string(),
        "layer `probs`: the weights file holds 2 variables for it, the architecture uses 0"
    );
    // A layer the file does not have at all.
    let json = edited_json(|c| c["config"]["layers"][7]["config"]["name"] = "renamed".into());
    let err = load_json_and_weights(&json, &mlp("weights.h5")).expect_err("renamed layer");
    assert_eq!(
        err.to_string(),
        "layer `renamed`: weight `kernel` is missing from the weights file (looked for `renamed`)"
    );
}

#[test]
fn keras_1_files_are_refused() {
    let err = load_h5(&mlp("keras1.h5")).expect_err("keras 1");
    assert!(matches!(err, KerasError::Keras1(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "the .h5 file has no `keras_version` attribute (a Keras 1 file); Keras 1 files are not supported (load and re-save the model with Keras 2 or 3)"
    );
    // keras1.h5 used as a weights file: its model_weights have no keras_version either.
    let err = load_json_and_weights(&mlp("model.json"), &mlp("keras1.h5")).expect_err("weights");
    assert!(matches!(err, KerasError::Keras1(_)), "{err}");
    let json = edited_json(|c| c["keras_version"] = "1.2.2".into());
    let err = load_json_and_weights(&json, &mlp("weights.h5")).expect_err("json");
    assert!(
        err.to_string()
            .starts_with("the architecture JSON was written by Keras 1.2.2;"),
        "{err}"
    );
}

/// Allocation discipline: a dataset whose dataspace declares 2^40 elements (`huge.h5`) is
/// refused from its shape, and where the architecture agrees with that shape, from what the
/// file's size could hold, before any buffer is made for it.
#[test]
fn forged_dataset_shape_is_refused_before_allocating() {
    let err = load_h5(&mlp("huge.h5")).expect_err("huge dataset");
    assert_eq!(
        err.to_string(),
        "layer `hidden`: weight `kernel` has shape [8, 1099511627776], expected [8, 16]"
    );
    // An architecture that agrees with the huge shape: refused before the 32 TiB buffer.
    let json = edited_json(|c| c["config"]["layers"][1]["config"]["units"] = (1u64 << 40).into());
    let err = load_json_and_weights(&json, &mlp("huge.h5")).expect_err("huge buffer");
    assert!(
        matches!(&err, KerasError::Hdf5(m) if m.contains("declares shape [8, 1099511627776], more than a file of")),
        "{err}"
    );
}

#[test]
fn a_weights_only_file_is_not_a_whole_model() {
    let err = load_h5(&mlp("weights.h5")).expect_err("no model_config");
    assert!(
        err.to_string().contains("no `model_config` attribute"),
        "{err}"
    );
}

fn first_output(model: &KerasModel, x: &[f32]) -> Vec<f32> {
    let out = model
        .graph
        .run(vec![
            Tensor::new(vec![1, x.len()], x.to_vec()).expect("tensor"),
        ])
        .expect("runs");
    out[0].data().to_vec()
}

#[test]
fn the_keras_version_picks_the_hard_sigmoid_formula() {
    // tfk_activations has Dense layers with hard_sigmoid, whose formula changed in Keras 3
    // (clip(0.2x + 0.5) → clip(x/6 + 1/2)); the recorded version 2.21.0 must select Keras 2's.
    let dir = case("tfk_activations");
    let read = |f: &str| std::fs::read(dir.join(f)).expect("fixture");
    let mut config: Value = serde_json::from_slice(&read("model.json")).expect("json");
    let keras2 = load_json_and_weights(&read("model.json"), &read("weights.h5")).expect("loads");
    config["keras_version"] = "3.0.0".into();
    let keras3 = load_json_and_weights(
        &serde_json::to_vec(&config).expect("json"),
        &read("weights.h5"),
    )
    .expect("loads");
    let x = [2.0, -1.5, 0.7, 1.9, -2.2, 0.1];
    let (a, b) = (first_output(&keras2, &x), first_output(&keras3, &x));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).any(|(p, q)| (p - q).abs() > 1e-3),
        "hard_sigmoid should differ between Keras 2 and 3"
    );
}

/// The case's expected outputs, compared with what `model` computes on the case's inputs.
fn assert_matches_case(case_name: &str, model: &KerasModel) {
    let data: Value =
        serde_json::from_slice(&std::fs::read(case(case_name).join("data.json")).expect("data"))
            .expect("json");
    let rows = |v: &Value| -> Vec<Vec<f32>> {
        serde_json::from_value::<Vec<Vec<f64>>>(v.clone())
            .expect("rows")
            .into_iter()
            .map(|r| r.into_iter().map(|x| x as f32).collect())
            .collect()
    };
    let inputs = model
        .graph
        .inputs()
        .map(|(name, shape)| {
            let r = rows(&data["inputs"][name]);
            let mut full = vec![r.len()];
            full.extend_from_slice(shape);
            Tensor::new(full, r.concat()).expect("input width")
        })
        .collect();
    let outputs = model.graph.run(inputs).expect("runs");
    for ((name, _), got) in model.graph.outputs().zip(&outputs) {
        let want = rows(&data["outputs"][name]).concat();
        assert_eq!(got.data().len(), want.len(), "{case_name} `{name}`");
        for (g, w) in got.data().iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{case_name} `{name}`: {g} vs {w}"
            );
        }
    }
}

#[test]
fn older_keras_2_config_forms_load() {
    // Keras 2.2-2.3 (multi-backend) recorded no InputLayer in a Sequential config: the first
    // layer carries `batch_input_shape`, and the input is named `<first layer>_input`.
    let no_input_layer = edited_json(|c| {
        c["config"]["layers"]
            .as_array_mut()
            .expect("layers")
            .remove(0);
        c["keras_version"] = "2.2.4".into();
    });
    let model = load_json_and_weights(&no_input_layer, &mlp("weights.h5")).expect("loads");
    assert_matches_case("tfk_mlp_sequential", &model);
    // Keras <= 2.1 wrote the Sequential config as the bare list of its layers.
    let bare_list = edited_json(|c| {
        let mut layers = c["config"]["layers"].clone();
        layers.as_array_mut().expect("layers").remove(0);
        c["config"] = layers;
        c["keras_version"] = "2.1.6".into();
    });
    let model = load_json_and_weights(&bare_list, &mlp("weights.h5")).expect("loads");
    assert_matches_case("tfk_mlp_sequential", &model);
    // Keras 2 before tf.keras named a functional model's class `Model`.
    let dir = case("tfk_two_inputs_two_outputs");
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.json")).expect("json"))
            .expect("json");
    config["class_name"] = "Model".into();
    let model = load_json_and_weights(
        &serde_json::to_vec(&config).expect("json"),
        &std::fs::read(dir.join("weights.h5")).expect("weights"),
    )
    .expect("loads");
    assert_matches_case("tfk_two_inputs_two_outputs", &model);
}

#[test]
fn corrupted_h5_bytes_give_errors_not_panics() {
    // Seeded single- and multi-byte corruptions anywhere in the file: each load must return
    // (many still load, the byte having landed in weight data or free space), never panic.
    let base = mlp("model.h5");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..400 {
        let mut b = base.clone();
        for _ in 0..1 + i % 4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = usize::try_from(x % b.len() as u64).expect("fits");
            b[pos] = (x >> 32) as u8;
        }
        let _ = load_h5(&b);
    }
}
