//! Model routing: stages that score each row with one of several models.
//!
//! - `model_set` ([`ModelSetParams`]): a key column picks one of many models (one per device,
//!   tenant, country), with a default or null outputs or an error for unseen keys.
//! - `split` ([`SplitParams`]): a stable hash of a key column picks an arm by weight (A/B tests).
//! - `shadow` ([`ShadowParams`]): a second model scored on the same rows, its outputs under other
//!   names and its scores in the metrics, never changing the primary answer.
//!
//! They share one internal piece, `Routes`: a list of models, each a bare model artifact or a nested bundle,
//! built on first use and kept in a least-recently-used cache under a byte budget. A batch is
//! grouped by model, each group scored through that model's own [`Scorer`] (so a row's
//! outputs are exactly those of scoring it with its model alone), and the outputs scattered
//! back in row order. User docs: docs/ROUTING.md.

mod cache;
pub(crate) mod create;
mod groups;
pub(crate) mod model_set;
pub(crate) mod shadow;
pub(crate) mod split;
mod stats;

use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use scorewell_core::{InputColumn, ScoreError, Scorer, Stage};
use serde::{Deserialize, Serialize};

use crate::build::forest_stage_with_engine;
use crate::bundle::{Bundle, ZIP_MAGIC};
use crate::error::BundleError;
use crate::manifest::{ColumnType, InputSpec, ModelParams};

use cache::Cache;
use groups::Groups;
pub use model_set::{DEFAULT_LABEL, ModelSetParams, Unseen};
pub use shadow::ShadowParams;
pub use split::{Arm, SplitParams, unit_hash};
pub use stats::{ArmStats, StageStats, StatsSnapshot, encode_route_metrics, route_stats};

/// The stage kind that picks a model per row by a key column.
pub const MODEL_SET_KIND: &str = "model_set";
/// The stage kind that sends rows to weighted arms by a stable hash of a key column.
pub const SPLIT_KIND: &str = "split";
/// The stage kind that scores a second model beside the primary one.
pub const SHADOW_KIND: &str = "shadow";

/// Default byte budget of a model set's cache: 256 MiB of model artifacts.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// A routed model's declared output: name and type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutedOutput {
    /// Column name.
    pub name: String,
    /// Column type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// How a bare model artifact is turned into a model stage (the `model` stage's params, less
/// `features`, which differ per model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareModel {
    /// Output column name (default `prediction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Raw margins instead of predictions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_margin: bool,
}

/// One built model: its scorer, and what it reads and writes.
#[derive(Debug)]
pub(crate) struct Built {
    scorer: Scorer,
    /// `<key or arm>@<first 12 hex digits of the artifact's sha256>`.
    tag: Arc<str>,
    inputs: Vec<InputSpec>,
    outputs: Vec<FieldRef>,
    /// The routed columns this model reads, for the last routed schema seen.
    reads: LastProjection,
}

impl Built {
    /// Whether the model reads column `name`.
    fn reads(&self, name: &str) -> bool {
        self.inputs.iter().any(|i| i.name == name)
    }

    /// The positions in `routed` of the columns this model reads, and their schema.
    fn reads_of(&self, routed: &SchemaRef) -> Result<(Arc<[usize]>, SchemaRef), ScoreError> {
        let positions = || {
            routed
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| self.reads(f.name()))
                .map(|(j, _)| j)
                .collect()
        };
        Ok(self.reads.project(routed, None, positions)?)
    }
}

/// The last projection made of a schema. The same schema (by pointer, as the server and the
/// Python one-row path reuse theirs, or equal) gets the same projected `Arc` back, so a routed
/// model's scorer finds its binding by pointer instead of comparing every field on each call,
/// which for a single row cost more than the routing itself, and for a batch over a thousand
/// keys a thousand times.
#[derive(Debug, Default)]
struct LastProjection(Mutex<Option<Projection>>);

#[derive(Debug, Clone)]
struct Projection {
    from: SchemaRef,
    key: Option<Arc<[usize]>>,
    positions: Arc<[usize]>,
    to: SchemaRef,
}

