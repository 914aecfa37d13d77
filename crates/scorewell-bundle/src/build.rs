//! Turning a bundle's manifest into a [`Scorer`]: one stage per manifest stage, then the
//! decision, then the output selection.

use std::collections::HashSet;
use std::sync::Arc;

use scorewell_core::{ForestStage, OutputMode, Pipeline, Scorer, Stage};
use scorewell_transform::{DecisionParams, Threshold, TransformError};

use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::manifest::{ColumnType, Decision, ModelParams, OutputSpec, StageSpec};

/// The stage kind that scores a model artifact.
pub const MODEL_KIND: &str = "model";

/// The stage kind that runs a Spark ML model saved with `model.save`: its `artifact` is a
/// folder prefix (`spark/<name>/`) under which every file of the saved folder is listed.
pub const SPARK_KIND: &str = "spark_pipeline";

impl Bundle {
    /// Build the bundle's scorer: verify each artifact as it is read, build every stage, and
    /// check that each stage's inputs are bundle inputs or earlier stages' outputs.
    pub fn scorer(&self) -> Result<Scorer, BundleError> {
        self.pipeline(true)
    }

    /// Build the pipeline; `check` refuses stages that read columns nobody provides (off
    /// only while `bundle create` infers the inputs).
    pub(crate) fn pipeline(&self, check: bool) -> Result<Scorer, BundleError> {
        let manifest = self.manifest();
        let mut pipeline = Pipeline::new();
        let mut names = HashSet::new();
        let mut available: HashSet<String> =
            manifest.inputs.iter().map(|i| i.name.clone()).collect();
        for (i, spec) in manifest.stages.iter().enumerate() {
            let at = format!("stages[{i}]");
            if !names.insert(spec.name.as_str()) {
                return Err(BundleError::Stage {
                    at: format!("{at}.name"),
                    message: format!("stage name `{}` is used twice", spec.name),
                });
            }
            let stages = if spec.kind == SPARK_KIND {
                self.spark_stages(spec, &at)?
            } else {
                vec![self.stage(spec, &at)?]
            };
            for stage in stages {
                if check {
                    check_inputs(stage.as_ref(), &available, &at)?;
                }
                available.extend(stage.output_fields().iter().map(|f| f.name().clone()));
                pipeline = pipeline.push(stage);
            }
        }
        if let Some(decision) = &manifest.decision {
            let stage = decision_stage(decision)?;
            if check {
                check_inputs(stage.as_ref(), &available, "decision")?;
            }
            pipeline = pipeline.push(stage);
        }
        if !check {
            return Ok(Scorer::new(pipeline));
        }
        let outputs = manifest.outputs.iter().map(|o| o.name.clone()).collect();
        let scorer = Scorer::new(pipeline.select_outputs(outputs));
        // Bind to the declared inputs now, so a type mismatch or an unknown output is
        // reported when the bundle loads rather than on the first request.
        let bound = scorer.bind(Arc::new(manifest.input_schema()))?;
        let produced = bound.output_schema();
        let produced = &produced.fields()[manifest.inputs.len()..];
        for (i, (spec, field)) in manifest.outputs.iter().zip(produced).enumerate() {
            check_output_type(i, spec, field.data_type())?;
        }
        Ok(scorer)
    }

    fn stage(&self, spec: &StageSpec, at: &str) -> Result<Arc<dyn Stage>, BundleError> {
        if spec.kind == MODEL_KIND {
            return self.model_stage(spec, at);
        }
        if spec.kind == crate::neighbors::NEIGHBORS_KIND {
            return self.neighbors_stage(spec, at);
        }
        if let Some(build) = routing_stage(&spec.kind) {
            if spec.artifact.is_some() {
                return Err(BundleError::Stage {
                    at: format!("{at}.artifact"),
                    message: format!(
                        "a `{}` stage names its models in its params, not in `artifact`",
                        spec.kind
                    ),
                });
            }
            return build(self, spec, at);
        }
        // Build first so an unknown kind is reported as such, not as a misplaced artifact.
        let stage = transform_stage(&spec.kind, &spec.name, &spec.params, at)?;
        if spec.artifact.is_some() {
            return Err(BundleError::Stage {
                at: format!("{at}.artifact"),
                message: format!(
                    "only `model` and `nearest_neighbors` stages take an artifact, not `{}`",
                    spec.kind
                ),
            });
        }
        Ok(stage)
    }

