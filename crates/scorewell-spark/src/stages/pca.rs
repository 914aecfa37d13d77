//! `PCAModel` (`ml/feature/PCA.scala`, Spark 2.x–4.x): data one row `pc: matrix` (`n × k`,
//! the principal components as columns) and `explainedVariance: vector` (not needed to score).
//!
//! Spark's transform is `pc.transpose.multiply(x)`: output `j` is the dot product of column
//! `j` of `pc` with the input, summed over the entries the input stores, giving a dense
//! vector of size `k`. A vector whose size is not `n` is an error (BLAS `gemv` requires it).
//! Spark sums a dense row through its Java BLAS, whose vectorised loop may add in another
//! order: outputs agree to a few ulps.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::{VectorBuilder, VectorRef};

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{OnInvalid, Reject, VectorMap, VectorMapStage};

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.feature.PCAModel", pca);
}

#[derive(Debug)]
struct Pca {
    /// Input size.
    n: usize,
    /// Output size.
    k: usize,
    /// `components[j * n + i]` = `pc(i, j)`: each component contiguous.
    components: Vec<f64>,
}

impl VectorMap for Pca {
    fn map(&self, x: VectorRef<'_>, out: &mut VectorBuilder) -> Result<(), Reject> {
        if x.len() != self.n {
            return Err(Reject::Error(format!(
                "PCAModel expects vectors of size {}, got size {}",
                self.n,
                x.len()
            )));
        }
        let mut y = vec![0.0; self.k];
        for (j, y) in y.iter_mut().enumerate() {
            let c = &self.components[j * self.n..(j + 1) * self.n];
            let mut s = 0.0;
            x.for_each_active(|i, v| s += c[i] * v);
            *y = s;
        }
        out.push_dense(&y);
        Ok(())
    }
}

fn pca(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    if ctx.meta.version.0 < 2 {
        return Err(ctx.invalid(format!(
            "PCAModel saved by Spark {} uses the Spark 1.x matrix layout; only Spark 2.0 and later are supported",
            ctx.meta.spark_version
        )));
    }
    let data = ctx.data()?;
    data.one_row()?;
    let pc = data.matrix("pc", 0)?;
    let (n, k) = (pc.rows, pc.cols);
    let mut components = vec![0.0; n * k];
    for i in 0..n {
        for (j, v) in pc.row(i).iter().enumerate() {
            components[j * n + i] = *v;
        }
    }
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    ctx.cols.vector(&output, Some(k));
    Ok(vec![Arc::new(VectorMapStage::new(
        ctx.name(),
        input,
        output,
        Arc::new(Pca { n, k, components }),
        OnInvalid::Error,
    ))])
}
