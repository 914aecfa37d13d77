//! `split`: send each row to one of weighted arms by a stable hash of a key column.
//!
//! ```json
//! {"kind": "split", "name": "ab", "params": {
//!    "key": "user_id", "salt": "2026-12-test",
//!    "arms": [{"name": "champion", "weight": 0.9, "model": "models/a.json"},
//!             {"name": "challenger", "weight": 0.1, "model": "models/b.json"}],
//!    "arm_column": "arm"}}
//! ```
//!
//! The hash is FNV-1a (64 bit) of the salt, a zero byte and the key's text, mixed by
//! SplitMix64's finalizer and read as a number in [0, 1): fixed here, so a key goes to the
//! same arm in every process, version and surface. Integer keys hash by their decimal text,
//! so `42` and `"42"` go the same way. A row with a null key goes to the first arm. Weights
//! must be non-negative and sum to 1 (within 1e-9). Every arm is built when the bundle loads
//! and must write the same outputs.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};
use serde::{Deserialize, Serialize};

use super::{
    BareModel, Keys, Routes, SPLIT_KIND, check_buckets, score_routed, scores, stage_inputs, stats,
};
use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::manifest::{InputSpec, StageSpec};

/// One arm of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// The arm's name, written to the arm column and used as the metrics' `arm` label.
    pub name: String,
    /// Its share of keys, in [0, 1].
    pub weight: f64,
    /// Its model: a bare model file or a zipped bundle.
    pub model: String,
}

/// Parameters of a `split` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitParams {
    /// The key column hashed (string or integer).
    pub key: String,
    /// The arms, in order; weights sum to 1.
    pub arms: Vec<Arm>,
    /// Mixed into the hash, so two experiments on one key split independently.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub salt: String,
    /// The column naming each row's arm (default `arm`).
    #[serde(default = "arm_column")]
    pub arm_column: String,
    /// Output column of bare models (default `prediction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Bare models write raw margins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_margin: bool,
    /// Upper bounds of the per-arm score histogram's buckets (default tenths of [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
}

fn arm_column() -> String {
    "arm".into()
}

/// The `split` stage.
#[derive(Debug)]
pub struct Split {
    name: String,
    key: String,
    salt: Vec<u8>,
    /// Cumulative weights: row goes to the first arm whose bound exceeds its hash.
    bounds: Vec<f64>,
    routes: Routes,
    outputs: Vec<FieldRef>,
    inputs: Vec<InputSpec>,
    arm: FieldRef,
}

