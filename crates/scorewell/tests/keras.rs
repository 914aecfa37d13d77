//! A `.keras` file (path and bytes) and a JSON + weights folder through the facade: the same predictions as Keras on the
//! committed conformance case, with the input bound by the input layer's name.
#![cfg(feature = "keras")]

use std::path::PathBuf;
use std::sync::Arc;

use scorewell::arrow_array::types::Float64Type;
use scorewell::arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch};
use scorewell::{LoadOptions, load, load_bytes};

fn case() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/keras/mlp_sequential")
}

#[test]
fn scores_a_keras_archive_from_path_and_bytes() {
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case().join("data.json")).unwrap()).unwrap();
    let rows: Vec<Vec<f64>> = serde_json::from_value(data["inputs"]["features"].clone()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(data["outputs"]["dense_2"].clone()).unwrap();
    let list = ListArray::from_iter_primitive::<Float64Type, _, _>(
        rows.iter()
            .map(|r| Some(r.iter().map(|&v| Some(v)).collect::<Vec<_>>())),
    );
    let batch = RecordBatch::try_from_iter([("features", Arc::new(list) as ArrayRef)]).unwrap();

    let path = case().join("model.keras");
    let bytes = std::fs::read(&path).unwrap();
    // A folder with one architecture JSON and one weights .h5 (to_json + save_weights).
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(case().join("model.json"), folder.path().join("arch.json")).unwrap();
    std::fs::copy(
        case().join("model.weights.h5"),
        folder.path().join("w.weights.h5"),
    )
    .unwrap();
    for scorer in [
        load(&path).unwrap(),
        load_bytes(&bytes, Some("model.keras"), &LoadOptions::default()).unwrap(),
        load(folder.path()).unwrap(),
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
fn a_broken_keras_archive_names_the_file() {
    let bytes = std::fs::read(case().join("model.keras")).unwrap();
    let err = load_bytes(&bytes[..200], Some("model.keras"), &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("model.keras: keras archive:"),
        "{err}"
    );
}