    /// Every artifact under the stage's folder prefix, checked, handed to the Spark loader.
    fn spark_stages(&self, spec: &StageSpec, at: &str) -> Result<Vec<Arc<dyn Stage>>, BundleError> {
        let stage_error = |field: &str, message: String| BundleError::Stage {
            at: format!("{at}{field}"),
            message,
        };
        if !spec.params.as_object().is_none_or(|p| p.is_empty()) {
            return Err(stage_error(
                ".params",
                "a `spark_pipeline` stage takes no params (Spark's own params are in its folder)"
                    .into(),
            ));
        }
        let prefix = spec
            .artifact
            .as_deref()
            .filter(|a| a.ends_with('/'))
            .ok_or_else(|| {
                stage_error(
                    ".artifact",
                    "a `spark_pipeline` stage needs the folder of its saved Spark model, ending in `/` (e.g. `spark/fraud/`)".into(),
                )
            })?;
        let mut files = std::collections::BTreeMap::new();
        for name in self.manifest().artifacts.keys() {
            if name.starts_with(prefix) {
                files.insert(name.clone(), self.artifact(name)?);
            }
        }
        if files.is_empty() {
            return Err(BundleError::UnlistedArtifact {
                at: format!("{at}.artifact"),
                artifact: prefix.to_string(),
            });
        }
        scorewell_spark::load_files(prefix, files).map_err(|e| stage_error("", e.to_string()))
    }

    fn model_stage(&self, spec: &StageSpec, at: &str) -> Result<Arc<dyn Stage>, BundleError> {
        let params: ModelParams = params(&spec.params, at)?;
        let artifact = spec.artifact.as_deref().ok_or_else(|| BundleError::Stage {
            at: format!("{at}.artifact"),
            message: "a `model` stage needs the path of its model file".into(),
        })?;
        if !self.manifest().artifacts.contains_key(artifact) {
            return Err(BundleError::UnlistedArtifact {
                at: format!("{at}.artifact"),
                artifact: artifact.to_string(),
            });
        }
        // ONNX first: a `.onnx` artifact given `weights` is an ONNX model told a Keras option.
        if crate::onnx::is_onnx_artifact(artifact, &params) {
            return self.onnx_stage(spec, artifact, &params, at);
        }
        if params.format.is_none() && crate::keras::is_keras_artifact(artifact, &params) {
            return self.keras_stage(spec, artifact, &params, at);
        }
        if params.weights.is_some() || params.inputs.is_some() {
            return Err(BundleError::Stage {
                at: format!("{at}.params"),
                message: "`weights` and `inputs` apply to tensor models (a `.keras`, an architecture `.json` or a `.onnx` artifact)".into(),
            });
        }
        let bytes = self.artifact(artifact)?;
        if params.format.is_none() && scorewell_sklearn::has_sklearn_extension(artifact) {
            return sklearn_stage(&bytes, artifact, &params, at);
        }
        let stage = forest_stage(&spec.name, &bytes, artifact, &params, at)?;
        Ok(Arc::new(stage))
    }
}

/// A scikit-learn pickle/joblib artifact as a stage. Its inputs come from the file
/// (`feature_names_in_`); `params.features` renames them, as for tree models.
fn sklearn_stage(
    bytes: &[u8],
    artifact: &str,
    params: &ModelParams,
    at: &str,
) -> Result<Arc<dyn Stage>, BundleError> {
    let refuse = |message: String| BundleError::Stage {
        at: format!("{at}.params"),
        message,
    };
    if params.output_margin || params.output.is_some() {
        return Err(refuse(
            "a scikit-learn stage names its own outputs (prediction_i and label, decision, score); `output_margin` and `output` do not apply".into(),
        ));
    }
    let mut model = scorewell_sklearn::load(bytes).map_err(|e| BundleError::Stage {
        at: format!("{at}.artifact"),
        message: format!("{artifact}: {e}"),
    })?;
    if let Some(features) = &params.features {
        if features.len() != model.inputs.len() {
            return Err(refuse(format!(
                "`features` lists {} columns but the model reads {}",
                features.len(),
                model.inputs.len()
            )));
        }
        for (input, name) in model.inputs.iter_mut().zip(features) {
            input.name = name.clone();
        }
    }
    Ok(Arc::new(scorewell_sklearn::SklearnStage::new(Arc::new(
        model,
    ))))
}

/// Parse a bare model artifact into a model stage with `params` (format, feature names,
/// output name and mode); errors are placed at `at`, the stage's JSON path.
pub(crate) fn forest_stage(
    name: &str,
    bytes: &[u8],
    artifact: &str,
    params: &ModelParams,
    at: &str,
) -> Result<ForestStage, BundleError> {
    let engine = scorewell_forest::default_engine();
    forest_stage_with_engine(name, bytes, artifact, params, at, engine)
}

/// [`forest_stage`] scored by `engine`.
pub(crate) fn forest_stage_with_engine(
    name: &str,
    bytes: &[u8],
    artifact: &str,
    params: &ModelParams,
    at: &str,
    engine: scorewell_forest::Engine,
) -> Result<ForestStage, BundleError> {
    let model_error = |source| BundleError::Model {
        at: at.to_string(),
        artifact: artifact.to_string(),
        source,
    };
    let file_name = artifact.rsplit('/').next();
    let mut model = match &params.format {
        Some(format_name) => {
            let format =
                scorewell_formats::format_named(format_name).ok_or_else(|| BundleError::Stage {
                    at: format!("{at}.params.format"),
                    message: format!(
                        "unknown model format `{format_name}` (supported: {})",
                        scorewell_formats::supported()
                    ),
                })?;
            (format.load)(bytes).map_err(model_error)?
        }
        None => scorewell_formats::load(bytes, file_name).map_err(model_error)?,
    };
    if let Some(features) = &params.features {
        if features.len() != model.features.len() {
            return Err(BundleError::Stage {
                at: format!("{at}.params.features"),
                message: format!(
                    "lists {} columns but the model has {} features",
                    features.len(),
                    model.features.len()
                ),
            });
        }
        for (spec, name) in model.features.iter_mut().zip(features) {
            spec.name = name.clone();
        }
    }
    let mode = if params.output_margin {
        OutputMode::Margin
    } else {
        OutputMode::Prediction
    };
    let mut stage = ForestStage::with_engine(name, Arc::new(model), mode, engine)?;
    if let Some(output) = &params.output {
        stage = stage.with_output_name(output);
    }
    Ok(stage)
}

