//! Making a bundle: a pipeline spec (YAML or JSON) plus model files → manifest + artifacts.
//!
//! The spec has the manifest's shape without what scorewell computes (checksums, dates,
//! producer). A `model` stage without an `artifact` takes the next `--model` file; when the
//! spec has no model stage, each `--model` file becomes a model stage after the spec's stages.
//! Artifact paths in the spec are relative to the spec file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::build::{MODEL_KIND, SPARK_KIND};
use crate::bundle::{Bundle, sha256_hex, write_zip};
use crate::error::BundleError;
use crate::files::{Files, Limits};
use crate::manifest::{
    ArtifactSpec, ColumnType, Decision, FORMAT_VERSION, InputSpec, MANIFEST_FILE, Manifest,
    ModelParams, OutputSpec, StageSpec,
};
use crate::neighbors::NEIGHBORS_KIND;

/// What `scorewell bundle create` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The bundle's name.
    pub name: String,
    /// The model version.
    pub version: String,
    /// Model files, in the order they fill the spec's model stages.
    pub models: Vec<PathBuf>,
    /// The pipeline spec (YAML or JSON), if any.
    pub spec: Option<PathBuf>,
    /// Folders saved by Spark ML's `model.save`: each becomes a `spark_pipeline` stage (before
    /// the spec's stages) whose files are stored under `spark/<folder name>/`.
    pub spark: Vec<PathBuf>,
    /// Free text.
    pub description: Option<String>,
    /// Creation time (RFC 3339); default now, or `SOURCE_DATE_EPOCH` when set.
    pub created_at: Option<String>,
}

/// The pipeline spec file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    inputs: Option<Vec<InputSpec>>,
    #[serde(default)]
    stages: Vec<StageSpec>,
    #[serde(default)]
    decision: Option<Decision>,
    #[serde(default)]
    outputs: Option<Vec<String>>,
}

/// A bundle made in memory, ready to be written.
#[derive(Debug, Clone)]
pub struct NewBundle {
    /// The manifest.
    pub manifest: Manifest,
    /// Artifact bytes by bundle path.
    pub artifacts: BTreeMap<String, Arc<[u8]>>,
}

/// Make a bundle from model files and an optional spec, checking that it builds.
pub fn create(options: &CreateOptions) -> Result<NewBundle, BundleError> {
    build_new(options).map_err(|e| match &options.spec {
        Some(spec) => in_spec(e, spec),
        None => e,
    })
}

/// A stage error found while building the spec's stages, placed in the spec file (the
/// bundle's `scorewell.json` does not exist yet): `features.yaml: at stages[2].params.x: ...`.
fn in_spec(err: BundleError, spec: &Path) -> BundleError {
    let message = match err {
        BundleError::Stage { at, message } => format!("at {at}: {message}"),
        BundleError::Model {
            at,
            artifact,
            source,
        } => format!("at {at}: model `{artifact}`: {source}"),
        other => return other,
    };
    BundleError::Spec {
        file: spec.display().to_string(),
        message,
    }
}

