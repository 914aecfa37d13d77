//! Making a model-set bundle from one model per key (`scorewell bundle create --model-set`,
//! `scorewell.bundle.model_set` in Python).
//!
//! Every model is built once here: each must write the outputs the default model (or the
//! first key's) writes, and a mismatch names the key and the column. The columns the models
//! read, together, become the bundle's inputs after the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::model_set::{ModelSet, ModelSetParams, Unseen};
use super::split::{merge_inputs, same_outputs};
use super::{MODEL_SET_KIND, RoutedOutput};
use crate::bundle::{Bundle, sha256_hex};
use crate::create::{NewBundle, now_rfc3339};
use crate::error::BundleError;
use crate::files::{Files, Limits};
use crate::manifest::{
    ArtifactSpec, ColumnType, FORMAT_VERSION, InputSpec, MANIFEST_FILE, Manifest, OutputSpec,
    StageSpec,
};

/// One model of a model set: its file name (for its format: `.json`, `.ubj`, `.txt`, `.zip`
/// for a nested bundle) and bytes.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// File name, e.g. `d1.json`.
    pub file_name: String,
    /// Contents.
    pub bytes: Arc<[u8]>,
}

impl ModelFile {
    /// Read a model file from disk.
    pub fn read(path: &Path) -> Result<Self, BundleError> {
        let bytes = std::fs::read(path).map_err(|source| BundleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            bytes: Arc::from(bytes),
        })
    }
}

/// What a model-set bundle is made of.
#[derive(Debug, Clone, Default)]
pub struct ModelSetOptions {
    /// The bundle's name.
    pub name: String,
    /// The model version.
    pub version: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time (RFC 3339); default now, or `SOURCE_DATE_EPOCH` when set.
    pub created_at: Option<String>,
    /// The key column.
    pub key: String,
    /// The key column's type in the bundle's inputs: `utf8` (default) or an integer type.
    pub key_type: Option<ColumnType>,
    /// One model per key value.
    pub models: BTreeMap<String, ModelFile>,
    /// The model for unseen keys.
    pub default: Option<ModelFile>,
    /// The unseen-key policy (default: `default` with a default model, else `error`).
    pub unseen: Option<Unseen>,
    /// A column naming the model that scored each row.
    pub record: Option<String>,
    /// Output column of bare models (default `prediction`).
    pub output: Option<String>,
    /// Bare models write raw margins.
    pub output_margin: bool,
    /// Byte budget of built models (default [`super::DEFAULT_CACHE_BYTES`]).
    pub cache_bytes: Option<u64>,
}

/// The model files of a folder, one per key: `<key>.<ext>` (the key is the file name less
/// its last extension). Hidden files are skipped; a subfolder is refused (zip a nested
/// bundle).
pub fn models_in_folder(folder: &Path) -> Result<BTreeMap<String, ModelFile>, BundleError> {
    let io = |path: &Path, source| BundleError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut models = BTreeMap::new();
    for entry in std::fs::read_dir(folder).map_err(|e| io(folder, e))? {
        let entry = entry.map_err(|e| io(folder, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !path.is_file() {
            return Err(BundleError::Spec {
                file: path.display().to_string(),
                message: "is not a file: give one model file or zipped bundle per key".into(),
            });
        }
        let key = match name.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem.to_string(),
            _ => name.clone(),
        };
        if let Some(before) = models.insert(key.clone(), ModelFile::read(&path)?) {
            return Err(BundleError::Spec {
                file: path.display().to_string(),
                message: format!("key `{key}` already has a model ({})", before.file_name),
            });
        }
    }
    if models.is_empty() {
        return Err(BundleError::Spec {
            file: folder.display().to_string(),
            message: "holds no model files".into(),
        });
    }
    Ok(models)
}

/// A key as a bundle path component: kept when plain, else replaced by its position.
fn artifact_name(key: &str, index: usize, file_name: &str) -> String {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| format!(".{e}"))
        .unwrap_or_default();
    let plain = !key.is_empty()
        && !key.starts_with('.')
        && key.len() <= 100
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        format!("models/{key}{ext}")
    } else {
        format!("models/key-{index}{ext}")
    }
}

