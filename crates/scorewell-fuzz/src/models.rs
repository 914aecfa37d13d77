//! Model files and bundles, read from bytes through the same entry points `scorewell score`
//! uses; a model that loads is then scored on a few awkward rows ([`crate::score`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use scorewell::LoadOptions;
use scorewell_neighbors::{AnnoyIndex, Metric};

use crate::score::{exercise, exercise_tensors};

/// `bytes` as a model file called `name` (the name picks the format, as on the command line).
fn load_named(bytes: &[u8], name: &str) {
    if let Ok(scorer) = scorewell::load_bytes(bytes, Some(name), &LoadOptions::default()) {
        exercise(&scorer);
    }
}

pub(crate) fn xgboost_json(data: &[u8]) {
    load_named(data, "model.json");
}

pub(crate) fn xgboost_ubj(data: &[u8]) {
    load_named(data, "model.ubj");
}

pub(crate) fn lightgbm_text(data: &[u8]) {
    load_named(data, "model.txt");
}

pub(crate) fn keras_h5(data: &[u8]) {
    keras(scorewell_keras::load_h5(data));
}

pub(crate) fn keras_archive(data: &[u8]) {
    keras(scorewell_keras::load_keras(data));
}

/// A Keras model that loaded is scored as `scorewell score` would (one `NnStage`), with rows
/// of each input's width; `exercise` cannot, since it knows no widths.
fn keras(model: Result<scorewell_keras::KerasModel, scorewell_keras::KerasError>) {
    if let Ok(model) = model {
        let inputs: Vec<(String, usize)> = model
            .graph
            .inputs()
            .map(|(name, shape)| (name.to_owned(), shape.iter().product()))
            .collect();
        let stage = scorewell_core::NnStage::new("keras", Arc::new(model.graph));
        exercise_tensors(Arc::new(stage), &inputs);
    }
}

/// An ONNX graph (protobuf, decoded by tract), planned and scored through the stage the
/// `onnx` feature adds.
pub(crate) fn onnx(data: &[u8]) {
    if let Ok(model) = scorewell_onnx::OnnxModel::from_bytes(data) {
        let inputs: Vec<(String, usize)> = model
            .inputs()
            .iter()
            .map(|i| (i.name.clone(), i.row_shape.iter().product()))
            .collect();
        let stage = scorewell_onnx::OnnxStage::new("onnx", Arc::new(model));
        exercise_tensors(Arc::new(stage), &inputs);
    }
}

pub(crate) fn sklearn_pickle(data: &[u8]) {
    load_named(data, "model.pkl");
}

/// A zipped bundle: the archive reader (limits, paths), the manifest, every artifact.
pub(crate) fn bundle_zip(data: &[u8]) {
    if let Ok(bundle) = scorewell_bundle::Bundle::from_bytes(data)
        && let Ok(scorer) = bundle.scorer()
    {
        exercise(&scorer);
    }
}

/// A manifest alone (its artifacts absent): the JSON, its versioning and its references.
pub(crate) fn bundle_manifest(data: &[u8]) {
    let entries = BTreeMap::from([("scorewell.json".to_owned(), Arc::<[u8]>::from(data))]);
    if let Ok(bundle) = scorewell_bundle::Bundle::from_entries(entries) {
        let _ = bundle.verify();
        if let Ok(scorer) = bundle.scorer() {
            exercise(&scorer);
        }
    }
}

/// An Annoy index; the first byte picks the metric and the dimension the caller would give.
pub(crate) fn annoy(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let metric = [
        Metric::Angular,
        Metric::Euclidean,
        Metric::Manhattan,
        Metric::Dot,
        Metric::Hamming,
    ][usize::from(first % 5)];
    let dims = usize::from(first / 5) % 40 + 1;
    if let Ok(index) = AnnoyIndex::from_bytes(rest, metric, dims) {
        // Searches walk the trees the file describes: a cycle or an out-of-range child must
        // be an error or a bounded walk, not a hang.
        let _ = index.validate();
        let query: Vec<f32> = (0..dims).map(|i| i as f32 - 1.5).collect();
        let _ = index.nns_by_vector(&query, 5, 200);
        let _ = index.nns_by_item(0, 5, 200);
        let _ = index.item_vector(i64::try_from(index.n_items()).unwrap_or(0) - 1);
    }
}