pub(crate) fn build(
    bundle: &Bundle,
    spec: &StageSpec,
    at: &str,
) -> Result<Arc<dyn Stage>, BundleError> {
    let params: SplitParams = crate::build::params(&spec.params, at)?;
    let stage_error = |field: String, message: String| BundleError::Stage {
        at: format!("{at}.params{field}"),
        message,
    };
    if params.arms.is_empty() {
        return Err(stage_error(
            ".arms".into(),
            "a split needs at least one arm".into(),
        ));
    }
    let mut bounds = Vec::with_capacity(params.arms.len());
    let mut total = 0.0;
    for (i, arm) in params.arms.iter().enumerate() {
        if !(arm.weight.is_finite() && (0.0..=1.0).contains(&arm.weight)) {
            return Err(stage_error(
                format!(".arms[{i}].weight"),
                format!(
                    "weight {} of arm `{}` is not in [0, 1]",
                    arm.weight, arm.name
                ),
            ));
        }
        if params.arms[..i].iter().any(|a| a.name == arm.name) {
            return Err(stage_error(
                format!(".arms[{i}].name"),
                format!("arm name `{}` is used twice", arm.name),
            ));
        }
        total += arm.weight;
        bounds.push(total);
    }
    if (total - 1.0).abs() > 1e-9 {
        let weights: Vec<String> = params.arms.iter().map(|a| a.weight.to_string()).collect();
        return Err(stage_error(
            ".arms".into(),
            format!(
                "the arms' weights ({}) sum to {total}; they must sum to 1",
                weights.join(" + ")
            ),
        ));
    }
    // The last bound is 1 exactly, so rounding never leaves a hash without an arm.
    if let Some(last) = bounds.last_mut() {
        *last = f64::INFINITY;
    }
    let buckets = params
        .buckets
        .clone()
        .unwrap_or_else(|| stats::DEFAULT_BUCKETS.to_vec());
    check_buckets(&buckets, at)?;
    if params.arm_column.is_empty() {
        return Err(stage_error(
            ".arm_column".into(),
            "must not be empty".into(),
        ));
    }
    let stats = stats::stage_stats(&bundle.manifest().name, &spec.name, SPLIT_KIND, buckets);
    let models = params
        .arms
        .iter()
        .map(|a| (a.name.clone(), a.model.clone()))
        .collect();
    let bare = BareModel {
        output: params.output.clone(),
        output_margin: params.output_margin,
    };
    let routes = Routes::new(
        Arc::new(bundle.clone()),
        at.to_string(),
        models,
        bare,
        u64::MAX,
        stats,
    )?;
    let (outputs, inputs) = eager(&routes, at)?;
    if outputs.iter().any(|f| *f.name() == params.arm_column) {
        return Err(stage_error(
            ".arm_column".into(),
            format!(
                "`{}` is also a model output; choose another name",
                params.arm_column
            ),
        ));
    }
    Ok(Arc::new(Split {
        name: spec.name.clone(),
        key: params.key,
        salt: params.salt.into_bytes(),
        bounds,
        routes,
        outputs,
        inputs,
        arm: Arc::new(Field::new(&params.arm_column, DataType::Utf8, true)),
    }))
}

/// Build every model now (splits and shadows have few), check that they write the same
/// outputs, and gather the columns they read.
pub(crate) fn eager(
    routes: &Routes,
    at: &str,
) -> Result<(Vec<FieldRef>, Vec<InputSpec>), BundleError> {
    let mut outputs: Option<Vec<FieldRef>> = None;
    let mut inputs: Vec<InputSpec> = Vec::new();
    for i in 0..routes.len() {
        let built = routes.get(i).map_err(|e| BundleError::Stage {
            at: format!("{at}.params"),
            message: e.to_string(),
        })?;
        merge_inputs(&mut inputs, &built.inputs, routes.label(i), at)?;
        match &outputs {
            None => outputs = Some(nullable(&built.outputs)),
            Some(first) => {
                same_outputs(first, &built.outputs, routes.label(0), routes.label(i), at)?
            }
        }
    }
    Ok((outputs.unwrap_or_default(), inputs))
}

pub(crate) fn nullable(fields: &[FieldRef]) -> Vec<FieldRef> {
    fields
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect()
}

/// Add `more` to `inputs`; one column read as two types is an error naming both models.
pub(crate) fn merge_inputs(
    inputs: &mut Vec<InputSpec>,
    more: &[InputSpec],
    label: &str,
    at: &str,
) -> Result<(), BundleError> {
    for input in more {
        match inputs.iter().find(|i| i.name == input.name) {
            Some(seen) if seen.ty != input.ty => {
                return Err(BundleError::Stage {
                    at: format!("{at}.params"),
                    message: format!(
                        "the model for `{label}` reads column `{}` as {}, another model reads it as {}",
                        input.name,
                        input.ty.name(),
                        seen.ty.name()
                    ),
                });
            }
            Some(_) => {}
            None => inputs.push(input.clone()),
        }
    }
    Ok(())
}

