//! The `nearest_neighbors` stage: an Annoy index artifact queried with a vector column,
//! optionally with a Parquet table of labels for the item ids.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use scorewell_core::Stage;
use scorewell_neighbors::{AnnoyIndex, LabelTable, Metric, NeighborsStage, StageOptions};
use serde::Deserialize;

use crate::build::params;
use crate::bundle::Bundle;
use crate::error::BundleError;

/// The stage kind that looks rows up in an Annoy index.
pub const NEIGHBORS_KIND: &str = "nearest_neighbors";

/// Parameters of a `nearest_neighbors` stage (docs/BUNDLE.md, docs/NEIGHBORS.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeighborsParams {
    /// The index's metric (the file does not record it).
    metric: String,
    /// The index's vector dimension (nor this).
    dims: usize,
    /// The vector column to query with.
    input: String,
    /// Neighbours per row.
    #[serde(default = "default_k")]
    k: usize,
    /// annoy's `search_k` (-1: `k × trees`).
    #[serde(default = "default_search_k")]
    search_k: i64,
    #[serde(default = "default_neighbors")]
    neighbors_output: String,
    #[serde(default = "default_distances")]
    distances_output: String,
    /// A Parquet artifact with an integer id column and a string label column.
    labels: Option<String>,
    #[serde(default = "default_id_column")]
    id_column: String,
    #[serde(default = "default_label_column")]
    label_column: String,
    #[serde(default = "default_label_output")]
    label_output: String,
    #[serde(default = "default_label_distance_output")]
    label_distance_output: String,
}

fn default_k() -> usize {
    10
}
fn default_search_k() -> i64 {
    -1
}
fn default_neighbors() -> String {
    "neighbors".into()
}
fn default_distances() -> String {
    "distances".into()
}
fn default_id_column() -> String {
    "id".into()
}
fn default_label_column() -> String {
    "label".into()
}
fn default_label_output() -> String {
    "nearest_label".into()
}
fn default_label_distance_output() -> String {
    "nearest_distance".into()
}

impl Bundle {
    pub(crate) fn neighbors_stage(
        &self,
        spec: &crate::manifest::StageSpec,
        at: &str,
    ) -> Result<Arc<dyn Stage>, BundleError> {
        let p: NeighborsParams = params(&spec.params, at)?;
        let stage_error = |field: &str, message: String| BundleError::Stage {
            at: format!("{at}{field}"),
            message,
        };
        let metric: Metric = p.metric.parse().map_err(|e: scorewell_neighbors::Error| {
            stage_error(".params.metric", e.to_string())
        })?;
        let artifact = spec.artifact.as_deref().ok_or_else(|| {
            stage_error(
                ".artifact",
                "a `nearest_neighbors` stage needs the path of its `.ann` index".into(),
            )
        })?;
        let bytes = self.listed_artifact(artifact, at)?;
        let index = AnnoyIndex::from_bytes(&bytes, metric, p.dims)
            .map_err(|e| stage_error(".artifact", e.to_string()))?
            .with_source_name(artifact);
        let mut options = StageOptions::new(Some(p.input), p.k);
        options.search_k = p.search_k;
        options.neighbors_output = p.neighbors_output;
        options.distances_output = p.distances_output;
        if let Some(labels) = &p.labels {
            let bytes = self.listed_artifact(labels, at)?;
            let table = read_labels(&bytes, &p.id_column, &p.label_column)
                .map_err(|m| stage_error(".params.labels", format!("{labels}: {m}")))?;
            options.labels = Some((Arc::new(table), p.label_output, p.label_distance_output));
        }
        Ok(Arc::new(NeighborsStage::new(
            spec.name.clone(),
            Arc::new(index),
            options,
        )))
    }

    /// An artifact the manifest lists, checked against its sha256 as it is read.
    fn listed_artifact(&self, artifact: &str, at: &str) -> Result<Arc<[u8]>, BundleError> {
        if !self.manifest().artifacts.contains_key(artifact) {
            return Err(BundleError::UnlistedArtifact {
                at: format!("{at}.artifact"),
                artifact: artifact.to_string(),
            });
        }
        self.artifact(artifact)
    }
}

/// Item id → label pairs from a Parquet table.
fn read_labels(bytes: &[u8], id_column: &str, label_column: &str) -> Result<LabelTable, String> {
    // The parquet crate panics on some malformed files (see scorewell_core::guard), and sizes
    // dictionaries from their declared counts (see scorewell_core::parquet_check).
    let batches = scorewell_core::guard::catch(|| {
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        scorewell_core::parquet_check::check_dictionaries(bytes.clone())?;
        ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())?
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(parquet::errors::ParquetError::from)
    })
    .map_err(|panic| format!("the Parquet reader failed: {panic}"))?
    .map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    for batch in batches {
        let ids = batch
            .column_by_name(id_column)
            .ok_or_else(|| format!("no id column `{id_column}`"))?;
        let labels = batch
            .column_by_name(label_column)
            .ok_or_else(|| format!("no label column `{label_column}`"))?;
        let ids = scorewell_neighbors::item_ids(ids.as_ref(), id_column)?;
        let labels =
            arrow_array::cast::AsArray::as_string_opt::<i32>(labels.as_ref()).ok_or_else(|| {
                format!(
                    "label column `{label_column}` must be utf8, not {}",
                    labels.data_type()
                )
            })?;
        for (r, id) in ids.into_iter().enumerate() {
            if let (Some(id), false) = (id, labels.is_null(r)) {
                pairs.push((id, labels.value(r).to_string()));
            }
        }
    }
    Ok(LabelTable::new(pairs))
}
