//! Errors from the convolution and pooling layers' mapping, on an edited copy of the
//! `conv1d_batchnorm_pools` conformance case (its architecture JSON and weights).

use std::path::{Path, PathBuf};

use scorewell_keras::{KerasError, KerasModel, load_json_and_weights};
use serde_json::Value;

fn case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/keras/conv1d_batchnorm_pools")
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Loads the case after `edit` changes the config of the layer called `layer`.
fn edited(layer: &str, edit: impl Fn(&mut Value)) -> Result<KerasModel, KerasError> {
    let mut config: Value =
        serde_json::from_slice(&read(&case().join("model.json"))).expect("json");
    let layers = config["config"]["layers"].as_array_mut().expect("layers");
    let target = layers
        .iter_mut()
        .find(|l| l["config"]["name"] == layer)
        .unwrap_or_else(|| panic!("no layer `{layer}`"));
    edit(&mut target["config"]);
    load_json_and_weights(
        &serde_json::to_vec(&config).expect("json"),
        &read(&case().join("model.weights.h5")),
    )
}

#[test]
fn the_unedited_case_loads() {
    let model = edited("same", |_| {}).expect("loads");
    let kinds: Vec<&str> = model.graph.layers().map(|(_, k, _)| k).collect();
    for kind in [
        "Conv1D",
        "MaxPooling1D",
        "AveragePooling1D",
        "BatchNormalization",
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}

#[test]
fn channels_first_is_refused_by_option_and_layer() {
    let err =
        edited("same", |c| c["data_format"] = "channels_first".into()).expect_err("channels_first");
    assert_eq!(
        err.to_string(),
        "layer `same` (Conv1D): data_format \"channels_first\" is not supported (only \"channels_last\")"
    );
    let err = edited("avg", |c| c["data_format"] = "channels_first".into()).expect_err("pool");
    assert!(
        err.to_string()
            .starts_with("layer `avg` (AveragePooling1D): data_format"),
        "{err}"
    );
}

#[test]
fn a_kernel_longer_than_its_valid_input_names_the_layer() {
    // Steps 13 -> 2: `same` keeps 2, the `same` max pool gives 1, and the valid kernel of 2
    // does not fit.
    let err = edited("signal", |c| {
        c["batch_shape"] = serde_json::json!([null, 2, 4])
    })
    .expect_err("too short");
    assert_eq!(
        err.to_string(),
        "layer `strided_valid`: axis 1: the window spans 2 cells (size 2, dilation 1) but the \
         input has only 1 with padding `valid`"
    );
}

#[test]
fn bad_options_and_weights_are_clear_errors() {
    let err = edited("same", |c| c["padding"] = "full".into()).expect_err("padding");
    assert_eq!(
        err.to_string(),
        "layer `same` (Conv1D): padding `full` is not supported"
    );
    let err = edited("max_same", |c| c["padding"] = "causal".into()).expect_err("pool padding");
    assert_eq!(
        err.to_string(),
        "layer `max_same` (MaxPooling1D): padding `causal` is not supported"
    );
    let err = edited("same", |c| c["filters"] = 7.into()).expect_err("filters");
    assert_eq!(
        err.to_string(),
        "layer `same`: weight `kernel` has shape [3, 4, 6], expected [3, 4, 7]"
    );
    let err = edited("dilated_grouped", |c| c["groups"] = 3.into()).expect_err("groups");
    assert_eq!(
        err.to_string(),
        "layer `dilated_grouped` (Conv1D): 4 input channels cannot be split into 3 groups"
    );
    let err = edited("same", |c| c["kernel_size"] = serde_json::json!([3, 3])).expect_err("rank");
    assert!(
        err.to_string()
            .contains("`kernel_size` must be an integer or 1 integers"),
        "{err}"
    );
}
