//! `model_set`: a key column picks one of many models that share one output schema.
//!
//! ```json
//! {"kind": "model_set", "name": "devices", "params": {
//!    "key": "device_id",
//!    "models": {"d1": "models/d1.json", "d2": "models/d2.json"},
//!    "default": "models/default.json", "unseen": "default",
//!    "outputs": [{"name": "prediction", "type": "float32"}],
//!    "inputs": [{"name": "f0", "type": "float64"}],
//!    "record": "scored_by", "cache_bytes": 268435456}}
//! ```
//!
//! Rows whose key has no model (and rows with a null key) follow `unseen`: `default` (the
//! default model scores them; the default when a default model is given), `null` (null
//! outputs) or `error` (the batch fails naming the row and key; the default without a default
//! model). Integer keys match the models' keys by their decimal text (`42` ↔ `"42"`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use foldhash::fast::RandomState;
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput};
use serde::{Deserialize, Serialize};

use super::{
    BareModel, DEFAULT_CACHE_BYTES, Keys, MODEL_SET_KIND, RoutedOutput, Routes, output_fields,
    score_routed, stage_inputs, stats,
};
use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::manifest::{InputSpec, StageSpec};

/// The label of the default model in errors and in the `record` column.
pub const DEFAULT_LABEL: &str = "(default)";

/// What happens to a row whose key has no model, or whose key is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unseen {
    /// The default model scores it.
    Default,
    /// Its outputs are null.
    Null,
    /// The batch fails, naming the row and the key.
    Error,
}

/// Parameters of a `model_set` stage (docs/ROUTING.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSetParams {
    /// The key column (string or integer).
    pub key: String,
    /// Key value → artifact path: a bare model file or a zipped bundle.
    pub models: BTreeMap<String, String>,
    /// The artifact scoring rows whose key has no model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The policy for unseen and null keys (default: `default` with a default model, else
    /// `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen: Option<Unseen>,
    /// The outputs every model writes, checked by `bundle create`; when absent, the default
    /// model (or the first key's) is built at load to learn them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<RoutedOutput>>,
    /// The columns the models read, together (written by `bundle create`; learnt like
    /// `outputs` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputSpec>>,
    /// A column to write `<key>@<sha256 prefix>` of the model that scored each row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Output column of bare models (default `prediction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Bare models write raw margins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_margin: bool,
    /// Byte budget of the built models, counted as their artifacts' sizes (default 256 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_bytes: Option<u64>,
}

impl ModelSetParams {
    /// The bare-model settings.
    pub(crate) fn bare(&self) -> BareModel {
        BareModel {
            output: self.output.clone(),
            output_margin: self.output_margin,
        }
    }

    /// (label, artifact) per model: the keys in order, then the default.
    pub(crate) fn models(&self) -> Vec<(String, String)> {
        let mut models: Vec<(String, String)> = self
            .models
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        if let Some(default) = &self.default {
            models.push((DEFAULT_LABEL.to_string(), default.clone()));
        }
        models
    }
}

/// The `model_set` stage.
#[derive(Debug)]
pub struct ModelSet {
    name: String,
    key: String,
    routes: Routes,
    by_text: HashMap<String, u32, RandomState>,
    by_int: HashMap<i64, u32, RandomState>,
    default: Option<u32>,
    unseen: Unseen,
    outputs: Vec<FieldRef>,
    inputs: Vec<InputSpec>,
    record: Option<FieldRef>,
}

/// Build a `model_set` stage from its manifest entry; no model is built unless the manifest
/// lacks `outputs` or `inputs`.
pub(crate) fn build(
    bundle: &Bundle,
    spec: &StageSpec,
    at: &str,
) -> Result<Arc<dyn Stage>, BundleError> {
    let params: ModelSetParams = crate::build::params(&spec.params, at)?;
    Ok(Arc::new(ModelSet::new(bundle, &spec.name, params, at)?))
}

impl ModelSet {
    pub(crate) fn new(
        bundle: &Bundle,
        name: &str,
        params: ModelSetParams,
        at: &str,
    ) -> Result<Self, BundleError> {
        let stage_error = |field: &str, message: String| BundleError::Stage {
            at: format!("{at}.params{field}"),
            message,
        };
        if params.models.is_empty() && params.default.is_none() {
            return Err(stage_error(
                ".models",
                "a model set needs at least one model".into(),
            ));
        }
        let unseen = match (params.unseen, &params.default) {
            (Some(Unseen::Default), None) => {
                return Err(stage_error(
                    ".unseen",
                    "`default` needs a `default` model; use `null` or `error`, or add one".into(),
                ));
            }
            (Some(u), _) => u,
            (None, Some(_)) => Unseen::Default,
            (None, None) => Unseen::Error,
        };
        let stats = stats::stage_stats(&bundle.manifest().name, name, MODEL_SET_KIND, Vec::new());
        let routes = Routes::new(
            Arc::new(bundle.clone()),
            at.to_string(),
            params.models(),
            params.bare(),
            params.cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES),
            stats,
        )?;
        let default = params.default.as_ref().map(|_| (routes.len() - 1) as u32);
        let mut by_text =
            HashMap::with_capacity_and_hasher(params.models.len(), RandomState::default());
        let mut by_int = HashMap::with_hasher(RandomState::default());
        for (i, key) in params.models.keys().enumerate() {
            by_text.insert(key.clone(), i as u32);
            // Only canonical integers, so `042` never answers for 42.
            if let Ok(n) = key.parse::<i64>()
                && n.to_string() == *key
            {
                by_int.insert(n, i as u32);
            }
        }
        let (outputs, inputs) = match (&params.outputs, &params.inputs) {
            (Some(outputs), Some(inputs)) => (output_fields(outputs), inputs.clone()),
            _ => {
                // A hand-written manifest: learn the schema from one model.
                let probe = default.map_or(0, |d| d as usize);
                let built = routes.build(probe)?;
                let outputs = match &params.outputs {
                    Some(o) => output_fields(o),
                    None => built
                        .outputs
                        .iter()
                        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
                        .collect(),
                };
                (
                    outputs,
                    params.inputs.clone().unwrap_or(built.inputs.clone()),
                )
            }
        };
        if let Some(record) = &params.record
            && outputs.iter().any(|f| f.name() == record)
        {
            return Err(stage_error(
                ".record",
                format!("`{record}` is also a model output; choose another name"),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            key: params.key.clone(),
            routes,
            by_text,
            by_int,
            default,
            unseen,
            outputs,
            inputs,
            record: params
                .record
                .as_ref()
                .map(|r| Arc::new(Field::new(r, DataType::Utf8, true))),
        })
    }