/// The outputs of model `label` must be `first`'s (names and types, in order).
pub(crate) fn same_outputs(
    first: &[FieldRef],
    outputs: &[FieldRef],
    first_label: &str,
    label: &str,
    at: &str,
) -> Result<(), BundleError> {
    let describe = |fields: &[FieldRef]| {
        fields
            .iter()
            .map(|f| format!("{} {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let error = |message: String| BundleError::Stage {
        at: format!("{at}.params"),
        message,
    };
    for (i, want) in first.iter().enumerate() {
        match outputs.get(i) {
            Some(got) if got.name() == want.name() && got.data_type() == want.data_type() => {}
            Some(got) if got.name() == want.name() => {
                return Err(error(format!(
                    "the model for `{label}` writes column `{}` as {}, the model for `{first_label}` as {}",
                    want.name(),
                    got.data_type(),
                    want.data_type()
                )));
            }
            _ => {
                return Err(error(format!(
                    "the model for `{label}` writes ({}), not column `{}` as the model for `{first_label}` does ({}); every model must write the same outputs",
                    describe(outputs),
                    want.name(),
                    describe(first)
                )));
            }
        }
    }
    if let Some(extra) = outputs.get(first.len()) {
        return Err(error(format!(
            "the model for `{label}` writes column `{}`, which the model for `{first_label}` does not; every model must write the same outputs",
            extra.name()
        )));
    }
    Ok(())
}

/// FNV-1a, 64 bit.
fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A key's position in [0, 1): fixed forever (see the module docs).
pub fn unit_hash(salt: &[u8], key: &[u8]) -> f64 {
    let mut h = fnv1a(0xcbf2_9ce4_8422_2325, salt);
    h = fnv1a(h, &[0]);
    h = fnv1a(h, key);
    // SplitMix64's finalizer: FNV's low bits are weak for short keys.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Split {
    fn arm_of(&self, key: Option<&[u8]>) -> u32 {
        let Some(key) = key else {
            return 0;
        };
        let u = unit_hash(&self.salt, key);
        self.bounds.iter().position(|&b| u < b).unwrap_or(0) as u32
    }
}

impl Stage for Split {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        stage_inputs(Some(&self.key), &self.inputs)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let mut fields = self.outputs.clone();
        fields.push(self.arm.clone());
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
        let keys = Keys::read(batch.column(binding.columns[0]))?;
        let assign: Vec<Option<u32>> = match &keys {
            Keys::Text(k) => k
                .iter()
                .map(|k| Some(self.arm_of(k.map(str::as_bytes))))
                .collect(),
            Keys::Int(k) => k
                .iter()
                .map(|k| Some(self.arm_of(k.map(|n| n.to_string()).as_deref().map(str::as_bytes))))
                .collect(),
        };
        let (columns, groups) = score_routed(
            &self.routes,
            &self.outputs,
            batch,
            &binding.columns,
            &assign,
            true,
        )?;
        for g in &groups {
            let s = g.outputs.first().and_then(scores);
            self.routes
                .stats()
                .observe(self.routes.label(g.model), g.rows, s.as_deref());
        }
        // The tag column says `<arm>@<digest>`; the arm column names the arm alone.
        let mut columns = columns;
        columns.pop();
        let arms: arrow_array::StringArray = assign
            .iter()
            .map(|a| a.map(|m| self.routes.label(m as usize)))
            .collect();
        columns.push(Arc::new(arms));
        Ok(columns.into())
    }
}

#[cfg(test)]
mod tests {
    use super::unit_hash;

    #[test]
    fn the_hash_is_fixed_and_spreads_keys_evenly() {
        // Pinned values (also computed by an independent Python transcription of the
        // algorithm): a change here moves users between the arms of running experiments.
        assert_eq!(unit_hash(b"", b"user-1"), 0.7175070106531566);
        assert_eq!(unit_hash(b"exp", b"42"), 0.2542859365340068);
        assert_ne!(unit_hash(b"a", b"user-1"), unit_hash(b"b", b"user-1"));
        let n = 100_000;
        let below = (0..n)
            .filter(|i| unit_hash(b"exp", i.to_string().as_bytes()) < 0.1)
            .count();
        let share = below as f64 / n as f64;
        assert!((share - 0.1).abs() < 0.005, "share {share}");
    }
}
