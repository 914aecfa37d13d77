//! `shadow`: score a second model on the same rows, writing its outputs under other names
//! and its scores to the metrics, without touching the primary answer.
//!
//! ```json
//! {"kind": "shadow", "name": "challenger", "params": {
//!    "model": "models/challenger.json", "prefix": "shadow_", "primary": "prediction"}}
//! ```
//!
//! The shadow's outputs are `<prefix><output>`; leave them out of the bundle's `outputs` to
//! keep them off the response (the server then only shows them in `/metrics`). When
//! `primary` names the primary score column, its histogram is kept beside the shadow's (arm
//! `primary` and arm `shadow`). A shadow that fails leaves its outputs null and counts
//! `scorewell_route_shadow_errors_total`; the primary answer is returned all the same.

use std::sync::Arc;

use arrow_array::{RecordBatch, new_null_array};
use arrow_schema::{Field, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};
use serde::{Deserialize, Serialize};

use super::{
    BareModel, Routes, SHADOW_KIND, check_buckets, score_routed, scores, split, stage_inputs, stats,
};
use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::manifest::{InputSpec, StageSpec};

/// Parameters of a `shadow` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowParams {
    /// The shadow model: a bare model file or a zipped bundle.
    pub model: String,
    /// Prefix of the shadow's output names (default `shadow_`).
    #[serde(default = "prefix")]
    pub prefix: String,
    /// The primary score column, to keep its histogram beside the shadow's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Output column of a bare shadow model (default `prediction`, then prefixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// A bare shadow model writes raw margins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_margin: bool,
    /// Upper bounds of the score histogram's buckets (default tenths of [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
}

fn prefix() -> String {
    "shadow_".into()
}

/// The `shadow` stage.
#[derive(Debug)]
pub struct Shadow {
    name: String,
    routes: Routes,
    /// The model's own output fields, and the same renamed.
    own: Vec<FieldRef>,
    renamed: Vec<FieldRef>,
    inputs: Vec<InputSpec>,
    primary: Option<String>,
}

pub(crate) fn build(
    bundle: &Bundle,
    spec: &StageSpec,
    at: &str,
) -> Result<Arc<dyn Stage>, BundleError> {
    let params: ShadowParams = crate::build::params(&spec.params, at)?;
    let buckets = params
        .buckets
        .clone()
        .unwrap_or_else(|| stats::DEFAULT_BUCKETS.to_vec());
    check_buckets(&buckets, at)?;
    if params.prefix.is_empty() {
        return Err(BundleError::Stage {
            at: format!("{at}.params.prefix"),
            message: "must not be empty: the shadow's outputs would clash with the primary's"
                .into(),
        });
    }
    let stats = stats::stage_stats(&bundle.manifest().name, &spec.name, SHADOW_KIND, buckets);
    let bare = BareModel {
        output: params.output.clone(),
        output_margin: params.output_margin,
    };
    let models = vec![("shadow".to_string(), params.model.clone())];
    let routes = Routes::new(
        Arc::new(bundle.clone()),
        at.to_string(),
        models,
        bare,
        u64::MAX,
        stats,
    )?;
    let (own, inputs) = split::eager(&routes, at)?;
    let renamed = own
        .iter()
        .map(|f| {
            Arc::new(Field::new(
                format!("{}{}", params.prefix, f.name()),
                f.data_type().clone(),
                true,
            ))
        })
        .collect();
    // `primary` is read by name when present, not bound: it is only observed, and the
    // shadow model must not see it (a bare model writing `prediction` would clash with it).
    Ok(Arc::new(Shadow {
        name: spec.name.clone(),
        routes,
        own,
        renamed,
        inputs,
        primary: params.primary,
    }))
}

impl Stage for Shadow {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        stage_inputs(None, &self.inputs)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.renamed.clone()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        Ok(Binding::new(super::bind_columns(self, schema, None)?))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let rows = batch.num_rows();
        let stats = self.routes.stats();
        if let Some(primary) = &self.primary
            && let Some(column) = batch.column_by_name(primary)
        {
            let s = scores(column);
            stats.observe("primary", rows, s.as_deref());
        }
        let assign = vec![Some(0u32); rows];
        // Only the model's own inputs go to it: `binding.columns` lists exactly those.
        match score_routed(
            &self.routes,
            &self.own,
            batch,
            &binding.columns,
            &assign,
            false,
        ) {
            Ok((columns, _)) => {
                let s = columns.first().and_then(scores);
                stats.observe("shadow", rows, s.as_deref());
                Ok(columns.into())
            }
            // The shadow never fails the primary answer.
            Err(_) => {
                stats.shadow_failed();
                Ok(self
                    .renamed
                    .iter()
                    .map(|f| new_null_array(f.data_type(), rows))
                    .collect::<Vec<_>>()
                    .into())
            }
        }
    }
}
