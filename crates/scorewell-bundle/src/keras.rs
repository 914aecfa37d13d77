//! Keras models as `model` stages: a `.keras` artifact, or an architecture JSON artifact with
//! its weights artifact named in `params.weights`. The stage composes with transforms, trees
//! and the nearest-neighbour stage like any other ("text → embedding model → nearest known
//! attacks → tree model → decision" is one bundle).

use std::sync::Arc;

use scorewell_core::Stage;

use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::manifest::{ModelParams, StageSpec};

/// Whether a `model` stage's artifact is a Keras model: a `.keras` archive, or any artifact
/// given a weights artifact (an architecture JSON).
pub(crate) fn is_keras_artifact(artifact: &str, params: &ModelParams) -> bool {
    params.weights.is_some() || artifact.to_ascii_lowercase().ends_with(".keras")
}

/// Refuses the `model` stage params of tree models for a tensor model (`what`: "a Keras
/// model", "an ONNX model"): it has no margins and reads tensors, not features.
pub(crate) fn refuse_tree_params(
    params: &ModelParams,
    what: &str,
    at: &str,
) -> Result<(), BundleError> {
    if params.output_margin || params.features.is_some() {
        return Err(BundleError::Stage {
            at: format!("{at}.params"),
            message: format!(
                "{what} has no margins and reads tensors, not features: use `inputs` to rename its input columns"
            ),
        });
    }
    Ok(())
}

impl Bundle {
    /// The Keras model stage; every artifact it reads is checked against its sha256.
    pub(crate) fn keras_stage(
        &self,
        spec: &StageSpec,
        artifact: &str,
        params: &ModelParams,
        at: &str,
    ) -> Result<Arc<dyn Stage>, BundleError> {
        refuse_tree_params(params, "a Keras model", at)?;
        let bytes = self.artifact(artifact)?;
        let weights = match &params.weights {
            Some(name) => {
                if !self.manifest().artifacts.contains_key(name) {
                    return Err(BundleError::UnlistedArtifact {
                        at: format!("{at}.params.weights"),
                        artifact: name.clone(),
                    });
                }
                Some(self.artifact(name)?)
            }
            None => None,
        };
        let stage = build(&spec.name, &bytes, weights.as_deref(), params).map_err(|message| {
            BundleError::Stage {
                at: format!("{at}.artifact"),
                message: format!("{artifact}: {message}"),
            }
        })?;
        Ok(Arc::new(stage))
    }
}

#[cfg(feature = "keras")]
fn build(
    name: &str,
    bytes: &[u8],
    weights: Option<&[u8]>,
    params: &ModelParams,
) -> Result<scorewell_core::NnStage, String> {
    let model = match weights {
        Some(w) => scorewell_keras::load_json_and_weights(bytes, w),
        None => scorewell_keras::load_keras(bytes),
    }
    .map_err(|e| e.to_string())?;
    scorewell_core::NnStage::new(name, Arc::new(model.graph)).with_names(
        &params.inputs.clone().unwrap_or_default(),
        params.output.as_deref(),
    )
}

/// Without the feature a Keras stage is refused by name, not misread as a tree model.
#[cfg(not(feature = "keras"))]
fn build(
    _: &str,
    _: &[u8],
    _: Option<&[u8]>,
    _: &ModelParams,
) -> Result<scorewell_core::NnStage, String> {
    Err("this build scores no Keras models (cargo feature `keras`)".into())
}
