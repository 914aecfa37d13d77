//! `PipelineModel` (and `Pipeline`-less single stages): stages read in `stageUids` order from
//! `stages/<i>_<uid>/`, nested pipelines flattened.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use scorewell_core::Stage;
use serde_json::Value;

use super::{Columns, Ctx, Registry};
use crate::error::Result;
use crate::reader::{Metadata, Source, invalid};

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.PipelineModel", pipeline_model);
    // PySpark writes this class (with `language: Python`) when a stage is a Python object, such
    // as a fitted PipelineModel nested in a Pipeline; the layout is the same.
    reg.add("pyspark.ml.pipeline.PipelineModel", pipeline_model);
}

/// Read the stage folder `dir` and build its stages.
pub(crate) fn build_stage_dir(
    source: &Source,
    dir: &Path,
    cols: &mut Columns,
) -> Result<Vec<Arc<dyn Stage>>> {
    let meta = Metadata::read(source, dir)?;
    super::build(&meta, cols)
}

fn pipeline_model(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let uids = match ctx.meta.raw("stageUids") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ctx.invalid("param `stageUids` is not an array of strings"))?,
        _ => return Err(ctx.invalid("PipelineModel metadata has no `stageUids` param")),
    };
    let dir = ctx.dir().to_path_buf();
    let source = ctx.meta.source.clone();
    let mut stages = Vec::new();
    for (i, uid) in uids.iter().enumerate() {
        let path = stage_path(&source, &dir, uid, i, uids.len())?;
        stages.extend(build_stage_dir(&source, &path, ctx.cols)?);
    }
    Ok(stages)
}

/// Spark's `getStagePath`: `stages/<idx zero-padded to the digits of n>_<uid>`; a folder whose
/// name ends in `_<uid>` is accepted too (hand-copied pipelines).
fn stage_path(source: &Source, dir: &Path, uid: &str, idx: usize, n: usize) -> Result<PathBuf> {
    let digits = n.to_string().len();
    let stages = dir.join("stages");
    let exact = stages.join(format!("{idx:0digits$}_{uid}"));
    if source.is_dir(&exact) {
        return Ok(exact);
    }
    let suffix = format!("_{uid}");
    if let Some(name) = source
        .dirs(&stages)?
        .into_iter()
        .find(|d| d.ends_with(&suffix))
    {
        return Ok(stages.join(name));
    }
    Err(invalid(
        dir,
        format!("stage {idx} (`{uid}`) has no folder `{}`", exact.display()),
    ))
}
