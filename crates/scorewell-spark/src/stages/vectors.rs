//! Vector stages: Normalizer, VectorSlicer, ElementwiseProduct.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform as t;

use super::{Ctx, Registry};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.feature.Normalizer", normalizer);
    reg.add("org.apache.spark.ml.feature.VectorSlicer", slicer);
    reg.add(
        "org.apache.spark.ml.feature.ElementwiseProduct",
        elementwise,
    );
}

type Built = Result<Vec<Arc<dyn Stage>>>;

fn in_out(ctx: &mut Ctx<'_>, size: Option<usize>) -> Result<(String, String)> {
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    let size = size.or_else(|| ctx.cols.vector_size(&input));
    ctx.cols.vector(&output, size);
    Ok((input, output))
}

fn normalizer(ctx: &mut Ctx<'_>) -> Built {
    let (input, output) = in_out(ctx, None)?;
    let p = ctx.meta.opt_f64("p")?.unwrap_or(2.0);
    ctx.transform(t::Normalizer::new(
        ctx.name(),
        t::NormalizerParams { input, output, p },
    ))
}

/// Only `indices`: slicing by `names` needs Spark's attribute metadata.
fn slicer(ctx: &mut Ctx<'_>) -> Built {
    if ctx.meta.opt_strs("names")?.is_some_and(|n| !n.is_empty()) {
        return Err(ctx.invalid(
            "VectorSlicer `names` needs Spark's column attribute metadata; only `indices` is supported",
        ));
    }
    let indices: Vec<u32> = ctx
        .meta
        .opt_usizes("indices")?
        .unwrap_or_default()
        .into_iter()
        .map(|i| u32::try_from(i).map_err(|_| ctx.invalid("VectorSlicer index too large")))
        .collect::<Result<_>>()?;
    let (input, output) = in_out(ctx, Some(indices.len()))?;
    ctx.transform(t::VectorSlicer::new(
        ctx.name(),
        t::VectorSlicerParams {
            input,
            output,
            indices,
        },
    ))
}

fn elementwise(ctx: &mut Ctx<'_>) -> Built {
    let scaling_vec = ctx.meta.vector("scalingVec")?;
    let (input, output) = in_out(ctx, Some(scaling_vec.len()))?;
    ctx.transform(t::ElementwiseProduct::new(
        ctx.name(),
        t::ElementwiseProductParams {
            input,
            output,
            scaling_vec,
        },
    ))
}
