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

impl Bundle {
    /// The Keras model stage; every artifact it reads is checked against its sha256.
    pub(crate) fn keras_stage(
        &self,
        spec: &StageSpec,
        artifact: &str,
        params: &ModelParams,
        at: &str,
    ) -> Result<Arc<dyn Stage>, BundleError> {
        let refuse = |field: &str, message: String| BundleError::Stage {
            at: format!("{at}{field}"),
            message,
        };
        if params.output_margin || params.features.is_some() {
            return Err(refuse(
                ".params",
                "a Keras model has no margins and reads tensors, not features: use `inputs` to rename its input columns".into(),
            ));
        }
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
        let stage = build(&spec.name, &bytes, weights.as_deref(), params)
            .map_err(|message| refuse(".artifact", format!("{artifact}: {message}")))?;
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