fn build_new(options: &CreateOptions) -> Result<NewBundle, BundleError> {
    let (spec, spec_dir) = match &options.spec {
        Some(path) => (read_spec(path)?, path.parent().map(Path::to_path_buf)),
        None => (Spec::default(), None),
    };
    let mut stages = spec.stages;
    let mut models = options.models.iter();
    let has_model_stage = stages.iter().any(|s| s.kind == MODEL_KIND);
    let mut artifacts = BTreeMap::new();
    for (i, stage) in stages.iter_mut().enumerate() {
        if stage.kind == NEIGHBORS_KIND {
            add_neighbors_files(&mut artifacts, stage, i, spec_dir.as_deref())?;
            continue;
        }
        if stage.kind != MODEL_KIND {
            continue;
        }
        let source = match &stage.artifact {
            Some(rel) => spec_dir.clone().unwrap_or_default().join(rel),
            None => models.next().cloned().ok_or_else(|| BundleError::Stage {
                at: format!("stages[{i}].artifact"),
                message: "this model stage has no artifact and no --model file is left for it"
                    .into(),
            })?,
        };
        stage.artifact = Some(add_artifact(&mut artifacts, &stage.name, &source)?);
        // A Keras architecture JSON's weights file, named relative to the spec like the
        // artifact, is stored too and named by its bundle path.
        if let Some(weights) = stage.params.get("weights").and_then(|w| w.as_str()) {
            let source = spec_dir.clone().unwrap_or_default().join(weights);
            let stored = add_artifact(&mut artifacts, &stage.name, &source)?;
            stage.params["weights"] = serde_json::Value::String(stored);
        }
    }
    for (i, stage) in stages.iter_mut().enumerate() {
        routed_artifacts(stage, i, spec_dir.as_deref(), &mut artifacts)?;
    }
    let mut spark_stages = Vec::new();
    for folder in &options.spark {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spark".into());
        let prefix = format!("spark/{name}/");
        add_folder(&mut artifacts, &prefix, folder)?;
        spark_stages.push(StageSpec {
            kind: SPARK_KIND.into(),
            name,
            artifact: Some(prefix),
            params: serde_json::json!({}),
        });
    }
    stages.splice(0..0, spark_stages);
    if !has_model_stage {
        for (k, source) in models.by_ref().enumerate() {
            let name = if k == 0 {
                "model".to_string()
            } else {
                format!("model_{k}")
            };
            let artifact = add_artifact(&mut artifacts, &name, source)?;
            let params = if k == 0 {
                serde_json::json!({})
            } else {
                serde_json::json!({ "output": format!("prediction_{k}") })
            };
            stages.push(StageSpec {
                kind: MODEL_KIND.into(),
                name,
                artifact: Some(artifact),
                params,
            });
        }
    }
    if let Some(extra) = models.next() {
        return Err(BundleError::Spec {
            file: extra.display().to_string(),
            message: "more --model files than model stages in the spec".into(),
        });
    }
    if stages.is_empty() {
        return Err(BundleError::Spec {
            file: "bundle create".into(),
            message: "nothing to bundle: give --model and/or --transforms".into(),
        });
    }
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        version: options.version.clone(),
        created_at: options.created_at.clone().unwrap_or_else(now_rfc3339),
        producer: format!("scorewell {}", env!("CARGO_PKG_VERSION")),
        description: options.description.clone().or(spec.description),
        inputs: Vec::new(),
        stages,
        outputs: Vec::new(),
        decision: spec.decision,
        artifacts: artifacts
            .iter()
            .map(|(name, bytes)| {
                let spec = ArtifactSpec {
                    sha256: sha256_hex(bytes),
                    size: bytes.len() as u64,
                };
                (name.clone(), spec)
            })
            .collect(),
    };
    let in_memory = |manifest: &Manifest| {
        let mut files: BTreeMap<String, Arc<[u8]>> = artifacts.clone();
        files.insert(MANIFEST_FILE.into(), Arc::from(manifest.to_json()));
        Bundle::from_parts(
            manifest.clone(),
            Files::Zip(Arc::new(files)),
            Limits::default(),
        )
    };
    // Build once without the input check to learn what the stages read and write.
    let draft = in_memory(&manifest).pipeline(false)?;
    manifest.inputs = match spec.inputs {
        Some(inputs) => inputs,
        None => draft
            .inputs()
            .into_iter()
            .map(|input| InputSpec {
                name: input.name,
                ty: if input.numeric {
                    ColumnType::Float64
                } else if input.vector {
                    ColumnType::Vector
                } else {
                    ColumnType::Utf8
                },
                nullable: true,
            })
            .collect(),
    };
    let schema = Arc::new(manifest.input_schema());
    let bound = draft.bind(schema.clone())?;
    let produced = bound.output_schema();
    let produced = &produced.fields()[schema.fields().len()..];
    let spark_only =
        manifest.decision.is_none() && manifest.stages.iter().all(|s| s.kind == SPARK_KIND);
    let wanted: Vec<String> = match spec.outputs {
        Some(names) => names,
        // Spark's transform returns every stage's output; a Spark-only bundle does too.
        None if spark_only => produced.iter().map(|f| f.name().clone()).collect(),
        None => default_outputs(&manifest, &draft),
    };
    for name in &wanted {
        let field =
            produced
                .iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| BundleError::Spec {
                    file: "outputs".into(),
                    message: format!(
                        "`{name}` is not produced by any stage (stages produce: {})",
                        produced
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
        manifest.outputs.push(OutputSpec {
            name: name.clone(),
            ty: ColumnType::from_arrow(field.data_type()),
        });
    }
    for stage in manifest.stages.iter_mut().filter(|s| s.kind == MODEL_KIND) {
        fill_model_producer(stage, &artifacts);
    }
    // The final check: the manifest as written loads and builds.
    in_memory(&manifest).scorer()?;
    Ok(NewBundle {
        manifest,
        artifacts,
    })
}

/// Outputs when the spec names none: the last stage's outputs and the decision's.
fn default_outputs(manifest: &Manifest, draft: &scorewell_core::Scorer) -> Vec<String> {
    let stages = draft.pipeline().stages();
    let mut names = Vec::new();
    let last = if manifest.decision.is_some() && stages.len() >= 2 {
        names.extend(
            stages[stages.len() - 1]
                .output_fields()
                .iter()
                .map(|f| f.name().clone()),
        );
        &stages[stages.len() - 2]
    } else {
        &stages[stages.len() - 1]
    };
    let mut out: Vec<String> = last
        .output_fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    out.extend(names);
    out
}

fn fill_model_producer(stage: &mut StageSpec, artifacts: &BTreeMap<String, Arc<[u8]>>) {
    let Some(bytes) = stage.artifact.as_ref().and_then(|a| artifacts.get(a)) else {
        return;
    };
    let Ok(mut params) = serde_json::from_value::<ModelParams>(stage.params.clone()) else {
        return;
    };
    if params.producer.is_some() {
        return;
    }
    let file_name = stage.artifact.as_deref().and_then(|a| a.rsplit('/').next());
    if let Ok(model) = scorewell_formats::load(bytes, file_name) {
        params.producer = model.info.producer.or(Some(model.info.format));
        if let Ok(value) = serde_json::to_value(&params) {
            stage.params = value;
        }
    }
}

/// A `nearest_neighbors` stage's index and optional label table, read from paths relative to
/// the spec and stored as artifacts; the stage then names them by their bundle paths.
fn add_neighbors_files(
    artifacts: &mut BTreeMap<String, Arc<[u8]>>,
    stage: &mut StageSpec,
    i: usize,
    spec_dir: Option<&Path>,
) -> Result<(), BundleError> {
    let dir = spec_dir.map(Path::to_path_buf).unwrap_or_default();
    let index = stage.artifact.clone().ok_or_else(|| BundleError::Stage {
        at: format!("stages[{i}].artifact"),
        message: "a `nearest_neighbors` stage needs the path of its `.ann` index".into(),
    })?;
    stage.artifact = Some(add_artifact(artifacts, &stage.name, &dir.join(index))?);
    let labels = stage
        .params
        .get("labels")
        .and_then(|l| l.as_str())
        .map(str::to_string);
    if let Some(labels) = labels {
        let stored = add_artifact(artifacts, &stage.name, &dir.join(labels))?;
        stage.params["labels"] = serde_json::Value::String(stored);
    }
    Ok(())
}

/// A `split` or `shadow` stage of the spec names its models in its params (`arms[].model`,
/// `model`), relative to the spec file: bundle each and put its bundle path in their place.
fn routed_artifacts(
    stage: &mut StageSpec,
    i: usize,
    spec_dir: Option<&Path>,
    artifacts: &mut BTreeMap<String, Arc<[u8]>>,
) -> Result<(), BundleError> {
    use crate::routing::{SHADOW_KIND, SPLIT_KIND};
    let mut slots: Vec<&mut serde_json::Value> = Vec::new();
    if stage.kind == SPLIT_KIND {
        if let Some(arms) = stage.params.get_mut("arms").and_then(|a| a.as_array_mut()) {
            slots.extend(arms.iter_mut().filter_map(|arm| arm.get_mut("model")));
        }
    } else if stage.kind == SHADOW_KIND {
        slots.extend(stage.params.get_mut("model"));
    } else {
        return Ok(());
    }
    for slot in slots {
        let Some(rel) = slot.as_str() else {
            return Err(BundleError::Stage {
                at: format!("stages[{i}].params"),
                message: "a model path must be a string".into(),
            });
        };
        let source = spec_dir
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join(rel);
        *slot = serde_json::Value::String(add_artifact(artifacts, &stage.name, &source)?);
    }
    Ok(())
}

fn add_artifact(
    artifacts: &mut BTreeMap<String, Arc<[u8]>>,
    stage: &str,
    source: &Path,
) -> Result<String, BundleError> {
    let bytes = std::fs::read(source).map_err(|e| BundleError::Io {
        path: source.display().to_string(),
        source: e,
    })?;
    let file = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let mut name = format!("models/{file}");
    if artifacts.contains_key(&name) {
        name = format!("models/{stage}-{file}");
    }
    artifacts.insert(name.clone(), Arc::from(bytes));
    Ok(name)
}

/// Every file under `folder` as an artifact `<prefix><relative path>`; Spark's `.crc` side
/// files, `_SUCCESS` markers and other hidden files are left out, symlinks refused.
fn add_folder(
    artifacts: &mut BTreeMap<String, Arc<[u8]>>,
    prefix: &str,
    folder: &Path,
) -> Result<(), BundleError> {
    let io = |path: &Path, e| BundleError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "_SUCCESS" {
                continue;
            }
            if kind.is_symlink() {
                return Err(BundleError::Spec {
                    file: path.display().to_string(),
                    message: "symlinks are not bundled".into(),
                });
            }
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let rel = path.strip_prefix(folder).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            artifacts.insert(format!("{prefix}{}", rel.join("/")), Arc::from(bytes));
        }
    }
    if !artifacts.keys().any(|k| k.starts_with(prefix)) {
        return Err(BundleError::Spec {
            file: folder.display().to_string(),
            message: "not a folder saved by Spark ML (no files)".into(),
        });
    }
    Ok(())
}