impl LastProjection {
    /// `from` projected on `positions()`. `key`, when given, must also match the last call's
    /// (the positions a caller passed in); otherwise `from` alone decides them.
    fn project(
        &self,
        from: &SchemaRef,
        key: Option<&[usize]>,
        positions: impl FnOnce() -> Arc<[usize]>,
    ) -> Result<(Arc<[usize]>, SchemaRef), arrow_schema::ArrowError> {
        let last = self.0.lock().ok().and_then(|last| last.clone());
        // An equal schema in another `Arc` (a reader's batches may each carry their own)
        // also gets the same projection back: one comparison here saves one per model later.
        if let Some(p) = last
            && p.key.as_deref() == key
            && (Arc::ptr_eq(&p.from, from) || p.from == *from)
        {
            return Ok((p.positions, p.to));
        }
        let positions = positions();
        let to = Arc::new(from.project(&positions)?);
        if let Ok(mut last) = self.0.lock() {
            *last = Some(Projection {
                from: from.clone(),
                key: key.map(Arc::from),
                positions: positions.clone(),
                to: to.clone(),
            });
        }
        Ok((positions, to))
    }
}

/// The models of one routing stage.
#[derive(Debug)]
pub(crate) struct Routes {
    bundle: Arc<Bundle>,
    /// The stage's JSON path in the manifest, for errors.
    at: String,
    /// (label, artifact) per model: the key or arm name, and the artifact's bundle path.
    models: Vec<(String, String)>,
    bare: BareModel,
    cache: Cache<Built>,
    stats: Arc<StageStats>,
    /// The routed columns' schema, for the last batch schema seen.
    routed: LastProjection,
}

