//! `RobustScalerModel` (`ml/feature/RobustScaler.scala`, Spark 3.0+): data one row
//! `range: vector, median: vector`. Spark scores it with `StandardScalerModel`'s transform
//! function, shift = `median` when `withCentering` (default false) and scale = `1 / range`
//! (0 where the range is 0) when `withScaling` (default true), so it maps onto
//! `scorewell_transform::StandardScaler` with `mean = median`, `std = range`.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform as t;

use super::{Ctx, Registry};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.feature.RobustScalerModel",
        robust_scaler,
    );
}

fn robust_scaler(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let range = data.vector("range", 0)?;
    let median = data.vector("median", 0)?;
    let (input, output) = super::features::vector_in_out(ctx, median.len())?;
    ctx.transform(t::StandardScaler::new(
        ctx.name(),
        t::StandardScalerParams {
            input: Some(input),
            output: Some(output),
            inputs: None,
            outputs: None,
            mean: median,
            std: range,
            with_mean: ctx.meta.bool_or("withCentering", false)?,
            with_std: ctx.meta.bool_or("withScaling", true)?,
        },
    ))
}
