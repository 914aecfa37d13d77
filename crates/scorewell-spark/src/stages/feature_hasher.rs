//! `FeatureHasher` (`ml/feature/FeatureHasher.scala`): params only (`inputCols`, `outputCol`,
//! `numFeatures` default 2^18, `categoricalCols`), mapped onto
//! `scorewell_transform::FeatureHasher`, which follows Spark's transform (numeric columns add
//! their value at the hash of the column name, string and boolean columns and the listed
//! numeric ones add 1.0 at the hash of `"<column>=<value>"`, nulls are skipped).
//!
//! Spark 2.3.0 hashed strings with the pre-SPARK-23381 MurmurHash3 variant; the fixed
//! `hashUnsafeBytes2` is used from Spark 2.4 on, so older folders are refused rather than
//! scored with other indices.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform as t;

use super::{Ctx, Registry};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.feature.FeatureHasher", feature_hasher);
}

fn feature_hasher(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    if ctx.meta.version < (2, 4) {
        return Err(ctx.invalid(format!(
            "FeatureHasher saved by Spark {} hashes strings with a MurmurHash3 variant fixed in Spark 2.4 (SPARK-23381); only Spark 2.4 and later are supported",
            ctx.meta.spark_version
        )));
    }
    let inputs = ctx.meta.opt_strs("inputCols")?.unwrap_or_default();
    let output = ctx.meta.str("outputCol")?;
    let num_features = ctx.meta.opt_i64("numFeatures")?.unwrap_or(1 << 18);
    let num_features = usize::try_from(num_features).map_err(|_| {
        ctx.invalid(format!(
            "param `numFeatures` is {num_features}, expected > 0"
        ))
    })?;
    // Spark reads `categoricalCols` only when it is set.
    let categorical_cols = if ctx.meta.is_set("categoricalCols") {
        ctx.meta.opt_strs("categoricalCols")?.unwrap_or_default()
    } else {
        Vec::new()
    };
    ctx.cols.vector(&output, Some(num_features));
    ctx.transform(t::FeatureHasher::new(
        ctx.name(),
        t::FeatureHasherParams {
            inputs,
            output,
            num_features,
            categorical_cols,
        },
    ))
}
