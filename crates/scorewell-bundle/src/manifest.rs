//! `scorewell.json`: the bundle manifest (format documented in docs/BUNDLE.md).
//!
//! The manifest is versioned by `format_version`. A reader accepts every version up to
//! [`FORMAT_VERSION`]; a newer one is refused by number, since its meaning is unknown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::BundleError;

/// The manifest's file name at the bundle root.
pub const MANIFEST_FILE: &str = "scorewell.json";

/// The newest manifest format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

/// The parsed manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version (see [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The model's name, e.g. `fraud`.
    pub name: String,
    /// The model's own version, chosen by its owner (`3`, `2026-11-01`, ...).
    pub version: String,
    /// When the bundle was made (RFC 3339, UTC).
    pub created_at: String,
    /// What made the bundle, e.g. `scorewell 0.1.0`.
    pub producer: String,
    /// Free text for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The columns a caller provides.
    pub inputs: Vec<InputSpec>,
    /// The pipeline, in order; each stage may read inputs and earlier stages' outputs.
    pub stages: Vec<StageSpec>,
    /// The stage outputs returned to callers, appended to the input columns in this order.
    pub outputs: Vec<OutputSpec>,
    /// Thresholds on a score that turn it into a label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// sha256 and size of every artifact, by its path in the bundle.
    pub artifacts: BTreeMap<String, ArtifactSpec>,
}

/// One input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Column name.
    pub name: String,
    /// Column type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether nulls are allowed (they count as missing values).
    #[serde(default = "yes")]
    pub nullable: bool,
}

fn yes() -> bool {
    true
}

/// Column types a manifest can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// 64-bit float.
    Float64,
    /// 32-bit float.
    Float32,
    /// 64-bit integer.
    Int64,
    /// 32-bit integer.
    Int32,
    /// Boolean.
    Bool,
    /// UTF-8 string.
    Utf8,
    /// An ML vector (Spark VectorUDT layout).
    Vector,
    /// A list of strings (tokens).
    ListUtf8,
}

impl ColumnType {
    /// The Arrow type this maps to.
    pub fn arrow(self) -> arrow_schema::DataType {
        use arrow_schema::{DataType, Field};
        match self {
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Float32 => DataType::Float32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Vector => scorewell_core::vector::vector_data_type(),
            ColumnType::ListUtf8 => DataType::List(std::sync::Arc::new(Field::new(
                "item",
                DataType::Utf8,
                true,
            ))),
        }
    }

    /// The type's name as the manifest writes it (`float64`, `list_utf8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Float64 => "float64",
            ColumnType::Float32 => "float32",
            ColumnType::Int64 => "int64",
            ColumnType::Int32 => "int32",
            ColumnType::Bool => "bool",
            ColumnType::Utf8 => "utf8",
            ColumnType::Vector => "vector",
            ColumnType::ListUtf8 => "list_utf8",
        }
    }

    /// The manifest type for an Arrow type, if there is one.
    pub fn from_arrow(dt: &arrow_schema::DataType) -> Option<Self> {
        use arrow_schema::DataType;
        Some(match dt {
            DataType::Float64 => ColumnType::Float64,
            DataType::Float32 => ColumnType::Float32,
            DataType::Int64 => ColumnType::Int64,
            DataType::Int32 => ColumnType::Int32,
            DataType::Boolean => ColumnType::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::Utf8,
            DataType::List(f) | DataType::LargeList(f)
                if matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8) =>
            {
                ColumnType::ListUtf8
            }
            dt if scorewell_core::vector::is_vector(dt) => ColumnType::Vector,
            _ => return None,
        })
    }
}

/// One pipeline stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// What the stage is: `model`, or a transform kind (`standard_scaler`, `string_indexer`, ...).
    pub kind: String,
    /// A name unique in the bundle, used in errors and `inspect`.
    pub name: String,
    /// For `model` stages: the artifact's path in the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Kind-specific parameters.
    #[serde(default = "empty_object")]
    pub params: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Parameters of a `model` stage.