impl Routes {
    pub(crate) fn new(
        bundle: Arc<Bundle>,
        at: String,
        models: Vec<(String, String)>,
        bare: BareModel,
        budget: u64,
        stats: Arc<StageStats>,
    ) -> Result<Self, BundleError> {
        for (label, artifact) in &models {
            if !bundle.manifest().artifacts.contains_key(artifact) {
                return Err(BundleError::UnlistedArtifact {
                    at: format!("{at}.params ({label})"),
                    artifact: artifact.clone(),
                });
            }
        }
        Ok(Self {
            bundle,
            at,
            models,
            bare,
            cache: Cache::new(budget),
            stats,
            routed: LastProjection::default(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.models.len()
    }

    /// The model at `index`, built (and its checksum verified) on first use.
    pub(crate) fn get(&self, index: usize) -> Result<Arc<Built>, ScoreError> {
        self.cache.get_or_build(index, &self.stats, || {
            let (label, artifact) = &self.models[index];
            let built = self.build(index).map_err(|e| ScoreError::Model {
                model: format!("{label} ({artifact})"),
                message: e.to_string(),
            })?;
            let cost = self
                .bundle
                .manifest()
                .artifacts
                .get(artifact)
                .map_or(0, |a| a.size);
            Ok((built, cost))
        })
    }

    /// Build the model at `index` without caching it (`bundle create` checks every model).
    pub(crate) fn build(&self, index: usize) -> Result<Built, BundleError> {
        let (label, artifact) = &self.models[index];
        let bytes = self.bundle.artifact(artifact)?;
        let digest = &self.bundle.manifest().artifacts[artifact].sha256;
        let tag: Arc<str> = Arc::from(format!("{label}@{}", &digest[..12]));
        let at = format!("{}.params ({label})", self.at);
        if bytes.starts_with(ZIP_MAGIC) {
            let nested = Bundle::from_bytes(&bytes).map_err(|e| BundleError::Stage {
                at: at.clone(),
                message: format!("nested bundle `{artifact}`: {e}"),
            })?;
            let scorer = nested.scorer().map_err(|e| BundleError::Stage {
                at: at.clone(),
                message: format!("nested bundle `{artifact}`: {e}"),
            })?;
            let manifest = nested.manifest();
            let schema = Arc::new(manifest.input_schema());
            let bound = scorer.bind(schema.clone())?;
            let outputs = bound.output_schema().fields()[schema.fields().len()..].to_vec();
            return Ok(Built {
                scorer,
                tag,
                inputs: manifest.inputs.clone(),
                outputs,
                reads: LastProjection::default(),
            });
        }
        let params = ModelParams {
            output: self.bare.output.clone(),
            output_margin: self.bare.output_margin,
            ..ModelParams::default()
        };
        let stage =
            forest_stage_with_engine(label, &bytes, artifact, &params, &at, routed_engine())?;
        let inputs = stage.inputs().iter().map(input_spec).collect();
        let outputs = stage.output_fields();
        Ok(Built {
            scorer: Scorer::new(scorewell_core::Pipeline::new().push(Arc::new(stage))),
            tag,
            inputs,
            outputs,
            reads: LastProjection::default(),
        })
    }

    pub(crate) fn label(&self, index: usize) -> &str {
        &self.models[index].0
    }

    pub(crate) fn stats(&self) -> &StageStats {
        &self.stats
    }
}

/// The engine of a routed bare model: `auto` interprets. A routed model scores a few rows per
/// batch (a thousand keys split a batch a thousand ways), so generating its code rarely pays
/// back at first use, and `auto`'s measuring of both engines takes thousands of rows per model.
/// Measured: 1,000 models of 50 trees over 1M rows, 3.1M rows/s under `auto`, 4.4M interpreted
/// (bench/routing/run.py). An explicit `compile` is still honoured.
fn routed_engine() -> scorewell_forest::Engine {
    match scorewell_forest::default_engine() {
        scorewell_forest::Engine::Auto => scorewell_forest::Engine::Interpret,
        engine => engine,
    }
}

/// An input column as a manifest input: numeric → `float64`, vector → `vector`, else `utf8`.
fn input_spec(input: &InputColumn) -> InputSpec {
    InputSpec {
        name: input.name.clone(),
        ty: if input.numeric {
            ColumnType::Float64
        } else if input.vector {
            ColumnType::Vector
        } else {
            ColumnType::Utf8
        },
        nullable: true,
    }
}

/// The declared outputs as Arrow fields (nullable: unseen keys may leave them null).
pub(crate) fn output_fields(outputs: &[RoutedOutput]) -> Vec<FieldRef> {
    outputs
        .iter()
        .map(|o| Arc::new(Field::new(&o.name, o.ty.arrow(), true)))
        .collect()
}

/// What a routing stage reads: its key column (if any) and the columns its models read.
pub(crate) fn stage_inputs(key: Option<&str>, inputs: &[InputSpec]) -> Vec<InputColumn> {
    let mut out = Vec::with_capacity(inputs.len() + 1);
    if let Some(key) = key {
        out.push(InputColumn::new(key, false));
    }
    for i in inputs {
        if Some(i.name.as_str()) == key {
            continue;
        }
        let mut column = match i.ty {
            ColumnType::Vector => InputColumn::vector(&i.name),
            ty => InputColumn::new(
                &i.name,
                matches!(
                    ty,
                    ColumnType::Float64
                        | ColumnType::Float32
                        | ColumnType::Int64
                        | ColumnType::Int32
                        | ColumnType::Bool
                ),
            ),
        };
        column.optional = false;
        out.push(column);
    }
    out
}

/// Resolve the routed columns (key first, when there is one) in `schema`.
pub(crate) fn bind_columns(
    stage: &dyn Stage,
    schema: &Schema,
    key: Option<&str>,
) -> Result<Vec<usize>, ScoreError> {
    let name = stage.name().to_string();
    let mut columns = Vec::new();
    for input in stage.inputs() {
        let i = scorewell_core::find_column(schema, &input.name, || {
            if Some(input.name.as_str()) == key {
                format!("the key of stage `{name}`")
            } else {
                format!("a model of stage `{name}`")
            }
        })?;
        columns.push(i);
    }
    if let Some(key) = key {
        let dt = schema.field(columns[0]).data_type();
        if !is_key_type(dt) {
            return Err(ScoreError::ColumnType {
                column: key.to_string(),
                expected: "a string or integer key".into(),
                got: dt.to_string(),
            });
        }
    }
    Ok(columns)
}

fn is_key_type(dt: &DataType) -> bool {
    match dt {
        // pandas categoricals and Parquet's dictionary pages arrive dictionary-encoded.
        DataType::Dictionary(_, values) => is_key_type(values),
        _ => {
            dt.is_integer()
                || matches!(
                    dt,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
        }
    }
}

/// A key column read as strings or as integers.
pub(crate) enum Keys {
    /// String keys.
    Text(arrow_array::StringArray),
    /// Integer keys.
    Int(arrow_array::Int64Array),
}

impl Keys {
    pub(crate) fn read(column: &ArrayRef) -> Result<Self, ScoreError> {
        let dt = match column.data_type() {
            DataType::Dictionary(_, values) => values.as_ref(),
            dt => dt,
        };
        if dt.is_integer() {
            let cast = arrow_cast::cast(column, &DataType::Int64)?;
            let ints = cast
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .cloned();
            return ints
                .map(Keys::Int)
                .ok_or_else(|| ScoreError::SchemaMismatch("integer key cast".into()));
        }
        let cast = match column.data_type() {
            DataType::Utf8 => column.clone(),
            _ => arrow_cast::cast(column, &DataType::Utf8)?,
        };
        cast.as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .cloned()
            .map(Keys::Text)
            .ok_or_else(|| ScoreError::SchemaMismatch("string key cast".into()))
    }
}

impl Keys {
    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        match self {
            Keys::Text(k) => k.len(),
            Keys::Int(k) => k.len(),
        }
    }

    /// `len` keys from `start` (no copy).
    pub(crate) fn slice(&self, start: usize, len: usize) -> Self {
        match self {
            Keys::Text(k) => Keys::Text(k.slice(start, len)),
            Keys::Int(k) => Keys::Int(k.slice(start, len)),
        }
    }

    /// How errors name the key at `i`.
    pub(crate) fn label(&self, i: usize) -> String {
        match self {
            Keys::Text(k) if k.is_valid(i) => format!("key `{}`", k.value(i)),
            Keys::Int(k) if k.is_valid(i) => format!("key `{}`", k.value(i)),
            _ => "a null key".into(),
        }
    }
}

/// One scored group: the model index, its rows, and its output columns.
pub(crate) struct Scored {
    pub(crate) model: usize,
    pub(crate) rows: usize,
    pub(crate) outputs: Vec<ArrayRef>,
    pub(crate) tag: Arc<str>,
}

/// Score `batch`'s rows, each with its assigned model, and put the outputs back in row order:
/// one array per declared output, plus the tag column when `tag` is set. `columns` are the
/// bound columns the models read. The groups are also returned, for the per-arm metrics.
pub(crate) fn score_routed(
    routes: &Routes,
    declared: &[FieldRef],
    batch: &RecordBatch,
    columns: &[usize],
    assign: &[Option<u32>],
    tag: bool,
) -> Result<(Vec<ArrayRef>, Vec<Scored>), ScoreError> {
    let rows = batch.num_rows();
    let batch_schema = batch.schema();
    let (_, sub_schema) = routes
        .routed
        .project(&batch_schema, Some(columns), || Arc::from(columns))?;
    // A batch of one key (every single-row request) skips the gather and the scatter.
    let first = assign.first().copied().flatten();
    if rows > 0 && first.is_some() && assign.iter().all(|a| *a == first) {
        let model = first.map_or(0, |m| m as usize);
        let sub = RecordBatch::try_new_with_options(
            sub_schema,
            columns.iter().map(|&c| batch.column(c).clone()).collect(),
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let (built, outputs) = score_one(routes, model, declared, &sub)?;
        let mut out = outputs.clone();
        if tag {
            out.push(tag_column(std::iter::repeat_n(Some(&*built.tag), rows)));
        }
        let scored = Scored {
            model,
            rows,
            outputs,
            tag: built.tag.clone(),
        };
        return Ok((out, vec![scored]));
    }
    let groups = Groups::new(assign, routes.len());
    // The routed columns in grouped order, each made once per batch when a model first needs
    // it (the key column usually is not a model input); each group reads its slice.
    let grouped: Vec<OnceLock<Result<ArrayRef, String>>> =
        columns.iter().map(|_| OnceLock::new()).collect();
    let permuted = |j: usize| {
        grouped[j].get_or_init(|| {
            groups
                .permute(batch.column(columns[j]).as_ref())
                .map_err(|e| e.to_string())
        })
    };
    // The columns the first group's model reads (usually every model's) are permuted up
    // front, one per thread: left to the groups, the first group to need a column makes it
    // while the other threads wait for it.
    if groups.groups.len() > 1
        && let Some((model, _)) = groups.groups.first()
        && let Ok(built) = routes.get(*model as usize)
        && let Ok((reads, _)) = built.reads_of(&sub_schema)
    {
        use rayon::prelude::*;
        reads.par_iter().for_each(|&j| {
            permuted(j);
        });
    }
    // Groups are scored in parallel: a batch over many keys has many small groups, each
    // too small for the evaluator's own row-block parallelism.
    let score_group = |g: usize| -> Result<Scored, ScoreError> {
        let (model, range) = &groups.groups[g];
        let model = *model as usize;
        let built = routes.get(model)?;
        let (reads, read_schema) = built.reads_of(&sub_schema)?;
        let mut taken = Vec::with_capacity(reads.len());
        for &j in reads.iter() {
            let column = permuted(j)
                .as_ref()
                .map_err(|e| arrow_schema::ArrowError::ComputeError(e.clone()))?;
            taken.push(column.slice(range.start, range.len()));
        }
        let sub = RecordBatch::try_new_with_options(
            read_schema,
            taken,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(range.len())),
        )?;
        let outputs = score_built(routes, model, &built, declared, &sub)?;
        Ok(Scored {
            model,
            rows: range.len(),
            outputs,
            tag: built.tag.clone(),
        })
    };
    let scored: Vec<Scored> = {
        use rayon::prelude::*;
        (0..groups.groups.len())
            .into_par_iter()
            .with_min_len(4)
            .map(score_group)
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(declared.len() + usize::from(tag));
    for (j, field) in declared.iter().enumerate() {
        let parts: Vec<&dyn Array> = scored.iter().map(|s| s.outputs[j].as_ref()).collect();
        out.push(groups.scatter(&parts, field.data_type(), rows)?);
    }
    if tag {
        out.push(tag_column(
            groups
                .group_of_rows(rows)
                .into_iter()
                .map(|g| g.map(|g| &*scored[g].tag)),
        ));
    }
    Ok((out, scored))
}

/// Score `sub` with model `model` and pick its declared outputs, checking their types.
fn score_one(
    routes: &Routes,
    model: usize,
    declared: &[FieldRef],
    sub: &RecordBatch,
) -> Result<(Arc<Built>, Vec<ArrayRef>), ScoreError> {
    let built = routes.get(model)?;
    let outputs = score_built(routes, model, &built, declared, sub)?;
    Ok((built, outputs))
}

/// [`score_one`] with the model already at hand.
fn score_built(
    routes: &Routes,
    model: usize,
    built: &Built,
    declared: &[FieldRef],
    sub: &RecordBatch,
) -> Result<Vec<ArrayRef>, ScoreError> {
    // Only the model's own outputs are made: the scored batch with the inputs carried
    // through is never built.
    let bound = built.scorer.bind_cached(sub.schema())?;
    let (columns, rows) = bound.score_outputs(sub)?;
    if rows != sub.num_rows() {
        // A nested bundle whose pipeline drops rows cannot be put back in row order.
        return Err(ScoreError::Model {
            model: routes.label(model).to_string(),
            message: format!(
                "returned {rows} of its {} rows; a routed model must score every row (no filter stage)",
                sub.num_rows()
            ),
        });
    }
    let schema = bound.output_schema();
    // The scored columns are the bound output schema's fields after the inputs.
    let written = &schema.fields()[sub.num_columns().min(schema.fields().len())..];
    let mut outputs = Vec::with_capacity(declared.len());
    for field in declared {
        let column = written
            .iter()
            .zip(&columns)
            .find(|(f, _)| f.name() == field.name())
            .map(|(_, c)| c)
            .ok_or_else(|| ScoreError::Model {
                model: routes.label(model).to_string(),
                message: format!(
                    "writes no column `{}`, which the stage declares (it writes: {})",
                    field.name(),
                    built
                        .outputs
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        if column.data_type() != field.data_type() {
            return Err(ScoreError::Model {
                model: routes.label(model).to_string(),
                message: format!(
                    "writes column `{}` as {}, the stage declares {}",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                ),
            });
        }
        outputs.push(column.clone());
    }
    Ok(outputs)
}

fn tag_column<'a>(tags: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(arrow_array::StringArray::from_iter(tags))
}

/// The first output as floats, for the score histogram; `None` when it is not a float column.
pub(crate) fn scores(column: &ArrayRef) -> Option<Vec<f64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type};
    match column.data_type() {
        DataType::Float64 => Some(
            column
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
        ),
        DataType::Float32 => Some(
            column
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map_or(f64::NAN, f64::from))
                .collect(),
        ),
        _ => None,
    }
}

/// Deserialize routing params at `at`, and check a histogram's bounds.
pub(crate) fn check_buckets(buckets: &[f64], at: &str) -> Result<(), BundleError> {
    if buckets.is_empty()
        || buckets.iter().any(|b| !b.is_finite())
        || buckets.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(BundleError::Stage {
            at: format!("{at}.params.buckets"),
            message: "bucket bounds must be finite and strictly increasing".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
