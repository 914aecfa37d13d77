//! `CrossValidatorModel` and `TrainValidationSplitModel` (`ml/tuning/`): the folder holds the
//! tuning metadata, `estimator/`, `evaluator/`, sometimes `subModels/`, and the fitted
//! `bestModel/`. Spark's `transform` is `bestModel.transform`, so the stages are those of
//! `bestModel/` (a pipeline or a single model), whether the tuning model is the saved folder
//! itself or a stage of a pipeline.

use std::sync::Arc;

use scorewell_core::Stage;

use super::{Ctx, Registry, build_stage_dir};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.tuning.CrossValidatorModel", best_model);
    reg.add(
        "org.apache.spark.ml.tuning.TrainValidationSplitModel",
        best_model,
    );
    // PySpark writes these (same layout) when the tuned estimator is a Python object.
    reg.add("pyspark.ml.tuning.CrossValidatorModel", best_model);
    reg.add("pyspark.ml.tuning.TrainValidationSplitModel", best_model);
}

fn best_model(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let dir = ctx.dir().join("bestModel");
    let source = ctx.meta.source.clone();
    if !source.is_dir(&dir.join("metadata")) {
        return Err(ctx.invalid(format!(
            "{} has no `bestModel/` folder with the fitted model",
            ctx.meta.short_class()
        )));
    }
    build_stage_dir(&source, &dir, ctx.cols)
}