fn read_spec(path: &Path) -> Result<Spec, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let spec_error = |message: String| BundleError::Spec {
        file: path.display().to_string(),
        message,
    };
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        let de = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| spec_error(format!("at {}: {}", e.path(), e.inner())))
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| spec_error(format!("at {}: {}", e.path(), e.inner())))
    }
}

pub(crate) fn now_rfc3339() -> String {
    let time = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap_or_else(std::time::SystemTime::now);
    humantime::format_rfc3339_seconds(time).to_string()
}

impl NewBundle {
    /// The bundle as zip bytes.
    pub fn to_zip_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let manifest = self.manifest.to_json();
        let files = std::iter::once((MANIFEST_FILE, &manifest[..]))
            .chain(self.artifacts.iter().map(|(n, b)| (n.as_str(), &b[..])));
        write_zip(files)
    }

    /// Write the bundle to `path`: a zip when it ends in `.zip`, else a directory. The bundle
    /// is written next to `path` under a temporary name and renamed into place, so a failure
    /// leaves nothing half-written.
    pub fn write(&self, path: &Path) -> Result<(), BundleError> {
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |source| BundleError::Io { path: p, source }
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if path.extension().is_some_and(|e| e == "zip") {
            let bytes = self.to_zip_bytes()?;
            let mut builder = tempfile::Builder::new();
            builder.prefix(".scorewell-bundle-").suffix(".zip.tmp");
            // The mode a plain create gives (0666 less the umask, applied by open(2)), not
            // tempfile's private 0600: bundles are shipped to other users and machines.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            let mut tmp = builder.tempfile_in(&parent).map_err(io(&parent))?;
            std::io::Write::write_all(&mut tmp, &bytes).map_err(io(path))?;
            tmp.persist(path).map_err(|e| io(path)(e.error))?;
            return Ok(());
        }
        if path.exists() {
            return Err(BundleError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; remove it or choose another path",
                ),
            });
        }
        let tmp = tempfile::Builder::new()
            .prefix(".scorewell-bundle-")
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        let manifest = self.manifest.to_json();
        let files = std::iter::once((MANIFEST_FILE, &manifest[..]))
            .chain(self.artifacts.iter().map(|(n, b)| (n.as_str(), &b[..])));
        for (name, bytes) in files {
            let dest = tmp.path().join(name);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&dest, bytes).map_err(io(&dest))?;
        }
        let tmp = tmp.keep();
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            io(path)(e)
        })
    }
}
