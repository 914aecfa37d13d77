//! Recurrent options scorewell refuses, each with an error naming the layer, read from the
//! committed conformance cases with one config field edited.

use std::path::{Path, PathBuf};

use scorewell_keras::{KerasError, KerasModel, load_json_and_weights};
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/keras")
        .join(name)
}

/// Loads `case`'s JSON form after `edit` changed the config of the layer called `layer`.
fn edited(name: &str, layer: &str, edit: impl Fn(&mut Value)) -> Result<KerasModel, KerasError> {
    let dir = case(name);
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("model.json")).expect("json"))
            .expect("json");
    let layers = config["config"]["layers"].as_array_mut().expect("layers");
    let l = layers
        .iter_mut()
        .find(|l| l["config"]["name"] == layer)
        .unwrap_or_else(|| panic!("no layer {layer}"));
    edit(&mut l["config"]);
    load_json_and_weights(
        &serde_json::to_vec(&config).expect("json"),
        &std::fs::read(dir.join("model.weights.h5")).expect("weights"),
    )
}

fn message(r: Result<KerasModel, KerasError>) -> String {
    r.map(|_| ()).expect_err("refused").to_string()
}

#[test]
fn the_unedited_cases_load() {
    edited("lstm_masked", "lstm_seq", |_| {}).expect("lstm_masked");
    edited("bidirectional_lstm", "bi_sum", |_| {}).expect("bidirectional_lstm");
}

#[test]
fn stateful_and_return_state_are_refused_by_layer_name() {
    assert_eq!(
        message(edited("lstm_masked", "lstm_seq", |c| c["stateful"] = true.into())),
        "layer `lstm_seq` (LSTM): stateful=True is not supported (scores are per row)"
    );
    assert_eq!(
        message(edited("lstm_masked", "lstm_last", |c| c["return_state"] =
            true.into())),
        "layer `lstm_last` (LSTM): return_state=True is not supported"
    );
    assert_eq!(
        message(edited("bidirectional_lstm", "bi_sum", |c| {
            c["layer"]["config"]["stateful"] = true.into()
        })),
        "layer `bi_sum/forward_lstm_2` (LSTM): stateful=True is not supported (scores are per row)"
    );
}

#[test]
fn merge_mode_none_is_refused() {
    assert_eq!(
        message(edited(
            "bidirectional_lstm",
            "bi_mul",
            |c| c["merge_mode"] = Value::Null
        )),
        "layer `bi_mul` (Bidirectional): merge_mode None (two separate outputs) is not supported"
    );
}

#[test]
fn a_mask_scorewell_cannot_derive_is_refused() {
    // Without mask_zero the recorded `mask` argument of the LSTM has no source in the graph.
    assert_eq!(
        message(edited("lstm_masked", "emb", |c| c["mask_zero"] = false.into())),
        "layer `lstm_seq` (LSTM): is called with a mask that does not come from \
         Embedding(mask_zero) or Masking through mask-carrying layers; such a mask is not supported"
    );
}

#[test]
fn weights_of_the_wrong_gru_variant_are_refused_with_both_shapes() {
    // A reset_after=True layer read as reset_after=False: the bias is (2, 9), not (9,).
    assert_eq!(
        message(edited("gru_reset_after_and_before", "gru_after", |c| {
            c["reset_after"] = false.into()
        })),
        "layer `gru_after`: weight `bias` has shape [2, 9], expected [9]"
    );
}