type BuildStage = fn(&Bundle, &StageSpec, &str) -> Result<Arc<dyn Stage>, BundleError>;

/// The builder of a routing stage kind (`model_set`, `split`, `shadow`).
fn routing_stage(kind: &str) -> Option<BuildStage> {
    use crate::routing::{MODEL_SET_KIND, SHADOW_KIND, SPLIT_KIND, model_set, shadow, split};
    match kind {
        MODEL_SET_KIND => Some(model_set::build),
        SPLIT_KIND => Some(split::build),
        SHADOW_KIND => Some(shadow::build),
        _ => None,
    }
}

/// Deserialize stage parameters, naming the JSON path of a bad value.
pub(crate) fn params<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    at: &str,
) -> Result<T, BundleError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        BundleError::Stage {
            at: if inner == "." || inner.is_empty() {
                format!("{at}.params")
            } else {
                format!("{at}.params.{inner}")
            },
            message: e.into_inner().to_string(),
        }
    })
}

fn transform_stage(
    kind: &str,
    name: &str,
    params: &serde_json::Value,
    at: &str,
) -> Result<Arc<dyn Stage>, BundleError> {
    scorewell_transform::build(kind, name, params).map_err(|e| transform_error(e, at, "params"))
}

/// Place a transform's error at its JSON path under `at` (`stages[2].params.splits[1]`).
fn transform_error(err: TransformError, at: &str, params: &str) -> BundleError {
    match err {
        TransformError::UnknownKind { .. } => BundleError::Stage {
            at: format!("{at}.kind"),
            message: err.to_string(),
        },
        TransformError::Param { path, message } => BundleError::Stage {
            at: if path.is_empty() {
                format!("{at}.{params}")
            } else {
                format!("{at}.{params}.{path}")
            },
            message,
        },
        other => BundleError::Stage {
            at: at.to_string(),
            message: other.to_string(),
        },
    }
}

/// The manifest's decision as a `decision` transform. The manifest names things for readers
/// of the bundle (`rules`, `at_least`); errors are reported in those names.
fn decision_stage(decision: &Decision) -> Result<Arc<dyn Stage>, BundleError> {
    let params = DecisionParams {
        input: decision.score.clone(),
        output: decision.output.clone(),
        thresholds: decision
            .rules
            .iter()
            .map(|r| Threshold {
                at: r.at_least,
                label: r.label.clone(),
            })
            .collect(),
        otherwise: decision.otherwise.clone(),
        missing: decision.missing.clone(),
    };
    let stage = scorewell_transform::Decision::new("decision", params).map_err(decision_error)?;
    Ok(Arc::new(stage))
}

/// A decision error, in the manifest's names (`decision.rules[1].at_least`).
fn decision_error(err: TransformError) -> BundleError {
    match transform_error(err, "decision", "params") {
        BundleError::Stage { at, message } => BundleError::Stage {
            at: at
                .replace("decision.params.thresholds", "decision.rules")
                .replace("].at", "].at_least")
                .replace("decision.params.input", "decision.score")
                .replace("decision.params.", "decision."),
            message: message.replace("`at`", "`at_least`"),
        },
        other => other,
    }
}

/// An output's declared `type`, when given, must be what its stage writes.
fn check_output_type(
    i: usize,
    spec: &OutputSpec,
    produced: &arrow_schema::DataType,
) -> Result<(), BundleError> {
    let Some(declared) = spec.ty else {
        return Ok(());
    };
    let actual = ColumnType::from_arrow(produced);
    if actual == Some(declared) {
        return Ok(());
    }
    let actual = actual.map_or_else(|| produced.to_string(), |t| t.name().to_string());
    Err(BundleError::Manifest {
        path: format!("outputs[{i}].type"),
        message: format!(
            "output `{}` is declared `{}` but its stage writes `{actual}`",
            spec.name,
            declared.name()
        ),
    })
}

fn check_inputs(
    stage: &dyn Stage,
    available: &HashSet<String>,
    at: &str,
) -> Result<(), BundleError> {
    for input in stage.inputs() {
        if !available.contains(&input.name) {
            return Err(BundleError::Stage {
                at: at.to_string(),
                message: format!(
                    "stage `{}` reads column `{}`, which is neither a bundle input nor an earlier stage's output",
                    stage.name(),
                    input.name
                ),
            });
        }
    }
    Ok(())
}