/// Make a model-set bundle, building every model once to check the shared outputs.
pub fn create_model_set(options: &ModelSetOptions) -> Result<NewBundle, BundleError> {
    let key_type = options.key_type.unwrap_or(ColumnType::Utf8);
    if !matches!(
        key_type,
        ColumnType::Utf8 | ColumnType::Int64 | ColumnType::Int32
    ) {
        return Err(BundleError::Spec {
            file: "bundle create".into(),
            message: format!(
                "a model set's key is `utf8`, `int64` or `int32`, not `{}`",
                key_type.name()
            ),
        });
    }
    let mut artifacts: BTreeMap<String, Arc<[u8]>> = BTreeMap::new();
    let mut models = BTreeMap::new();
    for (i, (key, file)) in options.models.iter().enumerate() {
        let name = artifact_name(key, i, &file.file_name);
        artifacts.insert(name.clone(), file.bytes.clone());
        models.insert(key.clone(), name);
    }
    let default = options.default.as_ref().map(|file| {
        let ext = file
            .file_name
            .rsplit_once('.')
            .map(|(_, e)| format!(".{e}"))
            .unwrap_or_default();
        // Under its own folder, so no key's file can take its name.
        let name = format!("default/model{ext}");
        artifacts.insert(name.clone(), file.bytes.clone());
        name
    });
    let mut params = ModelSetParams {
        key: options.key.clone(),
        models,
        default,
        unseen: options.unseen,
        outputs: None,
        inputs: None,
        record: options.record.clone(),
        output: options.output.clone(),
        output_margin: options.output_margin,
        cache_bytes: options.cache_bytes,
    };
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        version: options.version.clone(),
        created_at: options.created_at.clone().unwrap_or_else(now_rfc3339),
        producer: format!("scorewell {}", env!("CARGO_PKG_VERSION")),
        description: options.description.clone(),
        inputs: Vec::new(),
        stages: Vec::new(),
        outputs: Vec::new(),
        decision: None,
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
        let mut files = artifacts.clone();
        files.insert(MANIFEST_FILE.into(), Arc::from(manifest.to_json()));
        Bundle::from_parts(
            manifest.clone(),
            Files::Zip(Arc::new(files)),
            Limits::default(),
        )
    };
    let at = "stages[0]";
    let draft = in_memory(&manifest);
    let set = ModelSet::new(&draft, "model_set", params.clone(), at)?;
    let routes = set.routes();
    // The reference schema: the default model's, else the first key's.
    let reference = routes.len() - 1;
    let reference = if params.default.is_some() {
        reference
    } else {
        0
    };
    let first = routes.build(reference)?;
    let first_label = routes.label(reference).to_string();
    let mut inputs: Vec<InputSpec> = Vec::new();
    for i in 0..routes.len() {
        let built = if i == reference {
            None
        } else {
            Some(routes.build(i)?)
        };
        let built = built.as_ref().unwrap_or(&first);
        let label = routes.label(i);
        same_outputs(&first.outputs, &built.outputs, &first_label, label, at)
            .map_err(|e| in_create(e, label))?;
        merge_inputs(&mut inputs, &built.inputs, label, at).map_err(|e| in_create(e, label))?;
    }
    inputs.retain(|i| i.name != options.key);
    let outputs: Vec<RoutedOutput> = first
        .outputs
        .iter()
        .map(|f| {
            ColumnType::from_arrow(f.data_type())
                .map(|ty| RoutedOutput {
                    name: f.name().clone(),
                    ty,
                })
                .ok_or_else(|| BundleError::Spec {
                    file: "bundle create".into(),
                    message: format!(
                        "the model for `{first_label}` writes column `{}` as {}, which a model set cannot declare",
                        f.name(),
                        f.data_type()
                    ),
                })
        })
        .collect::<Result<_, _>>()?;
    params.outputs = Some(outputs.clone());
    params.inputs = Some(inputs.clone());
    manifest.inputs = std::iter::once(InputSpec {
        name: options.key.clone(),
        ty: key_type,
        nullable: true,
    })
    .chain(inputs)
    .collect();
    manifest.outputs = outputs
        .iter()
        .map(|o| OutputSpec {
            name: o.name.clone(),
            ty: Some(o.ty),
        })
        .chain(options.record.iter().map(|r| OutputSpec {
            name: r.clone(),
            ty: Some(ColumnType::Utf8),
        }))
        .collect();
    manifest.stages = vec![StageSpec {
        kind: MODEL_SET_KIND.into(),
        name: "model_set".into(),
        artifact: None,
        params: serde_json::to_value(&params).map_err(|e| BundleError::Spec {
            file: "bundle create".into(),
            message: e.to_string(),
        })?,
    }];
    // The final check: the manifest as written loads and builds.
    in_memory(&manifest).scorer()?;
    Ok(NewBundle {
        manifest,
        artifacts,
    })
}

/// A mismatch found while creating, said as such (there is no scorewell.json yet).
fn in_create(err: BundleError, key: &str) -> BundleError {
    match err {
        BundleError::Stage { message, .. } => BundleError::Spec {
            file: "bundle create".into(),
            message: format!("model set, key `{key}`: {message}"),
        },
        other => other,
    }
}

/// A folder's model files (see [`models_in_folder`]) and an optional default file, as options.
pub fn folder_options(
    key: &str,
    folder: &Path,
    default: Option<&PathBuf>,
) -> Result<ModelSetOptions, BundleError> {
    Ok(ModelSetOptions {
        key: key.to_string(),
        models: models_in_folder(folder)?,
        default: default.map(|d| ModelFile::read(d)).transpose()?,
        ..ModelSetOptions::default()
    })
}
