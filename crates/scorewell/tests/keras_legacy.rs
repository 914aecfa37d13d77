//! Legacy Keras files through the facade: a whole-model `.h5` written by tf-keras (Keras 2), by
//! path and by bytes, and a folder holding `to_json()` + a legacy `save_weights('w.h5')` file;
//! the same predictions as tf-keras on the committed conformance case.
#![cfg(feature = "keras")]

use std::path::PathBuf;
use std::sync::Arc;

use scorewell::arrow_array::types::Float64Type;
use scorewell::arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch};
use scorewell::{LoadOptions, load, load_bytes, load_with};

fn case() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/keras/tfk_mlp_sequential")
}

/// Options naming the case's file `name` as the weights of its architecture JSON.
fn weights(name: &str) -> LoadOptions {
    LoadOptions {
        weights: Some(case().join(name)),
        ..Default::default()
    }
}

#[test]
fn scores_a_keras2_h5_and_a_json_plus_legacy_weights_folder() {
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case().join("data.json")).unwrap()).unwrap();
    // Keras 2 names a Sequential's implicit input `<first layer>_input`.
    let rows: Vec<Vec<f64>> =
        serde_json::from_value(data["inputs"]["hidden_input"].clone()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(data["outputs"]["probs"].clone()).unwrap();
    let list = ListArray::from_iter_primitive::<Float64Type, _, _>(
        rows.iter()
            .map(|r| Some(r.iter().map(|&v| Some(v)).collect::<Vec<_>>())),
    );
    let batch = RecordBatch::try_from_iter([("hidden_input", Arc::new(list) as ArrayRef)]).unwrap();

    let path = case().join("model.h5");
    let bytes = std::fs::read(&path).unwrap();
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(case().join("model.json"), folder.path().join("arch.json")).unwrap();
    std::fs::copy(case().join("weights.h5"), folder.path().join("w.h5")).unwrap();
    for scorer in [
        load(&path).unwrap(),
        load_bytes(&bytes, Some("model.h5"), &LoadOptions::default()).unwrap(),
        // No name: the HDF5 magic is enough.
        load_bytes(&bytes, None, &LoadOptions::default()).unwrap(),
        load(folder.path()).unwrap(),
        load_with(case().join("model.json"), &weights("weights.h5")).unwrap(),
        // A whole-model file as the weights: its model_weights are used.
        load_with(case().join("model.json"), &weights("model.h5")).unwrap(),
    ] {
        let out = scorer.score(&batch).unwrap();
        for k in 0..3 {
            let col = out.column_by_name(&format!("prediction_{k}")).unwrap();
            let col = col.as_any().downcast_ref::<Float64Array>().unwrap();
            assert_eq!(col.len(), rows.len());
            for (r, w) in want.iter().enumerate() {
                let g = col.value(r);
                assert!(
                    (g - w[k]).abs() <= 1e-5 * (1.0 + w[k].abs()),
                    "row {r}: {g} vs {}",
                    w[k]
                );
            }
        }
    }
}

#[test]
fn a_weights_only_h5_given_as_a_model_says_what_is_missing() {
    let err = load(case().join("weights.h5")).unwrap_err().to_string();
    assert!(
        err.contains("weights.h5") && err.contains("no `model_config` attribute"),
        "{err}"
    );
}
