//! ONNX models as `model` stages: a `.onnx` artifact (or any artifact with `format: onnx`),
//! scored through tract with the `onnx` cargo feature. `params.inputs` renames input columns
//! and `output` names the output columns, as for Keras models.

use std::sync::Arc;

use scorewell_core::Stage;

use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::keras::refuse_tree_params;
use crate::manifest::{ModelParams, StageSpec};

/// The `format` value that forces ONNX.
const FORMAT: &str = "onnx";

/// Whether a `model` stage's artifact is an ONNX model: `format: onnx`, or a `.onnx` name
/// with no format given (ONNX files have no magic bytes).
pub(crate) fn is_onnx_artifact(artifact: &str, params: &ModelParams) -> bool {
    match &params.format {
        Some(f) => f.eq_ignore_ascii_case(FORMAT),
        None => artifact.to_ascii_lowercase().ends_with(".onnx"),
    }
}

impl Bundle {
    /// The ONNX model stage; its artifact is checked against its sha256.
    pub(crate) fn onnx_stage(
        &self,
        spec: &StageSpec,
        artifact: &str,
        params: &ModelParams,
        at: &str,
    ) -> Result<Arc<dyn Stage>, BundleError> {
        refuse_tree_params(params, "an ONNX model", at)?;
        if params.weights.is_some() {
            return Err(BundleError::Stage {
                at: format!("{at}.params.weights"),
                message:
                    "an ONNX model holds its weights; `weights` is for Keras architecture JSON"
                        .into(),
            });
        }
        let bytes = self.artifact(artifact)?;
        build(&spec.name, &bytes, params).map_err(|message| BundleError::Stage {
            at: format!("{at}.artifact"),
            message: format!("{artifact}: {message}"),
        })
    }
}

#[cfg(feature = "onnx")]
fn build(name: &str, bytes: &[u8], params: &ModelParams) -> Result<Arc<dyn Stage>, String> {
    let model = scorewell_onnx::OnnxModel::from_bytes(bytes).map_err(|e| e.to_string())?;
    let stage = scorewell_onnx::OnnxStage::new(name, Arc::new(model)).with_names(
        &params.inputs.clone().unwrap_or_default(),
        params.output.as_deref(),
    )?;
    Ok(Arc::new(stage))
}

/// Without the feature an ONNX stage is refused by name, not misread as a tree model.
#[cfg(not(feature = "onnx"))]
fn build(_: &str, _: &[u8], _: &ModelParams) -> Result<Arc<dyn Stage>, String> {
    Err("this build scores no ONNX models (cargo feature `onnx`)".into())
}