///
/// - `format`: force a model format (`xgboost-json`, `xgboost-ubj`, `lightgbm-text`) instead of
///   detecting it from the artifact.
/// - `output`: the output column name (default `prediction`); a model with k outputs writes
///   `<output>_0 … <output>_{k-1}`.
/// - `output_margin`: raw margins instead of predictions (default false).
/// - `features`: column names to read the model's features from, in the model's feature
///   order, when they differ from the names stored in the model file.
/// - `weights` (Keras): the artifact holding the weights of an architecture JSON artifact
///   (`model.to_json()` + `save_weights`); a `.keras` artifact needs none.
/// - `inputs` (Keras): model input name → the column it reads, for inputs whose column is
///   not named as the input layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// Forced format name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Output column name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Raw margins instead of predictions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_margin: bool,
    /// Feature column names, in the model's feature order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Keras: the weights artifact of an architecture JSON artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Keras: model input name → column name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<std::collections::BTreeMap<String, String>>,
    /// Producer of the artifact as the model file states it (written by `bundle create`,
    /// informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
}

/// One output column returned to callers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Column name (a stage's output).
    pub name: String,
    /// Its type as the stage writes it; when given, a bundle whose stage writes another type
    /// is refused at load.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<ColumnType>,
}

/// Thresholds that turn one score column into a label column.
///
/// Rules are tried in order; the first with `score >= at_least` gives the label, and rows
/// matching none get `otherwise`. A missing (null or NaN) score gets `missing`, or null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The score column the rules read.
    pub score: String,
    /// The label column written (default `decision`).
    #[serde(default = "decision_column")]
    pub output: String,
    /// Ordered rules.
    pub rules: Vec<DecisionRule>,
    /// The label when no rule matches.
    pub otherwise: String,
    /// The label for a missing score (default: null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

fn decision_column() -> String {
    "decision".into()
}

/// `score >= at_least` → `label`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRule {
    /// The inclusive lower bound.
    pub at_least: f64,
    /// The label given.
    pub label: String,
}

/// An artifact's checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactSpec {
    /// sha256 of the file's bytes: 64 lowercase hex digits (checked when the manifest is
    /// parsed).
    #[serde(deserialize_with = "sha256_digest")]
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A sha256 digest as 64 lowercase hex digits; anything else is refused where it stands
/// (`artifacts.<path>.sha256`), so no reader has to cope with an odd one.
fn sha256_digest<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(s)
    } else {
        let mut shown: String = s.chars().take(70).collect();
        if shown.len() < s.len() {
            shown.push('…');
        }
        Err(serde::de::Error::custom(format!(
            "sha256 must be 64 lowercase hex digits, got {shown:?}"
        )))
    }
}

impl Manifest {
    /// Parse manifest JSON; errors name the JSON path of the offending value.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        // Read the version first so a newer manifest is refused by its number, not by the
        // first field this build does not know.
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        let version: Version =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Manifest {
                path: String::new(),
                message: e.to_string(),
            })?;
        match version.format_version {
            None => {
                return Err(BundleError::Manifest {
                    path: "format_version".into(),
                    message: "missing field `format_version`".into(),
                });
            }
            Some(0) => {
                return Err(BundleError::Manifest {
                    path: "format_version".into(),
                    message: format!(
                        "0 is not a manifest version; versions start at 1 (this scorewell reads 1 to {FORMAT_VERSION})"
                    ),
                });
            }
            Some(v) if v > FORMAT_VERSION => {
                return Err(BundleError::UnsupportedVersion {
                    found: v,
                    supported: FORMAT_VERSION,
                });
            }
            Some(_) => {}
        }
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| BundleError::Manifest {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// The Arrow schema of the declared inputs.
    pub fn input_schema(&self) -> arrow_schema::Schema {
        arrow_schema::Schema::new(
            self.inputs
                .iter()
                .map(|i| arrow_schema::Field::new(&i.name, i.ty.arrow(), i.nullable))
                .collect::<Vec<_>>(),
        )
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data structures with string keys cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}