    /// The routes, for `bundle create`'s check of every model.
    pub(crate) fn routes(&self) -> &Routes {
        &self.routes
    }

    /// The model for one key, or what `unseen` says.
    fn pick(
        &self,
        found: Option<u32>,
        row: usize,
        key: impl FnOnce() -> String,
    ) -> Result<Option<u32>, ScoreError> {
        if found.is_some() {
            return Ok(found);
        }
        match self.unseen {
            Unseen::Default => Ok(self.default),
            Unseen::Null => Ok(None),
            Unseen::Error => Err(ScoreError::InvalidValue {
                column: self.key.clone(),
                row,
                message: format!(
                    "{} has no model in stage `{}` (set the stage's `unseen` to `default` or `null` to score such rows)",
                    key(),
                    self.name
                ),
            }),
        }
    }
}

impl ModelSet {
    /// Each row's model (`None`: null outputs), `unseen` applied.
    fn assign(&self, column: &ArrayRef) -> Result<Vec<Option<u32>>, ScoreError> {
        let rows = column.len();
        let mut assign = Vec::with_capacity(rows);
        if let Some(dict) = column.as_any_dictionary_opt() {
            // A dictionary-encoded key (a pandas category, a Parquet dictionary page): each
            // distinct value is looked up once, and rows follow their codes.
            let values = Keys::read(dict.values())?;
            let found = self.found(&values);
            let codes = dict.normalized_keys();
            let nulls = column.logical_nulls();
            for (row, &code) in codes.iter().enumerate().take(rows) {
                let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
                // A code outside the dictionary (data not validated on import) has no model.
                let model = if valid {
                    found.get(code).copied().flatten()
                } else {
                    None
                };
                assign.push(self.pick(model, row, || match (valid, code < found.len()) {
                    (false, _) => "a null key".into(),
                    (true, true) => values.label(code),
                    (true, false) => format!("dictionary code {code} (of {} values)", found.len()),
                })?);
            }
            return Ok(assign);
        }
        let keys = Keys::read(column)?;
        for (row, found) in self.found(&keys).into_iter().enumerate() {
            assign.push(self.pick(found, row, || keys.label(row))?);
        }
        Ok(assign)
    }

    /// Each key's model, if it has one. A large batch is looked up in parallel, in chunks:
    /// hashing a million keys is otherwise the longest serial step of a routed batch.
    fn found(&self, keys: &Keys) -> Vec<Option<u32>> {
        /// Rows per parallel lookup.
        const CHUNK: usize = 1 << 15;
        let rows = keys.len();
        if rows <= 2 * CHUNK {
            return self.found_in(keys);
        }
        use rayon::prelude::*;
        let parts: Vec<Vec<Option<u32>>> = (0..rows)
            .into_par_iter()
            .step_by(CHUNK)
            .map(|start| self.found_in(&keys.slice(start, CHUNK.min(rows - start))))
            .collect();
        parts.concat()
    }

    /// [`Self::found`] on one thread. Consecutive equal keys (data sorted or partitioned by
    /// key, as Spark leaves it after `repartition(key)`) are looked up once.
    fn found_in(&self, keys: &Keys) -> Vec<Option<u32>> {
        match keys {
            Keys::Text(k) => {
                let mut last: Option<(&str, Option<u32>)> = None;
                k.iter()
                    .map(|key| {
                        let key = key?;
                        match last {
                            Some((prev, model)) if prev == key => model,
                            _ => {
                                let model = self.by_text.get(key).copied();
                                last = Some((key, model));
                                model
                            }
                        }
                    })
                    .collect()
            }
            Keys::Int(k) => k
                .iter()
                .map(|key| key.and_then(|key| self.by_int.get(&key).copied()))
                .collect(),
        }
    }
}

impl Stage for ModelSet {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        stage_inputs(Some(&self.key), &self.inputs)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let mut fields = self.outputs.clone();
        fields.extend(self.record.clone());
        fields
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        Ok(Binding::new(super::bind_columns(
            self,
            schema,
            Some(&self.key),
        )?))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let assign = self.assign(batch.column(binding.columns[0]))?;
        let (columns, _) = score_routed(
            &self.routes,
            &self.outputs,
            batch,
            &binding.columns,
            &assign,
            self.record.is_some(),
        )?;
        Ok(columns.into())
    }
}
